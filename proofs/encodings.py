"""Symbolic encodings of the reference's rules and operations, as z3 integer terms.

The reference decides with Python control flow on ints, so it cannot run on z3 values. Each
function here mirrors one reference function, line for line where it can, with ``z3.If`` for each
branch and the exact integer divisions of :mod:`liqspec.reference.arithmetic` (z3's ``div`` is the
floor for a positive divisor). The theorems (:mod:`.theorems`) are proved about these terms; the
fidelity tests (``tests/test_proofs.py``) evaluate the same terms on hypothesis-generated concrete
states and compare them with the reference, result code, balances, positions and journal included,
so the two cannot drift apart unnoticed.

One formula per rule: every operation is built from the helpers above it (``equity``,
``maintenance_margin``, ``transfer``, ``fill``, ``settle_deficit``...), exactly as the reference's
operations call its rule functions.

Scope, stated once: the encodings leave out the int64 domain checks (LIQ-DOMAIN-1, ``Overflow``),
so they accept a superset of what the reference accepts; a rejected operation changes nothing
(LIQ-INV-9), so a theorem proved over the superset holds for the reference. Accounts are cross
accounts (``isolated_market`` is None), so every requirement is on the notional at the mark under
either maintenance basis (LIQ-TIER-6 puts only isolated accounts on their entry values), and the
journal is modelled by its net effect on each holder (quote) and each account and market (lots).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeAlias

import z3

from liqspec.reference.arithmetic import INT64_MAX, PPM
from liqspec.reference.errors import ResultCode
from liqspec.reference.profile import (SOCIALIZING, AdlPrice, BadDebtPolicy, FeePolicy,
                                       LiquidationSize)
from liqspec.reference.state import (BACKSTOP, FEE_SINK, FUNDING_POOL, HOLDERS, INSURANCE_FUND,
                                     OUTSIDE, SOCIALIZED_LOSS, TRADER)

Term: TypeAlias = z3.ArithRef
Cond: TypeAlias = z3.BoolRef


# -- exact arithmetic (LIQ-ROUND-1, LIQ-ROUND-2) ---------------------------------------------------

def val(x: int | Term) -> Term:
    """A z3 integer term for a Python int or a term."""
    return z3.IntVal(x) if isinstance(x, int) else x


def div_floor(numerator: Term | int, denominator: Term | int) -> Term:
    """``floor(n / d)`` for ``d > 0``: SMT-LIB ``div`` is Euclidean, the floor for a positive
    divisor (LIQ-ROUND-2). Callers guarantee ``d > 0``, as the reference's do."""
    return val(numerator) / val(denominator)


def div_ceil(numerator: Term | int, denominator: Term | int) -> Term:
    """``ceil(n / d)`` for ``d > 0``, written as the reference writes it: ``-((-n) // d)``
    (LIQ-ROUND-1)."""
    return -(-val(numerator) / val(denominator))


def mul_ppm_floor(amount: Term, rate_ppm: Term | int) -> Term:
    return div_floor(amount * rate_ppm, PPM)


def mul_ppm_ceil(amount: Term, rate_ppm: Term | int) -> Term:
    return div_ceil(amount * rate_ppm, PPM)


def zmin(a: Term, b: Term) -> Term:
    """``min(a, b)`` as Python computes it: ``b`` only when ``b < a``."""
    return z3.If(val(b) < val(a), val(b), val(a))


def zmax(a: Term, b: Term) -> Term:
    return z3.If(val(b) > val(a), val(b), val(a))


def zabs(a: Term) -> Term:
    return z3.If(a < 0, -a, a)


def zsign(a: Term) -> Term:
    return z3.If(a > 0, 1, z3.If(a < 0, -1, 0))


#: an operation's checks in its LIQ-RESULT-2 order: each condition under which it fails, and the code
Checks = list[tuple[Cond, int]]


def first_failing(checks: Sequence[tuple[Cond, int]], otherwise: Term | int = ResultCode.OK) -> Term:
    """The result code of the first check that fails, in order (LIQ-RESULT-2)."""
    code = val(int(otherwise)) if isinstance(otherwise, int) else otherwise
    for failed, result in reversed(checks):
        code = z3.If(failed, int(result), code)
    return code


#: a check that fails whatever the state's numbers: the accounts' identities or roles refuse the
#: call (the same account twice, a role the operation does not take); a check function ends its
#: list there, as the reference raises there
REFUSED = z3.BoolVal(True)


def refused_outright(checks: Checks) -> bool:
    """Whether the accounts alone refuse the call (a check is :data:`REFUSED`): its effect is
    then not built, and its code is :func:`first_failing` of the checks."""
    return any(failed is REFUSED for failed, _ in checks)


# -- parameters: a venue profile, concrete or symbolic -----------------------------------------

@dataclass(frozen=True)
class TierParams:
    floor_notional_quote: Term
    maint_margin_ppm: Term
    maint_deduction_quote: Term
    init_margin_ppm: Term
    init_deduction_quote: Term
    floor_lots: Term = 0  # LIQ-TIER-8: read where the market keys its tiers by size


@dataclass(frozen=True)
class MarketParams:
    market_id: str
    value_per_lot_tick: Term
    tiers: tuple[TierParams, ...]
    liquidation_fee_ppm: Term
    min_maint_margin_quote: Term
    oi_caps: tuple[Term, Term] | None = None  # (lower, upper) of LIQ-TIER-4, or None
    rate_scale: int = 1  # LIQ-TIER-7: rates in 1 / (10^6 x this), deductions / this (concrete)
    liquidator_fee_ppm: Term | int = 0  # LIQ-FEE-3 (read only under liquidator_and_fund)
    by_size: bool = False  # LIQ-TIER-8: the tiers are keyed by |lots| (concrete)
    #: LIQ-INVERSE-1: an inverse market, held as the linear market in the coin; read only by
    #: funding, whose venue rate enters negated (LIQ-INVERSE-2) (concrete)
    inverse: bool = False


@dataclass(frozen=True)
class Params:
    """What the encodings read from a profile. Policies are concrete (each is a finite choice and
    a theorem is proved for each); amounts and rates are terms, concrete or symbolic."""

    name: str
    markets: Mapping[str, MarketParams]
    liquidation_size: str
    portion_ppm: Term
    portion_threshold_quote: Term
    fee_policy: str
    backstop_ratio: tuple[int, int] | None
    bad_debt_policy: str
    adl_price: str
    #: constraints on the symbolic parameters (empty for a concrete profile)
    assumptions: tuple[Cond, ...] = ()
    #: account_share (LIQ-SHARE-1): the margin ratio a share must bring the account below
    share_target_ppm: int = PPM
    #: cover_shortage (LIQ-SHORTAGE-1): the buffer on the notional, in ppm
    liquidation_buffer_ppm: Term | int = 0
    #: LIQ-TRIGGER-3: the quantum of equity the trigger discounts (1 under at_or_below; concrete)
    trigger_slack: int = 0
    #: LIQ-ADL-5: the fund's fall from its peak, in ppm of the peak, at which deleveraging no
    #: longer waits for the fund and fills at the mark; the constant 0 where the profile has no
    #: such rule, else a term in 1..10^6 (the window is read only by a cascade, not encoded)
    adl_drawdown_ppm: Term | int = 0

    @property
    def has_drawdown(self) -> bool:
        """Whether the domain has LIQ-ADL-5's rule: a drawdown share other than the constant 0
        (a concrete choice of the domain, like its policies; theorems depend on it)."""
        ppm = z3.simplify(val(self.adl_drawdown_ppm))
        return not (z3.is_int_value(ppm) and ppm.as_long() == 0)


# -- the symbolic state ----------------------------------------------------------------------------

@dataclass
class SymAccount:
    account_id: str
    role: str
    quote: Term
    positions: dict[str, Term]  # every market of the profile; 0 is flat
    #: cost basis per market (LIQ-MARGIN-4): moves no money, ranks auto-deleveraging
    cost: dict[str, Term] = field(default_factory=dict)


@dataclass
class SymState:
    """A venue with a fixed set of accounts, every balance, position and mark a term.

    ``journal_quote`` and ``journal_lots`` are the net effect of the journal entries the
    operation under encoding has written: per holder or account (quote), per account and market
    (lots). Both start at zero for each operation."""

    params: Params
    marks: dict[str, Term]
    accounts: dict[str, SymAccount]
    holders: dict[str, Term]
    journal_quote: dict[str, Term] = field(default_factory=dict)
    journal_lots: dict[tuple[str, str], Term] = field(default_factory=dict)

    def copy(self) -> SymState:
        return SymState(
            self.params, dict(self.marks),
            {a: replace(acct, positions=dict(acct.positions), cost=dict(acct.cost))
             for a, acct in self.accounts.items()},
            dict(self.holders), dict(self.journal_quote), dict(self.journal_lots))

    def balance(self, holder: str) -> Term:
        return self.holders[holder] if holder in HOLDERS else self.accounts[holder].quote

    def market(self, market_id: str) -> MarketParams:
        return self.params.markets[market_id]

    def trader_ids(self) -> list[str]:
        return [a for a, acct in sorted(self.accounts.items()) if acct.role == TRADER]


