"""The proof report: what ``liqspec prove --json`` prints and ``--report FILE`` writes, and what
the docs site's proof page reads (``LIQSPEC_PROOF_REPORT=FILE``).

Shape::

    {"source": "liqspec prove (liqspec 0.1.0, z3 4.x) on 2026-11-24T03:00:00Z",
     "wall_seconds": 60.2, "jobs": 2, "obligations": 196,
     "theorems": [{"id": "T-DEPOSIT", "statement": "...", "rules": ["LIQ-DEPOSIT-1", ...],
                   "verdict": "PROVED", "seconds": 0.1,
                   "obligations": [{"domain": "binance_usdm", "label": "deposit",
                                    "verdict": "PROVED", "seconds": 0.01, "detail": "",
                                    "scenario": null}]}]}

A verdict is one of ``prover.SEVERITY``; a ``scenario`` is a counterexample's replayable scenario
(``None`` when the obligation is proved).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import z3


def _source() -> str:
    try:
        liqspec_version = version("liqspec")
    except PackageNotFoundError:  # running from a source tree without an install
        liqspec_version = "source tree"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"liqspec prove (liqspec {liqspec_version}, z3 {z3.get_version_string()}) on {when}"


def build(results: Sequence, wall_seconds: float, jobs: int, source: str | None = None) -> dict:
    """The report of ``prover.prove_all``'s TheoremResults."""
    return {
        "source": source or _source(),
        "wall_seconds": round(wall_seconds, 3),
        "jobs": jobs,
        "obligations": sum(len(r.results) for r in results),
        "theorems": [
            {"id": r.theorem.id, "statement": r.theorem.statement,
             "rules": list(r.theorem.rule_ids), "verdict": r.verdict,
             "seconds": round(r.seconds, 3),
             "obligations": [{"domain": o.domain, "label": o.label, "verdict": o.verdict,
                              "seconds": round(o.seconds, 3), "detail": o.detail,
                              "scenario": o.scenario} for o in r.results]}
            for r in results],
    }


def dumps(report: dict) -> str:
    return json.dumps(report, indent=1) + "\n"


def write(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(report), encoding="utf-8")
    return path


def load(path: str | Path) -> dict:
    """A saved report; a file that is not one raises ValueError naming what is wrong."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    if not isinstance(report, dict) or not isinstance(report.get("theorems"), list):
        raise ValueError(f"{path}: not a proof report (no 'theorems' list); write one with "
                         f"'liqspec prove --report {path}'")
    for i, theorem in enumerate(report["theorems"]):
        missing = {"id", "verdict", "obligations"} - set(theorem)
        if missing:
            raise ValueError(f"{path}: theorems[{i}] lacks {', '.join(sorted(missing))}")
    return report
