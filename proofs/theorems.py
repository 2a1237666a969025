"""The theorems: every invariant of spec/invariants.rst for every state-changing operation, and
the lemmas the spec's arguments rest on (LIQ-INV-*, LIQ-PRICE-3, LIQ-ADL-4, LIQ-EXEC-1 ...).

A theorem is an implication ``assumptions => goal`` over unbounded integers, proved by asking z3
for a counterexample to it (:mod:`.prover`). It is built once per parameter domain
(:mod:`.domains`: every venue profile, and generic symbolic parameters under each policy mix) on
a symbolic state of three traders and a liquidity account (or a backstop vault) in two markets.
``assumptions`` always include the operation's success, so the vacuity check (``assumptions``
alone satisfiable) shows the theorem is about operations that can happen.

Each obligation also says how to turn a z3 model into a concrete scenario (the pre-state, the
operation and its arguments, and the property to check), so a counterexample replays in the
reference (:mod:`.counterexamples`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from dataclasses import dataclass, field

import z3

from liqspec.reference.arithmetic import INT64_MAX, PPM
from liqspec.reference.profile import (SOCIALIZING, AdlPrice, BadDebtPolicy, FeePolicy,
                                       LiquidationSize)
from liqspec.reference.state import (BACKSTOP, FEE_SINK, FUNDING_POOL, INSURANCE_FUND, LIQUIDITY,
                                     SOCIALIZED_LOSS, TRADER)

from . import encodings as E
from .domains import generic_domains, venue_domains
from .encodings import Params, SymState, Term, val

TRADERS = ("a0", "a1", "a2")
BOOK = "lp"
VAULT = "vault"
WITH_BOOK = {**{a: TRADER for a in TRADERS}, BOOK: LIQUIDITY}
WITH_VAULT = {**{a: TRADER for a in TRADERS}, VAULT: BACKSTOP}


@dataclass
class Step:
    """One reference operation of a scenario: its name in ``liqspec.reference`` and arguments
    (terms are read from the model; strings name accounts, markets and holders)."""

    operation: str
    args: dict[str, object]


@dataclass
class Obligation:
    """One proof obligation: ``assumptions => goal``, and how to replay a model of its negation."""

    label: str
    assumptions: list[z3.BoolRef]
    goals: dict[str, z3.BoolRef]
    state: SymState | None = None
    steps: list[Step] = field(default_factory=list)
    check: str = "none"  # the replay property (counterexamples.CHECKS)
    extra_terms: dict[str, Term] = field(default_factory=dict)  # shown with a counterexample
    #: some terms were replaced by free constants (a proof device): a model of the obligation
    #: need not be a run of the reference
    abstracted: bool = False
    #: prove each named goal by a check of its own (a proof device: far cheaper for z3 than the
    #: negated conjunction when the goals are many and deep)
    split_goals: bool = False

    @property
    def goal(self) -> z3.BoolRef:
        return z3.And(list(self.goals.values()))


def _always(params: Params) -> bool:
    return True


#: the rlimit of a theorem that states none: z3 resource units per check (see .prover)
DEFAULT_RLIMIT = 50_000_000
#: the proof attempts of a theorem that states none, in order, each under its rlimit: in the
#: solver that satisfied the assumptions (``incremental``), then in a fresh context (``fresh``)
DEFAULT_SCHEDULE = ("incremental", "fresh")


@dataclass(frozen=True)
class Theorem:
    id: str
    statement: str
    rule_ids: tuple[str, ...]
    #: the obligations for one domain; a parameter-free theorem (``domains="none"``) is built with
    #: ``None``, the others with ``Params``, so the argument's type depends on ``domains``
    build: Callable[[Any], list[Obligation]]
    domains: str = "all"  # "all" | "venues" | "generic" | "none" (parameter-free)
    applies: Callable[[Params], bool] = _always
    #: the profile policies the encoding reads: generic domains that differ only in other
    #: policies are the same theorem, so one of them is proved
    depends_on: tuple[str, ...] = ()
    #: z3's deterministic resource limit for each check of each obligation (.prover): the most
    #: any check of this theorem was measured to use, times a margin (CALIBRATION_MARGIN)
    rlimit: int = DEFAULT_RLIMIT
    #: the encoded operations this theorem is proved about: ``liqspec prove`` checks each
    #: against the installed reference (.fidelity.OPERATIONS) before the theorem counts as
    #: proved; empty for a lemma that reads no encoding
    fidelity: tuple[str, ...] = ()
    #: the order of the proof attempts (.prover): DEFAULT_SCHEDULE, or the fresh context first
    #: where the incremental attempt was seen to vary too widely
    schedule: tuple[str, ...] = DEFAULT_SCHEDULE


REGISTRY: list[Theorem] = []

#: the calibrated rlimit of a theorem is its most expensive check's measured use times this
#: (rounded up to a million); ``python -m liqspec.proofs.calibrate`` measures the uses
CALIBRATION_MARGIN = 4


def theorem(id: str, statement: str, rule_ids: tuple[str, ...], domains: str = "all",
            applies: Callable[[Params], bool] = _always, depends_on: tuple[str, ...] = (),
            rlimit: int = DEFAULT_RLIMIT, fidelity: tuple[str, ...] = (),
            schedule: tuple[str, ...] = DEFAULT_SCHEDULE):
    if sorted(schedule) != sorted(DEFAULT_SCHEDULE):
        raise ValueError(f"{id}: a schedule orders {DEFAULT_SCHEDULE}, got {schedule}")

    def register(build: Callable[[Params], list[Obligation]]) -> Callable:
        REGISTRY.append(Theorem(id, statement, rule_ids, build, domains, applies, depends_on,
                                rlimit, fidelity, schedule))
        return build
    return register


def domains_for(thm: Theorem) -> list[Params | None]:
    if thm.domains == "none":
        return [None]
    venues = venue_domains() if thm.domains in ("all", "venues") else []
    generic: list[Params | None] = []
    seen = set()
    for p in generic_domains() if thm.domains in ("all", "generic") else []:
        key = tuple(getattr(p, name) for name in thm.depends_on)
        if thm.applies(p) and key not in seen:
            seen.add(key)
            generic.append(p)
    return [*(p for p in venues if thm.applies(p)), *generic]


# -- shared pieces ----------------------------------------------------------------------------------

def pre_state(params: Params, roles: Mapping[str, str] = WITH_BOOK, prefix: str = "",
              cost: bool = True) -> SymState:
    return E.symbolic_state(params, prefix, roles, cost)


def positive_marks(state: SymState) -> list[z3.BoolRef]:
    """LIQ-DOMAIN-2 (a lemma that reads no state still names a valid one for its replay)."""
    return [p > 0 for p in state.marks.values()]


def base_assumptions(state: SymState) -> list[z3.BoolRef]:
    """Inv (every state invariant) and the parameter domain."""
    return [E.state_invariants(state), *state.params.assumptions]


def invariants_after(pre: SymState, post: SymState) -> dict[str, z3.BoolRef]:
    """Inv' as named conjuncts, plus the journal halves of LIQ-INV-1 and LIQ-INV-2."""
    return {
        "LIQ-INV-1 conservation": E.conservation(post),
        "LIQ-INV-2 zero-sum": E.zero_sum(post),
        "LIQ-INV-3 fund >= 0": E.fund_solvent(post),
        "LIQ-INV-4 resolution": E.resolved(post),
        "LIQ-INV-8 residuals": E.residuals_on_venue_side(post),
        "journal = balances": E.journal_matches(pre, post),
        "marks > 0": z3.And([p > 0 for p in post.marks.values()]),
        "flat => no cost basis": E.flat_positions_cost_nothing(post),
    }


