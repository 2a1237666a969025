"""Benchmarks of liqspec.fast against the reference and a numpy-vectorized baseline, in one run.

    python bench/bench.py                 # health 1e5, 1e6, 1e7; prices 1e6
    python bench/bench.py --quick         # health 1e5, 1e6; prices 1e5
    python bench/bench.py --scale         # and then bench_scale.py: positions files end to end
    python bench/bench.py --kernels       # health and prices only
    OMP_NUM_THREADS=1 python bench/bench.py --kernels   # the kernels on one thread

Not part of the test suite, and no timing is asserted anywhere: this prints numbers.

* Margin health: equity, maintenance requirement and the liquidatable flag (LIQ-MARGIN-2,
  LIQ-TIER-5, LIQ-TRIGGER-1) for N cross accounts over the example venue's two tiered markets, on
  two books (positions over three tiers; positions in the first tier only, the case where
  health's 64-bit path reads first tiers only),
  timed writing into reused output arrays (``out=``) and, beside it, into new ones. Its rate
  is given as a share of what a numpy sum reads on one thread in the same run, twice: for the
  bytes it moves (24 read and 17 written per account: the measure of issue 12, whose 1.1-1.4
  GB/s were 27-34 M accounts a second) and for the bytes it reads alone.
* Liquidation prices: LIQ-PRICE-2 (tier switching, exact, ticks rounded toward the venue) for N
  isolated BTC positions.
* Cascades (LIQ-CASCADE-*): the default scenario's crash (Binance USD-M BTCUSDT, 12% over 120
  five-second steps, a book rebuilt at every step) over a synthetic single-market book of N
  accounts (liqspec.synthetic, book depth scaled with N). ``fast`` is liqspec.fast.run_cascade end
  to end (packing, the compiled run, the write-back of the final state and the trace as Python
  objects); ``cascade_arrays`` is liqspec.fast.cascade_arrays from numpy arrays (summary, step
  records and the trace as int64 columns; no State, no Event objects); ``core`` is the compiled
  part alone with the processing order from the trigger-price index, ``scan oracle`` the same
  with every account evaluated every round (the reference's way, O(N) per round). A cross case
  (N accounts each holding both markets of the example venue, both marks falling with a bounce)
  times the clock-keyed cross heap against the scan. The reference is timed at 10^4 accounts (and
  checked equal to the fast run there); at larger N its time is extrapolated linearly and labelled
  so (a lower bound: its rounds rescan every account). The numpy baseline runs the same steps as
  rounds of whole-array liquidatable checks, closing every liquidatable account at the mark in
  one go (no book, fees or ADL): a lower bound on a vectorized cascade.

The reference is timed on a subsample (``--reference-sample`` accounts) and its time extrapolated
linearly to N: it is labelled "extrapolated". The numpy baseline computes the same integers with
whole-array operations in int64 and does NOT check for overflow (numpy wraps silently), so it is a
lower bound on what a checked vectorized implementation would cost. The fast results are checked
against the baseline (equal arrays) and against the reference on the subsample before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import liqspec.fast as fast
from liqspec.fast import _kernels  # which build of health's 64-bit path runs
from liqspec.reference import Account, equity_quote, is_liquidatable, liquidation_price
from liqspec.reference import account_maintenance_margin_quote as ref_maint
from liqspec.testing import EXAMPLE_MARKS, example_profile, venue

PPM = 1_000_000
PROFILE = example_profile()
TABLES = fast.tables_for(PROFILE)


def best_of(repeats: int, fn):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


# -- data -----------------------------------------------------------------------------------------

#: the largest lots per market of each book in the example venue: "tiers" spreads BTC positions
#: over its first three tiers (up to 10 BTC, 500,000 USDT at the example mark) and ETH (one tier)
#: up to 100 ETH; "first tier" keeps BTC in its first tier (0.999 BTC at the example mark) and
#: ETH up to 3.33 ETH, where health's 64-bit path reads only the first tiers
BOOKS = {"tiers": (10_000, 10_000), "first tier": (999, 333)}


def random_book(n: int, seed: int = 1, book: str = "tiers") -> fast.StateArrays:
    """N accounts, each long or short in BTC and (half of them) ETH up to the book's largest
    lots, with margin of 0..20% of notional, so some fraction sits below maintenance."""
    rng = np.random.default_rng(seed)
    btc_max, eth_max = BOOKS[book]
    marks = np.array([EXAMPLE_MARKS["BTC"], EXAMPLE_MARKS["ETH"]], dtype=np.int64)
    lots = np.empty((n, 2), dtype=np.int64)
    lots[:, 0] = rng.integers(-btc_max, btc_max + 1, n)
    lots[:, 1] = rng.integers(-eth_max, eth_max + 1, n) * (rng.random(n) < 0.5)
    values = lots * marks * TABLES.value_per_lot_tick
    notional = np.abs(values).sum(axis=1)
    margin = (notional * rng.integers(0, 20_000, n)) // PPM
    quote = margin - values.sum(axis=1)
    ids = tuple(f"a{i}" for i in range(n))
    return fast.StateArrays(ids, quote.astype(np.int64), np.ascontiguousarray(lots), marks)


def as_accounts(book: fast.StateArrays, rows) -> list[Account]:
    out = []
    for i in rows:
        positions = {m: int(book.lots[i, k]) for k, m in enumerate(TABLES.market_ids)
                     if book.lots[i, k]}
        out.append(Account(book.account_ids[i], quote=int(book.quote[i]), positions=positions))
    return out


# -- numpy baselines ------------------------------------------------------------------------------

def numpy_health(quote, lots, marks, tables):
    """The same integers as fast.health with whole-array int64 operations (unchecked)."""
    values = lots * (marks * tables.value_per_lot_tick)
    notional = np.abs(values)
    maint = np.zeros(len(quote), dtype=np.int64)
    for k in range(lots.shape[1]):
        n_tiers = int(tables.n_tiers[k])
        floors = tables.tier_floor_quote[k, :n_tiers]
        tier = np.searchsorted(floors, notional[:, k], side="right") - 1
        req = -((-notional[:, k] * tables.maint_margin_ppm[k, tier]) // PPM) \
            - tables.maint_deduction_quote[k, tier]
        req = np.maximum(req, tables.min_maint_margin_quote[k])
        maint += np.where(notional[:, k] == 0, 0, req)
    equity = quote + values.sum(axis=1)
    return equity, maint, (maint > 0) & (equity < maint)


def numpy_liquidation_prices(quote, lots, tables, k):
    """LIQ-PRICE-2 for isolated positions (no other markets: K = quote), the fast kernel's
    notional-space solution with whole-array int64 operations (unchecked)."""
    size = np.abs(lots)
    side = np.sign(lots)
    n_tiers = int(tables.n_tiers[k])
    floors = tables.tier_floor_quote[k, :n_tiers]
    rates = tables.maint_margin_ppm[k, :n_tiers]
    deds = tables.maint_deduction_quote[k, :n_tiers]
    minimum = int(tables.min_maint_margin_quote[k])
    K = quote
    Kp = K[:, None] * PPM
    long_h = Kp + floors * (PPM - rates) + deds * PPM  # h2 at each floor, long
    short_h = Kp - floors * (PPM + rates) + deds * PPM
    long_t = np.maximum((long_h < 0).sum(axis=1) - 1, 0)  # h2 is monotone: count = last index + 1
    short_t = np.maximum((short_h > 0).sum(axis=1) - 1, 0)
    t = np.where(side > 0, long_t, short_t)
    a2 = np.where(side > 0, -(K + deds[t]) * PPM, (K + deds[t]) * PPM)
    b2 = np.where(side > 0, PPM - rates[t], PPM + rates[t])
    n1 = np.where(side > 0, minimum - K, K - minimum)
    take_n1 = np.where(side > 0, n1 * b2 >= a2, n1 * b2 <= a2)
    take_n1 |= (side > 0) & (K >= 0)
    a = np.where(take_n1, n1, a2)
    b = np.where(take_n1, 1, b2)
    a = np.where((side < 0) & (K <= 0), 0, a)
    positive = a > 0
    a = np.where(positive, a, 0)
    b = np.where(positive, b, 1)
    s = size * tables.value_per_lot_tick[k]
    g = np.gcd(a, b)
    a, b = a // g, b // g
    g = np.gcd(a, s)
    a, s = a // np.maximum(g, 1), s // np.maximum(g, 1)
    den = np.where(positive, b * s, 1)
    num = np.where(positive, a, 0)
    ticks = np.where(side > 0, -((-num) // den), num // den)
    return ticks, num, den


# -- runs -----------------------------------------------------------------------------------------

def read_probe(n_bytes: int, repeats: int) -> float:
    """Bytes per second one thread reads here, now: numpy's SIMD sum over an int64 array of
    ``n_bytes`` (the same bytes health reads), best of ``repeats``; health's figure is reported
    as a share of this, measured in the same run, since the machine's bandwidth and load vary."""
    array = np.ones(max(n_bytes // 8, 1), dtype=np.int64)
    seconds, _ = best_of(repeats, array.sum)
    return array.nbytes / seconds


def bench_health(n: int, sample: int, repeats: int, kind: str = "tiers") -> dict:
    book = random_book(n, book=kind)
    args = (book.quote, book.lots, book.marks, TABLES)
    t_new, (equity, maint, flags) = best_of(repeats, lambda: fast.health(*args))
    out = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.bool_))
    t_fast, _ = best_of(repeats, lambda: fast.health(*args, out=out))
    assert all(np.array_equal(a, b) for a, b in zip(out, (equity, maint, flags), strict=True))
    t_numpy, (np_eq, np_mm, np_flags) = best_of(max(1, repeats - 1), lambda: numpy_health(*args))
    assert np.array_equal(equity, np_eq) and np.array_equal(maint, np_mm)
    assert np.array_equal(flags, np_flags)
    rows = range(min(sample, n))
    accounts = as_accounts(book, rows)
    state = venue(marks=EXAMPLE_MARKS)

    def reference():
        return [(equity_quote(a, EXAMPLE_MARKS, PROFILE), ref_maint(a, EXAMPLE_MARKS, PROFILE),
                 is_liquidatable(a, state)) for a in accounts]

    t_ref_sample, ref = best_of(1, reference)
    assert ref == list(zip(equity[:len(rows)].tolist(), maint[:len(rows)].tolist(),
                           flags[:len(rows)].tolist(), strict=True))
    t_ref = t_ref_sample * n / len(rows)
    read = book.quote.nbytes + book.lots.nbytes
    moved = read + equity.nbytes + maint.nbytes + flags.nbytes
    probe = read_probe(read, repeats)
    return {"n": n, "fast": t_fast, "numpy": t_numpy, "reference": t_ref, "new arrays": t_new,
            "gbps": moved / t_fast / 1e9, "read share": read / t_fast / probe,
            "moved share": moved / t_fast / probe,
            "probe gbps": probe / 1e9, "liquidatable": int(flags.sum())}


