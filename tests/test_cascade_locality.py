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


def _socialized_book(accounts: int) -> bulk.BulkScenario:
    """The default scenario moved to Drift v2 (ETH-PERP from 3,000): its losses beyond the fund
    are socialized on both sides of the market when each round ends, so a round touches every
    holder (LIQ-CASCADE-2)."""
    document = parse_toml(default_text())
    document["synthetic"]["accounts"] = accounts
    document["profile"] = "drift_v2"
    market = document["markets"].pop(next(iter(document["markets"])))
    document["markets"]["ETH-PERP"] = {**market, "start_price": "3000",
                                       "book": {**market["book"], "lots_per_level": 3_000}}
    return bulk.parse_bulk_scenario(document)


def test_rounds_that_touch_every_holder_rekey_in_bulk_and_equal_the_scan_LIQ_CASCADE_1():
    """A round that socializes a loss re-keys every holder: appended to the heaps and each heap
    rebuilt once, its stale entries dropped (``bulk_rekeys``). Checked against the full scan at
    every round (``verify``) and equal to the scan-only run."""
    scenario = _socialized_book(3_000)
    kwargs = scenario.book.cascade_kwargs()
    verified = cascade_arrays(**kwargs, config=scenario.config, order="verify")
    scanned = cascade_arrays(**kwargs, config=scenario.config, order="scan")
    assert verified.index_stats["bulk_rekeys"] > 0
    assert verified.summary.socialized_quote > 0 and verified.summary.accounts_liquidated > 100
    assert verified.summary == scanned.summary
    assert verified.steps == scanned.steps
    for column, values in scanned.trace.items():
        assert np.array_equal(verified.trace[column], values), column
    assert np.array_equal(verified.quote, scanned.quote)
    assert verified.holders == scanned.holders