def op_obligation(label: str, state: SymState, outcome: E.Outcome, step: Step,
                  goals: dict[str, z3.BoolRef] | None = None, check: str = "state_invariants",
                  extra: list[z3.BoolRef] | None = None) -> Obligation:
    return Obligation(label, base_assumptions(state) + (extra or []) + [outcome.ok],
                      goals if goals is not None else invariants_after(state, outcome.post),
                      state, [step], check,
                      {f"amount.{k}": v for k, v in outcome.amounts.items()})


def ints(*names: str) -> list[z3.ArithRef]:
    return [z3.Int(n) for n in names]


def abstract(obligation: Obligation, terms: dict[str, Term]) -> Obligation:
    """Replace each of ``terms`` by a fresh constant everywhere in the obligation.

    Sound: a formula proved for every value of the fresh constants (under the assumptions, which
    keep the lemmas the terms satisfy) holds in particular for the terms' own values. It keeps a
    proof whose argument needs only a few facts about complex nonlinear terms linear."""
    pairs = [(term, z3.Int(f"abs_{name}")) for name, term in terms.items()]
    obligation.assumptions = [z3.substitute(a, *pairs) for a in obligation.assumptions]
    obligation.goals = {k: z3.substitute(g, *pairs) for k, g in obligation.goals.items()}
    obligation.label += " (margin terms abstracted)"
    obligation.abstracted = True
    return obligation


# -- deposits, withdrawals, top-ups, marks ----------------------------------------------------------

def one_call(params: Params, op: str, ids: dict[str, str], argument: str, variable: str,
             goals: Callable[[SymState, E.Outcome], dict[str, z3.BoolRef]] | None = None,
             check: str = "state_invariants") -> list[Obligation]:
    """The obligation of one call of the encoding ``E.<op>`` on the symbolic pre-state: the call
    names the accounts or markets ``ids`` (in the reference's argument order) and takes one
    symbolic integer, the z3 constant ``variable``, as its argument ``argument``. The goals are
    the state invariants after the call unless ``goals(pre, outcome)`` gives others."""
    st = pre_state(params)
    (value,) = ints(variable)
    out = getattr(E, op)(st, *ids.values(), value)
    return [op_obligation(op, st, out, Step(op, {**ids, argument: value}),
                          goals(st, out) if goals else None, check)]


