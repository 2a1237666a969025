"""Venue-size books end to end: a positions file through ``liqspec simulate --engine fast``.

    python bench/bench_scale.py                      # 10^4, 10^5, 10^6 (the three books), 10^7 one market
    python bench/bench_scale.py --sizes 10000 100000 --no-huge
    python bench/bench_scale.py generate 1000000 book.parquet [--markets BTCUSDT] [--seed 7]

Not part of the test suite; no timing is asserted anywhere: this prints numbers from one invocation.

The book (:func:`write_positions`, vectorized, a Parquet positions file as liqspec.positions
documents it): N accounts on Binance USD-M over every market of the profile, 70% long (the 30%
short scaled to hold as much open interest as the longs, market by market); 70% cross
(each holding one market or every market) and 30% isolated; leverage 2x-100x log-uniform (capped
by the tier's initial margin); notional lognormal around 10,000 USDT (sigma 1, at most 2M);
entries within 2% of the start; every account healthy at the start (wallet = margin at its
leverage, at least its initial requirement, plus any loss to the start price).

The crash: every market falls 15% in 30 ten-second steps and holds 5. Two books of liquidity:

* ``deep``: 100 levels of 0.1% per side, each worth 200 USDT per account (twice the book's
  notional per side, rebuilt at every step), an insurance fund of 100 USDT per account: the
  book absorbs the forced selling and the fund pays the deficits, so no ADL is needed;
* ``thin``: the same levels at 1 USDT per account and a fund of 0.1 USDT per account (at least
  1,000): the order book takes a sliver of the selling, the fund runs out and
  auto-deleveraging closes the rest (the deleveraging-heavy case);
* ``social``: a synthetic book on Drift v2 (one market, ETH-PERP from 3,000; 200 levels of 0.05%
  at 0.3 lots a level per account, a fund of 2 USDC per account): thousands of accounts are
  written off and the losses socialized on both sides of the market, round after round (the
  socialization-heavy case; its load phase generates the book).

Per size and book, two child processes (one invocation; in the second, the load, run and write
phases each run at least three times and again until their runs have taken two CPU seconds,
and the least time is kept, so a growth ratio does not rest on a few noisy samples of a
hundredth of a second):

* ``liqspec simulate --engine fast`` on the scenario file, end to end (load, cascade, trace,
  steps, summary, plots): wall time and the child's peak memory (``os.wait4``'s ru_maxrss);
* the same phases called one by one in a child, timed in CPU seconds of the child
  (``time.process_time``: the machine is shared, so wall time also counts other work): load (liqspec.bulk.parse_bulk_scenario:
  the file read, checked and packed), run (liqspec.bulk.run: liqspec.fast.cascade_arrays), write
  (liqspec.trace_stream.write_trace, steps.csv, summary.json, the three plots).

Beside them, at 10^4: the reference engine (``liqspec simulate``) on the same file (a timeout
stops it), and a numpy baseline (rounds of whole-array liquidatable checks per step, closing each
liquidatable account at the mark: no book, fees or ADL; a lower bound on a vectorized cascade)
at every size. Growth ratios per x10 are printed per phase; the run's beside its work, the
accounts the processing order confirmed over all rounds (each an exact due check; the unresolved
accounts are confirmed again every round), and the time per confirmation: when the work grows
faster than the accounts, the crash is not the same at both sizes and the ratio per confirmation
is the engine's own growth. The shorts are scaled to hold the longs' open interest: an earlier
book of equal sizes on both sides held 2.3 times more long than short, the excess only in the
book account, which ADL never takes; once ADL had closed every short, the bankrupt longs left
could be neither sold (the thin book spent) nor deleveraged, and stayed liquidatable to the end
(9.4% of the accounts at 10^4, 13.0% at 10^5 and 10^6, all under water), confirmed again in
every round, so the run's work grew with that share. On the balanced book none is left.
``--huge`` (default on) adds 10^7 accounts in one market on the deep book (the trace streamed
to disk). The issue's targets:
10^6 end to end <= 30 s and <= 4 GB, 10^7 one market <= 5 min, growth <= x12 per x10.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PROFILE_NAME = "binance_usdm"
DROP, STEPS, HOLD, STEP_SECONDS = "0.15", 30, 5, 10
LEVELS, SPACING = 100, "0.001"
START_PRICES = {"BTCUSDT": "60000", "ETHUSDT": "3000"}


# -- the positions file ---------------------------------------------------------------------------

def _decimal_text(units: np.ndarray, decimals: int) -> pa.Array:
    """Integers in units of 10^-decimals as exact decimal text ("-12.345")."""
    sign = np.where(units < 0, "-", "")
    magnitude = np.abs(units)
    whole = pc.cast(pa.array(magnitude // 10**decimals), pa.string())
    if not decimals:
        return pc.binary_join_element_wise(pa.array(sign), whole, "")
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % 10**decimals), pa.string()), decimals,
                            "0")
    return pc.binary_join_element_wise(pa.array(sign), whole, ".", fraction, "")


def write_positions(path: Path, accounts: int, markets: list[str] | None = None,
                    seed: int = 7, batch: int = 1_000_000) -> int:
    """Write a positions file of ``accounts`` accounts (see the module docstring), in batches;
    returns the number of rows."""
    from liqspec.fast import _kernels, tables_for
    from liqspec.reference.profiles import get_profile
    from liqspec.reference.units import to_units

    profile = get_profile(PROFILE_NAME)
    market_ids = markets or list(profile.markets)
    tables = tables_for(profile)
    m_all = len(tables.market_ids)
    columns = [tables.column(mid) for mid in market_ids]
    start = np.array([to_units(START_PRICES[mid], profile.markets[mid].price_decimals)
                      if mid in START_PRICES else 1 for mid in tables.market_ids],
                     dtype=np.int64)
    vpl = tables.value_per_lot_tick
    q = 10**profile.quote_decimals
    rng = np.random.default_rng(seed)
    width = len(str(accounts))
    rows = 0
    writer = None
    for first in range(0, accounts, batch):
        n = min(batch, accounts - first)
        long_ = rng.random(n) < 0.7
        isolated = rng.random(n) < 0.3
        every = ~isolated & (rng.random(n) < 0.5)  # cross over every market, else one
        own = rng.integers(0, len(columns), n)
        leverage = np.exp(np.log(2) + rng.random(n) * (np.log(100) - np.log(2)))
        lots = np.zeros((n, m_all), dtype=np.int64)
        entry = np.zeros((n, m_all), dtype=np.int64)
        for j, column in enumerate(columns):
            holds = every | (own == j)
            notional = np.minimum(10_000 * q * np.exp(rng.standard_normal(n)), 2_000_000 * q)
            size = np.maximum(1, (notional // (start[column] * vpl[column])).astype(np.int64))
            # the shorts hold as much as the longs (a venue's open interest is the same on both
            # sides): 30% of the accounts, each short scaled up by the longs' total over theirs.
            # Unbalanced, the excess long had no holder but the book account, which ADL never
            # touches: once ADL had closed every short, the bankrupt longs left were unresolvable
            # and confirmed again every round to the end (9.4% of the accounts at 10^4, 13% at
            # 10^5 on the thin book), so the run's work grew with that share, not the book
            longs = np.where(holds & long_, size, 0)
            shorts = np.where(holds & ~long_, size, 0)
            if shorts.sum():
                shorts = np.where(shorts > 0, np.maximum(1, np.rint(
                    shorts * (longs.sum() / shorts.sum()))).astype(np.int64), 0)
            lots[:, column] = longs - shorts
            spread = (rng.random(n) * 2 - 1) * 0.02
            entry[:, column] = np.maximum(1, (start[column] * (1 + spread)).astype(np.int64))
        notional = np.abs(lots * start * vpl).sum(axis=1)
        margin = -(-(notional * 1000) // (leverage * 1000).astype(np.int64))  # at the leverage
        initial = _kernels.initial_margin_quotes(lots, start, tables,
                                                 np.zeros(m_all, dtype=np.int64))
        pnl = (lots * (start - entry) * vpl).sum(axis=1)
        wallet = np.maximum(margin, initial) + np.maximum(0, -pnl)
        held = np.argwhere(lots != 0)  # (account, column) per row, accounts in order
        account_index = held[:, 0]
        column_index = held[:, 1]
        names = pc.binary_join_element_wise(
            "acct-", pc.utf8_lpad(pc.cast(pa.array(first + account_index + 1), pa.string()),
                                  width, "0"), "")
        market_text = pa.array(np.array(tables.market_ids, dtype=object)[column_index],
                               pa.string())
        size_text = entry_text = None
        for column in columns:  # each market's own units
            spec = profile.markets[tables.market_ids[column]]
            here = pa.array(column_index == column)
            size_here = _decimal_text(lots[account_index, column_index], spec.base_decimals)
            entry_here = _decimal_text(entry[account_index, column_index], spec.price_decimals)
            size_text = size_here if size_text is None else pc.if_else(here, size_here,
                                                                        size_text)
            entry_text = entry_here if entry_text is None else pc.if_else(here, entry_here,
                                                                          entry_text)
        table = pa.table({
            "account": names,
            "wallet": _decimal_text(wallet[account_index], profile.quote_decimals),
            "market": market_text, "size": size_text, "entry_price": entry_text,
            "isolated": pc.if_else(pa.array(isolated[account_index]), market_text, ""),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        rows += table.num_rows
    writer.close()
    return rows


#: quote depth of one book level per account, in USDT (the median position is 10,000 USDT)
LEVEL_DEPTH_USDT = {"deep": 200, "thin": 1}
#: the insurance fund per account, in USDT: deep enough to pay every deficit on the deep book
FUND_USDT = {"deep": 100, "thin": 0.1}


#: the socialization-heavy case: Drift v2 (losses beyond the fund charged to both sides of the
#: market, LIQ-SOCIAL-2) on a synthetic book of one market, its order book 0.3 lots a level per
#: account, its fund 2 USDC per account
SOCIAL_PROFILE, SOCIAL_MARKET, SOCIAL_START = "drift_v2", "ETH-PERP", "3000"
SOCIAL_LOTS_PER_ACCOUNT, SOCIAL_FUND_USDC = 0.3, 2


def write_social_scenario(folder: Path, accounts: int) -> Path:
    """The ``social`` book: a synthetic Drift v2 book of ``accounts`` (seed 7; 70% long,
    leverage 2x-50x, notional lognormal around 10,000 USDC, 10% isolated) through the same crash
    as the other books, thin enough that thousands of accounts are written off and their losses
    socialized round after round (LIQ-CASCADE-2)."""
    lots = max(1, round(SOCIAL_LOTS_PER_ACCOUNT * accounts))
    text = [f'name = "scale-{accounts}-social"', f'profile = "{SOCIAL_PROFILE}"',
            f'insurance_fund = "{SOCIAL_FUND_USDC * accounts}"', "",
            f"[markets.{SOCIAL_MARKET}]", f'start_price = "{SOCIAL_START}"',
            f'book = {{ levels = 200, spacing = "0.0005", lots_per_level = {lots} }}', "",
            "[path]", 'kind = "shock"', f'drop = "{DROP}"', f"steps = {STEPS}",
            f"step_seconds = {STEP_SECONDS}", f"hold_steps = {HOLD}", "",
            "[synthetic]", "seed = 7", f"accounts = {accounts}", 'long_fraction = "0.7"',
            'leverage_min = "2"', 'leverage_max = "50"', 'leverage_distribution = "log_uniform"',
            'notional_median = "10000"', 'notional_sigma = "1"', 'notional_max = "2000000"',
            'entry_spread = "0.02"', 'isolated_fraction = "0.1"', ""]
    path = folder / "social.toml"
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def write_scenario(folder: Path, accounts: int, markets: list[str], book: str) -> Path:
    """A scenario over the positions file ``book.parquet`` in ``folder``: per side, 100 levels
    of LEVEL_DEPTH_USDT[book] x N USDT each (deep: half the book's notional per side, rebuilt
    at every step; thin: 1/50 of that); the ``social`` book is synthetic
    (:func:`write_social_scenario`)."""
    if book == "social":
        return write_social_scenario(folder, accounts)
    from liqspec.reference.profiles import get_profile
    profile = get_profile(PROFILE_NAME)
    text = [f'name = "scale-{accounts}-{book}"', f'profile = "{PROFILE_NAME}"',
            f'insurance_fund = "{max(1000, round(FUND_USDT[book] * accounts))}"', ""]
    for mid in markets:
        lot_usdt = float(START_PRICES[mid]) / 10**profile.markets[mid].base_decimals
        lots = max(1, round(LEVEL_DEPTH_USDT[book] * accounts / lot_usdt))
        text += [f"[markets.{mid}]", f'start_price = "{START_PRICES[mid]}"',
                 f'book = {{ levels = {LEVELS}, spacing = "{SPACING}", lots_per_level = {lots} }}',
                 ""]
    text += ["[path]", 'kind = "shock"', f'drop = "{DROP}"', f"steps = {STEPS}",
             f"step_seconds = {STEP_SECONDS}", f"hold_steps = {HOLD}", "", "[positions]",
             'file = "book.parquet"', ""]
    path = folder / f"{book}.toml"
    path.write_text("\n".join(text), encoding="utf-8")
    return path


# -- the children ---------------------------------------------------------------------------------

PHASES = r"""
import json, sys, time
from pathlib import Path
clock = time.process_time  # CPU seconds of this process: the machine is shared
t0 = clock()
from liqspec import bulk, plots
from liqspec.reference.cascade import CascadeResult
from liqspec.scenario import load_scenario
from liqspec.simulate import write_steps_csv, write_summary_json
from liqspec.trace_stream import write_trace
out = Path(sys.argv[2]); out.mkdir(exist_ok=True)
t1 = clock()