def symbolic_state(params: Params, prefix: str, roles: Mapping[str, str],
                   cost: bool = True) -> SymState:
    """Fresh z3 constants for every balance, position, cost basis (unless ``cost`` is False:
    a model that needs none) and mark; accounts named by ``roles``."""
    markets = sorted(params.markets)
    accounts = {
        a: SymAccount(a, role, z3.Int(f"{prefix}q_{a}"),
                      {m: z3.Int(f"{prefix}s_{a}_{m}") for m in markets},
                      {m: z3.Int(f"{prefix}c_{a}_{m}") for m in markets} if cost else {})
        for a, role in sorted(roles.items())
    }
    holders = {h: z3.Int(f"{prefix}h_{h}") for h in HOLDERS}
    marks = {m: z3.Int(f"{prefix}P_{m}") for m in markets}
    return SymState(params, marks, accounts, holders)


def merge(cond: Cond, then: SymState, otherwise: SymState) -> SymState:
    """The state ``then`` where ``cond`` holds, else ``otherwise`` (same accounts and markets)."""
    out = otherwise.copy()
    for m in out.marks:
        out.marks[m] = z3.If(cond, then.marks[m], otherwise.marks[m])
    for h in out.holders:
        out.holders[h] = z3.If(cond, then.holders[h], otherwise.holders[h])
    for a, acct in out.accounts.items():
        acct.quote = z3.If(cond, then.accounts[a].quote, otherwise.accounts[a].quote)
        for m in acct.cost:
            acct.cost[m] = z3.If(cond, then.accounts[a].cost[m], otherwise.accounts[a].cost[m])
        for m in acct.positions:
            acct.positions[m] = z3.If(cond, then.accounts[a].positions[m],
                                      otherwise.accounts[a].positions[m])
    for key in sorted(set(then.journal_quote) | set(otherwise.journal_quote)):
        out.journal_quote[key] = z3.If(cond, then.journal_quote.get(key, val(0)),
                                       otherwise.journal_quote.get(key, val(0)))
    for key in sorted(set(then.journal_lots) | set(otherwise.journal_lots)):
        out.journal_lots[key] = z3.If(cond, then.journal_lots.get(key, val(0)),
                                      otherwise.journal_lots.get(key, val(0)))
    return out


@dataclass
class Outcome:
    """An encoded operation: its result code, the state after it (equal to the state before
    when the code is not OK: LIQ-INV-9), and its named amounts."""

    code: Term
    post: SymState
    amounts: dict[str, Term] = field(default_factory=dict)
    #: the state as the operation's steps left it, before the all-or-nothing merge: equal to
    #: ``post`` wherever the code is OK, and structurally the terms the checks were built on
    raw: SymState | None = None

    @property
    def ok(self) -> Cond:
        return self.code == int(ResultCode.OK)


def finish(pre: SymState, code: Term, post: SymState, **amounts: Term) -> Outcome:
    """All or nothing (LIQ-RESULT-1): the post-state only where the code is OK."""
    ok = code == int(ResultCode.OK)
    return Outcome(code, merge(ok, post, pre), {k: val(v) for k, v in amounts.items()}, post)


# -- the ledger (LIQ-LEDGER-1, LIQ-LEDGER-2) -----------------------------------------------------

def _add_quote(state: SymState, holder: str, delta: Term) -> None:
    if holder in HOLDERS:
        state.holders[holder] = state.holders[holder] + delta
    else:
        state.accounts[holder].quote = state.accounts[holder].quote + delta
    state.journal_quote[holder] = state.journal_quote.get(holder, val(0)) + delta


def transfer(state: SymState, source: str, destination: str, amount: Term,
             when: Cond | bool = True) -> None:
    """``transfer`` where ``when`` holds (the reference's callers guard every transfer with a
    positive amount; a guarded-out transfer moves nothing and writes no entry)."""
    moved = val(amount) if when is True else z3.If(when, val(amount), 0)
    _add_quote(state, source, -moved)
    _add_quote(state, destination, moved)


def fill(state: SymState, market_id: str, buyer: str, seller: str, lots: Term, quote_amount: Term,
         when: Cond | bool = True) -> None:
    """``fill``: ``lots`` from seller to buyer against ``quote_amount`` (either sign)."""
    moved_lots = val(lots) if when is True else z3.If(when, val(lots), 0)
    cash = val(quote_amount) if when is True else z3.If(when, val(quote_amount), 0)
    for account_id, delta in ((buyer, moved_lots), (seller, -moved_lots)):
        acct = state.accounts[account_id]
        if acct.cost:
            # the entry cost of the traded lots, signed like them: what the account paid
            traded_cost = cash if account_id == buyer else -cash
            new_cost = cost_after(acct.positions[market_id], delta, acct.cost[market_id],
                                  traded_cost)
            acct.cost[market_id] = (new_cost if when is True
                                    else z3.If(when, new_cost, acct.cost[market_id]))
        acct.positions[market_id] = acct.positions[market_id] + delta
        key = (account_id, market_id)
        state.journal_lots[key] = state.journal_lots.get(key, val(0)) + delta
    # the cash leg: buyer pays seller (a negative amount runs the other way)
    _add_quote(state, buyer, -cash)
    _add_quote(state, seller, cash)


def cost_after(old: Term, delta: Term, old_cost: Term, traded_cost: Term) -> Term:
    """LIQ-MARGIN-4: the cost basis after a position moves from ``old`` by ``delta`` lots:
    zero when flat; added to when opening or adding; the remaining lots' share (floored) when
    reducing; the traded cost pro rata to the lots beyond zero (floored) when flipping."""
    new = old + delta
    return z3.If(new == 0, 0,
                 z3.If(z3.Or(old == 0, zsign(old) == zsign(delta)), old_cost + traded_cost,
                       z3.If(zsign(new) == zsign(old),
                             div_floor(old_cost * zabs(new), zabs(old)),
                             div_floor(traded_cost * zabs(new), zabs(delta)))))


def sweep_residual(state: SymState, holder: str) -> Term:
    """LIQ-ROUND-3: a positive residual left with ``holder`` goes to the fee sink."""
    residual = state.holders[holder]
    transfer(state, holder, FEE_SINK, residual, residual > 0)
    return zmax(residual, val(0))


# -- margin (LIQ-MARGIN-*, LIQ-TIER-*) -------------------------------------------------------------

def position_value(lots: Term, price: Term, market: MarketParams) -> Term:
    """LIQ-MARGIN-1: signed value ``lots * price * value_per_lot_tick``."""
    return lots * price * market.value_per_lot_tick


def notional(lots: Term, price: Term, market: MarketParams) -> Term:
    return zabs(position_value(lots, price, market))


def equity(state: SymState, account_id: str) -> Term:
    """LIQ-MARGIN-2: quote plus the value of every position at the marks."""
    acct = state.accounts[account_id]
    total = acct.quote
    for m, lots in sorted(acct.positions.items()):
        total = total + position_value(lots, state.marks[m], state.market(m))
    return total


def tier_field(market: MarketParams, notional_quote: Term, name: str, size: Term) -> Term:
    """LIQ-TIER-1: a field of the last tier whose floor is at most the notional; in a market
    keyed by size, whose floor in lots is at most the position's ``size`` (|lots|, LIQ-TIER-8)."""
    chosen = getattr(market.tiers[0], name)
    for tier in market.tiers[1:]:
        reached = (tier.floor_lots <= size if market.by_size
                   else tier.floor_notional_quote <= notional_quote)
        chosen = z3.If(reached, getattr(tier, name), chosen)
    return chosen


def tiered_requirement(notional_quote: Term, rate_ppm: Term, deduction_quote: Term,
                       rate_scale: int = 1) -> Term:
    """LIQ-TIER-2, LIQ-TIER-3, LIQ-TIER-7: a tier's requirement, ``ceil(N * rate) - deduction``
    (``ceil((N * rate - deduction * 10^6) / (10^6 * rate_scale))`` in a scaled market)."""
    if rate_scale == 1:
        return mul_ppm_ceil(notional_quote, rate_ppm) - deduction_quote
    return div_ceil(notional_quote * rate_ppm - deduction_quote * PPM, PPM * rate_scale)


