"""``liqspec simulate`` (liqspec.simulate, liqspec.plots, the CLI command): the files a run writes
agree with the run, are byte-identical across runs, and the table reads in human units.

Rules: LIQ-CASCADE-5 (the trace and the summary), LIQ-CASCADE-6 (the liquidation map), LIQ-INV-10
(determinism: the same inputs give the same bytes), LIQ-UNIT-2 (human units in the table).

The small scenario is built by hand on the example venue (liqspec.testing), in USDT with 6 decimals:
one BTC lot is 0.001 BTC, one BTC tick 0.1 USDT, so a lot at a tick is worth 100 quote quantums.
BTC starts at 50,000 USDT (500,000 ticks) and falls 12% over 6 one-minute steps: 2% of the start,
1,000 USDT = 10,000 ticks, per step, to 44,000 USDT (440,000 ticks), then holds 2 steps.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path
from types import SimpleNamespace

import pytest

from liqspec.plots import bucket_levels, nice_width_ticks
from liqspec.reference import new_state
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, Event, Summary, shock_path
from liqspec.reference.state import LIQUIDITY
from liqspec.display import group_digits
from liqspec.simulate import render_summary, simulate
from liqspec.testing import EXAMPLE_MARKS, example_profile, usdt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ("price_path.png", "insurance_fund.png", "liquidation_map.png")
TRACES = ("events.jsonl", "events.csv", "steps.csv", "summary.json")

STEPS, HOLD = 6, 2
# hand arithmetic: 500,000 ticks falling 10,000 ticks per step, then holding
BTC_PATH = [500_000 - 10_000 * k for k in range(STEPS + 1)] + [440_000] * HOLD
# ETH starts at 3,000.00 USDT (300,000 ticks of 0.01) and falls 2% = 6,000 ticks per step
ETH_PATH = [300_000 - 6_000 * k for k in range(STEPS + 1)] + [264_000] * HOLD
FUND_USDT = "2000"


def small_scenario(impl, bad_debt_policy: str = "adl", fund: str = FUND_USDT,
                   book_lots: int = 150) -> SimpleNamespace:
    """Eight BTC longs from 8x to 36x leverage and four ETH accounts (two long, two short),
    each opened against the book's liquidity account at the start price, as a scenario file's
    positions are (liqspec.positions)."""
    state = new_state(example_profile(quote_asset="USDT", bad_debt_policy=bad_debt_policy),
                      dict(EXAMPLE_MARKS))
    impl.open_account(state, "book", role=LIQUIDITY)
    impl.fund_insurance(state, usdt(fund))
    for i in range(8):
        lots = 200 + 50 * (i % 3)  # 0.2 to 0.3 BTC
        notional_quote = lots * EXAMPLE_MARKS["BTC"] * 100
        account = f"btc{i}"
        impl.open_account(state, account)
        impl.deposit(state, account, notional_quote // (8 + 4 * i))  # 8x .. 36x
        impl.trade(state, account, "book", "BTC", lots, EXAMPLE_MARKS["BTC"])
    for i in range(4):
        lots = 300 + 40 * i  # 3 to 4.2 ETH
        account = f"eth{i}"
        impl.open_account(state, account)
        impl.deposit(state, account, lots * EXAMPLE_MARKS["ETH"] * 100 // (6 + 4 * i))
        buyer, seller = (account, "book") if i % 2 else ("book", account)
        impl.trade(state, buyer, seller, "ETH", lots, EXAMPLE_MARKS["ETH"])
    path = shock_path(dict(EXAMPLE_MARKS), 120_000, STEPS, 60, HOLD)
    books = {"BTC": BookShape(6, 1_000, book_lots), "ETH": BookShape(6, 1_000, 2 * book_lots)}
    return SimpleNamespace(name="small", description="a hand-built test scenario", state=state,
                           config=CascadeConfig(path, books), seed=None)


@pytest.fixture(scope="module")
def scenario(impl) -> SimpleNamespace:
    return small_scenario(impl)


@pytest.fixture(scope="module")
def run(scenario, tmp_path_factory):
    """One simulation of the small scenario, shared by the tests that only read its files."""
    out = tmp_path_factory.mktemp("run")
    report = simulate(scenario, out, progress=False)
    return SimpleNamespace(report=report, out=out, result=report.result)


# -- the files --------------------------------------------------------------------------------

def test_every_file_is_written_and_listed_LIQ_CASCADE_5(run):
    for name in TRACES + PLOTS:
        assert (run.out / name).is_file(), name
    assert sorted(p.name for p in run.report.files.values()) == sorted(TRACES + PLOTS)
    assert all(path.parent == run.out for path in run.report.files.values())


def test_the_scenario_crashes_and_liquidates(run):
    """Guard: the scenario must exercise the trace, or the other tests check empty files."""
    summary = run.result.summary
    assert summary.accounts_liquidated >= 4 and summary.liquidation_fills >= 4
    assert summary.notional_liquidated_quote > 0
    assert summary.lowest_mark_ticks["BTC"] <= 440_000  # at most the path's lowest index


def test_events_jsonl_is_the_trace_LIQ_CASCADE_5(run):
    lines = (run.out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(run.result.events) > 0
    for line, event in zip(lines, run.result.events):
        parsed = json.loads(line)
        assert parsed == event.to_dict()
        assert Event(**parsed) == event  # every field round-trips
        assert list(parsed) == sorted(parsed)  # keys sorted
        assert " " not in line.replace(parsed["detail"], "")  # compact separators


def test_events_jsonl_matches_an_independent_run_LIQ_CASCADE_5(impl, scenario, run):
    """The trace written equals the trace of a second run_cascade called directly."""
    direct = impl.run_cascade(scenario.state, scenario.config)
    lines = (run.out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in direct.events]


def test_events_jsonl_keeps_large_integers_exact(tmp_path):
    """json writes a Python int digit for digit: an amount past 2**53 (where a float would
    round) survives unchanged."""
    from liqspec.simulate import write_events_jsonl
    big = 2**62 + 1  # 4,611,686,018,427,387,905: not representable as a float
    write_events_jsonl([Event(0, 0, 1, "fee", account="a", quote=big)], tmp_path / "e.jsonl")
    text = (tmp_path / "e.jsonl").read_text()
    assert '"quote":4611686018427387905' in text
    assert json.loads(text)["quote"] == big


def test_events_csv_has_one_row_per_event(run):
    with open(run.out / "events.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(run.result.events)
    assert list(rows[0]) == [f.name for f in fields(Event)]
    for row, event in zip(rows, run.result.events):
        assert row["kind"] == event.kind and int(row["step"]) == event.step
        assert int(row["quote"]) == event.quote and int(row["lots"]) == event.lots
        assert row["price_ticks"] == ("" if event.price_ticks is None else str(event.price_ticks))
        assert row["account"] == (event.account or "")


def test_steps_csv_follows_the_price_path_LIQ_CASCADE_4(run):
    with open(run.out / "steps.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == STEPS + HOLD + 1 == len(run.result.steps)
    assert [int(r["index_ticks_BTC"]) for r in rows] == BTC_PATH  # hand-computed above
    assert [int(r["index_ticks_ETH"]) for r in rows] == ETH_PATH
    assert [int(r["time_s"]) for r in rows] == [60 * k for k in range(len(rows))]
    for row, record in zip(rows, run.result.steps):
        assert int(row["mark_ticks_BTC"]) == record.mark_ticks["BTC"]
        assert int(row["rounds"]) == record.rounds
        assert int(row["liquidated_notional_quote"]) == record.liquidated_notional_quote
        assert int(row["insurance_fund_quote"]) == record.insurance_fund_quote
        assert int(row["adl_lots"]) == record.adl_lots
        assert int(row["written_off_quote"]) == record.written_off_quote
    summary = run.result.summary
    assert sum(int(r["liquidated_notional_quote"]) for r in rows) == \
        summary.notional_liquidated_quote
    assert sum(int(r["rounds"]) for r in rows) == summary.rounds
    assert int(rows[-1]["insurance_fund_quote"]) == summary.insurance_fund_end_quote


def test_summary_json_is_the_summary_LIQ_CASCADE_5(run):
    data = json.loads((run.out / "summary.json").read_text(encoding="utf-8"))
    summary = run.result.summary
    assert data["summary"] == {k: dict(v) if isinstance(v, dict) else v
                               for k, v in asdict(summary).items()}
    assert Summary(**data["summary"]) == summary
    assert data["scenario"] == "small"
    assert data["units"]["quote_asset"] == "USDT" and data["units"]["quote_decimals"] == 6
    assert data["units"]["markets"]["BTC"] == {"base_decimals": 3, "price_decimals": 1}
    # the fund started at 2,000 USDT = 2,000,000,000 quantums, written exactly both ways
    assert data["summary"]["insurance_fund_start_quote"] == 2_000_000_000
    assert data["human"]["insurance_fund_start_quote"] == "2000"
    # the lowest BTC mark in ticks of 0.1 USDT, as a decimal: ticks / 10, exactly
    low = summary.lowest_mark_ticks["BTC"]
    assert data["human"]["lowest_mark"]["BTC"] == f"{low // 10}" + (f".{low % 10}" if low % 10
                                                                      else "")


def test_two_runs_give_identical_bytes_LIQ_INV_10(scenario, tmp_path):
    """Determinism: the same scenario gives the same trace, steps and summary, byte for byte,
    whatever the output folder is called."""
    first = simulate(scenario, tmp_path / "a", plots=False, progress=False)
    second = simulate(scenario, tmp_path / "b" / "nested", plots=False, progress=False)
    for name in TRACES:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes(), name
    assert (first.out_dir / "events.jsonl").stat().st_size > 1000


def test_the_fast_engine_writes_the_same_bytes_LIQ_CASCADE_5(tmp_path):
    """``--engine fast`` (liqspec.fast.run_cascade) on the embedded default scenario (3,000
    accounts, every kind of cascade event) writes the reference's trace, steps and summary,
    byte for byte."""
    from liqspec.scenario import default_scenario

    scenario = default_scenario()
    reference = simulate(scenario, tmp_path / "reference", plots=False, progress=False)
    fast = simulate(scenario, tmp_path / "fast", plots=False, progress=False, engine="fast")
    for name in TRACES:
        assert (fast.out_dir / name).read_bytes() == (reference.out_dir / name).read_bytes(), name
    assert reference.result.summary.accounts_liquidated > 100
    with pytest.raises(ValueError, match="unknown engine 'gpu'"):
        simulate(scenario, tmp_path / "x", plots=False, progress=False, engine="gpu")
    assert not (tmp_path / "x").exists()


#: a Drift v2 crash thin enough that many accounts are written off: their losses are socialized
#: on both sides of the market when each round ends (LIQ-CASCADE-2)
SOCIALIZING_TOML = """\
name = "drift-socialized"
profile = "drift_v2"
insurance_fund = "20000"

