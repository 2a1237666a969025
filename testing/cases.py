"""Generated venues and accounts for differential testing of liqspec.fast against the reference.

Used by the hypothesis tests (``tests/test_fast_differential.py``), by ``liqspec difftest``, by
the vector generator and by the conformance kit's campaign; it reads only the reference and the
codec, so the kit and the compiled engine both build on it without importing each other. A case
is plain JSON-able data (:func:`case_to_json`, in ``liqspec.codec``'s integer JSON), so every
divergence prints as a replayable case. Three
kinds of generated case:

* :func:`random_case`: a venue and accounts for the per-account queries;
* :func:`random_operations`: a whole venue state (policies, roles, isolated accounts, cost bases,
  holders, books) and a sequence of state-changing operations (:data:`OPERATION_NAMES`);
* :func:`random_cascade`: a small book of traders, a price path, book shapes, a mark rule and a
  vault for :func:`~liqspec.reference.cascade.run_cascade`.

Values are drawn by magnitude bucket (small, realistic, near 2^63, exactly the int64 limits) so
that both ordinary results and every overflow boundary are exercised; tier floors are multiples
of 10^6 so the continuity deductions are exact, and some accounts are placed exactly on a tier
floor or a half-way rounding point.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from typing import Any

import liqspec.codec as codec
from liqspec.reference import (Account, LiqspecError, Market, OpenInterestScaling, Profile, State,
                               Tier, account_maintenance_margin_quote, equity_quote, new_state)
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN, PPM
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.profile import MAX_ORDER_TICK, MAX_VENUE_PRICE_DECIMALS, MarketKind
from liqspec.reference.state import BACKSTOP, HOLDERS, INSURANCE_FUND, LIQUIDITY, TRADER, Book

EDGES = (INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX)


def _magnitude(rng: random.Random, signed: bool = True) -> int:
    """An integer from a random magnitude bucket, int64 limits included."""
    roll = rng.random()
    if roll < 0.08:
        value = rng.choice(EDGES)
    else:
        digits = rng.choice((0, 1, 3, 6, 9, 12, 15, 18, 18))
        value = rng.randint(0, 10**digits) if digits < 19 else rng.randint(0, INT64_MAX)
        if rng.random() < 0.05:
            value = rng.randint(INT64_MAX // 2, INT64_MAX)
        if signed and rng.random() < 0.5:
            value = -value
    if not signed:
        value = abs(value) if value != INT64_MIN else INT64_MAX
    return max(INT64_MIN, min(INT64_MAX, value))


def random_tiers(rng: random.Random, rate_scale: int = 1) -> tuple[Tier, ...]:
    """1 to 5 tiers with rates in 1 / (10^6 x rate_scale) (LIQ-TIER-7) and the deductions that
    keep them continuous (floors are whole multiples of 10^6 quantums, so each is exact)."""
    whole = PPM * rate_scale  # 100%
    count = rng.randint(1, 5)
    scale = 10 ** rng.choice((0, 3, 6, 9, 12))
    floors = [0]
    for _ in range(count - 1):
        floors.append(floors[-1] + rng.randint(1, 10**6) * scale * PPM // PPM * PPM)
    if floors[-1] > INT64_MAX // 2:
        floors = [0]
    mmr = sorted(rng.randint(1, whole - 1) if rng.random() < 0.3
                 else rng.randint(1, 200_000 * rate_scale) for _ in floors)
    if rng.random() < 0.3:
        mmr = [mmr[0]] * len(floors)  # equal rates: coincident lines at every floor
    imr = [rng.randint(r, whole) for r in mmr]
    tiers, mded, ided = [], 0, 0
    for i, floor in enumerate(floors):
        if i:
            mded += floor * (mmr[i] - mmr[i - 1]) // PPM
            ided += floor * (imr[i] - imr[i - 1]) // PPM
        tiers.append(Tier(floor, mmr[i], mded, imr[i], ided))
    if any(max(abs(t.maint_deduction_quote), abs(t.init_deduction_quote)) > INT64_MAX // 2
           for t in tiers):  # deductions in a large scale leave int64: one tier
        return (Tier(0, mmr[0], 0, imr[0], 0),)
    return tuple(tiers)


def side_stream(rng: random.Random) -> random.Random:
    """A generator seeded from ``rng``'s state without drawing from it: what a later rule adds to
    a case is drawn here, so the cases every seed drew before it are drawn unchanged (tests pin
    some of them)."""
    return random.Random(repr(rng.getstate()[1]))  # a str seed is hashed by SHA-512: stable


def size_keyed(rng: random.Random, market: Market) -> Market:
    """``market`` with its tiers keyed by size (LIQ-TIER-8): its rates kept, its deductions
    dropped, floors in lots from 1 lot to 10^5 lots apart (so generated positions fall on
    either side of them, and on them)."""
    floors = [0]
    for _ in market.tiers[1:]:
        floors.append(floors[-1] + rng.randint(1, 10 ** rng.randint(0, 5)))
    tiers = tuple(Tier(0, t.maint_margin_ppm, 0, t.init_margin_ppm, 0, floor_lots=floor)
                  for t, floor in zip(market.tiers, floors))
    return replace(market, tier_basis="size", tiers=tiers)


def inverse_of(rng: random.Random, market: Market, quote_decimals: int) -> Market:
    """``market`` as an inverse market (LIQ-INVERSE-1): its tiers and fees kept, in the model's
    units (whole lots, coin quantums per lot), with a face and venue decimals whose numerator
    K = face x 10^(quote_decimals + venue decimals) spans the int64 domain up to its edge."""
    decimals = rng.randint(0, min(MAX_VENUE_PRICE_DECIMALS, 18 - quote_decimals))
    most = INT64_MAX // 10 ** (quote_decimals + decimals)
    face = rng.choice((1, 100, rng.randint(1, most), most)) if most >= 100 else \
        rng.randint(1, most)
    order_tick = rng.choice((1, 5, rng.randint(1, MAX_ORDER_TICK)))  # LIQ-INVERSE-3, display
    return replace(market, base_decimals=0, price_decimals=quote_decimals,
                   kind=MarketKind.INVERSE, face_per_lot=min(face, most),
                   venue_price_decimals=decimals, order_tick=order_tick)


def random_profile(rng: random.Random, n_markets: int | None = None) -> Profile:
    quote_decimals = rng.choice((6, 6, 8, 18, 0))
    markets = {}
    for k in range(n_markets or rng.randint(1, 3)):
        exponent = rng.choice((0, 0, 2, 3, 6, 12, 18))
        exponent = min(exponent, quote_decimals + 18)
        price_decimals = rng.randint(-2, 4)
        base_decimals = quote_decimals - price_decimals - exponent
        if not -18 <= base_decimals <= 18:
            price_decimals, base_decimals = 0, quote_decimals - exponent
            if not -18 <= base_decimals <= 18:
                base_decimals, exponent = 0, quote_decimals
        oi = None
        if rng.random() < 0.25:
            lower = _magnitude(rng, signed=False) // 2
            oi = OpenInterestScaling(lower, rng.randint(lower + 1, INT64_MAX))
        minimum = 0 if rng.random() < 0.6 else _magnitude(rng, signed=False)
        market_id = f"M{k}"
        # rates that are fractions (LIQ-TIER-7): Hyperliquid's 3, others, the largest scale
        rate_scale = 1 if rng.random() < 0.75 else rng.choice((3, 7, 30, 10**6))
        markets[market_id] = Market(market_id, base_decimals, price_decimals,
                                    random_tiers(rng, rate_scale),
                                    liquidation_fee_ppm=rng.randint(0, 20_000),
                                    min_maint_margin_quote=minimum, oi_scaling=oi,
                                    rate_scale=rate_scale)
        side = side_stream(rng)
        if side.random() < 0.2:  # tiers keyed by size (LIQ-TIER-8), as OKX's
            markets[market_id] = size_keyed(side, markets[market_id])
        if side.random() < 0.15:  # an inverse market (LIQ-INVERSE-1), as XBTUSD
            markets[market_id] = inverse_of(side, markets[market_id], quote_decimals)
    backstop = None
    if rng.random() < 0.4:
        den = rng.choice((3, 1000, INT64_MAX))
        backstop = (rng.randint(1, den - 1), den)
    return Profile(name="generated", quote_decimals=quote_decimals, markets=markets,
                   backstop_ratio=backstop)


def random_account(rng: random.Random, profile: Profile, marks: dict[str, int],
                   account_id: str) -> Account:
    positions = {}
    for market_id, market in profile.markets.items():
        if rng.random() < 0.7:
            lots = _magnitude(rng)
            if lots:
                positions[market_id] = lots
    quote = _magnitude(rng)
    roll = rng.random()
    if positions and roll < 0.4:
        # a realistic account: quote chosen so that equity sits near its requirement
        market_id = rng.choice(list(positions))
        market = profile.markets[market_id]
        lots = positions[market_id] = rng.choice((1, -1)) * rng.randint(1, 10**rng.choice((0, 3, 6)))
        value = lots * marks[market_id] * market.value_per_lot_tick
        if abs(value) <= INT64_MAX:
            margin = abs(value) * rng.randint(0, 200_000) // PPM + rng.randint(-10**6, 10**6)
            quote = max(INT64_MIN, min(INT64_MAX, margin - value))
    elif positions and roll < 0.55:
        quote = _on_floor(rng, profile, marks, positions)
    return Account(account_id, quote=quote, positions=positions)


def _on_floor(rng: random.Random, profile: Profile, marks: dict[str, int],
              positions: dict[str, int]) -> int:
    """A quote that puts one position's notional exactly on a tier floor (or the half-way point
    of a ppm rounding) at its current mark: the boundaries where off-by-ones hide."""
    market_id = rng.choice(list(positions))
    market = profile.markets[market_id]
    unit = marks[market_id] * market.value_per_lot_tick
    if len(market.tiers) > 1 and rng.random() < 0.7:
        floor = rng.choice(market.tiers[1:]).floor_notional_quote
        lots = max(1, floor // unit) + rng.choice((-1, 0, 0, 1))
    else:
        lots = max(1, (PPM // 2) // max(1, unit))
    lots = max(1, min(lots, INT64_MAX // max(1, unit)))
    positions[market_id] = lots * rng.choice((1, -1))
    value = positions[market_id] * unit
    return max(INT64_MIN, min(INT64_MAX, rng.randint(-10**6, 10**6) - value))


def random_marks(rng: random.Random, profile: Profile) -> dict[str, int]:
    marks = {}
    for market_id in profile.markets:
        mark = _magnitude(rng, signed=False)
        marks[market_id] = mark if mark > 0 else rng.randint(1, 10**6)
        if rng.random() < 0.5:
            marks[market_id] = rng.randint(1, 10 ** rng.choice((2, 4, 6, 8)))
    return marks


@dataclass
class Case:
    """A profile, marks and accounts: everything one differential case needs."""

    seed: int
    profile: Profile
    marks: dict[str, int]
    accounts: list[Account]
    rate_ppm: int
    open_interest: dict[str, int]
    #: the holders' balances (None: all zero), the books and the sequence number, for the
    #: state-changing operations and cascades
    holders: dict[str, int] | None = None
    books: dict[str, Book] = field(default_factory=dict)
    seq: int = 0

    def state(self) -> State:
        """A fresh state (accounts and books are new objects: operations may mutate them)."""
        state = new_state(self.profile, self.marks)
        for account in self.accounts:
            state.accounts[account.account_id] = Account(
                account.account_id, quote=account.quote, positions=dict(account.positions),
                cost_quote=dict(account.cost_quote), isolated_market=account.isolated_market,
                role=account.role, leverage=dict(account.leverage))
        if self.holders:
            state.holders.update(self.holders)
        for market_id, book in self.books.items():
            state.books[market_id] = Book(book.account_id, [list(level) for level in book.bids],
                                          [list(level) for level in book.asks])
        state.seq = self.seq
        return state


def well_formed(case: Case) -> bool:
    """Whether a case is a state the operations accept as input: every position and cost
    basis in a market of the profile, no zero position, an isolated account holding only its
    market, books on known markets held by a known account, known holders, values in int64.
    (Shrinking keeps only well-formed candidates.)"""
    markets = case.profile.markets
    ids = {a.account_id for a in case.accounts}
    if set(case.marks) != set(markets) or len(ids) != len(case.accounts):
        return False
    for account in case.accounts:
        if not INT64_MIN <= account.quote <= INT64_MAX:
            return False
        if any(m not in markets or not v or not INT64_MIN <= v <= INT64_MAX
               for m, v in account.positions.items()):
            return False
        if any(m not in account.positions or not INT64_MIN <= v <= INT64_MAX
               for m, v in account.cost_quote.items()):
            return False
        if account.isolated_market is not None and (
                account.isolated_market not in markets
                or set(account.positions) - {account.isolated_market}):
            return False
        if any(m not in markets or not 1 <= v <= 10**6 for m, v in account.leverage.items()):
            return False  # LIQ-LEVERAGE-1's domain
    if any(h not in HOLDERS or not INT64_MIN <= v <= INT64_MAX
           for h, v in (case.holders or {}).items()):
        return False
    return all(m in markets and b.account_id in ids
               and all(INT64_MIN <= v <= INT64_MAX for level in b.bids + b.asks for v in level)
               for m, b in case.books.items())


def random_case(seed: int, n_accounts: int = 4, leverage: bool = False) -> Case:
    """Accounts for the queries; with ``leverage``, some of them with a chosen leverage
    (:func:`choose_leverage`, drawn apart so the rest of the example is the same)."""
    rng = random.Random(seed)
    profile = random_profile(rng)
    marks = random_marks(rng, profile)
    accounts = [random_account(rng, profile, marks, f"a{i}") for i in range(n_accounts)]
    rate = rng.choice((0, PPM, -PPM, rng.randint(-PPM, PPM), rng.randint(-1000, 1000)))
    oi = {m: _magnitude(rng, signed=False) for m in profile.markets}
    profile, accounts = _at_entry(random.Random(f"maintenance basis {seed}"), profile, marks,
                                  accounts)
    profile, accounts = _at_or_below(random.Random(f"trigger {seed}"), profile, marks, accounts)
    case = Case(seed, profile, marks, accounts, rate, oi)
    if leverage:
        choose_leverage(random.Random(f"leverage {seed}"), case)
    return case


def _leverage_values(rng: random.Random, market: Market, notional: int, lots: int) -> int:
    """A leverage around LIQ-LEVERAGE-1's edges: 1, the tier's maximum at ``notional`` (or the
    size ``lots``, LIQ-TIER-8) and one past it, the domain's top, or an ordinary value."""
    from liqspec.reference.leverage import tier_max_leverage
    from liqspec.reference.margin import tier_for
    maximum = tier_max_leverage(market, tier_for(market, notional, lots))
    return rng.choice((1, 2, maximum, min(maximum + 1, PPM), PPM, rng.randint(1, 150),
                       rng.randint(1, maximum)))