def maintenance_margin(market: MarketParams, notional_quote: Term, size: Term) -> Term:
    """LIQ-TIER-2: ``max(ceil(N * mmr) - deduction, minimum)``, zero for a flat position; the
    tier of the notional, or of ``size`` = |lots| in a market keyed by size (LIQ-TIER-8)."""
    return maintenance_at(market, notional_quote,
                          tier_field(market, notional_quote, "maint_margin_ppm", size),
                          tier_field(market, notional_quote, "maint_deduction_quote", size))


def maintenance_at(market: MarketParams, notional_quote: Term, rate_ppm: Term,
                   deduction_quote: Term) -> Term:
    """LIQ-TIER-2 at a given tier's rate and deduction (the position's own, or LIQ-EXEC-3's
    first tier's): ``max(ceil(N * rate) - deduction, minimum)``, zero for a flat position."""
    tiered = tiered_requirement(notional_quote, rate_ppm, deduction_quote, market.rate_scale)
    return z3.If(notional_quote == 0, 0, zmax(tiered, market.min_maint_margin_quote))


def oi_scaled_rate(market: MarketParams, rate_ppm: Term, open_interest: Term) -> Term:
    """LIQ-TIER-4: the initial fraction rises linearly to 100% between the caps, floored."""
    assert market.oi_caps is not None
    lower, upper = market.oi_caps
    whole = PPM * market.rate_scale  # 100% (LIQ-TIER-7)
    rise = div_floor((whole - rate_ppm) * (open_interest - lower), upper - lower)
    return z3.If(open_interest <= lower, rate_ppm,
                 z3.If(open_interest >= upper, whole, rate_ppm + rise))


def initial_margin(market: MarketParams, notional_quote: Term, open_interest: Term,
                   size: Term) -> Term:
    """LIQ-TIER-3: ``ceil(N * imr) - deduction``, never below maintenance; zero when flat."""
    rate = tier_field(market, notional_quote, "init_margin_ppm", size)
    if market.oi_caps is not None:
        rate = oi_scaled_rate(market, rate, open_interest)
    tiered = tiered_requirement(notional_quote, rate,
                                tier_field(market, notional_quote, "init_deduction_quote", size),
                                market.rate_scale)
    return z3.If(notional_quote == 0, 0,
                 zmax(tiered, maintenance_margin(market, notional_quote, size)))


def account_maintenance(state: SymState, account_id: str) -> Term:
    """LIQ-TIER-5: the sum of the positions' maintenance requirements."""
    total = val(0)
    for m, lots in sorted(state.accounts[account_id].positions.items()):
        market = state.market(m)
        total = total + maintenance_margin(market, notional(lots, state.marks[m], market),
                                           zabs(lots))
    return total


def open_interest(state: SymState, market_id: str) -> Term:
    """The long side's lots at the mark, over every account (LIQ-TIER-4)."""
    longs = val(0)
    for acct in state.accounts.values():
        longs = longs + zmax(acct.positions[market_id], val(0))
    return position_value(longs, state.marks[market_id], state.market(market_id))


def account_initial(state: SymState, account_id: str) -> Term:
    total = val(0)
    for m, lots in sorted(state.accounts[account_id].positions.items()):
        market = state.market(m)
        total = total + initial_margin(market, notional(lots, state.marks[m], market),
                                       open_interest(state, m), zabs(lots))
    return total


def checked_initial(state: SymState, account_id: str, initial: Term) -> Term:
    """LIQ-TRIGGER-3: the equity the margin checks ask for, the initial requirement and, under
    the at_or_below trigger, at least one quantum above a positive maintenance requirement."""
    if not state.params.trigger_slack:
        return initial
    maintenance = account_maintenance(state, account_id)
    return z3.If(z3.And(maintenance > 0, maintenance + 1 > initial), maintenance + 1, initial)


def free_collateral(state: SymState, account_id: str) -> Term:
    """LIQ-MARGIN-5: equity less the initial requirement (LIQ-TRIGGER-3's checked_initial)."""
    return equity(state, account_id) - checked_initial(state, account_id,
                                                       account_initial(state, account_id))


def is_flat(state: SymState, account_id: str) -> Cond:
    return z3.And([lots == 0 for lots in state.accounts[account_id].positions.values()])


# -- trigger (LIQ-TRIGGER-*) -----------------------------------------------------------------------

def is_liquidatable(state: SymState, account_id: str) -> Cond:
    """LIQ-TRIGGER-1/3: maintenance positive and equity strictly below it, or at or below it
    under the at_or_below trigger (equity - slack < maintenance)."""
    maintenance = account_maintenance(state, account_id)
    return z3.And(maintenance > 0,
                  equity(state, account_id) - state.params.trigger_slack < maintenance)


def is_below_backstop(state: SymState, account_id: str) -> Cond:
    """LIQ-TRIGGER-2: equity * den < num * maintenance, never without a ratio."""
    if state.params.backstop_ratio is None:
        return z3.BoolVal(False)
    num, den = state.params.backstop_ratio
    maintenance = account_maintenance(state, account_id)
    return z3.And(maintenance > 0, equity(state, account_id) * den < num * maintenance)


# -- argument domains (LIQ-DOMAIN-3) ---------------------------------------------------------------

def out_of_range(value: Term, low: int, high: int) -> Cond:
    return z3.Or(value < low, value > high)


# -- deposits, withdrawals, insurance top-ups, marks ----------------------------------------------

def check_deposit(amount: Term) -> Checks:
    """The checks of :func:`deposit` (reference: ``collateral.check_deposit``)."""
    return [(out_of_range(amount, 1, INT64_MAX), ResultCode.INVALID_AMOUNT)]


def deposit(state: SymState, account_id: str, amount: Term) -> Outcome:
    """LIQ-DEPOSIT-1."""
    post = state.copy()
    transfer(post, OUTSIDE, account_id, amount)
    return finish(state, first_failing(check_deposit(amount)), post)


def withdrawals_gated(state: SymState) -> Cond:
    """LIQ-WITHDRAW-2: some trader has negative equity."""
    return z3.Or([equity(state, a) < 0 for a in state.trader_ids()] or [z3.BoolVal(False)])


def check_withdraw(state: SymState, account_id: str, amount: Term) -> Checks:
    """The checks of :func:`withdraw` (reference: ``collateral.check_withdraw``)."""
    return [
        (out_of_range(amount, 1, INT64_MAX), ResultCode.INVALID_AMOUNT),
        (withdrawals_gated(state), ResultCode.WITHDRAWALS_GATED),
        (amount > free_collateral(state, account_id), ResultCode.INSUFFICIENT_FREE_COLLATERAL),
    ]


def withdraw(state: SymState, account_id: str, amount: Term) -> Outcome:
    """LIQ-WITHDRAW-1."""
    post = state.copy()
    transfer(post, account_id, OUTSIDE, amount)
    return finish(state, first_failing(check_withdraw(state, account_id, amount)), post)


def fund_insurance(state: SymState, amount: Term) -> Outcome:
    """LIQ-INSURANCE-2 (its check is the deposit's: the amount)."""
    post = state.copy()
    transfer(post, OUTSIDE, INSURANCE_FUND, amount)
    return finish(state, first_failing(check_deposit(amount)), post)


def check_set_mark(price: Term) -> Checks:
    """The check of :func:`set_mark` (reference: ``marks.check_set_mark``)."""
    return [(out_of_range(price, 1, INT64_MAX), ResultCode.INVALID_PRICE)]


def set_mark(state: SymState, market_id: str, price: Term) -> Outcome:
    """LIQ-MARK-1: only the mark moves."""
    post = state.copy()
    post.marks[market_id] = val(price)
    return finish(state, first_failing(check_set_mark(price)), post)


# -- trades (LIQ-TRADE-1, LIQ-TRADE-2) -------------------------------------------------------------

@dataclass(frozen=True)
class MarginBefore:
    equity: Term
    maintenance: Term
    position: Term


def margin_before(state: SymState, account_id: str, market_id: str) -> MarginBefore:
    return MarginBefore(equity(state, account_id), account_maintenance(state, account_id),
                        state.accounts[account_id].positions[market_id])