def bench_prices(n: int, sample: int, repeats: int) -> dict:
    book = random_book(n, seed=2)
    lots = np.ascontiguousarray(book.lots[:, :1])
    lots[lots == 0] = 1
    isolated_tables = fast.pack_profile(example_profile(markets={"BTC": PROFILE.markets["BTC"]}))
    quote = (np.abs(lots[:, 0]) * book.marks[0] * 100 * np.random.default_rng(3).integers(
        0, 200_000, n)) // PPM - lots[:, 0] * book.marks[0] * 100
    quote = quote.astype(np.int64)
    marks = book.marks[:1].copy()
    t_fast, (ticks, num, den, codes) = best_of(
        repeats, lambda: fast.liquidation_prices(quote, lots, marks, isolated_tables, 0))
    assert not codes.any()
    t_numpy, (np_ticks, np_num, np_den) = best_of(
        max(1, repeats - 1), lambda: numpy_liquidation_prices(quote, lots[:, 0], isolated_tables,
                                                              0))
    assert np.array_equal(ticks, np_ticks) and np.array_equal(num, np_num)
    assert np.array_equal(den, np_den)
    rows = range(min(sample, n))
    profile = example_profile(markets={"BTC": PROFILE.markets["BTC"]})
    accounts = [Account(f"a{i}", quote=int(quote[i]), positions={"BTC": int(lots[i, 0])})
                for i in rows]
    t_ref_sample, ref = best_of(1, lambda: [liquidation_price(a, "BTC", {"BTC": int(marks[0])},
                                                              profile) for a in accounts])
    assert [(p.ticks, p.exact.numerator, p.exact.denominator) for p in ref] == list(
        zip(ticks[:len(rows)].tolist(), num[:len(rows)].tolist(), den[:len(rows)].tolist(),
            strict=True))
    return {"n": n, "fast": t_fast, "numpy": t_numpy, "reference": t_ref_sample * n / len(rows)}