def choose_leverage(rng: random.Random, case: Case) -> None:
    """Give some trader accounts a chosen leverage in some markets (LIQ-LEVERAGE-1's domain,
    at and around the tiers' maxima), mostly where they hold a position."""
    markets = case.profile.markets
    for account in case.accounts:
        if account.role != TRADER or rng.random() < 0.5:
            continue
        allowed = [account.isolated_market] if account.isolated_market else list(markets)
        for market_id in allowed:
            if market_id in account.positions or rng.random() < 0.2:
                lots = account.positions.get(market_id, 0)
                notional = abs(lots * case.marks[market_id]
                               * markets[market_id].value_per_lot_tick)
                account.leverage[market_id] = _leverage_values(rng, markets[market_id], notional,
                                                               lots)


def leverage_calls(rng: random.Random, case: Case, calls: list[list]) -> list[list]:
    """``calls`` with 1..3 ``set_leverage`` calls inserted (LIQ-LEVERAGE-4): mostly a trader in a
    market it holds at and around the tier's maximum, sometimes an unknown account or market, a
    non-trader, another market of an isolated account, 0 or 10^6 + 1."""
    markets = list(case.profile.markets)
    names = [a.account_id for a in case.accounts] + ["ghost"]
    traders = [a.account_id for a in case.accounts if a.role == TRADER] or names
    by_id = {a.account_id: a for a in case.accounts}
    out = list(calls)
    for _ in range(rng.randint(1, 3)):
        who = rng.choice(traders) if rng.random() < 0.8 else rng.choice(names)
        held = list(by_id[who].positions) if who in by_id else []
        market_id = rng.choice(held) if held and rng.random() < 0.8 else \
            rng.choice(markets + ["ghost"])
        if market_id in case.profile.markets:
            lots = by_id[who].positions.get(market_id, 0) if who in by_id else 0
            notional = abs(lots * case.marks[market_id]
                           * case.profile.markets[market_id].value_per_lot_tick)
            value = _leverage_values(rng, case.profile.markets[market_id], notional, lots)
        else:
            value = rng.randint(1, 100)
        if rng.random() < 0.1:
            value = rng.choice((0, -1, PPM + 1))
        out.insert(rng.randint(0, len(out)), ["set_leverage", [who, market_id, value]])
    return out