def margin_check_code(state: SymState, account_id: str, market_id: str,
                      before: MarginBefore) -> Term:
    """LIQ-TRADE-2 on the post-trade state: initial margin, or the reduce-only exemption."""
    eq = equity(state, account_id)
    initial = account_initial(state, account_id)
    after = state.accounts[account_id].positions[market_id]
    reduces = z3.And(before.position != 0, zabs(after) < zabs(before.position),
                     z3.Or(after == 0, (after > 0) == (before.position > 0)))
    maintenance = account_maintenance(state, account_id)
    worsens = z3.Or(eq < 0, eq - maintenance < before.equity - before.maintenance)
    return first_failing([
        # meets initial margin (LIQ-TRIGGER-3's checked_initial): nothing more to check
        (eq >= checked_initial(state, account_id, initial), ResultCode.OK),
        (z3.Not(reduces), ResultCode.INSUFFICIENT_INITIAL_MARGIN),
        (worsens, ResultCode.REDUCE_ONLY_WORSENS_HEALTH),
    ])


def _is_failure(code: Term) -> Cond:
    return code != int(ResultCode.OK)


def check_trade(buyer: str, seller: str, lots: Term, price: Term) -> Checks:
    """The checks of :func:`trade` before the fill (reference: ``trading.check_trade``; the
    accounts and the market exist by construction here)."""
    checks: Checks = [
        (out_of_range(lots, 1, INT64_MAX), ResultCode.INVALID_SIZE),
        (out_of_range(price, 1, INT64_MAX), ResultCode.INVALID_PRICE),
    ]
    if buyer == seller:
        checks.append((REFUSED, ResultCode.SAME_ACCOUNT))
    return checks


def trade(state: SymState, buyer: str, seller: str, market_id: str, lots: Term,
          price: Term) -> Outcome:
    """LIQ-TRADE-1: a fill at ``price``, then LIQ-TRADE-2 for each trader, buyer first."""
    market = state.market(market_id)
    checks = check_trade(buyer, seller, lots, price)
    if refused_outright(checks):
        return finish(state, first_failing(checks), state.copy())
    amount = position_value(lots, price, market)
    befores = {a: margin_before(state, a, market_id) for a in (buyer, seller)}
    post = state.copy()
    fill(post, market_id, buyer, seller, lots, amount)
    code = first_failing(checks)
    for account_id in (buyer, seller):
        if post.accounts[account_id].role == TRADER:
            checked = margin_check_code(post, account_id, market_id, befores[account_id])
            code = z3.If(code == int(ResultCode.OK), checked, code)
    return finish(state, code, post, notional=amount)


# -- liquidation (LIQ-EXEC-*, LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-BACKSTOP-1) --------------------------

def margin_shortage(state: SymState, account_id: str) -> Term:
    """LIQ-SHORTAGE-1: ``max(MM + ceil(buffer * sum |notional|) - E, 0)``."""
    acct = state.accounts[account_id]
    total = val(0)
    for m, lots in sorted(acct.positions.items()):
        total = total + notional(lots, state.marks[m], state.market(m))
    requirement = account_maintenance(state, account_id) + mul_ppm_ceil(
        total, state.params.liquidation_buffer_ppm)
    return zmax(requirement - equity(state, account_id), val(0))


def shortage_rates(state: SymState, account_id: str, market_id: str,
                   shortage: Term) -> tuple[int, Term, Term, Term]:
    """LIQ-FEE-4: ``(whole, margin_rate, liquidator_rate, fund_rate)`` of a step in
    ``market_id`` (a position held), at the mark (the entry basis is outside the encodings)."""
    params, market = state.params, state.market(market_id)
    scale = market.rate_scale
    whole = PPM * scale
    held = state.accounts[account_id].positions[market_id]
    value = notional(held, state.marks[market_id], market)
    margin_rate = (tier_field(market, value, "maint_margin_ppm", zabs(held))
                   + val(params.liquidation_buffer_ppm) * scale)
    liquidator_rate = val(market.liquidator_fee_ppm) * scale
    implied = div_floor(zmax(margin_rate - liquidator_rate - div_floor(shortage * whole, value),
                             val(0)) * 19, 20)
    return whole, margin_rate, liquidator_rate, zmin(market.liquidation_fee_ppm * scale, implied)


def cover_shortage_lots(state: SymState, account_id: str, market_id: str) -> Term:
    """LIQ-SHORTAGE-1 for a position worth more than the threshold: the fewest lots freeing the
    shortage, at least 1 and at most the position; all of it when the freed rate is not
    positive."""
    market = state.market(market_id)
    lots = zabs(state.accounts[account_id].positions[market_id])
    shortage = margin_shortage(state, account_id)
    whole, margin_rate, liquidator_rate, fund_rate = shortage_rates(state, account_id, market_id,
                                                                    shortage)
    freed = margin_rate - liquidator_rate - fund_rate
    needed = div_ceil(shortage * whole, state.marks[market_id] * market.value_per_lot_tick * freed)
    return z3.If(freed <= 0, lots, zmin(lots, zmax(needed, val(1))))


def liquidation_size(state: SymState, account_id: str, market_id: str) -> Term:
    """LIQ-EXEC-1: the lots one step may close, by the profile's sizing policy."""
    params, market = state.params, state.market(market_id)
    if params.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
        raise ValueError("account_share has no step of one market (POLICY_FORBIDS, LIQ-SHARE-2)")
    mark = state.marks[market_id]
    lots = zabs(state.accounts[account_id].positions[market_id])
    notional_quote = position_value(lots, mark, market)
    if params.liquidation_size == LiquidationSize.FULL:
        return lots
    if params.liquidation_size == LiquidationSize.COVER_SHORTAGE:
        return z3.If(z3.Or(lots == 0, notional_quote <= params.portion_threshold_quote), lots,
                     cover_shortage_lots(state, account_id, market_id))
    if params.liquidation_size == LiquidationSize.PORTION:
        portion = zmax(val(1), div_ceil(lots * params.portion_ppm, PPM))
        return z3.If(notional_quote <= params.portion_threshold_quote, lots, portion)
    if params.liquidation_size == LiquidationSize.TWO_TIER_STEP:
        return two_tier_step(state, account_id, market_id, lots, notional_quote)
    if market.by_size:  # LIQ-TIER-8: keep the most lots below the size's tier floor
        floor_lots = tier_field(market, notional_quote, "floor_lots", lots)
        return z3.If(floor_lots == 0, lots, lots - (floor_lots - 1))
    floor = tier_field(market, notional_quote, "floor_notional_quote", lots)
    keep = div_ceil(floor, mark * market.value_per_lot_tick) - 1
    return z3.If(floor == 0, lots, lots - keep)


def two_tier_step(state: SymState, account_id: str, market_id: str, lots: Term,
                  notional_quote: Term) -> Term:
    """LIQ-EXEC-3: a position in tier t >= 3 keeps the most lots below the floor of tier t - 1,
    unless the account is past its trigger with the position at the first tier's rate; the
    whole position otherwise (``lots`` its size, ``notional_quote`` its notional at the mark)."""
    market, tiers = state.market(market_id), state.market(market_id).tiers
    if len(tiers) < 3:
        return lots
    name = "floor_lots" if market.by_size else "floor_notional_quote"

    def reached(tier: TierParams) -> Cond:
        return getattr(tier, name) <= (lots if market.by_size else notional_quote)

    below = getattr(tiers[1], name)  # the floor of the tier before the position's (as tier_field)
    for before, tier in zip(tiers[2:], tiers[3:]):
        below = z3.If(reached(tier), getattr(before, name), below)
    keep = (below - 1 if market.by_size
            else div_ceil(below, state.marks[market_id] * market.value_per_lot_tick) - 1)
    first = maintenance_at(market, notional_quote, tiers[0].maint_margin_ppm,
                           tiers[0].maint_deduction_quote)
    maintenance = (account_maintenance(state, account_id)
                   - maintenance_margin(market, notional_quote, lots) + first)
    past = z3.And(maintenance > 0,
                  equity(state, account_id) - state.params.trigger_slack < maintenance)
    in_third_or_above = z3.Or([reached(tier) for tier in tiers[2:]])
    return z3.If(z3.Or(z3.Not(in_third_or_above), past), lots, lots - keep)


def fixed_part(state: SymState, account_id: str, market_id: str) -> Term:
    """``C`` of LIQ-PRICE-1: quote plus the other positions' values."""
    acct = state.accounts[account_id]
    constant = acct.quote
    for m, lots in sorted(acct.positions.items()):
        if m != market_id:
            constant = constant + position_value(lots, state.marks[m], state.market(m))
    return constant


