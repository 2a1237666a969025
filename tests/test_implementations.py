"""The ``impl`` fixture (tests/conftest.py) names the implementation a doubled test runs on:
check that it is the one it says, and that it covers everything the fast path implements."""

import liqspec.fast
import liqspec.reference
from liqspec.fast import compare
from liqspec.reference import book, cascade


def test_the_functions_a_doubled_test_calls_are_its_implementations(impl):
    package = "liqspec.fast" if impl.name == "fast" else "liqspec.reference"
    for function in (impl.equity_quote, impl.liquidation_price, impl.liquidate,
                     impl.deleverage, impl.run_cascade):
        assert function.__module__.startswith(package), (function, impl.name)


def test_every_fast_operation_has_a_reference_counterpart_of_the_same_name(impl):
    """Nothing liqspec.fast implements escapes the doubled suite: ``impl`` has each function of
    the fast namespace, under ``[fast]`` the compiled one and under ``[reference]`` the
    reference's function of the same name."""
    # the two operations the reference package does not export, where they live
    elsewhere = {"market_liquidate": book, "replace_book": cascade}
    names = [n for n in (*compare.NAMES, *compare.OPERATIONS) if n != "funding_owed"]
    for name in names:
        expected = (getattr(compare.FAST, name) if impl.name == "fast"
                    else getattr(elsewhere.get(name, liqspec.reference), name))
        assert getattr(impl, name) is expected, name
    assert (impl.run_cascade is liqspec.fast.run_cascade) == (impl.name == "fast")
    assert (impl.run_cascade is cascade.run_cascade) == (impl.name == "reference")