def best(phase, least=3, budget=2.0, most=60):
    # the least CPU time over at least `least` runs, and more until they have taken `budget`
    # seconds together (at most `most`): a phase of a hundredth of a second at 10^4 is measured
    # over up to sixty runs, one of several seconds at 10^6 over three, so each size's least
    # time rests on enough samples that a growth ratio is not the noise of one tick. Every run
    # at every size starts from the same inputs; at 10^4 and 10^5 they stay in the cache between
    # runs (they fit it), as they already do for the first run right after the load
    times = []
    while len(times) < least or (sum(times) < budget and len(times) < most):
        start = clock()
        value = phase()
        times.append(clock() - start)
    return value, min(times), len(times)

scenario, load_s, load_n = best(lambda: load_scenario(sys.argv[1], bulk.parse_bulk_scenario))
crash, run_s, run_n = best(lambda: bulk.run(scenario))

def write():
    events = write_trace(crash.event_batches(), bulk.EVENT_SCHEMA, parquet=out / "events.parquet",
                         csv=out / "events.csv", jsonl=out / "events.jsonl",
                         plain=crash.plain_text())
    write_steps_csv(crash, out / "steps.csv")
    write_summary_json(crash.summary, scenario.state, out / "summary.json", scenario.name)
    return events

events, trace_s, trace_n = best(write)
t4 = clock()
view = CascadeResult(None, bulk.plot_events(crash), crash.steps, crash.summary)
levels = {m: bulk.liquidation_levels(scenario.book, m) for m in scenario.config.path.index_ticks}
plots.render_all(view, scenario.state, scenario.config, out, scenario.name,
                 levels_by_market=levels)
