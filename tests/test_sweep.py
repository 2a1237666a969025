"""liqspec sweep: many cascades on dask.distributed, into one deterministic, resumable table.

The sweeps here are tiny (a few hundred accounts, tens of steps, tens of runs) so the whole file
stays cheap; one local cluster of two worker processes serves every test that needs one, and one
test starts a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from liqspec import sweep
from liqspec.reference.arithmetic import PPM
from liqspec.reference.cascade import shock_path
from liqspec.reference.profiles import get_profile
from liqspec.sweep_config import (PARAMETERS, SweepError, adjust_profile, default_sweep,
                                  loads_sweep, plan)
from liqspec.sweep_exec import close_client, local_client
from liqspec.sweep_paths import (SECONDS_PER_YEAR, PathError, PathSpec, index_path, levels,
                                 to_ticks)

BIN = Path(sys.executable).parent

TINY = """
name = "tiny"
seeds = 3

[scenario]
name = "tiny-book"
profile = "binance_usdm"
insurance_fund = "1000"
mark = { rule = "index_band", band = "0.005" }
[scenario.markets.BTCUSDT]
start_price = "60000"
book = { levels = 50, spacing = "0.001", lots_per_level = 40 }
[scenario.synthetic]
seed = 3
accounts = 200
notional_median = "10000"

[grid]
insurance_fund = ["100", "5000"]
profile = ["binance_usdm", "hyperliquid"]

[paths.crash]
kind = "shock"
drop = ["0.05", "0.15"]
steps = 20
step_seconds = 5

[paths.jumps]
kind = "merton"
steps = 40
step_seconds = 5
volatility = "1.2"
jump_intensity = "52560"
jump_mean = "-0.03"
jump_std = "0.02"
"""
TINY_RUNS = 2 * 2 * (2 + 3)  # fund x venue x (two shocks + three seeds of the jump model)

#: a run that fails: a drift of 10^8 a year sends the index past int64 within the path
FAILING = TINY.replace('[paths.jumps]', '''[paths.runaway]
kind = "gbm"
steps = 10
step_seconds = 60
drift = ["0", "100000000"]
volatility = "0.5"

[paths.jumps]''')


def write(folder: Path, text: str, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def liqspec(*args: str, **options) -> subprocess.CompletedProcess:
    options.setdefault("timeout", 300)
    return subprocess.run([sys.executable, "-m", "liqspec", *args], capture_output=True,
                          text=True, **options)


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    """The tiny sweep run in this process, with no Dask: the reference table."""
    folder = tmp_path_factory.mktemp("tiny")
    return sweep.run(write(folder, TINY), workers=0)


@pytest.fixture(scope="module")
def cluster_client():
    """The local cluster ``liqspec sweep`` starts: two worker processes, one thread each,
    shared by this module."""
    client = local_client(2)
    yield client
    close_client(client)


# -- the table ------------------------------------------------------------------------------------

def test_in_process_table_has_one_sorted_row_per_run_with_parameters_and_metrics(tiny_table):
    table = tiny_table
    assert table.num_rows == TINY_RUNS
    keys = table.column("run_key").to_pylist()
    assert keys == sorted(keys) and len(set(keys)) == TINY_RUNS
    assert set(table.column("status").to_pylist()) == {"ok"}
    for name in ("insurance_fund", "profile", "seed", "path", "path_drop", "path_volatility",
                 "notional_liquidated_quote", "rounds", "lowest_mark_ticks",
                 "insurance_fund_min_quote", "insurance_fund_end_quote", "adl_notional_quote",
                 "bad_debt_quote", "socialized_quote", "unresolved_accounts", "fund_exhausted",
                 "deleveraged", "fund_path_quote"):
        assert name in table.column_names, name
    rows = table.to_pylist()
    # a shock draws nothing: one run per point, no seed; the jump model runs once per seed
    assert sorted({r["seed"] for r in rows if r["path"] == "jumps"}) == [0, 1, 2]
    assert {r["seed"] for r in rows if r["path"] == "crash"} == {None}
    # the fund override reaches the engine: the fund starts at 100 or 5000 USDT (6 decimals)
    assert {(r["insurance_fund"], r["insurance_fund_start_quote"]) for r in rows} == \
        {("100", 100_000_000), ("5000", 5_000_000_000)}
    # the venue override reaches the engine: hyperliquid's BTC is priced in 0.1 USD ticks
    assert {(r["profile"], r["start_price_ticks"]) for r in rows} == \
        {("binance_usdm", 6_000_000), ("hyperliquid", 600_000)}
    for r in rows:
        assert len(r["fund_path_quote"]) == r["steps"]
        assert min(r["fund_path_quote"] + [r["insurance_fund_start_quote"]]) == \
            r["insurance_fund_min_quote"]
        assert r["deleveraged"] == (r["adl_lots"] > 0)
    # a deeper shock liquidates at least as much, on the same book and fund
    crash = {(r["insurance_fund"], r["profile"], r["path_drop"]): r for r in rows
             if r["path"] == "crash"}
    for (fund, venue, drop), r in crash.items():
        if drop == "0.05":
            deeper = crash[(fund, venue, "0.15")]
            assert deeper["index_drop_ppm"] > r["index_drop_ppm"]
            assert deeper["notional_liquidated_quote"] >= r["notional_liquidated_quote"]
    assert any(r["notional_liquidated_quote"] > 0 for r in rows)


def test_two_worker_local_cluster_gives_the_in_process_table(tiny_table, cluster_client,
                                                             tmp_path):
    table = sweep.run(write(tmp_path, TINY), client=cluster_client)
    assert table.equals(tiny_table)
    # two worker processes, on loopback, without the profiler that would sample every run
    workers = cluster_client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    import dask
    assert set(cluster_client.run(dask.config.get,
                                  "distributed.worker.profile.enabled").values()) == {False}


def test_the_same_run_has_the_same_key_and_path_whatever_the_other_parameters(tmp_path):
    """Common random numbers: the jump model's seed 1 draws one path for every fund size."""
    config = loads_sweep(TINY, base_dir=tmp_path)
    runs = plan(config).runs
    again = plan(loads_sweep(TINY, base_dir=tmp_path)).runs
    assert [r.run_key for r in runs] == [r.run_key for r in again]
    jumps = [p for p in config.paths if p.name == "jumps"][0]
    start = {"BTCUSDT": 6_000_000}
    assert index_path(jumps, 1, start) == index_path(jumps, 1, start)
    assert index_path(jumps, 1, start) != index_path(jumps, 2, start)


