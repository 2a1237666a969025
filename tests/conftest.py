"""Shared test configuration: hypothesis profiles, and the one proof run the suite shares.

* ``ci`` (selected when CI=true): derandomized, so every CI run checks the same examples;
* ``dev`` (default): random, a little lighter;
* ``campaign``: long runs, chosen explicitly with ``HYPOTHESIS_PROFILE=campaign``.
"""

import os
import time
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("campaign", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))


@pytest.fixture(scope="session")
def proof_run(tmp_path_factory):
    """Every theorem proved once, as ``liqspec prove --report FILE`` proves them (two processes,
    the default timeout): ``results`` by theorem ID for tests/test_proofs.py, and ``report_path``,
    the report file the docs site is built with in tests/test_docs.py."""
    from liqspec.proofs import prover, report

    start = time.perf_counter()
    results = prover.prove_all(jobs=2)
    built = report.build(results, time.perf_counter() - start, jobs=2)
    path = report.write(built, tmp_path_factory.mktemp("proofs") / "report.json")
    return SimpleNamespace(results={r.theorem.id: r for r in results}, report_path=path)
