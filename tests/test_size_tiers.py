"""Tiers keyed by position size (LIQ-TIER-8): the reference's rule, its validation, and the
compiled engine and kernels agreeing with it on every query, batch kernel and cascade."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import liqspec.codec as codec
import liqspec.fast as fast
from liqspec import statefile
from liqspec.explain import explain_loaded, render_text
from liqspec.statefile import StateFileError
from liqspec.fast.compare import FAST, REFERENCE, divergences
from liqspec.fast.difftest import KINDS, check_example, kind_of
from liqspec.reference import (Account, MalformedState, Tier, liquidation_price,
                               liquidation_size_lots, maintenance_margin_quote, tier_for)
from liqspec.reference.arithmetic import PPM
from liqspec.testing import EXAMPLE_MARKS, example_profile, venue
from liqspec.testing.cases import (Case, random_adl_cascade, random_cascade, random_case,
                                   random_operations)

EX = example_profile()
# EX's BTC keyed by size: 0.4% below 1 BTC (1,000 lots), 0.5% from 1 BTC, 0.75% from 5 BTC
SIZED_TIERS = (Tier(0, 4_000, init_margin_ppm=10_000),
               Tier(0, 5_000, init_margin_ppm=15_000, floor_lots=1_000),
               Tier(0, 7_500, init_margin_ppm=20_000, floor_lots=5_000))
SIZED = replace(EX, name="sized", markets={**EX.markets, "BTC": replace(
    EX.market("BTC"), tier_basis="size", tiers=SIZED_TIERS)})
BTC = SIZED.market("BTC")


def usdt(amount: int) -> int:
    return amount * 10**6


def test_the_tier_is_the_size_s_at_every_mark_LIQ_TIER_8():
    # 2 BTC long: the second tier at 60,000 and at 40,000 USDT of notional, where EX's
    # notional-keyed table puts 40,000 in the first
    assert maintenance_margin_quote(BTC, usdt(60_000), 2_000) == usdt(300)
    assert maintenance_margin_quote(BTC, usdt(40_000), 2_000) == usdt(200)
    assert maintenance_margin_quote(BTC, usdt(40_000), -2_000) == usdt(200)
    assert maintenance_margin_quote(EX.market("BTC"), usdt(40_000)) == usdt(160)
    # the floors belong to the tier they start; one lot below stays in the tier before
    assert [SIZED_TIERS.index(tier_for(BTC, 1, lots)) for lots in
            (1, 999, 1_000, 4_999, 5_000, -5_000, 10**9)] == [0, 0, 1, 1, 2, 2, 2]


def test_a_notional_alone_has_no_tier_in_a_market_keyed_by_size_LIQ_TIER_8():
    with pytest.raises(MalformedState, match="keys its tiers by size"):
        tier_for(BTC, usdt(40_000))
    with pytest.raises(MalformedState, match="keys its tiers by size"):
        fast.maintenance_requirement(venue(profile=SIZED), "BTC", usdt(40_000))


@pytest.mark.parametrize("tiers, message", [
    ((Tier(0, 4_000, 0, 8_000), Tier(0, 5_000, 10, 9_000, floor_lots=1_000)), "no deductions"),
    ((Tier(0, 4_000, 0, 8_000), Tier(5, 5_000, 0, 9_000, floor_lots=1_000)),
     "unread under tier_basis size"),
    ((Tier(0, 4_000, 0, 8_000), Tier(0, 5_000, 0, 9_000, floor_lots=0)), "floors must increase"),
    ((Tier(0, 4_000, 0, 8_000, floor_lots=3),), "first tier must start at 0 lots"),
    ((Tier(0, 5_000, 0, 8_000), Tier(0, 4_000, 0, 9_000, floor_lots=10)), "must not decrease"),
])
def test_bad_size_keyed_tables_are_refused_LIQ_TIER_8(tiers, message):
    market = replace(EX.market("BTC"), tier_basis="size", tiers=tiers)
    with pytest.raises(MalformedState, match=message):
        replace(EX, markets={**EX.markets, "BTC": market})


def test_floor_lots_and_unknown_bases_are_refused_under_the_notional_basis_LIQ_TIER_8():
    notional = EX.market("BTC")
    with pytest.raises(MalformedState, match="only under tier_basis size"):
        replace(EX, markets={**EX.markets, "BTC": replace(
            notional, tiers=(replace(notional.tiers[0], floor_lots=5),) + notional.tiers[1:])})
    with pytest.raises(MalformedState, match="unknown BTC.tier_basis"):
        replace(EX, markets={**EX.markets, "BTC": replace(notional, tier_basis="contracts")})


def _account(lots: int, quote: int) -> tuple:
    state = venue(profile=SIZED, marks=EXAMPLE_MARKS)
    state.accounts["a"] = Account("a", quote=quote, positions={"BTC": lots})
    return state, state.accounts["a"]


def test_tier_step_keeps_the_most_lots_below_the_size_s_floor_LIQ_TIER_8():
    stepped = replace(SIZED, liquidation_size="tier_step")
    for lots, closes in ((7_000, 7_000 - 4_999), (-5_000, 5_000 - 4_999), (1_500, 1_500 - 999),
                         (999, 999)):
        state = venue(profile=stepped, marks=EXAMPLE_MARKS)
        state.accounts["a"] = Account("a", quote=0, positions={"BTC": lots})
        assert liquidation_size_lots(state.accounts["a"], "BTC", state) == closes
        assert fast.liquidation_size_lots(state.accounts["a"], "BTC", state) == closes


def test_the_liquidation_price_is_the_size_s_tier_line_LIQ_TIER_8_LIQ_PRICE_2():
    # 2 BTC long, quote q (cost included): q + 2,000 * P * m = 2,000 * P * m * 0.5%, one line
    for quote in (-usdt(90_000), -usdt(60_000), -usdt(99_000)):
        state, account = _account(2_000, quote)
        m = BTC.value_per_lot_tick
        exact = Fraction(-quote * PPM, 2_000 * m * (PPM - 5_000))
        assert liquidation_price(account, "BTC", state.marks, SIZED).exact == exact
        arrays, tables = fast.pack_state(state), fast.tables_for(SIZED)
        ticks, num, den, codes = fast.liquidation_prices(arrays.quote, arrays.lots, arrays.marks,
                                                         tables, tables.column("BTC"))
        row = arrays.row("a")
        assert (codes[row], Fraction(int(num[row]), int(den[row]))) == (0, exact)


@given(rows=st.lists(st.tuples(st.integers(-10**13, 10**13), st.integers(-12_000, 12_000),
                               st.integers(-10**4, 10**4)), min_size=1, max_size=40),
       btc_mark=st.integers(1, 10**7))
def test_batch_health_and_prices_agree_with_the_reference_LIQ_TIER_8(rows, btc_mark):
    """The kernels' 64-bit health path reads notional floors only; a size-keyed market's
    positions take the checked path, and its prices the size's tier line."""
    marks = {"BTC": btc_mark, "ETH": EXAMPLE_MARKS["ETH"]}
    state = venue(profile=SIZED, marks=marks)
    for i, (quote, btc, eth) in enumerate(rows):
        state.accounts[f"r{i}"] = Account(f"r{i}", quote=quote, positions={
            m: n for m, n in (("BTC", btc), ("ETH", eth)) if n})
    arrays, tables = fast.pack_state(state), fast.tables_for(SIZED)
    equity, maint, flags = fast.health(arrays.quote, arrays.lots, arrays.marks, tables)
    ticks, _, _, codes = fast.liquidation_prices(arrays.quote, arrays.lots, arrays.marks, tables,
                                                 tables.column("BTC"))
    for account_id in state.accounts:
        if not account_id.startswith("r"):
            continue
        row, account = arrays.row(account_id), state.accounts[account_id]
        want_mm = REFERENCE.account_maintenance_margin_quote(account, state.marks, SIZED)
        assert int(maint[row]) == want_mm
        assert bool(flags[row]) == REFERENCE.is_liquidatable(account, state)
        if account.position("BTC"):
            want = REFERENCE.liquidation_price(account, "BTC", state.marks, SIZED)
            assert (int(codes[row]), int(ticks[row])) == (0, want.ticks)


