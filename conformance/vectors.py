"""Conformance vectors: pre / op / post (or error) cases generated from the reference.

Layout (one folder per case, as the Ethereum consensus-spec tests)::

    <profile>/<operation or query>/<suite>/<case>/
        meta.json    rule IDs, units, description, format version
        pre.json     the profile and the state before
        op.json      the operation or query and its arguments
        post.json    the state after and the receipt, or the query's result   } one of
        error.json   the result code the engine must reject with              } the two

Suites: ``boundary`` (hand-placed cases: tier floors and +-1, exact maintenance and one below,
bankruptcy +-1 tick, the int64 limits), ``reject`` (every result code an operation can refuse
with) and ``random`` (seeded states and operations, as ``liqspec difftest`` draws them).
:func:`generate` is deterministic in its seed; :func:`compact` is the set shipped in the package.

A liquidation or bankruptcy price whose ticks, numerator or denominator leave int64 is never a
vector: such a price can never be a mark or a fill, and ``liqspec.fast`` reports Overflow for it
(``liqspec.fast.compare``); no decision depends on it.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import liqspec.codec as codec
import liqspec.reference as ref
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN, PPM, div_ceil
from liqspec.reference.book import BookShape, build_book
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.profile import SOCIALIZING, LiquidationSize, Profile
from liqspec.reference.profiles import PROFILES
from liqspec.reference.state import (BACKSTOP, INSURANCE_FUND, LIQUIDITY, OUTSIDE, SOCIALIZED_LOSS,
                                     Account, State)
from liqspec.testing import step_lots

from .catalogue import CATALOGUE, QUERY, REFERENCE, execute, request_op

SUITES = ("boundary", "reject", "random")
FILES = ("meta.json", "pre.json", "op.json", "post.json", "error.json")
#: the compact set: random cases per profile shipped in the package
COMPACT_RANDOM_CASES = 12
COMPACT_SEED = 0
#: the compact set, inside the package
SHIPPED = "data/vectors.tar.gz"


@dataclass
class Vector:
    """One conformance case."""

    profile: str
    name: str
    suite: str
    case: str
    description: str
    pre: dict[str, Any]
    op: dict[str, Any]
    expected: dict[str, Any]  # {"ok": ...} or {"error": ...}
    rules: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def folder(self) -> str:
        return f"{self.profile}/{self.name}/{self.suite}/{self.case}"

    def request(self) -> dict[str, Any]:
        """The protocol request that runs this case."""
        return {"profile": self.pre["profile"], "state": self.pre["state"], "op": self.op}


def make(profile: Profile, state: State, op: dict[str, Any], suite: str, case: str,
         description: str, folder_profile: str | None = None) -> Vector:
    """A vector: the reference's answer to ``op`` on ``state``, with its rules."""
    pre = {"profile": codec.profile_to_json(profile),
           "state": codec.state_to_json(state, journal=False)}
    expected = execute(REFERENCE, pre["profile"], pre["state"], op)
    return Vector(folder_profile or profile.name, op["name"], suite, case, description, pre, op,
                  expected, rules_of(op["name"], expected))


def rules_of(name: str, expected: dict[str, Any]) -> list[str]:
    """The operation's rules, and every rule a journal entry or trace event of its answer names."""
    rules = set(CATALOGUE[name].rules)
    body = expected.get("ok") or {}
    for entry in (body.get("receipt") or {}).get("entries", []) + body.get("events", []):
        if entry.get("rule_id"):
            rules.add(entry["rule_id"])
    return sorted(rules)


def units(profile: Profile) -> dict[str, Any]:
    """What one integer means in this profile (LIQ-UNIT-1)."""
    return {"quote": f"10^-{profile.quote_decimals} {profile.quote_asset}",
            "rates": "parts per million",
            "markets": {m.market_id: {"lot": f"10^{-m.base_decimals} base",
                                      "tick": f"10^{-m.price_decimals} quote per base",
                                      "value_per_lot_tick_quote": str(m.value_per_lot_tick)}
                        for m in profile.markets.values()}}


def files_of(vector: Vector) -> dict[str, dict[str, Any]]:
    """The JSON documents of a vector's folder."""
    version = codec.FORMAT_VERSION
    profile = codec.profile_from_json(vector.pre["profile"])
    out = {
        "meta.json": {"format": version, "profile": vector.profile, "name": vector.name,
                      "kind": CATALOGUE[vector.name].kind, "suite": vector.suite,
                      "case": vector.case, "rules": vector.rules,
                      "description": vector.description, "units": units(profile)},
        "pre.json": {"format": version, **vector.pre},
        "op.json": {"format": version, **vector.op},
    }
    if "ok" in vector.expected:
        out["post.json"] = {"format": version, **vector.expected["ok"]}
    else:
        out["error.json"] = {"format": version, **vector.expected["error"]}
    return out


def dumps(document: Any) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


# -- states of a venue ------------------------------------------------------------------------

