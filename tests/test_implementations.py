"""The suite runs every reference test on both implementations (tests/conftest.py): check that
the swap really happens and covers everything the fast path implements.

This module binds reference functions, so it is doubled like any reference test: under
``[reference]`` they are the reference's, under ``[fast]`` liqspec.fast's.
"""

import liqspec.fast
from liqspec.fast import compare
from liqspec.reference import deleverage, equity_quote, liquidate, liquidation_price
from liqspec.reference.book import market_liquidate
from liqspec.reference.cascade import replace_book, run_cascade


def test_the_functions_this_module_calls_are_the_parameters_implementation(impl_name):
    package = "liqspec.fast" if impl_name == "fast" else "liqspec.reference"
    for function in (equity_quote, liquidation_price, liquidate, deleverage, run_cascade):
        assert function.__module__.startswith(package), (function, impl_name)
    import liqspec.reference

    assert liqspec.reference.liquidate.__module__.startswith(package)


def test_every_fast_operation_has_a_reference_counterpart_the_suite_swaps(impl_name):
    """Nothing liqspec.fast implements escapes the doubled suite: each function of the fast
    namespace replaces a reference function of the same name."""
    import liqspec.reference
    from liqspec.reference import book, cascade

    # the two operations the reference package does not export, as this module binds them
    elsewhere = {"market_liquidate": (book, market_liquidate),
                 "replace_book": (cascade, replace_book)}
    names = [n for n in (*compare.NAMES, *compare.OPERATIONS) if n != "funding_owed"]
    for name in names:
        home, swapped = elsewhere.get(name, (liqspec.reference, None))
        if home is liqspec.reference:
            swapped = getattr(liqspec.reference, name, None)
        expected = getattr(compare.FAST, name) if impl_name == "fast" else getattr(home, name)
        assert swapped is expected, name
    assert (run_cascade is liqspec.fast.run_cascade) == (impl_name == "fast")
