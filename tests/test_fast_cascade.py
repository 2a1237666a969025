"""The compiled cascade (liqspec.fast.run_cascade) against the reference's (LIQ-CASCADE-1..6,
LIQ-BOOK-1/2/3, LIQ-MARK-2): hand cascades of tests/test_cascade.py re-run on both, generated
cascades compared trace for trace, the embedded default scenario (3,000 accounts) identical, and
int64 boundaries raising Overflow on both.

"Equal" is ``==`` on Python objects: every Event, every StepRecord, the Summary and a snapshot of
the final state (journal included).
"""


import numpy as np
import pytest
from hypothesis import given, settings

from liqspec import fast
from liqspec.reference import Overflow, set_mark
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.cascade import run_cascade as reference_run
from liqspec.reference.invariants import all_violations
from liqspec.reference.state import LIQUIDITY
from liqspec.reference.arithmetic import INT64_MAX
from liqspec.reference import open_account
from liqspec.testing import open_at_leverage, open_long, usdt, venue

from liqspec.testing.cascades import cascades, feedback_venue

IMPLEMENTATIONS = {"reference": reference_run, "fast": fast.run_cascade}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def run(request):
    return IMPLEMENTATIONS[request.param]


def assert_same_run(state, config, after_round=False):
    """Both implementations on the same input: equal traces, steps, summaries, final states;
    with ``after_round``, equal states at every round too. The input is left untouched."""
    before = state.snapshot()
    seen = {name: [] for name in IMPLEMENTATIONS}
    results = {}
    for name, run in IMPLEMENTATIONS.items():
        callback = (lambda s, step, r, name=name: seen[name].append((step, r, s.snapshot()))) \
            if after_round else None
        results[name] = run(state, config, after_round=callback)
        assert state.snapshot() == before, name
    want, got = results["reference"], results["fast"]
    assert got.events == want.events
    assert got.steps == want.steps
    assert got.summary == want.summary
    assert got.state.snapshot() == want.state.snapshot()
    assert got.state == want.state
    assert seen["fast"] == seen["reference"]
    return want


def test_cascade_is_compiled():
    """Rule: the design's "no pure-Python fallback"; the loop lives in the extension."""
    for method in ("cascade_open_step", "cascade_rounds", "cascade_round"):
        assert type(getattr(fast._engine.Engine, method)).__name__ == "cython_function_or_method"


def test_hand_computed_feedback_cascade_LIQ_CASCADE_2_LIQ_CASCADE_3(run):
    """tests/test_cascade.py's feedback cascade: alice sells 1 BTC at 49,401.0, the mark follows
    to 49,401.0, bob is then liquidatable and sells at 49,302.0; each pays all of their 1 and 2
    USDT surplus as the fee."""
    state, config = feedback_venue()
    result = run(state, config)
    trace = [(e.step, e.round, e.kind, e.account, e.lots, e.price_ticks, e.quote)
             for e in result.events if e.kind != "step"]
    assert trace == [
        (1, 1, "liquidation_fill", "alice", -1000, 494_010, usdt("49401")),
        (1, 1, "fee", "alice", 0, None, usdt("1")),
        (1, 1, "mark", None, 0, 494_010, 0),
        (1, 2, "liquidation_fill", "bob", -1000, 493_020, usdt("49302")),
        (1, 2, "fee", "bob", 0, None, usdt("2")),
        (1, 2, "mark", None, 0, 493_020, 0),
    ]
    assert result.summary.notional_liquidated_quote == usdt("98703")  # 49,401 + 49,302
    assert result.summary.insurance_fund_end_quote == usdt("1003")  # 1,000 + 1 + 2
    assert_same_run(state, config, after_round=True)


