"""Stress sweeps: many cascades over price paths, parameter choices and seeds, on this machine or
a Dask cluster, into one table.

    >>> import liqspec.sweep
    >>> table = liqspec.sweep.run("my_sweep.toml")            # doctest: +SKIP
    >>> table = liqspec.sweep.run(config, client=my_client)   # doctest: +SKIP

:func:`run` returns a ``pyarrow.Table``, one row per run sorted by run key (see
:mod:`liqspec.sweep_store` for the columns, :mod:`liqspec.sweep_exec` for the metrics);
:func:`execute` also writes the output folder and returns a :class:`SweepReport`. A sweep file's
format is :mod:`liqspec.sweep_config`; the price-path models are :mod:`liqspec.sweep_paths`.

Where the runs run (the same code on each):

* ``client``: a ``distributed.Client`` you made (any cluster);
* ``scheduler="tcp://HOST:PORT"``: an existing cluster, by its scheduler's address;
* ``workers=N``: a new ``LocalCluster`` of N worker processes (default: one per core);
* ``workers=0``: a plain loop in this process, no Dask.

Every run is the compiled cascade (:func:`liqspec.fast.cascade_arrays`). The table is a function
of the sweep alone: the same rows, sorted by run key, whatever ran them and in whatever order
(no timings, no worker names in it), so two tables compare with ``==``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from liqspec.reference.profiles import PROFILES
from liqspec.reference.units import from_units

from liqspec.fast.difftest import whole_number_at_least

from .display import group_digits
from .usage import InputError
from .sweep_config import (Plan, SweepConfig, SweepError, default_sweep, load_sweep, parse_sweep,
                           plan as make_plan)
from .sweep_exec import (ERROR, OK, Progress, RunTask, SchedulerError, check_address,
                         close_client, connect, drive, execute_run, local_client,
                         run_in_process, run_on_dask)
from .sweep_plots import PPM_PER_PERCENT
from .sweep_store import (FOLDER_KIND, OutputFolder, OutputFolderError, PartWriter, read_parts,
                          row, schema, sorted_by_key, to_table, write_csv, write_parquet)

__all__ = ["run", "execute", "SweepReport", "SweepError", "SchedulerError", "load_config",
           "summarize",
           "render_summary"]

FILES = {"runs_parquet": "runs.parquet", "runs_csv": "runs.csv", "summary_json": "summary.json"}
#: failed runs listed in summary.json (all of them are in the table)
MAX_FAILURES_LISTED = 50


@dataclass
class SweepReport:
    """What :func:`execute` did."""

    config: SweepConfig
    table: pa.Table
    summary: dict
    resumed: int
    ran: int
    seconds: float
    where: str
    files: Mapping[str, Path] = field(default_factory=dict)

    def render(self) -> str:
        return render_summary(self)


def load_config(config: SweepConfig | str | os.PathLike | Mapping | None) -> SweepConfig:
    """A sweep from a :class:`SweepConfig`, a file path, a parsed TOML document (a dict; files
    relative to the current folder), or None for the embedded default sweep."""
    if config is None:
        return default_sweep()
    if isinstance(config, SweepConfig):
        return config
    if isinstance(config, Mapping):
        return parse_sweep(dict(config), base_dir=Path.cwd())
    return load_sweep(config)


def run(config: SweepConfig | str | os.PathLike | Mapping | None = None, client: Any = None,
        **options: Any) -> pa.Table:
    """Run a sweep and return its table (a ``pyarrow.Table``, one row per run, sorted by run
    key). ``client``: a ``distributed.Client`` to run on; without one, ``workers`` (default: one
    per core; 0 for this process) or ``scheduler``. Other options as :func:`execute`."""
    return execute(config, client=client, **options).table


def execute(config: SweepConfig | str | os.PathLike | Mapping | None = None, client: Any = None,
            *, out: str | os.PathLike | None = None, workers: int | None = None,
            scheduler: str | None = None, progress: bool | str = False, plots: bool = True,
            flush_rows: int = 64, flush_seconds: float = 5.0,
            task: RunTask = execute_run) -> SweepReport:
    """Run a sweep; with ``out``, stream rows into ``out`` as runs finish, resume from what is
    there, and write the table, ``runs.csv``, ``summary.json`` and the plots (see
    :mod:`liqspec.sweep_store`). Every check of the sweep file runs before the first run.
    ``task`` computes one run (default: :func:`liqspec.sweep_exec.execute_run`, the compiled
    cascade); the tests pass one that ends its worker process, to show such a run recorded."""
    started = time.perf_counter()
    if scheduler is not None and client is None:
        check_address(scheduler)  # a typo fails at once, even with every run already done
    sweep = load_config(config)
    plan = make_plan(sweep)
    table_schema = schema(plan)
    keys = {spec.run_key for spec in plan.runs}
    folder = OutputFolder(Path(out)) if out is not None else None
    # finished rows are read before anything is created: a sweep that cannot start (a
    # scheduler that does not answer) leaves no trace beside ``out``
    if folder is not None:
        done = read_parts(folder.part_folders(), table_schema, keys)
    else:
        done = table_schema.empty_table()
    finished = set(done.column("run_key").to_pylist())
    todo = [spec for spec in plan.runs if spec.run_key not in finished]

    where, outcomes, owned = "no runs left to run", iter(()), None
    if todo:
        where, outcomes, owned = _executor(plan, todo, client, workers, scheduler, task)
    rows: list[dict] = []
    writer = None
    bar = None
    try:
        if folder is not None:
            folder.open()
            writer = PartWriter(folder.parts, table_schema, flush_rows, flush_seconds)

        def record(spec, outcome) -> None:
            data = row(plan, spec, outcome)
            if writer is not None:
                writer.add(data)
            else:
                rows.append(data)

        if todo and progress:
            bar = Progress(len(plan.runs), len(finished), progress)
        drive(outcomes, record, bar)
    finally:
        if writer is not None:
            writer.flush()  # interrupted or not, finished rows reach the disk
        if bar is not None:
            bar.close()
        if owned is not None:
            close_client(owned)
    if folder is not None:  # the rows went to its parts (the writer above)
        table = read_parts(folder.part_folders(), table_schema, keys)
    else:
        table = pa.concat_tables([done, to_table(rows, table_schema)])
    table = sorted_by_key(table)
    summary = summarize(plan, table)
    files: dict[str, Path] = {}
    if folder is not None:
        files = _write_outputs(folder, plan, table, summary, plots)
    return SweepReport(sweep, table, summary, resumed=len(finished), ran=len(todo),
                       seconds=time.perf_counter() - started, where=where, files=files)


def _executor(plan: Plan, todo: list, client: Any, workers: int | None,
              scheduler: str | None, task: RunTask) -> tuple[str, Any, Any]:
    """(a description, the outcomes iterator, a client to close afterwards or None)."""
    payload = plan.payload()
    if client is not None:
        return f"the given Dask client ({len(client.nthreads())} workers)", \
            run_on_dask(client, payload, todo, task=task), None
    if scheduler is not None:
        owned = connect(scheduler)
        return f"the Dask cluster at {scheduler} ({len(owned.nthreads())} workers)", \
            run_on_dask(owned, payload, todo, task=task), owned
    count = (os.cpu_count() or 1) if workers is None else workers
    if count == 0:
        return "this process (no Dask)", run_in_process(payload, todo, task), None
    owned = local_client(count)
    return f"a local Dask cluster of {count} worker process{'es' if count > 1 else ''}", \
        run_on_dask(owned, payload, todo, task=task), owned


def _write_outputs(folder: OutputFolder, plan: Plan, table: pa.Table, summary: dict,
                   plots: bool) -> dict[str, Path]:
    work = folder.work
    write_parquet(table, work / FILES["runs_parquet"])
    write_csv(table, work / FILES["runs_csv"])
    (work / FILES["summary_json"]).write_text(json.dumps(summary, indent=2, sort_keys=True)
                                              + "\n", encoding="utf-8")
    names = dict(FILES)
    if plots:
        from .sweep_plots import PLOT_FILES, render_all

        columns = {name: table.column(name).to_pylist() for name in table.column_names}
        render_all(columns, plan.config.heatmap, work, plan.config.name)
        names.update(PLOT_FILES)
    folder.compact(table)
    folder.commit()
    return {key: folder.target / name for key, name in names.items()}


# -- the summary ----------------------------------------------------------------------------------

def _nearest_rank(values: list[int], fraction_ppm: int) -> int | None:
    """The nearest-rank quantile (ROUND_UP of the rank): an observed value, exact."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction_ppm // 1_000_000))
    return ordered[rank - 1]


