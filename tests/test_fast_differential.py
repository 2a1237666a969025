"""Differential tests: liqspec.fast against liqspec.reference on generated states.

Every operation ported to the fast path (equity, maintenance and initial margin with open-interest
scaling, open interest, free collateral, both triggers, bankruptcy and liquidation prices,
funding) is run on both, and the results, result codes and exception types must agree, except
where the documented int64 domain of fast prices applies (liqspec.fast.compare.expected_fast).

Rules: LIQ-MARGIN-2, LIQ-MARGIN-5, LIQ-TIER-1..5, LIQ-TRIGGER-1/2, LIQ-PRICE-1/2/3,
LIQ-FUNDING-1, LIQ-DOMAIN-1.
"""

import itertools
import re
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import liqspec.fast as fast
from liqspec.fast import _kernels
from liqspec.fast.compare import FAST, REFERENCE, divergences, expected_fast, outcome
from liqspec.testing.cases import random_case
from liqspec.reference import Account, MalformedState, Overflow
from liqspec.reference import equity_quote as ref_equity
from liqspec.reference import is_liquidatable as ref_liquidatable
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.testing import EXAMPLE_MARKS, example_profile, venue

PROFILE = example_profile(backstop_ratio=(2, 3))

int64 = st.one_of(st.integers(INT64_MIN, INT64_MAX),
                  st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX]),
                  st.integers(-10**12, 10**12))