@pytest.mark.parametrize("builder", ["index_band_pin", "adl", "socialize", "backstop"])
def test_hand_cascades_of_the_reference_suite_LIQ_CASCADE_3(builder):
    """The other hand cascades of tests/test_cascade.py, each compared in full."""
    from liqspec.reference import deposit
    from liqspec.reference.marks import MarkRule
    from liqspec.reference.state import BACKSTOP
    from liqspec.testing import example_profile
    if builder == "index_band_pin":
        state, config = feedback_venue()
        config = CascadeConfig(config.path, config.books, mark_rule=MarkRule("index_band", 0))
        kinds = ["liquidation_fill", "fee"]  # only alice: the pinned mark spares bob
    elif builder in ("adl", "socialize"):
        profile = example_profile(bad_debt_policy="socialize") if builder == "socialize" else None
        state = venue(profile, deposits={"alice": usdt("1000"), "carol": usdt("100000")},
                      insurance_quote=usdt("20"))
        open_account(state, "book", role=LIQUIDITY)
        open_long(state, "alice", "carol", "BTC", 1000)
        config = CascadeConfig(PricePath(5, {"BTC": (480_000,)}),
                               {"BTC": BookShape(2, 2_000, 1_000)})
        # at 48,000 alice's equity is -1,000 USDT: with a 20 USDT fund no lot is affordable
        # and carol takes the position (adl); or it is sold at 47,904.0 and the 1,096 USDT
        # deficit is paid 20 by the fund, 1,076 written off and charged to carol (socialize)
        kinds = (["adl_fill"] if builder == "adl" else
                 ["liquidation_fill", "insurance_payout", "write_off", "socialize"])
    else:
        state = venue(example_profile(backstop_ratio=(2, 3)),
                      deposits={"alice": usdt("1000"), "carol": usdt("100000")})
        open_account(state, "book", role=LIQUIDITY)
        open_account(state, "vault", role=BACKSTOP)
        open_long(state, "alice", "carol", "BTC", 1000)
        config = CascadeConfig(PricePath(5, {"BTC": (490_500,)}),
                               {"BTC": BookShape(2, 2_000, 1)}, backstop_vault="vault")
        kinds = ["backstop", "backstop"]  # 50 < 2/3 x 196.2: the vault takes position and quote
        deposit  # noqa: B018  (imported for symmetry with the reference suite)
    result = assert_same_run(state, config, after_round=True)
    assert [e.kind for e in result.events if e.kind not in ("step", "mark")] == kinds
    assert all_violations(result.state) == []


@given(cascades())
@settings(max_examples=60)
def test_generated_cascades_trace_for_trace_LIQ_CASCADE_2(case):
    """liqspec.testing.cascades' generator (every policy family, both mark rules, books of every
    depth): the fast run equals the reference's, round by round."""
    state, config = case
    assert_same_run(state, config, after_round=True)


def test_default_scenario_identical_LIQ_CASCADE_5():
    """The embedded default scenario (3,000 synthetic accounts, Binance USD-M, a 12% crash over
    120 steps): the same trace, step records, summary and final state."""
    from liqspec.scenario import default_scenario
    scenario = default_scenario()
    state, config = scenario.state, scenario.config
    want = assert_same_run(state, config)
    assert want.summary.accounts_liquidated > 0  # the scenario does cascade


def test_int64_boundary_raises_overflow_on_both_LIQ_DOMAIN_1():
    """alice holds a huge short whose value at the crash's index no longer fits int64: both runs
    raise Overflow (the reference's type and code), neither wraps."""
    state = venue(deposits={"alice": usdt("1000"), "carol": usdt("100000")})
    open_account(state, "book", role=LIQUIDITY)
    open_long(state, "carol", "alice", "BTC", 1000)
    # a mark of INT64_MAX // 100_000 + 1 ticks makes 1,000 lots x 100 quantums leave int64
    top = INT64_MAX // 100_000 + 1
    config = CascadeConfig(PricePath(5, {"BTC": (500_000, top)}),
                           {"BTC": BookShape(1, 1_000, 1)})
    for run in IMPLEMENTATIONS.values():
        with pytest.raises(Overflow):
            run(state, config)
    set_mark  # noqa: B018


# -- the processing order at scale: the index against the scan (LIQ-CASCADE-1) -------------------

from hypothesis import strategies as st  # noqa: E402

from liqspec.reference import deposit  # noqa: E402
from liqspec.reference.marks import MarkRule  # noqa: E402
from liqspec.reference.state import BACKSTOP  # noqa: E402
from liqspec.testing import example_profile  # noqa: E402