[markets.ETH-PERP]
start_price = "3000"
book = { levels = 200, spacing = "0.0005", lots_per_level = 3000 }

[path]
kind = "shock"
drop = "0.12"
steps = 60
step_seconds = 5
hold_steps = 6

[synthetic]
seed = 7
accounts = 1500
leverage_min = "2"
leverage_max = "50"
notional_median = "10000"
isolated_fraction = "0.1"
"""


def test_socialized_losses_same_bytes_from_both_engines_LIQ_CASCADE_2(tmp_path):
    """A socializing cascade (Drift v2, losses beyond the fund on both sides) through the
    compiled engine, on its State path and on its bulk path (the book read in columns, the trace
    built as columns, as ``simulate --engine fast`` runs a synthetic book), writes the
    reference's files byte for byte; each round charges its write-offs in one event per market
    and side."""
    from liqspec.bulk import parse_bulk_scenario
    from liqspec.scenario import load_scenario

    path = tmp_path / "drift.toml"
    path.write_text(SOCIALIZING_TOML, encoding="utf-8")
    scenario = load_scenario(path)
    reference = simulate(scenario, tmp_path / "reference", plots=False, progress=False)
    fast = simulate(scenario, tmp_path / "fast", plots=False, progress=False, engine="fast")
    bulk = simulate(load_scenario(path, parse_bulk_scenario), tmp_path / "bulk", plots=False,
                    progress=False, engine="fast")
    for name in TRACES:
        assert (fast.out_dir / name).read_bytes() == (reference.out_dir / name).read_bytes(), name
        assert (bulk.out_dir / name).read_bytes() == (reference.out_dir / name).read_bytes(), name
    events = reference.result.events
    charges = [e for e in events if e.kind == "socialize" and e.rule_id == "LIQ-SOCIAL-2"]
    assert len(charges) >= 5 and reference.result.summary.socialized_quote > 0
    assert all(e.account is None and e.market == "ETH-PERP"
               and e.detail.endswith("payers (longs and shorts)") for e in charges)
    assert len({(e.step, e.round) for e in charges}) == len(charges)  # one per round here
    write_offs = sum(e.quote for e in events if e.kind == "write_off")
    # every write-off is charged: the charges cover the bad debt, each rounded up
    assert reference.result.summary.socialized_quote >= write_offs == \
        reference.result.summary.bad_debt_quote


def test_simulate_leaves_the_scenario_state_unchanged(impl, tmp_path):
    scenario = small_scenario(impl)
    before = scenario.state.snapshot()
    simulate(scenario, tmp_path, plots=False, progress=False)
    assert scenario.state.snapshot() == before


def test_no_plots_writes_no_png(scenario, tmp_path):
    report = simulate(scenario, tmp_path, plots=False, progress=False)
    assert not list(tmp_path.glob("*.png"))
    assert set(p.name for p in report.files.values()) == set(TRACES)


# -- the plots --------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16..24, big-endian)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_real_pngs(run, name):
    path = run.out / name
    width, height = png_size(path)
    assert width >= 800 and height >= 400, (width, height)
    # a blank 1200 x 600 canvas compresses to a few kB; axes, text and data take far more
    assert path.stat().st_size > 20_000


@pytest.mark.parametrize("policy", ["adl", "socialize"])
def test_plots_draw_bad_debt_and_adl(impl, policy, tmp_path):
    """A fast crash into a thin book with a small fund: deficits the fund cannot pay, so ADL
    (``adl``) or write-offs (``socialize``) happen and the fund plot draws their bars."""
    scenario = small_scenario(impl, policy, fund="50", book_lots=40)
    report = simulate(scenario, tmp_path, progress=False)
    summary = report.summary
    if policy == "adl":
        assert summary.adl_lots > 0
    else:
        assert summary.bad_debt_quote > 0
    for name in PLOTS:
        assert png_size(tmp_path / name)[0] >= 800


def test_plotted_liquidations_add_up_to_the_steps_LIQ_CASCADE_5(run):
    """The price plot's bars (per market, from the events) add up to each step's record."""
    from liqspec.plots import liquidated_notional_by_step
    per_market = [liquidated_notional_by_step(run.result, m) for m in ("BTC", "ETH")]
    assert [btc + eth for btc, eth in zip(*per_market)] == \
        [r.liquidated_notional_quote for r in run.result.steps]
    assert all(sum(bars) > 0 for bars in per_market)  # both markets liquidate


def test_liquidation_map_buckets_are_exact_LIQ_CASCADE_6():
    # 10 ticks wide: 95 -> [90, 100), 100 and 109 -> [100, 110), 110 -> [110, 120)
    assert bucket_levels([(95, 1), (100, 2), (109, 3), (110, 4)], 10) == {90: 1, 100: 5, 110: 4}
    assert sum(bucket_levels([(p, p * 7) for p in range(1, 1000, 13)], 25).values()) == \
        sum(p * 7 for p in range(1, 1000, 13))  # nothing lost
    # widths are 1, 2, 2.5 or 5 times a power of ten, the smallest giving <= 60 buckets
    assert nice_width_ticks(60, 60) == 1
    assert nice_width_ticks(61, 60) == 2  # 61 / 60 rounds up to 2
    assert nice_width_ticks(1_300, 60) == 25  # 21.7 -> 25
    assert nice_width_ticks(2_000, 60) == 50  # 33.4 -> 50
    assert nice_width_ticks(72_000, 60) == 2_000  # 1,200 -> 2,000
    assert nice_width_ticks(0, 60) == 1


# -- the table --------------------------------------------------------------------------------

def test_group_digits():
    assert group_digits("1234567.890123") == "1,234,567.890123"
    assert group_digits("-1000") == "-1,000"
    assert group_digits("999") == "999"
    assert group_digits("0.5") == "0.5"


def test_render_summary_in_human_units_LIQ_UNIT_2(scenario):
    """A hand-made summary: every number checked against its hand conversion."""
    summary = Summary(
        steps=9, rounds=14, accounts_liquidated=7, liquidation_fills=21,
        notional_liquidated_quote=1_234_567_890_123,  # 1,234,567.890123 USDT
        lowest_mark_ticks={"BTC": 438_765, "ETH": 264_000},  # 43,876.5 and 2,640 USDT
        insurance_fund_start_quote=2_000_000_000,  # 2,000 USDT
        insurance_fund_min_quote=1_500_000,  # 1.5 USDT
        insurance_fund_end_quote=2_587_761_870,  # 2,587.76187 USDT
        adl_lots=1_920, adl_notional_quote=55_934_356_000,  # 55,934.356 USDT
        bad_debt_quote=17, socialized_quote=0, unresolved_accounts=3)
    text = render_summary(summary, scenario.state, files={"summary_json": Path("o/summary.json")})
    rows = {line.split("  ")[0]: " ".join(line.split()) for line in text.splitlines()}
    assert rows["notional liquidated"] == "notional liquidated 1,234,567.890123 USDT"
    # (438,765 - 500,000) / 500,000 = -12.247% -> -12.2%
    assert rows["lowest mark BTC"] == "lowest mark BTC 43,876.5 USDT (-12.2% from 50,000)"
    assert rows["lowest mark ETH"] == "lowest mark ETH 2,640 USDT (-12.0% from 3,000)"
    assert rows["insurance fund start"] == "insurance fund start 2,000 USDT"
    assert rows["insurance fund min"] == "insurance fund min 1.5 USDT"
    assert rows["insurance fund end"] == "insurance fund end 2,587.76187 USDT"
    assert rows["ADL volume"] == "ADL volume 55,934.356 USDT"
    assert rows["bad debt"] == "bad debt 0.000017 USDT"
    assert rows["socialized"] == "socialized 0 USDT"
    assert rows["unresolved accounts"] == "unresolved accounts 3"
    assert rows["ADL lots (all markets)"] == "ADL lots (all markets) 1,920 lots"
    assert rows["rounds"] == "rounds 14" and rows["accounts liquidated"] == \
        "accounts liquidated 7"
    assert "summary" in text and "o/summary.json" in text
    # numbers line up on their decimal point
    numbers = [line[:line.index(" USDT")] for line in text.splitlines() if " USDT" in line]
    points = {number.index(".") for number in numbers if "." in number}
    assert len(points) == 1, text


# -- progress ---------------------------------------------------------------------------------

def test_progress_bar_goes_to_stderr_when_forced(scenario, tmp_path, capsys, monkeypatch):
    import liqspec.simulate

    bars = []

    class RecordingBar(liqspec.simulate.tqdm):  # the bar simulate creates, kept to read its count
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(liqspec.simulate, "tqdm", RecordingBar)
    simulate(scenario, tmp_path, plots=False, progress="always")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"cascade:   0%|          | 0/{STEPS + HOLD + 1}" in captured.err
    [bar] = bars
    assert bar.n == bar.total == STEPS + HOLD + 1  # advanced once per step, to the end


def test_progress_bar_stays_off_when_not_a_terminal(scenario, tmp_path, capsys):
    simulate(scenario, tmp_path, plots=False, progress=True)  # pytest's stderr is no TTY
    assert capsys.readouterr().err == ""


# -- the command ------------------------------------------------------------------------------

SMALL_TOML = """\
name = "cli-small"
profile = "binance_usdm"
insurance_fund = "10000"