def liquidation_fee(params: Params, market: MarketParams, side: int | Term, lots: Term,
                    fill_price: Term, constant: Term, position: Term, surplus: Term,
                    wanted: Term | None = None) -> Term:
    """LIQ-FEE-1: ``min(wanted, max(surplus, 0))``.

    ``all_surplus`` wants ``ceil(side * lots * m * (F - P_b))`` with the exact bankruptcy price
    ``P_b = max(-C / (s * m), 0)`` of the position ``s`` before the fill. Where ``P_b > 0`` (that
    is ``C * s < 0``), ``side * lots * m * P_b = -lots * C / |s|``, so the ceiling is
    ``side * lots * m * F + ceil(lots * C / |s|)``; otherwise the gain is an integer.
    """
    m = market.value_per_lot_tick
    if wanted is not None:  # decided elsewhere (a bounded model check's abstraction)
        return zmin(wanted, zmax(surplus, val(0)))
    if params.fee_policy == FeePolicy.ALL_SURPLUS:
        at_fill = side * lots * m * fill_price
        gain_ceil = z3.If(constant * position < 0,
                          at_fill + div_ceil(lots * constant, zabs(position)), at_fill)
        wanted = zmax(gain_ceil, val(0))
    else:
        wanted = mul_ppm_ceil(notional(lots, fill_price, market), market.liquidation_fee_ppm)
    return zmin(wanted, zmax(surplus, val(0)))


def insurance_fund_delta(state: SymState, account_id: str, market_id: str, lots: Term,
                         fill_price: Term) -> Term:
    """LIQ-FEE-2 (``per_fill``), before the fill: the fill's quote less the closed lots'
    bankruptcy value (LIQ-ADL-4); when positive, at most floor(|fill quote| * rate)."""
    market = state.market(market_id)
    fill_quote = zsign(state.accounts[account_id].positions[market_id]) * notional(
        lots, fill_price, market)
    delta = fill_quote - bankruptcy_value(state, account_id, market_id, lots)
    return z3.If(delta <= 0, delta,
                 zmin(mul_ppm_floor(zabs(fill_quote), market.liquidation_fee_ppm), delta))


def settle_deficit(state: SymState, account_id: str, when: Cond) -> tuple[Term, Term]:
    """LIQ-INSURANCE-1, LIQ-SOCIAL-1, where ``when`` (a flat account in deficit): the fund pays
    ``min(deficit, fund)``, the rest is written off to the socialized-loss holder."""
    deficit = -state.accounts[account_id].quote
    paid = zmin(deficit, state.holders[INSURANCE_FUND])
    transfer(state, INSURANCE_FUND, account_id, paid, z3.And(when, paid > 0))
    written_off = deficit - paid
    transfer(state, SOCIALIZED_LOSS, account_id, written_off, z3.And(when, written_off > 0))
    return z3.If(when, paid, 0), z3.If(when, written_off, 0)


def needs_settlement(state: SymState, account_id: str) -> Cond:
    return z3.And(is_flat(state, account_id), state.accounts[account_id].quote < 0)


def check_liquidate(state: SymState, account_id: str, market_id: str, counterparty: str,
                    fill_price: Term, lots: Term | None = None,
                    decided: Mapping[str, Term] | None = None) -> tuple[Checks, Term]:
    """The checks of :func:`liquidate` in the order of LIQ-RESULT-2 (reference:
    ``liquidation.check_liquidate``) and the step's size in lots (``lots``, or the policy's
    size); ``decided`` as for :func:`liquidate`."""
    decided = decided or {}
    checks: Checks = []
    if lots is not None:
        checks.append((out_of_range(lots, 1, INT64_MAX), ResultCode.INVALID_SIZE))
    checks.append((out_of_range(fill_price, 1, INT64_MAX), ResultCode.INVALID_PRICE))
    if account_id == counterparty:
        return checks + [(REFUSED, ResultCode.SAME_ACCOUNT)], val(0)
    if state.accounts[account_id].role != TRADER:
        return checks + [(REFUSED, ResultCode.ACCOUNT_NOT_TRADER)], val(0)
    if state.params.liquidation_size == LiquidationSize.ACCOUNT_SHARE:  # LIQ-EXEC-1 refuses
        return checks + [
            (z3.Not(is_liquidatable(state, account_id)), ResultCode.NOT_LIQUIDATABLE),
            (state.accounts[account_id].positions[market_id] == 0, ResultCode.NO_POSITION),
            (REFUSED, ResultCode.POLICY_FORBIDS)], val(0)
    allowed = decided.get("allowed", None)
    if allowed is None:
        allowed = liquidation_size(state, account_id, market_id)
    liquidatable = decided.get("liquidatable", None)
    if liquidatable is None:
        liquidatable = is_liquidatable(state, account_id)
    size = allowed if lots is None else lots
    return checks + [
        (z3.Not(liquidatable), ResultCode.NOT_LIQUIDATABLE),
        (state.accounts[account_id].positions[market_id] == 0, ResultCode.NO_POSITION),
        (size > allowed, ResultCode.SIZE_EXCEEDS_POLICY),
    ], size


def liquidate(state: SymState, account_id: str, market_id: str, counterparty: str,
              fill_price: Term, lots: Term | None = None,
              decided: Mapping[str, Term] | None = None) -> Outcome:
    """LIQ-EXEC-2: one liquidation step, checks in the order of LIQ-RESULT-2.

    ``decided`` may replace the margin decisions and the fill's cash by free terms
    (``liquidatable``, ``allowed``, ``wanted``, ``surplus``, ``cash``): the cascade model check
    abstracts them, keeping the ledger's structure exact."""
    decided = decided or {}
    market = state.market(market_id)
    acct = state.accounts[account_id]
    checks, size = check_liquidate(state, account_id, market_id, counterparty, fill_price, lots,
                                   decided)
    if refused_outright(checks):
        return finish(state, first_failing(checks), state.copy())
    position = acct.positions[market_id]
    constant = fixed_part(state, account_id, market_id)
    per_fill = state.params.fee_policy == FeePolicy.PER_FILL
    fund_delta = decided.get("fund_delta", None)
    if per_fill and fund_delta is None:
        fund_delta = insurance_fund_delta(state, account_id, market_id, size, fill_price)
    two_fees = state.params.fee_policy == FeePolicy.LIQUIDATOR_AND_FUND
    if two_fees:  # LIQ-FEE-4: the rates of the shortage before the step (or decided elsewhere)
        whole, _, _, fund_rate = shortage_rates(state, account_id, market_id,
                                                margin_shortage(state, account_id))
        fund_rate = decided.get("fund_rate", fund_rate)
    amount = decided.get("cash", None)
    if amount is None:
        amount = position_value(size, fill_price, market)
    long = position > 0
    post = state.copy()
    before = margin_before(state, counterparty, market_id)
    # the liquidated account sells a long and buys back a short
    fill(post, market_id, counterparty, account_id, size, amount, long)
    fill(post, market_id, account_id, counterparty, size, amount, z3.Not(long))
    reward = val(0)
    if two_fees:  # LIQ-FEE-3: to the counterparty, before its margin check
        reward = mul_ppm_floor(amount, market.liquidator_fee_ppm)
        transfer(post, account_id, counterparty, reward, reward > 0)
    code = first_failing(checks)
    if post.accounts[counterparty].role == TRADER:
        code = z3.If(code == int(ResultCode.OK),
                     margin_check_code(post, counterparty, market_id, before), code)
    surplus = decided.get("surplus", None)
    if surplus is None:
        surplus = equity(post, account_id)
    side = z3.If(long, 1, -1)
    extra = {}
    if per_fill:  # LIQ-FEE-2: the delta as the fee, or paid by the fund at once (LIQ-INV-3)
        fee = zmax(fund_delta, val(0))
        transfer(post, account_id, INSURANCE_FUND, fee, fee > 0)
        covered = z3.If(fund_delta < 0, zmin(-fund_delta, post.holders[INSURANCE_FUND]), 0)
        transfer(post, INSURANCE_FUND, account_id, covered, covered > 0)
        extra = {"fund_delta": fund_delta, "fund_covered": covered}
    elif two_fees:  # LIQ-FEE-4: floor(q * fund rate), at most the surplus
        fee = zmin(div_floor(amount * fund_rate, whole), zmax(surplus, val(0)))
        transfer(post, account_id, INSURANCE_FUND, fee, fee > 0)
        extra = {"liquidator_fee": reward}
    else:
        fee = liquidation_fee(state.params, market, side, size, fill_price, constant, position,
                              surplus, decided.get("wanted", None))
        transfer(post, account_id, INSURANCE_FUND, fee, fee > 0)
    paid, written_off = settle_deficit(post, account_id, needs_settlement(post, account_id))
    return finish(state, code, post, lots=size, fee=fee, surplus=surplus, **extra, fund_paid=paid,
                  written_off=written_off)