t5 = clock()
s = crash.summary
print(json.dumps({"import": t1 - t0, "load": load_s, "run": run_s, "trace": trace_s,
                  "plots": t5 - t4, "repeats": [load_n, run_n, trace_n], "events": events,
                  "liquidated": s.accounts_liquidated,
                  "adl_lots": s.adl_lots, "rounds": s.rounds, "unresolved": s.unresolved_accounts,
                  "fund_end": s.insurance_fund_end_quote,
                  "examined": crash.arrays.index_stats["examined"]}))
"""

NUMPY = r"""
import json, sys, time
import numpy as np
from liqspec import bulk
from liqspec.fast import tables_for
from liqspec.scenario import load_scenario
scenario = load_scenario(sys.argv[1], bulk.parse_bulk_scenario)
book, config = scenario.book, scenario.config
tables = tables_for(book.profile)
traders = book.traders
quote, lots = book.quote[traders].copy(), book.lots[traders].copy()
m = lots.shape[1]
vpl = tables.value_per_lot_tick
t = time.process_time()
closed = 0
paths = {tables.column(mid): path for mid, path in config.path.index_ticks.items()}
for step in range(config.path.steps):
    mark = np.array([paths[k][step] if k in paths else 1 for k in range(m)], dtype=np.int64)
    while True:
        value = lots * (mark * vpl)
        notional = np.abs(value)
        maint = np.zeros(len(quote), dtype=np.int64)
        for k in range(m):
            n_t = int(tables.n_tiers[k])
            floors = tables.tier_floor_quote[k, :n_t]
            tier = np.searchsorted(floors, notional[:, k], side="right") - 1
            rate, ded = tables.maint_margin_ppm[k, tier], tables.maint_deduction_quote[k, tier]
            maint += np.where(notional[:, k] > 0, -(-(notional[:, k] * rate) // 10**6) - ded, 0)
        due = (maint > 0) & (quote + value.sum(axis=1) < maint)
        if not due.any():
            break
        quote[due] += value[due].sum(axis=1)
        lots[due] = 0
        closed += int(due.sum())
print(json.dumps({"run": time.process_time() - t, "closed": closed}))
"""


def end_to_end(scenario: Path, out: Path, timeout: float | None) -> dict:
    """``liqspec simulate --engine fast`` in a child: wall time, peak memory (os.wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "liqspec", "simulate", str(scenario),
                                "--out", str(out), "--engine", "fast", "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            return {"wall": time.perf_counter() - start, "rss": None, "done": False}
        time.sleep(0.05)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"simulate failed: {process.stderr.read()[-2000:]}")
    return {"wall": time.perf_counter() - start, "rss": usage.ru_maxrss / 2**20,
            "cpu": usage.ru_utime + usage.ru_stime, "done": True}


def _child_json(code: str, args: list[str], timeout: float | None) -> dict | None:
    """Run ``code`` in a child Python; its last line of output as JSON, None on a timeout."""
    try:
        result = subprocess.run([sys.executable, "-c", code, *args],
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def phases(scenario: Path, out: Path, timeout: float | None) -> dict | None:
    return _child_json(PHASES, [str(scenario), str(out)], timeout)


def numpy_baseline(scenario: Path, timeout: float | None) -> dict | None:
    return _child_json(NUMPY, [str(scenario)], timeout)


def reference(scenario: Path, out: Path, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "liqspec", "simulate", str(scenario), "--out",
                        str(out), "-q", "--no-plots"], capture_output=True, timeout=timeout,
                       check=True)
    except subprocess.TimeoutExpired:
        return {"wall": time.perf_counter() - start, "done": False}
    return {"wall": time.perf_counter() - start, "done": True}


# -- the report -----------------------------------------------------------------------------------

def _seconds(value: float | None) -> str:
    return "   -   " if value is None else f"{value:7.2f}"


def run_case(folder: Path, accounts: int, markets: list[str], book: str,
             timeout: float | None, with_reference: bool) -> dict:
    scenario = write_scenario(folder, accounts, markets, book)
    row: dict = {"n": accounts, "book": book, "markets": len(markets)}
    row["e2e"] = end_to_end(scenario, folder / f"out-{book}", timeout)
    row["phases"] = phases(scenario, folder / f"phases-{book}", timeout) \
        if row["e2e"]["done"] else None
    row["numpy"] = numpy_baseline(scenario, timeout)
    if with_reference:
        row["reference"] = reference(scenario, folder / f"ref-{book}", min(timeout or 120, 120))
    p, e = row["phases"], row["e2e"]
    line = (f"{accounts:>10,} {book:6s} {len(markets)} mkt  e2e {_seconds(e['wall'])} s"
            f"{'' if e['done'] else ' (stopped: timeout)'}")
    if e["rss"] is not None:
        line += f" (cpu {e['cpu']:.2f} s)  peak {e['rss']:.2f} GB"
    if p:
        line += (f"  | cpu: load {p['load']:.2f}  run {p['run']:.2f}  write {p['trace']:.2f}"
                 f" + plots {p['plots']:.2f} s (least of {'/'.join(map(str, p['repeats']))} runs)"
                 f"  | {p['liquidated']:,} liquidated, "
                 f"{p['adl_lots']:,} ADL lots, {p['events']:,} events, {p['rounds']:,} rounds")
    if row["numpy"]:
        line += f"  | numpy baseline run {row['numpy']['run']:.2f} s cpu"
    if with_reference:
        r = row["reference"]
        line += (f"  | reference {r['wall']:.1f} s" if r["done"]
                 else f"  | reference > {r['wall']:.0f} s (stopped)")
    print(line, flush=True)
    return row


def growth(rows: list[dict]) -> None:
    for a, b in zip(rows, rows[1:]):
        if not (a["phases"] and b["phases"]):
            print(f"growth {a['n']:,} -> {b['n']:,} ({a['book']}): not measured (a run was "
                  f"stopped)")
            continue
        ratio = b["n"] / a["n"]
        parts = [f"{name} x{b['phases'][name] / max(a['phases'][name], 1e-9):.1f}"
                 for name in ("load", "run", "trace", "plots")]
        # the run's work: the accounts the processing order confirmed, summed over its rounds
        # (each a due check); when it grows faster than the accounts the crash is not the same
        # at both sizes, and the time per confirmation says what the engine costs
        work = b["phases"]["examined"] / max(a["phases"]["examined"], 1)
        run = b["phases"]["run"] / max(a["phases"]["run"], 1e-9)
        parts[1] += (f" (confirmations x{work:.1f}, unresolved {a['phases']['unresolved']:,} -> "
                     f"{b['phases']['unresolved']:,}; x{run / work:.2f} per confirmation)")
        parts.append(f"end to end x{b['e2e']['wall'] / a['e2e']['wall']:.1f} wall, "
                     f"x{b['e2e']['cpu'] / a['e2e']['cpu']:.1f} cpu")
        print(f"growth {a['n']:,} -> {b['n']:,} (x{ratio:.0f} accounts, {a['book']}): "
              + ", ".join(parts), flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate"]:
        parser = argparse.ArgumentParser(prog="bench_scale.py generate")
        parser.add_argument("accounts", type=int)
        parser.add_argument("path", type=Path)
        parser.add_argument("--markets", nargs="*", default=None)
        parser.add_argument("--seed", type=int, default=7)
        args = parser.parse_args(argv[1:])
        rows = write_positions(args.path, args.accounts, args.markets, args.seed)
        print(f"{args.path}: {rows:,} rows, {args.accounts:,} accounts")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[10**4, 10**5, 10**6])
    parser.add_argument("--books", nargs="*", default=["deep", "thin", "social"],
                        choices=["deep", "thin", "social"])
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before a child is stopped (and reported so)")
    parser.add_argument("--huge", action=argparse.BooleanOptionalAction, default=True,
                        help="10^7 accounts in one market (deep book)")
    args = parser.parse_args(argv)
    from liqspec.reference.profiles import get_profile
    markets = list(get_profile(PROFILE_NAME).markets)
    print(f"liqspec bench_scale: {os.cpu_count()} cores; {PROFILE_NAME} {', '.join(markets)} "
          f"(deep, thin), {SOCIAL_PROFILE} {SOCIAL_MARKET} synthetic (social); "
          f"a {float(DROP):.0%} crash over {STEPS} steps (+{HOLD} held); "
          "phases: the least CPU time of at least 3 runs, more until 2 s")
    with tempfile.TemporaryDirectory(prefix="liqspec-scale-") as tmp:
        for book in args.books:
            rows = []
            for n in args.sizes:
                folder = Path(tmp) / f"{n}-{book}"
                folder.mkdir()
                if book == "social":  # synthetic: generated in the load phase
                    rows.append(run_case(folder, n, [SOCIAL_MARKET], book, args.timeout,
                                         n <= 10**4))
                    continue
                start = time.perf_counter()
                count = write_positions(folder / "book.parquet", n, markets)
                print(f"  (generated {count:,} rows for {n:,} accounts in "
                      f"{time.perf_counter() - start:.1f} s)", flush=True)
                rows.append(run_case(folder, n, markets, book, args.timeout, n <= 10**4))
            growth(rows)
        if args.huge:
            n = 10**7
            folder = Path(tmp) / "huge"
            folder.mkdir()
            start = time.perf_counter()
            count = write_positions(folder / "book.parquet", n, ["BTCUSDT"])
            print(f"  (generated {count:,} rows for {n:,} accounts in "
                  f"{time.perf_counter() - start:.1f} s)", flush=True)
            run_case(folder, n, ["BTCUSDT"], "deep", max(args.timeout, 600.0), False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