def _share(count: int, total: int) -> dict:
    return {"count": count, "runs": total,
            "share": round(count / total, 6) if total else None}


def _stats(columns: dict, rows: list[int]) -> dict:
    def flags(name: str) -> int:
        return sum(1 for i in rows if columns[name][i])

    def positive(name: str) -> int:
        return sum(1 for i in rows if (columns[name][i] or 0) > 0)

    def quantiles(name: str) -> dict:
        values = [columns[name][i] for i in rows]
        return {"p50": _nearest_rank(values, 500_000), "p90": _nearest_rank(values, 900_000),
                "p99": _nearest_rank(values, 990_000), "max": max(values) if values else None}

    n = len(rows)
    return {"runs": n, "fund_exhausted": _share(flags("fund_exhausted"), n),
            "deleveraged": _share(flags("deleveraged"), n),
            "bad_debt": _share(positive("bad_debt_quote"), n),
            "socialized": _share(positive("socialized_quote"), n),
            "unresolved": _share(positive("unresolved_accounts"), n),
            "notional_liquidated_quote": quantiles("notional_liquidated_quote"),
            "final_move_ppm": quantiles("final_move_ppm"),
            "index_drop_ppm": quantiles("index_drop_ppm")}


def summarize(plan: Plan, table: pa.Table) -> dict:
    """summary.json: counts, the probabilities and quantiles over successful runs, overall, per
    path generator and per heatmap cell, and the failed runs with their seeds. Integers are in
    the venue's units; shares are rounded to 6 decimals for reading."""
    config = plan.config
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    n = table.num_rows
    ok = [i for i in range(n) if columns["status"][i] == OK]
    failed = [i for i in range(n) if columns["status"][i] == ERROR]
    by_path: dict[str, list[int]] = {}
    for i in ok:
        by_path.setdefault(columns["path"][i], []).append(i)
    cells: dict[tuple, list[int]] = {}
    for i in ok:
        cells.setdefault(tuple(columns[p][i] for p in config.heatmap), []).append(i)
    base_profile = PROFILES.get(str(config.base.document.get("profile")))
    return {
        "kind": FOLDER_KIND, "format": 1, "sweep": config.name,
        "description": config.description, "scenario_fingerprint": config.base.fingerprint,
        "runs": n, "ok": len(ok), "failed": len(failed),
        "parameters": list(config.parameters), "seeds": len(config.seeds),
        "paths": sorted({p.name for p in config.paths}),
        "quote_asset": base_profile.quote_asset if base_profile else None,
        "quote_decimals": base_profile.quote_decimals if base_profile else None,
        "overall": _stats(columns, ok),
        "by_path": {name: _stats(columns, rows) for name, rows in sorted(by_path.items())},
        "heatmap": list(config.heatmap),
        "cells": [{"values": list(key), **_stats(columns, rows)}
                  for key, rows in sorted(cells.items(), key=lambda kv: _value_order(kv[0]))],
        "failures": [{"run_key": columns["run_key"][i], "seed": columns["seed"][i],
                      "path": columns["path"][i], "error": columns["error"][i]}
                     for i in failed[:MAX_FAILURES_LISTED]],
    }