def check_vault_takeover(state: SymState, account_id: str, vault_id: str) -> Checks:
    """The checks a vault's takeover starts with (reference: ``liquidation.check_vault_takeover``):
    the same account, the trader, the vault's role; empty when all pass (they are decided by the
    roles, so each refuses outright)."""
    if account_id == vault_id:
        return [(REFUSED, ResultCode.SAME_ACCOUNT)]
    if state.accounts[account_id].role != TRADER:
        return [(REFUSED, ResultCode.ACCOUNT_NOT_TRADER)]
    if state.accounts[vault_id].role != BACKSTOP:
        return [(REFUSED, ResultCode.POLICY_FORBIDS)]
    return []


def check_backstop_liquidate(state: SymState, account_id: str, vault_id: str) -> Checks:
    """The checks of :func:`backstop_liquidate`, in its order (reference:
    ``liquidation.check_backstop_liquidate``)."""
    refused = check_vault_takeover(state, account_id, vault_id)
    if refused:
        return refused
    if state.params.backstop_ratio is None:
        return [(REFUSED, ResultCode.POLICY_FORBIDS)]
    return [(z3.Not(is_below_backstop(state, account_id)), ResultCode.NOT_LIQUIDATABLE)]


def backstop_liquidate(state: SymState, account_id: str, vault_id: str) -> Outcome:
    """LIQ-BACKSTOP-1: below the backstop threshold the vault takes every position at the mark
    and the remaining quote (or pays the deficit)."""
    acct = state.accounts[account_id]
    checks = check_backstop_liquidate(state, account_id, vault_id)
    code = first_failing(checks)
    if refused_outright(checks):
        return finish(state, code, state.copy())
    post = state.copy()
    for m in sorted(acct.positions):
        lots = acct.positions[m]
        amount = position_value(zabs(lots), state.marks[m], state.market(m))
        fill(post, m, vault_id, account_id, zabs(lots), amount, lots > 0)
        fill(post, m, account_id, vault_id, zabs(lots), amount, lots < 0)
    remaining = post.accounts[account_id].quote
    transfer(post, account_id, vault_id, remaining, remaining > 0)
    transfer(post, vault_id, account_id, -remaining, remaining < 0)
    return finish(state, code, post, taken_quote=remaining)


# -- liquidation by account share (LIQ-SHARE-1, LIQ-SHARE-2) --------------------------------------

def share_steps(params: Params) -> tuple[int, ...]:
    """The shares LIQ-SHARE-1 tries, in order; the step must be concrete (a domain with an
    account_share policy fixes it): the number of shares is not a term."""
    step = z3.simplify(val(params.portion_ppm))
    if not z3.is_int_value(step):
        raise ValueError("an account_share domain needs a concrete portion_ppm")
    return tuple(range(step.as_long(), PPM, step.as_long())) + (PPM,)


def fee_weighted_maintenance(state: SymState, account_id: str) -> Term:
    """``sum_k(MM_k * fee_k)`` before the liquidation: the same for every share tried."""
    total = val(0)
    for m, lots in sorted(state.accounts[account_id].positions.items()):
        market = state.market(m)
        total = total + maintenance_margin(market, notional(lots, state.marks[m], market),
                                           zabs(lots)) * market.liquidation_fee_ppm
    return total


def share_penalty(fee_weighted: Term, share_ppm: int, equity_quote: Term) -> Term:
    """LIQ-SHARE-1: ``min(ceil(share * sum_k(fee_k * MM_k)), max(equity, 0))``."""
    return zmin(div_ceil(fee_weighted * share_ppm, PPM * PPM), zmax(equity_quote, val(0)))


@dataclass(frozen=True)
class ShareCandidate:
    """One share LIQ-SHARE-1 tries: its test (the lots kept need less than the target share of
    equity less the penalty; true for 100%), its penalty, and the state after the vault took
    ``ceil(|s| * share)`` lots of every position at the marks (the lots kept are read there)."""

    share_ppm: int
    test: Cond
    penalty: Term
    taken: SymState


def share_candidates(state: SymState, account_id: str, vault_id: str) -> list[ShareCandidate]:
    """LIQ-SHARE-1's shares in the order tried; the first whose test holds is the share."""
    acct = state.accounts[account_id]
    target = state.params.share_target_ppm
    fee_weighted, eq = fee_weighted_maintenance(state, account_id), equity(state, account_id)
    candidates = []
    for step in share_steps(state.params):
        taken = state.copy()
        for m in sorted(acct.positions):
            lots = acct.positions[m]
            closed = div_ceil(zabs(lots) * step, PPM)
            amount = position_value(closed, state.marks[m], state.market(m))
            fill(taken, m, vault_id, account_id, closed, amount, lots > 0)
            fill(taken, m, account_id, vault_id, closed, amount, lots < 0)
        penalty = share_penalty(fee_weighted, step, eq)
        kept = account_maintenance(taken, account_id)
        # the equity after the takeover is the equity before (fills at the mark), read on the
        # taken state so the test and the operation's outcome share their terms
        test = z3.BoolVal(True) if step == PPM else \
            kept * PPM < target * (equity(taken, account_id) - penalty)
        candidates.append(ShareCandidate(step, test, penalty, taken))
    return candidates


def check_share_liquidate(state: SymState, account_id: str, vault_id: str) -> Checks:
    """The checks of :func:`share_liquidate`, in its order (reference:
    ``share_liquidation.check_share_liquidate``)."""
    refused = check_vault_takeover(state, account_id, vault_id)
    if refused:
        return refused
    if state.params.liquidation_size != LiquidationSize.ACCOUNT_SHARE:
        return [(REFUSED, ResultCode.POLICY_FORBIDS)]
    return [(z3.Not(is_liquidatable(state, account_id)), ResultCode.NOT_LIQUIDATABLE)]


def share_liquidate(state: SymState, account_id: str, vault_id: str,
                    chosen: int | None = None) -> Outcome:
    """LIQ-SHARE-2: the vault takes the share of every position at the mark (the first of
    :func:`share_candidates` whose test holds), the account pays the penalty to the fund, a flat
    account in deficit is settled. ``chosen`` (a proof device) takes the ``chosen``-th candidate
    as the share: the outcome wherever the rule chooses it, with no choice left in its terms."""
    checks = check_share_liquidate(state, account_id, vault_id)
    code = first_failing(checks)
    if refused_outright(checks):
        return finish(state, code, state.copy())
    candidates = share_candidates(state, account_id, vault_id)
    if chosen is not None:
        candidates = [replace(candidates[chosen], test=z3.BoolVal(True))]
    *tried, last = candidates
    share, penalty, post = val(last.share_ppm), last.penalty, last.taken.copy()
    for c in reversed(tried):  # the first that passes wins: nest from the last
        share, penalty = z3.If(c.test, c.share_ppm, share), z3.If(c.test, c.penalty, penalty)
        post = merge(c.test, c.taken, post)
    transfer(post, account_id, INSURANCE_FUND, penalty, penalty > 0)
    paid, written_off = settle_deficit(post, account_id, needs_settlement(post, account_id))
    return finish(state, code, post, share_ppm=share, fee=penalty, fund_paid=paid,
                  written_off=written_off)


# -- auto-deleveraging (LIQ-ADL-*) -----------------------------------------------------------------

def adl_candidate(state: SymState, account_id: str, candidate: str, market_id: str) -> Cond:
    """LIQ-ADL-2: a trader other than the bankrupt one, on the opposite side."""
    if candidate == account_id or state.accounts[candidate].role != TRADER:
        return z3.BoolVal(False)
    side = zsign(state.accounts[account_id].positions[market_id])
    return zsign(state.accounts[candidate].positions[market_id]) == -side


def greedy_allocation(state: SymState, account_id: str, market_id: str,
                      order: Sequence[str]) -> list[tuple[str, Term]]:
    """LIQ-ADL-2 for the ranked policies: walking ``order`` (the ranking's output over every
    other account), each candidate takes min(lots still needed, its lots)."""
    needed = zabs(state.accounts[account_id].positions[market_id])
    allocation = []
    for candidate in order:
        held = zabs(state.accounts[candidate].positions[market_id])
        take = z3.If(adl_candidate(state, account_id, candidate, market_id), zmin(needed, held), 0)
        allocation.append((candidate, take))
        needed = needed - take
    return allocation


