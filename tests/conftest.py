"""Shared test configuration: hypothesis profiles, the implementation fixture, and the one
proof run the suite shares.

Hypothesis profiles:

* ``ci`` (selected when CI=true): derandomized, so every CI run checks the same examples;
* ``dev`` (default): random, a little lighter;
* ``campaign``: long runs, chosen explicitly with ``HYPOTHESIS_PROFILE=campaign``.

Both implementations: a test that takes the ``impl`` fixture runs once per implementation (as
CPython's test_decimal runs each test on the C and the Python decimal), and calls the operations
and queries it checks through it: ``impl.liquidate(state, ...)``, ``impl.equity_quote(...)``,
``impl.run_cascade(...)``. ``impl`` is :func:`liqspec.testing.implementation` of ``"reference"``
(liqspec.reference's functions) or ``"fast"`` (the compiled engine's, from
:mod:`liqspec.fast.compare`), the same names on both, so the same assertions judge both. A test
that does not take ``impl`` runs once: it is about data, a generator, a file format or the
reference alone (the proofs are about it); ``@pytest.mark.reference_only`` says so where a test
calls the reference's operations by name. ``LIQSPEC_IMPLEMENTATIONS=reference`` runs the
reference's copies only (``liqspec mutate`` does: its mutants are in the reference).
"""

import os
import time
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

from liqspec.testing import implementation

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("campaign", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))


#: the implementations each doubled test runs on
IMPLEMENTATIONS = tuple(os.environ.get("LIQSPEC_IMPLEMENTATIONS", "reference,fast").split(","))


@pytest.fixture(scope="session", params=IMPLEMENTATIONS)
def impl(request) -> SimpleNamespace:
    """The implementation this test runs on: its operations and queries by the reference's
    names (``impl.name`` is ``"reference"`` or ``"fast"``). Session-scoped: it is immutable, and
    hypothesis tests may take it."""
    return implementation(request.param)


def pytest_collection_modifyitems(items):
    """A test marked ``reference_only`` cannot also run on every implementation."""
    for item in items:
        if (item.get_closest_marker("reference_only") is not None
                and "impl" in getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid}: reference_only, but it takes impl")


@pytest.fixture(scope="session")
def proof_run(tmp_path_factory):
    """Every theorem proved once, as ``liqspec prove --report FILE`` proves them (two processes,
    each theorem's calibrated resource limit, the fidelity check against the installed reference
    first): ``results`` by theorem ID for tests/test_proofs.py, and ``report_path``, the report
    file the docs site is built with in tests/test_docs.py."""
    from liqspec.proofs import prover, report

    start = time.perf_counter()
    results = prover.prove_all(jobs=2)
    built = report.build(results, time.perf_counter() - start, jobs=2)
    path = report.write(built, tmp_path_factory.mktemp("proofs") / "report.json")
    return SimpleNamespace(results={r.theorem.id: r for r in results}, report_path=path)
