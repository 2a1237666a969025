"""Run a cascade scenario and write what happened: a trace, a table, CSVs and plots.

:func:`simulate` runs :func:`liqspec.reference.cascade.run_cascade` on a scenario (a state, a price
path and books; :mod:`liqspec.scenario`) with a progress bar, and writes to an output folder:

========================= =====================================================================
``events.jsonl``          the event trace (LIQ-CASCADE-5), one JSON object a line, keys sorted,
                          integers in the state's units: two runs of a scenario give the same
                          bytes (LIQ-INV-10)
``events.csv``            the same events as a table
``steps.csv``             one row a step: time, index and mark per market, rounds, liquidated
                          notional, insurance fund, ADL lots, written-off bad debt (integers)
``summary.json``          the :class:`~liqspec.reference.cascade.Summary` in integers, the units
                          to read it, and the same amounts as exact human decimal strings
``price_path.png``        index and mark per step, liquidated notional as bars
``insurance_fund.png``    the fund over time, auto-deleveraging and bad debt marked
``liquidation_map.png``   before the shock: notional that would be liquidated by price level
========================= =====================================================================

:func:`render_summary` is the table ``liqspec simulate`` prints. The trace, the tables and the
summary are a function of the scenario alone (no clock, no absolute paths), so two runs can be
compared with ``cmp`` or ``diff``.

The folder is replaced whole, never file by file: the files are written into a new folder beside
it (``.NAME.new-XXXXXXXX``), which is moved into place once every file is complete (on Linux by one
atomic exchange; elsewhere by two renames, with nothing at the path in between). A reader
therefore sees the old run's files or the new run's, never a mix, and an error or an interrupt
leaves the old folder as it was and removes the new one (only a killed process can leave a
``.NAME.new-*`` folder behind). Because the folder is replaced, :func:`simulate` refuses a folder
that holds anything it did not write (:data:`OUTPUT_NAMES`): ``--out .`` in a project folder is an
error, not a loss. The new folder is made before the run, so an unusable ``--out`` is reported
before any work.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from liqspec.reference.cascade import CascadeResult, Event, StepRecord, Summary, run_cascade
from liqspec.reference.errors import LiqspecError
from liqspec.reference.profile import MarketKind
from liqspec.reference.state import State
from liqspec.reference.units import from_units

from .display import group_digits
from .price_view import price_view

#: the files :func:`simulate` writes: key -> file name (the plots' are in :mod:`liqspec.plots`)
TRACE_FILES = {
    "events_jsonl": "events.jsonl",
    "events_csv": "events.csv",
    "steps_csv": "steps.csv",
    "summary_json": "summary.json",
}
#: the plots' file names (drawn by :func:`liqspec.plots.render_all`)
PLOT_FILES = ("price_path.png", "insurance_fund.png", "liquidation_map.png")
#: the trace as a Parquet table, written besides on the bulk path (:func:`simulate_bulk`)
PARQUET_TRACE = ("events_parquet", "events.parquet")
#: every name :func:`simulate` may write: an output folder holding anything else is not replaced
OUTPUT_NAMES = frozenset(TRACE_FILES.values()) | frozenset(PLOT_FILES) | {PARQUET_TRACE[1]}
#: how the summary table names each file, in the order it lists them
FILE_LABELS = {
    "events_jsonl": "events",
    "events_csv": "events (CSV)",
    "events_parquet": "events (Parquet)",
    "steps_csv": "steps",
    "summary_json": "summary",
    "price_path": "price path plot",
    "insurance_fund": "insurance fund plot",
    "liquidation_map": "liquidation map plot",
}

#: ``progress`` values: show the bar on a terminal only, always, or never
Progress = bool | Literal["always"]


class OutputError(LiqspecError):
    """The output folder cannot be used (an empty path, a file, a folder holding other files, or
    a place where nothing can be written); nothing was run or written."""


@dataclass(frozen=True)
class SimulationReport:
    """What :func:`simulate` did: the run, the state before it, and the files it wrote
    (``result``: a :class:`~liqspec.bulk.BulkRun` on the bulk path, whose state before the run
    holds the profile and marks only)."""

    scenario_name: str
    initial_state: State
    result: CascadeResult
    out_dir: Path
    files: Mapping[str, Path]

    @property
    def summary(self) -> Summary:
        assert self.result.summary is not None
        return self.result.summary

    def render(self) -> str:
        """The summary table, as ``liqspec simulate`` prints it."""
        return render_summary(self.summary, self.initial_state, files=self.files,
                              title=f"Cascade: {self.scenario_name}", steps=self.result.steps)


def cascade_engine(name: str) -> Callable[..., CascadeResult]:
    """``run_cascade`` of the named engine: ``"reference"`` (liqspec.reference.cascade) or
    ``"fast"`` (liqspec.fast, compiled, with an equal result)."""
    if name == "reference":
        return run_cascade
    if name == "fast":
        import liqspec.fast  # the compiled extension: no fallback if it is missing

        return liqspec.fast.run_cascade
    raise ValueError(f"unknown engine {name!r}: 'reference' or 'fast'")


def simulate(scenario: Any, out_dir: str | Path, plots: bool = True,
             progress: Progress = True, engine: str = "reference") -> SimulationReport:
    """Run ``scenario`` (a :class:`liqspec.scenario.Scenario`: ``name``, ``state``, ``config``)
    and write the trace, tables and, unless ``plots`` is false, the plots into ``out_dir``
    (created if missing; files of the same names are replaced).

    ``progress``: ``True`` shows a progress bar on standard error when it is a terminal,
    ``"always"`` shows it anyway, ``False`` never. The scenario's state is not changed: the
    cascade runs on a copy. ``engine``: see :func:`cascade_engine`.

    The folder is replaced whole once every file is written (see the module docstring): after an
    error or an interrupt it is as it was. :class:`OutputError` before any work when ``out_dir``
    cannot be used.
    """
    from liqspec.bulk import BulkScenario

    if isinstance(scenario, BulkScenario):
        if engine != "fast":
            raise ValueError("a scenario read in columns runs on the fast engine only")
        return simulate_bulk(scenario, out_dir, plots=plots, progress=progress)
    run = cascade_engine(engine)
    if not os.fspath(out_dir).strip():  # Path("") would be the current folder
        raise OutputError("the output folder's path is empty")
    out = Path(out_dir)
    with replacing_folder(out) as stage:
        initial = scenario.state  # run_cascade works on its own copy: this stays the state before
        result = _run_with_progress(run, initial, scenario.config, progress)
        if result.summary is None:
            raise RuntimeError("run_cascade returned no summary")

        files: dict[str, Path] = {key: stage / name for key, name in TRACE_FILES.items()}
        write_events_jsonl(result.events, files["events_jsonl"])
        write_events_csv(result.events, files["events_csv"])
        write_steps_csv(result, files["steps_csv"])
        write_summary_json(result.summary, initial, files["summary_json"],
                           scenario_name=scenario.name, seed=getattr(scenario, "seed", None))
        if plots:
            from liqspec import plots as plotting  # matplotlib is slow to import: only if drawing

            files.update(plotting.render_all(result, initial, scenario.config, stage,
                                             scenario.name))
    files = {key: out / path.name for key, path in files.items()}  # where they are now
    return SimulationReport(scenario.name, initial, result, out, files)


def simulate_bulk(scenario: Any, out_dir: str | Path, plots: bool = True,
                  progress: Progress = True) -> SimulationReport:
    """:func:`simulate` for a scenario read in columns (:class:`liqspec.bulk.BulkScenario`) on
    the compiled engine: the trace goes from the engine's int64 columns to ``events.jsonl``,
    ``events.csv`` (the bytes :func:`simulate` writes) and ``events.parquet`` a chunk at a time
    (:mod:`liqspec.trace_stream`), never as Python objects; steps, summary and plots as
    :func:`simulate`. The report's ``result`` is the :class:`liqspec.bulk.BulkRun`."""
    from liqspec import bulk
    from liqspec.trace_stream import write_trace

    if not os.fspath(out_dir).strip():
        raise OutputError("the output folder's path is empty")
    out = Path(out_dir)
    with replacing_folder(out) as stage:
        initial = scenario.state  # profile and marks: what the table and files read
        crash = _run_bulk_with_progress(scenario, progress)
        names = dict(TRACE_FILES)  # the Parquet trace listed after the CSV one
        names = {**dict(list(names.items())[:2]), PARQUET_TRACE[0]: PARQUET_TRACE[1], **names}
        files: dict[str, Path] = {key: stage / name for key, name in names.items()}
        write_trace(crash.event_batches(), bulk.EVENT_SCHEMA, parquet=files["events_parquet"],
                    csv=files["events_csv"], jsonl=files["events_jsonl"],
                    plain=crash.plain_text())
        write_steps_csv(crash, files["steps_csv"])
        write_summary_json(crash.summary, initial, files["summary_json"],
                           scenario_name=scenario.name, seed=scenario.seed)
        if plots:
            from liqspec import plots as plotting

            view = plotting.RunRecord(bulk.plot_events(crash), crash.steps, crash.summary)
            levels = {m: bulk.liquidation_levels(scenario.book, m)
                      for m in scenario.config.path.index_ticks}
            files.update(plotting.render_all(view, initial, scenario.config, stage,
                                             scenario.name, levels_by_market=levels))
    files = {key: out / path.name for key, path in files.items()}
    return SimulationReport(scenario.name, initial, crash, out, files)