def test_the_generators_reach_size_keyed_markets_past_their_first_tier_LIQ_TIER_8():
    """The difftest generators draw markets keyed by size, with positions on both sides of
    their floors, in every kind; so the campaign covers the rule on both implementations."""
    reached = {"queries": 0, "operations": 0, "adl": 0}
    for seed in range(400):
        for kind, case in (("queries", random_case(seed)),
                           ("operations", random_operations(seed)[0]),
                           ("adl", random_adl_cascade(seed)[0])):
            keyed = {m for m, market in case.profile.markets.items()
                     if market.tier_basis == "size"}
            for account in case.accounts:
                for market_id, lots in account.positions.items():
                    market = case.profile.markets[market_id]
                    if market_id in keyed and abs(lots) >= market.tiers[-1].floor_lots > 0:
                        reached[kind] += 1
    assert all(count >= 5 for count in reached.values()), reached


def _size_keyed(seed: int) -> bool:
    """Whether the difftest example of this seed has a market keyed by size (the generators of
    check_example, called as it calls them)."""
    kind = kind_of(seed)
    case = {"queries": lambda: random_case(seed, leverage=True),
            "operations": lambda: random_operations(seed, leverage=True)[0],
            "cascade": lambda: random_cascade(seed)[0],
            "adl": lambda: random_adl_cascade(seed)[0]}[kind]()
    return any(m.tier_basis == "size" for m in case.profile.markets.values())