#: a typical price per base asset, in quote units, for the venue states
_HUMAN_PRICE = {"BTC": 60_000, "XBT": 60_000, "ETH": 3_000}


def venue_marks(profile: Profile) -> dict[str, int]:
    marks = {}
    for market in profile.markets.values():
        human = next((p for k, p in _HUMAN_PRICE.items() if market.market_id.startswith(k)), 100)
        exponent = market.price_decimals
        marks[market.market_id] = human * 10**exponent if exponent >= 0 else \
            max(1, human // 10**-exponent)
    return marks


def _lots_for(profile: Profile, marks: dict[str, int], market_id: str, notional: int) -> int:
    market = profile.markets[market_id]
    return max(1, div_ceil(notional, marks[market_id] * market.value_per_lot_tick))


def _with_equity(state: State, account: Account, equity: int) -> Account:
    """Set the account's quote so that its equity at the marks is exactly ``equity``."""
    value = ref.equity_quote(Account("x", 0, dict(account.positions)), state.marks, state.profile)
    account.quote = equity - value
    return account


def _cost(state: State, account: Account, ppm: int) -> None:
    """A cost basis ``ppm`` of the current value (PnL% for the deleveraging ranking)."""
    for market_id, lots in account.positions.items():
        market = state.market(market_id)
        account.cost_quote[market_id] = lots * state.marks[market_id] * \
            market.value_per_lot_tick * ppm // PPM


def venue_state(profile: Profile, stressed: bool = False, books: bool = True) -> State:
    """A venue's state with accounts placed on the boundaries the rules turn on.

    Healthy: ``at_mm`` (equity exactly maintenance, on the first tier floor above the base tier
    where there is one, in notional or, in a market keyed by size, in lots; liquidatable under
    the ``at_or_below`` trigger, LIQ-TRIGGER-3), ``below_mm`` (one quantum below),
    ``short_below`` (a short one below),
    ``winner1``/``winner2`` (profitable opposite positions), ``iso`` (isolated in the second
    market), ``flat`` (quote only), a backstop ``vault`` and the ``book`` account that holds the
    net opposite position and the books. Stressed adds ``bankrupt`` (equity below zero, within
    the fund) and ``deep`` (equity below minus the fund)."""
    marks = venue_marks(profile)
    state = ref.new_state(profile, marks)
    unit = 10**profile.quote_decimals
    m0, m1 = (list(profile.markets) * 2)[:2]
    market0 = profile.markets[m0]
    if market0.tier_basis == "size" and len(market0.tiers) > 1:  # LIQ-TIER-8: a size on a floor
        lots = market0.tiers[1].floor_lots
    else:
        floor = market0.tiers[1].floor_notional_quote if len(market0.tiers) > 1 else 20_000 * unit
        lots = _lots_for(profile, marks, m0, floor)
    small = _lots_for(profile, marks, m0, 5_000 * unit)
    fund = 1_000 * unit
    accounts = [
        Account("at_mm", positions={m0: lots}),
        Account("below_mm", positions={m0: small}),
        Account("short_below", positions={m1: -_lots_for(profile, marks, m1, 3_000 * unit)}),
        Account("winner1", positions={m0: -small}),
        Account("winner2", positions={m0: -lots}),
        Account("iso", positions={m1: _lots_for(profile, marks, m1, 1_000 * unit)},
                isolated_market=m1),
        Account("flat", quote=10_000 * unit),
    ]
    if stressed:
        accounts += [Account("bankrupt", positions={m0: small}),
                     Account("deep", positions={m0: lots})]
    for account in accounts:
        state.accounts[account.account_id] = account
    for account in accounts:
        mm = ref.account_maintenance_margin_quote(account, marks, profile)
        target = {"at_mm": mm, "below_mm": mm - 1, "short_below": mm - 1,
                  "winner1": 2_000 * unit, "winner2": 30_000 * unit, "iso": 3 * mm + unit,
                  "bankrupt": -fund // 10, "deep": -fund - 5 * unit}.get(account.account_id)
        if target is not None:
            _with_equity(state, account, target)
        _cost(state, account, {"winner1": 1_100_000, "winner2": 1_020_000}.get(
            account.account_id, 1_000_000))
    book = Account("book", quote=10**7 * unit, role=LIQUIDITY)
    for market_id in profile.markets:
        net = sum(a.position(market_id) for a in accounts)
        if net:
            book.positions[market_id] = -net
    state.accounts["book"] = book
    state.accounts["vault"] = Account("vault", quote=10**6 * unit, role=BACKSTOP)
    if books:
        for market_id in profile.markets:
            state.books[market_id] = build_book(
                BookShape(4, 2_000, max(1, lots // 3)), marks[market_id], "book")
    state.holders[INSURANCE_FUND] = fund
    state.holders[OUTSIDE] = -sum(a.quote for a in state.accounts.values()) - fund
    return state


def edge_state(profile: Profile) -> State:
    """The int64 limits: an account holding 2^63 - 1 quote, one with a position worth nearly
    2^63 - 1, one at -2^63 + 1."""
    marks = venue_marks(profile)
    state = ref.new_state(profile, marks)
    m0 = next(iter(profile.markets))
    unit = marks[m0] * profile.markets[m0].value_per_lot_tick
    big = INT64_MAX // unit
    state.accounts["max_quote"] = Account("max_quote", quote=INT64_MAX)
    state.accounts["max_long"] = Account("max_long", quote=0, positions={m0: big})
    state.accounts["min_quote"] = Account("min_quote", quote=INT64_MIN + 1, positions={m0: -big})
    state.holders[OUTSIDE] = INT64_MIN + 1
    return state


def socialize_profile() -> Profile:
    """The example venue (``liqspec.testing``) with socialized losses and a backstop: the profile
    that reaches the socialization rules with a book and a one-market sizing, which the shipped
    venue that socializes (Paradex, by account share) does not."""
    from liqspec.testing import example_profile
    return example_profile(name="example_socialize", bad_debt_policy="socialize",
                           backstop_ratio=(2, 3), adl_ranking="pro_rata")


def socialize_both_sides_profile() -> Profile:
    """The example venue charging a loss to both sides of its market (Drift v2's socialization,
    LIQ-SOCIAL-2), in portions of half a position."""
    from liqspec.testing import example_profile
    return example_profile(name="example_socialize_both_sides",
                           bad_debt_policy="socialize_both_sides", liquidation_size="portion",
                           portion_ppm=500_000, portion_threshold_quote=0)


def cover_shortage_profile() -> Profile:
    """The example venue liquidating to cover the margin shortage (Drift v2's sizing and two
    fees, LIQ-SHORTAGE-1, LIQ-FEE-3, LIQ-FEE-4) on its tiered markets, with a 3% buffer, a 0.5%
    liquidator's fee, no threshold and deleveraging: drift_v2's markets have one tier each."""
    from liqspec.testing import example_profile
    return example_profile(name="example_cover_shortage", liquidation_size="cover_shortage",
                           fee_policy="liquidator_and_fund", liquidation_buffer_ppm=30_000,
                           liquidator_fee_ppm=5_000, portion_threshold_quote=0)


def example_profiles() -> list[Profile]:
    """The example venues whose policies no shipped profile has, beside the shipped ones."""
    return [socialize_profile(), socialize_both_sides_profile(), cover_shortage_profile()]


# -- the cases ---------------------------------------------------------------------------------

def _queries(profile: Profile, state: State, suite: str, tag: str) -> Iterator[tuple]:
    """(state, op, case, description) for every read query on a state."""
    traders = [a for a in sorted(state.accounts) if state.accounts[a].role == "trader"]
    for account_id in traders:
        for name in ("equity_quote", "account_maintenance_margin_quote",
                     "account_initial_margin_quote", "free_collateral_quote", "is_liquidatable",
                     "is_below_backstop"):
            yield state, request_op(name, account_id=account_id), f"{tag}_{account_id}", \
                f"{name} of {account_id}"
        for market_id in sorted(state.accounts[account_id].positions):
            for name in ("bankruptcy_price", "liquidation_price", "liquidation_size_lots",
                         "adl_allocation"):
                yield state, request_op(name, account_id=account_id, market_id=market_id), \
                    f"{tag}_{account_id}_{market_id}", f"{name} of {account_id} in {market_id}"
            held = abs(state.accounts[account_id].positions[market_id])
            if account_id not in ("bankrupt", "deep", "max_long"):
                continue
            for lots in sorted({1, held}):
                yield state, request_op("adl_receive_quote", account_id=account_id,
                                        market_id=market_id, lots=lots, fund_peak_quote=0), \
                    f"{tag}_{account_id}_{market_id}_{lots}", \
                    f"quote {account_id} receives for {lots} lots deleveraged"
            # LIQ-ADL-5: a peak of twice the fund and one more, a fall past half of it, is a
            # drawdown wherever the profile has the rule (the mark then), and nothing elsewhere
            peak = 2 * state.holders[INSURANCE_FUND] + 1
            yield state, request_op("adl_receive_quote", account_id=account_id,
                                    market_id=market_id, lots=held, fund_peak_quote=peak), \
                f"{tag}_{account_id}_{market_id}_{held}_peak", \
                f"quote {account_id} receives for {held} lots, the fund at under half its peak"
    for market_id in profile.markets:
        yield state, request_op("open_interest_quote", market_id=market_id), \
            f"{tag}_{market_id}", f"open interest of {market_id}"
    for market_id in list(profile.markets)[:1]:
        for rate in (0, 1, -1, 375, PPM, -PPM - 1):
            yield state, request_op("funding_owed", market_id=market_id, rate_ppm=rate), \
                f"{tag}_{market_id}_rate{rate}", f"funding owed at {rate} ppm"


def _requirements(profile: Profile, state: State) -> Iterator[tuple]:
    """Each tier floor, one below and one above, the first notionals and the int64 limit."""
    for market in profile.markets.values():
        notionals = {0, 1, INT64_MAX}
        for tier in market.tiers[1:]:
            notionals |= {tier.floor_notional_quote + d for d in (-1, 0, 1)} - {-1}
        caps = (0,) if market.oi_scaling is None else (
            0, market.oi_scaling.lower_cap_quote, market.oi_scaling.lower_cap_quote + 1,
            (market.oi_scaling.lower_cap_quote + market.oi_scaling.upper_cap_quote) // 2,
            market.oi_scaling.upper_cap_quote)
        for notional in sorted(notionals):
            yield state, request_op("maintenance_requirement", market_id=market.market_id,
                                    notional_quote=notional), \
                f"{market.market_id}_n{notional}", f"maintenance at notional {notional}"
            for oi in caps:
                yield state, request_op("initial_requirement", market_id=market.market_id,
                                        notional_quote=notional, open_interest_quote=oi), \
                    f"{market.market_id}_n{notional}_oi{oi}", \
                    f"initial margin at notional {notional}, open interest {oi}"


def _fees(profile: Profile, state: State) -> Iterator[tuple]:
    """The fee of a step of ``below_mm`` at the mark and at its bankruptcy price +-1 tick, with
    the surplus at zero, one quantum, and plenty."""
    account = state.accounts["below_mm"]
    for market_id, position in account.positions.items():
        exact = ref.bankruptcy_price(account, market_id, state.marks, profile)
        lots = step_lots(account, market_id, state)
        side = 1 if position > 0 else -1
        for label, price in (("mark", state.marks[market_id]), ("bankruptcy", exact.ticks),
                             ("bankruptcy_minus_1", exact.ticks - 1),
                             ("bankruptcy_plus_1", exact.ticks + 1)):
            for surplus in (0, 1, 10**12, -1):
                yield state, request_op(
                    "liquidation_fee", market_id=market_id, side=side, lots=lots,
                    fill_price_ticks=price, bankruptcy_num=exact.exact.numerator,
                    bankruptcy_den=exact.exact.denominator, surplus_quote=surplus), \
                    f"{market_id}_{label}_surplus{surplus}", \
                    f"fee of closing {lots} lots at the {label.replace('_', ' ')} price, " \
                    f"surplus {surplus}"


def _operations(profile: Profile, healthy: State, stressed: State,
                bare: State) -> Iterator[tuple]:
    m0, m1 = (list(profile.markets) * 2)[:2]
    mark0 = healthy.marks[m0]
    unit = 10**profile.quote_decimals
    yield from (
        (healthy, request_op("deposit", account_id="flat", amount_quote=1), "one", "deposit 1"),
        (healthy, request_op("deposit", account_id="flat", amount_quote=INT64_MAX - 10**4 * unit),
         "int64_edge", "a deposit that takes the quote to the edge of int64"),
        (healthy, request_op("deposit", account_id="flat", amount_quote=INT64_MAX),
         "overflow", "a deposit that takes the quote past 2^63 - 1"),
        (healthy, request_op("deposit", account_id="flat", amount_quote=0), "zero", "deposit 0"),
        (healthy, request_op("deposit", account_id="flat", amount_quote=-1), "negative",
         "deposit -1"),
        (healthy, request_op("deposit", account_id="ghost", amount_quote=1), "unknown_account",
         "deposit into an unknown account"),
        (healthy, request_op("withdraw", account_id="flat", amount_quote=unit), "one_unit",
         "withdraw one quote unit"),
        (healthy, request_op("withdraw", account_id="flat", amount_quote=10_000 * unit), "all",
         "withdraw the whole free collateral"),
        (healthy, request_op("withdraw", account_id="flat", amount_quote=10_000 * unit + 1),
         "one_too_many", "withdraw one quantum more than the free collateral"),
        (healthy, request_op("withdraw", account_id="at_mm", amount_quote=1), "below_initial",
         "withdraw from an account at maintenance"),
        (stressed, request_op("withdraw", account_id="flat", amount_quote=1), "gated",
         "withdraw while an account has negative equity"),
        (healthy, request_op("withdraw", account_id="flat", amount_quote=0), "zero",
         "withdraw 0"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="winner2", market_id=m0,
                             lots=1, price_ticks=mark0), "one_lot", "a one-lot trade at the mark"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="winner2", market_id=m0,
                             lots=10**12, price_ticks=mark0), "too_large",
         "a trade beyond the buyer's initial margin"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="flat", market_id=m0, lots=1,
                             price_ticks=mark0), "same_account", "a trade with itself"),
        (healthy, request_op("trade", buyer_id="iso", seller_id="winner2", market_id=m0, lots=1,
                             price_ticks=mark0), "isolated_elsewhere",
         "an isolated account trading outside its market"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="winner2", market_id=m0, lots=0,
                             price_ticks=mark0), "zero_lots", "a trade of zero lots"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="winner2", market_id=m0, lots=1,
                             price_ticks=0), "zero_price", "a trade at price 0"),
        (healthy, request_op("trade", buyer_id="flat", seller_id="winner2", market_id="ghost",
                             lots=1, price_ticks=mark0), "unknown_market",
         "a trade in an unknown market"),
        (healthy, request_op("trade", buyer_id="below_mm", seller_id="winner2", market_id=m0,
                             lots=1, price_ticks=mark0), "worsens_health",
         "an account below maintenance adding to its position"),
        (healthy, request_op("trade", buyer_id="winner2", seller_id="below_mm", market_id=m0,
                             lots=1, price_ticks=mark0), "reduce_at_mark",
         "an account below maintenance selling one lot at the mark"),
        (healthy, request_op("trade", buyer_id="winner2", seller_id="below_mm", market_id=m0,
                             lots=1, price_ticks=1), "reduce_at_a_loss",
         "an account below maintenance reducing at a price that worsens its shortfall"),
        (healthy, request_op("set_mark", market_id=m0, price_ticks=mark0 - 1), "down_one_tick",
         "the mark one tick lower"),
        (healthy, request_op("set_mark", market_id=m0, price_ticks=INT64_MAX), "int64_max",
         "the mark at 2^63 - 1"),
        (healthy, request_op("set_mark", market_id=m0, price_ticks=0), "zero", "mark 0"),
        (healthy, request_op("set_mark", market_id="ghost", price_ticks=1), "unknown_market",
         "the mark of an unknown market"),
        (healthy, request_op("open_account", account_id="new", isolated_market=None), "cross",
         "a new cross account"),
        (healthy, request_op("open_account", account_id="new", isolated_market=m1), "isolated",
         "a new isolated account"),
        (healthy, request_op("open_account", account_id="flat", isolated_market=None),
         "existing", "an account that exists"),
        (healthy, request_op("replace_book", market_id=m0,
                             shape=BookShape(3, 1_000, 7), account_id="book"), "three_levels",
         "a book of three levels each side"),
        (healthy, request_op("replace_book", market_id=m0,
                             shape=BookShape(3, 1_000, 7), account_id="flat"), "not_liquidity",
         "a book held by a trader"),
        (healthy, request_op("fund_insurance", amount_quote=1), "one", "a top-up of 1"),
        (healthy, request_op("fund_insurance", amount_quote=INT64_MAX - 1_000 * unit),
         "int64_edge", "a top-up to exactly 2^63 - 1"),
        (healthy, request_op("fund_insurance", amount_quote=INT64_MAX - 1_000 * unit + 1),
         "overflow", "a top-up past 2^63 - 1"),
        (healthy, request_op("fund_insurance", amount_quote=0), "zero", "a top-up of 0"),
    )
    for rate in (0, 1, -1, 100, -375, PPM, -PPM, PPM + 1):
        yield healthy, request_op("apply_funding", market_id=m0, rate_ppm=rate), \
            f"rate{rate}", f"funding at {rate} ppm"
    yield healthy, request_op("apply_funding", market_id="ghost", rate_ppm=1), \
        "unknown_market", "funding of an unknown market"
    # liquidation: exact maintenance is safe, one below is not; fills at bankruptcy +-1 tick
    below = stressed.accounts["below_mm"]
    exact = ref.bankruptcy_price(below, m0, stressed.marks, profile).ticks
    size = step_lots(below, m0, stressed)
    for label, price in (("mark", mark0), ("bankruptcy", exact),
                         ("bankruptcy_minus_1", exact - 1), ("bankruptcy_plus_1", exact + 1)):
        yield stressed, request_op("liquidate", account_id="below_mm", market_id=m0,
                                   counterparty_id="book", fill_price_ticks=price, lots=None), \
            f"at_{label}", f"below_mm liquidated against the book at the {label} price"
    for who, counterparty, lots, case, text in (
            ("at_mm", "book", None, "exact_maintenance", "an account exactly at maintenance"),
            ("below_mm", "book", 1, "one_lot", "a one-lot step"),
            ("below_mm", "book", size + 1, "beyond_policy", "one lot more than the policy"),
            ("below_mm", "below_mm", None, "same_account", "an account against itself"),
            ("vault", "book", None, "not_trader", "a backstop vault as the subject"),
            ("below_mm", "iso", None, "isolated_counterparty",
             "an isolated counterparty outside its market"),
            ("below_mm", "ghost", None, "unknown_counterparty", "an unknown counterparty"),
            ("below_mm", "book", 0, "zero_lots", "a step of zero lots"),
            ("bankrupt", "book", None, "bankrupt", "a bankrupt account: the fund pays"),
            ("deep", "book", None, "deep", "beyond the fund: the rest is written off")):
        yield stressed, request_op("liquidate", account_id=who, market_id=m0,
                                   counterparty_id=counterparty, fill_price_ticks=mark0,
                                   lots=lots), case, text
    if m1 != m0:
        yield stressed, request_op("liquidate", account_id="below_mm", market_id=m1,
                                   counterparty_id="book", fill_price_ticks=stressed.marks[m1],
                                   lots=None), "no_position", "a market the account does not hold"
    for who, market_id, state, case, text in (
            ("below_mm", m0, stressed, "below_mm", "one below maintenance, into the book"),
            ("bankrupt", m0, stressed, "bankrupt", "a bankrupt account into the book"),
            ("deep", m0, stressed, "deep", "beyond the fund: the book is too thin within it"),
            ("short_below", m1, stressed, "short", "a short one below maintenance"),
            ("at_mm", m0, stressed, "exact_maintenance", "an account exactly at maintenance"),
            ("below_mm", m0, bare, "no_book", "a market without a book"),
            ("vault", m0, stressed, "not_trader", "a vault as the subject")):
        yield state, request_op("market_liquidate", account_id=who, market_id=market_id), \
            case, text
    for who, vault, case, text in (
            ("deep", "vault", "deep", "the vault takes over an account beyond the fund"),
            ("below_mm", "vault", "below_mm", "one below maintenance: above the backstop threshold"),
            ("at_mm", "vault", "exact_maintenance", "an account at maintenance"),
            ("deep", "book", "not_vault", "a book account as the vault"),
            ("deep", "deep", "same_account", "an account as its own vault")):
        yield stressed, request_op("backstop_liquidate", account_id=who, vault_id=vault), \
            case, text
    for who, vault, case, text in (
            ("below_mm", "vault", "below_mm", "one below maintenance: the first share"),
            ("deep", "vault", "deep", "beyond the fund: the whole account, the rest written off"),
            ("bankrupt", "vault", "bankrupt", "a bankrupt account: the fund pays"),
            ("at_mm", "vault", "exact_maintenance", "an account at maintenance"),
            ("deep", "book", "not_vault", "a book account as the vault"),
            ("deep", "deep", "same_account", "an account as its own vault"),
            ("vault", "deep", "not_trader", "a vault as the subject")):
        yield stressed, request_op("share_liquidate", account_id=who, vault_id=vault), \
            case, text
    for who, state, case, text in (
            ("deep", bare, "deep", "bankrupt beyond the fund, no book: deleveraged"),
            ("bankrupt", bare, "fund_covers", "bankrupt within the fund"),
            ("below_mm", bare, "not_bankrupt", "positive equity, no book"),
            ("deep", stressed, "deep_with_book", "beyond the fund with a book"),
            ("at_mm", stressed, "exact_maintenance", "at maintenance with a book"),
            ("flat", bare, "no_position", "no position"),
            ("vault", bare, "not_trader", "a vault as the subject")):
        yield state, request_op("deleverage", account_id=who, market_id=m0,
                                fund_peak_quote=0), case, text
    # LIQ-ADL-5: the fund at under half its peak (in drawdown where the profile has the rule:
    # deleveraged at the mark though the fund could cover), and peaks outside the domain
    peak = 2 * bare.holders[INSURANCE_FUND] + 1
    yield bare, request_op("deleverage", account_id="bankrupt", market_id=m0,
                           fund_peak_quote=peak), "fund_covers_peak", \
        "bankrupt within the fund, which is at under half its peak"
    for peak, case in ((-1, "negative_peak"), (INT64_MAX + 1, "peak_past_int64")):
        yield bare, request_op("deleverage", account_id="deep", market_id=m0,
                               fund_peak_quote=peak), case, f"a fund peak of {peak}"
    alone = bare.copy()
    for winner in ("winner1", "winner2"):
        del alone.accounts[winner]
    yield alone, request_op("deleverage", account_id="deep", market_id=m0,
                            fund_peak_quote=0), "no_opposite", \
        "nobody but the book holds the opposite side"
    for side in (1, -1, 0, 2):
        yield stressed, request_op("socialize_loss", market_id=m0, side=side), f"side{side}", \
            f"socialize onto side {side}"