[markets.BTCUSDT]
start_price = "60000"
book = { levels = 40, spacing = "0.001", lots_per_level = 500 }

[path]
kind = "shock"
drop = "0.1"
steps = 10
step_seconds = 5

[synthetic]
seed = 3
accounts = 120
notional_median = "10000"
"""


def liqspec(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liqspec", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "100"})


def test_cli_simulates_a_scenario_file(tmp_path):
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(SMALL_TOML, encoding="utf-8")
    out = tmp_path / "out"
    result = liqspec("simulate", str(scenario_file), "--out", str(out), "--no-plots")
    assert result.returncode == 0, result.stderr
    assert "Cascade: cli-small" in result.stdout
    assert "notional liquidated" in result.stdout and "USDT" in result.stdout
    assert "lowest mark BTCUSDT" in result.stdout
    assert str(out / "events.jsonl") in result.stdout
    assert result.stderr == ""  # no TTY: no progress bar
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "cli-small" and summary["seed"] == 3
    assert summary["summary"]["steps"] == 11  # 10 steps down, plus the starting step
    assert not list(out.glob("*.png"))  # --no-plots


def test_cli_engine_option_runs_the_compiled_engine_with_the_same_trace(tmp_path):
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(SMALL_TOML, encoding="utf-8")
    runs = {engine: liqspec("simulate", str(scenario_file), "--out", str(tmp_path / engine),
                            "--no-plots", "--engine", engine) for engine in ("reference", "fast")}
    for result in runs.values():
        assert result.returncode == 0, result.stderr
    for name in TRACES:
        assert (tmp_path / "fast" / name).read_bytes() == \
            (tmp_path / "reference" / name).read_bytes(), name
    refused = liqspec("simulate", str(scenario_file), "--engine", "gpu")
    assert refused.returncode == 2 and "invalid choice: 'gpu'" in refused.stderr


def test_cli_default_scenario(tmp_path):
    """No scenario: the whole embedded default runs (about 3 s with its plots), into
    ./liqspec-out; the table and every file are there."""
    result = liqspec("simulate", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = tmp_path / "liqspec-out"
    assert result.stdout.startswith("Cascade: btc-crash-12pct\n")
    for label in ("accounts liquidated", "notional liquidated", "lowest mark BTCUSDT",
                  "insurance fund start", "insurance fund min", "insurance fund end",
                  "ADL volume", "bad debt", "socialized", "unresolved accounts"):
        assert f"\n{label} " in result.stdout, label
    # the fund the default scenario declares (data/default_scenario.toml), as the table prints it
    from liqspec.scenario import default_scenario
    fund_quote = default_scenario().state.holders["insurance_fund"]
    assert f" {fund_quote // 10**6:,} " in result.stdout.split("insurance fund start")[1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summary"]["insurance_fund_start_quote"] == fund_quote
    assert summary["summary"]["steps"] == 133  # 120 steps down, the start, 12 held
    for name in TRACES:
        assert f"liqspec-out/{name}" in result.stdout
    for name in PLOTS:
        assert png_size(out / name)[0] >= 800


@pytest.mark.parametrize("edit, field", [
    (('drop = "0.1"', 'drop = "1.5"'), "path.drop:"),
    (("levels = 40", 'levels = "40"'), "markets.BTCUSDT.book.levels:"),
    (('drop = "0.1"', "drop = 0.1"), "path.drop:"),  # a TOML float is not exact
])
def test_cli_bad_scenario_names_the_field_and_exits_2(tmp_path, edit, field):
    scenario_file = tmp_path / "bad.toml"
    scenario_file.write_text(SMALL_TOML.replace(*edit), encoding="utf-8")
    result = liqspec("simulate", str(scenario_file), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith("liqspec: error: ")
    assert field in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "out").exists()  # nothing written for a rejected scenario


def test_cli_missing_scenario_file_exits_2(tmp_path):
    result = liqspec("simulate", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.startswith("liqspec: error: ") and "nope.toml" in result.stderr
    assert "Traceback" not in result.stderr


# -- the output folder is replaced whole --------------------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("interruption", [RuntimeError("disk full"), KeyboardInterrupt()],
                         ids=["error", "ctrl-c"])
def test_an_interruption_mid_write_leaves_the_old_run_intact(impl, tmp_path, monkeypatch,
                                                             interruption):
    """The files were replaced one by one: an error after events.jsonl left the new trace beside
    the old steps and summary. Now the old run's files stay, byte for byte, and the half-written
    new folder is gone. (The second scenario's files differ in every byte file: a smaller fund.)"""
    import liqspec.simulate

    out = tmp_path / "out"
    simulate(small_scenario(impl), out, plots=False, progress=False)
    old = _files(out)
    simulate(small_scenario(impl, fund="500"), tmp_path / "other", plots=False, progress=False)
    assert all(old[name] != data for name, data in _files(tmp_path / "other").items())

    def fail(*args, **kwargs):  # after events.jsonl and events.csv are written
        raise interruption

    monkeypatch.setattr(liqspec.simulate, "write_steps_csv", fail)
    with pytest.raises(type(interruption)):
        simulate(small_scenario(impl, fund="500"), out, plots=False, progress=False)
    assert _files(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "out"]  # no staging folder


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_rerun_replaces_the_whole_folder(impl, tmp_path, monkeypatch, exchange):
    """A run without plots after one with them left the old plots beside the new trace, a mix
    of two runs. Both ways of moving the new folder into place (one atomic exchange, or two
    renames where the system has none) leave exactly the new run's files."""
    import liqspec.simulate

    if not exchange:
        monkeypatch.setattr(liqspec.simulate, "_exchange", lambda first, second: False)
    out = tmp_path / "out"
    simulate(small_scenario(impl), out, progress=False)
    assert set(_files(out)) == set(TRACES) | set(PLOTS)
    report = simulate(small_scenario(impl, fund="500"), out, plots=False, progress=False)
    fresh = simulate(small_scenario(impl, fund="500"), tmp_path / "fresh", plots=False,
                     progress=False)
    assert _files(out) == _files(tmp_path / "fresh")
    assert set(_files(out)) == set(TRACES)
    assert report.files["summary_json"] == out / "summary.json" and fresh.out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "out"]


