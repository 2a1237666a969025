"""Benchmarks of liqspec.fast against the reference and a numpy-vectorized baseline, in one run.

    python bench/bench.py                 # health 1e5, 1e6, 1e7; prices 1e6
    python bench/bench.py --quick         # health 1e5, 1e6; prices 1e5

Not part of the test suite, and no timing is asserted anywhere: this prints numbers.

* Margin health: equity, maintenance requirement and the liquidatable flag (LIQ-MARGIN-2,
  LIQ-TIER-5, LIQ-TRIGGER-1) for N cross accounts over the toy venue's two tiered markets.
* Liquidation prices: LIQ-PRICE-2 (tier switching, exact, ticks rounded toward the venue) for N
  isolated BTC positions.

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
from liqspec.reference import Account, equity_quote, is_liquidatable, liquidation_price
from liqspec.reference import account_maintenance_margin_quote as ref_maint
from liqspec.testing import TOY_MARKS, toy_profile, venue

PPM = 1_000_000
PROFILE = toy_profile()
TABLES = fast.tables_for(PROFILE)


def best_of(repeats: int, fn):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


# -- data -----------------------------------------------------------------------------------------

def random_book(n: int, seed: int = 1) -> fast.StateArrays:
    """N accounts, each long or short up to 10 BTC and 100 ETH, with margin of 0..20% of notional,
    so some fraction sits below maintenance."""
    rng = np.random.default_rng(seed)
    marks = np.array([TOY_MARKS["BTC"], TOY_MARKS["ETH"]], dtype=np.int64)
    lots = np.empty((n, 2), dtype=np.int64)
    lots[:, 0] = rng.integers(-10_000, 10_001, n)
    lots[:, 1] = rng.integers(-10_000, 10_001, n) * (rng.random(n) < 0.5)
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

def bench_health(n: int, sample: int, repeats: int) -> dict:
    book = random_book(n)
    args = (book.quote, book.lots, book.marks, TABLES)
    t_fast, (equity, maint, flags) = best_of(repeats, lambda: fast.health(*args))
    t_numpy, (np_eq, np_mm, np_flags) = best_of(max(1, repeats - 1), lambda: numpy_health(*args))
    assert np.array_equal(equity, np_eq) and np.array_equal(maint, np_mm)
    assert np.array_equal(flags, np_flags)
    rows = range(min(sample, n))
    accounts = as_accounts(book, rows)
    state = venue(marks=TOY_MARKS)

    def reference():
        return [(equity_quote(a, TOY_MARKS, PROFILE), ref_maint(a, TOY_MARKS, PROFILE),
                 is_liquidatable(a, state)) for a in accounts]

    t_ref_sample, ref = best_of(1, reference)
    assert ref == list(zip(equity[:len(rows)].tolist(), maint[:len(rows)].tolist(),
                           flags[:len(rows)].tolist(), strict=True))
    t_ref = t_ref_sample * n / len(rows)
    moved = book.quote.nbytes + book.lots.nbytes + equity.nbytes + maint.nbytes + flags.nbytes
    return {"n": n, "fast": t_fast, "numpy": t_numpy, "reference": t_ref,
            "gbps": moved / t_fast / 1e9, "liquidatable": int(flags.sum())}


def bench_prices(n: int, sample: int, repeats: int) -> dict:
    book = random_book(n, seed=2)
    lots = np.ascontiguousarray(book.lots[:, :1])
    lots[lots == 0] = 1
    isolated_tables = fast.pack_profile(toy_profile(markets={"BTC": PROFILE.markets["BTC"]}))
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
    profile = toy_profile(markets={"BTC": PROFILE.markets["BTC"]})
    accounts = [Account(f"a{i}", quote=int(quote[i]), positions={"BTC": int(lots[i, 0])})
                for i in rows]
    t_ref_sample, ref = best_of(1, lambda: [liquidation_price(a, "BTC", {"BTC": int(marks[0])},
                                                              profile) for a in accounts])
    assert [(p.ticks, p.exact.numerator, p.exact.denominator) for p in ref] == list(
        zip(ticks[:len(rows)].tolist(), num[:len(rows)].tolist(), den[:len(rows)].tolist(),
            strict=True))
    return {"n": n, "fast": t_fast, "numpy": t_numpy, "reference": t_ref_sample * n / len(rows)}


def report(title: str, row: dict, unit: str) -> None:
    n = row["n"]
    line = (f"{title:<22} N={n:>10,}  fast {row['fast'] * 1e3:9.2f} ms "
            f"({n / row['fast'] / 1e6:8.1f} M {unit}/s)  numpy {row['numpy'] * 1e3:9.2f} ms "
            f"(fast x{row['numpy'] / row['fast']:5.1f})  reference {row['reference']:9.2f} s "
            f"extrapolated (fast x{row['reference'] / row['fast']:,.0f})")
    if "gbps" in row:
        line += f"  {row['gbps']:.2f} GB/s moved"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--reference-sample", type=int, default=2_000,
                        help="accounts the reference is timed on (extrapolated to N)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    threads = os.environ.get("OMP_NUM_THREADS", f"all {os.cpu_count()} cores")
    print(f"liqspec.fast benchmarks: {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, kernel threads: {threads} (batches of 2^18 rows and more)")
    sizes = (10**5, 10**6) if args.quick else (10**5, 10**6, 10**7)
    for n in sizes:
        report("margin health", bench_health(n, args.reference_sample, args.repeats), "accounts")
    n = 10**5 if args.quick else 10**6
    report("liquidation prices", bench_prices(n, args.reference_sample, args.repeats), "positions")
    print("cascades: not benchmarked (the cascade is not ported to the fast path yet)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
