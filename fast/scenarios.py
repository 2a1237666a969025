"""Generated venues and accounts for differential testing of liqspec.fast against the reference.

Used by the hypothesis tests (``tests/test_fast_differential.py``), by ``liqspec difftest`` and
by the vector generator. A scenario is plain JSON-able data (:func:`scenario_to_json`), so every
divergence prints as a replayable case.

Values are drawn by magnitude bucket (small, realistic, near 2^63, exactly the int64 limits) so
that both ordinary results and every overflow boundary are exercised; tier floors are multiples
of 10^6 so the continuity deductions are exact, and some accounts are placed exactly on a tier
floor or a half-way rounding point.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from liqspec.reference import (Account, Market, OpenInterestScaling, Profile, State, Tier,
                               new_state)
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN, PPM

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


def random_tiers(rng: random.Random) -> tuple[Tier, ...]:
    count = rng.randint(1, 5)
    scale = 10 ** rng.choice((0, 3, 6, 9, 12))
    floors = [0]
    for _ in range(count - 1):
        floors.append(floors[-1] + rng.randint(1, 10**6) * scale * PPM // PPM * PPM)
    if floors[-1] > INT64_MAX // 2:
        floors = [0]
    mmr = sorted(rng.randint(1, 999_999) if rng.random() < 0.3 else rng.randint(1, 200_000)
                 for _ in floors)
    if rng.random() < 0.3:
        mmr = [mmr[0]] * len(floors)  # equal rates: coincident lines at every floor
    imr = [rng.randint(r, PPM) for r in mmr]
    tiers, mded, ided = [], 0, 0
    for i, floor in enumerate(floors):
        if i:
            mded += floor * (mmr[i] - mmr[i - 1]) // PPM
            ided += floor * (imr[i] - imr[i - 1]) // PPM
        tiers.append(Tier(floor, mmr[i], mded, imr[i], ided))
    return tuple(tiers)


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
        markets[market_id] = Market(market_id, base_decimals, price_decimals, random_tiers(rng),
                                    liquidation_fee_ppm=rng.randint(0, 20_000),
                                    min_maint_margin_quote=minimum, oi_scaling=oi)
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
class Scenario:
    """A profile, marks and accounts: everything one differential case needs."""

    seed: int
    profile: Profile
    marks: dict[str, int]
    accounts: list[Account]
    rate_ppm: int
    open_interest: dict[str, int]

    def state(self) -> State:
        state = new_state(self.profile, self.marks)
        for account in self.accounts:
            state.accounts[account.account_id] = account
        return state


def random_scenario(seed: int, n_accounts: int = 4) -> Scenario:
    rng = random.Random(seed)
    profile = random_profile(rng)
    marks = random_marks(rng, profile)
    accounts = [random_account(rng, profile, marks, f"a{i}") for i in range(n_accounts)]
    rate = rng.choice((0, PPM, -PPM, rng.randint(-PPM, PPM), rng.randint(-1000, 1000)))
    oi = {m: _magnitude(rng, signed=False) for m in profile.markets}
    return Scenario(seed, profile, marks, accounts, rate, oi)


# -- JSON (replayable cases and vectors) ------------------------------------------------------

def profile_to_json(profile: Profile) -> dict[str, Any]:
    return {
        "quote_decimals": profile.quote_decimals,
        "backstop_ratio": list(profile.backstop_ratio) if profile.backstop_ratio else None,
        "markets": [{
            "market_id": m.market_id, "base_decimals": m.base_decimals,
            "price_decimals": m.price_decimals, "liquidation_fee_ppm": m.liquidation_fee_ppm,
            "min_maint_margin_quote": m.min_maint_margin_quote,
            "oi_scaling": ([m.oi_scaling.lower_cap_quote, m.oi_scaling.upper_cap_quote]
                           if m.oi_scaling else None),
            "tiers": [[t.floor_notional_quote, t.maint_margin_ppm, t.maint_deduction_quote,
                       t.init_margin_ppm, t.init_deduction_quote] for t in m.tiers],
        } for m in profile.markets.values()],
    }


def profile_from_json(data: dict[str, Any]) -> Profile:
    markets = {}
    for m in data["markets"]:
        oi = OpenInterestScaling(*m["oi_scaling"]) if m["oi_scaling"] else None
        markets[m["market_id"]] = Market(
            m["market_id"], m["base_decimals"], m["price_decimals"],
            tuple(Tier(*row) for row in m["tiers"]), liquidation_fee_ppm=m["liquidation_fee_ppm"],
            min_maint_margin_quote=m["min_maint_margin_quote"], oi_scaling=oi)
    ratio = tuple(data["backstop_ratio"]) if data["backstop_ratio"] else None
    return Profile(name="generated", quote_decimals=data["quote_decimals"], markets=markets,
                   backstop_ratio=ratio)


def account_to_json(account: Account) -> dict[str, Any]:
    return {"account_id": account.account_id, "quote": account.quote,
            "positions": dict(account.positions)}


def account_from_json(data: dict[str, Any]) -> Account:
    return Account(data["account_id"], quote=data["quote"], positions=dict(data["positions"]))


def scenario_to_json(scenario: Scenario) -> dict[str, Any]:
    return {"seed": scenario.seed, "profile": profile_to_json(scenario.profile),
            "marks": scenario.marks, "accounts": [account_to_json(a) for a in scenario.accounts],
            "rate_ppm": scenario.rate_ppm, "open_interest": scenario.open_interest}


def scenario_from_json(data: dict[str, Any]) -> Scenario:
    return Scenario(data.get("seed", 0), profile_from_json(data["profile"]), dict(data["marks"]),
                    [account_from_json(a) for a in data["accounts"]], data["rate_ppm"],
                    dict(data["open_interest"]))


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True)