def test_the_output_names_are_every_file_simulate_writes(run):
    from liqspec.simulate import OUTPUT_NAMES, PARQUET_TRACE

    # the reference's run writes all but the Parquet trace, which the bulk path adds
    assert {p.name for p in run.out.iterdir()} == set(OUTPUT_NAMES) - {PARQUET_TRACE[1]}


@pytest.mark.parametrize("setup, message", [
    (lambda tmp: (tmp / "out").mkdir() or (tmp / "out" / "notes.txt").write_text("mine"),
     "holds files that simulate did not write (notes.txt)"),
    (lambda tmp: (tmp / "out").write_text("a file"), "is a file, not a folder"),
    (lambda tmp: (tmp / "out").mkdir() or (tmp / "out" / "events.jsonl").mkdir(),
     "holds files that simulate did not write (events.jsonl)"),
], ids=["other-files", "a-file", "a-folder-named-like-an-output"])
def test_an_output_folder_that_cannot_be_replaced_is_refused_before_the_run(impl, tmp_path, setup,
                                                                           message):
    """The folder is replaced whole, so one holding the user's own files (``--out .`` in a
    project) is refused, before the cascade runs, and left untouched."""
    from liqspec.simulate import OutputError

    setup(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        simulate(small_scenario(impl), tmp_path / "out", plots=False, progress=False)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_an_empty_output_path_is_refused_not_the_current_folder(impl, tmp_path, monkeypatch):
    """``--out ''`` wrote the files into the current folder."""
    from liqspec.simulate import OutputError

    monkeypatch.chdir(tmp_path)
    for empty in ("", "  "):
        with pytest.raises(OutputError, match="path is empty"):
            simulate(small_scenario(impl), empty, plots=False, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_out_exits_2_before_the_run(tmp_path, monkeypatch, capsys):
    from liqspec.cli import main

    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(SMALL_TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", str(scenario_file), "--out", "", "--no-plots"]) == 2
    assert capsys.readouterr().err == "liqspec: error: --out: the output folder's path is empty\n"
    assert main(["simulate", str(scenario_file), "--out", ".", "--no-plots"]) == 2
    assert "holds files that simulate did not write (small.toml)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


def test_cli_ctrl_c_prints_one_line_exits_130_and_keeps_the_old_folder(tmp_path):
    """SIGINT to a real ``liqspec simulate`` while the cascade runs (a path of 1,000,000 steps,
    far longer than the wait for the run to start): one line on standard error, status 130,
    the old folder as it was and no staging folder. It was a KeyboardInterrupt traceback."""
    import signal
    import time

    scenario_file = tmp_path / "long.toml"
    scenario_file.write_text(SMALL_TOML.replace("steps = 10", "steps = 1000000"),
                             encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "events.jsonl").write_text("an earlier run\n")
    # A shell without job control starts a background job with SIGINT ignored, and Python then
    # keeps it ignored; the child is given the default disposition, as a terminal's would be,
    # so the test does not depend on how the suite was launched.
    process = subprocess.Popen([sys.executable, "-m", "liqspec", "simulate", str(scenario_file),
                                "--out", str(out), "--no-plots"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(1200):  # the staging folder exists once the run has begun
            if any(p.name.startswith(".out.new-") for p in tmp_path.iterdir()):
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        else:
            pytest.fail("the run never began")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["liqspec: interrupted"]
    assert stdout == ""
    assert _files(out) == {"events.jsonl": b"an earlier run\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml", "out"]


# -- the bulk path: the book in columns, the trace streamed (liqspec.bulk) ---------------------

def test_bulk_path_gives_the_old_fast_paths_files_on_the_default_scenario(tmp_path):
    """The default scenario read in columns and run from arrays (``simulate --engine fast``)
    writes what the state-based fast path writes, byte for byte, plots included, plus the
    trace as Parquet."""
    import pyarrow.parquet as pq

    from liqspec.bulk import default_bulk_scenario
    from liqspec.scenario import default_scenario

    old = simulate(default_scenario(), tmp_path / "old", progress=False, engine="fast")
    new = simulate(default_bulk_scenario(), tmp_path / "new", progress=False, engine="fast")
    assert asdict(new.summary) == asdict(old.summary)
    assert new.result.steps == old.result.steps
    assert new.summary.accounts_liquidated > 100 and new.summary.adl_lots > 0
    for name in TRACES + PLOTS:
        assert (new.out_dir / name).read_bytes() == (old.out_dir / name).read_bytes(), name
    table = pq.read_table(new.out_dir / "events.parquet")
    assert table.equals(new.result.events_table())
    assert table.num_rows == len(old.result.events) > 1000
    assert table.column("account").to_pylist() == [e.account for e in old.result.events]
    assert set(new.files) == set(old.files) | {"events_parquet"}


def test_bulk_progress_bar_counts_accounts_liquidated(tmp_path, capsys, monkeypatch):
    import liqspec.simulate
    from liqspec.bulk import parse_bulk_scenario
    from liqspec.scenario import parse_toml

    bars = []

    class RecordingBar(liqspec.simulate.tqdm):  # the bar simulate creates, kept to read it
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(liqspec.simulate, "tqdm", RecordingBar)
    report = simulate(parse_bulk_scenario(parse_toml(SMALL_TOML)), tmp_path, plots=False,
                      progress="always", engine="fast")
    liquidated = report.summary.accounts_liquidated
    [bar] = bars
    assert liquidated > 0 and bar.n == bar.total == 11
    assert bar.postfix == f"{liquidated:,} accounts liquidated"
    assert "cascade:   0%|" in capsys.readouterr().err
    with pytest.raises(ValueError, match="fast engine only"):
        simulate(parse_bulk_scenario(parse_toml(SMALL_TOML)), tmp_path / "x", engine="reference")


POSITIONS_TOML = """\
name = "cli-positions"
profile = "binance_usdm"
insurance_fund = "100"

[markets.BTCUSDT]
start_price = "60000"
book = { levels = 10, spacing = "0.002", lots_per_level = 20 }

[markets.ETHUSDT]
start_price = "3000"
book = { levels = 10, spacing = "0.002", lots_per_level = 200 }

[path]
kind = "shock"
drop = "0.15"
steps = 6
step_seconds = 10

[positions]
file = "book.csv"
"""


def positions_csv(accounts: int = 60) -> str:
    """Cross accounts over both markets and isolated ones, 70% long, 5x to 60x: a 15% crash
    through a thin book (ADL takes the rest)."""
    rows = ["account,wallet,market,size,entry_price,isolated"]
    for i in range(accounts):
        side = -1 if i % 10 >= 7 else 1
        wallet = 60_000 * (i % 3 + 1) // (5 + i % 12 * 5)  # a 0.1-0.3 BTC notional, 5x-60x
        isolated = "BTCUSDT" if i % 4 == 3 else ""
        rows.append(f"t{i:03d},{wallet},BTCUSDT,{side * (i % 3 + 1) / 10},"
                    f"{60_000 - 7 * i},{isolated}")
        if not isolated and i % 2 == 0:
            rows.append(f"t{i:03d},{wallet},ETHUSDT,{side * (i % 5 + 1)},{3_000 + i},")
    return "\n".join(rows) + "\n"


def test_cli_fast_on_a_positions_file_writes_the_reference_bytes(tmp_path):
    """A positions file (cross over two markets, isolated accounts), a crash that forces
    auto-deleveraging: the bulk path writes the reference engine's files, byte for byte."""
    (tmp_path / "book.csv").write_text(positions_csv(), encoding="utf-8")
    scenario_file = tmp_path / "crash.toml"
    scenario_file.write_text(POSITIONS_TOML, encoding="utf-8")
    runs = {engine: liqspec("simulate", str(scenario_file), "--out", str(tmp_path / engine),
                            "--engine", engine) for engine in ("reference", "fast")}
    for result in runs.values():
        assert result.returncode == 0, result.stderr
    for name in TRACES + PLOTS:
        assert (tmp_path / "fast" / name).read_bytes() == \
            (tmp_path / "reference" / name).read_bytes(), name
    summary = json.loads((tmp_path / "fast" / "summary.json").read_text())["summary"]
    assert summary["accounts_liquidated"] > 5 and summary["adl_lots"] > 0
    assert "events (Parquet)" in runs["fast"].stdout
    assert not (tmp_path / "reference" / "events.parquet").exists()


def test_cli_fast_reports_a_bad_positions_row_as_the_reference_does(tmp_path):
    text = positions_csv().splitlines()
    text[7] = text[7].replace("BTCUSDT", "BTCUSD", 1)
    (tmp_path / "book.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    scenario_file = tmp_path / "crash.toml"
    scenario_file.write_text(POSITIONS_TOML, encoding="utf-8")
    runs = [liqspec("simulate", str(scenario_file), "--out", str(tmp_path / engine),
                    "--engine", engine) for engine in ("reference", "fast")]
    assert runs[0].returncode == runs[1].returncode == 2
    assert runs[0].stderr == runs[1].stderr
    assert "row 7 (line 8), column market: unknown market 'BTCUSD'" in runs[1].stderr


def test_streamed_trace_text_is_what_csv_writer_and_json_dumps_write():
    """The chunked writers (liqspec.trace_stream) against simulate's own per-event writers, on
    account names that need quoting or escaping: commas, quotes, line feeds, carriage returns,
    backslashes, control and non-ASCII characters, absent values."""
    import io

    import pyarrow as pa

    from liqspec.bulk import EVENT_SCHEMA
    from liqspec.simulate import EVENT_COLUMNS, event_line
    from liqspec.trace_stream import csv_chunk, jsonl_chunk

    names = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "back\\slash", "tab\there",
             "\u00e9l\u00e8ve", "\x01", "", " lead", None]
    events = [Event(step=k, time_s=5 * k, round=k % 3, kind="adl_fill", account=name,
                    market=None if k % 4 == 0 else "BTCUSDT", lots=-k * 10**15,
                    price_ticks=None if k % 2 else 2**62 + k, quote=-(2**63) + k,
                    rule_id="LIQ-ADL-4", detail=f"counterparty {name}" if name else "")
              for k, name in enumerate(names)]
    batch = pa.RecordBatch.from_pylist([e.to_dict() for e in events], schema=EVENT_SCHEMA)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for event in events:
        row = event.to_dict()
        writer.writerow(["" if row[c] is None else row[c] for c in EVENT_COLUMNS])
    assert csv_chunk(batch) == text.getvalue().encode()
    assert jsonl_chunk(batch) == "".join(event_line(e) + "\n" for e in events).encode()
