"""Auto-deleveraging at scale: a thin-book cascade that deleverages many accounts, through
liqspec.fast.cascade_arrays, at 10^4, 10^5 and 10^6 accounts.

    python bench/bench_adl.py                        # 1e4, 1e5, 1e6 on binance_usdm
    python bench/bench_adl.py --sizes 10000 100000 --profiles binance_usdm dydx_v4
    python bench/bench_adl.py --check 2000           # the array builder against build_state

The case: a synthetic BTCUSDT book (liqspec.synthetic.generate_book, seed 7, half long, 2x to
50x, notional lognormal around 10,000 USDT, 10% isolated) of N accounts against a book of 200
levels x 300 lots a side, 0.05% apart, whatever N (so the book is thin and the deficits go to
auto-deleveraging), an empty insurance fund, and the index falling 1% a step for five steps.
Profiles other than binance_usdm run the same book on their own ranking (BitMEX: PnL% x
leverage; Hyperliquid: price ratio x leverage; dYdX: seeded order) and ``pro_rata`` is Binance
with the pro-rata policy.

The accounts go straight into arrays, as :func:`liqspec.positions.build_state` would book them
(quote = wallet less the entry cost, cost basis = the entry cost, the book's liquidity account
holding the net opposite; its cost basis is left simpler, and seq starts at 0); ``--check N``
runs both builders at N accounts and compares the cascades' summaries and step records. Not part of the test suite; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

import liqspec.fast as fast
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.profiles import get_profile
from liqspec.synthetic import generate_book



def btc(profile):
    """The profile's BTC market and 60,000 quote per BTC in its ticks."""
    market = next(m for m in profile.markets.values() if m.market_id.startswith(("BTC", "XBT")))
    return market.market_id, 60_000 * 10**market.price_decimals


def profile_named(name: str):
    if name == "pro_rata":
        return replace(get_profile("binance_usdm"), adl_ranking="pro_rata")
    return get_profile(name)


def rows_for(profile, n: int):
    market_id, start = btc(profile)
    unit = 10**profile.quote_decimals
    return generate_book(profile, market_id, start, 7, accounts=n, long_fraction_ppm=500_000,
                         notional_median_quote=10_000 * unit, notional_max_quote=2_000_000 * unit,
                         isolated_fraction_ppm=100_000)


def arrays_for(profile, n: int) -> dict:
    """cascade_arrays keyword arguments for the case (see the module docstring)."""
    rows = rows_for(profile, n)
    market_id, start = btc(profile)
    market = profile.market(market_id)
    markets = list(fast.tables_for(profile).market_ids)
    k = markets.index(market_id)
    vpl = market.value_per_lot_tick
    ids = sorted(["book"] + [r.account_id for r in rows])
    at = {a: i for i, a in enumerate(ids)}
    quote = np.zeros(len(ids), dtype=np.int64)
    lots = np.zeros((len(ids), len(markets)), dtype=np.int64)
    cost = np.zeros((len(ids), len(markets)), dtype=np.int64)
    role = np.zeros(len(ids), dtype=np.int8)
    isolated = np.full(len(ids), -1, dtype=np.int64)
    book = at["book"]
    role[book] = fast._engine.ROLES["liquidity"]
    book_cost = 0
    for r in rows:
        i = at[r.account_id]
        entry = r.size_lots * r.entry_price_ticks * vpl  # what the account pays (signed)
        quote[i] = r.wallet_quote - entry
        lots[i, k] = r.size_lots
        cost[i, k] = entry
        if r.isolated_market is not None:
            isolated[i] = k
        quote[book] += entry
        book_cost -= entry
    lots[book, k] = -lots[:, k].sum()
    cost[book, k] = book_cost if lots[book, k] else 0
    marks = {m: 1 for m in profile.markets} | {market_id: start}  # the other market: unused
    return {"profile": profile, "marks": marks, "account_ids": ids, "quote": quote,
            "lots": lots, "cost": cost, "role": role, "isolated": isolated,
            "holders": {"outside": -int(sum(r.wallet_quote for r in rows))}}


def config_for(profile) -> CascadeConfig:
    market_id, start = btc(profile)
    path = PricePath(5, {market_id: tuple(start * (100 - s) // 100 for s in range(1, 6))})
    return CascadeConfig(path, {market_id: BookShape(200, 500, 300)}, "book",
                         mark_rule=MarkRule("index_band", 5_000))


def run(name: str, n: int, order: str = "index"):
    profile = profile_named(name)
    kwargs = arrays_for(profile, n)
    config = config_for(profile)
    start, cpu = time.perf_counter(), time.process_time()
    result = fast.cascade_arrays(config=config, order=order, **kwargs)
    run.cpu = time.process_time() - cpu  # this process's CPU: less sensitive to a busy machine
    return time.perf_counter() - start, result


def check(n: int) -> None:
    """The array builder gives the cascade build_state's state gives."""
    from liqspec.positions import build_state
    for name in ("binance_usdm", "dydx_v4"):
        profile = profile_named(name)
        market_id, start = btc(profile)
        state = build_state(profile, arrays_for(profile, 1)["marks"], rows_for(profile, n))
        want = fast.cascade_arrays(config=config_for(profile), **fast.arrays_of(state))
        # build_state's operations advance seq (the seeded ranking reads it): start alike
        got = fast.cascade_arrays(config=config_for(profile),
                                  **dict(arrays_for(profile, n), seq=state.seq))
        assert got.summary == want.summary and got.steps == want.steps, name
        print(f"{name}: array builder == build_state at {n} accounts "
              f"(ADL lots {got.summary.adl_lots})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--profiles", nargs="+", default=["binance_usdm"])
    parser.add_argument("--order", default="index", choices=("index", "scan", "verify"))
    parser.add_argument("--check", type=int, default=0)
    args = parser.parse_args(argv)
    if args.check:
        check(args.check)
        return 0
    for name in args.profiles:
        previous = None
        for n in args.sizes:
            seconds, result = run(name, n, args.order)
            s = result.summary
            growth = f"  CPU x{run.cpu / max(previous[0], 1e-6):.1f} for x{n // previous[1]}" \
                if previous else ""
            print(f"{name:>20} N={n:>9,}  {seconds:8.2f} s (CPU {run.cpu:7.2f} s)  "
                  f"liquidated {s.accounts_liquidated:,}  ADL lots {s.adl_lots:,}  "
                  f"rounds {s.rounds}{growth}", flush=True)
            previous = (run.cpu, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