# -- cascades -------------------------------------------------------------------------------------

def cascade_case(n: int):
    """The default scenario's venue and path over a synthetic book of ``n`` accounts."""
    from dataclasses import replace

    from liqspec.positions import build_state
    from liqspec.reference.book import BookShape
    from liqspec.scenario import default_scenario
    from liqspec.synthetic import generate_book
    scenario = default_scenario()
    config, profile = scenario.config, scenario.state.profile
    market_id = next(iter(config.path.index_ticks))
    start = config.path.index_ticks[market_id][0]
    rows = generate_book(profile, market_id, start, 7, accounts=n,
                         notional_median_quote=10_000 * 10**profile.quote_decimals,
                         notional_max_quote=2_000_000 * 10**profile.quote_decimals,
                         isolated_fraction_ppm=100_000)
    state = build_state(profile, {market_id: start}, rows,
                        insurance_fund_quote=20_000 * 10**profile.quote_decimals * n // 3000)
    shape = config.books[market_id]
    books = {market_id: BookShape(shape.levels, shape.spacing_ppm,
                                  max(1, shape.lots_per_level * n // 3000))}
    return state, replace(config, books=books)


def numpy_cascade(state, config) -> int:
    """Rounds of whole-array liquidatable checks per step; liquidatable accounts are closed at
    the mark. Returns the accounts closed."""
    from liqspec.reference.state import TRADER
    market_id = next(iter(config.path.index_ticks))
    market = state.profile.markets[market_id]
    traders = [a for a in state.accounts.values() if a.role == TRADER]
    quote = np.array([a.quote for a in traders], dtype=np.int64)
    lots = np.array([a.position(market_id) for a in traders], dtype=np.int64)
    floors = np.array([t.floor_notional_quote for t in market.tiers], dtype=np.int64)
    rates = np.array([t.maint_margin_ppm for t in market.tiers], dtype=np.int64)
    deds = np.array([t.maint_deduction_quote for t in market.tiers], dtype=np.int64)
    closed = 0
    for mark in config.path.index_ticks[market_id]:
        while True:
            value = lots * (mark * market.value_per_lot_tick)
            notional = np.abs(value)
            tier = np.searchsorted(floors, notional, side="right") - 1
            maint = np.where(notional > 0, -(-(notional * rates[tier]) // PPM) - deds[tier], 0)
            due = (maint > 0) & (quote + value < maint)
            if not due.any():
                break
            quote[due] += value[due]
            lots[due] = 0
            closed += int(due.sum())
    return closed


def bench_cascade(n: int) -> dict:
    from liqspec.fast.cascade import run_cascade as fast_run
    from liqspec.reference.cascade import run_cascade as reference_run
    state, config = cascade_case(n)
    t_fast, result = best_of(1, lambda: fast_run(state, config))
    kwargs = fast.arrays_of(state)
    t_arrays, arrays = best_of(1, lambda: fast.cascade_arrays(config=config, **kwargs))
    assert arrays.summary == result.summary and arrays.steps == result.steps
    core, stats = _time_core(kwargs, config, "index")
    scan, _ = _time_core(kwargs, config, "scan")
    t_numpy, _ = best_of(1, lambda: numpy_cascade(state, config))
    row = {"n": n, "fast": t_fast, "arrays": t_arrays, "core": core, "scan": scan,
           "numpy": t_numpy, "stats": stats, "liquidated": result.summary.accounts_liquidated,
           "events": len(result.events), "rounds": result.summary.rounds}
    if n <= 10**4:
        t_ref, want = best_of(1, lambda: reference_run(state, config))
        assert want.events == result.events and want.summary == result.summary
        assert want.state.snapshot() == result.state.snapshot()
        row["reference"], row["measured"] = t_ref, True
        bench_cascade.reference_per_account = t_ref / n
    else:
        row["reference"] = bench_cascade.reference_per_account * n
        row["measured"] = False
    return row


def _time_core(kwargs, config, order: str) -> tuple[float, dict]:
    """The compiled part alone: an engine built from arrays beforehand, then every step's
    opening (marks, books) and rounds, with the processing order from ``order``."""
    from liqspec.fast import cascade as fc
    from liqspec.fast import pack
    tables = fast.tables_for(kwargs["profile"])
    market_ids = tables.market_ids
    ids = tuple(kwargs["account_ids"])
    n, m = len(ids), len(market_ids)
    column, cfg_cols, levels, spacing, lots_per_level = fc._book_arrays(config, market_ids)
    cap = max(1, int(levels.max()))
    engine = fast._engine.Engine()
    lots = kwargs["lots"].copy()
    rows = pack.AccountRows(ids, kwargs["quote"].copy(), lots, kwargs["cost"].copy(),
                            (lots != 0).astype(np.uint8), kwargs["role"].copy(),
                            kwargs["isolated"].copy())
    engine.setup(pack.EngineArrays(
        tables, rows, np.array([kwargs["marks"][mid] for mid in market_ids], dtype=np.int64),
        pack.holder_balances(kwargs["holders"]), kwargs["seq"], fc.policies_of(kwargs["profile"]),
        book_capacity=cap))
    book_row = ids.index(config.book_account)
    rule = config.mark_rule
    engine.cascade_setup(cfg_cols, levels, spacing, lots_per_level, book_row, -1,
                         1 if rule.kind == "last_fill" else 0, rule.band_ppm,
                         config.path.step_seconds, order,
                         fund_window_s=kwargs["profile"].adl_drawdown_window_s)
    index = engine.marks.copy()
    start = time.perf_counter()
    for step in range(config.path.steps):
        for market_id, path in config.path.index_ticks.items():
            index[column[market_id]] = path[step]
        assert engine.cascade_open_step(step, index) == 0
        assert engine.cascade_rounds() == 0
        engine.cascade_end_step()
    return time.perf_counter() - start, engine.cascade_index_stats()


def cross_case(n: int):
    """N cross accounts over the example venue's BTC and ETH (each holding both, long or short, at
    2x..50x), built as arrays; both marks fall 12% over 60 steps with a 2% bounce half-way."""
    # the book account ("zbook") holds the other side of every position
    from liqspec.reference.book import BookShape
    from liqspec.reference.cascade import CascadeConfig, PricePath
    rng = np.random.default_rng(5)
    marks = np.array([EXAMPLE_MARKS["BTC"], EXAMPLE_MARKS["ETH"]], dtype=np.int64)
    lots = np.empty((n + 1, 2), dtype=np.int64)
    lots[:n, 0] = rng.integers(1, 2_000, n) * rng.choice([-1, 1], n)
    lots[:n, 1] = rng.integers(1, 2_000, n) * rng.choice([-1, 1], n)
    values = lots[:n] * marks * TABLES.value_per_lot_tick
    notional = np.abs(values).sum(axis=1)
    quote = np.empty(n + 1, dtype=np.int64)
    quote[:n] = notional // rng.integers(2, 50, n) - values.sum(axis=1)
    lots[n] = -lots[:n].sum(axis=0)  # the book account ("zbook" sorts last) holds the rest
    quote[n] = -quote[:n].sum()
    role = np.zeros(n + 1, dtype=np.int8)
    role[n] = fast._engine.ROLES["liquidity"]
    ids = [f"a{i:08d}" for i in range(n)] + ["zbook"]
    paths = {}
    for market_id, start in EXAMPLE_MARKS.items():
        down = [start * (1_000_000 - 120_000 * k // 60) // 1_000_000 for k in range(61)]
        paths[market_id] = tuple(down[:30] + [p * 1_020_000 // 1_000_000 for p in down[30:35]]
                                 + down[35:])
    books = {m: BookShape(50, 1_000, 100 * n) for m in EXAMPLE_MARKS}  # deep: no ADL either
    kwargs = {"profile": PROFILE, "marks": dict(EXAMPLE_MARKS), "account_ids": ids, "quote": quote,
              "lots": lots, "cost": lots * marks * TABLES.value_per_lot_tick, "role": role,
              "isolated": np.full(n + 1, -1, dtype=np.int64),
              # a fund deep enough that the book and the fund absorb every loss: auto-
              # deleveraging ranks every opposite trader per call (O(N log N) each), which
              # would time ADL, not the processing order
              "holders": {"outside": -10**15, "insurance_fund": 10**15}, "seq": 0}
    return kwargs, CascadeConfig(PricePath(5, paths), books, book_account="zbook")


def bench_cross(n: int) -> dict:
    kwargs, config = cross_case(n)
    t_arrays, result = best_of(1, lambda: fast.cascade_arrays(config=config, **kwargs))
    core, stats = _time_core(kwargs, config, "index")
    scan, _ = _time_core(kwargs, config, "scan")
    if n <= 10**4:  # the index agrees with the scan at every round
        fast.cascade_arrays(config=config, order="verify", **kwargs)
    return {"n": n, "arrays": t_arrays, "core": core, "scan": scan, "stats": stats,
            "liquidated": result.summary.accounts_liquidated, "rounds": result.summary.rounds}


def report_cascade(row: dict) -> None:
    n = row["n"]
    label = "measured" if row["measured"] else "EXTRAPOLATED linearly from 10^4"
    print(f"cascade (1 market)  N={n:>9,}: core {row['core']:7.3f} s "
          f"({n / row['core'] / 1e6:5.2f} M accounts/s; scan oracle {row['scan']:7.3f} s, "
          f"x{row['scan'] / row['core']:.1f})  cascade_arrays {row['arrays']:7.3f} s  "
          f"run_cascade(State) {row['fast']:7.3f} s  numpy {row['numpy']:7.3f} s "
          f"(core x{row['numpy'] / row['core']:.1f})  reference {row['reference']:9.2f} s "
          f"{label} (run_cascade x{row['reference'] / row['fast']:,.0f}, core "
          f"x{row['reference'] / row['core']:,.0f})", flush=True)
    print(f"    {row['liquidated']:,} accounts liquidated, {row['events']:,} events, "
          f"{row['rounds']} rounds; index {row['stats']}", flush=True)


def report_cross(row: dict) -> None:
    n = row["n"]
    print(f"cascade (cross, 2 mkts) N={n:>9,}: core {row['core']:7.3f} s (scan oracle "
          f"{row['scan']:7.3f} s, x{row['scan'] / row['core']:.1f})  cascade_arrays "
          f"{row['arrays']:7.3f} s  {row['liquidated']:,} liquidated, {row['rounds']} rounds; "
          f"index {row['stats']}", flush=True)


def report(title: str, row: dict, unit: str) -> None:
    n = row["n"]
    line = (f"{title:<22} N={n:>10,}  fast {row['fast'] * 1e3:9.2f} ms "
            f"({n / row['fast'] / 1e6:8.1f} M {unit}/s)  numpy {row['numpy'] * 1e3:9.2f} ms "
            f"(fast x{row['numpy'] / row['fast']:5.1f})  reference {row['reference']:9.2f} s "
            f"extrapolated (fast x{row['reference'] / row['fast']:,.0f})")
    if "gbps" in row:
        # both shares of the sum's read rate: of the bytes read, and of the bytes moved (read and
        # written: 41 per account here, as issue 12's 1.1-1.4 GB/s for 27-34 M accounts/s
        # counted them)
        line += (f"  {row['gbps']:.2f} GB/s moved ({row['moved share']:.0%} of a numpy sum's "
                 f"{row['probe gbps']:.1f} GB/s); reads at {row['read share']:.0%} of it; new "
                 f"output arrays each call "
                 f"{row['new arrays'] * 1e3:.2f} ms")
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--reference-sample", type=int, default=2_000,
                        help="accounts the reference is timed on (extrapolated to N)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kernels", action="store_true",
                        help="health and liquidation prices only (no cascades)")
    parser.add_argument("--scale", action="store_true",
                        help="then the venue-size cases of bench_scale.py: positions files end "
                             "to end, 10^4 to 10^6 and 10^7 in one market")
    args = parser.parse_args(argv)
    threads = os.environ.get("OMP_NUM_THREADS", f"all {os.cpu_count()} cores")
    print(f"liqspec.fast benchmarks: {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, kernel threads: {threads} (batches of 2^18 rows and more), "
          f"health's 64-bit path: {_kernels._tiers64_build()} build")
    sizes = (10**5, 10**6) if args.quick else (10**5, 10**6, 10**7)
    for kind in BOOKS:
        for n in sizes:
            report(f"health, {kind}", bench_health(n, args.reference_sample, args.repeats, kind),
                   "accounts")
    n = 10**5 if args.quick else 10**6
    report("liquidation prices", bench_prices(n, args.reference_sample, args.repeats), "positions")
    if args.kernels:
        return 0
    cascade_sizes = (10**4, 10**5) if args.quick else (10**4, 10**5, 10**6)
    rows = []
    for n in cascade_sizes:
        rows.append(bench_cascade(n))
        report_cascade(rows[-1])
    for a, b in zip(rows, rows[1:]):
        ratio = b["n"] / a["n"]
        print(f"growth {a['n']:,} -> {b['n']:,} (x{ratio:.0f} accounts): core "
              f"x{b['core'] / a['core']:.1f}, scan oracle x{b['scan'] / a['scan']:.1f}, "
              f"cascade_arrays x{b['arrays'] / a['arrays']:.1f}  (N log N would be "
              f"x{ratio * np.log(b['n']) / np.log(a['n']):.1f}, N^2 x{ratio ** 2:.0f})")
    cross_sizes = (10**4, 10**5)  # 10^6: see the report (not yet N log N end to end)
    for n in cross_sizes:
        report_cross(bench_cross(n))
    if args.scale:
        import bench_scale  # beside this file
        bench_scale.main(["--no-huge"] if args.quick else [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
