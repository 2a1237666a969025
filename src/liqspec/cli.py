"""The ``liqspec`` command.

    liqspec explain [STATE] [--account ID] [--json]   every number of an account, with its rule
    liqspec example                                   the embedded example state file
    liqspec profiles                                  the venue profiles, side by side
    liqspec simulate [SCENARIO.toml] [--out DIR] [--engine reference|fast] [--no-plots]
                     [--quiet]                        run a cascade: table, trace, plots
    liqspec sweep [SWEEP.toml] [--out DIR] [--workers N | --scheduler ADDR]
                                                      many cascades on Dask: table, plots
    liqspec difftest [--examples N | --seconds S] [--seed N] [--jobs J] [--kinds K,...]
                     [--replay FILE]                  liqspec.fast against the reference
    liqspec prove [...]                               the z3 theorems: a verdict table
    liqspec mutate [...]                              deliberate bugs: which ones are caught
    liqspec vectors --out DIR [--seed S] [--cases N]  conformance vectors and their schemas
    liqspec conform --engine "CMD ARGS" [...]         check an engine against the vectors

``STATE`` is a JSON state file (format: :mod:`liqspec.statefile`; ``-`` reads standard input);
without one, ``explain`` uses the embedded example. ``SCENARIO.toml`` is a scenario file (format:
:mod:`liqspec.scenario`); without one, ``simulate`` runs the embedded default scenario and writes
into ``--out`` (default ``./liqspec-out``; see :mod:`liqspec.simulate`). Bad input prints
``liqspec: error: <message naming the field>`` on standard error and exits with status 2, never a
traceback. Ctrl-C prints ``liqspec: interrupted`` and exits with status 130, leaving no partial
output behind.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from liqspec import __version__
from liqspec.explain import explain_loaded, render_text
from liqspec.reference.errors import LiqspecError, UnknownAccount
from liqspec.reference.profiles import PROFILES, profile_summary
from liqspec.statefile import (StateFileError, decode_text, example_text, load, load_example,
                               loads)
from liqspec.usage import EXIT_USAGE, InputError

if TYPE_CHECKING:  # imported by the commands that need them, when they run
    from liqspec.bulk import BulkScenario
    from liqspec.scenario import Scenario

PROG = "liqspec"
#: exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2)
EXIT_INTERRUPTED = 130

#: the commands whose code is imported only when one of them runs (the compiled engine, z3,
#: Dask): name -> (module, the function of it that fills the command's parser, one-line help).
#: So ``liqspec explain`` runs without the compiled extension, and ``liqspec --help`` lists
#: every command without importing any of them.
DEFERRED = {
    "sweep": ("liqspec.sweep", "configure_parser",
              "many cascades over paths, parameters and seeds (Dask): probabilities, a table "
              "and plots"),
    "difftest": ("liqspec.fast.difftest", "configure_parser",
                 "a differential campaign of liqspec.fast against the reference"),
    "prove": ("liqspec.proofs.cli", "configure_prove",
              "prove every invariant with z3 and print the verdict table"),
    "mutate": ("liqspec.proofs.cli", "configure_mutate",
               "apply deliberate bugs to the reference and report which checks catch them"),
    "vectors": ("liqspec.conformance.commands", "configure_vectors",
                "write the conformance vectors and their JSON Schemas"),
    "conform": ("liqspec.conformance.commands", "configure_conform",
                "check an engine against the vectors and a generated campaign"),
}


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command line's parser. Of the deferred commands, only the one ``argv`` names (its
    first word that is not an option) is imported and given its options; the others are listed
    by name and help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="liqspec: an executable specification of leverage-induced liquidation.",
        epilog="Run 'liqspec COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    explain = commands.add_parser(
        "explain", help="explain accounts: every number, with the rule ID that produced it",
        description="Print each account's equity, wallet, unrealized PnL, maintenance and initial "
                    "margin (with tiers), free collateral, margin ratio, liquidation and "
                    "bankruptcy prices and status, each with the rule ID that produced it.")
    explain.add_argument("state", nargs="?", metavar="STATE",
                         help="a JSON state file ('-' for standard input); default: the "
                              "embedded example (see 'liqspec example')")
    explain.add_argument("--account", metavar="ID", help="explain only this account")
    explain.add_argument("--json", action="store_true",
                         help="machine output: integers in venue units, human strings, rule IDs")
    explain.set_defaults(run=_run_explain)

    example = commands.add_parser(
        "example", help="print the embedded example state file (a template for your own)",
        description="Print the embedded example state file that 'liqspec explain' uses by "
                    "default; the format is documented in liqspec.statefile.")
    example.set_defaults(run=_run_example)

    profiles = commands.add_parser(
        "profiles", help="list the venue profiles side by side",
        description="List the built-in venue profiles (liqspec.reference.profiles) side by side.")
    profiles.set_defaults(run=_run_profiles)

    simulate = commands.add_parser(
        "simulate", help="run a liquidation cascade: summary table, event trace and plots",
        description="Run a scenario's price shock through the cascade engine "
                    "(liqspec.reference.cascade, or the compiled liqspec.fast with --engine "
                    "fast: the same trace, faster) and print a summary table; write the event "
                    "trace (events.jsonl, events.csv), one row per step (steps.csv), the summary "
                    "(summary.json) and plots (price_path.png, insurance_fund.png, "
                    "liquidation_map.png) into the output folder.")
    simulate.add_argument("scenario", nargs="?", metavar="SCENARIO.toml",
                          help="a scenario file; default: the embedded default scenario")
    simulate.add_argument("--out", metavar="DIR", default="liqspec-out",
                          help="the output folder, created if missing (default: ./liqspec-out)")
    simulate.add_argument("--engine", choices=("reference", "fast"), default="reference",
                          help="the readable reference (default) or the compiled engine, which "
                               "gives a byte-identical trace on large books much faster")
    simulate.add_argument("--no-plots", action="store_true", help="skip the plots")
    simulate.add_argument("--quiet", "-q", action="store_true",
                          help="no progress bar (it is shown only on a terminal anyway)")
    simulate.set_defaults(run=_run_simulate)
    requested = next((word for word in argv if not word.startswith("-")), None)
    for name, (module, configure, help_line) in DEFERRED.items():
        command = commands.add_parser(name, help=help_line)
        if name == requested:
            getattr(importlib.import_module(module), configure)(command)
    return parser


def _load(source: str | None):
    """Load the state named on the command line; errors name the file and the field."""
    if source is None:
        return load_example()
    try:
        if source == "-":  # bytes, decoded as a file's are: strictly UTF-8
            return loads(decode_text(sys.stdin.buffer.read(), "standard input"))
        return load(source)
    except StateFileError as error:
        name = "<stdin>" if source == "-" else source
        raise InputError(f"{name}: {error}") from None


def _run_explain(args: argparse.Namespace) -> str:
    loaded = _load(args.state)
    try:
        report = explain_loaded(loaded, args.account)
    except UnknownAccount as error:
        raise InputError(f"--account: {error}") from None
    except LiqspecError as error:  # a value the loader's domain check did not foresee
        raise InputError(str(error)) from None
    return json.dumps(report, indent=2) + "\n" if args.json else render_text(report)


def _run_example(args: argparse.Namespace) -> str:
    return example_text()


def _run_simulate(args: argparse.Namespace) -> str:
    # imported here: matplotlib and the scenario loader are needed by this command only
    from liqspec.scenario import ScenarioError, default_scenario, load_scenario, parse_scenario
    from liqspec.simulate import OutputError, simulate

    parse: Callable[..., Scenario | BulkScenario] = parse_scenario
    if args.engine == "fast":  # the book in columns, straight into the engine's arrays
        from liqspec.bulk import parse_bulk_scenario
        parse = parse_bulk_scenario
    source = args.scenario
    if source is None:
        scenario = default_scenario(parse)
    else:
        try:
            scenario = load_scenario(source, parse)
        except ScenarioError as error:
            raise InputError(_name_file(source, str(error))) from None
        except OSError as error:
            raise InputError(f"{source}: cannot read the scenario: {error.strerror}") from None
    try:
        report = simulate(scenario, args.out, plots=not args.no_plots,
                          progress=not args.quiet, engine=args.engine)
    except OutputError as error:
        raise InputError(f"--out: {error}") from None
    except LiqspecError as error:  # a value the scenario's own checks did not foresee
        raise InputError(_name_file(source or "default scenario", str(error))) from None
    except OSError as error:
        raise InputError(f"--out {args.out}: cannot write: {error.strerror or error}") from None
    return report.render()


def _name_file(source: str, message: str) -> str:
    """Prefix an error with the file it is about, unless the message already names it."""
    return message if source in message else f"{source}: {message}"


def _run_profiles(args: argparse.Namespace) -> str:
    summaries = {name: profile_summary(profile) for name, profile in PROFILES.items()}
    return render_profiles(summaries)


#: summary keys printed under the table rather than in it: long free text
_PROSE_KEYS = ("description", "sources", "provenance")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def _tier_cell(tier: dict) -> str:
    """A tier of :func:`profile_summary` in one short cell: floor, maintenance and initial."""
    keys = ("floor", "maintenance_rate", "maintenance_deduction", "initial_rate",
            "initial_deduction")
    if not all(key in tier for key in keys):
        return _cell(tier)
    return (f"from {tier['floor']}: MM {tier['maintenance_rate']} - "
            f"{tier['maintenance_deduction']}, IM {tier['initial_rate']} - "
            f"{tier['initial_deduction']}")


def _summary_rows(summary: dict, key_path: str = "", depth: int = 0) -> list[tuple[str, str, str]]:
    """(row key, indented label, cell) rows of one profile summary. Nested objects become
    indented rows; markets, whose IDs differ between venues, are lined up by position (market 1,
    market 2...); a tier list shows its length, its first tier and its last. The row key is the
    path, so rows with the same label under different parents stay apart."""
    indent = "  " * depth
    rows: list[tuple[str, str, str]] = []
    for key, value in summary.items():
        path = f"{key_path}/{key}"
        if depth == 0 and key in _PROSE_KEYS + ("name",):
            continue
        if key == "markets" and isinstance(value, dict):
            rows.append((path, indent + key, ", ".join(value) or "-"))
            for number, (market_id, market) in enumerate(value.items(), start=1):
                rows.append((f"{path}/{number}", f"{indent}market {number}", market_id))
                if isinstance(market, dict):
                    rows.extend(_summary_rows(market, f"{path}/{number}", depth + 1))
        elif key == "tiers" and isinstance(value, list) and all(isinstance(t, dict)
                                                               for t in value):
            rows.append((path, indent + key, str(len(value))))
            if value:
                rows.append((f"{path}/first", f"{indent}  first", _tier_cell(value[0])))
            if len(value) > 1:
                rows.append((f"{path}/last", f"{indent}  last", _tier_cell(value[-1])))
        elif isinstance(value, dict) and value and all(
                not isinstance(v, (dict, list)) for v in value.values()):
            rows.append((path, indent + key, ""))
            rows.extend((f"{path}/{k}", f"{indent}  {k}", _cell(v)) for k, v in value.items())
        else:
            rows.append((path, indent + key, _cell(value)))
    return rows


def render_profiles(summaries: dict[str, dict]) -> str:
    """The profiles side by side, one column each (rows in first-seen order, "-" where a profile
    has no such row), then each profile's description, its numbered sources and each
    parameter's provenance."""
    labels: dict[str, str] = {}  # row key -> label, in first-seen order
    cells: dict[str, dict[str, str]] = {}  # profile -> row key -> cell
    for name, summary in summaries.items():
        cells[name] = {}
        for row_key, label, cell in _summary_rows(summary):
            labels.setdefault(row_key, label)
            cells[name][row_key] = cell
    table = [[""] + list(summaries)]
    table += [[label] + [cells[name].get(row_key, "-") for name in summaries]
              for row_key, label in labels.items()]
    lines = _table_lines(table)
    for name, summary in summaries.items():
        prose = [f"{name}: {summary['description']}" if summary.get("description") else name]
        sources = summary.get("sources") or []
        prose += [f"  source {number}: {source}" for number, source in enumerate(sources, 1)]
        prose += [_provenance_line(row) for row in summary.get("provenance") or ()]
        lines += [""] + prose
    return "\n".join(lines) + "\n"


def _provenance_line(row: dict) -> str:
    """One parameter's provenance (liqspec.reference.provenance): its sources by number."""
    numbers = row["source_numbers"]
    cited = ", ".join(map(str, numbers))
    where = f" (source{'s' if len(numbers) > 1 else ''} {cited})" if numbers else ""
    return f"  {row['parameter']}: {row['basis']}{where}, read {row['read']}: {row['note']}"


def _table_lines(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip()
             for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0, or 2 for bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(argv)
    args = parser.parse_args(argv)  # a bad command line exits 2 with argparse's own message
    if args.command is None:
        parser.print_help()
        return 0
    try:
        output = args.run(args)
    except (InputError, *getattr(args, "usage_errors", ())) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C: each command has already undone its partial output
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:  # `liqspec explain | head`: the reader left, which is not an error
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return getattr(args, "exit_status", 0)  # difftest: 1 after a divergence


if __name__ == "__main__":
    sys.exit(main())