def _socialize(profile: Profile) -> Iterator[tuple]:
    """Socialized losses (example venue): recorded bad debt spread over a side, none recorded, and a
    side nobody holds."""
    stressed = venue_state(profile, stressed=True, books=False)
    debt = stressed.copy()
    debt.holders[SOCIALIZED_LOSS] = -12_345
    debt.holders[OUTSIDE] += 12_345
    m0 = next(iter(profile.markets))
    for side in (1, -1, 0):
        yield debt, request_op("socialize_loss", market_id=m0, side=side), f"debt_side{side}", \
            f"recorded bad debt spread over side {side}" + (" (both)" if side == 0 else "")
    for amount, case in ((5_000, "part"), (12_345, "part_whole"), (12_346, "part_above"),
                         (0, "part_zero")):
        yield debt, request_op("socialize_loss", market_id=m0, side=-1, amount_quote=amount), \
            f"debt_{case}", f"{amount} of the 12,345 recorded spread over the shorts"
    yield stressed, request_op("socialize_loss", market_id=m0, side=1), "no_debt", \
        "no recorded bad debt"
    lonely = debt.copy()
    for account in lonely.accounts.values():
        if account.position(m0) < 0:
            account.positions.pop(m0)
            account.cost_quote.pop(m0, None)
    yield lonely, request_op("socialize_loss", market_id=m0, side=-1), "no_base", \
        "nobody holds the side"
    yield stressed, request_op("deleverage", account_id="deep", market_id=m0,
                               fund_peak_quote=0), "policy", \
        "deleveraging on a venue that socializes"
    yield stressed, request_op("liquidate", account_id="deep", market_id=m0,
                               counterparty_id="book", fill_price_ticks=stressed.marks[m0],
                               lots=None), "write_off", "a write-off the fund cannot cover"