@theorem("T-DEPOSIT", "a deposit preserves every state invariant (LIQ-INV-1,2,3,4,8)",
         ("LIQ-DEPOSIT-1", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3", "LIQ-INV-4", "LIQ-INV-8"),
         fidelity=("deposit",),
         rlimit=1_000_000)
def _deposit(params: Params) -> list[Obligation]:
    return one_call(params, "deposit", {"account_id": "a0"}, "amount_quote", "arg_amount")


@theorem("T-WITHDRAW", "a withdrawal preserves every state invariant",
         ("LIQ-WITHDRAW-1", "LIQ-WITHDRAW-2", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3",
          "LIQ-INV-4", "LIQ-INV-8"),
         fidelity=("withdraw",),
         rlimit=2_000_000)
def _withdraw(params: Params) -> list[Obligation]:
    return one_call(params, "withdraw", {"account_id": "a0"}, "amount_quote", "arg_amount")


@theorem("T-WITHDRAW-MARGIN", "after a withdrawal the account still meets initial margin, so "
         "a withdrawal never makes an account liquidatable",
         ("LIQ-WITHDRAW-1", "LIQ-MARGIN-5", "LIQ-TIER-3", "LIQ-TRIGGER-1"),
         fidelity=("withdraw", "margin"),
         rlimit=2_000_000)
def _withdraw_margin(params: Params) -> list[Obligation]:
    def goals(st: SymState, out: E.Outcome) -> dict[str, z3.BoolRef]:
        return {"equity >= initial margin": E.equity(out.post, "a0") >= E.account_initial(
                    out.post, "a0"),
                "not liquidatable": z3.Not(E.is_liquidatable(out.post, "a0"))}
    return one_call(params, "withdraw", {"account_id": "a0"}, "amount_quote", "arg_amount",
                    goals, "withdraw_margin")


@theorem("T-TOPUP", "an insurance top-up preserves every state invariant",
         ("LIQ-INSURANCE-2", "LIQ-INV-1", "LIQ-INV-3"), domains="generic",
         fidelity=("fund_insurance",),
         rlimit=1_000_000)
def _topup(params: Params) -> list[Obligation]:
    return one_call(params, "fund_insurance", {}, "amount_quote", "arg_amount")


@theorem("T-MARK", "a price move preserves every state invariant (it moves no quote)",
         ("LIQ-MARK-1", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3", "LIQ-INV-4", "LIQ-INV-8"),
         fidelity=("set_mark",),
         rlimit=1_000_000)
def _mark(params: Params) -> list[Obligation]:
    def goals(st: SymState, out: E.Outcome) -> dict[str, z3.BoolRef]:
        goals = invariants_after(st, out.post)
        goals["no quote moved"] = z3.And([out.post.balance(a) == st.balance(a)
                                          for a in list(st.accounts) + list(st.holders)])
        return goals
    return one_call(params, "set_mark", {"market_id": "m0"}, "price_ticks", "arg_price", goals)


# -- trades -------------------------------------------------------------------------------------------

@theorem("T-TRADE", "a trade preserves every state invariant, between traders and against the book",
         ("LIQ-TRADE-1", "LIQ-LEDGER-2", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3", "LIQ-INV-4",
          "LIQ-INV-8"),
         fidelity=("trade",),
         rlimit=60_000_000)
def _trade(params: Params) -> list[Obligation]:
    obligations = []
    for buyer, seller in (("a0", "a1"), (BOOK, "a0")):
        st = pre_state(params)
        lots, price = ints("arg_lots", "arg_price")
        out = E.trade(st, buyer, seller, "m0", lots, price)
        obligations.append(op_obligation(
            f"trade {buyer}<-{seller}", st, out,
            Step("trade", {"buyer_id": buyer, "seller_id": seller, "market_id": "m0",
                           "lots": lots, "price_ticks": price})))
    return obligations


@theorem("T-TRADE-HEALTH", "a successful trade never makes a healthy trader liquidatable",
         ("LIQ-TRADE-2", "LIQ-TIER-3", "LIQ-TRIGGER-1"),
         fidelity=("trade", "margin"),
         rlimit=1_000_000)
def _trade_health(params: Params) -> list[Obligation]:
    st = pre_state(params)
    lots, price = ints("arg_lots", "arg_price")
    out = E.trade(st, "a0", "a1", "m0", lots, price)
    # T-MM-POSITIVE, proved per position, summed over the account: IM >= MM, and an open
    # position has MM > 0 (the lemmas keep this proof linear)
    raw = out.raw
    assert raw is not None, "every operation's Outcome keeps the state its steps left (.encodings)"
    lemmas = [z3.And(E.account_initial(raw, a) >= E.account_maintenance(raw, a),
                     z3.Implies(st.accounts[a].positions["m0"] != 0,
                                E.account_maintenance(st, a) > 0)) for a in ("a0", "a1")]
    # under the assumption that the trade succeeded, ``raw`` is the state after it
    goals = {f"{a} stays healthy": z3.Implies(z3.Not(E.is_liquidatable(st, a)),
                                              z3.Not(E.is_liquidatable(raw, a)))
             for a in ("a0", "a1")}
    obligation = op_obligation("trade a0<-a1", st, out,
                               Step("trade", {"buyer_id": "a0", "seller_id": "a1",
                                              "market_id": "m0", "lots": lots,
                                              "price_ticks": price}),
                               goals, "trade_health", lemmas)
    margin_terms = {}
    for a in ("a0", "a1"):
        margin_terms.update({f"IM_after_{a}": E.account_initial(raw, a),
                             f"MM_after_{a}": E.account_maintenance(raw, a),
                             f"E_after_{a}": E.equity(raw, a),
                             f"MM_before_{a}": E.account_maintenance(st, a),
                             f"E_before_{a}": E.equity(st, a)})
    return [abstract(obligation, margin_terms)]


# -- liquidation ----------------------------------------------------------------------------------

def _liquidations(params: Params, variants=((BOOK, False), (BOOK, True), ("a1", True))):
    """(label, state, outcome, step) for a liquidation of a0 in m0: against the book or a trader
    (``counterparty``), with the policy's size or a caller-chosen one (``sized``). A chosen size
    ranges over 1..policy size, so it covers the policy's own size too."""
    cases = []
    for counterparty, sized in variants:
        st = pre_state(params)
        fill_price, lots = ints("arg_fill_price", "arg_lots")
        decided, extra = _shortage_abstraction(params, st)
        out = E.liquidate(st, "a0", "m0", counterparty, fill_price, lots if sized else None,
                          decided)
        args = {"account_id": "a0", "market_id": "m0", "counterparty_id": counterparty,
                "fill_price_ticks": fill_price}
        if sized:
            args["lots"] = lots
        label = f"liquidate vs {counterparty}{' sized' if sized else ''}"
        cases.append((label + (" (size and fund rate abstracted)" if extra else ""), st, out,
                      Step("liquidate", args), extra))
    return cases


def _shortage_abstraction(params: Params, st: SymState) -> tuple[dict, list[z3.BoolRef]]:
    """Under cover_shortage, the step's size and the fund's rate (LIQ-SHORTAGE-1, LIQ-FEE-4),
    whose divisions by the position's value are nonlinear, as free terms within the bounds
    T-SIZE proves of them: 1..|s| lots and 0..the market's rate. Sound: a step proved for every
    size and rate in those bounds is proved for the policy's own."""
    if params.liquidation_size != LiquidationSize.COVER_SHORTAGE:
        return {}, []
    allowed, fund_rate = z3.Int("abs_allowed"), z3.Int("abs_fund_rate")
    position = st.accounts["a0"].positions["m0"]
    market = st.market("m0")
    return {"allowed": allowed, "fund_rate": fund_rate}, [
        z3.Implies(position != 0, z3.And(allowed >= 1, allowed <= E.zabs(position))),
        fund_rate >= 0, fund_rate <= market.liquidation_fee_ppm * market.rate_scale]


def _liq_obligation(label: str, st: SymState, out: E.Outcome, step: Step,
                    extra: list[z3.BoolRef], goals: dict[str, z3.BoolRef] | None = None,
                    check: str = "state_invariants") -> Obligation:
    obligation = op_obligation(label, st, out, step, goals, check, extra)
    obligation.abstracted = bool(extra)
    return obligation


def _steps_one_market(params: Params) -> bool:
    """A profile whose liquidation is a step of one market (LIQ-EXEC-2); under account_share
    that step is POLICY_FORBIDS and the liquidation is T-SHARE's."""
    return params.liquidation_size != LiquidationSize.ACCOUNT_SHARE


@theorem("T-LIQ", "a liquidation step (fill, fee, fund payout, write-off) preserves every state "
         "invariant", ("LIQ-EXEC-2", "LIQ-FEE-1", "LIQ-FEE-2", "LIQ-FEE-3", "LIQ-FEE-4",
                       "LIQ-INSURANCE-1", "LIQ-SOCIAL-1", "LIQ-INV-1",
                       "LIQ-INV-2", "LIQ-INV-3", "LIQ-INV-4", "LIQ-INV-8"),
         applies=_steps_one_market, depends_on=("liquidation_size", "fee_policy"),
         fidelity=("liquidate", "liquidation_size"),
         rlimit=84_000_000)  # its sized liquidation once peaked at 20.8M: 4x that
def _liq(params: Params) -> list[Obligation]:
    return [_liq_obligation(label, st, out, step, extra)
            for label, st, out, step, extra in _liquidations(params, ((BOOK, True), ("a1", True)))]


@theorem("T-NO-FALSE-LIQ", "only an account strictly below a positive maintenance requirement "
         "(at or below it under the at_or_below trigger) is liquidated; one quantum more equity "
         "is rejected NOT_LIQUIDATABLE",
         ("LIQ-INV-5", "LIQ-TRIGGER-1", "LIQ-TRIGGER-3", "LIQ-EXEC-2"),
         applies=_steps_one_market,
         depends_on=("liquidation_size", "fee_policy"),
         fidelity=("liquidate", "liquidation_size", "margin"),
         rlimit=84_000_000)  # as T-LIQ: its liquidations peak near 21M
def _no_false(params: Params) -> list[Obligation]:
    obligations = []
    for label, st, out, step, extra in _liquidations(params, ((BOOK, False),)):
        mm, eq = E.account_maintenance(st, "a0"), E.equity(st, "a0")
        slack = params.trigger_slack  # LIQ-TRIGGER-3: E <= MM where equality liquidates
        obligations.append(_liq_obligation(label, st, out, step, extra,
                                           {"MM > 0 and E - slack < MM before":
                                            z3.And(mm > 0, eq - slack < mm)},
                                           "no_false_liquidation"))
    # the boundary: assume E == MM (E == MM + 1 where equality liquidates, LIQ-TRIGGER-3) and
    # that the step would otherwise pass; it must be rejected
    st = pre_state(params)
    (fill_price,) = ints("arg_fill_price")
    out = E.liquidate(st, "a0", "m0", BOOK, fill_price)
    mm, eq = E.account_maintenance(st, "a0"), E.equity(st, "a0")
    obligations.append(Obligation(
        "equity == maintenance" + (" + 1" if params.trigger_slack else ""),
        base_assumptions(st) + [eq == mm + params.trigger_slack, fill_price >= 1,
                                fill_price <= INT64_MAX],
        {"rejected NOT_LIQUIDATABLE": out.code == int(E.ResultCode.NOT_LIQUIDATABLE)}, st,
        [Step("liquidate", {"account_id": "a0", "market_id": "m0", "counterparty_id": BOOK,
                            "fill_price_ticks": fill_price})], "no_false_liquidation"))
    return obligations


@theorem("T-PROGRESS", "every successful liquidation step strictly decreases the lots the "
         "account holds", ("LIQ-INV-6", "LIQ-EXEC-1"), applies=_steps_one_market,
         depends_on=("liquidation_size", "fee_policy"),
         fidelity=("liquidate", "liquidation_size"),
         rlimit=84_000_000)  # as T-LIQ: its liquidations peak near 21M
def _progress(params: Params) -> list[Obligation]:
    return [_liq_obligation(label, st, out, step, extra,
                            {"sum |s| decreases": E.total_lots(out.post, "a0")
                             < E.total_lots(st, "a0")}, "progress")
            for label, st, out, step, extra in _liquidations(params, ((BOOK, False), (BOOK, True)))]


@theorem("T-SIZE", "the policy's step size is between 1 lot and the whole position (under "
         "cover_shortage, the fund's rate between 0 and the market's rate too)",
         ("LIQ-EXEC-1", "LIQ-INV-6", "LIQ-SHORTAGE-1", "LIQ-FEE-4"), applies=_steps_one_market,
         depends_on=("liquidation_size",),
         fidelity=("liquidation_size",),
         rlimit=12_000_000)
def _size(params: Params) -> list[Obligation]:
    st = pre_state(params)
    size = E.liquidation_size(st, "a0", "m0")
    lots = st.accounts["a0"].positions["m0"]
    obligations = [Obligation("liquidation_size_lots", base_assumptions(st) + [lots != 0],
                              {"1 <= size": size >= 1, "size <= |s|": size <= E.zabs(lots)}, st,
                              [Step("liquidation_size_lots", {"account_id": "a0",
                                                              "market_id": "m0"})],
                              "size_bounds", {"size": size})]
    if params.liquidation_size == LiquidationSize.COVER_SHORTAGE:
        # the bounds the liquidation theorems take the fund's rate within (LIQ-FEE-4)
        market = st.market("m0")
        shortage = E.margin_shortage(st, "a0")
        rate = E.shortage_rates(st, "a0", "m0", shortage)[3]
        obligations.append(Obligation(
            "fund rate", base_assumptions(st) + [lots != 0],
            {"0 <= fund_rate": rate >= 0,
             "fund_rate <= max": rate <= market.liquidation_fee_ppm * market.rate_scale},
            st, [Step("liquidation_size_lots", {"account_id": "a0", "market_id": "m0"})],
            "none", {"fund_rate": rate}))
    return obligations


@theorem("T-FEE-CAP", "the liquidation fee is never negative and never exceeds the surplus left "
         "after the fill (zero when that is negative); under per_fill it never exceeds the fill's "
         "own insurance fund delta, nor the surplus of an account that had non-negative equity, "
         "and the fund pays a negative delta only up to its balance; under liquidator_and_fund "
         "the fund's fee is the one capped (the liquidator's is paid like a price)",
         ("LIQ-INV-7", "LIQ-FEE-1", "LIQ-FEE-2", "LIQ-FEE-4"),
         applies=_steps_one_market, depends_on=("liquidation_size", "fee_policy"),
         fidelity=("liquidate", "liquidation_size"),
         rlimit=84_000_000)  # as T-LIQ: its liquidations peak near 21M
def _fee_cap(params: Params) -> list[Obligation]:
    if params.fee_policy == FeePolicy.PER_FILL:
        return _fee_cap_per_fill(params)
    obligations = []
    for label, st, out, step, extra in _liquidations(params, ((BOOK, True),)):
        fee, surplus = out.amounts["fee"], out.amounts["surplus"]
        goals = {"0 <= fee": fee >= 0, "fee <= max(surplus, 0)": fee <= E.zmax(surplus, val(0))}
        obligations.append(_liq_obligation(label, st, out, step, extra, goals, "fee_cap"))
    return obligations


def _fee_cap_per_fill(params: Params) -> list[Obligation]:
    """LIQ-FEE-2's caps. The fee is the fill's own delta whatever the size, so the policy's size
    is abstracted to any 1..|s| lots (T-SIZE proves the policy's size is one of them), and the
    nonlinear bound on the closed lots' share of equity is a lemma, proved here ("share") and
    assumed at the step's own terms."""
    st = pre_state(params)
    fill_price, lots = ints("arg_fill_price", "arg_lots")
    allowed = z3.Int("abs_allowed")
    out = E.liquidate(st, "a0", "m0", BOOK, fill_price, lots, {"allowed": allowed})
    step = Step("liquidate", {"account_id": "a0", "market_id": "m0", "counterparty_id": BOOK,
                              "fill_price_ticks": fill_price, "lots": lots})
    position = st.accounts["a0"].positions["m0"]
    fee, surplus = out.amounts["fee"], out.amounts["surplus"]
    delta, covered = out.amounts["fund_delta"], out.amounts["fund_covered"]
    goals = {"0 <= fee": fee >= 0,
             "fee <= max(delta, 0)": fee <= E.zmax(delta, val(0)),
             "E >= 0 before: fee <= max(surplus, 0)": z3.Implies(
                 E.equity(st, "a0") >= 0, fee <= E.zmax(surplus, val(0))),
             "0 <= fund_covered <= min(max(-delta, 0), fund)": z3.And(
                 covered >= 0, covered <= E.zmax(-delta, val(0)),
                 covered <= st.holders[INSURANCE_FUND])}
    eq, released, total = E.equity_share_terms(st, "a0", "m0", lots)
    extra = [z3.Implies(position != 0, z3.And(allowed >= 1, allowed <= E.zabs(position))),
             z3.Implies(z3.And(eq >= 0, released <= total, total > 0),
                        E.div_floor(eq * released, total) <= eq)]
    step_obligation = op_obligation("liquidate vs lp sized (size abstracted)", st, out, step,
                                    goals, "fee_cap", extra)
    step_obligation.abstracted = True
    e, d, t = ints("lemma_e", "lemma_d", "lemma_t")
    share = Obligation("share", [e >= 0, d <= t, t > 0],
                       {"floor(e * d / t) <= e": E.div_floor(e * d, t) <= e}, None, [], "none",
                       {"lemma_e": e, "lemma_d": d, "lemma_t": t})
    return [step_obligation, share]


@theorem("T-FUND-PAYOUT", "settling a flat account's deficit leaves it at zero, the fund "
         "non-negative and the write-off recorded as bad debt", ("LIQ-INSURANCE-1", "LIQ-SOCIAL-1",
                                                                 "LIQ-INV-3", "LIQ-INV-4",
                                                                 "LIQ-INV-1", "LIQ-INV-8"),
         domains="generic",
         fidelity=("liquidate", "backstop_liquidate", "deleverage"),
         rlimit=12_000_000)
def _payout(params: Params) -> list[Obligation]:
    st = pre_state(params)
    post = st.copy()
    # the state just before settlement: invariants hold except that a0 is flat in deficit
    assumptions = [*params.assumptions, *[p > 0 for p in st.marks.values()],
                   E.conservation(st), E.zero_sum(st), E.fund_solvent(st),
                   E.flat_positions_cost_nothing(st),
                   E.residuals_on_venue_side(st), E.is_flat(st, "a0"),
                   st.accounts["a0"].quote < 0, *[z3.Not(E.needs_settlement(st, a))
                                                  for a in ("a1", "a2")]]
    paid, written_off = E.settle_deficit(post, "a0", z3.BoolVal(True))
    goals = invariants_after(st, post)
    goals["account at zero"] = post.accounts["a0"].quote == 0
    goals["fund paid min(deficit, fund)"] = paid == E.zmin(-st.accounts["a0"].quote,
                                                           st.holders[INSURANCE_FUND])
    goals["bad debt recorded"] = (post.holders[SOCIALIZED_LOSS]
                                  == st.holders[SOCIALIZED_LOSS] - written_off)
    return [Obligation("settle_deficit", assumptions, goals, st,
                       [Step("settle_deficit", {"account_id": "a0"})], "settlement",
                       {"paid": paid, "written_off": written_off})]


# -- backstop --------------------------------------------------------------------------------------

def _has_backstop(params: Params) -> bool:
    return params.backstop_ratio is not None


@theorem("T-BACKSTOP", "a backstop takeover happens only below the backstop threshold (hence "
         "below maintenance), leaves the account flat at zero and preserves every invariant",
         ("LIQ-BACKSTOP-1", "LIQ-TRIGGER-2", "LIQ-INV-5", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3",
          "LIQ-INV-4"), applies=_has_backstop, depends_on=("backstop_ratio",),
         fidelity=("backstop_liquidate", "margin"),
         rlimit=1_000_000)
def _backstop(params: Params) -> list[Obligation]:
    st = pre_state(params, WITH_VAULT)
    out = E.backstop_liquidate(st, "a0", VAULT)
    goals = invariants_after(st, out.post)
    goals["was liquidatable"] = E.is_liquidatable(st, "a0")
    goals["was below backstop"] = E.is_below_backstop(st, "a0")
    goals["flat at zero"] = z3.And(E.is_flat(out.post, "a0"), out.post.accounts["a0"].quote == 0)
    return [op_obligation("backstop_liquidate", st, out,
                          Step("backstop_liquidate", {"account_id": "a0", "vault_id": VAULT}),
                          goals, "backstop")]


# -- liquidation by account share ------------------------------------------------------------------

def _by_share(params: Params) -> bool:
    return params.liquidation_size == LiquidationSize.ACCOUNT_SHARE


@theorem("T-SHARE", "a liquidation by account share happens only below maintenance, charges a "
         "penalty between zero and the account's equity (zero when that is negative), preserves "
         "every invariant, reduces every position toward zero without flipping it, and leaves "
         "the account flat or strictly below the target margin ratio",
         ("LIQ-SHARE-1", "LIQ-SHARE-2", "LIQ-INV-5", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3",
          "LIQ-INV-4", "LIQ-INV-7", "LIQ-INV-8"), applies=_by_share,
         depends_on=("liquidation_size", "fee_policy"),
         fidelity=("share_liquidate", "margin"),
         # the fresh context first: over generic parameters the 40% share's incremental attempt
         # used 1.9M-5.1M in most processes but spent the whole 100M in about one in eight
         # (z3 varies from process to process on these nonlinear obligations, .prover), where a
         # fresh context used 2.4M-2.8M in each of ten; paradex's 20% share once took 22.7M
         # incrementally. Calibrated: the generic 20% share's checks need up to 10.9M
         schedule=("fresh", "incremental"), rlimit=100_000_000)
def _share(params: Params) -> list[Obligation]:
    """One obligation per share the rule may choose, each assuming only that share's own test.
    Sound: the share chosen is one of the candidates and its test holds
    (that the earlier tests fail is not needed for any goal); the outcome of
    E.share_liquidate(chosen=k) is the operation's wherever the rule chooses the k-th."""
    obligations = []
    count = len(E.share_steps(params))
    for index in range(count):
        st = pre_state(params, WITH_VAULT)
        out = E.share_liquidate(st, "a0", VAULT, chosen=index)
        chosen = E.share_candidates(st, "a0", VAULT)[index].test
        goals = invariants_after(st, out.post)
        before, after = st.accounts["a0"], out.post.accounts["a0"]
        penalty = out.amounts["fee"]
        goals["was liquidatable"] = E.is_liquidatable(st, "a0")
        goals["0 <= penalty <= max(E, 0)"] = z3.And(
            penalty >= 0, penalty <= E.zmax(E.equity(st, "a0"), val(0)))
        for m in sorted(before.positions):
            s, s_after = before.positions[m], after.positions[m]
            goals[f"{m} toward zero"] = z3.If(
                s > 0, z3.And(s_after >= 0, s_after < s),
                z3.If(s < 0, z3.And(s_after <= 0, s_after > s), s_after == 0))
        # on the outcome before the all-or-nothing merge: the same state where it succeeded
        raw = out.raw
        assert raw is not None  # share_liquidate's steps ran (its checks are not all refusals)
        goals["flat or below the target"] = z3.Or(
            E.is_flat(raw, "a0"),
            E.account_maintenance(raw, "a0") * PPM < params.share_target_ppm * E.equity(raw, "a0"))
        obligation = op_obligation(
            f"share_liquidate, share {E.share_steps(params)[index]} ppm", st, out,
            Step("share_liquidate", {"account_id": "a0", "vault_id": VAULT}), goals, "share",
            [chosen])
        obligations.append(obligation)
    return obligations


# -- auto-deleveraging -----------------------------------------------------------------------------

def _adl(params: Params) -> bool:
    return params.bad_debt_policy == BadDebtPolicy.ADL


ADL_ORDERS = (("a1", "a2", BOOK), ("a2", "a1", BOOK))


def fund_peak() -> Term:
    """The fund's peak handed to a deleveraging (LIQ-ADL-5): any integer, a fresh constant; one
    outside 0..2^63-1 is refused INVALID_AMOUNT, so an operation assumed to succeed had one in
    range. In a domain without the rule no peak puts the fund in drawdown, and a theorem is the
    one it was before the rule, for every peak."""
    return z3.Int("arg_fund_peak")


def peak_in_range(peak: Term) -> z3.BoolRef:
    """The peak's argument domain (LIQ-DOMAIN-3): 0..2^63-1."""
    return z3.And(peak >= 0, peak <= INT64_MAX)


def _deleverages(params: Params):
    """Deleveraging a0 in m0 under every order the ranking could produce over its candidates,
    from any fund peak (LIQ-ADL-5)."""
    cases = []
    for order in ADL_ORDERS:
        st = pre_state(params)
        peak = fund_peak()
        out = E.deleverage(st, "a0", "m0", order=order, fund_peak_quote=peak)
        cases.append((f"deleverage order {'>'.join(order[:2])}", st, out,
                      Step("deleverage", {"account_id": "a0", "market_id": "m0",
                                          "fund_peak_quote": peak, "__order": list(order)})))
    return cases


#: the ADL theorems read the price and whether the fund's drawdown changes it (LIQ-ADL-5)
ADL_POLICIES = ("adl_price", "has_drawdown")


@theorem("T-ADL", "auto-deleveraging (fills at the bankruptcy or mark value, then every flat "
         "account left in deficit settled) preserves every state invariant, whatever the ranking "
         "and whatever the fund's peak (LIQ-ADL-5: in drawdown it goes ahead though the fund "
         "could pay, and fills at the mark)",
         ("LIQ-ADL-1", "LIQ-ADL-3", "LIQ-ADL-4", "LIQ-ADL-5", "LIQ-INV-1", "LIQ-INV-2",
          "LIQ-INV-3", "LIQ-INV-4", "LIQ-INV-8"), applies=_adl, depends_on=ADL_POLICIES,
         fidelity=("deleverage", "adl_receive"),
         rlimit=3_000_000)
def _adl_inv(params: Params) -> list[Obligation]:
    return [op_obligation(label, st, out, step) for label, st, out, step in _deleverages(params)]


@theorem("T-ADL-SIDE", "deleveraging closes the whole position and only against opposite-side "
         "traders, each reduced toward zero, never flipped or grown, whatever the fund's peak "
         "(LIQ-ADL-5)",
         ("LIQ-ADL-2", "LIQ-ADL-3", "LIQ-ADL-5"), applies=_adl, depends_on=ADL_POLICIES,
         fidelity=("deleverage",),
         rlimit=3_000_000)
def _adl_side(params: Params) -> list[Obligation]:
    obligations = []
    for label, st, out, step in _deleverages(params):
        goals = {"position closed": out.post.accounts["a0"].positions["m0"] == 0}
        side = E.zsign(st.accounts["a0"].positions["m0"])
        for c in ("a1", "a2", BOOK):
            before = st.accounts[c].positions["m0"]
            after = out.post.accounts[c].positions["m0"]
            if st.accounts[c].role != TRADER:
                goals[f"{c} untouched"] = after == before
            else:
                goals[f"{c} shrinks toward zero on the opposite side"] = z3.Or(
                    after == before,
                    z3.And(E.zsign(before) == -side, E.zabs(after) < E.zabs(before),
                           z3.Or(after == 0, E.zsign(after) == E.zsign(before))))
        obligations.append(op_obligation(label, st, out, step, goals, "adl_side"))
    return obligations


def _at_bankruptcy(params: Params) -> bool:
    return _adl(params) and params.adl_price == AdlPrice.BANKRUPTCY


@theorem("T-ADL-ZERO", "an auto-deleveraging fill at the bankruptcy value that closes an "
         "account's last position leaves its equity exactly zero (so the last fill of every "
         "deleveraging at the bankruptcy price leaves nothing to pay or write off); under "
         "LIQ-ADL-5 this is claimed only for a fund peak the fund is not in drawdown from, since "
         "in drawdown the fill is at the mark and the deficit is settled (T-ADL)",
         ("LIQ-ADL-4", "LIQ-ADL-5"), applies=_at_bankruptcy, depends_on=ADL_POLICIES,
         fidelity=("adl_receive",),
         rlimit=13_000_000)
def _adl_zero(params: Params) -> list[Obligation]:
    st = pre_state(params)
    acct = st.accounts["a0"]
    lots = acct.positions["m0"]
    peak = fund_peak()
    receive = E.adl_receive(st, "a0", "m0", E.zabs(lots), peak)
    assumptions = [*params.assumptions, *positive_marks(st), lots != 0,
                   acct.positions["m1"] == 0, peak_in_range(peak),
                   z3.Not(E.fund_in_drawdown(st, peak))]
    return [Obligation("closing fill", assumptions,
                       {"quote + receive == 0": acct.quote + receive == 0}, st,
                       [Step("adl_receive_quote", {"account_id": "a0", "market_id": "m0",
                                                   "fund_peak_quote": peak})],
                       "adl_zero", {"receive": receive})]


def _has_drawdown(params: Params) -> bool:
    return _adl(params) and params.has_drawdown


@theorem("T-ADL-DRAWDOWN", "while the insurance fund is in drawdown from its peak (LIQ-ADL-5), "
         "deleveraging a trader that holds the position and has negative equity is never "
         "refused for the fund: it succeeds whenever the opposite side can take the whole "
         "position, however much the fund holds; and it fills at the mark: every trader keeps "
         "its equity at the marks, except one left flat in deficit, which is settled to zero, "
         "and the book's account is untouched",
         ("LIQ-ADL-5", "LIQ-ADL-1", "LIQ-ADL-4", "LIQ-INSURANCE-1"), applies=_has_drawdown,
         depends_on=ADL_POLICIES,
         fidelity=("deleverage",),
         # calibrated: the generic bankruptcy domain's fills in order a2>a1 need up to 5.1M
         # (incremental; a fresh context needs 60M-150M on the fill obligations)
         rlimit=21_000_000)
def _adl_drawdown(params: Params) -> list[Obligation]:
    obligations = []
    # allowed: LIQ-ADL-1's other conditions hold (a position, negative equity, a deep enough
    # opposite side), the fund's balance is anything
    st = pre_state(params)
    peak = fund_peak()
    order = ADL_ORDERS[0]
    out = E.deleverage(st, "a0", "m0", order=order, fund_peak_quote=peak)
    position = st.accounts["a0"].positions["m0"]
    allocated = sum((take for _, take in E.greedy_allocation(st, "a0", "m0", order)), val(0))
    obligations.append(Obligation(
        "in drawdown, not refused for the fund",
        base_assumptions(st) + [peak_in_range(peak), E.fund_in_drawdown(st, peak), position != 0,
                                E.equity(st, "a0") < 0, allocated >= E.zabs(position)],
        {"deleveraged (OK)": out.ok}, st,
        [Step("deleverage", {"account_id": "a0", "market_id": "m0", "fund_peak_quote": peak,
                             "__order": list(order)})],
        "adl_drawdown", {f"amount.{k}": v for k, v in out.amounts.items()}))
    # at the mark: each fill leaves both sides' equity as it was (LIQ-ADL-4 at the mark)
    for label, st, out, step in _deleverages(params):
        goals = {}
        for a in TRADERS:
            before = E.equity(st, a)
            settled = z3.And(E.is_flat(out.post, a), before < 0)
            goals[f"{a} keeps its equity (0 if settled)"] = (
                E.equity(out.post, a) == z3.If(settled, 0, before))
        goals[f"{BOOK} untouched"] = E.equity(out.post, BOOK) == E.equity(st, BOOK)
        obligations.append(op_obligation(f"{label}, in drawdown", st, out, step, goals,
                                         "adl_drawdown", [E.fund_in_drawdown(st, fund_peak())]))
    return obligations


@theorem("T-PRO-RATA", "pro-rata deleveraging allocates exactly the lots needed, never more than "
         "a candidate holds", ("LIQ-ADL-2",), domains="generic", applies=_adl,
         fidelity=("deleverage",),
         rlimit=13_000_000)
def _pro_rata(params: Params) -> list[Obligation]:
    st = pre_state(params)
    allocation = E.pro_rata_allocation(st, "a0", "m0")
    needed = E.zabs(st.accounts["a0"].positions["m0"])
    held = {c: E.zabs(st.accounts[c].positions["m0"]) for c, _ in allocation}
    eligible = {c: E.adl_candidate(st, "a0", c, "m0") for c, _ in allocation}
    total = sum((z3.If(eligible[c], held[c], 0) for c, _ in allocation), val(0))
    goals = {f"0 <= take({c}) <= held": z3.And(take >= 0, take <= held[c])
             for c, take in allocation}
    goals["sum of takes == min(needed, total)"] = (
        sum((take for _, take in allocation), val(0)) == E.zmin(needed, total))
    goals["only candidates take"] = z3.And([z3.Implies(take > 0, eligible[c])
                                            for c, take in allocation])
    return [Obligation("pro_rata", base_assumptions(st) + [needed > 0], goals, st,
                       [Step("adl_allocation_pro_rata", {"account_id": "a0", "market_id": "m0"})],
                       "pro_rata", {f"take.{c}": t for c, t in allocation})]


# -- socialization and funding ---------------------------------------------------------------------

def _socialize(params: Params) -> bool:
    return params.bad_debt_policy in SOCIALIZING


@theorem("T-SOCIALIZE", "socializing the recorded bad debt, or a part of it, preserves every "
         "state invariant, raises the socialized-loss holder by exactly the amount charged (to "
         "0 for the whole debt) and sends a residual in [0, payers) to the fee sink",
         ("LIQ-SOCIAL-2", "LIQ-ROUND-3", "LIQ-INV-1", "LIQ-INV-8"),
         applies=_socialize,
         fidelity=("socialize_loss",),
         rlimit=13_000_000)
def _social(params: Params) -> list[Obligation]:
    obligations = []
    for side in (1, -1, 0):  # the longs, the shorts, both
        for part in (False, True):  # the whole recorded debt; a symbolic part of it
            st = pre_state(params)
            (amount,) = ints("arg_amount") if part else (None,)
            out = E.socialize_loss(st, "m0", side, amount)
            goals = invariants_after(st, out.post)
            if part:
                goals["holder rises by the part"] = (out.post.holders[SOCIALIZED_LOSS]
                                                     == st.holders[SOCIALIZED_LOSS] + amount)
            else:
                goals["holder ends at 0"] = out.post.holders[SOCIALIZED_LOSS] == 0
            residual = out.amounts["residual"]
            goals["0 <= residual < 3"] = z3.And(residual >= 0, residual < len(TRADERS))
            goals["residual to fee sink"] = (out.post.holders[FEE_SINK]
                                             == st.holders[FEE_SINK] + residual)
            args = {"market_id": "m0", "side": side, **({"amount_quote": amount} if part else {})}
            obligations.append(op_obligation(f"socialize side {side:+d}"
                                             + (", a part" if part else ""), st, out,
                                             Step("socialize_loss", args), goals, "socialize"))
    return obligations


@theorem("T-FUNDING", "a funding payment preserves every state invariant: the pool collects at "
         "least what it pays, and ends empty with a residual in [0, positions) at the fee sink",
         ("LIQ-FUNDING-1", "LIQ-FUNDING-2", "LIQ-ROUND-3", "LIQ-INV-1", "LIQ-INV-8"),
         fidelity=("apply_funding",),
         rlimit=17_000_000)
def _funding(params: Params) -> list[Obligation]:
    def goals(st: SymState, out: E.Outcome) -> dict[str, z3.BoolRef]:
        goals = invariants_after(st, out.post)
        residual = out.amounts["residual"]
        goals["0 <= residual < 4"] = z3.And(residual >= 0, residual < len(st.accounts))
        goals["pool empty"] = out.post.holders[FUNDING_POOL] == 0
        return goals
    return one_call(params, "apply_funding", {"market_id": "m0"}, "rate_ppm", "arg_rate", goals,
                    "funding")


# -- rounding and margin lemmas ----------------------------------------------------------------------

@theorem("T-ROUNDING", "every rounding lands on the venue's side: requirements and fees round "
         "up, funding owed rounds up and funding received rounds down (a per_fill fee cap "
         "rounds down, as dYdX's, LIQ-FEE-2)",
         ("LIQ-ROUND-1", "LIQ-ROUND-2", "LIQ-INV-8", "LIQ-TIER-2", "LIQ-TIER-7",
          "LIQ-FUNDING-1"),
         fidelity=("margin", "liquidate"),
         rlimit=12_000_000)
def _rounding(params: Params) -> list[Obligation]:
    st = pre_state(params)
    obligations = []
    for slot in sorted(params.markets):  # each market: a venue's may differ in rate_scale
        market = st.market(slot)
        lots, price, rate = ints("arg_lots", "arg_price", "arg_rate")
        n = E.notional(lots, price, market)
        mm = E.maintenance_margin(market, n, E.zabs(lots))
        mmr = E.tier_field(market, n, "maint_margin_ppm", E.zabs(lots))
        ded = E.tier_field(market, n, "maint_deduction_quote", E.zabs(lots))
        value = E.position_value(lots, price, market)
        owed = E.funding_owed(value, rate)
        exact_fee = n * market.liquidation_fee_ppm  # x 10^6
        if params.fee_policy == FeePolicy.PER_FILL:
            fee = E.mul_ppm_floor(n, market.liquidation_fee_ppm)
            fee_goal = ("fee cap <= exact and > exact - 1",
                        z3.And(fee * PPM <= exact_fee, (fee + 1) * PPM > exact_fee))
        else:
            fee = E.mul_ppm_ceil(n, market.liquidation_fee_ppm)
            fee_goal = ("fee >= exact and < exact + 1",
                        z3.And(fee * PPM >= exact_fee, (fee - 1) * PPM < exact_fee))
        goals = {
            # the requirement in the market's rate unit (LIQ-TIER-7): 10^6 x rate_scale is 100%
            "MM >= exact": mm * PPM * market.rate_scale >= n * mmr - ded * PPM,
            fee_goal[0]: fee_goal[1],
            "funding owed >= exact, within 1": z3.And(owed * PPM >= value * rate,
                                                       (owed - 1) * PPM < value * rate),
        }
        obligations.append(Obligation(
            f"rounding, market {slot}", [*params.assumptions, *positive_marks(st), price > 0,
                                         lots != 0, rate >= -PPM, rate <= PPM], goals, st,
            [Step("rounding", {"market_id": slot, "lots": lots, "price_ticks": price,
                               "rate_ppm": rate})], "rounding",
            {"mm": mm, "owed": owed, "fee": fee}))
    return obligations


@theorem("T-MM-POSITIVE", "an open position has a positive maintenance requirement, no larger "
         "than its initial requirement", ("LIQ-TIER-2", "LIQ-TIER-3", "LIQ-TRIGGER-1"),
         fidelity=("margin",),
         rlimit=12_000_000)
def _mm_positive(params: Params) -> list[Obligation]:
    st = pre_state(params)
    obligations = []
    for slot in sorted(params.markets):
        market = st.market(slot)
        lots, price, oi = ints("arg_lots", "arg_price", "arg_oi")
        n = E.notional(lots, price, market)
        mm = E.maintenance_margin(market, n, E.zabs(lots))
        im = E.initial_margin(market, n, oi, E.zabs(lots))
        obligations.append(Obligation(
            f"market {slot}", [*params.assumptions, *positive_marks(st), price > 0, lots != 0,
                               oi >= 0],
            {"MM > 0": mm > 0, "IM >= MM": im >= mm}, st,
            [Step("margin", {"market_id": slot, "lots": lots, "price_ticks": price,
                             "open_interest": oi})], "margin", {"mm": mm, "im": im}))
    return obligations


@theorem("T-CEIL-LEMMA", "for an integer a and a rational y: a < ceil(y) iff a < y, and "
         "a > floor(y) iff a > y, so tick-rounded thresholds trigger exactly",
         ("LIQ-PRICE-2", "LIQ-PRICE-3"), domains="none",
         rlimit=1_000_000)
def _ceil_lemma(params: Params | None) -> list[Obligation]:
    a, c, f = ints("lemma_a", "lemma_ceil", "lemma_floor")
    y = z3.Real("lemma_y")
    assumptions = [c - 1 < y, y <= c, f <= y, y < f + 1]
    goals = {"a < ceil(y) <=> a < y": (a < c) == (a < y),
             "a > floor(y) <=> a > y": (a > f) == (a > y)}
    return [Obligation("ceil/floor", assumptions, goals, None, [], "none",
                       {"lemma_a": a, "lemma_y": y, "lemma_ceil": c, "lemma_floor": f})]


@theorem("T-INVERSE-PRICE", "an inverse market's lot value v(p) = floor(K/p + 1/2) never "
         "rises with the venue price, and its venue thresholds are exact: for every K >= 1, "
         "p >= 1 and model tick T, v(p) > T iff p <= floor(2K / (2T + 1)) (T >= 0) and "
         "v(p) < T iff p > floor(2K / (2T - 1)) (T >= 1)",
         ("LIQ-INVERSE-1", "LIQ-INVERSE-3"), domains="none", rlimit=2_000_000)
def _inverse_price(params: Params | None) -> list[Obligation]:
    # each floor is stated by its definition, q = floor(a / b) iff b*q <= a < b*(q + 1) (b > 0),
    # so the obligations are over unbounded integers: every face, price and threshold
    k, p, t, v, q = ints("inv_K", "inv_p", "inv_T", "inv_v", "inv_q")
    value = [k >= 1, p >= 1, 2 * p * v <= 2 * k + p, 2 * k + p < 2 * p * (v + 1)]
    terms = {"inv_K": k, "inv_p": p, "inv_T": t, "inv_v": v, "inv_q": q}
    long_q = [t >= 0, (2 * t + 1) * q <= 2 * k, 2 * k < (2 * t + 1) * (q + 1)]
    short_q = [t >= 1, (2 * t - 1) * q <= 2 * k, 2 * k < (2 * t - 1) * (q + 1)]
    p2, v2 = ints("inv_p2", "inv_v2")
    later = [p2 > p, 2 * p2 * v2 <= 2 * k + p2, 2 * k + p2 < 2 * p2 * (v2 + 1)]
    return [
        Obligation("contract long (model short)", value + long_q,
                   {"v > T <=> p <= floor(2K/(2T+1))": (v > t) == (p <= q)}, None, [], "none",
                   terms),
        Obligation("contract short (model long)", value + short_q,
                   {"v < T <=> p > floor(2K/(2T-1))": (v < t) == (p > q)}, None, [], "none",
                   terms),
        Obligation("monotone", value + later, {"p < p2 => v(p) >= v(p2)": v >= v2}, None, [],
                   "none", {**terms, "inv_p2": p2, "inv_v2": v2}),
    ]


@theorem("T-LIQ-PRICE", "a one-tier position is liquidatable exactly when its mark is on the wrong "
         "side of its liquidation price in ticks (long: mark < ceil(x); short: mark > floor(x))",
         ("LIQ-PRICE-2", "LIQ-PRICE-3", "LIQ-TRIGGER-1"), domains="generic",
         fidelity=("liquidation_price", "margin"),
         rlimit=15_000_000)
def _liq_price(params: Params) -> list[Obligation]:
    obligations = []
    for side in (1, -1):
        st = pre_state(params)
        market = st.market("m0")
        acct = st.accounts["a0"]
        lots = acct.positions["m0"]
        mark = st.marks["m0"]
        ticks = E.liquidation_price_ticks_one_tier(st, "a0", "m0")
        one_tier = [market.min_maint_margin_quote == 0,
                    (E.zabs(lots) < market.tiers[1].floor_lots if market.by_size
                     else E.notional(lots, mark, market) < market.tiers[1].floor_notional_quote),
                    acct.positions["m1"] == 0, lots * side > 0]
        crossed = mark < ticks if side > 0 else mark > ticks
        obligations.append(Obligation(
            "long" if side > 0 else "short",
            [*params.assumptions, *positive_marks(st), *one_tier],
            {"liquidatable <=> crossed": E.is_liquidatable(st, "a0") == crossed}, st,
            [Step("liquidation_price", {"account_id": "a0", "market_id": "m0"})], "liq_price",
            {"ticks": ticks}))
    return obligations


# -- cascades: bounded model checking (LIQ-CASCADE-*) ------------------------------------------------

CASCADE_ROUNDS = 2
CASCADE_LEVELS = 2


def _cascade_round_steps(state: SymState, levels: dict[str, list[tuple[Term, Term]]], r: int,
                         steps: list[Step], decisions: list[z3.BoolRef]
                         ) -> tuple[SymState, z3.BoolRef]:
    """One round: each trader in turn (any processing order is a relabelling of the symbolic
    traders) sends a liquidation order that takes any number of lots from each level of the
    closing side, each take a liquidation step (LIQ-EXEC-2) that happens only where the reference
    would accept it. Returns the state after the round and whether any step happened."""
    any_step = z3.BoolVal(False)
    for a in TRADERS:
        for j in range(CASCADE_LEVELS):
            position = state.accounts[a].positions["m0"]
            bid_price, bid_left = levels["bids"][j]
            ask_price, ask_left = levels["asks"][j]
            price = z3.If(position > 0, bid_price, ask_price)
            take = z3.Int(f"bmc_take_r{r}_{a}_{j}")
            # the margin decisions are free (any trigger outcome, any size the policy may allow,
            # any fee the policy may want, any surplus, any cash for the fill): what is checked is
            # the ledger of the cascade, which holds whatever they are; T-NO-FALSE-LIQ, T-SIZE
            # and T-FEE-CAP prove the decisions themselves
            tag = f"r{r}_{a}_{j}"
            decided = {"liquidatable": z3.Bool(f"bmc_liquidatable_{tag}"),
                       "allowed": z3.Int(f"bmc_allowed_{tag}"),
                       "wanted": z3.Int(f"bmc_wanted_{tag}"),
                       "surplus": z3.Int(f"bmc_surplus_{tag}"),
                       "cash": z3.Int(f"bmc_cash_{tag}")}
            decisions.append(z3.And(decided["wanted"] >= 0, z3.Implies(
                position != 0, z3.And(decided["allowed"] >= 1,
                                      decided["allowed"] <= E.zabs(position)))))
            out = E.liquidate(state, a, "m0", BOOK, price, take, decided)
            left = z3.If(position > 0, bid_left, ask_left)
            happens = z3.And(out.ok, take >= 1, take <= left)
            steps.append(Step("liquidate", {"account_id": a, "market_id": "m0",
                                            "counterparty_id": BOOK, "fill_price_ticks": price,
                                            "lots": take, "__when": happens}))
            levels["bids"][j] = (bid_price, z3.If(z3.And(happens, position > 0), bid_left - take,
                                                  bid_left))
            levels["asks"][j] = (ask_price, z3.If(z3.And(happens, position < 0), ask_left - take,
                                                  ask_left))
            state = E.merge(happens, out.post, state)
            any_step = z3.Or(any_step, happens)
    return state, any_step


@theorem("T-CASCADE-BMC", f"in every cascade of {CASCADE_ROUNDS} rounds over a book of "
         f"{CASCADE_LEVELS} levels a side (any takes, any processing order, any mark move between "
         "rounds), every state invariant holds after each round and each round that liquidates "
         "strictly shrinks the traders' open lots",
         ("LIQ-CASCADE-2", "LIQ-CASCADE-3", "LIQ-BOOK-2", "LIQ-INV-1", "LIQ-INV-2", "LIQ-INV-3",
          "LIQ-INV-4", "LIQ-INV-6", "LIQ-INV-8"), domains="generic",
         fidelity=("liquidate", "set_mark"),
         rlimit=260_000_000)
def _cascade(params: Params) -> list[Obligation]:
    st = pre_state(params, cost=False)  # the cost basis moves no money: left out here
    # the margin decisions are abstracted, so no parameter is read: one domain suffices, and its
    # (nonlinear) parameter constraints are left out
    assumptions = [E.state_invariants(st)] + [acct.positions["m1"] == 0
                                              for acct in st.accounts.values()]
    levels: dict[str, list[tuple[Term, Term]]] = {"bids": [], "asks": []}
    for j in range(CASCADE_LEVELS):
        bid, bid_lots, ask, ask_lots = ints(f"bmc_bid{j}", f"bmc_bid_lots{j}", f"bmc_ask{j}",
                                            f"bmc_ask_lots{j}")
        assumptions += [bid > 0, bid_lots > 0, ask > 0, ask_lots > 0]
        levels["bids"].append((bid, bid_lots))
        levels["asks"].append((ask, ask_lots))
    assumptions += [levels["bids"][j][0] > levels["bids"][j + 1][0]
                    for j in range(CASCADE_LEVELS - 1)]
    assumptions += [levels["asks"][j][0] < levels["asks"][j + 1][0]
                    for j in range(CASCADE_LEVELS - 1)]
    steps: list[Step] = []
    decisions: list[z3.BoolRef] = []
    goals: dict[str, z3.BoolRef] = {}
    state = st
    happened = []
    for r in range(1, CASCADE_ROUNDS + 1):
        lots_before = sum((E.total_lots(state, a) for a in TRADERS), val(0))
        state, any_step = _cascade_round_steps(state, levels, r, steps, decisions)
        happened.append(any_step)
        lots_after = sum((E.total_lots(state, a) for a in TRADERS), val(0))
        for name, goal in invariants_after(st, state).items():
            if name != "journal = balances":
                goals[f"round {r}: {name}"] = goal
        goals[f"round {r}: progress"] = z3.Implies(any_step, lots_after < lots_before)
        # the round's fills move the mark (any rule: last fill, index band, ...)
        new_mark = z3.Int(f"bmc_mark_r{r}")
        assumptions.append(new_mark > 0)
        steps.append(Step("set_mark", {"market_id": "m0", "price_ticks": new_mark,
                                       "__when": any_step}))
        state = state.copy()
        state.marks["m0"] = z3.If(any_step, new_mark, state.marks["m0"])
    goals[f"journal = balances after {CASCADE_ROUNDS} rounds"] = E.journal_matches(st, state)
    # the decisions' bounds (T-SIZE, LIQ-FEE-1); not vacuous: a cascade where every round
    # liquidates
    assumptions += decisions + happened
    return [Obligation(f"{CASCADE_ROUNDS} rounds x {len(TRADERS)} traders x "
                       f"{CASCADE_LEVELS} levels", assumptions, goals, st, steps, "cascade",
                       abstracted=True, split_goals=True)]
