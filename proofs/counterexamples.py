"""Counterexamples (and witnesses): a z3 model turned into a concrete state, operations and a
property, replayed in the reference.

A counterexample is plain JSON in :mod:`liqspec.codec`'s integer JSON (so it can be saved as a
regression vector under ``tests/vectors``; every integer a decimal string)::

    {"format": 1, "theorem": "T-FEE-CAP", "obligation": "...", "domain": "bybit",
     "profile": {...the whole profile, as liqspec.codec writes it...},
     "state": {"marks": {"BTCUSDT": "500000", ...},
               "accounts": [{"account_id": "a0", "role": "trader", "quote": "-5",
                             "positions": {"BTCUSDT": "3"}, ...}, ...],
               "holders": {"outside": "...", ...}},
     "steps": [{"operation": "liquidate", "args": {"account_id": "a0", "market_id": "BTCUSDT",
                                                    "fill_price_ticks": "499990", ...}}],
     "check": "fee_cap", "values": {...}}

The encodings name markets by slot (``m0``, ``m1``); a venue profile maps the slots to its
market IDs in ID order, and a counterexample is written with the IDs (a generic domain's markets are
named by slot, their value per lot per tick a free parameter the codec keeps). :func:`replay`
builds the state in the reference (with a journal that accounts for every opening balance and
position, so the journal halves of LIQ-INV-1/2 are checked too), runs the steps with the
reference's own functions, and returns the violations of the counterexample's property found there:
none for a vector that the reference now handles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import z3

import liqspec.reference as ref
import liqspec.codec as codec
from liqspec.reference import deleveraging, invariants
from liqspec.reference.arithmetic import PPM, mul_ppm_ceil, mul_ppm_floor
from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.journal import Fill, Transfer
from liqspec.reference.profile import FeePolicy, Market, OpenInterestScaling, Profile, Tier
from liqspec.reference.profiles import PROFILES
from liqspec.reference.state import HOLDERS, OUTSIDE, Account, State, atomic

from .domains import MARKET_SLOTS, proof_profile, slot_market_ids
from .encodings import Params, SymState, val

# -- from a model -----------------------------------------------------------------------------------


def _num(model: z3.ModelRef, term: object) -> object:
    if not isinstance(term, z3.ExprRef):
        return term
    value = model.eval(term, model_completion=True)
    if z3.is_int_value(value):
        return value.as_long()
    if z3.is_rational_value(value):
        return f"{value.numerator_as_long()}/{value.denominator_as_long()}"
    if z3.is_true(value) or z3.is_false(value):
        return z3.is_true(value)
    raise ValueError(f"cannot read {term} = {value} from the model")


def profile_spec(params: Params | None, model: z3.ModelRef) -> dict:
    """How to rebuild the profile: a venue's name, or every generic parameter's value."""
    if params is None:
        return {}
    if params.name in PROFILES:
        return {"venue": params.name}
    markets = {}
    for slot, mp in params.markets.items():
        markets[slot] = {
            "value_per_lot_tick": _num(model, mp.value_per_lot_tick),
            "liquidation_fee_ppm": _num(model, mp.liquidation_fee_ppm),
            "liquidator_fee_ppm": _num(model, val(mp.liquidator_fee_ppm)),
            "min_maint_margin_quote": _num(model, mp.min_maint_margin_quote),
            "tiers": [[_num(model, getattr(t, f)) for f in (
                "floor_notional_quote", "maint_margin_ppm", "maint_deduction_quote",
                "init_margin_ppm", "init_deduction_quote")] for t in mp.tiers],
            "oi_caps": None if mp.oi_caps is None else [_num(model, c) for c in mp.oi_caps],
        }
    return {"generic": {
        "name": params.name, "markets": markets, "liquidation_size": params.liquidation_size,
        "portion_ppm": _num(model, params.portion_ppm),
        "portion_threshold_quote": _num(model, params.portion_threshold_quote),
        "fee_policy": params.fee_policy,
        "backstop_ratio": list(params.backstop_ratio) if params.backstop_ratio else None,
        "bad_debt_policy": params.bad_debt_policy, "adl_price": params.adl_price,
        "share_target_ppm": params.share_target_ppm,
        "liquidation_buffer_ppm": _num(model, val(params.liquidation_buffer_ppm)),
        "adl_drawdown_ppm": _num(model, val(params.adl_drawdown_ppm)),
    }}


def state_spec(state: SymState, model: z3.ModelRef) -> dict:
    return {
        "marks": {m: _num(model, p) for m, p in sorted(state.marks.items())},
        "accounts": {a: {"role": acct.role, "quote": _num(model, acct.quote),
                         "positions": {m: _num(model, s) for m, s in sorted(acct.positions.items())},
                         "cost": {m: _num(model, c) for m, c in sorted(acct.cost.items())}}
                     for a, acct in sorted(state.accounts.items())},
        "holders": {h: _num(model, state.holders[h]) for h in HOLDERS},
    }


def counterexample_from_model(theorem_id: str, params: Params | None, obligation, model: z3.ModelRef,
                        failed: list[str] | None = None) -> dict:
    """A JSON-ready counterexample from a z3 model of an obligation (a counterexample or a witness):
    the profile and state in :mod:`liqspec.codec`'s integer JSON, market slots replaced by the
    profile's market IDs, every integer a decimal string."""
    profile, slots = (None, {}) if params is None else build_profile(profile_spec(params, model))

    def arg(key: str, value: object) -> object:
        value = _num(model, value)
        if key == "market_id":  # a market slot's name, or a market ID the obligation fixed
            return slots.get(value, value) if isinstance(value, str) else value
        return _encode(value)

    counterexample: dict = {
        "format": codec.FORMAT_VERSION,
        "theorem": theorem_id,
        "obligation": obligation.label,
        "domain": params.name if params is not None else "none",
        "profile": None if profile is None else codec.profile_to_json(profile),
        # a step guarded by ``__when`` is part of the counterexample only where the model makes it happen
        "steps": [{"operation": s.operation,
                   "args": {k: arg(k, v) for k, v in s.args.items() if k != "__when"}}
                  for s in obligation.steps
                  if "__when" not in s.args or _num(model, s.args["__when"]) is True],
        "check": obligation.check,
        "values": {k: _encode(_num(model, v)) for k, v in obligation.extra_terms.items()},
    }
    if obligation.state is not None and profile is not None:
        state = _state(profile, slots, state_spec(obligation.state, model))
        counterexample["state"] = codec.state_to_json(state, journal=False)
    if obligation.check == "none":  # a parameter-free lemma: keep every constant of the model
        counterexample["values"].update({d.name(): _encode(_num(model, model[d]))
                                   for d in model.decls()})
    if failed:
        counterexample["failed_goals"] = failed
    return counterexample