@st.composite
def cross_cascades(draw):
    """Two markets, cross accounts holding both (or one, or isolated), marks that fall and
    bounce back in both, every policy family: the index's cross heap, its push-backs when a mark
    recrosses a trigger, and its re-keying after ADL, socialization and backstop."""
    policies = draw(st.sampled_from([
        {}, {"bad_debt_policy": "socialize"}, {"backstop_ratio": (2, 3), "adl_price": "mark"},
        {"liquidation_size": "portion", "portion_ppm": 250_000,
         "portion_threshold_quote": usdt("1000")},
        # every deleveraging ranking, so ``verify`` checks the ADL index's allocations too
        {"adl_ranking": "pnl_margin_ratio"}, {"adl_ranking": "price_ratio_leverage"},
        {"adl_ranking": "seeded", "adl_seed": 7}, {"adl_ranking": "pro_rata"},
        # isolated accounts' maintenance on their entry values (LIQ-TIER-6): linear triggers
        {"maintenance_basis": "entry"},
        {"maintenance_basis": "entry", "liquidation_size": "tier_step"},
        # a share of every position at once (LIQ-SHARE-2): the index re-keys both markets
        {"liquidation_size": "account_share", "fee_policy": "maintenance_share",
         "portion_ppm": 200_000, "share_target_ppm": 900_000, "bad_debt_policy": "socialize"},
        {"liquidation_size": "account_share", "fee_policy": "maintenance_share",
         "portion_ppm": 250_000, "share_target_ppm": 600_000, "backstop_ratio": (1, 2)}]))
    state = venue(example_profile(**policies), insurance_quote=draw(st.integers(0, usdt("300"))))
    open_account(state, "book", role=LIQUIDITY)
    open_account(state, "vault", role=BACKSTOP)
    for i in range(draw(st.integers(2, 7))):
        account = f"t{i}"
        isolated = draw(st.sampled_from([None, None, "BTC", "ETH"]))
        open_account(state, account, isolated_market=isolated)
        markets = [isolated] if isolated else draw(st.sampled_from([["BTC"], ["ETH"],
                                                                    ["BTC", "ETH"]]))
        for market_id in markets:
            lots = draw(st.integers(1, 2000)) * draw(st.sampled_from([1, -1]))
            # margin of notional / leverage (+1 USDT, at least the tier's initial requirement),
            # so crashes of a few % liquidate some
            open_at_leverage(state, account, "book", market_id, lots,
                             leverage=draw(st.integers(2, 60)))
    paths = {}
    steps = draw(st.integers(1, 5))
    for market_id, start in (("BTC", 500_000), ("ETH", 300_000)):
        moves = draw(st.lists(st.integers(-30_000, 60_000), min_size=steps, max_size=steps))
        price, path = start, [start]
        for drop in moves:
            price = max(1, price * (1_000_000 - drop) // 1_000_000)
            path.append(price)
        paths[market_id] = tuple(path)
    books = {m: BookShape(draw(st.integers(1, 10)), draw(st.integers(100, 5000)),
                          draw(st.integers(1, 500))) for m in paths}
    config = CascadeConfig(PricePath(1, paths), books,
                           backstop_vault="vault" if "backstop_ratio" in policies
                           or "share_target_ppm" in policies else None,
                           mark_rule=MarkRule(draw(st.sampled_from(["index_band", "last_fill"])),
                                              draw(st.integers(0, 50_000))))
    return state, config


def _index_scan_reference(state, config):
    """The index (checked against the scan at every round: ``verify``), the scan alone and the
    reference: one result."""
    want = reference_run(state, config)
    for order in ("verify", "scan", "index"):
        got = fast.run_cascade(state, config, order=order)
        assert got.events == want.events, order
        assert got.steps == want.steps, order
        assert got.summary == want.summary, order
        assert got.state.snapshot() == want.state.snapshot(), order
    return want


@given(cascades())
@settings(max_examples=60, deadline=None)
def test_index_order_equals_the_scan_single_market_LIQ_CASCADE_1(case):
    """Rule: LIQ-CASCADE-1. One-market books (the trigger-price heaps and the pointer sweep):
    at every round of every step the index's processing order is the scan's (``verify`` raises
    on the first difference), and the whole run equals the reference's."""
    _index_scan_reference(*case)


@given(cross_cascades())
@settings(max_examples=80, deadline=None)
def test_index_order_equals_the_scan_cross_accounts_LIQ_CASCADE_1(case):
    """Rule: LIQ-CASCADE-1. Cross accounts over two markets whose marks fall and bounce (the
    clock-keyed cross heap, triggers uncrossed and re-pushed): same order as the scan at every
    round, same run as the reference."""
    _index_scan_reference(*case)


def test_index_is_used_and_examines_only_candidates_LIQ_CASCADE_1():
    """The default scenario (3,000 accounts, 120 steps): the index answers every round (no
    full scan but the end-of-path check) and examines far fewer accounts than the scan's
    N x rounds, with a result equal to the reference's."""
    from liqspec.scenario import default_scenario
    scenario = default_scenario()
    kwargs = fast.arrays_of(scenario.state)
    result = fast.cascade_arrays(config=scenario.config, **kwargs)
    stats = result.index_stats
    assert stats["index_rounds"] > 0
    assert stats["scans"] == 0 or stats["scans"] <= 1
    rounds_and_opens = stats["index_rounds"]
    # a scan evaluates all 3,000 accounts at every one of those rounds
    assert stats["examined"] < len(kwargs["account_ids"]) * rounds_and_opens // 20
    want = reference_run(scenario.state, scenario.config)
    assert result.summary == want.summary
    assert result.steps == want.steps
    assert result.events() == want.events


def _assert_arrays_equal_reference(state, config):
    want = reference_run(state, config)
    result = fast.cascade_arrays(config=config, **fast.arrays_of(state))
    assert result.summary == want.summary
    assert result.steps == want.steps
    assert result.events() == want.events
    final = fast.arrays_of(want.state)
    assert result.account_ids == tuple(final["account_ids"])
    assert (result.quote == final["quote"]).all()
    assert (result.lots == final["lots"]).all()
    assert (result.cost == final["cost"]).all()
    assert result.holders == want.state.holders
    assert result.marks == want.state.marks
    assert result.seq == want.state.seq


@given(cross_cascades())
@settings(max_examples=40, deadline=None)
def test_cascade_arrays_equals_the_reference_LIQ_CASCADE_5(case):
    """Rule: LIQ-CASCADE-5. liqspec.fast.cascade_arrays (no State, Events on demand): the same
    summary, step records, trace and final balances, positions, cost bases, holders, marks and
    seq as the reference's run on the equal state."""
    _assert_arrays_equal_reference(*case)


def test_cascade_arrays_on_the_hand_feedback_cascade_LIQ_CASCADE_2():
    """tests/test_cascade.py's feedback cascade through the arrays API: alice then bob sell
    (hand-computed in test_hand_computed_feedback_cascade above), the same as the reference."""
    state, config = feedback_venue()
    result = fast.cascade_arrays(config=config, **fast.arrays_of(state))
    assert [e.kind for e in result.events() if e.kind in ("liquidation_fill", "fee")] == [
        "liquidation_fill", "fee", "liquidation_fill", "fee"]
    assert result.summary.notional_liquidated_quote == usdt("98703")  # 49,401 + 49,302
    _assert_arrays_equal_reference(state, config)


def test_cascade_arrays_trace_is_a_view_that_later_events_leave_alone_LIQ_CASCADE_2():
    """The arrays API's trace is the engine's event buffer viewed as int64 columns (no copy),
    read-only, and it keeps no journal (nothing is written back). Events added afterwards
    (steps opened again at the last marks: one 'step' event per path market each) go to a new
    buffer: the columns already handed out do not change, and a fresh trace has them all plus
    the new ones."""
    state, config = feedback_venue()
    result = fast.cascade_arrays(config=config, **fast.arrays_of(state))
    trace, engine = result.trace, result._engine
    before = {name: column.copy() for name, column in trace.items()}
    assert len(trace["step"]) == len(result.events()) > 0
    assert all(column.dtype == np.int64 and not column.flags.writeable
               for column in trace.values())
    with pytest.raises(ValueError):
        trace["lots"][0] = 1
    assert engine.n_records == 0
    for _ in range(100):  # past the exported buffer's capacity: the buffer is copied
        assert engine.cascade_open_step(7, engine.marks.copy()) == 0
    again = engine.cascade_trace()
    for name, column in trace.items():
        assert np.array_equal(column, before[name]), name
        assert np.array_equal(again[name][:len(column)], column), name
    assert len(again["step"]) == len(trace["step"]) + 100
    assert (again["step"][len(trace["step"]):] == 7).all()


def test_int64_boundary_raises_overflow_with_the_index_LIQ_DOMAIN_1():
    """The int64 boundary of test_int64_boundary_raises_overflow_on_both: the index's guard sees
    that a value could leave int64 and falls back to the scan, which raises Overflow where the
    reference does, in every order mode."""
    state = venue(deposits={"alice": usdt("1000"), "carol": usdt("100000")})
    open_account(state, "book", role=LIQUIDITY)
    open_long(state, "carol", "alice", "BTC", 1000)
    top = INT64_MAX // 100_000 + 1  # 1,000 lots x 100 quantums x top leaves int64
    config = CascadeConfig(PricePath(5, {"BTC": (500_000, top)}),
                           {"BTC": BookShape(1, 1_000, 1)})
    for order in ("index", "scan", "verify"):
        with pytest.raises(Overflow):
            fast.run_cascade(state, config, order=order)


def test_a_trigger_near_the_top_of_int64_is_found_not_galloped_past_LIQ_CASCADE_1():
    """Regression (found by ``liqspec difftest``, seed 30986): a path near 8.8e18 ticks made the
    trigger search's gallop wrap around int64 and never end. Every processing order now stops
    where the reference does, with the same typed error."""
    from liqspec.testing import cases
    from liqspec.reference.errors import LiqspecError

    scenario, config_json = cases.random_cascade(30986)
    config = cases.cascade_config_from_json(config_json)
    with pytest.raises(LiqspecError) as reference_error:
        reference_run(scenario.state(), config)
    for order in ("index", "verify", "scan"):
        with pytest.raises(type(reference_error.value)) as fast_error:
            fast.run_cascade(scenario.state(), config, order=order)
        assert fast_error.value.code == reference_error.value.code, order
    assert isinstance(reference_error.value, Overflow)


def test_rounds_of_many_due_accounts_in_the_reference_order_LIQ_CASCADE_1():
    """More due accounts in a round than the compiled processing order sorts at once (256: past
    that, a radix pass over the ratios as doubles, then an exact sort of every run of close or
    equal ratios): 600 longs of 1 BTC from 50,000 whose balances take 200 values, three accounts
    each (equal ratios, ordered by ID), all due at 49,400 but the two best-funded values, and a
    book that takes a part of their selling, the rest deleveraged, so who is processed first
    decides who gets the book: the compiled run equals the reference's event for event, round
    by round, and the first round processes the due accounts in the processing order."""
    from liqspec.reference.cascade import processing_order

    balances = {f"a{i:03d}": usdt(600 + i // 3) for i in range(600)}
    state = venue(deposits={**balances, "z": usdt("10000000")})
    open_account(state, "book", role=LIQUIDITY)
    for account_id in balances:
        open_long(state, account_id, "z", "BTC", 1000)
    probe = state.copy()
    set_mark(probe, "BTC", 494_000)
    due = processing_order(probe)
    assert len(due) == 594  # equity 0 .. 197 below 197.6: every value but 198 and 199
    assert due[:3] == ["a000", "a001", "a002"] and due[-1] == "a593"
    config = CascadeConfig(PricePath(5, {"BTC": (494_000, 492_000)}),
                           {"BTC": BookShape(3, 2_000, 50_000)})
    result = assert_same_run(state, config, after_round=True)
    first_round = [e for e in result.events if (e.step, e.round) == (0, 1)]
    processed = list(dict.fromkeys(e.account for e in first_round
                                   if e.kind in ("liquidation_fill", "adl_fill")))
    assert processed == due
    filled = {e.account for e in first_round if e.kind == "liquidation_fill"}
    assert 0 < len(filled) < len(due) and result.summary.adl_lots > 0