def pro_rata_allocation(state: SymState, account_id: str,
                        market_id: str) -> list[tuple[str, Term]]:
    """LIQ-ADL-2 ``pro_rata``: floor(needed x share), leftover lots one each by largest
    remainder, ties to the smaller account ID; everyone takes everything when the candidates
    hold no more than is needed."""
    needed = zabs(state.accounts[account_id].positions[market_id])
    ids = sorted(a for a in state.accounts if a != account_id)
    held = {c: z3.If(adl_candidate(state, account_id, c, market_id),
                     zabs(state.accounts[c].positions[market_id]), 0) for c in ids}
    total = val(0)
    for c in ids:
        total = total + held[c]
    share = {c: div_floor(needed * held[c], total) for c in ids}
    remainder = {c: needed * held[c] - share[c] * total for c in ids}
    leftover = needed - sum((share[c] for c in ids), val(0))
    # rank of each candidate among the candidates by (-remainder, id): it gets one more lot when
    # its rank is below the leftover
    takes = []
    for c in ids:
        ahead = val(0)
        for d in ids:
            if d == c:
                continue
            before_c = z3.Or(remainder[d] > remainder[c],
                             z3.And(remainder[d] == remainder[c], d < c))
            ahead = ahead + z3.If(z3.And(adl_candidate(state, account_id, d, market_id),
                                         before_c), 1, 0)
        extra = z3.If(ahead < leftover, 1, 0)
        take = z3.If(total <= needed, held[c], share[c] + extra)
        takes.append((c, z3.If(adl_candidate(state, account_id, c, market_id), take, 0)))
    return takes


#: the fund's peak an operation is handed when it is given none (LIQ-ADL-5): no history, so the
#: fund is never in drawdown
NO_PEAK: Term = val(0)


def fund_in_drawdown(state: SymState, fund_peak_quote: Term) -> Cond:
    """LIQ-ADL-5 (``deleveraging.fund_in_drawdown``): the insurance fund has fallen from its
    peak by at least the drawdown share, ``ppm > 0 and peak > fund and (peak - fund) * 10^6 >=
    ppm * peak``, compared exactly. Never where the domain has no such rule (the constant
    False, so those domains' terms are the ones they had before the rule)."""
    if not state.params.has_drawdown:
        return z3.BoolVal(False)
    ppm, fund = val(state.params.adl_drawdown_ppm), state.holders[INSURANCE_FUND]
    return z3.And(ppm > 0, fund_peak_quote > fund,
                  (fund_peak_quote - fund) * PPM >= ppm * fund_peak_quote)


def adl_at_mark(state: SymState, fund_peak_quote: Term) -> Cond:
    """LIQ-ADL-4, LIQ-ADL-5 (``deleveraging.adl_at_mark``): deleveraging fills at the mark where
    the profile's ``adl_price`` says so or the fund is in drawdown."""
    if state.params.adl_price == AdlPrice.MARK:
        return z3.BoolVal(True)
    return fund_in_drawdown(state, fund_peak_quote)


def adl_receive(state: SymState, account_id: str, market_id: str, lots: Term,
                fund_peak_quote: Term = NO_PEAK) -> Term:
    """LIQ-ADL-4: quote the bankrupt account receives for closing ``lots``: the closed lots'
    mark value where :func:`adl_at_mark` (the profile's price, or the fund in drawdown from
    ``fund_peak_quote``, LIQ-ADL-5), else their bankruptcy value."""
    at_mark = adl_at_mark(state, fund_peak_quote)
    market, mark = state.market(market_id), state.marks[market_id]
    before = state.accounts[account_id].positions[market_id]
    after = before - zsign(before) * lots
    mark_value = position_value(before, mark, market) - position_value(after, mark, market)
    if z3.is_true(at_mark):
        return mark_value
    if z3.is_false(at_mark):  # a domain without the rule: the bankruptcy value, as before it
        return bankruptcy_value(state, account_id, market_id, lots)
    return z3.If(at_mark, mark_value, bankruptcy_value(state, account_id, market_id, lots))


def bankruptcy_value(state: SymState, account_id: str, market_id: str, lots: Term) -> Term:
    """LIQ-ADL-4 (prices.bankruptcy_value_quote): quote received for closing ``lots`` at the
    bankruptcy price, -DNNV - floor(TNC * |DMMR| / TMMR)."""
    market, mark = state.market(market_id), state.marks[market_id]
    before = state.accounts[account_id].positions[market_id]
    after = before - zsign(before) * lots
    value_change = position_value(after, mark, market) - position_value(before, mark, market)
    eq, released, total = equity_share_terms(state, account_id, market_id, lots)
    return -value_change - div_floor(eq * released, total)


def equity_share_terms(state: SymState, account_id: str, market_id: str,
                       lots: Term) -> tuple[Term, Term, Term]:
    """(E, DMMR, TMMR) of LIQ-ADL-4: the closed lots' share of equity is floor(E * DMMR / TMMR)."""
    market, mark = state.market(market_id), state.marks[market_id]
    before = state.accounts[account_id].positions[market_id]
    after = before - zsign(before) * lots
    released = (maintenance_margin(market, notional(before, mark, market), zabs(before))
                - maintenance_margin(market, notional(after, mark, market), zabs(after)))
    return equity(state, account_id), released, account_maintenance(state, account_id)


def check_deleverage(state: SymState, account_id: str, market_id: str,
                     allocation: Sequence[tuple[str, Term]],
                     fund_peak_quote: Term = NO_PEAK) -> Checks:
    """The symbolic checks of :func:`deleverage`, after its fund peak, role and policy
    (reference: ``deleveraging.check_deleverage``; without a book, so bankruptcy and not the
    trigger): the fund's refusal stands only outside a drawdown (LIQ-ADL-5)."""
    position = state.accounts[account_id].positions[market_id]
    eq = equity(state, account_id)
    allocated = sum((take for _, take in allocation), val(0))
    fund_can_cover = eq >= -state.holders[INSURANCE_FUND]
    in_drawdown = fund_in_drawdown(state, fund_peak_quote)
    if not z3.is_false(in_drawdown):  # a domain without the rule keeps the check it had
        fund_can_cover = z3.And(z3.Not(in_drawdown), fund_can_cover)
    return [
        (position == 0, ResultCode.NO_POSITION),
        (eq >= 0, ResultCode.NOT_BANKRUPT),
        (fund_can_cover, ResultCode.FUND_CAN_COVER),
        (allocated < zabs(position), ResultCode.INSUFFICIENT_ADL_LIQUIDITY),
    ]


def deleverage(state: SymState, account_id: str, market_id: str,
               allocation: Sequence[tuple[str, Term]] | None = None,
               order: Sequence[str] | None = None,
               fund_peak_quote: Term = NO_PEAK) -> Outcome:
    """LIQ-ADL-1, LIQ-ADL-3, LIQ-ADL-5 without a book: a bankrupt account beyond the fund, or
    any bankrupt account while the fund is in drawdown from ``fund_peak_quote``, is closed
    against the allocation (at the mark in drawdown), then every flat account left in deficit
    is settled. A peak outside 0..2^63-1 is INVALID_AMOUNT (LIQ-DOMAIN-3), checked before the
    role (as the reference checks it right after looking the account and the market up)."""
    acct = state.accounts[account_id]
    peak_checks: Checks = [(out_of_range(fund_peak_quote, 0, INT64_MAX),
                            ResultCode.INVALID_AMOUNT)]
    if acct.role != TRADER:
        return finish(state, first_failing(peak_checks + [(REFUSED,
                                                           ResultCode.ACCOUNT_NOT_TRADER)]),
                      state.copy())
    if state.params.bad_debt_policy != BadDebtPolicy.ADL:
        return finish(state, first_failing(peak_checks + [(REFUSED, ResultCode.POLICY_FORBIDS)]),
                      state.copy())
    if allocation is None:
        allocation = greedy_allocation(state, account_id, market_id,
                                       order or sorted(a for a in state.accounts if a != account_id))
    position = acct.positions[market_id]
    code = first_failing(peak_checks + check_deleverage(state, account_id, market_id, allocation,
                                                        fund_peak_quote))
    post = state.copy()
    for counterparty, take in allocation:
        # the fills move no quote to or from the fund, so the drawdown each reads is the one the
        # checks read (as the reference's adl_at_mark before its fills)
        receives = adl_receive(post, account_id, market_id, take, fund_peak_quote)
        fill(post, market_id, counterparty, account_id, take, receives,
             z3.And(take > 0, position > 0))
        fill(post, market_id, account_id, counterparty, take, -receives,
             z3.And(take > 0, position < 0))
    paid, written_off = settle_deficit(post, account_id, needs_settlement(post, account_id))
    for counterparty, take in allocation:
        p, w = settle_deficit(post, counterparty,
                              z3.And(take > 0, needs_settlement(post, counterparty)))
        paid, written_off = paid + p, written_off + w
    return finish(state, code, post, lots=zabs(position), fund_paid=paid, written_off=written_off)


# -- socialized loss (LIQ-SOCIAL-2) and funding (LIQ-FUNDING-*) ------------------------------------