def _run_bulk_with_progress(scenario: Any, progress: Progress):
    """The bulk run with a tqdm bar over its steps showing the accounts liquidated so far."""
    from liqspec import bulk

    if progress is False:
        return bulk.run(scenario)
    disable = None if progress is True else False
    with tqdm(total=scenario.config.path.steps, desc="cascade", unit="step", file=sys.stderr,
              disable=disable, dynamic_ncols=True, leave=False) as bar:
        def advance(done_steps: int, total_steps: int, liquidated: int) -> None:
            bar.set_postfix_str(f"{liquidated:,} accounts liquidated", refresh=False)
            bar.update(done_steps - bar.n)

        return bulk.run(scenario, on_step=advance)


# -- the output folder, replaced whole ----------------------------------------------------------

def _check_output_folder(out: Path, given: str) -> None:
    """Refuse an output folder that cannot be replaced whole without loss (``given``: its path as
    the user wrote it, for the message)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{given!r} is a file, not a folder")
    if out.is_dir():
        foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in OUTPUT_NAMES
                         or not entry.is_file() or entry.is_symlink())
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise OutputError(f"{given!r} holds files that simulate did not write ({shown}); "
                              f"the folder is replaced whole, so give a new or empty folder, or "
                              f"one an earlier run wrote")


@contextmanager
def replacing_folder(out: Path) -> Iterator[Path]:
    """A new, empty folder beside ``out`` to write into; when the block ends normally it
    replaces ``out`` whole, and when it raises (an error, KeyboardInterrupt) it is removed and
    ``out`` is left as it was. A symbolic link at ``out`` is kept: its target is replaced."""
    given = str(out)
    # absolute, so that "." or "a/.." has a name and a parent to write beside
    out = out.resolve() if out.is_symlink() else Path(os.path.abspath(out))
    if not out.name:
        raise OutputError(f"{given!r} cannot be replaced: give a folder inside it")
    _check_output_folder(out, given)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = _new_folder(parent, f".{out.name}.new-")
    except OSError as error:
        raise OutputError(f"cannot write beside {given!r}: {error.strerror or error}") from None
    try:
        yield stage
        _move_into_place(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _new_folder(parent: Path, prefix: str) -> Path:
    """A folder of a fresh name under ``parent`` (made with the usual permissions, unlike
    tempfile.mkdtemp's private ones, since it becomes the user's output folder)."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _move_into_place(stage: Path, out: Path) -> None:
    """``stage`` becomes ``out``; the old ``out``, if any, is removed."""
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):  # one atomic step: the path always holds a complete folder
        shutil.rmtree(stage, ignore_errors=True)  # stage now holds the old files
        return
    old = stage.with_name(stage.name.replace(".new-", ".old-", 1))
    os.rename(out, old)
    try:
        os.rename(stage, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot, so the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without renameat2 (glibc < 2.28, musl)
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _run_with_progress(run: Callable[..., CascadeResult], state: State, config: Any,
                       progress: Progress) -> CascadeResult:
    """Run the cascade with a tqdm bar over its steps (standard error, so standard output stays
    the table). tqdm's ``disable=None`` is its own "only on a terminal" test."""
    if progress is False:
        return run(state, config)
    disable = None if progress is True else False
    with tqdm(total=config.path.steps, desc="cascade", unit="step", file=sys.stderr,
              disable=disable, dynamic_ncols=True, leave=False) as bar:
        def advance(done_steps: int, total_steps: int) -> None:
            if bar.total != total_steps:
                bar.total = total_steps
            bar.update(done_steps - bar.n)

        return run(state, config, progress=advance)


# -- the trace ----------------------------------------------------------------------------------

#: column order of events.csv: the Event's fields, in declaration order
EVENT_COLUMNS = tuple(f.name for f in fields(Event))


def event_line(event: Event) -> str:
    """One line of events.jsonl: sorted keys, no spaces, integers exact (json writes Python ints
    digit for digit), so the bytes depend on the event alone."""
    return json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)


