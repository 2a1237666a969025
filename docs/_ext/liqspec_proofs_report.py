"""The proof report the docs show: verdicts of liqspec.proofs' theorems, from a run or a saved file.

Proving every theorem takes a few minutes of CPU (two or three on two cores), so a docs build does
not prove by default. It shows
verdicts when it is given them, in one of two ways:

* ``LIQSPEC_PROOF_REPORT=path.json``: a report written by ``liqspec prove --report path.json``
  (the shape is documented in :mod:`liqspec.proofs.report`);
* ``LIQSPEC_DOCS_PROVE=1``: prove every theorem during the build (verdicts by each
  theorem's z3 resource limit; ``LIQSPEC_PROOF_TIMEOUT`` seconds is only the guard that stops a
  hung check, reported as an error, default the prover's own).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

REPORT_ENV = "LIQSPEC_PROOF_REPORT"
PROVE_ENV = "LIQSPEC_DOCS_PROVE"
TIMEOUT_ENV = "LIQSPEC_PROOF_TIMEOUT"


def load_report() -> tuple[dict | None, str]:
    """The report to show and a sentence saying where it came from (or why there is none)."""
    from liqspec.proofs import report

    path = os.environ.get(REPORT_ENV)
    if path:
        saved = report.load(path)
        return saved, f"the saved report {Path(path).name} ({saved.get('source', 'no source')})"
    if os.environ.get(PROVE_ENV, "").lower() in ("1", "true", "yes"):
        from liqspec.proofs import prover

        timeout = os.environ.get(TIMEOUT_ENV)
        kwargs = {"timeout_s": float(timeout)} if timeout else {}
        jobs, start = max(1, min(2, os.cpu_count() or 1)), time.perf_counter()
        results = prover.prove_all(jobs=jobs, **kwargs)
        built = report.build(results, time.perf_counter() - start, jobs)
        return built, f"a run of every theorem by this docs build ({built['source']})"
    return None, ""
