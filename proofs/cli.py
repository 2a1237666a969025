"""``liqspec prove`` and ``liqspec mutate``.

    liqspec prove [--theorem ID]... [--domain NAME]... [--rlimit N] [--timeout S] [--jobs N]
                  [--fidelity-examples N] [--save-counterexamples DIR] [--verbose] [--json]
                  [--report FILE] [--list]
    liqspec mutate [--mutant NAME]... [--tests DIR] [--examples N] [--jobs N] [--list]
                   [--by-proofs] [--coverage]

``prove`` first checks the encodings each theorem is proved about against the installed reference
(a seeded fidelity campaign), then runs every theorem over every parameter domain under z3's
deterministic resource limit, and prints a table (ID, statement, verdict, rlimit, resources used,
fidelity cases, seconds); it exits 0 only if every theorem is PROVED and non-vacuous, 1 on any
counterexample, drift, vacuous theorem, unknown (the resource limit spent) or error (the
wall-clock guard stopped a check: not a verdict). A counterexample is printed as a concrete
scenario, replayed in the reference, and with ``--save-counterexamples DIR`` written there as a
JSON regression vector; a drift prints the case that shows it.

``mutate`` applies each catalogued bug to a copy of the reference and reports which checks catch
it (the proofs' fidelity campaign, and the test subset when a tests directory is found); it exits
1 if any catalogued mutant survives. ``mutate --by-proofs`` instead runs ``liqspec prove`` alone
on each mutant and checks it fails wherever the catalogue says a theorem covers the mutant;
``mutate --coverage`` prints, per mutant, the theorems that cover it or why none does (JSON).

Errors in the command line or its arguments (an unknown theorem, domain or mutant, a report path
that cannot be written) print ``liqspec: error: ...`` on standard error and exit 2, before any
work runs.

:func:`configure_prove` and :func:`configure_mutate` fill their parsers of the ``liqspec``
command (handlers set as ``run``, returning the text to print, with ``args.exit_status``; a
usage error raises :class:`UsageError`); :func:`prove_main` and :func:`mutate_main` run them stand-alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(ValueError):
    """A bad argument (unknown theorem, domain or mutant; unwritable report path): reported on
    standard error with exit status 2, before any work runs."""


def _default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# -- prove -------------------------------------------------------------------------------------------

def _prove_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--theorem", "-t", action="append", metavar="ID",
                        help="prove only this theorem (an ID or its prefix; repeatable)")
    parser.add_argument("--domain", "-d", action="append", metavar="NAME",
                        help="only this parameter domain (a venue profile's name or a generic "
                             "domain's; repeatable)")
    parser.add_argument("--rlimit", type=int, metavar="N",
                        help="z3 resource limit of every check, instead of each theorem's "
                             "calibrated one (a verdict is decided by it, never by time)")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S",
                        help="wall-clock guard of each check: a check still running after S "
                             "seconds is stopped and reported as ERROR, not as a verdict "
                             "(default 900)")
    parser.add_argument("--fidelity-examples", type=int, default=60, metavar="N",
                        help="fidelity cases per encoded operation checked against the installed "
                             "reference before a theorem counts as proved (default 60; 0 skips "
                             "the check, and the report says so)")
    parser.add_argument("--fidelity-seed", type=int, default=0, metavar="N",
                        help="seed of the fidelity campaign (default 0)")
    parser.add_argument("--jobs", "-j", type=int, default=_default_jobs(), metavar="N",
                        help="processes (default: up to 2)")
    parser.add_argument("--save-counterexamples", metavar="DIR",
                        help="write every counterexample as a JSON scenario into DIR")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="one row per domain and obligation, not per theorem")
    parser.add_argument("--json", action="store_true",
                        help="print the proof report (JSON, liqspec.proofs.report) instead")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the proof report to FILE (the docs site shows it: "
                             "LIQSPEC_PROOF_REPORT=FILE)")
    parser.add_argument("--list", action="store_true", help="list the theorems and stop")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _table(rows: list[list[str]], headers: list[str], wrap: int = 72) -> list[str]:
    """A plain-text table; a cell longer than ``wrap`` continues on the next lines."""
    wrapped = [[textwrap.wrap(str(c), wrap) or [""] for c in r] for r in rows]
    widths = [max([len(h)] + [len(line) for r in wrapped for line in r[i]])
              for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r in wrapped:
        for k in range(max(len(cell) for cell in r)):
            lines.append("  ".join((cell[k] if k < len(cell) else "").ljust(w)
                                   for cell, w in zip(r, widths)).rstrip())
    return lines


def run_prove(args: argparse.Namespace) -> str:
    from . import counterexamples, prover, report
    from .theorems import REGISTRY, domains_for

    if args.list:
        rows = [[t.id, t.statement, ", ".join(t.rule_ids), str(len(domains_for(t))),
                 f"{t.rlimit:,}", ", ".join(t.fidelity) or "-"] for t in REGISTRY]
        args.exit_status = 0
        return "\n".join(_table(rows, ["ID", "statement", "rules", "domains", "rlimit",
                                        "fidelity"])) + "\n"
    try:
        theorems = prover.select(args.theorem)
        prover.check_domains(args.domain)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    if args.rlimit is not None and args.rlimit < 1:
        raise UsageError(f"--rlimit must be a positive number of resource units, not "
                         f"{args.rlimit}")
    if args.fidelity_examples < 0:
        raise UsageError(f"--fidelity-examples must be 0 or more, not {args.fidelity_examples}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout}")
    if args.report:
        try:
            report.check_writable(args.report)
        except OSError as error:
            raise UsageError(f"--report: {error}") from None
    start = time.perf_counter()

    def progress(result: prover.TheoremResult) -> None:
        if not args.quiet:
            print(f"  {result.theorem.id:<18} {result.verdict:<14} {result.rlimit_used:>12,} rl "
                  f"{result.seconds:6.2f} s", file=sys.stderr, flush=True)

    results = prover.prove_all(theorems, args.timeout, args.domain, args.jobs, progress,
                               rlimit=args.rlimit, fidelity_examples=args.fidelity_examples,
                               fidelity_seed=args.fidelity_seed)
    wall = time.perf_counter() - start
    failed = [r for r in results if r.verdict != prover.PROVED]
    empty = [r for r in results if not r.results]
    args.exit_status = EXIT_FAILED if failed or empty else 0
    saved = []
    for res in results:
        for ob in res.failures:
            if ob.scenario is not None:
                ob.scenario["replay"] = counterexamples.violations(ob.scenario)
                if args.save_counterexamples:
                    saved.append(counterexamples.save(ob.scenario, args.save_counterexamples))
    obligations = sum(len(r.results) for r in results)
    proof_report = report.build(results, wall, args.jobs, guard_s=args.timeout,
                                fidelity_examples=args.fidelity_examples,
                                fidelity_seed=args.fidelity_seed)
    if args.report:
        report.write(proof_report, args.report)
    if args.json:
        return report.dumps(proof_report)
    if args.verbose:
        rows = [[o.theorem_id, o.domain, o.label, o.verdict, f"{o.rlimit:,}",
                 f"{o.rlimit_used:,}", o.attempt or "-", f"{o.seconds:.2f}"]
                for r in results for o in r.results]
        lines = _table(rows, ["ID", "domain", "obligation", "verdict", "rlimit", "used",
                              "attempt", "seconds"])
    else:
        rows = [[r.theorem.id, r.theorem.statement, r.verdict,
                 f"{max((o.rlimit for o in r.results), default=r.theorem.rlimit):,}",
                 f"{r.rlimit_used:,}", _fidelity_cell(r), f"{r.seconds:.2f}"]
                for r in results]
        lines = _table(rows, ["ID", "statement", "verdict", "rlimit", "used", "fidelity",
                              "seconds"], wrap=56)
    for res in results:
        if res.fidelity is not None and res.fidelity.drift:
            lines.append("")
            lines.append(f"{res.theorem.id} DRIFTED (its obligations were not attempted): "
                         f"{res.fidelity.drift}")
        for ob in res.failures:
            lines.append("")
            lines.append(f"{ob.theorem_id} {ob.verdict} in {ob.domain} ({ob.label}): {ob.detail}")
            if ob.scenario is not None:
                lines.append(counterexamples.describe(ob.scenario))
                replay = ob.scenario["replay"]
                lines.append("  replayed in the reference: " + (
                    "violates it: " + "; ".join(replay) if replay else
                    "the reference does not break (the encoding has drifted from it)"))
    if args.fidelity_examples == 0:
        lines.append("")
        lines.append("fidelity check skipped (--fidelity-examples 0): these verdicts are about "
                     "the encodings only, not tied to the installed reference")
    domains = len({o.domain for r in results for o in r.results})
    verdict = "all PROVED" if not failed and not empty else \
        f"{len(failed)} not proved" + (f", {len(empty)} with no domain" if empty else "")
    lines.append("")
    lines.append(f"{len(results)} theorems, {obligations} obligations over {domains} domains: "
                 f"{verdict}; {sum(r.rlimit_used for r in results):,} z3 resource units, "
                 f"{sum(r.seconds for r in results):.1f} s solver time, "
                 f"{wall:.1f} s wall ({args.jobs} jobs)")
    lines.append(f"code: {_code_line(proof_report)}; z3 {proof_report['z3_version']}")
    for path in saved:
        lines.append(f"counterexample saved: {path}")
    return "\n".join(lines) + "\n"


def _fidelity_cell(result) -> str:
    if result.fidelity is None:
        return "skipped"
    if result.fidelity.drift:
        return f"DRIFT after {result.fidelity.cases}"
    return str(result.fidelity.cases) if result.fidelity.operations else "-"


def _code_line(proof_report: dict) -> str:
    if proof_report["commit"]:
        return f"commit {proof_report['commit'][:12]}" + (
            " with uncommitted changes" if proof_report["commit_dirty"] else "")
    return (f"liqspec {proof_report['liqspec_version']} (sha256 "
            f"{proof_report['code_sha256'][:12]}, no matching git checkout)")


# -- mutate ------------------------------------------------------------------------------------------

def _find_tests() -> Path | None:
    here = Path.cwd()
    for directory in (here, *here.parents):
        if (directory / "tests" / "test_proofs.py").exists():
            return directory / "tests"
    return None


def _mutate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mutant", "-m", action="append", metavar="NAME",
                        help="run only this mutant (repeatable)")
    parser.add_argument("--tests", metavar="DIR",
                        help="the test suite's directory (default: ./tests or a parent's, if "
                             "found); without one only the fidelity campaign runs")
    parser.add_argument("--no-tests", action="store_true", help="run the fidelity campaign only")
    parser.add_argument("--examples", type=int, default=60, metavar="N",
                        help="fidelity cases per operation (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", "-j", type=int, default=_default_jobs(), metavar="N")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the check that the unmutated reference passes")
    parser.add_argument("--list", action="store_true", help="list the catalogue and stop")
    parser.add_argument("--by-proofs", action="store_true",
                        help="run 'liqspec prove' alone on each mutant (slow: a whole proof run "
                             "per mutant) and check it fails exactly where the catalogue says "
                             "a theorem covers the mutant")
    parser.add_argument("--coverage", action="store_true",
                        help="print, per mutant, the theorems that cover it or why none does "
                             "(JSON) and stop")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _progress(args: argparse.Namespace, missed: str) -> Callable[[Any], None]:
    """The progress line of each mutant's result on standard error (none with --quiet): its
    name, ``caught`` or ``missed``, and its seconds."""
    def report(result: Any) -> None:
        if not args.quiet:
            verdict = "caught" if result.caught else missed
            print(f"  {result.mutant.name:<32} {verdict:<{len(missed) + 1}}"
                  f"{result.seconds:6.1f} s", file=sys.stderr, flush=True)
    return report


def _run_mutate_by_proofs(args: argparse.Namespace, mutants) -> str:
    from . import mutation

    start = time.perf_counter()
    if not args.no_baseline:
        baseline = mutation.run_prove(None, jobs=args.jobs)
        if baseline.caught:
            args.exit_status = EXIT_FAILED
            print(f"liqspec mutate: error: 'liqspec prove' fails on the unmutated reference, so "
                  f"no mutant can be judged: {baseline.not_proved}", file=sys.stderr)
            return ""

    results = mutation.run_catalogue_by_proofs(mutants, jobs=1, prove_jobs=args.jobs,
                                               on_result=_progress(args, "not caught"))
    rows = [[r.mutant.name, ", ".join(f"{t} {v}" for t, v in sorted(r.not_proved.items()))
             or "-", ", ".join(r.mutant.covered_by) or
             f"none: {r.mutant.not_covered_by_proofs}",
             "yes" if r.as_expected else "NO", f"{r.seconds:.1f}"] for r in results]
    lines = _table(rows, ["mutant", "prove fails on", "catalogue says", "as catalogued",
                          "seconds"], wrap=60)
    wrong = [r for r in results if not r.as_expected]
    caught = sum(r.caught for r in results)
    lines.append("")
    lines.append(f"liqspec prove alone catches {caught} of {len(results)} mutants; "
                 + (f"NOT AS CATALOGUED: {', '.join(r.mutant.name for r in wrong)}" if wrong
                    else "every one as catalogued")
                 + f"; {time.perf_counter() - start:.1f} s")
    args.exit_status = EXIT_FAILED if wrong else 0
    return "\n".join(lines) + "\n"


def run_mutate(args: argparse.Namespace) -> str:
    from . import mutation

    if args.list:
        args.exit_status = 0
        rows = [[m.name, m.bug, m.module] for m in mutation.CATALOGUE]
        return "\n".join(_table(rows, ["mutant", "bug", "module"])) + "\n"
    if args.coverage:
        import json
        args.exit_status = 0
        return json.dumps(mutation.proof_coverage(), indent=1) + "\n"
    try:
        mutants = mutation.select(args.mutant)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    if args.by_proofs:
        return _run_mutate_by_proofs(args, mutants)
    tests_dir = None if args.no_tests else (Path(args.tests) if args.tests else _find_tests())
    start = time.perf_counter()
    lines = []
    if not args.no_baseline:
        baseline = mutation.run_mutant(None, tests_dir, args.examples, args.seed)
        if baseline.caught:
            args.exit_status = EXIT_FAILED
            print(f"liqspec mutate: error: the unmutated reference fails the checks, so no "
                  f"mutant can be judged:\n  fidelity: {baseline.fidelity}\n  tests: "
                  f"{baseline.tests}", file=sys.stderr)
            return ""

    results = mutation.run_catalogue(mutants, tests_dir, args.examples, args.seed, args.jobs,
                                     _progress(args, "SURVIVED"))
    rows = [[r.mutant.name, r.mutant.bug, r.fidelity, r.tests,
             "caught" if r.caught else "SURVIVED", f"{r.seconds:.1f}"] for r in results]
    lines += _table(rows, ["mutant", "bug", "fidelity (proofs)", "tests", "verdict", "seconds"])
    survived = [r for r in results if not r.caught]
    lines.append("")
    lines.append(f"{len(results) - len(survived)} of {len(results)} mutants caught"
                 + (f"; SURVIVED: {', '.join(r.mutant.name for r in survived)}" if survived
                    else "") + f"; tests: {tests_dir or 'none (fidelity only)'}; "
                 f"{time.perf_counter() - start:.1f} s ({args.jobs} jobs)")
    args.exit_status = EXIT_FAILED if survived else 0
    return "\n".join(lines) + "\n"


# -- wiring ------------------------------------------------------------------------------------------

def configure_prove(prove: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec prove`` parser: description, options, handler and usage error."""
    prove.description = ("Check the encodings each theorem is about against the installed "
                         "reference (a seeded fidelity campaign), then prove every theorem (z3, "
                         "unbounded integers, every venue profile and generic parameters) under "
                         "z3's deterministic resource limit, and print ID, statement, verdict, "
                         "rlimit, resources used, fidelity cases and seconds. Exits 1 on any "
                         "counterexample, drift, vacuous theorem, unknown (the resource limit "
                         "spent) or error (the wall-clock guard stopped a check).")
    _prove_arguments(prove)
    prove.set_defaults(run=run_prove, usage_errors=(UsageError,))


def configure_mutate(mutate: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec mutate`` parser: description, options, handler and usage error."""
    mutate.description = ("Apply each catalogued mutant to a copy of the reference and run the "
                          "proofs' fidelity campaign and a test subset against it. Exits 1 if "
                          "any survives.")
    _mutate_arguments(mutate)
    mutate.set_defaults(run=run_mutate, usage_errors=(UsageError,))


def _main(command: str, argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog=f"liqspec {command}")
    (configure_prove if command == "prove" else configure_mutate)(parser)
    args = parser.parse_args(argv)
    try:
        output = (run_prove if command == "prove" else run_mutate)(args)
    except UsageError as error:
        print(f"liqspec: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(output)
    sys.stdout.flush()
    return getattr(args, "exit_status", 0)


def prove_main(argv: Sequence[str] | None = None) -> int:
    """``liqspec prove``; returns the exit status."""
    return _main("prove", argv)


def mutate_main(argv: Sequence[str] | None = None) -> int:
    """``liqspec mutate``; returns the exit status."""
    return _main("mutate", argv)


if __name__ == "__main__":
    sys.exit(prove_main())