# -- a real cluster -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """End a process we started, and its children (its own session), for sure."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def test_a_real_scheduler_and_two_workers_run_the_sweep_through_the_command(tiny_table,
                                                                            tmp_path):
    from distributed import Client

    dask = str(BIN / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = open(tmp_path / "cluster.log", "w")
    started = []
    try:
        started.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=logs, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path))
        for _ in range(2):
            started.append(subprocess.Popen(
                [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--death-timeout", "60"],
                stdout=logs, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path))
        with Client(address, timeout=60) as probe:
            probe.wait_for_workers(2, timeout=60)
            assert len(probe.scheduler_info()["workers"]) == 2
        out = tmp_path / "out"
        result = liqspec("sweep", str(write(tmp_path, TINY)), "--scheduler", address,
                         "--out", str(out), "--quiet", "--no-plots")
        assert result.returncode == 0, result.stderr
        assert f"the Dask cluster at {address} (2 workers)" in result.stdout
        assert pq.read_table(out / "runs.parquet").equals(tiny_table)
    finally:
        for process in reversed(started):
            _stop(process)
        logs.close()


# -- streaming, resumption and failures -----------------------------------------------------------

RESUMABLE = TINY.replace("seeds = 3", "seeds = 16").replace("accounts = 200", "accounts = 800") \
    .replace("steps = 40", "steps = 160")


def test_a_killed_sweep_resumes_into_the_same_table(tmp_path):
    sweep_file = write(tmp_path, RESUMABLE)
    out = tmp_path / "out"
    parts = tmp_path / ".out.partial" / "runs"
    process = subprocess.Popen([sys.executable, "-m", "liqspec", "sweep", str(sweep_file),
                                "--out", str(out), "--workers", "0", "--flush-rows", "2",
                                "--quiet", "--no-plots"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(parts.glob("part-*.parquet")):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no part file was streamed"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        _stop(process)
    assert process.returncode == -signal.SIGKILL
    # killed mid-sweep: finished rows are on disk, the output folder was never half-written
    assert not out.exists()
    streamed = sum(pq.read_table(p).num_rows for p in parts.glob("part-*.parquet"))
    total = 2 * 2 * (2 + 16)
    assert 2 <= streamed < total

    result = liqspec("sweep", str(sweep_file), "--out", str(out), "--workers", "0", "--quiet",
                     "--no-plots")
    assert result.returncode == 0, result.stderr
    done = int(result.stdout.split("failed; ")[1].split(" already done")[0].replace(",", ""))
    assert streamed <= done < total
    resumed = pq.read_table(out / "runs.parquet")
    assert resumed.equals(sweep.run(sweep_file, workers=0))
    assert not (tmp_path / ".out.partial").exists()
    # a second rerun finds everything done and rewrites the same table
    again = liqspec("sweep", str(sweep_file), "--out", str(out), "--workers", "0", "--quiet",
                    "--no-plots")
    assert f"{total} already done, 0 run now" in again.stdout
    assert pq.read_table(out / "runs.parquet").equals(resumed)


def test_a_failing_run_is_recorded_with_its_seed_and_the_sweep_goes_on(tmp_path,
                                                                       cluster_client):
    table = sweep.run(write(tmp_path, FAILING), client=cluster_client)
    rows = table.to_pylist()
    failed = [r for r in rows if r["status"] == "error"]
    assert failed and all(r["path"] == "runaway" and r["path_drift"] == "100000000"
                          for r in failed)
    assert all(r["error"].startswith("PathError: the index of BTC") for r in failed)
    assert sorted(r["seed"] for r in failed) == sorted([0, 1, 2] * 4)
    assert all(r["notional_liquidated_quote"] is None for r in failed)
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == len(rows) - len(failed) and {r["path"] for r in ok} == \
        {"crash", "jumps", "runaway"}
    # the in-process loop records the same errors in the same rows
    assert sweep.run(write(tmp_path, FAILING), workers=0).equals(table)
    report = sweep.execute(write(tmp_path, FAILING), workers=0, out=tmp_path / "out",
                           plots=False)
    assert report.summary["failed"] == len(failed)
    assert {f["run_key"] for f in report.summary["failures"]} == {r["run_key"] for r in failed}
    assert "failed runs (key, seed: error):" in report.render()


def test_a_run_that_ends_its_worker_is_recorded_and_the_others_match(tiny_table, tmp_path):
    import dask

    from liqspec.sweep_exec import WORKER_DIED, execute_run

    def crashing(payload, variant, path, seed):
        """One run (the first variant's seed 1) ends its worker process, as a crash would."""
        if variant == 0 and seed == 1:
            os._exit(3)
        return execute_run(payload, variant, path, seed)

    # no restarts before Dask gives up on a task: one worker death per attempt keeps it short.
    # Dask then blames every task the dying worker held, so innocent runs are blamed too:
    # before the fix they were recorded as failed, with a KilledWorker message naming a
    # random task key
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        report = sweep.execute(write(tmp_path, TINY), workers=2, task=crashing,
                               out=tmp_path / "out", plots=False)
    rows = report.table.to_pylist()
    expected = tiny_table.to_pylist()
    assert [r["run_key"] for r in rows] == [r["run_key"] for r in expected]
    failed = [i for i, r in enumerate(rows) if r["status"] == "error"]
    assert len(failed) == 1
    crashed = rows[failed[0]]
    assert crashed["error"] == WORKER_DIED and crashed["seed"] == 1
    assert crashed["path"] == "jumps" and crashed["notional_liquidated_quote"] is None
    assert [r for i, r in enumerate(rows) if i != failed[0]] == \
        [r for i, r in enumerate(expected) if i != failed[0]]
    assert report.summary["failures"] == [{"run_key": crashed["run_key"], "seed": 1,
                                           "path": "jumps", "error": WORKER_DIED}]


# -- bad sweep files ------------------------------------------------------------------------------

BAD = [
    ("unknown parameter", TINY.replace("insurance_fund = [", "insurance_fundd = ["),
     "grid.insurance_fundd", "did you mean 'insurance_fund'"),
    ("empty grid", TINY.replace('insurance_fund = ["100", "5000"]', "insurance_fund = []"),
     "grid.insurance_fund", "empty grid"),
    ("negative volatility", TINY.replace('volatility = "1.2"', 'volatility = "-0.2"'),
     "paths.jumps.volatility", "must not be negative"),
    ("missing price CSV", TINY + '\n[paths.replay]\nkind = "bootstrap"\nfile = "nope.csv"\n'
                                 'steps = 10\nstep_seconds = 5\n',
     "paths.replay.file", "no such price CSV"),
    ("value the scenario refuses", TINY.replace('profile = ["binance_usdm", "hyperliquid"]',
                                                'book_spacing = ["0.001", "0.03"]'),
     "grid.book_spacing[1]", "levels x spacing"),
    ("a maintenance rate above the initial rate",
     TINY.replace('profile = ["binance_usdm", "hyperliquid"]', 'maintenance_scale = ["1", "3"]'),
     "grid.maintenance_scale[1]", "init_margin_ppm"),
    ("a float", TINY.replace('insurance_fund = ["100", "5000"]', 'insurance_fund = [0.5]'),
     "grid.insurance_fund[0]", "TOML float"),
]


@pytest.mark.parametrize("label, text, field, words", BAD, ids=[b[0] for b in BAD])
def test_a_bad_sweep_file_is_a_typed_error_naming_the_field(label, text, field, words,
                                                            tmp_path):
    with pytest.raises(SweepError) as caught:
        sweep.run(write(tmp_path, text), workers=0, out=tmp_path / "out")
    assert caught.value.path == field
    assert words in str(caught.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.partial").exists()


def test_a_sweep_file_is_read_by_the_scenario_loaders_readers():
    # a TOML syntax error carries its position, as a scenario file's does (before: no line)
    with pytest.raises(SweepError) as caught:
        loads_sweep("name = \n")
    assert (caught.value.line, caught.value.column) == (1, 8)
    assert str(caught.value).startswith("invalid TOML at line 1, column 8: ")
    # an unknown choice and an unknown key read as the scenario loader words them
    with pytest.raises(SweepError) as caught:
        loads_sweep(TINY.replace("[grid]", '[grid]\nmark_rule = ["index_bnd"]'))
    assert caught.value.path == "grid.mark_rule[0]"
    assert "unknown mark rule 'index_bnd' (did you mean 'index_band'?" in str(caught.value)
    with pytest.raises(SweepError) as caught:
        loads_sweep(TINY.replace("seeds = 3", "seeds = 3\nseedz = 1"))
    assert caught.value.path == "seedz" and "did you mean 'seeds'?" in str(caught.value)


def test_the_command_reports_a_bad_sweep_file_on_one_line_with_status_2(tmp_path):
    text = TINY.replace('volatility = "1.2"', 'volatility = "-0.2"')
    result = liqspec("sweep", str(write(tmp_path, text)), "--out", str(tmp_path / "out"),
                     "--workers", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("liqspec: error: ")
    assert "paths.jumps.volatility" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, words", [
    (None, "no Dask scheduler answered within 5 s"),  # a free port: nothing listens there
    ("tcp://127.0.0.1:notaport", "not a scheduler address"),
    ("nonsense::x", "not a scheduler address"),
    ("tcp://127.0.0.1:99999", "port 99999 is outside 1..65535"),
], ids=["nothing-listens", "bad-port", "no-host", "port-range"])
def test_a_scheduler_that_cannot_be_used_is_one_line_status_2_and_nothing_written(
        tmp_path, address, words):
    # before the fix, a refused address waited Dask's 20 s then left .out.partial/ behind,
    # and the error named the default sweep instead of --scheduler
    address = address or f"tcp://127.0.0.1:{_free_port()}"
    result = liqspec("sweep", str(write(tmp_path, TINY)), "--out", str(tmp_path / "out"),
                     "--scheduler", address, "--quiet", timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"liqspec: error: --scheduler {address!r}: {words}")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.toml"]


def test_a_scheduler_error_is_typed_and_names_the_address():
    from liqspec.reference.errors import LiqspecError
    from liqspec.sweep_exec import SchedulerError, connect

    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(SchedulerError) as caught:
        connect(address, timeout_s=1.0)
    assert isinstance(caught.value, LiqspecError) and caught.value.address == address
    assert "within 1 s" in str(caught.value)


def test_the_output_folder_must_be_a_sweeps_own(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = liqspec("sweep", str(write(tmp_path, TINY)), "--out", str(tmp_path), "--workers",
                     "0")
    assert result.returncode == 2 and "not a liqspec sweep's output" in result.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


# -- parameters -----------------------------------------------------------------------------------

def test_maintenance_scale_rounds_rates_up_and_keeps_requirements_continuous():
    profile = get_profile("binance_usdm")
    scaled = adjust_profile(profile, (("maintenance_scale", "1.25"),))
    for market_id, market in profile.markets.items():
        for old, new in zip(market.tiers, scaled.markets[market_id].tiers):
            assert new.maint_margin_ppm == -(-old.maint_margin_ppm * 1_250_000 // PPM)
            assert new.init_margin_ppm == old.init_margin_ppm
    # Profile validated the recomputed deductions (continuity at every floor); 0.4% x 1.25
    assert scaled.markets["BTCUSDT"].tiers[0].maint_margin_ppm == 5_000
    assert adjust_profile(profile, (("bad_debt_policy", "socialize"),)).bad_debt_policy == \
        "socialize"


def test_every_parameter_is_documented_in_the_sweep_format():
    import liqspec.sweep_config as module

    for name in PARAMETERS:
        assert f"``{name}``" in module.__doc__, name


def test_the_default_sweep_is_a_few_hundred_runs_over_two_generators():
    config = default_sweep()
    runs = plan(config).runs
    assert 200 <= len(runs) <= 500
    assert {p.kind for p in config.paths} == {"shock", "merton"}
    assert config.heatmap == ("insurance_fund", "book_lots_per_level")


# -- price paths ----------------------------------------------------------------------------------

def _spec(kind: str, steps: int = 100, step_seconds: int = 60, **numbers) -> PathSpec:
    return PathSpec("p", kind, steps, step_seconds, {k: str(v) for k, v in numbers.items()},
                    numbers)


def test_paths_are_deterministic_by_seed():
    spec = _spec("merton", drift=0.1, volatility=0.8, jump_intensity=5000, jump_mean=-0.02,
                 jump_std=0.01)
    assert np.array_equal(levels(spec, 7), levels(spec, 7))
    assert not np.array_equal(levels(spec, 7), levels(spec, 8))
    assert levels(spec, 7)[0] == 1.0 and len(levels(spec, 7)) == 101


def test_gbm_with_zero_volatility_is_the_drift_path():
    spec = _spec("gbm", steps=50, step_seconds=3600, drift=0.5, volatility=0.0)
    t = np.arange(51) * 3600 / SECONDS_PER_YEAR
    assert np.allclose(levels(spec, 1), np.exp(0.5 * t), rtol=1e-12)
    ticks = index_path(spec, 1, {"BTCUSDT": 6_000_000}).index_ticks["BTCUSDT"]
    # ROUND_DOWN to a ppm, then to a tick
    assert list(ticks) == [6_000_000 * math.floor(level * PPM) // PPM
                           for level in levels(spec, 1)]
    assert ticks[0] == 6_000_000 and all(a <= b for a, b in zip(ticks, ticks[1:]))


def test_gbm_log_increments_have_the_model_mean_and_spread():
    spec = _spec("gbm", steps=200_000, step_seconds=60, drift=0.3, volatility=0.9)
    dt = 60 / SECONDS_PER_YEAR
    increments = np.diff(np.log(levels(spec, 3)))
    assert abs(increments.std() / (0.9 * math.sqrt(dt)) - 1) < 0.01
    # the mean is (drift - vol^2 / 2) dt, within 4 standard errors
    assert abs(increments.mean() - (0.3 - 0.405) * dt) < 4 * 0.9 * math.sqrt(dt / 200_000)


def test_merton_jumps_arrive_at_their_intensity_and_keep_the_expected_level():
    steps, seconds = 200_000, 60
    dt = seconds / SECONDS_PER_YEAR
    spec = _spec("merton", steps=steps, step_seconds=seconds, drift=0.0, volatility=0.0,
                 jump_intensity=20_000, jump_mean=-0.01, jump_std=0.0)
    increments = np.diff(np.log(levels(spec, 5)))
    compensator = 20_000 * (math.exp(-0.01) - 1) * dt
    jumps = np.round((increments + compensator) / -0.01)
    assert set(np.unique(jumps)) <= {0, 1, 2, 3, 4, 5}
    expected = 20_000 * dt * steps
    assert abs(jumps.sum() - expected) < 5 * math.sqrt(expected)
    # compensated: the mean of exp(increment) is 1 (expected level follows the drift, here 0)
    assert abs(np.exp(increments).mean() - 1) < 5 * 0.01 * math.sqrt(20_000 * dt / steps) + 1e-4


def test_bootstrap_replays_blocks_of_the_history():
    history = np.log(np.array([100.0, 101, 99, 102, 98, 103, 97]))
    returns = np.diff(history)
    spec = PathSpec("h", "bootstrap", 30, 5, {"block": 3}, {"block": 3}, history=returns)
    increments = np.diff(np.log(levels(spec, 11)))
    windows = {tuple(np.round(returns[s:s + 3], 12)) for s in range(len(returns) - 2)}
    for k in range(0, 30, 3):
        assert tuple(np.round(increments[k:k + 3], 12)) in windows
    whole = PathSpec("h", "bootstrap", 6, 5, {"block": 6}, {"block": 6}, history=returns)
    assert np.allclose(levels(whole, 0), np.exp(history - history[0]))


def test_a_bootstrap_sweep_reads_its_csv_and_runs(tmp_path):
    prices = 60000 * np.exp(np.cumsum(np.r_[0, np.random.default_rng(1).normal(0, 0.004, 300)]))
    lines = ["time,price"] + [f"{i},{p:.2f}" for i, p in enumerate(prices)]
    (tmp_path / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = TINY.replace("[paths.jumps]", '''[paths.replay]
kind = "bootstrap"
file = "history.csv"
block = 10
steps = 30
step_seconds = 5

[paths.unused]''').replace('kind = "merton"', 'kind = "gbm"').replace(
        'jump_intensity = "52560"\njump_mean = "-0.03"\njump_std = "0.02"\n', "")
    table = sweep.run(write(tmp_path, text), workers=0)
    replay = [r for r in table.to_pylist() if r["path"] == "replay"]
    assert len(replay) == 4 * 3 and all(r["status"] == "ok" for r in replay)
    assert len({r["lowest_index_ticks"] for r in replay}) > 1


def test_shock_generator_is_the_scenarios_crash_schedule():
    spec = PathSpec("c", "shock", 20, 5, {"drop": "0.1"}, {"drop_ppm": 100_000,
                                                            "hold_steps": 3})
    assert index_path(spec, None, {"BTCUSDT": 6_000_000}) == \
        shock_path({"BTCUSDT": 6_000_000}, 100_000, 20, 5, 3)


def test_a_shock_has_no_float_levels_and_says_so_with_a_typed_error():
    from liqspec.reference.errors import ResultCode

    with pytest.raises(PathError) as caught:  # before: a bare ValueError
        levels(_spec("shock", drop="0.1"), None)
    assert caught.value.code == ResultCode.MALFORMED_STATE and "index_path" in str(caught.value)


def test_an_unusable_output_folder_is_a_typed_error(tmp_path):
    from liqspec.reference.errors import LiqspecError
    from liqspec.sweep_store import OutputFolder, OutputFolderError

    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputFolderError) as caught:
        OutputFolder(tmp_path / "file")
    assert isinstance(caught.value, LiqspecError) and "is not a folder" in str(caught.value)


def test_a_level_beyond_int64_is_a_path_error():
    with pytest.raises(PathError, match="int64"):
        to_ticks(6_000_000, np.array([1.0, 1e20]), "BTCUSDT")
    with pytest.raises(PathError, match="not finite"):
        to_ticks(6_000_000, np.array([1.0, np.inf]), "BTCUSDT")


def test_a_positions_file_base_travels_to_the_workers(tmp_path, cluster_client):
    """The positions file is read once here and shipped as bytes: workers need no shared disk."""
    rows = ["account,wallet,market,size,entry_price,isolated"]
    rows += [f"t{k},{400 + 150 * k},BTCUSDT,{0.1 + 0.05 * k:.2f},{59000 + 100 * k},"
             for k in range(12)]
    rows += ["s1,5000,BTCUSDT,-0.3,60500,BTCUSDT"]
    (tmp_path / "book.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "crash.toml").write_text('''
name = "from-a-file"
profile = "binance_usdm"
insurance_fund = "50"
[markets.BTCUSDT]
start_price = "60000"
book = { levels = 20, spacing = "0.001", lots_per_level = 30 }
[path]
kind = "shock"
drop = "0.1"
steps = 10
step_seconds = 5
[positions]
file = "book.csv"
''', encoding="utf-8")
    text = '''
name = "positions"
scenario = "crash.toml"
[grid]
book_lots_per_level = [5, 30]
mark_rule = ["index_band", "last_fill"]
[paths.crash]
kind = "shock"
drop = ["0.03", "0.08"]
steps = 10
step_seconds = 5
'''
    in_process = sweep.run(write(tmp_path, text), workers=0)
    assert in_process.num_rows == 8 and set(in_process.column("status").to_pylist()) == {"ok"}
    assert max(in_process.column("accounts_liquidated").to_pylist()) > 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = write(elsewhere, text.replace('"crash.toml"', f'"{tmp_path / "crash.toml"}"'))
    assert sweep.run(moved, client=cluster_client).equals(in_process)
    with pytest.raises(SweepError) as caught:
        sweep.run(write(tmp_path, text + '\n[points]\nleverage_max = "10"\n'.replace(
            "[points]", "[[points]]")), workers=0)
    assert caught.value.path == "points[0].leverage_max"
    assert "positions file" in str(caught.value)


def test_a_sweep_onto_a_share_venue_names_the_vault_that_takes_the_shares_LIQ_SHARE_2():
    """Switching the scenario to paradex (liquidation by account share) names a backstop vault,
    switching back to a venue without one drops it: both scenarios load and run. Rules:
    LIQ-SHARE-2, LIQ-CASCADE-3."""
    import tomllib

    from liqspec.reference.cascade import run_cascade
    from liqspec.scenario import parse_scenario
    from liqspec.sweep_config import Override, apply_scenario_overrides
    base = tomllib.loads(TINY)["scenario"]
    base["synthetic"] = {**base["synthetic"], "accounts": 20}
    base["path"] = {"kind": "shock", "drop": "0.2", "steps": 4, "step_seconds": 5}
    to_paradex = apply_scenario_overrides(base, (Override("profile", "paradex", "grid"),))
    assert to_paradex["backstop_vault"] == "vault"
    assert list(to_paradex["markets"]) == ["BTC-USD-PERP"]
    back = apply_scenario_overrides(to_paradex, (Override("profile", "binance_usdm", "grid"),))
    assert "backstop_vault" not in back and list(back["markets"]) == ["BTCUSDT"]
    scenario = parse_scenario(to_paradex)
    assert scenario.config.backstop_vault == "vault"
    result = run_cascade(scenario.state, scenario.config)
    shares = [e for e in result.events if e.rule_id == "LIQ-SHARE-2"]
    assert shares and result.summary.accounts_liquidated > 0
    assert all(e.detail == "counterparty vault" for e in shares)
    assert parse_scenario(back).config.backstop_vault is None