def test_size_keyed_examples_agree_on_both_implementations_LIQ_TIER_8():
    """Difftest examples whose venue keys some tiers by size, 20 of each kind: no divergence."""
    wanted = {kind: 20 for kind in KINDS}
    seed = 0
    while any(wanted.values()):
        seed += 1
        if wanted[kind_of(seed)] and _size_keyed(seed):
            kind, _, divergence = check_example(seed)
            assert divergence is None, (seed, divergence)
            wanted[kind] -= 1


def test_queries_on_a_size_keyed_case_agree_LIQ_TIER_8():
    case = Case(0, SIZED, dict(EXAMPLE_MARKS), [
        Account("a", quote=-usdt(90_000), positions={"BTC": 2_000}),
        Account("b", quote=usdt(400_000), positions={"BTC": -6_000, "ETH": 3_000}),
        Account("c", quote=usdt(1), positions={"BTC": 999})], 100, {"BTC": 0, "ETH": 0})
    assert divergences(case) == []
    np.testing.assert_array_equal(fast.tables_for(SIZED).tier_by_size, [1, 0])


# -- state files, the codec and explain ----------------------------------------------------------

def _sized_document(tiers: list | None = None, **market) -> dict:
    """A one-market venue keyed by size: SIZED's BTC (0.4% from 0, 0.5% from 1 BTC, 0.75% from
    5 BTC), written as a user writes it, and one long of 2 BTC."""
    rows = tiers if tiers is not None else [
        {"floor_size": "0", "maint_margin_rate": "0.004", "init_margin_rate": "0.01"},
        {"floor_size": "1", "maint_margin_rate": "0.005", "init_margin_rate": "0.015"},
        {"floor_size": "5", "maint_margin_rate": "0.0075", "init_margin_rate": "0.02"}]
    btc = {"base_decimals": 3, "price_decimals": 1, "tier_basis": "size", "tiers": rows,
           **market}
    return {"venue": {"name": "sized", "quote_decimals": 6, "markets": {"BTC": btc}},
            "marks": {"BTC": "30000"},
            "accounts": [{"id": "t", "quote": "1000",
                          "positions": {"BTC": {"size": "2", "entry_price": "30000"}}}]}


def test_a_state_file_keys_tiers_by_size_LIQ_TIER_8():
    loaded = statefile.loads(json.dumps(_sized_document()))
    market = loaded.state.market("BTC")
    assert market.tier_basis == "size" and market.tiers == SIZED_TIERS
    assert REFERENCE.account_maintenance_margin_quote(
        loaded.state.account("t"), loaded.state.marks, loaded.state.profile) == usdt(300)


@pytest.mark.parametrize("change, path, message", [
    (lambda d: d["venue"]["markets"]["BTC"].update(tier_basis="contracts"),
     "venue.markets.BTC.tier_basis", "contracts"),
    (lambda d: d["venue"]["markets"]["BTC"]["tiers"][0].update(floor_size="0.5"),
     "venue.markets.BTC.tiers[0].floor_size", "start at 0"),
    (lambda d: d["venue"]["markets"]["BTC"]["tiers"][2].update(floor_size="1"),
     "venue.markets.BTC.tiers[2].floor_size", "must increase"),
    (lambda d: d["venue"]["markets"]["BTC"]["tiers"][1].update(floor_size="1.0001"),
     "venue.markets.BTC.tiers[1].floor_size", ""),
    (lambda d: d["venue"]["markets"]["BTC"]["tiers"][1].update(maint_deduction="50"),
     "venue.markets.BTC.tiers[1]", "maint_deduction"),
    (lambda d: d["venue"]["markets"]["BTC"]["tiers"][1].update(maint_margin_rate="0.003"),
     "venue.markets.BTC.tiers[1].maint_margin_rate", "previous"),
])
def test_bad_size_keyed_state_files_name_the_field_LIQ_TIER_8(change, path, message):
    document = _sized_document()
    change(document)
    with pytest.raises(StateFileError) as caught:
        statefile.loads(json.dumps(document))
    assert caught.value.path.startswith(path) and message in str(caught.value)


def test_the_codec_carries_the_size_basis_and_only_for_it_LIQ_TIER_8():
    written = codec.profile_to_json(SIZED)
    btc = next(m for m in written["markets"] if m["market_id"] == "BTC")
    eth = next(m for m in written["markets"] if m["market_id"] == "ETH")
    assert btc["tier_basis"] == "size" and [t["floor_lots"] for t in btc["tiers"]] == \
        ["0", "1000", "5000"]
    assert "tier_basis" not in eth and all("floor_lots" not in t for t in eth["tiers"])
    assert codec.profile_from_json(written) == SIZED


def test_explain_names_the_size_tier_LIQ_TIER_8():
    loaded = statefile.loads(json.dumps(_sized_document()))
    report = explain_loaded(loaded, "t")
    tier = report["accounts"][0]["positions"][0]["tier"]
    assert (tier["value"], tier["basis"], tier["floor_size"]["human"]) == (2, "size", "1")
    assert "size >= 1: maintenance 0.5%" in render_text(report)