def _cascades(profile: Profile) -> Iterator[tuple]:
    """A falling price path over the venue's state, with and without a backstop vault (always
    with one where it takes the shares, LIQ-SHARE-2)."""
    state = venue_state(profile, stressed=True, books=False)
    lots = max(1, max(abs(v) for a in state.accounts.values() for v in a.positions.values()) // 4)
    by_share = profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE  # the vault takes them
    for drop, vault, case in ((20_000, None, "drop_2pct"), (80_000, None, "drop_8pct"),
                              (80_000, "vault", "drop_8pct_vault")):
        vault = "vault" if by_share else vault
        path = {m: tuple(state.marks[m] * (PPM - drop * k // 3) // PPM for k in (1, 2, 3))
                for m in profile.markets}
        config = CascadeConfig(PricePath(60, path),
                               {m: BookShape(5, 2_000, lots) for m in profile.markets},
                               book_account="book", backstop_vault=vault,
                               mark_rule=MarkRule("index_band", 5_000))
        yield state, request_op("run_cascade", config=config), case, \
            f"the index falls {drop / 10_000:g}% in three steps" + \
            (", a backstop vault standing by" if vault else "")


def _random(profile: Profile, seed: int, cases: int) -> Iterator[tuple]:
    """Seeded states and operations on the venue (the ``liqspec difftest`` generators)."""
    from liqspec.testing.cases import Case, _near_boundary_quote, _positions, random_calls
    rng = random.Random(f"{profile.name}/{seed}")
    made = 0
    while made < cases:
        marks = {m: max(1, p * rng.randint(500, 1500) // 1000)
                 for m, p in venue_marks(profile).items()}
        fund = rng.choice((0, 10**rng.randint(0, 12)))
        accounts = []
        for i in range(rng.randint(2, 5)):
            held = [m for m in profile.markets if rng.random() < 0.6] or [next(iter(marks))]
            positions, cost = _positions(rng, profile, marks, held)
            account = Account(f"t{i}", positions=positions, cost_quote=cost)
            account.quote = _near_boundary_quote(rng, profile, marks, account, fund)
            accounts.append(account)
        accounts.append(Account("book", quote=10**15, role=LIQUIDITY))
        accounts.append(Account("vault", quote=10**15, role=BACKSTOP))
        books = {m: build_book(BookShape(rng.randint(1, 5), rng.randint(1, 20_000),
                                         rng.randint(1, 10**6)), marks[m], "book")
                 for m in profile.markets if rng.random() < 0.7}
        holders = {INSURANCE_FUND: fund, OUTSIDE: -fund - sum(a.quote for a in accounts)}
        scenario = Case(seed, profile, marks, accounts, 0, {m: 0 for m in marks},
                            holders=holders, books=books)
        state = scenario.state()
        tag = f"s{seed}_{made}"
        if rng.random() < 0.4:
            account_id = rng.choice([a.account_id for a in accounts[:-2]])
            name = rng.choice(tuple(n for n, e in CATALOGUE.items() if e.kind == QUERY
                                    and ("account_id",) == tuple(a for a, _ in e.args)))
            yield state, request_op(name, account_id=account_id), tag, f"random: {name}"
        else:
            op, args = random_calls(rng, scenario, 1)[0]
            names = [a for a, _ in CATALOGUE[op].args]
            yield state, request_op(op, **dict(zip(names, args))), tag, f"random: {op}"
        made += 1


def in_domain(vector: Vector) -> bool:
    if vector.name not in ("bankruptcy_price", "liquidation_price") or "ok" not in vector.expected:
        return True
    result = vector.expected["ok"]["result"]
    return all(INT64_MIN <= int(result[k]) <= INT64_MAX for k in ("ticks", "num", "den"))


def generate(seed: int = COMPACT_SEED, random_cases: int = COMPACT_RANDOM_CASES) -> list[Vector]:
    """Every vector, for every venue profile and the socializing example venue (deterministic)."""
    vectors: list[Vector] = []
    seen: set[str] = set()

    def add(profile: Profile, items: Iterator[tuple], suite: str | None = None) -> None:
        for state, op, case, description in items:
            vector = make(profile, state, op, suite or "boundary", case, description)
            if suite is None and "error" in vector.expected:
                vector.suite = "reject"
            if not in_domain(vector) or vector.folder in seen:
                continue
            seen.add(vector.folder)
            vectors.append(vector)

    profiles = [PROFILES[name] for name in sorted(PROFILES)] + example_profiles()
    for profile in profiles:
        healthy = venue_state(profile)
        stressed = venue_state(profile, stressed=True)
        bare = venue_state(profile, stressed=True, books=False)
        add(profile, _queries(profile, stressed, "boundary", "venue"))
        add(profile, _queries(profile, edge_state(profile), "boundary", "int64"))
        add(profile, _requirements(profile, healthy))
        add(profile, _fees(profile, stressed))
        add(profile, _operations(profile, healthy, stressed, bare))
        add(profile, _cascades(profile))
        add(profile, _random(profile, seed, random_cases), "random")
        if profile.bad_debt_policy in SOCIALIZING:
            add(profile, _socialize(profile))
    return vectors


# -- writing and reading -----------------------------------------------------------------------

def write_tree(vectors: list[Vector], out: Path) -> int:
    """Write vectors as folders under ``out``; returns the number of files written."""
    count = 0
    for vector in vectors:
        folder = out / vector.folder
        folder.mkdir(parents=True, exist_ok=True)
        for name, doc in files_of(vector).items():
            (folder / name).write_text(dumps(doc))
            count += 1
    return count


def archive_bytes(vectors: list[Vector], kind: str = "tar.gz") -> bytes:
    """The vectors' tree as a ``tar.gz`` (one compressed stream: the shared profiles compress
    away; the shipped form) or a ``zip``, under ``vectors/``. Fixed timestamps and order: the
    bytes depend on the vectors alone."""
    members = [(f"vectors/{v.folder}/{name}", dumps(doc).encode())
               for v in vectors for name, doc in files_of(v).items()]
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, data)
        return buffer.getvalue()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as packed:
        packed.write(raw.getvalue())
    return buffer.getvalue()


class VectorSource:
    """The vectors of a folder tree, a ``.zip`` or a ``.tar.gz`` (default: the set shipped in the
    package), and which of their files were read."""

    def __init__(self, location: str | Path | None = None):
        self.location = location
        self.read: set[str] = set()
        self._members: dict[str, bytes] | None = None
        self._folder: Path | None = None  # a folder tree's root; archives are read into _members
        if location is None:
            data = resources.files("liqspec.conformance").joinpath(SHIPPED).read_bytes()
            self._members = _unpack(data, "tar.gz")
        elif str(location).endswith((".zip", ".tar.gz")):
            path = Path(location)
            self._members = _unpack(path.read_bytes(), "zip" if path.suffix == ".zip"
                                    else "tar.gz")
        else:
            self._folder = Path(location)
        self.files = self._list()

    def _list(self) -> list[str]:
        if self._members is not None:
            return sorted(self._members)
        assert self._folder is not None  # neither the shipped set nor an archive: a folder
        root = self._folder
        return sorted(str(p.relative_to(root)) for p in root.rglob("*.json")
                      if p.parent.name != "schemas")

    def _text(self, name: str) -> str:
        self.read.add(name)
        if self._members is not None:
            return self._members[name].decode()
        assert self._folder is not None  # neither the shipped set nor an archive: a folder
        return (self._folder / name).read_text()

    def folders(self) -> list[str]:
        return sorted({name.rsplit("/", 1)[0] for name in self.files
                       if name.endswith("/meta.json")})

    def load(self, folder: str) -> Vector:
        """One case; a file that is missing or not valid JSON raises CodecError."""
        def doc(name: str) -> dict[str, Any]:
            path = f"{folder}/{name}"
            try:
                data = json.loads(self._text(path))
            except (KeyError, FileNotFoundError, json.JSONDecodeError) as error:
                raise codec.CodecError(f"{path}: {error}") from None
            codec.check_format(data, path)
            data.pop("format")
            return data
        meta, pre, op = doc("meta.json"), doc("pre.json"), doc("op.json")
        has_post = f"{folder}/post.json" in self.files
        expected = {"ok": doc("post.json")} if has_post else {"error": doc("error.json")}
        return Vector(meta["profile"], meta["name"], meta["suite"], meta["case"],
                      meta["description"], pre, op, expected, meta["rules"], folder)

    def vectors(self) -> Iterator[Vector]:
        for folder in self.folders():
            yield self.load(folder)


def _unpack(data: bytes, kind: str) -> dict[str, bytes]:
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {}
        for member in archive.getmembers():
            file = archive.extractfile(member) if member.isfile() else None
            if file is not None:  # a regular file (directories have no content)
                members[member.name] = file.read()
        return members


def compact() -> list[Vector]:
    """The set shipped in the package (:data:`SHIPPED`)."""
    return generate(COMPACT_SEED, COMPACT_RANDOM_CASES)