def _at_or_below(rng: random.Random, profile: Profile, marks: dict[str, int],
                 accounts: list[Account]) -> tuple[Profile, list[Account]]:
    """One time in four, the trigger at equality (LIQ-TRIGGER-3), with one account moved to
    equity exactly at its maintenance requirement (or one quantum off it), where the inclusive
    trigger and the strict one part. Drawn from its own stream, so the rest of a seed's case is
    unchanged."""
    if rng.random() >= 0.25:
        return profile, accounts
    profile = replace(profile, trigger="at_or_below")
    if not accounts:  # a case of no accounts: nothing to move
        return profile, accounts
    k = rng.randrange(len(accounts))
    try:
        gap = account_maintenance_margin_quote(accounts[k], marks, profile) - \
            equity_quote(accounts[k], marks, profile)
    except LiqspecError:  # an int64-edge account: the case as drawn
        return profile, accounts
    quote = accounts[k].quote + gap + rng.choice((0, 0, -1, 1))
    if INT64_MIN <= quote <= INT64_MAX:
        accounts = [*accounts[:k], replace(accounts[k], quote=quote), *accounts[k + 1:]]
    return profile, accounts


def _at_entry(rng: random.Random, profile: Profile, marks: dict[str, int],
              accounts: list[Account]) -> tuple[Profile, list[Account]]:
    """Half the time, the entry maintenance basis (LIQ-TIER-6) with some accounts isolated in
    one of their markets and a cost basis: from an entry price near the mark, on a tier floor, or
    anywhere in int64. Drawn from its own stream, so the rest of a seed's case is unchanged."""
    if rng.random() < 0.5:
        return profile, accounts
    profile = replace(profile, maintenance_basis="entry")
    out = []
    for account in accounts:
        if not account.positions or rng.random() < 0.3:
            out.append(account)
            continue
        market_id = rng.choice(sorted(account.positions))
        lots, market = account.positions[market_id], profile.markets[market_id]
        roll = rng.random()
        if roll < 0.5:
            entry = max(1, marks[market_id] * rng.randint(500, 1500) // 1000)
            cost = lots * entry * market.value_per_lot_tick
        elif roll < 0.8:
            floor = rng.choice(market.tiers).floor_notional_quote
            cost = (1 if lots > 0 else -1) * (floor + rng.choice((-1, 0, 0, 1)))
        else:
            cost = rng.choice((rng.randint(INT64_MIN, INT64_MAX), INT64_MIN, INT64_MAX, 0))
        cost = max(INT64_MIN, min(INT64_MAX, cost))
        out.append(Account(account.account_id, quote=account.quote,
                           positions={market_id: lots}, cost_quote={market_id: cost},
                           isolated_market=market_id, role=account.role))
    return profile, out


# -- venues for the state-changing operations and cascades ------------------------------------

SIZES = ("full", "portion", "tier_step", "two_tier_step")
FEES = ("rate", "all_surplus", "per_fill")
BAD_DEBT = ("adl", "socialize", "socialize_both_sides")
RANKINGS = ("pnl_leverage", "pnl_margin_ratio", "price_ratio_leverage", "seeded", "pro_rata")
ADL_PRICES = ("bankruptcy", "mark")
MAINTENANCE_BASES = ("mark", "entry")
#: the state-changing operations a generated call may name (the reference's names), with the
#: weight each is drawn with
OPERATION_WEIGHTS = {"liquidate": 5, "market_liquidate": 4, "backstop_liquidate": 2,
                     "share_liquidate": 2, "deleverage": 3, "socialize_loss": 2, "apply_funding": 2,
                     "fund_insurance": 1, "deposit": 2, "withdraw": 3, "trade": 5,
                     "set_mark": 3, "open_account": 2, "replace_book": 2}
#: the names alone, in the order of :data:`OPERATION_WEIGHTS`
OPERATION_NAMES = tuple(OPERATION_WEIGHTS)


def random_policies(rng: random.Random) -> dict[str, Any]:
    """Every policy family, with the sizing threshold and seed at their boundaries too; one
    case in eight liquidates by account share (with its fee, and a target ratio)."""
    policies = {
        "liquidation_size": rng.choice(SIZES),
        "portion_ppm": rng.choice((1, 200_000, 500_000, PPM, rng.randint(1, PPM))),
        "portion_threshold_quote": rng.choice((0, 0, 10**rng.randint(0, 12),
                                               rng.randint(0, INT64_MAX), INT64_MAX)),
        "fee_policy": rng.choice(FEES),
        "bad_debt_policy": rng.choice(BAD_DEBT),
        "adl_ranking": rng.choice(RANKINGS),
        "adl_price": rng.choice(ADL_PRICES),
        "adl_seed": rng.choice((0, rng.getrandbits(64), 2**64 + rng.randint(0, 3))),
        "maintenance_basis": rng.choice(MAINTENANCE_BASES),
    }
    if rng.random() < 0.125:  # LIQ-SHARE-1: the step is portion_ppm (1 ppm: a million steps)
        policies.update(liquidation_size="account_share", fee_policy="maintenance_share",
                        portion_ppm=rng.choice((200_000, 250_000, 333_333, PPM,
                                                rng.randint(50_000, PPM))),
                        share_target_ppm=rng.choice((900_000, PPM, 1, rng.randint(1, PPM))))
    elif rng.random() < 0.15:  # LIQ-SHORTAGE-1 with its two fees (the liquidator's per market)
        policies.update(liquidation_size="cover_shortage", fee_policy="liquidator_and_fund",
                        liquidation_buffer_ppm=rng.choice((0, 1_000, 20_000, PPM,
                                                           rng.randint(0, PPM))))
    if policies["bad_debt_policy"] == "adl" and rng.random() < 0.3:
        # LIQ-ADL-5: OKX's 30% within 8 hours, the extremes of the share, windows around a
        # cascade's steps (1..60 s each)
        policies.update(adl_drawdown_ppm=rng.choice((300_000, 1, PPM, rng.randint(1, PPM))),
                        adl_drawdown_window_s=rng.choice((28_800, 1, 5, 60,
                                                          rng.randint(1, 10**6))))
    return policies


def _with_policies(profile: Profile, rng: random.Random) -> Profile:
    backstop = profile.backstop_ratio
    if rng.random() < 0.5:
        backstop = rng.choice(((2, 3), (1, 2), (1, 1000), (999, 1000)))
    policies = random_policies(rng)
    markets = dict(profile.markets)
    if policies["fee_policy"] == "liquidator_and_fund":  # LIQ-FEE-3's rate, per market
        markets = {m: replace(market, liquidator_fee_ppm=rng.choice(
            (0, 5_000, 10_000, PPM, rng.randint(0, PPM)))) for m, market in markets.items()}
    side = side_stream(rng)
    if side.random() < 0.2:  # tiers keyed by size (LIQ-TIER-8), in one market or every one
        keyed = set(markets) if side.random() < 0.5 else {side.choice(sorted(markets))}
        markets = {m: size_keyed(side, market) if m in keyed else market
                   for m, market in markets.items()}
    if side.random() < 0.25:  # the trigger at equality (LIQ-TRIGGER-3), as OKX's
        policies["trigger"] = "at_or_below"
    return Profile(name="generated", quote_decimals=profile.quote_decimals,
                   markets=markets, backstop_ratio=backstop, **policies)


def _example_profile(rng: random.Random) -> Profile:
    from liqspec.testing import example_profile  # the example venue of the reference suite
    return _with_policies(example_profile(), rng)


def _clamp(value: int) -> int:
    return max(INT64_MIN, min(INT64_MAX, value))


def _near_boundary_quote(rng: random.Random, profile: Profile, marks: dict[str, int],
                         account: Account, fund: int) -> int:
    """A quote that puts the account's equity on a boundary: exactly at maintenance (not
    liquidatable) or one below, at zero equity or one below, exactly at minus the fund (the
    fund just covers), at the backstop threshold, or at a random margin ratio."""
    try:
        equity = equity_quote(account, marks, profile)
        maintenance = account_maintenance_margin_quote(account, marks, profile)
    except Exception:  # noqa: BLE001  an overflowing account keeps its quote
        return account.quote
    roll = rng.random()
    if roll < 0.3:
        target = maintenance - rng.choice((0, 0, 1, 2))
    elif roll < 0.5:
        target = rng.choice((0, -1, 1))
    elif roll < 0.65:
        target = -fund - rng.choice((0, 1))
    elif roll < 0.8 and profile.backstop_ratio:
        num, den = profile.backstop_ratio
        target = maintenance * num // den + rng.choice((-1, 0, 1))
    else:
        target = maintenance * rng.randint(0, 3_000_000) // PPM + rng.randint(-5, 5)
    return _clamp(account.quote + target - equity)


def _positions(rng: random.Random, profile: Profile, marks: dict[str, int],
               markets: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Positions of realistic sizes (notional within int64) and cost bases near the mark."""
    positions, cost = {}, {}
    for market_id in markets:
        unit = marks[market_id] * profile.markets[market_id].value_per_lot_tick
        cap = max(1, INT64_MAX // 4 // max(1, unit))
        lots = rng.randint(1, min(cap, 10 ** rng.choice((0, 1, 3, 4, 6))))
        if rng.random() < 0.05:
            lots = cap  # as large as the value domain allows
        lots *= rng.choice((1, -1))
        positions[market_id] = lots
        entry = marks[market_id] * rng.randint(850, 1150) // 1000 if rng.random() < 0.9 else \
            _magnitude(rng, signed=False)
        cost[market_id] = _clamp(lots * entry * profile.markets[market_id].value_per_lot_tick)
    return positions, cost


def random_venue(rng: random.Random, seed: int, n_traders: int | None = None,
                 example: bool | None = None) -> Case:
    """A whole venue: policies, traders (some isolated, some with int64-edge balances), a book
    account with books, a backstop vault, an insurance fund and the other holders."""
    example = rng.random() < 0.5 if example is None else example
    if example:  # the example venue (liqspec.testing), else a random profile
        profile = _example_profile(rng)
        marks = {m: max(1, base * rng.randint(800, 1200) // 1000)
                 for m, base in (("BTC", 500_000), ("ETH", 300_000))}
        if rng.random() < 0.1:
            marks[rng.choice(("BTC", "ETH"))] = rng.choice((1, 2, INT64_MAX // 10**9))
    else:
        profile = _with_policies(random_profile(rng), rng)
        marks = random_marks(rng, profile)
        if rng.random() < 0.6:  # moderate marks keep the operations off the overflow paths
            marks = {m: rng.randint(1, 10**rng.choice((1, 3, 5))) for m in profile.markets}
    markets = list(profile.markets)
    fund = rng.choice((0, 0, 1, 10**rng.randint(0, 12), rng.randint(0, INT64_MAX),
                       INT64_MAX - rng.randint(0, 10)))
    accounts = []
    for i in range(rng.randint(1, 5) if n_traders is None else n_traders):
        account_id = f"t{i}"
        if rng.random() < 0.15:  # magnitude buckets up to the int64 limits
            account = random_account(rng, profile, marks, account_id)
        else:
            held = [m for m in markets if rng.random() < 0.6] or [rng.choice(markets)]
            positions, cost = _positions(rng, profile, marks, held)
            account = Account(account_id, quote=0, positions=positions, cost_quote=cost)
            account.quote = _near_boundary_quote(rng, profile, marks, account, fund)
        if rng.random() < 0.15:
            market_id = rng.choice(markets)
            account.isolated_market = market_id
            account.positions = {m: v for m, v in account.positions.items() if m == market_id}
            account.cost_quote = {m: v for m, v in account.cost_quote.items() if m == market_id}
        accounts.append(account)
    books = {}
    if rng.random() < 0.85:
        book = Account("book", quote=rng.choice((0, 10**rng.randint(0, 15))), role=LIQUIDITY)
        accounts.append(book)
        for market_id in markets:
            if rng.random() < 0.7:
                books[market_id] = _random_book(rng, marks[market_id])
    if rng.random() < 0.8:
        accounts.append(Account("vault", quote=rng.choice((0, 10**rng.randint(0, 15))),
                                role=BACKSTOP))
    holders = {INSURANCE_FUND: fund}
    if rng.random() < 0.3:
        holders["socialized_loss"] = -rng.choice((1, 10**rng.randint(0, 12)))
    if rng.random() < 0.2:
        holders["fee_sink"] = rng.choice((0, 1, INT64_MAX - rng.randint(0, 3)))
    total = sum(a.quote for a in accounts) + sum(holders.values())
    holders["outside"] = -total if INT64_MIN <= -total <= INT64_MAX else 0
    rate = rng.choice((0, 1, -1, PPM, -PPM, rng.randint(-2000, 2000)))
    return Case(seed, profile, marks, accounts, rate, {m: 0 for m in markets},
                    holders=holders, books=books, seq=rng.choice((0, 0, 7)))


def _random_book(rng: random.Random, mark: int) -> Book:
    from liqspec.reference.book import BookShape, build_book
    from liqspec.reference.errors import Overflow
    if rng.random() < 0.8:
        levels = rng.randint(1, 6)
        spacing = rng.randint(1, min(20_000, (PPM - 1) // levels))
        lots = rng.choice((1, rng.randint(1, 5000), 10**rng.randint(3, 9)))
        # around a mark near 2^63 the upper asks leave int64 and the book is refused
        # (LIQ-DOMAIN-1): keep the deepest ladder that fits
        for fitting in range(levels, 0, -1):
            try:
                return build_book(BookShape(fitting, spacing, lots), mark, "book")
            except Overflow:
                continue
        return Book("book", [[max(1, mark - 1), lots]], [])
    # hand-made levels at the price domain's edges
    bids = sorted({rng.choice((1, 2, max(1, mark - 1), mark, rng.randint(1, mark)))
                   for _ in range(rng.randint(0, 3))}, reverse=True)
    asks = sorted({min(INT64_MAX, rng.choice((mark, mark + 1, INT64_MAX,
                                              rng.randint(mark, 2 * mark))))
                   for _ in range(rng.randint(0, 3))})
    size = lambda: rng.choice((1, rng.randint(1, 10**6), INT64_MAX))  # noqa: E731
    return Book("book", [[p, size()] for p in bids], [[p, size()] for p in asks])


def random_calls(rng: random.Random, case: Case, count: int | None = None) -> list[list]:
    """A sequence of state-changing operations with arguments drawn from the venue: subjects are
    mostly traders that are liquidatable now, prices at the mark, one tick off it or at the
    subject's bankruptcy price, sizes at and around the position, rates and amounts at their
    domain's edges; sometimes an unknown account or market, a non-trader or an invalid value."""
    import liqspec.reference as ref
    state = case.state()
    markets = list(case.profile.markets)
    traders = [a.account_id for a in case.accounts if a.role == TRADER]
    others = [a.account_id for a in case.accounts if a.role != TRADER]
    due = []
    for account_id in traders:
        try:
            if ref.is_liquidatable(state.accounts[account_id], state):
                due.append(account_id)
        except Exception:  # noqa: BLE001
            pass

    def subject() -> str:
        roll = rng.random()
        if due and roll < 0.6:
            return rng.choice(due)
        if roll < 0.93 and traders:
            return rng.choice(traders)
        return rng.choice(others + ["ghost"])

    def market(account_id: str | None = None) -> str:
        held = list(state.accounts[account_id].positions) if account_id in state.accounts else []
        if held and rng.random() < 0.8:
            return rng.choice(held)
        return rng.choice(markets) if rng.random() < 0.95 else "ghost"

    def price(account_id: str, market_id: str) -> int:
        mark = case.marks.get(market_id, 1)
        roll = rng.random()
        if roll < 0.3:
            return mark
        if roll < 0.45:
            return max(1, mark + rng.choice((-1, 1)))
        if roll < 0.7 and account_id in state.accounts and market_id in case.marks:
            try:
                threshold = ref.bankruptcy_price(state.accounts[account_id], market_id,
                                                 case.marks, case.profile)
                if 0 < threshold.ticks <= INT64_MAX:
                    return max(1, threshold.ticks + rng.choice((-1, 0, 0, 1)))
            except Exception:  # noqa: BLE001
                pass
        if roll < 0.95:
            return max(1, mark * rng.randint(900, 1100) // 1000)
        return rng.choice((0, -1, INT64_MAX))

    def amount(account_id: str) -> int:
        """A quote amount: the domain's edges, the account's free collateral and one past it,
        or an ordinary size."""
        roll = rng.random()
        if roll < 0.15:
            return rng.choice((-1, 0, 1, INT64_MAX, INT64_MAX - 1))
        if roll < 0.5 and account_id in state.accounts:
            try:
                free = ref.free_collateral_quote(state, state.accounts[account_id])
                return max(1, free + rng.choice((-1, 0, 0, 1)))
            except Exception:  # noqa: BLE001
                pass
        return rng.randint(1, 10 ** rng.choice((1, 3, 6, 9, 12)))

    def lots_for(account_id: str, market_id: str) -> int:
        held = abs(state.accounts[account_id].position(market_id)) \
            if account_id in state.accounts else 0
        return rng.choice((1, 1, max(1, held), held + 1, max(1, held // 2),
                           rng.randint(1, 10 ** rng.choice((1, 2, 3, 5))), 0, -1, INT64_MAX))

    new_ids = ("n0", "n1", "t0", "book", "", "outside", 7)
    names = traders + others + ["n0", "n1", "ghost"]
    by_share = case.profile.liquidation_size == "account_share"
    calls = []
    for _ in range(rng.randint(1, 5) if count is None else count):
        op = rng.choices(OPERATION_NAMES, weights=tuple(OPERATION_WEIGHTS.values()))[0]
        if by_share and op in ("liquidate", "market_liquidate") and rng.random() < 0.7:
            op = "share_liquidate"  # mostly the liquidation the venue has (the rest refused)
        if op in ("deposit", "withdraw"):
            who = rng.choice(names) if rng.random() < 0.2 else subject()
            calls.append([op, [who, amount(who)]])
        elif op == "trade":
            # mostly a trader against the book's or the vault's account (outside the margin
            # system) or another trader, at sizes around the position
            buyer = rng.choice(names) if rng.random() < 0.1 else subject()
            roll = rng.random()
            seller = (rng.choice(others or names) if roll < 0.45 else
                      rng.choice(traders or names) if roll < 0.85 else
                      rng.choice(names + [buyer]))
            if rng.random() < 0.5:
                buyer, seller = seller, buyer
            market_id = market(rng.choice((buyer, seller)))
            lots = rng.choice((1, rng.randint(1, 20))) if rng.random() < 0.4 else \
                lots_for(rng.choice((buyer, seller)), market_id)
            calls.append([op, [buyer, seller, market_id, lots, price(buyer, market_id)]])
        elif op == "set_mark":
            market_id = market()
            who = subject()
            calls.append([op, [market_id, price(who, market_id)]])
        elif op == "open_account":
            isolated = rng.choice((None, None, None, rng.choice(markets), "ghost"))
            role = rng.choice((TRADER, TRADER, LIQUIDITY, BACKSTOP, "bogus"))
            calls.append([op, [rng.choice(new_ids), isolated, role]])
        elif op == "replace_book":
            shape = [rng.choice((1, 2, 3, 6, 0)), rng.choice((1, 100, 2_000, 20_000, 300_000)),
                     rng.choice((1, rng.randint(1, 5000), 10 ** rng.randint(3, 9), INT64_MAX,
                                 0))]
            calls.append([op, [market(), shape, rng.choice(["book", "book", "n0", "vault", "ghost"]
                                                          + traders[:1])]])
        elif op == "liquidate":
            who = subject()
            market_id = market(who)
            held = abs(state.accounts[who].position(market_id)) if who in state.accounts else 0
            lots = rng.choice((None, None, 1, held, held + 1, max(1, held // 2), 0, -1))
            counterparty = rng.choice(["book", "vault", "book"] + traders + ["ghost", who])
            calls.append([op, [who, market_id, counterparty, price(who, market_id), lots]])
        elif op == "market_liquidate":
            who = subject()
            calls.append([op, [who, market(who)]])
        elif op == "deleverage":
            who = subject()
            # the fund's peak (LIQ-ADL-5): none, the drawdown's edge for the fund the case
            # starts with (a fall of 30% and one quantum less), any, and outside the domain
            fund = (case.holders or {}).get(INSURANCE_FUND, 0)
            peak = rng.choice((0, 0, 0, fund, fund * 10 // 7, fund * 10 // 7 + 1, 2 * fund + 1,
                               rng.randint(0, 10**12), INT64_MAX, -1, INT64_MAX + 1))
            calls.append([op, [who, market(who), peak]])
        elif op in ("backstop_liquidate", "share_liquidate"):
            who = subject()
            calls.append([op, [who, rng.choice(["vault", "vault", who, "book", "ghost"])]])
        elif op == "socialize_loss":
            # the whole recorded debt, or a part (a cascade's round charges one), maybe more than
            # is recorded or not positive
            part = rng.choice((None, None, None, 1, 10**6, rng.randint(1, 10**10), 0, -1))
            calls.append([op, [market(), rng.choice((1, -1, 1, -1, 0, 2)), part]])
        elif op == "apply_funding":
            calls.append([op, [market(), rng.choice((case.rate_ppm, 0, 1, -1, PPM, -PPM,
                                                     PPM + 1, rng.randint(-2000, 2000)))]])
        else:
            fund = (case.holders or {}).get(INSURANCE_FUND, 0)
            calls.append([op, [rng.choice((-1, 0, 1, rng.randint(1, 10**9), INT64_MAX - fund,
                                           INT64_MAX - fund + 1, INT64_MAX))]])
    return calls


def call_arguments(op: str, args: list) -> tuple:
    """A call's arguments from their JSON form: replace_book's shape is written
    ``[levels, spacing_ppm, lots_per_level]`` (its BookShape is built here, so a shape outside
    the domain raises the reference's MalformedState on both sides alike)."""
    if op == "replace_book" and len(args) > 1 and isinstance(args[1], list):
        return (args[0], BookShape(*args[1]), *args[2:])
    return tuple(args)


def random_operations(seed: int, leverage: bool = False) -> tuple[Case, list[list]]:
    """A venue and a sequence of operations on it (deterministic in ``seed``); with
    ``leverage``, chosen leverages on some traders and ``set_leverage`` calls among the others,
    drawn from their own generator so the rest of the example is the same as without."""
    rng = random.Random(seed)
    case = random_venue(rng, seed)
    calls = random_calls(rng, case)
    if leverage:
        side = random.Random(f"leverage {seed}")
        choose_leverage(side, case)
        calls = leverage_calls(side, case, calls)
    return case, calls


def random_cascade(seed: int) -> tuple[Case, dict[str, Any]]:
    """A small cascade: a few traders (leverage 1x..100x, some on a boundary), a book account,
    maybe a vault, a price path over one or both markets that also visits the traders' exact
    liquidation prices (one tick either side too), book shapes and a mark rule."""
    from liqspec.reference.cascade import liquidation_map
    rng = random.Random(seed)
    case = random_venue(rng, seed, n_traders=rng.randint(1, 5), example=rng.random() < 0.8)
    if case.profile.portion_ppm < 50_000:  # a cascade closing one lot per order is slow;
        # tiny portions are the operations kind's business
        case.profile = replace(case.profile, portion_ppm=rng.randint(50_000, PPM))
    case.books = {}
    if not any(a.account_id == "book" for a in case.accounts):
        case.accounts.append(Account("book", role=LIQUIDITY))
    by_share = case.profile.liquidation_size == "account_share"  # needs the vault (LIQ-SHARE-2)
    if not any(a.account_id == "vault" for a in case.accounts) and (by_share
                                                                    or rng.random() < 0.5):
        case.accounts.append(Account("vault", role=BACKSTOP))
    markets = list(case.profile.markets)
    chosen = [m for m in markets if rng.random() < 0.6] or [rng.choice(markets)]
    steps = rng.randint(1, 5)
    state = case.state()
    path = {}
    for market_id in chosen:
        mark = case.marks[market_id]
        thresholds = []  # one holder's exact liquidation price (LIQ-PRICE-3), as the map has it
        holders = [a for a in case.accounts if a.role == TRADER and a.positions.get(market_id)]
        if holders:
            one = State(state.profile, state.marks,
                        accounts={a.account_id: a for a in [rng.choice(holders)]})
            try:
                thresholds = [ticks for ticks, _ in liquidation_map(one, market_id)]
            except Exception:  # noqa: BLE001
                pass
        prices, price = [], mark
        for _ in range(steps):
            if thresholds and rng.random() < 0.4:
                price = rng.choice(thresholds) + rng.choice((-1, 0, 0, 1))
            else:
                price = price * (PPM + rng.randint(-80_000, 40_000)) // PPM
            prices.append(max(1, min(INT64_MAX, price)))
        path[market_id] = prices
    books = {}
    for market_id in chosen:
        levels = rng.randint(1, 8)
        spacing = rng.randint(1, min(20_000, (PPM - 1) // levels))
        books[market_id] = [levels, spacing, rng.choice((1, rng.randint(1, 3000),
                                                         10**rng.randint(3, 7)))]
    mark_rule = [rng.choice(("index_band", "last_fill")),
                 rng.choice((0, 5_000, rng.randint(0, 50_000), 999_999))]
    for market_id in chosen:
        levels, spacing, _ = books[market_id]
        if rng.random() < 0.97:  # the rebuilt book's top ask stays in int64 (else: Overflow),
            # the book being centred on a mark up to the band's top
            top = INT64_MAX * PPM // (PPM + levels * spacing) * PPM // (PPM + mark_rule[1])
            path[market_id] = [min(price, top) for price in path[market_id]]
    vault = "vault" if any(a.account_id == "vault" for a in case.accounts) \
        and (by_share or rng.random() < 0.7) else None
    fund = (case.holders or {}).get(INSURANCE_FUND, 0)
    config = CascadeConfig(PricePath(rng.choice((1, 5, 60)),
                                     {m: tuple(p) for m, p in path.items()}),
                           {m: BookShape(*shape) for m, shape in books.items()},
                           book_account="book", backstop_vault=vault,
                           mark_rule=MarkRule(*mark_rule),
                           fund_history=_fund_history(rng, case.profile, fund))
    return case, codec.cascade_config_to_json(config)


def _fund_history(rng: random.Random, profile: Profile, fund_quote: int
                  ) -> tuple[tuple[int, int], ...]:
    """LIQ-ADL-5's fund before the run, half the time under the drawdown rule: one to three
    samples, oldest first, some at the window's edge (just in, just out), their balances
    around the fund's (a peak it has fallen 30% from, one it has not, 0)."""
    window = profile.adl_drawdown_window_s
    if not window or rng.random() < 0.5:
        return ()
    seconds = sorted({rng.choice((window, window + 1, 1, rng.randint(1, window + 5)))
                      for _ in range(rng.randint(1, 3))}, reverse=True)
    return tuple((before, min(INT64_MAX, rng.choice((0, fund_quote, 2 * fund_quote + 1,
                                                      fund_quote * 10 // 7 + 1,
                                                      rng.randint(0, 3 * fund_quote + 1)))))
                 for before in seconds)


def random_adl_cascade(seed: int, ranking: str | None = None) -> tuple[Case, dict[str, Any]]:
    """A deleveraging-heavy cascade on the example venue: 4..16 traders, cross (one or both
    markets) or isolated, one side of each market leveraged 20x..100x against the path's
    direction and the other side at 1x..20x, a small insurance fund, thin books (1..3 levels of
    a few lots) and a price path of 2..5 steps over one or both markets, so most liquidations
    end in auto-deleveraging under the ``ranking`` policy (default: drawn), with the marks
    moving between the calls."""
    rng = random.Random(seed)
    ranking = ranking or rng.choice(RANKINGS)
    profile = replace(_example_profile(rng), bad_debt_policy="adl", adl_ranking=ranking)
    if profile.liquidation_size == "account_share":  # shares go to a vault, never to ADL
        profile = replace(profile, liquidation_size="full", fee_policy="rate")
    if profile.portion_ppm < 50_000:  # as random_cascade: one lot per order is slow
        profile = replace(profile, portion_ppm=rng.randint(50_000, PPM))
    if not profile.adl_drawdown_ppm and rng.random() < 0.25:
        # LIQ-ADL-5: the fund's payouts in the first steps send the later ones to deleveraging
        profile = replace(profile, adl_drawdown_ppm=rng.choice((300_000, 1, rng.randint(1, PPM))),
                          adl_drawdown_window_s=rng.choice((1, 5, 28_800)))
    marks = {m: base * rng.randint(800, 1200) // 1000
             for m, base in (("BTC", 500_000), ("ETH", 300_000))}
    chosen = [m for m in marks if rng.random() < 0.7] or [rng.choice(list(marks))]
    falling = {m: rng.random() < 0.7 for m in marks}  # the side that the path hurts: longs
    fund = rng.choice((0, 0, 1, 10**rng.randint(0, 9)))
    accounts = []
    for i in range(rng.randint(4, 16)):
        held = [m for m in marks if rng.random() < 0.6] or [rng.choice(list(marks))]
        isolated = None
        if rng.random() < 0.15:
            held = held[:1]
            isolated = held[0]
        positions, cost, value, notional = {}, {}, 0, 0
        for market_id in held:
            vpl = profile.markets[market_id].value_per_lot_tick
            victim = rng.random() < 0.5
            side = (1 if falling[market_id] else -1) * (1 if victim else -1)
            lots = side * rng.randint(1, 10 ** rng.choice((1, 2, 3)))
            entry = marks[market_id] * rng.randint(900, 1100) // 1000
            positions[market_id] = lots
            cost[market_id] = lots * entry * vpl
            value += lots * marks[market_id] * vpl
            notional += abs(lots) * marks[market_id] * vpl
        leverage = rng.randint(20, 100) if rng.random() < 0.5 else rng.randint(1, 20)
        account = Account(f"t{i}", quote=notional // leverage - value, positions=positions,
                          cost_quote=cost, isolated_market=isolated)
        if rng.random() < 0.3:
            account.quote = _near_boundary_quote(rng, profile, marks, account, fund)
        accounts.append(account)
    book = Account("book", quote=rng.choice((0, 10**rng.randint(0, 12))), role=LIQUIDITY)
    for market_id in marks:
        net = sum(a.positions.get(market_id, 0) for a in accounts)
        if net:
            book.positions[market_id] = -net
            book.cost_quote[market_id] = -sum(a.cost_quote.get(market_id, 0) for a in accounts)
    accounts.append(book)
    vault = None
    if rng.random() < 0.15:
        accounts.append(Account("vault", quote=10**rng.randint(0, 12), role=BACKSTOP))
        vault = "vault"
    holders = {INSURANCE_FUND: fund}
    holders["outside"] = -(sum(a.quote for a in accounts) + fund)
    steps = rng.randint(2, 5)
    path = {}
    for market_id in chosen:
        price, prices = marks[market_id], []
        for _ in range(steps):
            move = rng.randint(5_000, 60_000) * (-1 if falling[market_id] else 1)
            if rng.random() < 0.2:
                move = -move // 2  # a bounce
            price = max(1, price * (PPM + move) // PPM)
            prices.append(price)
        path[market_id] = prices
    books = {}
    for market_id in chosen:
        levels = rng.randint(1, 3)
        books[market_id] = [levels, rng.randint(1, 300_000 // levels),
                            rng.choice((1, rng.randint(1, 20)))]
    mark_rule = [rng.choice(("index_band", "index_band", "last_fill")),
                 rng.choice((0, 5_000, 20_000))]
    config = CascadeConfig(PricePath(rng.choice((1, 5, 60)),
                                     {m: tuple(p) for m, p in path.items()}),
                           {m: BookShape(*shape) for m, shape in books.items()},
                           book_account="book", backstop_vault=vault,
                           mark_rule=MarkRule(*mark_rule),
                           fund_history=_fund_history(rng, profile, fund))
    return Case(seed, profile, marks, accounts, 0, {m: 0 for m in marks}, holders=holders,
                    seq=rng.choice((0, 0, 7))), codec.cascade_config_to_json(config)


def cascade_config_from_json(data: dict[str, Any]):
    """A :class:`~liqspec.reference.cascade.CascadeConfig` from its JSON form
    (``liqspec.codec.cascade_config_from_json``)."""
    return codec.cascade_config_from_json(data)


# -- JSON (replayable cases and vectors): the one integer JSON of liqspec.codec ----------------

def case_to_json(case: Case) -> dict[str, Any]:
    """A case in ``liqspec.codec``'s integer JSON: the profile, the state (marks,
    accounts, holders, books, seq), the funding rate and the open interest of the queries."""
    holders = {h: 0 for h in HOLDERS}
    holders.update(case.holders or {})
    state = State(case.profile, dict(case.marks),
                  {a.account_id: a for a in case.accounts}, holders, seq=case.seq,
                  books=dict(case.books))
    return {"format": codec.FORMAT_VERSION, "seed": codec.enc(case.seed),
            "profile": codec.profile_to_json(case.profile),
            "state": codec.state_to_json(state, journal=False),
            "rate_ppm": codec.enc(case.rate_ppm),
            "open_interest": {m: codec.enc(v) for m, v in sorted(case.open_interest.items())}}


def case_from_json(data: dict[str, Any]) -> Case:
    codec.check_format(data, "scenario")  # the field of a difftest case
    profile = codec.profile_from_json(data["profile"])
    state = codec.state_from_json(profile, data["state"])
    return Case(codec.dec(data.get("seed", "0"), "seed"), profile, state.marks,
                    list(state.accounts.values()), codec.dec(data.get("rate_ppm", "0"), "rate"),
                    {m: codec.dec(v, f"open_interest.{m}")
                     for m, v in data.get("open_interest", {}).items()},
                    holders=state.holders, books=state.books, seq=state.seq)


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True)
