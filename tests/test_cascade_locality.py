"""The cascade index's paths for large rounds (LIQ-CASCADE-1): candidates sorted by row before
they are confirmed, and crossed triggers taken out of a heap by one pass and a rebuild. Neither
may change a result: a book large enough to take both paths runs with the index checked against
the full scan at every round (``verify``), and equals the scan-only run."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from liqspec import bulk
from liqspec.fast import _engine, cascade_arrays
from liqspec.reference.errors import MalformedState
from liqspec.scenario import default_text, parse_toml


def _book(accounts: int) -> bulk.BulkScenario:
    """The default scenario's book, larger, and its 12% crash in 6 steps instead of 120: each
    step crosses many triggers at once (a thin book: liquidations, fund payouts, deleveraging)."""
    document = parse_toml(default_text())
    document["synthetic"]["accounts"] = accounts
    document["path"]["steps"] = 6
    document["path"]["hold_steps"] = 2
    return bulk.parse_bulk_scenario(document)


def assert_same_run(verified, scanned) -> None:
    """Two runs of one crash alike: summary, step records, every trace column, the final
    balances, positions, cost bases and holders."""
    assert verified.summary == scanned.summary
    assert verified.steps == scanned.steps
    for column, values in scanned.trace.items():
        assert np.array_equal(verified.trace[column], values), column
    assert np.array_equal(verified.quote, scanned.quote)
    assert np.array_equal(verified.lots, scanned.lots)
    assert np.array_equal(verified.cost, scanned.cost)
    assert verified.holders == scanned.holders


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
    assert_same_run(verified, scanned)


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
    assert_same_run(verified, scanned)


def test_heaps_compacted_at_any_size_equal_the_scan_LIQ_CASCADE_1():
    """A heap of the index grown past twice the accounts is rebuilt without its stale entries
    (each re-key leaves one; a memory bound). The books here never grow one that far, so the
    threshold is set to 0: every heap holding an entry is compacted every round. Checked
    against the full scan at every round (``verify``) and equal to the scan-only run: dropping
    stale entries and rebuilding a heap at any time changes no answer."""
    scenario = _book(12_000)
    kwargs = scenario.book.cascade_kwargs()
    scanned = cascade_arrays(**kwargs, config=scenario.config, order="scan")
    default = _engine._index_compaction()
    _engine._index_compaction(0, 0)
    try:
        verified = cascade_arrays(**kwargs, config=scenario.config, order="verify")
    finally:
        _engine._index_compaction(*default)
    assert _engine._index_compaction() == default == (2, 64)
    stats = verified.index_stats
    assert stats["compactions"] >= stats["index_rounds"] > 0
    assert verified.summary.adl_lots > 0 and verified.summary.accounts_liquidated > 1_000
    assert_same_run(verified, scanned)


@pytest.mark.parametrize("factor, slack", [(-1, 0), (0, -1), (1 << 21, 0), (2.0, 64), (2, None),
                                           (None, 64), ("2", 64)])
def test_index_compaction_takes_two_small_integers_only(factor, slack):
    """Anything but two integers in 0 .. 2^20 is MalformedState and changes nothing."""
    before = _engine._index_compaction()
    with pytest.raises(MalformedState):
        _engine._index_compaction(factor, slack)
    assert _engine._index_compaction() == before


def _due_entries(seed: int, kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` due accounts' (equity, maintenance, row), rows distinct and shuffled: ratios at
    random, or near ties past a double's precision (one maintenance of about 2^61 and equities a
    unit or a few apart; proportional maintenances and equities of about a third of them), or
    small integers with many exact ties."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        mm = rng.integers(1, 2**62, n)
        eq = rng.integers(-(2**62), 2**62, n)
    elif kind == "one maintenance":
        mm = np.full(n, 2**61 + 12_345, dtype=np.int64)
        eq = 2**60 - rng.integers(0, 50, n)
    elif kind == "one ratio":
        mm = rng.integers(2**55, 2**62, n)
        eq = mm // 3 + rng.integers(-3, 4, n)
    else:
        mm = rng.integers(1, 5, n)
        eq = rng.integers(-5, 5, n)
    rows = rng.permutation(10 * n + 1)[:n]
    return eq.astype(np.int64), mm.astype(np.int64), rows.astype(np.int64)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["random", "one maintenance", "one ratio", "small"]),
       n=st.integers(0, 1_200))
@example(seed=1, kind="one maintenance", n=1_000)
@example(seed=2, kind="one ratio", n=700)
@example(seed=3, kind="small", n=600)
def test_due_accounts_sorted_in_the_exact_processing_order_LIQ_CASCADE_1(seed, kind, n):
    """The compiled processing order of a round's due accounts (from 256 of them: a radix pass
    over the ratios as doubles, then an exact sort of every run of close ratios) is the exact
    order of LIQ-CASCADE-1, ascending equity / maintenance as fractions, then row, whatever
    order the accounts come in, on ratios that no double tells apart."""
    eq, mm, rows = _due_entries(seed, kind, n)
    exact = sorted(range(n), key=lambda x: (Fraction(int(eq[x]), int(mm[x])), int(rows[x])))
    assert _engine._order_due(eq, mm, rows) == [int(rows[x]) for x in exact]


@pytest.mark.parametrize("eq, mm, rows", [([1, 2], [1], [0, 1]), ([1], [0], [0]),
                                          ([1, 1], [1, 1], [3, 3]), ([1], [-1], [0])])
def test_order_due_takes_due_accounts_only(eq, mm, rows):
    """Lengths that differ, a maintenance that is not positive or a repeated row: MalformedState."""
    with pytest.raises(MalformedState):
        _engine._order_due(eq, mm, rows)
