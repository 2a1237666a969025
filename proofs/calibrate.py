"""Calibrate the theorems' resource limits: ``python -m liqspec.proofs.calibrate``.

For every obligation of every theorem (or those named) it measures, in z3 resource units, what
each check of the prover's schedule uses with no limit but a wall-clock cap: the vacuity check,
the proof in the solver that satisfied the assumptions (``incremental``) and the proof in a fresh
context (``fresh``). An obligation *needs* its vacuity check's use and the use of the first
attempt of its theorem's schedule that answers; a theorem's suggested ``rlimit`` is its largest
need times :data:`.theorems.CALIBRATION_MARGIN`, rounded up to a million. The counts are
deterministic (the same on any machine), so the table is the same wherever it is made; only the
seconds vary. Paste the suggestions into the ``@theorem(..., rlimit=...)`` declarations.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import z3

from . import prover
from .theorems import CALIBRATION_MARGIN, domains_for

UNLIMITED = 2**32 - 1
MILLION = 10**6


def measure_obligation(obligation, cap_s: float) -> dict[str, int | None]:
    """Resource use of each check (None: not answered within ``cap_s`` seconds)."""
    uses: dict[str, int | None] = {}
    negated = z3.Not(obligation.goal)
    satisfied = prover._fresh_solver(obligation.assumptions)
    try:
        check = prover._check(satisfied, UNLIMITED, cap_s)
        uses["vacuity"] = check.used
        if check.answer != z3.sat:
            return uses
    except prover.GuardExpired:
        uses["vacuity"] = None
        return uses
    for attempt in prover.SCHEDULE:
        if attempt == "incremental":
            solver = satisfied
            solver.push()
            solver.add(negated.translate(solver.ctx))
        else:
            solver = prover._fresh_solver([*obligation.assumptions, negated])
        try:
            check = prover._check(solver, UNLIMITED, cap_s)
            uses[attempt] = check.used
        except prover.GuardExpired:
            uses[attempt] = None
    return uses


def need(uses: dict[str, int | None], schedule: Sequence[str] = prover.SCHEDULE) -> int | None:
    """What the obligation needs under ``schedule`` (None: nothing answered)."""
    answered = next((used for a in schedule if (used := uses.get(a)) is not None), None)
    vacuity = uses.get("vacuity")
    if vacuity is None or answered is None:
        return None
    return max(vacuity, answered)


def suggest(needs: Sequence[int | None]) -> int | None:
    known = [n for n in needs if n is not None]
    if not needs or len(known) < len(needs):
        return None
    top = max(known) * CALIBRATION_MARGIN
    return max(MILLION, -(-top // MILLION) * MILLION)


def calibrate_theorem(theorem_id: str, cap_s: float) -> list[tuple[str, str, dict]]:
    (thm,) = [t for t in prover.REGISTRY if t.id == theorem_id]
    rows = []
    for params in domains_for(thm):
        for obligation in thm.build(params):
            rows.append((params.name if params is not None else "none", obligation.label,
                         measure_obligation(obligation, cap_s)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m liqspec.proofs.calibrate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--theorem", "-t", action="append", metavar="ID")
    parser.add_argument("--cap", type=float, default=120.0, metavar="S",
                        help="seconds a measured check may run (default 120)")
    parser.add_argument("--jobs", "-j", type=int, default=1)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    theorems = prover.select(args.theorem)
    work = [(t.id, args.cap) for t in theorems]
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(args.jobs, maxtasksperchild=1) as pool:
            measured = pool.starmap(calibrate_theorem, work)
    else:
        measured = [calibrate_theorem(*w) for w in work]
    for thm, rows in zip(theorems, measured):
        needs = [need(uses, thm.schedule) for _, _, uses in rows]
        top = max((n for n in needs if n is not None), default=0)
        print(f"{thm.id:<18} obligations {len(rows):3d}  most needed {top:>12,}  "
              f"current rlimit {thm.rlimit:>12,}  suggested {suggest(needs)}", flush=True)
        if args.verbose:
            for (domain, label, uses), n in zip(rows, needs):
                print(f"    {domain:<48} {label:<40} {uses} need {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
