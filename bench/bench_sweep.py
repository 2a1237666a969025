"""Benchmark of ``liqspec sweep``'s execution (not a test): runs per second on a local Dask cluster
of 1 and of 2 worker processes, and the overhead of the distributed path against a plain loop
over the same runs in this process, as ratios measured in one run of this script.

    .venv/bin/python bench/bench_sweep.py [--runs 12] [--accounts 6000] [--steps 240]

The runs are alike on purpose: one synthetic book of ``--accounts`` accounts (Binance USD-M
terms, the default scenario's mix), one 12% crash over ``--steps`` steps, and ``--runs``
insurance fund sizes, so each run costs about the same (raise ``--accounts`` or ``--steps`` for
longer runs: the issue's target is an overhead under 10% at runs of about a second). Each worker
builds the book once before the clock starts (the plain loop too): what is timed is the runs,
from the first submission to the last result, on clusters that are already up, the fastest of
``--repeat`` passes (the machine may be shared); cluster start-up is reported beside. On a
shared machine wall time follows the other load; the CPU seconds (the workers', the scheduler's
and this process's, every thread) do not, so the script reports both. The three paths must give the same rows, or the script fails.
"""

from __future__ import annotations

import argparse
import os
import time

# Dask's nanny starts every worker with one OpenMP thread (distributed's pre-spawn environment):
# the plain loop gets the same, so the comparison is of the execution paths alone.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from liqspec.sweep_config import loads_sweep, plan  # noqa: E402
from liqspec.sweep_exec import (_built_book, close_client, local_client,  # noqa: E402
                                run_in_process, run_on_dask)

SWEEP = """
name = "bench"
[scenario]
name = "bench-book"
profile = "binance_usdm"
mark = {{ rule = "index_band", band = "0.005" }}
[scenario.markets.BTCUSDT]
start_price = "60000"
book = {{ levels = 200, spacing = "0.0005", lots_per_level = 300 }}
[scenario.synthetic]
seed = 7
accounts = {accounts}
long_fraction = "0.7"
leverage_min = "2"
leverage_max = "50"
notional_median = "10000"
notional_max = "2000000"
[grid]
insurance_fund = [{funds}]
[paths.crash]
kind = "shock"
drop = "0.12"
steps = {steps}
step_seconds = 5
"""


def _warm(payload: dict, book_key: str) -> None:
    """Build the book in this process (a worker's, when run by client.run)."""
    _built_book(payload, book_key)


def _timed(outcomes) -> tuple[float, dict]:
    started = time.perf_counter()
    results = {spec.run_key: outcome for spec, outcome in outcomes}
    return time.perf_counter() - started, _Rows(results)


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (a worker's event loop included)."""
    return time.process_time()


def _cluster_cpu(client) -> float:
    """CPU seconds used so far by the workers, the scheduler and this client process (a
    LocalCluster's scheduler lives in this process: counted once)."""
    seconds = sum(client.run(_cpu_seconds).values()) + _cpu_seconds()
    if client.run_on_scheduler(os.getpid) != os.getpid():
        seconds += client.run_on_scheduler(_cpu_seconds)
    return seconds


class _Rows(dict):
    """Results that ``min`` over (seconds, rows) pairs never compares (equal times are rare)."""

    def __lt__(self, other: object) -> bool:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--accounts", type=int, default=6000)
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each path this many times and keep the fastest (default 3)")
    args = parser.parse_args()
    funds = ", ".join(f'"{20_000 + 1_000 * k}"' for k in range(args.runs))
    the_plan = plan(loads_sweep(SWEEP.format(accounts=args.accounts, steps=args.steps,
                                             funds=funds)))
    payload = the_plan.payload()
    book_key = the_plan.variants[0].book_key
    runs = the_plan.runs
    print(f"{len(runs)} runs: {args.accounts:,} accounts, a 12% crash over {args.steps} steps; "
          f"{os.cpu_count()} cores")

    _warm(payload, book_key)
    cpu_before = _cpu_seconds()
    plain_s, reference = min(_timed(run_in_process(payload, runs)) for _ in range(args.repeat))
    plain_cpu = (_cpu_seconds() - cpu_before) / args.repeat
    assert all(o["status"] == "ok" for o in reference.values()), reference
    print(f"plain loop           {plain_s:8.2f} s  {len(runs) / plain_s:7.2f} runs/s  "
          f"({plain_s / len(runs):.3f} s a run; {plain_cpu:.2f} CPU s)")

    timings, cpu = {}, {}
    for workers in (1, 2):
        started = time.perf_counter()
        client = local_client(workers)
        try:
            startup_s = time.perf_counter() - started
            client.run(_warm, payload, book_key)
            cpu_before = _cluster_cpu(client)
            seconds, results = min(_timed(run_on_dask(client, payload, runs))
                                   for _ in range(args.repeat))
            cpu[workers] = (_cluster_cpu(client) - cpu_before) / args.repeat
        finally:
            close_client(client)
        if results != reference:
            raise SystemExit(f"{workers} worker(s) gave other rows than the plain loop")
        timings[workers] = seconds
        print(f"dask, {workers} worker{'s' if workers > 1 else ' '}       {seconds:8.2f} s  "
              f"{len(runs) / seconds:7.2f} runs/s  ({cpu[workers]:.2f} CPU s in workers, "
              f"scheduler and client; start-up {startup_s:.1f} s, not counted)")

    print()
    print(f"overhead of the distributed path, 1 worker against the plain loop: "
          f"{timings[1] / plain_s:.3f}x ({(timings[1] / plain_s - 1) * 100:+.1f}%)")
    print(f"CPU of the distributed path against the plain loop's (machine load does not "
          f"inflate it): 1 worker {cpu[1] / plain_cpu:.3f}x, 2 workers {cpu[2] / plain_cpu:.3f}x")
    print(f"2 workers against 1 worker: {timings[1] / timings[2]:.2f}x the runs per second")
    print(f"2 workers against the plain loop: {plain_s / timings[2]:.2f}x the runs per second")


if __name__ == "__main__":
    main()
