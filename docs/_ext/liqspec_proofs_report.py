"""The proof report the docs show: verdicts of liqspec.proofs' theorems, from a run or a saved file.

Proving every theorem takes minutes, so a docs build does not prove by default. It shows verdicts
when it is given them, in one of two ways:

* ``LIQSPEC_PROOF_REPORT=path.json``: a report saved earlier (shape below);
* ``LIQSPEC_DOCS_PROVE=1``: run ``liqspec.proofs.prover.prove_all`` during the build
  (``LIQSPEC_PROOF_TIMEOUT`` seconds per obligation, default the prover's own).

The report shape (what :func:`report_from_results` writes, and what a saved file must hold)::

    {"source": "how it was produced",
     "theorems": [{"id": "T-DEPOSIT", "verdict": "PROVED", "seconds": 0.1,
                   "obligations": [{"domain": "binance_usdm", "label": "deposit",
                                    "verdict": "PROVED", "seconds": 0.01, "detail": ""}]}]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPORT_ENV = "LIQSPEC_PROOF_REPORT"
PROVE_ENV = "LIQSPEC_DOCS_PROVE"
TIMEOUT_ENV = "LIQSPEC_PROOF_TIMEOUT"


def report_from_results(results, source: str) -> dict:
    """The report of ``liqspec.proofs.prover.prove_all``'s results (TheoremResult objects with
    ``theorem.id``, ``verdict``, ``seconds`` and ``results``: ObligationResult objects with
    ``domain``, ``label``, ``verdict``, ``seconds`` and ``detail``)."""
    return {
        "source": source,
        "theorems": [
            {
                "id": result.theorem.id,
                "verdict": result.verdict,
                "seconds": round(result.seconds, 3),
                "obligations": [
                    {"domain": o.domain, "label": o.label, "verdict": o.verdict,
                     "seconds": round(o.seconds, 3), "detail": o.detail}
                    for o in result.results
                ],
            }
            for result in results
        ],
    }


def load_report() -> tuple[dict | None, str]:
    """The report to show and a sentence saying where it came from (or why there is none)."""
    path = os.environ.get(REPORT_ENV)
    if path:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        source = report.get("source", "no source given")
        return report, f"the saved report {Path(path).name} ({source})"
    if os.environ.get(PROVE_ENV, "").lower() in ("1", "true", "yes"):
        from liqspec.proofs import prover

        timeout = os.environ.get(TIMEOUT_ENV)
        kwargs = {"timeout_s": float(timeout)} if timeout else {}
        results = prover.prove_all(**kwargs)
        source = "liqspec.proofs.prover.prove_all, run by this docs build"
        return report_from_results(results, source), source
    return None, ""