def check_socialize_loss(recorded: Term, amount: Term | None, total_lots: Term) -> Checks:
    """The symbolic checks of :func:`socialize_loss`, after its side, amount and policy
    (reference: ``socialization.check_socialize_loss``): a recorded loss, no less than the
    amount, then someone to charge it to."""
    return [
        (recorded <= 0, ResultCode.NOTHING_TO_SOCIALIZE),
        *([(amount > recorded, ResultCode.NOTHING_TO_SOCIALIZE)] if amount is not None else []),
        (total_lots == 0, ResultCode.NO_SOCIALIZATION_BASE),
    ]


def socialize_loss(state: SymState, market_id: str, side: int,
                   amount: Term | None = None) -> Outcome:
    """LIQ-SOCIAL-2: charge the recorded bad debt, or ``amount`` of it, to one side (0: both), pro
    rata, each charge rounded up; the surplus over the amount goes to the fee sink."""
    if side not in (1, -1, 0):
        return finish(state, val(int(ResultCode.INVALID_SIZE)), state.copy())
    if amount is not None:  # the amount's check comes before the policy's
        malformed = amount <= 0
    else:
        malformed = z3.BoolVal(False)
    if state.params.bad_debt_policy not in SOCIALIZING:
        code = z3.If(malformed, int(ResultCode.INVALID_SIZE), int(ResultCode.POLICY_FORBIDS))
        return finish(state, code, state.copy())
    recorded = -state.holders[SOCIALIZED_LOSS]
    loss = recorded if amount is None else amount
    payers = state.trader_ids()
    pays = {a: (state.accounts[a].positions[market_id] != 0 if side == 0
                else zsign(state.accounts[a].positions[market_id]) == side) for a in payers}
    lots = {a: zabs(state.accounts[a].positions[market_id]) for a in payers}
    total = sum((z3.If(pays[a], lots[a], 0) for a in payers), val(0))
    code = first_failing([(malformed, ResultCode.INVALID_SIZE),
                          *check_socialize_loss(recorded, amount, total)])
    post = state.copy()
    charged = val(0)
    for a in payers:
        charge = div_ceil(loss * lots[a], total)
        transfer(post, a, SOCIALIZED_LOSS, charge, pays[a])
        charged = charged + z3.If(pays[a], charge, 0)
    transfer(post, SOCIALIZED_LOSS, FEE_SINK, charged - loss, charged > loss)
    return finish(state, code, post, loss=loss, charged=charged, residual=charged - loss)


def funding_owed(value_quote: Term, rate_ppm: Term) -> Term:
    """LIQ-FUNDING-1: owing rounds up, being owed rounds down."""
    numerator = value_quote * rate_ppm
    return z3.If(numerator >= 0, div_ceil(numerator, PPM), -div_floor(-numerator, PPM))


def check_apply_funding(rate_ppm: Term) -> Checks:
    """The check of :func:`apply_funding` (reference: ``funding.check_apply_funding``)."""
    return [(out_of_range(rate_ppm, -PPM, PPM), ResultCode.INVALID_RATE)]


def apply_funding(state: SymState, market_id: str, rate_ppm: Term) -> Outcome:
    """LIQ-FUNDING-1/2: collect what is owed into the pool, pay out what is due, sweep; an
    inverse market's venue rate enters negated (LIQ-INVERSE-2)."""
    market, mark = state.market(market_id), state.marks[market_id]
    code = first_failing(check_apply_funding(rate_ppm))
    model_rate = -rate_ppm if market.inverse else rate_ppm  # LIQ-INVERSE-2
    owed = {a: funding_owed(position_value(acct.positions[market_id], mark, market), model_rate)
            for a, acct in sorted(state.accounts.items())}
    post = state.copy()
    for a, amount in owed.items():
        transfer(post, a, FUNDING_POOL, amount, amount > 0)
    for a, amount in owed.items():
        transfer(post, FUNDING_POOL, a, -amount, amount < 0)
    residual = sweep_residual(post, FUNDING_POOL)
    return finish(state, code, post, residual=residual)


# -- the state invariants, as predicates over a symbolic state (LIQ-INV-*) ------------------------

def total_quote(state: SymState) -> Term:
    total = val(0)
    for acct in state.accounts.values():
        total = total + acct.quote
    for h in HOLDERS:
        total = total + state.holders[h]
    return total


def conservation(state: SymState) -> Cond:
    """LIQ-INV-1 (the sum half)."""
    return total_quote(state) == 0


def zero_sum(state: SymState) -> Cond:
    """LIQ-INV-2 (the sum half)."""
    return z3.And([sum((a.positions[m] for a in state.accounts.values()), val(0)) == 0
                   for m in sorted(state.params.markets)])


def fund_solvent(state: SymState) -> Cond:
    """LIQ-INV-3."""
    return state.holders[INSURANCE_FUND] >= 0


def resolved(state: SymState) -> Cond:
    """LIQ-INV-4: no flat trader carries a negative quote balance."""
    return z3.And([z3.Not(needs_settlement(state, a)) for a in state.trader_ids()]
                  or [z3.BoolVal(True)])


def residuals_on_venue_side(state: SymState) -> Cond:
    """LIQ-INV-8."""
    return z3.And(state.holders[FUNDING_POOL] == 0, state.holders[SOCIALIZED_LOSS] <= 0,
                  state.holders[FEE_SINK] >= 0)


def state_invariants(state: SymState) -> Cond:
    """Every state invariant at once, with positive marks (LIQ-DOMAIN-2)."""
    return z3.And(conservation(state), zero_sum(state), fund_solvent(state), resolved(state),
                  residuals_on_venue_side(state), flat_positions_cost_nothing(state),
                  *[p > 0 for p in state.marks.values()])


def journal_matches(pre: SymState, post: SymState) -> Cond:
    """LIQ-INV-1/2 (the journal halves): every balance and position moved by exactly the net of
    the journal entries the operation wrote."""
    facts = []
    for h in HOLDERS:
        facts.append(post.holders[h] - pre.holders[h] == post.journal_quote.get(h, val(0)))
    for a, acct in pre.accounts.items():
        facts.append(post.accounts[a].quote - acct.quote == post.journal_quote.get(a, val(0)))
        for m in acct.positions:
            facts.append(post.accounts[a].positions[m] - acct.positions[m]
                         == post.journal_lots.get((a, m), val(0)))
    return z3.And(facts)


def total_lots(state: SymState, account_id: str) -> Term:
    return sum((zabs(lots) for lots in state.accounts[account_id].positions.values()), val(0))


def all_terms(state: SymState) -> Iterable[Term]:
    """Every term of a state, in a fixed order (for substitution and model extraction)."""
    yield from (state.marks[m] for m in sorted(state.marks))
    yield from (state.holders[h] for h in HOLDERS)
    for a in sorted(state.accounts):
        yield state.accounts[a].quote
        yield from (state.accounts[a].positions[m] for m in sorted(state.accounts[a].positions))
        yield from (state.accounts[a].cost[m] for m in sorted(state.accounts[a].cost))


def flat_positions_cost_nothing(state: SymState) -> Cond:
    """LIQ-MARGIN-4: a flat position carries no cost basis (the reference stores neither)."""
    return z3.And([z3.Implies(acct.positions[m] == 0, acct.cost[m] == 0)
                   for acct in state.accounts.values() for m in acct.cost] or [True])


# -- the liquidation price of a one-tier position (LIQ-PRICE-2, LIQ-PRICE-3) -----------------------

def liquidation_price_ticks_one_tier(state: SymState, account_id: str, market_id: str) -> Term:
    """The tick form of LIQ-PRICE-2 for an account whose only position is in the first tier of a
    market without a minimum requirement: the root of ``q + s*P*m = |s|*P*m*r`` rounded toward
    the venue (up for a long, down for a short), or 0 when no positive root exists.

    Long: ``x = -q * W / (s * m * (W - r))``; short: ``x = q * W / (|s| * m * (W + r))``, where
    ``W = 10^6 x rate_scale`` is 100% in the market's rate unit (LIQ-TIER-7).
    """
    market = state.market(market_id)
    acct = state.accounts[account_id]
    # the trigger's equity (LIQ-TRIGGER-3): one quantum less where equality liquidates
    lots, q = acct.positions[market_id], acct.quote - state.params.trigger_slack
    rate = market.tiers[0].maint_margin_ppm
    m = market.value_per_lot_tick
    whole = PPM * market.rate_scale
    long_ticks = z3.If(q < 0, div_ceil(-q * whole, lots * m * (whole - rate)), 0)
    short_ticks = z3.If(q > 0, div_floor(q * whole, -lots * m * (whole + rate)), 0)
    return z3.If(lots > 0, long_ticks, short_ticks)