prices = st.one_of(st.integers(1, INT64_MAX), st.integers(1, 10**7),
                   st.sampled_from([1, INT64_MAX, INT64_MAX // 100, INT64_MAX // 100 + 1]))
lots = st.one_of(st.just(0), st.integers(-10**7, 10**7), int64)


@given(seed=st.integers(0, 2**32 - 1))
@example(seed=0)
def test_generated_venues_agree_on_every_operation(seed):
    """Random profiles (tier tables, decimals, minimums, OI scaling, backstop ratios), marks and
    accounts by magnitude bucket, some placed exactly on tier floors and half-way points."""
    scenario = random_case(seed)
    assert divergences(scenario) == []


@given(quote=int64, btc=lots, eth=lots, btc_mark=prices, eth_mark=prices)
@example(quote=7, btc=1, eth=0, btc_mark=INT64_MAX // 100, eth_mark=1)  # equity = INT64_MAX
@example(quote=8, btc=1, eth=0, btc_mark=INT64_MAX // 100, eth_mark=1)  # one past it
# equity == MM: not liquidatable, and the liquidation price is tier 2's floor
@example(quote=-49_800_000_000, btc=1000, eth=0, btc_mark=500_000, eth_mark=1)
def test_example_venue_agrees_at_int64_boundaries(quote, btc, eth, btc_mark, eth_mark):
    positions = {m: n for m, n in (("BTC", btc), ("ETH", eth)) if n}
    acct = Account("a", quote=quote, positions=positions)
    state = venue(profile=PROFILE, marks={"BTC": btc_mark, "ETH": eth_mark})
    state.accounts["a"] = acct
    marks = state.marks
    calls = {
        "equity_quote": lambda impl: impl.equity_quote(acct, marks, PROFILE),
        "account_maintenance_margin_quote":
            lambda impl: impl.account_maintenance_margin_quote(acct, marks, PROFILE),
        "account_initial_margin_quote":
            lambda impl: impl.account_initial_margin_quote(acct, marks, PROFILE),
        "is_liquidatable": lambda impl: impl.is_liquidatable(acct, state),
        "is_below_backstop": lambda impl: impl.is_below_backstop(acct, state),
        "bankruptcy_price": lambda impl: impl.bankruptcy_price(acct, "BTC", marks, PROFILE),
        "liquidation_price": lambda impl: impl.liquidation_price(acct, "BTC", marks, PROFILE),
        "funding_owed": lambda impl: impl.funding_owed(state, "BTC", 1_000_000),
    }
    for op, call in calls.items():
        want = expected_fast(op, outcome(lambda: call(REFERENCE)))
        assert outcome(lambda: call(FAST)) == want, op


def _example_book(rows, marks):
    """The example venue at ``marks`` with an account per (quote, BTC lots, ETH lots) row, packed."""
    state = venue(profile=PROFILE, marks=marks)
    for i, (quote, btc, eth) in enumerate(rows):
        state.accounts[f"a{i:03d}"] = Account(f"a{i:03d}", quote=quote, positions={
            m: n for m, n in (("BTC", btc), ("ETH", eth)) if n})
    return state, fast.pack_state(state), fast.tables_for(PROFILE)


@example(rows=[(-49_800_000_000, 1000, 0), (-49_800_000_001, 1000, 0), (0, 0, 0)],
         btc_mark=500_000, eth_mark=300_000)  # equity == MM (200 USDT), MM - 1, flat
# BTC's first tier's edge: at this mark a BTC lot is worth 5*10^7 quote units and the second
# tier starts at 5*10^10 (1,000 lots): 999 lots are in the first tier, 1,000 in the second (ETH
# has one tier: its lots only change the account's totals)
@example(rows=[(0, 999, 333), (0, 1000, 334), (0, -999, -333), (0, -1000, -334), (0, 999, 334),
               (INT64_MAX - 5 * 10**10, 999, 0), (INT64_MIN + 5 * 10**10, -999, 0), (-1, 1, -1)],
         btc_mark=500_000, eth_mark=300_000)
@given(rows=st.lists(st.tuples(st.integers(-10**13, 10**13), st.integers(-10**6, 10**6),
                               st.integers(-10**6, 10**6)), min_size=1, max_size=40),
       btc_mark=st.integers(1, 10**7), eth_mark=st.integers(1, 10**7))
def test_batch_health_agrees_row_by_row_LIQ_TRIGGER_1(rows, btc_mark, eth_mark):
    """The batch kernel (one pass: equity, maintenance, flag) equals the reference per account."""
    marks = {"BTC": btc_mark, "ETH": eth_mark}
    state, arrays, tables = _example_book(rows, marks)
    equity, maint, flags = fast.health(arrays.quote, arrays.lots, arrays.marks, tables)
    for i, account_id in enumerate(arrays.account_ids):
        acct = state.accounts[account_id]
        assert equity[i] == ref_equity(acct, marks, PROFILE)
        assert bool(flags[i]) == ref_liquidatable(acct, state)
        assert maint[i] == REFERENCE.account_maintenance_margin_quote(acct, marks, PROFILE)
    assert np.array_equal(flags, fast.liquidatable_flags(arrays.quote, arrays.lots, arrays.marks,
                                                         tables))
    out = (np.full(len(rows), -7, np.int64), np.full(len(rows), -7, np.int64),
           np.zeros(len(rows), np.bool_))
    written = fast.health(arrays.quote, arrays.lots, arrays.marks, tables, out=out)
    assert all(a is b for a, b in zip(written, out, strict=True))
    assert np.array_equal(out[0], equity) and np.array_equal(out[1], maint)
    assert np.array_equal(out[2], flags)


def test_batch_kernels_raise_on_overflow_never_wrap_LIQ_DOMAIN_1():
    """A batch with one overflowing account raises the reference's error type, never wraps."""
    tables = fast.tables_for(PROFILE)
    marks = np.array([INT64_MAX // 100, 1], dtype=np.int64)
    quote = np.array([0, 8], dtype=np.int64)
    lots = np.array([[0, 0], [1, 0]], dtype=np.int64)
    for kernel in (fast.equity_quotes, fast.health):
        try:
            kernel(quote, lots, marks, tables)
        except OverflowError as error:
            assert type(error).__name__ == "Overflow"
        else:
            raise AssertionError(f"{kernel.__name__} wrapped instead of raising")
    # equity leaving int64 on the 64-bit path (a small position, a quote at the limit)
    marks = np.array([500_000, 300_000], dtype=np.int64)
    for quote_units, btc in ((INT64_MAX, 999), (INT64_MIN, -999)):
        try:
            fast.health(np.array([0, quote_units]), np.array([[0, 0], [btc, 0]]), marks, tables)
        except OverflowError as error:
            assert type(error).__name__ == "Overflow" and "in row 1 " in str(error), error
        else:
            raise AssertionError("health wrapped an equity past int64")
    marks = np.array([INT64_MAX // 100, 1], dtype=np.int64)
    # without the overflowing row: a flat account with no quote has equity 0
    equity = fast.equity_quotes(quote[:1], lots[:1], marks, tables)
    assert equity.tolist() == [0]


def test_prices_batch_matches_single_account_calls_LIQ_PRICE_2():
    state = venue(profile=PROFILE, marks=EXAMPLE_MARKS)
    for i, (quote, btc) in enumerate([(-49_000_000_000, 1000), (51_000_000_000, -1000),
                                      (-294_000_000_000, 6000), (5, 0)]):
        state.accounts[f"a{i}"] = Account(f"a{i}", quote=quote,
                                          positions={"BTC": btc} if btc else {})
    arrays = fast.pack_state(state)
    tables = fast.tables_for(PROFILE)
    ticks, num, den, codes = fast.liquidation_prices(arrays.quote, arrays.lots, arrays.marks,
                                                     tables, tables.column("BTC"))
    assert codes.tolist() == [0, 0, 0, 29]  # OK x3, NO_POSITION
    for i in range(3):
        want = REFERENCE.liquidation_price(state.accounts[f"a{i}"], "BTC", EXAMPLE_MARKS, PROFILE)
        assert (ticks[i], num[i], den[i]) == (want.ticks, want.exact.numerator,
                                              want.exact.denominator)


@example(rows=[(-49_000_000_000, 1000, 0), (51_000_000_000, -1000, 0), (0, 1, 1),
               (-(2**62), 10**6, -(10**6)), (2**62, -(10**6), 10**6)],
         btc_mark=500_000, eth_mark=300_000)
@given(rows=st.lists(st.tuples(st.integers(-10**16, 10**16), st.integers(-10**6, 10**6),
                               st.integers(-10**6, 10**6)), min_size=1, max_size=30),
       btc_mark=st.integers(1, 10**8), eth_mark=st.integers(1, 10**8))
def test_batch_prices_agree_row_by_row_LIQ_PRICE_1_LIQ_PRICE_2(rows, btc_mark, eth_mark):
    """The batch price kernels (their reduced fractions come from a binary gcd, in 64 bits after a
    first remainder, and their ticks from a 64-bit division) equal the reference's exact Fractions
    and ticks, or its OVERFLOW, for every row and both markets; quotes up to 10^16 take the
    128-bit remainder path."""
    _assert_prices_agree(rows, {"BTC": btc_mark, "ETH": eth_mark})


@pytest.mark.parametrize("quote", [INT64_MIN, INT64_MIN + 1, -(2**63 - 2**40), 2**63 - 2**40,
                                   INT64_MAX - 1, INT64_MAX])
def test_prices_whose_terms_straddle_2_63_LIQ_PRICE_3(quote):
    """The binary gcd takes numbers below 2^63 (its steps subtract in signed 64 bits); larger
    terms, a bankruptcy price's -C = 2^63 for one, take remainders in 128 bits first. Quotes at
    the int64 edges over sizes with large common factors (powers of two, 10^6) give fractions
    whose terms cross 2^63 and whose gcds are large: both kernels equal the reference's
    lowest-terms Fractions or its OVERFLOW."""
    rows = [(quote, btc, eth) for btc in (1, 2**20, -(2**20), 3 * 2**30, 10**6, -(10**6))
            for eth in (0, 2**10)]
    _assert_prices_agree(rows, {"BTC": 2**19, "ETH": 300_000})


def test_prices_over_many_blocks_agree_with_the_reference_LIQ_PRICE_3():
    """The kernels reduce a block of prices at once (64 rows, their gcds side by side in the
    wide build's lanes): 300 rows over both markets (every tier, both sides, flat positions,
    quotes near the int64 edges, so that lanes, 128-bit rows and refusals share blocks) equal
    the reference row by row in every build."""
    rng = np.random.default_rng(11)
    rows = [(int(rng.integers(-10**14, 10**14)) if i % 7 else int(rng.choice(
                [INT64_MIN + 10**13, INT64_MAX - 10**13])),
             int(rng.integers(-10**5, 10**5)) if i % 5 else 0,
             int(rng.integers(-999, 1000))) for i in range(300)]
    _assert_prices_agree(rows, {"BTC": 500_000, "ETH": 300_000})


def _assert_prices_agree(rows, marks):
    """liquidation_prices and bankruptcy_prices over the rows (quote, BTC lots, ETH lots) of EX
    equal the reference row by row, in both markets and every build of the kernels."""
    state, arrays, tables = _example_book(rows, marks)
    for build, (kernel, reference), market in itertools.product(
            TIERS64_BUILDS, ((fast.liquidation_prices, REFERENCE.liquidation_price),
                             (fast.bankruptcy_prices, REFERENCE.bankruptcy_price)),
            ("BTC", "ETH")):
        with kernel_setting(_kernels._tiers64_build, build):
            ticks, num, den, codes = kernel(arrays.quote, arrays.lots, arrays.marks, tables,
                                            tables.column(market))
        # a row refused keeps no price: 0 ticks, 0 / 1
        refused = codes != 0
        assert not ticks[refused].any() and not num[refused].any(), (build, market)
        assert (den[refused] == 1).all(), (build, market)
        for i, account_id in enumerate(arrays.account_ids):
            acct = state.accounts[account_id]
            if not acct.position(market):
                assert codes[i] == 29  # NO_POSITION
                continue
            try:
                price = reference(acct, market, marks, PROFILE)
            except Overflow:  # a value or requirement leaves int64: OVERFLOW on both
                assert codes[i] == 9, (account_id, market)
                continue
            terms = (price.ticks, price.exact.numerator, price.exact.denominator)
            if codes[i] == 9:  # OVERFLOW: only where the reference's terms leave int64
                assert not all(INT64_MIN <= v <= INT64_MAX for v in terms), (
                    account_id, market, terms)
                continue
            assert codes[i] == 0
            assert (ticks[i], num[i], den[i]) == terms, (account_id, market)


def _mixed_book(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounts over both markets of EX: a third in the first tier, a third across every tier, a
    third near the int64 edge of equity; flat positions and both sides."""
    rng = np.random.default_rng(seed)
    marks = np.array([500_000, 300_000], dtype=np.int64)
    lots = np.empty((rows, 2), dtype=np.int64)
    third = rows // 3
    lots[:third] = rng.integers(-999, 1000, (third, 2))
    lots[third:] = rng.integers(-10**5, 10**5 + 1, (rows - third, 2))
    lots[rng.random((rows, 2)) < 0.3] = 0
    quote = rng.integers(-10**14, 10**14, rows)
    quote[2 * third:] = np.where(rng.random(rows - 2 * third) < 0.5, INT64_MAX - 10**13,
                                 INT64_MIN + 10**13)
    return quote.astype(np.int64), lots, marks


def test_health_over_many_blocks_agrees_with_the_reference_LIQ_TRIGGER_1():
    """Health works in blocks of rows (the 64-bit path per block, the checked path for the
    rest); a book of several blocks and a ragged last one, mixing both paths and equities near
    int64's edges, equals the reference account by account."""
    quote, lots, marks = _mixed_book(3 * 512 + 7, seed=11)
    mark_map = {"BTC": int(marks[0]), "ETH": int(marks[1])}
    tables = fast.tables_for(PROFILE)
    equity, maint, flags = fast.health(quote, lots, marks, tables)
    state = venue(profile=PROFILE, marks=mark_map)
    for i in range(len(quote)):
        acct = Account(f"a{i}", quote=int(quote[i]), positions={
            m: int(n) for m, n in zip(("BTC", "ETH"), lots[i], strict=True) if n})
        assert equity[i] == ref_equity(acct, mark_map, PROFILE), i
        assert maint[i] == REFERENCE.account_maintenance_margin_quote(acct, mark_map, PROFILE), i
        assert bool(flags[i]) == ref_liquidatable(acct, state), i


def test_health_on_threads_agrees_with_the_separate_kernels_LIQ_TRIGGER_1():
    """A batch past the threading threshold (2^18 rows) splits its blocks over threads: its
    equity and maintenance equal the single-purpose kernels' (which do not take the 64-bit
    path), and its flags their LIQ-TRIGGER-1 comparison."""
    quote, lots, marks = _mixed_book((1 << 18) + 3, seed=12)
    tables = fast.tables_for(PROFILE)
    equity, maint, flags = fast.health(quote, lots, marks, tables)
    assert np.array_equal(equity, fast.equity_quotes(quote, lots, marks, tables))
    assert np.array_equal(maint, fast.maintenance_margin_quotes(lots, marks, tables))
    assert np.array_equal(flags, (maint > 0) & (equity < maint))


def _tables_of(markets: list[tuple[int, int, int, list[tuple[int, int, int]]]]
               ) -> fast.MarketTables:
    """Hand-built tables from (value_per_lot_tick, rate_scale, minimum requirement, tiers) per
    market, each tier (gap from the previous floor, maintenance rate, deduction): tier 0 at
    floor 0, a gap of 0 or less a floor that does not increase (hand-built tables may have
    one; LIQ-TIER-1's scan stops at the first floor above the notional)."""
    m = len(markets)
    width = max(len(tiers) for *_, tiers in markets)
    floors, rates, deductions = (np.zeros((m, width), np.int64) for _ in range(3))
    for k, (*_, tiers) in enumerate(markets):
        floor = 0
        for slot, (gap, rate, deduction) in enumerate(tiers):
            floor = 0 if slot == 0 else floor + gap
            floors[k, slot], rates[k, slot], deductions[k, slot] = floor, rate, deduction
    column = [np.array([market[i] for market in markets], np.int64) for i in range(3)]
    return fast.MarketTables(
        profile_name="hand-built", market_ids=tuple(f"M{k}" for k in range(m)),
        value_per_lot_tick=column[0],
        n_tiers=np.array([len(tiers) for *_, tiers in markets], np.int64),
        tier_floor_quote=floors, maint_margin_ppm=rates, maint_deduction_quote=deductions,
        init_margin_ppm=rates, init_deduction_quote=deductions,
        min_maint_margin_quote=column[2], liquidation_fee_ppm=np.zeros(m, np.int64),
        oi_lower_cap_quote=np.zeros(m, np.int64), oi_upper_cap_quote=np.zeros(m, np.int64),
        has_oi_scaling=np.zeros(m, np.uint8), backstop_num=0, backstop_den=0,
        rate_scale=column[1])


#: the builds of health's 64-bit path this machine runs: the baseline, and the AVX2 and AVX-512
#: ones where the CPU and compiler have them (the import picks the widest)
TIERS64_BUILDS = _kernels._tiers64_builds()


@contextmanager
def kernel_setting(setting, value: str):
    """A private setting of the kernels (``_kernels._tiers64_build`` or ``_tiers64_mode``) at
    ``value`` while the block runs, then as it was."""
    chosen = setting()
    setting(value)
    try:
        yield
    finally:
        setting(chosen)


def test_the_64_bit_path_settings_are_chosen_by_name_only():
    """An unknown build or mode, or a vector build where there is none, is MalformedState and
    changes nothing; a known one is taken and named, and the import took the widest."""
    assert TIERS64_BUILDS[0] == "baseline"
    assert _kernels._tiers64_build() == TIERS64_BUILDS[-1]
    for setting, known, bad in (
            (_kernels._tiers64_build, TIERS64_BUILDS,
             ["fastest", ""] + [name for name in ("avx2", "wide") if name not in TIERS64_BUILDS]),
            (_kernels._tiers64_mode, ("auto", "first", "all"), ["some", "", "wide"])):
        chosen = setting()
        for name in bad:
            try:
                setting(name)
            except MalformedState:
                pass
            else:
                raise AssertionError(f"{name!r} was taken")
            assert setting() == chosen
        for name in known:
            with kernel_setting(setting, name):
                assert setting() == name
        assert setting() == chosen


#: a tier of hand-built tables, (gap from the previous floor, rate, deduction): parameters near
#: and past the bounds of health's 64-bit path (rates up to 100% and one past, deductions around
#: 2^50, floors that do not increase, tiers past 2^43)
_tier = st.tuples(
    st.sampled_from([1, 10**6, 5 * 10**10, 2**40, 2**43, 2**43, 0, -5]),
    st.sampled_from([0, 1, 4_000, 5_000, 33_333, 500_000, 1_000_000, 1_000_001, 2_000_000]),
    st.sampled_from([0, 0, 7, -7, 2**50 - 1, 2**50, -(2**50), -(2**61), 2**62]))
#: a market: (value_per_lot_tick, rate_scale, minimum, 1 to 11 tiers: past the 8 the path reads)
_market = st.tuples(
    st.sampled_from([1, 10, 100, 10**4]),
    st.sampled_from([1, 1, 1, 3, 7]),
    st.sampled_from([0, 0, 1, 10**6, 2**50 - 1, 2**50, 2**61, 2**62]),
    st.lists(_tier, min_size=1, max_size=11))


def _book_around_the_floors(tables: fast.MarketTables, rows: int, seed: int,
                            near_int64: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quote, lots, marks): each position a few lots either side of one of its market's tier
    floors or of the 64-bit path's edges, a third of them flat; with ``near_int64``, one quote
    in 20 near int64's edges."""
    m = len(tables.market_ids)
    rng = np.random.default_rng(seed)
    marks = rng.choice(np.array([1, 7, 500_000, 10**9], np.int64), m)
    lots = np.zeros((rows, m), np.int64)
    for k in range(m):
        unit = max(int(marks[k]) * int(tables.value_per_lot_tick[k]), 1)
        edges = [int(f) for f in tables.tier_floor_quote[k, 1:tables.n_tiers[k]] if f > 0]
        # the 64-bit path's own edges: 2^43 and round it, and the largest notional whose
        # product with 100% still fits (9,223,372,036,853)
        edges += [2**42, 9_223_372_036_853, 2**43, 2**43 + 2**41, 2**44]
        edges = np.array([e // unit for e in edges], np.int64)
        near = edges[rng.integers(0, len(edges), rows)] + rng.integers(-2, 3, rows)
        lots[:, k] = np.maximum(near, 0) * rng.choice(np.array([-1, 1]), rows)
    lots[rng.random((rows, m)) < 0.3] = 0
    quote = rng.integers(-10**15, 10**15, rows)
    edge_rows = rng.random(rows) < (0.05 if near_int64 else 0)
    quote[edge_rows] = np.where(rng.random(int(edge_rows.sum())) < 0.5, INT64_MAX - 10**6,
                                INT64_MIN + 10**6)
    return quote.astype(np.int64), lots, marks


@given(markets=st.lists(_market, min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1),
       rows=st.integers(1, 1_100), near_int64=st.booleans())
@example(markets=[(1, 1, 0, [(0, 1_000_000, 0)])], seed=0, rows=513, near_int64=False)  # 100%
@example(markets=[(10, 1, 2**50 - 1, [(0, 4_000, 2**50 - 1)])] * 5, seed=1, rows=1_100,
         near_int64=False)
@example(markets=[(1, 1, 0, [(0, 5_000, 0), (10**6, 10_000, 5)])] * 2, seed=2, rows=600,
         near_int64=True)
# past the bounds: four minimums of 2^61 leave int64 together (the checked path raises)
@example(markets=[(1, 1, 2**61, [(0, 4_000, 0)])] * 4, seed=3, rows=50, near_int64=False)
# ten increasing tiers (the path reads eight), and a second floor at 0 (every notional reaches it)
@example(markets=[(1, 1, 0, [(0, 4_000, 0)] + [(10**6, 4_000 + 1_000 * t, 1_000 * t)
                                               for t in range(1, 10)]),
                  (1, 1, 0, [(0, 4_000, 0), (0, 8_000, 100)])],
         seed=4, rows=700, near_int64=False)
# a floor below the one before it (10^6, then 10^6 - 5) at mark 1 (seed 11): LIQ-TIER-1's scan
# stops at 10^6, so a notional in between stays in the first tier; and a rate of 200% near 2^43
@example(markets=[(1, 1, 0, [(0, 4_000, 0), (10**6, 8_000, 4), (-5, 12_000, 8)])], seed=11,
         rows=300, near_int64=False)
@example(markets=[(1, 1, 0, [(0, 2_000_000, 0)])], seed=11, rows=300, near_int64=False)
def test_health_over_any_tables_agrees_with_the_separate_kernels_LIQ_TIER_1_LIQ_TIER_5(
        markets, seed, rows, near_int64):
    """Health's 64-bit path is compiled for 1 to 4 markets as constants and for any other count
    as a variable, reading each market's first tier only or up to eight (a choice of speed per
    batch), within bounds on a market's parameters (outside them a position takes the checked
    path). Over 1 to 6 hand-built markets of 1 to 11 tiers with parameters around those bounds,
    positions around the tier floors and quotes near int64's, several blocks of rows, in every
    build and mode: health equals the kernels that take no fast path (equity, maintenance), its
    flag is LIQ-TRIGGER-1 on them, and it raises Overflow exactly where one of them does."""
    tables = _tables_of(markets)
    quote, lots, marks = _book_around_the_floors(tables, rows, seed, near_int64)

    def outcome_of(kernel, *args):
        """The kernel's arrays, or the row its Overflow names."""
        try:
            return kernel(*args)
        except Overflow as error:
            return int(re.search(r"in row (\d+) ", str(error)).group(1))

    def first_failure(quote, lots):
        """The first row whose equity or maintenance leaves int64 (the exact kernels), or
        None."""
        rows = [row for row in (outcome_of(fast.equity_quotes, quote, lots, marks, tables),
                                outcome_of(fast.maintenance_margin_quotes, lots, marks, tables))
                if isinstance(row, int)]
        return min(rows) if rows else None

    # the rows that leave int64, found one at a time; the batch without them
    failing, kept = [], np.arange(rows)
    while (row := first_failure(quote[kept], lots[kept])) is not None:
        failing.append(int(kept[row]))
        kept = np.delete(kept, row)
    event("an Overflow" if failing else "every row computed")
    equity = fast.equity_quotes(quote[kept], lots[kept], marks, tables)
    maint = fast.maintenance_margin_quotes(lots[kept], marks, tables)
    for build in TIERS64_BUILDS:
        for mode in ("auto", "first", "all"):
            with kernel_setting(_kernels._tiers64_build, build), \
                    kernel_setting(_kernels._tiers64_mode, mode):
                if failing:  # the whole batch names its first failing row
                    assert outcome_of(fast.health, quote, lots, marks, tables) == min(failing), \
                        (build, mode)
                # a failing row alone raises: no other row's failure finds it for the path
                for row in failing[:8]:
                    assert outcome_of(fast.health, quote[row:row + 1], lots[row:row + 1], marks,
                                      tables) == 0, (build, mode, row)
                health = outcome_of(fast.health, quote[kept], lots[kept], marks, tables)
            assert not isinstance(health, int), (build, mode)
            assert np.array_equal(health[0], equity), (build, mode)
            assert np.array_equal(health[1], maint), (build, mode)
            assert np.array_equal(health[2], (maint > 0) & (equity < maint)), (build, mode)


@pytest.mark.parametrize("minimum, deduction", [
    (2**61, 0), (2**50 - 1, 0), (2**50, 0),  # four minimums: past int64 together, or not
    (0, -(2**61)), (0, -(2**50 - 1)), (0, -(2**50)), (0, 2**62)])  # and four deductions
def test_health_at_the_bounds_of_its_parameters_LIQ_DOMAIN_1(minimum, deduction):
    """The 64-bit path takes a market only where its minimum and deductions lie within 2^50,
    so that no sum of requirements can leave int64 unseen. Four markets at the bounds and past
    them, every row on the path's notionals (one lot at mark 1), in every build and mode: health
    raises Overflow exactly where the maintenance kernel does, and otherwise equals it."""
    tables = _tables_of([(1, 1, minimum, [(0, 4_000, deduction)])] * 4)
    lots = np.array([[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]], np.int64)
    quote = np.zeros(3, np.int64)
    marks = np.ones(4, np.int64)
    try:
        expected = fast.maintenance_margin_quotes(lots, marks, tables)
    except Overflow:
        expected = None
    for build in TIERS64_BUILDS:
        for mode in ("auto", "first", "all"):
            with kernel_setting(_kernels._tiers64_build, build), \
                    kernel_setting(_kernels._tiers64_mode, mode):
                if expected is None:
                    with pytest.raises(Overflow, match="in row 0 "):
                        fast.health(quote, lots, marks, tables)
                else:
                    assert np.array_equal(fast.health(quote, lots, marks, tables)[1], expected)


def test_health_rounds_up_at_the_edges_of_its_estimate_LIQ_ROUND_1():
    """The vector builds (AVX2, AVX-512) take ceil(notional x rate / 10^6) from a double
    estimate, corrected by the integer remainder both ways. Notionals below 2^43 whose product
    with the rate is just past a multiple of 10^6 (where the estimate can fall one short) and
    just before one (where it can land one over), at rates near 100%, one tier, mark 1: every
    build equals the maintenance kernel that takes no fast path."""
    rng = np.random.default_rng(20261205)
    for rate in (999_999, 1_000_000, 999_983, 654_321, 5_000):
        tables = _tables_of([(1, 1, 0, [(0, rate, 0)])])
        notional = rng.integers(2**40, 9_223_372_036_853, 400_000)
        residue = (notional * rate) % 1_000_000  # < 2^63: exact in int64
        edge = notional[(residue >= 1) & (residue <= 600) | (residue >= 999_400)]
        # two the AVX-512 estimate put one short, found by a review of this kernel
        lots = np.concatenate([edge[:2_000], [7_417_474_999_782, 8_796_091_999_999]])
        lots = lots.astype(np.int64).reshape(-1, 1)
        quote = np.zeros(len(lots), np.int64)
        marks = np.array([1], np.int64)
        expected = fast.maintenance_margin_quotes(lots, marks, tables)
        for build in TIERS64_BUILDS:
            with kernel_setting(_kernels._tiers64_build, build):
                assert np.array_equal(fast.health(quote, lots, marks, tables)[1], expected), \
                    (rate, build)


def test_health_on_the_entry_basis_over_many_blocks_agrees_with_the_reference_LIQ_TIER_6():
    """Under the entry basis an isolated account's requirement is on its entry value, which the
    64-bit path (at the mark) does not read: health sends such rows to the checked path. A
    book of several blocks, half of it isolated first-tier positions entered away from the mark,
    equals the reference account by account, and the entry basis changes many requirements (so
    a row left on the 64-bit path would be seen)."""
    profile = example_profile(backstop_ratio=(2, 3), maintenance_basis="entry")
    quote, lots, marks = _mixed_book(3 * 512 + 7, seed=13)
    mark_map = {"BTC": int(marks[0]), "ETH": int(marks[1])}
    rng = np.random.default_rng(14)
    state = venue(profile=profile, marks=mark_map)
    for i in range(len(quote)):
        account_id = f"a{i:05d}"
        btc = int(lots[i, 0])
        if i % 2 == 0 and btc:
            market = profile.markets["BTC"]
            entry = int(marks[0]) * int(rng.integers(500, 1501)) // 1000
            state.accounts[account_id] = Account(
                account_id, quote=int(quote[i]), positions={"BTC": btc},
                cost_quote={"BTC": btc * entry * market.value_per_lot_tick},
                isolated_market="BTC")
        else:
            state.accounts[account_id] = Account(account_id, quote=int(quote[i]), positions={
                m: int(n) for m, n in zip(("BTC", "ETH"), lots[i], strict=True) if n})
    arrays = fast.pack_state(state)
    tables = fast.tables_for(profile)
    equity, maint, flags = fast.health(arrays.quote, arrays.lots, arrays.marks, tables,
                                       **arrays.basis())
    at_mark = fast.health(arrays.quote, arrays.lots, arrays.marks, fast.tables_for(PROFILE))[1]
    assert np.count_nonzero(maint != at_mark) > 100
    for i, account_id in enumerate(arrays.account_ids):
        acct = state.accounts[account_id]
        assert equity[i] == ref_equity(acct, mark_map, profile), account_id
        assert maint[i] == REFERENCE.account_maintenance_margin_quote(acct, mark_map, profile), \
            account_id
        assert bool(flags[i]) == ref_liquidatable(acct, state), account_id


def test_backstop_flags_on_the_entry_basis_agree_with_the_reference_LIQ_TRIGGER_2_LIQ_TIER_6():
    """The batch backstop flags under the entry maintenance basis (isolated accounts margined on
    their cost, cross ones at the mark; equity read only where the requirement is positive)
    equal the reference's is_below_backstop account by account."""
    import dataclasses
    import random

    from liqspec.reference import is_below_backstop
    profile = dataclasses.replace(example_profile(backstop_ratio=(2, 3)), maintenance_basis="entry")
    marks = {"BTC": 500_000, "ETH": 300_000}
    state = venue(profile=profile, marks=marks)
    draw = random.Random(1)
    for i in range(600):
        market = draw.choice(["BTC", "ETH"])
        lots = draw.choice([-1, 1]) * draw.randint(1, 5000)
        cost = lots * draw.randint(200_000, 800_000) * 100
        state.accounts[f"a{i}"] = Account(
            f"a{i}", quote=-cost + draw.randint(-10**10, 10**11), positions={market: lots},
            cost_quote={market: cost}, isolated_market=market if draw.random() < 0.7 else None)
    arrays = fast.pack_state(state)
    tables = fast.tables_for(profile)
    cost = np.zeros_like(arrays.lots)
    at_entry = np.zeros(len(arrays.account_ids), np.uint8)
    for row, account_id in enumerate(arrays.account_ids):
        account = state.accounts[account_id]
        for market, cost_quote in account.cost_quote.items():
            cost[row, tables.column(market)] = cost_quote
        at_entry[row] = account.isolated_market is not None
    flags = fast.below_backstop_flags(arrays.quote, arrays.lots, arrays.marks, tables, cost=cost,
                                      at_entry=at_entry)
    want = [is_below_backstop(state.accounts[a], state) for a in arrays.account_ids]
    assert 0 < sum(want) < len(want)
    assert flags.tolist() == want
