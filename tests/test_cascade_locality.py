"""The cascade index's paths for large rounds (LIQ-CASCADE-1): candidates sorted by row before
they are confirmed, and crossed triggers taken out of a heap by one pass and a rebuild. Neither
may change a result: a book large enough to take both paths runs with the index checked against
the full scan at every round (``verify``), and equals the scan-only run."""

import numpy as np

from liqspec import bulk
from liqspec.fast import cascade_arrays
from liqspec.scenario import default_text, parse_toml


def _book(accounts: int) -> bulk.BulkScenario:
    """The default scenario's book, larger, and its 12% crash in 6 steps instead of 120: each
    step crosses many triggers at once (a thin book: liquidations, fund payouts, deleveraging)."""
    document = parse_toml(default_text())
    document["synthetic"]["accounts"] = accounts
    document["path"]["steps"] = 6
    document["path"]["hold_steps"] = 2
    return bulk.parse_bulk_scenario(document)


def test_large_rounds_sorted_and_swept_equal_the_scan_LIQ_CASCADE_1():
    scenario = _book(12_000)
    kwargs = scenario.book.cascade_kwargs()
    verified = cascade_arrays(**kwargs, config=scenario.config, order="verify")
    scanned = cascade_arrays(**kwargs, config=scenario.config, order="scan")
    stats = verified.index_stats
    # both large-round paths ran (and verify compared their order with the scan's each round)
    assert stats["sorted_rounds"] > 0
    assert stats["bulk_takes"] > 0
    assert verified.summary.accounts_liquidated > 1_000
    assert verified.summary == scanned.summary
    assert verified.steps == scanned.steps
    for column, values in scanned.trace.items():
        assert np.array_equal(verified.trace[column], values), column
    assert np.array_equal(verified.quote, scanned.quote)
    assert np.array_equal(verified.lots, scanned.lots)
    assert np.array_equal(verified.cost, scanned.cost)
    assert verified.holders == scanned.holders