def _encode(value: object) -> object:
    """An integer as the codec's decimal string; a rational (``"n/d"``) or a truth value as it is."""
    return codec.enc(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _decode(key: str, value: object) -> object:
    if key in _IDS or not isinstance(value, str) or "/" in value:
        return value
    return codec.dec(value, key)


#: arguments that name an account or a market (every other argument is an integer)
_IDS = ("account_id", "market_id", "buyer_id", "seller_id", "counterparty_id", "vault_id")


# -- into the reference -----------------------------------------------------------------------------

#: the drawdown window of a generic domain's profile (LIQ-ADL-5): only a cascade reads it, which
#: no encoding models, so any positive window replays the same; OKX's 8 hours
GENERIC_DRAWDOWN_WINDOW_S = 8 * 3600


def build_profile(spec: Mapping) -> tuple[Profile, dict[str, str]]:
    """The reference profile of a counterexample, and its slot -> market ID map."""
    if "venue" in spec:
        profile = proof_profile(PROFILES[spec["venue"]])
        return profile, slot_market_ids(profile)
    g = spec["generic"]
    drawdown = g.get("adl_drawdown_ppm", 0)
    markets = {}
    for slot, m in g["markets"].items():
        tiers = tuple(Tier(*row) for row in m["tiers"])
        caps = None if m.get("oi_caps") is None else OpenInterestScaling(*m["oi_caps"])
        markets[slot] = Market(slot, 0, 0, tiers, m["liquidation_fee_ppm"],
                               m["min_maint_margin_quote"], caps,
                               liquidator_fee_ppm=m.get("liquidator_fee_ppm", 0))
    profile = Profile(name=g["name"], quote_decimals=0, markets=markets,
                      liquidation_size=g["liquidation_size"], portion_ppm=g["portion_ppm"],
                      portion_threshold_quote=g["portion_threshold_quote"],
                      fee_policy=g["fee_policy"],
                      backstop_ratio=tuple(g["backstop_ratio"]) if g["backstop_ratio"] else None,
                      bad_debt_policy=g["bad_debt_policy"], adl_price=g["adl_price"],
                      adl_ranking=g.get("adl_ranking", "pnl_leverage"),
                      share_target_ppm=g.get("share_target_ppm", PPM),
                      liquidation_buffer_ppm=g.get("liquidation_buffer_ppm", 0),
                      adl_drawdown_ppm=drawdown,
                      adl_drawdown_window_s=GENERIC_DRAWDOWN_WINDOW_S if drawdown else 0)
    # the value of a lot per tick is a free parameter of the generic domain
    object.__setattr__(profile, "markets", {
        slot: replace(market, value_per_lot_tick=g["markets"][slot]["value_per_lot_tick"])
        for slot, market in profile.markets.items()})
    return profile, {slot: slot for slot in MARKET_SLOTS}


def _state(profile: Profile, slots: Mapping[str, str], spec: Mapping) -> State:
    """A reference state holding exactly the spec's marks, balances and positions (slots
    replaced by market IDs), not yet checked against the value domain."""
    state = State(profile, {slots[m]: p for m, p in spec["marks"].items()})
    for account_id, a in spec["accounts"].items():
        positions = {slots[m]: lots for m, lots in a["positions"].items() if lots != 0}
        cost = {slots[m]: c for m, c in a.get("cost", {}).items() if a["positions"][m] != 0}
        state.accounts[account_id] = Account(account_id, a["quote"], positions, cost,
                                             role=a["role"])
    state.holders.update(spec["holders"])
    return state


def build_state(profile: Profile, slots: Mapping[str, str], spec: Mapping) -> State:
    """A reference state holding exactly the counterexample's balances and positions, with a journal
    that accounts for them (one opening transfer per balance, one opening fill per position)."""
    return opened(_state(profile, slots, spec))


def opened(state: State) -> State:
    """The state checked against the value domain (marks), with an opening journal that accounts
    for every balance and position (one transfer per balance, one fill per position against the
    last account), so the journal halves of LIQ-INV-1/2 hold."""
    checked = ref.new_state(state.profile, state.marks)  # marks outside the domain raise here
    checked.accounts, checked.holders = state.accounts, state.holders
    checked.books, checked.seq = state.books, state.seq
    state = checked
    journal: list = []
    for holder, amount in [(a, x.quote) for a, x in sorted(state.accounts.items())] + [
            (h, state.holders[h]) for h in HOLDERS if h != OUTSIDE]:
        if amount > 0:
            journal.append(Transfer(0, OUTSIDE, holder, amount, "LIQ-LEDGER-1"))
        elif amount < 0:
            journal.append(Transfer(0, holder, OUTSIDE, -amount, "LIQ-LEDGER-1"))
    ids = sorted(state.accounts)
    for market_id in sorted(state.marks):
        pivot = ids[-1]
        for account_id in ids[:-1]:
            lots = state.accounts[account_id].position(market_id)
            if lots > 0:
                journal.append(Fill(0, market_id, account_id, pivot, lots, 0, None,
                                    "LIQ-LEDGER-2"))
            elif lots < 0:
                journal.append(Fill(0, market_id, pivot, account_id, -lots, 0, None,
                                    "LIQ-LEDGER-2"))
    state.journal = journal
    return state


@dataclass
class Context:
    """What a replay saw: the states around the last step, its receipt or error, and values."""

    counterexample: dict
    profile: Profile | None
    slots: dict[str, str]
    before: State | None = None
    after: State | None = None
    receipt: ref.Receipt | None = None
    error: LiqspecError | None = None
    values: dict = field(default_factory=dict)

    @property
    def state_before(self) -> State:
        """The state before the last step; every replay of at least one step sets it."""
        if self.before is None:
            raise ValueError("the counterexample has no step to replay")
        return self.before

    @property
    def state_after(self) -> State:
        """The state after the last step; every replay of at least one step sets it."""
        if self.after is None:
            raise ValueError("the counterexample has no step to replay")
        return self.after

    @property
    def ok(self) -> bool:
        return self.receipt is not None or (self.error is None and self.after is not None)


def _market(ctx: Context, args: Mapping) -> str:
    return ctx.slots[args["market_id"]]


def _run_step(ctx: Context, state: State, step: Mapping) -> None:
    op, args = step["operation"], dict(step["args"])
    operations: dict[str, Callable[[], object]] = {
        "deposit": lambda: ref.deposit(state, args["account_id"], args["amount_quote"]),
        "withdraw": lambda: ref.withdraw(state, args["account_id"], args["amount_quote"]),
        "fund_insurance": lambda: ref.fund_insurance(state, args["amount_quote"]),
        "set_mark": lambda: ref.set_mark(state, _market(ctx, args), args["price_ticks"]),
        "trade": lambda: ref.trade(state, args["buyer_id"], args["seller_id"], _market(ctx, args),
                                   args["lots"], args["price_ticks"]),
        "liquidate": lambda: ref.liquidate(state, args["account_id"], _market(ctx, args),
                                           args["counterparty_id"], args["fill_price_ticks"],
                                           args.get("lots")),
        "backstop_liquidate": lambda: ref.backstop_liquidate(state, args["account_id"],
                                                             args["vault_id"]),
        "share_liquidate": lambda: ref.share_liquidate(state, args["account_id"],
                                                       args["vault_id"]),
        "deleverage": lambda: ref.deleverage(state, args["account_id"], _market(ctx, args),
                                             args.get("fund_peak_quote", 0)),
        "socialize_loss": lambda: ref.socialize_loss(state, _market(ctx, args), args["side"],
                                                     args.get("amount_quote")),
        "apply_funding": lambda: ref.apply_funding(state, _market(ctx, args), args["rate_ppm"]),
    }
    if op in operations:
        try:
            ctx.receipt = operations[op]()  # type: ignore[assignment]
        except LiqspecError as error:
            ctx.error = error
        return
    if op == "settle_deficit":
        from liqspec.reference.insurance import settle_deficit
        with atomic(state):
            ctx.values.update(settle_deficit(state, state.account(args["account_id"])))
        return
    if op == "adl_receive_quote":
        account = state.account(args["account_id"])
        market = _market(ctx, args)
        ctx.values["receive"] = deleveraging.adl_receive_quote(
            account, market, abs(account.position(market)), state,
            args.get("fund_peak_quote", 0))
        return
    if op == "liquidation_size_lots":
        ctx.values["size"] = ref.liquidation_size_lots(state.account(args["account_id"]),
                                                       _market(ctx, args), state)
        return
    if op == "adl_allocation_pro_rata":
        pro_rata = State(replace(state.profile, adl_ranking="pro_rata"), state.marks,
                         state.accounts, state.holders, state.journal, state.seq)
        ctx.values["allocation"] = deleveraging.adl_allocation(
            pro_rata, state.account(args["account_id"]), _market(ctx, args))
        return
    if op in ("rounding", "margin"):
        spec = state.market(_market(ctx, args))
        n = ref.notional_quote(args["lots"], args["price_ticks"], spec)
        ctx.values["notional"] = n
        ctx.values["mm"] = ref.maintenance_margin_quote(spec, n, args["lots"])
        ctx.values["tier"] = ref.tier_for(spec, n, args["lots"])
        ctx.values["rate_scale"] = spec.rate_scale
        if op == "rounding":
            value = ref.position_value_quote(args["lots"], args["price_ticks"], spec)
            ctx.values["value"] = value
            ctx.values["owed"] = ref.funding_owed_quote(value, args["rate_ppm"])
            per_fill = state.profile.fee_policy == FeePolicy.PER_FILL  # dYdX floors its cap
            ctx.values["fee"] = (mul_ppm_floor if per_fill else mul_ppm_ceil)(
                n, spec.liquidation_fee_ppm)
            ctx.values["fee_rounds_down"] = per_fill
            ctx.values["rate_ppm"] = args["rate_ppm"]
            ctx.values["fee_ppm"] = spec.liquidation_fee_ppm
        else:
            ctx.values["im"] = ref.initial_margin_quote(spec, n, args["open_interest"],
                                                        args["lots"])
        return
    if op == "liquidation_price":
        account = state.account(args["account_id"])
        ctx.values["ticks"] = ref.liquidation_price(account, _market(ctx, args), state.marks,
                                                    state.profile).ticks
        ctx.values["liquidatable"] = ref.is_liquidatable(account, state)
        return
    raise ValueError(f"unknown counterexample operation {op!r}")


def _cascade(ctx: Context) -> list[str]:
    """Every state invariant after every step of the replayed cascade, and no rejected step."""
    return list(ctx.values.get("violations", []))


def replay(counterexample: Mapping) -> Context:
    """Run a counterexample in the reference; ``CHECKS[counterexample['check']](ctx)`` lists what broke."""
    counterexample = dict(counterexample)
    codec.check_format(counterexample, f"counterexample {counterexample.get('theorem')}")
    if not counterexample.get("profile"):
        ctx = Context(counterexample, None, {})
        ctx.values = {k: _decode(k, v) for k, v in counterexample.get("values", {}).items()}
        return ctx
    profile = codec.profile_from_json(counterexample["profile"])
    ctx = Context(counterexample, profile, {m: m for m in profile.markets})
    state = opened(codec.state_from_json(profile, counterexample["state"]))
    every_step = counterexample.get("check") == "cascade"
    ctx.values["violations"] = []
    for n, step in enumerate(counterexample["steps"]):
        ctx.before = state.copy()
        ctx.receipt, ctx.error = None, None
        _run_step(ctx, state, {"operation": step["operation"],
                               "args": {k: _decode(k, v) for k, v in step["args"].items()}})
        ctx.after = state
        if every_step:  # a multi-step counterexample: check after each step
            if ctx.error is not None:
                ctx.values["violations"].append(f"step {n} ({step['operation']}) rejected: "
                                                f"{ctx.error!r}")
            ctx.values["violations"] += [f"after step {n}: {v}"
                                         for v in invariants.all_violations(state)]
    return ctx


def violations(counterexample: Mapping) -> list[str]:
    """What the counterexample's property finds broken when it is replayed in the reference."""
    ctx = replay(counterexample)
    return CHECKS[counterexample["check"]](ctx)


# -- the properties, checked on the reference's own results ------------------------------------------

def _state_invariants(ctx: Context) -> list[str]:
    before = invariants.all_violations(ctx.state_before)
    if before:
        return [f"(the initial state already breaks: {before})"]
    return invariants.all_violations(ctx.state_after)


def _rejected_unchanged(ctx: Context) -> list[str]:
    if ctx.error is not None and ctx.state_after.snapshot() != ctx.state_before.snapshot():
        return [f"rejected with {ctx.error.code.name} but the state changed"]
    return []


def _check_state(ctx: Context) -> list[str]:
    return _state_invariants(ctx) + _rejected_unchanged(ctx)


def _no_false_liquidation(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    account_id = ctx.counterexample["steps"][-1]["args"]["account_id"]
    if not ref.is_liquidatable(ctx.state_before.account(account_id), ctx.state_before):
        return [f"{account_id} was liquidated at or above maintenance"]
    return []


def _progress(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    return invariants.progress_violations(ctx.state_before, ctx.state_after,
                                          ctx.counterexample["steps"][-1]["args"]["account_id"])


def _fee_cap(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    amounts = ctx.receipt.amounts
    account_id = ctx.counterexample["steps"][-1]["args"]["account_id"]
    equity_before = ref.equity_quote(ctx.state_before.account(account_id), ctx.state_before.marks,
                                     ctx.state_before.profile)
    return invariants.fee_cap_violations(amounts["fee"], amounts["surplus"],
                                         amounts.get("fund_delta"), equity_before)


def _trade_health(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    args = ctx.counterexample["steps"][-1]["args"]
    problems = []
    for account_id in (args["buyer_id"], args["seller_id"]):
        if ctx.state_before.account(account_id).role != ref.TRADER:
            continue
        if (not ref.is_liquidatable(ctx.state_before.account(account_id), ctx.state_before)
                and ref.is_liquidatable(ctx.state_after.account(account_id), ctx.state_after)):
            problems.append(f"the trade made {account_id} liquidatable")
    return problems


def _withdraw_margin(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    after = ctx.state_after
    account = after.account(ctx.counterexample["steps"][-1]["args"]["account_id"])
    if ref.free_collateral_quote(after, account) < 0 or ref.is_liquidatable(account, after):
        return [f"{account.account_id} is below initial margin after withdrawing"]
    return []


def _backstop(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    account_id = ctx.counterexample["steps"][-1]["args"]["account_id"]
    problems = _state_invariants(ctx)
    if not ref.is_below_backstop(ctx.state_before.account(account_id), ctx.state_before):
        problems.append(f"{account_id} taken over at or above the backstop threshold")
    account = ctx.state_after.account(account_id)
    if account.positions or account.quote != 0:
        problems.append(f"{account_id} not flat at zero after the takeover")
    return problems


def _share(ctx: Context) -> list[str]:
    """T-SHARE: only below maintenance; the penalty in [0, max(equity, 0)]; afterwards flat, or
    below the target margin ratio; every position reduced toward zero, never flipped."""
    if ctx.receipt is None:
        return []
    account_id = ctx.counterexample["steps"][-1]["args"]["account_id"]
    before = ctx.state_before.account(account_id)
    after = ctx.state_after.account(account_id)
    profile, state = ctx.state_after.profile, ctx.state_after
    problems = _state_invariants(ctx)
    if not ref.is_liquidatable(before, ctx.state_before):
        problems.append(f"{account_id} liquidated at or above maintenance")
    equity = ref.equity_quote(before, ctx.state_before.marks, profile)
    penalty = ctx.receipt.amounts["fee"]
    if not 0 <= penalty <= max(equity, 0):
        problems.append(f"penalty {penalty} outside [0, max({equity}, 0)]")
    kept = ref.account_maintenance_margin_quote(after, state.marks, profile)
    left = ref.equity_quote(after, state.marks, profile)
    if after.positions and not kept * PPM < profile.share_target_ppm * left:
        problems.append(f"{account_id} keeps positions at a margin ratio {kept}/{left}, not "
                        f"below {profile.share_target_ppm} ppm")
    for market_id, lots in before.positions.items():
        now = after.position(market_id)
        if now * lots < 0 or abs(now) >= abs(lots):
            problems.append(f"{market_id}: {lots} lots became {now}")
    return problems


def _adl_side(ctx: Context) -> list[str]:
    if ctx.receipt is None:
        return []
    args = ctx.counterexample["steps"][-1]["args"]
    market = _market(ctx, args)
    side = ref.arithmetic.sign(ctx.state_before.account(args["account_id"]).position(market))
    problems = []
    if ctx.state_after.account(args["account_id"]).position(market) != 0:
        problems.append("the deleveraged position is not closed")
    for account_id, account in ctx.state_before.accounts.items():
        if account_id == args["account_id"]:
            continue
        before = account.position(market)
        after = ctx.state_after.account(account_id).position(market)
        if after == before:
            continue
        if (account.role != ref.TRADER or ref.arithmetic.sign(before) != -side
                or abs(after) >= abs(before) or (after != 0 and (after > 0) != (before > 0))):
            problems.append(f"{account_id} went from {before} to {after} lots")
    return problems


def _adl_zero(ctx: Context) -> list[str]:
    account = ctx.state_before.account(ctx.counterexample["steps"][-1]["args"]["account_id"])
    if account.quote + ctx.values["receive"] != 0:
        return [f"closing fill leaves {account.account_id} with quote "
                f"{account.quote + ctx.values['receive']}"]
    return []


def _adl_drawdown(ctx: Context) -> list[str]:
    """T-ADL-DRAWDOWN: in drawdown (LIQ-ADL-5) the reference does not refuse FUND_CAN_COVER,
    and, when it deleverages, every trader keeps its equity at the marks except one left flat
    in deficit, settled to zero; the liquidity account is untouched."""
    args = ctx.counterexample["steps"][-1]["args"]
    before = ctx.state_before
    peak = codec.dec(args.get("fund_peak_quote", "0"), "fund_peak_quote")
    if not deleveraging.fund_in_drawdown(before, peak):
        return []  # the theorem says nothing outside a drawdown
    if ctx.error is not None:
        if ctx.error.code == ResultCode.FUND_CAN_COVER:
            return ["refused FUND_CAN_COVER while the fund is in drawdown"]
        return []
    problems = []
    for account_id, account in sorted(before.accounts.items()):
        equity = ref.equity_quote(account, before.marks, before.profile)
        after = ctx.state_after.account(account_id)
        settled = account.role == ref.TRADER and after.is_flat() and equity < 0
        expected = 0 if settled else equity
        got = ref.equity_quote(after, ctx.state_after.marks, ctx.state_after.profile)
        if got != expected:
            problems.append(f"{account_id}: equity {equity} became {got}, not {expected}")
    return problems


def _socialize(ctx: Context) -> list[str]:
    problems = _check_state(ctx)
    if ctx.receipt is not None:
        if ctx.state_after.holders[ref.SOCIALIZED_LOSS] != 0:
            problems.append("socialized-loss holder at "
                            f"{ctx.state_after.holders[ref.SOCIALIZED_LOSS]}")
        residual = ctx.receipt.amounts["residual"]
        if not 0 <= residual < 3:
            problems.append(f"residual {residual}")
    return problems


def _funding(ctx: Context) -> list[str]:
    problems = _check_state(ctx)
    if ctx.receipt is not None:
        residual = ctx.receipt.amounts["residual"]
        if not 0 <= residual < len(ctx.state_before.accounts):
            problems.append(f"residual {residual}")
    return problems


def _settlement(ctx: Context) -> list[str]:
    account_id = ctx.counterexample["steps"][-1]["args"]["account_id"]
    problems = invariants.all_violations(ctx.state_after)
    if ctx.state_after.account(account_id).quote != 0:
        problems.append(f"{account_id} not at zero after settlement")
    return problems


def _size_bounds(ctx: Context) -> list[str]:
    args = ctx.counterexample["steps"][-1]["args"]
    lots = abs(ctx.state_before.account(args["account_id"]).position(_market(ctx, args)))
    size = ctx.values["size"]
    return [] if 1 <= size <= lots else [f"size {size} for a position of {lots} lots"]


def _pro_rata(ctx: Context) -> list[str]:
    args = ctx.counterexample["steps"][-1]["args"]
    market = _market(ctx, args)
    account = ctx.state_before.account(args["account_id"])
    needed = abs(account.position(market))
    side = ref.arithmetic.sign(account.position(market))
    total = sum(abs(a.position(market)) for a in ctx.state_before.accounts.values()
                if a.role == ref.TRADER and a.account_id != account.account_id
                and ref.arithmetic.sign(a.position(market)) == -side)
    allocation = ctx.values["allocation"]
    problems = []
    if sum(lots for _, lots in allocation) != min(needed, total):
        problems.append(f"allocation {allocation} does not cover min({needed}, {total})")
    for account_id, lots in allocation:
        if not 0 < lots <= abs(ctx.state_before.account(account_id).position(market)):
            problems.append(f"{account_id} allocated {lots}")
    return problems


def _rounding(ctx: Context) -> list[str]:
    v = ctx.values
    tier, n = v["tier"], v["notional"]
    problems = []
    if v["mm"] * 10**6 * v["rate_scale"] < n * tier.maint_margin_ppm \
            - tier.maint_deduction_quote * 10**6:
        problems.append(f"maintenance {v['mm']} below the exact requirement")
    exact_fee = Fraction(n * v["fee_ppm"], 10**6)
    if v["fee_rounds_down"]:
        if not exact_fee - 1 < v["fee"] <= exact_fee:
            problems.append(f"fee cap {v['fee']} not the exact {exact_fee} rounded down")
    elif not exact_fee <= v["fee"] < exact_fee + 1:
        problems.append(f"fee {v['fee']} not the exact {exact_fee} rounded up")
    exact_owed = Fraction(v["value"] * v["rate_ppm"], 10**6)
    if not exact_owed <= v["owed"] < exact_owed + 1:
        problems.append(f"funding {v['owed']} not the exact {exact_owed} rounded up")
    return problems


def _margin(ctx: Context) -> list[str]:
    v = ctx.values
    problems = []
    if v["mm"] <= 0:
        problems.append(f"maintenance {v['mm']} for an open position")
    if v["im"] < v["mm"]:
        problems.append(f"initial {v['im']} below maintenance {v['mm']}")
    return problems


def _liq_price(ctx: Context) -> list[str]:
    args = ctx.counterexample["steps"][-1]["args"]
    account = ctx.state_before.account(args["account_id"])
    market = _market(ctx, args)
    mark = ctx.state_before.marks[market]
    ticks = ctx.values["ticks"]
    crossed = mark < ticks if account.position(market) > 0 else mark > ticks
    if crossed != ctx.values["liquidatable"]:
        return [f"mark {mark} vs liquidation price {ticks} ticks disagrees with the trigger "
                f"(liquidatable: {ctx.values['liquidatable']})"]
    return []


def _none(ctx: Context) -> list[str]:
    """The ceiling lemma, rechecked with exact rationals and the reference's own tick rounding
    (LIQ-PRICE-3): the model's ceiling and floor are the reference's, and the lemma holds."""
    from liqspec.reference.prices import round_toward_venue
    v = ctx.values
    if "lemma_y" not in v:
        return []
    y, a = Fraction(str(v["lemma_y"])), v["lemma_a"]
    up, down = round_toward_venue(y, 1), round_toward_venue(y, -1)
    problems = []
    if (up, down) != (v["lemma_ceil"], v["lemma_floor"]):
        problems.append(f"ceil/floor of {y}: model {v['lemma_ceil']}/{v['lemma_floor']}, "
                        f"reference {up}/{down}")
    if (a < up) != (a < y) or (a > down) != (a > y):
        problems.append(f"a = {a}, y = {y}")
    return problems


CHECKS: dict[str, Callable[[Context], list[str]]] = {
    "state_invariants": _check_state, "no_false_liquidation": _no_false_liquidation,
    "progress": _progress, "fee_cap": _fee_cap, "trade_health": _trade_health,
    "withdraw_margin": _withdraw_margin, "backstop": _backstop, "share": _share,
    "adl_side": _adl_side, "adl_zero": _adl_zero, "adl_drawdown": _adl_drawdown,
    "socialize": _socialize, "funding": _funding,
    "settlement": _settlement, "size_bounds": _size_bounds, "pro_rata": _pro_rata,
    "rounding": _rounding, "margin": _margin, "liq_price": _liq_price, "none": _none,
    "cascade": _cascade,
}


def describe(counterexample: Mapping) -> str:
    """A counterexample as a person reads it: the state, the operation, what broke."""
    lines = [f"  domain {counterexample['domain']}, {counterexample['obligation']}"]
    if counterexample.get("failed_goals"):
        lines.append(f"  fails: {'; '.join(counterexample['failed_goals'])}")
    state = counterexample.get("state")
    if state:
        lines.append(f"  marks {state['marks']}")
        for acct in state["accounts"]:
            lines.append(f"  {acct['account_id']} ({acct['role']}): quote {acct['quote']}, "
                         f"positions {acct['positions']}")
        lines.append(f"  holders {state['holders']}")
    for step in counterexample.get("steps", []):
        args = ", ".join(f"{k}={v}" for k, v in step["args"].items())
        lines.append(f"  then {step['operation']}({args})")
    if counterexample.get("values"):
        lines.append(f"  values {counterexample['values']}")
    return "\n".join(lines)


def save(counterexample: Mapping, directory: str | Path) -> Path:
    """Write a counterexample as ``<theorem>-<n>.json`` in ``directory``; returns the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{counterexample['theorem']}-{counterexample['domain']}".replace("/", "_").replace("[", "_") \
        .replace("]", "").replace(",", "_")
    n = 1
    while (directory / f"{stem}-{n}.json").exists():
        n += 1
    path = directory / f"{stem}-{n}.json"
    path.write_text(json.dumps(counterexample, indent=1, sort_keys=True) + "\n")
    return path
