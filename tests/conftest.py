"""Shared test configuration: hypothesis profiles, the implementation fixture, and the one
proof run the suite shares.

Hypothesis profiles:

* ``ci`` (selected when CI=true): derandomized, so every CI run checks the same examples;
* ``dev`` (default): random, a little lighter;
* ``campaign``: long runs, chosen explicitly with ``HYPOTHESIS_PROFILE=campaign``.

Both implementations: every test of the reference runs twice, on ``liqspec.reference`` and on
``liqspec.fast`` (as CPython's test_decimal runs each test on the C and the Python decimal). A
test module whose globals hold a reference function the fast path implements (``liquidate``,
``equity_quote``, ``run_cascade``, ...) gets an ``impl_name`` parameter; under ``[fast]`` those names (and the package's attributes) are the compiled
engine's functions for the duration of the test, so the same assertions judge both. The
``test_fast_*`` modules compare the two explicitly, and the proof machinery is about the
reference alone, so those modules are not doubled. ``LIQSPEC_IMPLEMENTATIONS=reference`` runs the
reference's copies only (``liqspec mutate`` does: its mutants are in the reference).
"""

import os
import time
from types import ModuleType, SimpleNamespace

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


#: the implementations each doubled test runs on
IMPLEMENTATIONS = tuple(os.environ.get("LIQSPEC_IMPLEMENTATIONS", "reference,fast").split(","))

#: modules that judge the reference alone (the proofs are about it) or already compare both
NOT_DOUBLED = ("test_fast_", "test_proofs", "test_mutation", "test_docs", "test_traceability",
               "test_project")


def fast_counterparts() -> dict:
    """Each reference function the fast path implements -> its fast counterpart."""
    import liqspec.fast
    from liqspec import reference
    from liqspec.fast import compare
    from liqspec.reference import book, cascade

    pairs = {getattr(reference, name): getattr(compare.FAST, name)
             for name in (*compare.NAMES, *compare.OPERATIONS)
             if name != "funding_owed" and hasattr(reference, name)}
    pairs[book.market_liquidate] = compare.FAST.market_liquidate
    pairs[cascade.replace_book] = compare.FAST.replace_book
    pairs[cascade.run_cascade] = liqspec.fast.run_cascade
    return pairs


def _is_counterpart(value, counterparts: dict) -> bool:
    return callable(value) and not isinstance(value, type) and value in counterparts


def _doubled(module: ModuleType) -> bool:
    name = module.__name__.rsplit(".", 1)[-1]
    if name.startswith(NOT_DOUBLED):
        return False
    counterparts = fast_counterparts()
    return any(_is_counterpart(value, counterparts) for value in vars(module).values())


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("reference_only") is not None:
        return
    if metafunc.module is not None and _doubled(metafunc.module):
        if "impl_name" not in metafunc.fixturenames:
            metafunc.fixturenames.append("impl_name")
        metafunc.parametrize("impl_name", IMPLEMENTATIONS)


@pytest.fixture(autouse=True)
def _implementation(request, monkeypatch):
    """Under ``[fast]``, the test module's reference functions (and the reference package's
    attributes) are the fast path's for this test."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("impl_name") != "fast":
        return
    import liqspec.reference

    counterparts = fast_counterparts()
    for target in (request.module, liqspec.reference):
        for name, value in list(vars(target).items()):
            if _is_counterpart(value, counterparts):
                monkeypatch.setattr(target, name, counterparts[value])


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