def _value_order(values: tuple) -> tuple:
    """Sort parameter values as numbers where they are numbers ("5000" before "20000")."""
    key = []
    for value in values:
        try:
            key.append((0, Decimal(str(value)), ""))
        except (InvalidOperation, ValueError):
            key.append((1, Decimal(0), str(value)))
    return tuple(key)


def _percent(share: dict) -> str:
    if not share["runs"]:
        return "-"
    tenths = (share["count"] * 1000 * 2 + share["runs"]) // (2 * share["runs"])
    return f"{tenths // 10}.{tenths % 10}%  ({share['count']}/{share['runs']})"


def render_summary(report: SweepReport) -> str:
    """The table ``liqspec sweep`` prints."""
    s = report.summary
    decimals = s.get("quote_decimals") or 0
    asset = s.get("quote_asset") or "quote"

    def quote(units: int | None) -> str:
        return "-" if units is None else f"{group_digits(from_units(units, decimals))} {asset}"

    def ppm(units: int | None) -> str:
        return "-" if units is None else f"{units / PPM_PER_PERCENT:.2f}%"

    title = f"Sweep: {s['sweep']}"
    overall = s["overall"]
    notional = overall["notional_liquidated_quote"]
    pairs = [
        ("runs", f"{s['runs']:,} ({s['ok']:,} ok, {s['failed']:,} failed; {report.resumed:,} "
                 f"already done, {report.ran:,} run now)"),
        ("ran on", f"{report.where}, {report.seconds:.1f} s"),
        ("P(insurance fund exhausted)", _percent(overall["fund_exhausted"])),
        ("P(auto-deleveraging)", _percent(overall["deleveraged"])),
        ("P(bad debt)", _percent(overall["bad_debt"])),
        ("P(unresolved accounts)", _percent(overall["unresolved"])),
        ("notional liquidated p50", quote(notional["p50"])),
        ("notional liquidated p90", quote(notional["p90"])),
        ("final move p50 / p90", f"{ppm(overall['final_move_ppm']['p50'])} / "
                                 f"{ppm(overall['final_move_ppm']['p90'])}"),
    ]
    width = max(len(label) for label, _ in pairs)
    lines = [title, "-" * len(title)] + [f"{label.ljust(width)}  {value}"
                                         for label, value in pairs]
    if s["heatmap"] and s["cells"]:
        header = [*s["heatmap"], "runs", "P(fund exhausted)", "P(ADL)", "final move p50"]
        table = [header] + [[str(v) for v in cell["values"]]
                            + [str(cell["runs"]), _percent(cell["fund_exhausted"]).split()[0],
                               _percent(cell["deleveraged"]).split()[0],
                               ppm(cell["final_move_ppm"]["p50"])] for cell in s["cells"]]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        lines += ["", f"by {' x '.join(s['heatmap'])}:"]
        for k, r in enumerate(table):
            lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
    if s["failures"]:
        lines += ["", "failed runs (key, seed: error):"]
        lines += [f"  {f['run_key']}  seed {f['seed']}: {f['error']}" for f in s["failures"][:5]]
        if s["failed"] > 5:
            lines.append(f"  ... {s['failed'] - 5} more in summary.json and the table")
    if report.files:
        lines += ["", "written:"]
        lines += [f"  {path}" for path in report.files.values()]
    return "\n".join(lines) + "\n"