def write_events_jsonl(events: list[Event], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for event in events:
            out.write(event_line(event) + "\n")


def _csv_cell(value: object) -> object:
    return "" if value is None else value


def write_events_csv(events: list[Event], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EVENT_COLUMNS)
        for event in events:
            row = event.to_dict()
            writer.writerow([_csv_cell(row[name]) for name in EVENT_COLUMNS])


def step_markets(result: CascadeResult) -> list[str]:
    """The markets of the step records, sorted (the CSV columns and plot panels follow it)."""
    found: set[str] = set()
    for record in result.steps:
        found.update(record.index_ticks)
    return sorted(found)


def steps_columns(markets: list[str]) -> list[str]:
    per_market = [f"{kind}_ticks_{m}" for m in markets for kind in ("index", "mark")]
    return (["step", "time_s"] + per_market
            + ["rounds", "liquidated_notional_quote", "insurance_fund_quote", "adl_lots",
               "written_off_quote"])


def write_steps_csv(result: CascadeResult, path: Path) -> None:
    markets = step_markets(result)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(steps_columns(markets))
        for r in result.steps:
            per_market = [p for m in markets for p in (r.index_ticks[m], r.mark_ticks[m])]
            writer.writerow([r.step, r.time_s, *per_market, r.rounds, r.liquidated_notional_quote,
                             r.insurance_fund_quote, r.adl_lots, r.written_off_quote])


# -- the summary --------------------------------------------------------------------------------

def _quote_fields(summary: Summary) -> list[str]:
    return [f.name for f in fields(summary) if f.name.endswith("_quote")]


def summary_dict(summary: Summary, state: State, scenario_name: str | None = None,
                 seed: int | None = None) -> dict:
    """summary.json: ``summary`` is the Summary field for field (integers in units); ``units``
    says how to read them; ``human`` repeats every amount and price as an exact decimal string."""
    profile = state.profile
    quote_decimals = profile.quote_decimals
    human: dict[str, Any] = {name: from_units(getattr(summary, name), quote_decimals)
                             for name in _quote_fields(summary)}
    human["lowest_mark"] = {m: from_units(ticks, profile.market(m).price_decimals)
                            for m, ticks in summary.lowest_mark_ticks.items()}
    return {
        "scenario": scenario_name,
        "seed": seed,
        "summary": {key: dict(value) if isinstance(value, Mapping) else value
                    for key, value in asdict(summary).items()},
        "units": {
            "quote_asset": profile.quote_asset,
            "quote_decimals": quote_decimals,
            # an inverse market's prices are coin quantums per lot (LIQ-INVERSE-1): its kind,
            # face and venue decimals give the venue's price, face x 10^(quote + venue) / ticks
            "markets": {m: {"base_decimals": market.base_decimals,
                            "price_decimals": market.price_decimals,
                            **({"kind": market.kind, "face_per_lot": market.face_per_lot,
                                "venue_price_decimals": market.venue_price_decimals}
                               if market.kind == MarketKind.INVERSE else {})}
                        for m, market in sorted(profile.markets.items())},
        },
        "human": human,
    }


def write_summary_json(summary: Summary, state: State, path: Path,
                       scenario_name: str | None = None, seed: int | None = None) -> None:
    data = summary_dict(summary, state, scenario_name, seed)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _percent_change(start: int, end: int) -> str:
    """The move from start to end in percent, one decimal, rounded half away from zero (display
    only; computed on integers)."""
    tenths_num, den = abs(end - start) * 1000, start
    tenths = (2 * tenths_num + den) // (2 * den)
    sign = "-" if end < start and tenths else "+"
    return f"{sign}{tenths // 10}.{tenths % 10}%"


def render_summary(summary: Summary, state: State, files: Mapping[str, Path] | None = None,
                   title: str = "Cascade summary",
                   steps: Sequence[StepRecord] | None = None) -> str:
    """The summary as a table in human units: ``state`` is the state before the run (its profile
    gives the units and the quote asset, its marks the starting prices); ``files`` the paths
    written, listed under the table. An inverse market's lowest price is the venue's, read from
    ``steps`` (the run's step records) at the steps' ends, where they are given."""
    profile = state.profile
    asset = profile.quote_asset

    def quote(amount: int) -> tuple[str, str]:
        return group_digits(from_units(amount, profile.quote_decimals)), asset

    def count(number: int) -> str:
        return group_digits(str(number))

    rows: list[tuple[str, str, str]] = [
        ("steps", count(summary.steps), ""),
        ("rounds", count(summary.rounds), ""),
        ("accounts liquidated", count(summary.accounts_liquidated), ""),
        ("liquidation fills", count(summary.liquidation_fills), ""),
        ("notional liquidated", *quote(summary.notional_liquidated_quote)),
    ]
    for market_id, low_ticks in sorted(summary.lowest_mark_ticks.items()):
        view = price_view(profile, market_id)
        label = f"lowest mark {market_id}"
        if view.inverse:
            if steps is None:  # the model's lowest: a lot's lowest coin value
                view = price_view(profile, market_id, model=True)
                label = f"lowest lot value {market_id}"
            else:  # the venue's lowest price, at the highest coin value of a lot
                low_ticks = view.lowest(r.mark_ticks[market_id] for r in steps)
                label = f"lowest step-end mark {market_id}"
        start = state.marks.get(market_id)
        change = (f"  ({_percent_change(view.ticks(start), view.ticks(low_ticks))} from "
                  f"{group_digits(view.text(start))})") if start else ""
        rows.append((label, group_digits(view.text(low_ticks)), view.unit + change))
    rows += [
        ("insurance fund start", *quote(summary.insurance_fund_start_quote)),
        ("insurance fund min", *quote(summary.insurance_fund_min_quote)),
        ("insurance fund end", *quote(summary.insurance_fund_end_quote)),
        ("ADL volume", *quote(summary.adl_notional_quote)),
        ("ADL lots (all markets)", count(summary.adl_lots), "lots"),
        ("bad debt", *quote(summary.bad_debt_quote)),
        ("socialized", *quote(summary.socialized_quote)),
        ("unresolved accounts", count(summary.unresolved_accounts), ""),
    ]
    lines = [title, "-" * len(title)]
    lines += _aligned_rows(rows)
    if files:
        labels = {key: FILE_LABELS.get(key, key) for key in files}
        width = max(len(label) for label in labels.values())
        lines += ["", "written:"]
        lines += [f"  {labels[key].ljust(width)}  {path}" for key, path in files.items()]
    return "\n".join(lines) + "\n"


def _aligned_rows(rows: list[tuple[str, str, str]]) -> list[str]:
    """Label, number lined up on its decimal point, unit."""
    label_width = max(len(label) for label, _, _ in rows)
    whole_width = max(len(value.partition(".")[0]) for _, value, _ in rows)
    frac_width = max(len(value.partition(".")[2]) for _, value, _ in rows)
    lines = []
    for label, value, unit in rows:
        whole, dot, frac = value.partition(".")
        number = whole.rjust(whole_width) + (dot + frac).ljust(frac_width + 1 if frac_width else 0)
        lines.append(f"{label.ljust(label_width)}  {number}  {unit}".rstrip())
    return lines
