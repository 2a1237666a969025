"""The proof report: what ``liqspec prove --json`` prints and ``--report FILE`` writes, and what
the docs site's proof page reads (``LIQSPEC_PROOF_REPORT=FILE``).

Shape::

    {"source": "liqspec prove (liqspec 0.1.0, z3 4.x) on 2026-11-24T03:00:00Z",
     "commit": "f39cf45...", "commit_dirty": false, "liqspec_version": "0.1.0",
     "z3_version": "4.x", "code_sha256": "...", "seed": 0,
     "schedule": ["incremental", "fresh"], "guard_seconds": 900.0,
     "fidelity": {"examples_per_operation": 60, "seed": 0},
     "wall_seconds": 60.2, "jobs": 2, "obligations": 196,
     "theorems": [{"id": "T-DEPOSIT", "statement": "...", "rules": ["LIQ-DEPOSIT-1", ...],
                   "verdict": "PROVED", "seconds": 0.1, "rlimit": 1000000,
                   "rlimit_used": 20300, "schedule": ["incremental", "fresh"],
                   "fidelity": {"operations": ["deposit"], "cases": 60, "drift": ""},
                   "obligations": [{"domain": "binance_usdm", "label": "deposit",
                                    "verdict": "PROVED", "seconds": 0.01, "detail": "",
                                    "rlimit": 1000000, "rlimit_used": 3516,
                                    "rlimit_peak": 3026, "attempt": "incremental",
                                    "scenario": null}]}]}

A verdict is one of ``prover.SEVERITY``; a ``scenario`` is a counterexample's replayable scenario
(``None`` when the obligation is proved). ``rlimit`` is z3's deterministic resource limit of each
check, ``rlimit_used`` what the obligation's checks used together and ``rlimit_peak`` the most
one of them used (the same on every machine for the same commit and z3 version; ``seconds`` are
not). ``commit`` is the git commit of the source tree the
command ran in when that tree holds the installed code (else None: then ``liqspec_version`` and
``code_sha256``, a digest of the installed reference and proofs, identify the code).
``schedule`` is the default order of the proof attempts, and a theorem's own the order its
obligations ran in (T-SHARE's puts the fresh context first).
``fidelity.cases`` counts the cases of the fidelity campaign run for the theorem's encodings
against the installed reference; ``drift`` is the first difference found, with its case.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import z3


def liqspec_version() -> str:
    try:
        return version("liqspec")
    except PackageNotFoundError:  # running from a source tree without an install
        return "source tree"


def _source() -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"liqspec prove (liqspec {liqspec_version()}, z3 {z3.get_version_string()}) on {when}"


def _package() -> Path:
    """The installed ``liqspec`` package's folder (this module is liqspec/proofs/report.py)."""
    return Path(__file__).resolve().parents[1]


def _digest(root: Path) -> str | None:
    """SHA-256 over ``root``'s ``reference`` and ``proofs`` (every .py file, by relative path)."""
    if not (root / "reference").is_dir() or not (root / "proofs").is_dir():
        return None
    digest = hashlib.sha256()
    for part in ("reference", "proofs"):
        for path in sorted((root / part).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_digest() -> str:
    """SHA-256 over the installed reference and proofs."""
    return _digest(_package()) or ""


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit(cwd: Path | None = None) -> tuple[str | None, bool]:
    """The git commit of the source tree around ``cwd`` (and whether it has uncommitted
    changes), if that tree's reference and proofs are the installed ones; else (None, False)."""
    top = _git(["rev-parse", "--show-toplevel"], cwd or Path.cwd())
    if top is None or _digest(Path(top)) != code_digest():
        return None, False
    head = _git(["rev-parse", "HEAD"], Path(top))
    dirty = bool(_git(["status", "--porcelain", "--", "reference", "proofs"], Path(top)))
    return head, dirty


def build(results: Sequence, wall_seconds: float, jobs: int, source: str | None = None,
          guard_s: float | None = None, fidelity_examples: int | None = None,
          fidelity_seed: int | None = None) -> dict:
    """The report of ``prover.prove_all``'s TheoremResults."""
    from . import prover

    head, dirty = commit()
    return {
        "source": source or _source(),
        "commit": head,
        "commit_dirty": dirty,
        "liqspec_version": liqspec_version(),
        "z3_version": z3.get_version_string(),
        "code_sha256": code_digest(),
        "seed": prover.SEED,
        "schedule": list(prover.SCHEDULE),
        "guard_seconds": guard_s if guard_s is not None else prover.DEFAULT_GUARD_S,
        "fidelity": {"examples_per_operation": (fidelity_examples if fidelity_examples is not None
                                                else prover.DEFAULT_FIDELITY_EXAMPLES),
                     "seed": (fidelity_seed if fidelity_seed is not None
                              else prover.DEFAULT_FIDELITY_SEED)},
        "wall_seconds": round(wall_seconds, 3),
        "jobs": jobs,
        "obligations": sum(len(r.results) for r in results),
        "theorems": [
            {"id": r.theorem.id, "statement": r.theorem.statement,
             "rules": list(r.theorem.rule_ids), "verdict": r.verdict,
             "seconds": round(r.seconds, 3),
             "rlimit": max((o.rlimit for o in r.results), default=r.theorem.rlimit),
             "rlimit_used": r.rlimit_used, "schedule": list(r.theorem.schedule),
             "fidelity": ({"operations": list(r.fidelity.operations), "cases": r.fidelity.cases,
                           "drift": r.fidelity.drift} if r.fidelity is not None else
                          {"operations": list(r.theorem.fidelity), "cases": 0,
                           "drift": "", "skipped": True}),
             "obligations": [{"domain": o.domain, "label": o.label, "verdict": o.verdict,
                              "seconds": round(o.seconds, 3), "detail": o.detail,
                              "rlimit": o.rlimit, "rlimit_used": o.rlimit_used,
                              "rlimit_peak": o.rlimit_peak, "attempt": o.attempt,
                              "scenario": o.scenario}
                             for o in r.results]}
            for r in results],
    }


def dumps(report: dict) -> str:
    return json.dumps(report, indent=1) + "\n"


def check_writable(path: str | Path) -> Path:
    """Raise OSError (a sentence naming the path) unless a report can be written at ``path``:
    checked before any work runs, so a long run never ends unable to save its result. Leaves
    nothing behind."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the report to {path}: it is a directory")
    existing = next((p for p in path.parents if p.exists()), Path("."))
    if not existing.is_dir():
        raise NotADirectoryError(f"cannot write the report to {path}: {existing} is not a "
                                 f"directory")
    if existing != path.parent:  # write() creates the missing folders
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write the report to {path}: cannot create folders "
                                  f"in {existing}")
        return path
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise PermissionError(f"cannot write the report to {path}: "
                              f"{error.strerror or error}") from None
    if not existed:
        path.unlink()
    return path


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