# -- the command ----------------------------------------------------------------------------------

DESCRIPTION = (
    "Run many cascades: a base scenario, parameter overrides (grid and points), price-path "
    "generators (shocks, GBM, Merton jump-diffusion, bootstrap of a price CSV) and seeds, each "
    "run on the compiled engine, on a local Dask cluster (--workers) or an existing one "
    "(--scheduler). Rows stream to Parquet as runs finish; rerunning into the same folder skips "
    "finished runs. Writes runs.parquet, runs.csv, summary.json and plots (heatmap.png, "
    "amplification.png, fund_fan.png) into the output folder and prints a summary. Without a "
    "file, runs the embedded default sweep (format: liqspec.sweep_config).")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec sweep`` parser: its description, options and handler (``run``)."""
    parser.description = DESCRIPTION
    parser.add_argument("sweep", nargs="?", metavar="SWEEP.toml",
                        help="a sweep file; default: the embedded default sweep")
    parser.add_argument("--out", metavar="DIR", default="liqspec-sweep",
                        help="the output folder (default: ./liqspec-sweep); an interrupted "
                             "sweep into the same folder resumes")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=whole_number_at_least(0), metavar="N",
                       help="worker processes of a local Dask cluster (default: one per core; "
                            "0: run in this process, without Dask)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on an existing Dask cluster, by its scheduler's address")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.add_argument("--flush-rows", type=whole_number_at_least(0), default=64, metavar="N",
                        help="rows per Parquet part file while streaming (default 64)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar (it is shown only on a terminal anyway)")
    parser.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> str:
    source = args.sweep
    try:
        config = load_config(source)
        report = execute(config, out=args.out, workers=args.workers, scheduler=args.scheduler,
                         progress=not args.quiet, plots=not args.no_plots,
                         flush_rows=args.flush_rows)
    except SweepError as error:
        name = source or "default sweep"
        message = str(error)
        raise InputError(message if name in message else f"{name}: {message}") from None
    except SchedulerError as error:
        raise InputError(f"--scheduler {error}") from None
    except OutputFolderError as error:
        raise InputError(f"--out: {error}") from None
    except OSError as error:
        raise InputError(f"--out {args.out}: cannot write: {error.strerror or error}") from None
    return report.render()


def read_table(folder: str | os.PathLike) -> pa.Table:
    """The table of a finished sweep's folder (``runs.parquet``)."""
    return pq.read_table(Path(folder) / FILES["runs_parquet"])

