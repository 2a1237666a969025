"""Cascades (LIQ-CASCADE-1..6, LIQ-BOOK-1/2/3, LIQ-MARK-2): hand-computed small cascades with
exact traces, invariants after every round of generated cascades, termination and determinism.

Example venue (liqspec.testing): one BTC lot (0.001 BTC) at one tick (0.1 USDT) is worth 100 quote
quantums; below 50,000 USDT of notional BTC maintenance is 0.4%, the liquidation fee 1.25%.
"""

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings

from liqspec.reference import FEE_SINK, INSURANCE_FUND, SOCIALIZED_LOSS, MalformedState
from liqspec.reference.book import BookShape, build_book, closable_within_fund, plan_order
from liqspec.reference.cascade import (CascadeConfig, FundWindow, PricePath, bearing_side,
                                       liquidation_map, processing_order, shock_path)
from liqspec.reference.marks import MarkRule, next_mark
from liqspec.reference.invariants import all_violations, state_digest
from liqspec.reference.state import BACKSTOP, LIQUIDITY
from liqspec.testing import (implementation, open_at_leverage, open_long, example_profile, usdt,
                             venue)
from liqspec.testing.cascades import cascades, drawdown_venue, feedback_venue

#: the reference's operations, for the tests that are about it alone
REFERENCE = implementation("reference")


def test_book_ladder_rounds_away_from_the_index_LIQ_BOOK_1():
    book = build_book(BookShape(levels=3, spacing_ppm=2_000, lots_per_level=1_000), 495_000, "b")
    # 495,000 x 0.998 = 494,010; x 0.996 = 493,020; x 0.994 = 492,030 (all exact)
    assert book.bids == [[494_010, 1000], [493_020, 1000], [492_030, 1000]]
    assert book.asks == [[495_990, 1000], [496_980, 1000], [497_970, 1000]]
    odd = build_book(BookShape(1, 3_333, 5), 1_001, "b")  # 1,001 x 0.996667 = 997.66: down
    assert odd.bids == [[997, 5]] and odd.asks == [[1_005, 5]]  # 1,004.34 up
    merged = build_book(BookShape(3, 1, 7), 10, "b")  # levels that round onto one tick merge
    assert merged.bids == [[9, 21]] and merged.asks == [[11, 21]]


@pytest.mark.parametrize("shape", [(0, 1, 1), (1, 0, 1), (1, 1, 0), (100, 10_000, 1)])
def test_malformed_book_shapes_LIQ_BOOK_1(shape):
    with pytest.raises(MalformedState):
        BookShape(*shape)


def test_mark_rules_LIQ_MARK_2():
    band = MarkRule("index_band", 5_000)  # 0.5%: [ceil(492,525), floor(497,475)] around 495,000
    assert next_mark(band, 495_000, 494_010, 495_000) == 494_010
    assert next_mark(band, 495_000, 480_000, 495_000) == 492_525
    assert next_mark(band, 495_000, 510_000, 495_000) == 497_475
    assert next_mark(band, 495_000, None, 494_321) == 494_321  # no fill: unchanged
    assert next_mark(MarkRule("last_fill"), 495_000, 480_000, 495_000) == 480_000
    assert next_mark(MarkRule("index_band", 0), 495_000, 480_000, 495_000) == 495_000  # oracle
    with pytest.raises(MalformedState):
        MarkRule("vwap")


def test_opening_mark_keeps_an_index_coupled_basis_LIQ_MARK_2():
    from liqspec.reference.marks import opening_mark
    band = MarkRule("index_band", 5_000)
    # previous step: index 49,500.0; new index 49,440.0, band [ceil(491,928), floor(496,872)]
    assert opening_mark(band, 494_400, 495_000, 494_010) == 493_410  # basis -99.0 carried
    assert opening_mark(band, 494_400, 495_000, 492_525) == 491_928  # -247.5: clamped
    assert opening_mark(band, 494_400, 495_000, 495_000) == 494_400  # no basis: the index
    assert opening_mark(MarkRule("index_band", 0), 494_400, 495_000, 480_000) == 494_400
    assert opening_mark(MarkRule("last_fill"), 494_400, 495_000, 480_000) == 494_400


def test_shock_path_LIQ_CASCADE_4():
    path = shock_path({"BTC": 500_000}, 120_000, 4, 5, hold_steps=2)
    # 50,000 falling 12% in 4 steps: 3% of the start per step
    assert path.index_ticks["BTC"] == (500_000, 485_000, 470_000, 455_000, 440_000, 440_000,
                                       440_000)
    assert path.steps == 7 and path.step_seconds == 5
    with pytest.raises(MalformedState):
        PricePath(5, {"BTC": (1, 2), "ETH": (1,)})


def test_hand_computed_feedback_cascade_LIQ_CASCADE_2_LIQ_CASCADE_3(impl):
    """Step 1 (index 49,500): alice (equity 100 < maintenance 198) sells 1 BTC into the best bid,
    49,401.0: her quote -49,400 + 49,401 = 1 USDT, all of it the fee (1.25% x 49,401 > 1). The
    mark follows the fill to 49,401.0, where bob's equity 101 < maintenance 197.604: round 2
    sells his BTC at the next bid, 49,302.0, leaving 2 USDT, again all fee. Then nobody is
    liquidatable."""
    state, config = feedback_venue()
    result = impl.run_cascade(state, config)
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
    summary = result.summary
    assert (summary.accounts_liquidated, summary.liquidation_fills, summary.rounds) == (2, 2, 2)
    assert summary.notional_liquidated_quote == usdt("98703")
    assert summary.lowest_mark_ticks == {"BTC": 493_020}
    assert (summary.insurance_fund_start_quote, summary.insurance_fund_end_quote) == (
        usdt("1000"), usdt("1003"))
    assert [s.rounds for s in result.steps] == [0, 2]
    assert result.state.account("book").positions == {"BTC": 2000}
    assert all_violations(result.state) == []


def test_index_band_mark_stops_the_feedback_LIQ_MARK_2(impl):
    """With the mark pinned to the index (band 0), alice's fill does not move it, so bob, healthy
    at 49,500 (equity 200 >= 198), is never liquidated: the same book, no cascade."""
    state, config = feedback_venue()
    config = CascadeConfig(config.path, config.books, mark_rule=MarkRule("index_band", 0))
    result = impl.run_cascade(state, config)
    assert result.summary.accounts_liquidated == 1
    assert result.state.account("bob").positions == {"BTC": 1000}


def test_fills_beyond_bankruptcy_limited_by_the_fund_then_adl_LIQ_BOOK_2_LIQ_BOOK_3(impl):
    """alice long 1 BTC on 1,000 USDT (bankruptcy 49,000) meets a crash to 48,000 with bids 0.2%
    apart: 47,904.0 then 47,808.0, where each lot loses a further 0.096 or 0.192 USDT. Her
    equity is already -1,000 USDT and the fund holds 20: no lot is affordable, and the whole
    position is deleveraged against carol at alice's bankruptcy value."""
    state = venue(deposits={"alice": usdt("1000"), "carol": usdt("100000")},
                  insurance_quote=usdt("20"))
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    impl.set_mark(state, "BTC", 480_000)
    state.books["BTC"] = build_book(BookShape(2, 2_000, 1_000), 480_000, "book")
    alice = state.account("alice")
    # equity at 48,000 is -1,000 USDT; a lot sold at 47,904.0 changes it by -96,000 quantums
    # (0.096 USDT): -1,000e6 - t x 96,000 >= -20e6 has no t >= 0, so nothing is affordable
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == []
    assert not closable_within_fund(state, alice, "BTC")
    assert plan_order(state, alice, "BTC", 1000, within_fund=False) == [(479_040, 1000)]
    config = CascadeConfig(PricePath(5, {"BTC": (480_000,)}), {"BTC": BookShape(2, 2_000, 1_000)})
    result = impl.run_cascade(state, config)
    kinds = [e.kind for e in result.events if e.kind not in ("step", "mark")]
    assert kinds == ["adl_fill"]
    adl = [e for e in result.events if e.kind == "adl_fill"][0]
    assert (adl.account, adl.lots, adl.quote) == ("alice", -1000, usdt("49000"))
    assert result.state.account("alice").quote == 0
    assert result.summary.adl_lots == 1000
    assert result.summary.adl_notional_quote == usdt("48000")


def test_socialize_policy_fills_at_any_price_and_socializes_LIQ_CASCADE_3(impl):
    state = venue(example_profile(bad_debt_policy="socialize"),
                  deposits={"alice": usdt("1000"), "carol": usdt("100000")},
                  insurance_quote=usdt("20"))
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    config = CascadeConfig(PricePath(5, {"BTC": (480_000,)}), {"BTC": BookShape(2, 2_000, 1_000)})
    result = impl.run_cascade(state, config)
    # sold at 47,904.0: quote -49,000 + 47,904 = -1,096; the fund pays 20, 1,076 is written off
    # and charged to carol, the only short
    kinds = [e.kind for e in result.events if e.kind not in ("step", "mark")]
    assert kinds == ["liquidation_fill", "insurance_payout", "write_off", "socialize"]
    assert result.summary.bad_debt_quote == usdt("1076")
    assert result.summary.socialized_quote == usdt("1076")
    assert result.state.holders[SOCIALIZED_LOSS] == 0
    assert result.state.account("carol").quote == usdt("100000") + usdt("50000") - usdt("1076")
    assert all_violations(result.state) == []


def test_socialize_both_sides_charges_the_longs_too_LIQ_CASCADE_3(impl):
    """The same crash under ``socialize_both_sides`` (Drift v2): dave, long 3 BTC beside alice,
    shares the 1,076 USDT with carol and erin, short 1 and 3, pro rata to lots (3 : 1 : 3 of 7
    lots, each charge rounded up, the surplus swept): under ``socialize`` only the shorts would
    pay (LIQ-SOCIAL-2)."""
    state = venue(example_profile(bad_debt_policy="socialize_both_sides"),
                  deposits={"alice": usdt("1000"), "carol": usdt("100000"),
                            "dave": usdt("100000"), "erin": usdt("100000")},
                  insurance_quote=usdt("20"))
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    open_long(state, "dave", "erin", "BTC", 3000)
    before = {a: state.account(a).quote for a in ("carol", "dave", "erin")}
    config = CascadeConfig(PricePath(5, {"BTC": (480_000,)}), {"BTC": BookShape(2, 2_000, 1_000)})
    result = impl.run_cascade(state, config)
    # one event for the round's charge to every holder of BTC (side 0), one for its surplus
    socialized = [(e.account, e.market, e.quote, e.rule_id, e.detail) for e in result.events
                  if e.kind == "socialize"]
    assert socialized == [(None, "BTC", usdt("1076") + 2, "LIQ-SOCIAL-2",
                           "3 payers (longs and shorts)"),
                          (None, "BTC", 2, "LIQ-ROUND-3", "socialized_loss -> fee_sink")]
    # ceil(1,076 x 1/7) = 153.714286, ceil(1,076 x 3/7) = 461.142858 (each of dave and erin)
    assert {a: before[a] - result.state.account(a).quote for a in before} \
        == {"carol": usdt("153.714286"), "dave": usdt("461.142858"), "erin": usdt("461.142858")}
    # the charges, 2 quanta over the loss: the surplus went to the fee sink (LIQ-ROUND-3)
    assert result.summary.socialized_quote == usdt("1076") + 2
    assert result.state.holders[SOCIALIZED_LOSS] == 0 and result.state.holders[FEE_SINK] == 2
    assert all_violations(result.state) == []


def test_a_rounds_write_offs_are_charged_together_at_its_end_LIQ_CASCADE_2(impl):
    """Two bankrupt longs in one round under ``socialize``: alice sells at 47,904.0 (quote
    -1,096, the fund pays its 20, 1,076 written off), bob at the next bid 47,808.0 (quote -1,192,
    all written off, the fund empty). Both deficits are noted against the shorts of BTC and
    charged once when the round ends: 2,268 USDT over carol and dave, 1 BTC each, 1,134 each.
    Charged at each write-off, carol and dave would have paid twice (538 + 596 each): the same
    total, in two charges and four transfers instead of one charge and two."""
    state = venue(example_profile(bad_debt_policy="socialize"),
                  deposits={"alice": usdt("1000"), "bob": usdt("1000"), "carol": usdt("100000"),
                            "dave": usdt("100000")},
                  insurance_quote=usdt("20"))
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    open_long(state, "bob", "dave", "BTC", 1000)
    before = {a: state.account(a).quote for a in ("carol", "dave")}
    config = CascadeConfig(PricePath(5, {"BTC": (480_000,)}), {"BTC": BookShape(2, 2_000, 1_000)})
    result = impl.run_cascade(state, config)
    trace = [(e.round, e.kind, e.account, e.quote) for e in result.events
             if e.kind not in ("step", "mark")]
    assert trace == [(1, "liquidation_fill", "alice", usdt("47904")),
                     (1, "insurance_payout", "alice", usdt("20")),
                     (1, "write_off", "alice", usdt("1076")),
                     (1, "liquidation_fill", "bob", usdt("47808")),
                     (1, "write_off", "bob", usdt("1192")),
                     (1, "socialize", None, usdt("2268"))]
    charge = next(e for e in result.events if e.kind == "socialize")
    assert (charge.market, charge.rule_id, charge.detail) == ("BTC", "LIQ-SOCIAL-2",
                                                               "2 payers (shorts)")
    assert {a: before[a] - result.state.account(a).quote for a in before} \
        == {"carol": usdt("1134"), "dave": usdt("1134")}
    assert result.summary.bad_debt_quote == result.summary.socialized_quote == usdt("2268")
    assert result.state.holders[SOCIALIZED_LOSS] == 0
    assert all_violations(result.state) == []


@pytest.mark.reference_only
def test_a_write_off_is_borne_by_the_first_market_the_account_held_LIQ_CASCADE_3():
    """A cross account long BTC and short ETH: its deficit goes to the shorts of BTC under
    ``socialize`` (the side opposite its position in its first market by ID), to both sides of
    BTC under ``socialize_both_sides``; the sides are taken when its processing began."""
    sides = {"ETH": -1, "BTC": 1}
    assert bearing_side(example_profile(bad_debt_policy="socialize"), sides) == ("BTC", -1)
    assert bearing_side(example_profile(bad_debt_policy="socialize_both_sides"), sides) \
        == ("BTC", 0)
    assert bearing_side(example_profile(bad_debt_policy="socialize"), {"ETH": -1}) == ("ETH", 1)


def _alice_long_beside_a_vault(impl, profile, mark_ticks):
    """EX under ``profile``: alice long 1 BTC from 50,000 with 1,000 USDT (carol the other side),
    a book account and a backstop vault; a cascade to ``mark_ticks`` in one step of a thin book,
    the vault named. Returns the state and the cascade's config."""
    state = venue(profile, deposits={"alice": usdt("1000"), "carol": usdt("100000")})
    impl.open_account(state, "book", role=LIQUIDITY)
    impl.open_account(state, "vault", role=BACKSTOP)
    open_long(state, "alice", "carol", "BTC", 1000)
    config = CascadeConfig(PricePath(5, {"BTC": (mark_ticks,)}), {"BTC": BookShape(2, 2_000, 1)},
                           backstop_vault="vault")
    return state, config


def test_backstop_vault_takes_accounts_below_the_threshold_LIQ_CASCADE_3(impl):
    state, config = _alice_long_beside_a_vault(impl, example_profile(backstop_ratio=(2, 3)),
                                               490_500)
    result = impl.run_cascade(state, config)
    # at 49,050: equity 50 < 2/3 x 196.2 = 130.8: the vault takes the position and the 50 USDT
    assert [e.kind for e in result.events if e.kind not in ("step", "mark")] == ["backstop",
                                                                                  "backstop"]
    assert result.state.account("vault").positions == {"BTC": 1000}
    assert result.state.account("alice").is_flat()


@pytest.mark.rule("LIQ-SHARE-2")
def test_share_profile_hands_every_position_share_to_the_vault_LIQ_CASCADE_3(impl):
    """Under account_share a liquidatable account is reduced by one share of every position,
    taken by the vault at the marks, with its penalty (LIQ-SHARE-1): its events are
    liquidation fills under LIQ-SHARE-2 and a fee under LIQ-SHARE-1, the book is not touched;
    without a vault the run is refused before it starts. Rules: LIQ-CASCADE-3, LIQ-SHARE-2."""
    profile = example_profile(liquidation_size="account_share", fee_policy="maintenance_share",
                              portion_ppm=200_000, share_target_ppm=900_000)
    state, config = _alice_long_beside_a_vault(impl, profile, 491_000)
    result = impl.run_cascade(state, config)
    # at 49,100: equity 100 < maintenance 196.4. A 20% share keeps 0.8 BTC (MM 157.12) and
    # costs 20% x 1.25% x 196.4 = 0.491 USDT: 157.12 >= 90% x 99.509; 40% keeps 117.84 >=
    # 90% x 99.018; 60% keeps 0.4 BTC, 78.56 < 90% x (100 - 1.473) = 88.67: the share is 60%
    kinds = [(e.kind, e.rule_id, e.lots, e.quote) for e in result.events
             if e.kind not in ("step", "mark")]
    assert kinds == [("liquidation_fill", "LIQ-SHARE-2", -600, 600 * 491_000 * 100),
                     ("fee", "LIQ-SHARE-1", 0, usdt("1.473"))]
    assert result.state.account("vault").positions == {"BTC": 600}
    assert result.state.account("alice").positions == {"BTC": 400}
    assert all_violations(result.state) == []
    with pytest.raises(MalformedState, match="LIQ-SHARE-2"):
        impl.run_cascade(state, replace(config, backstop_vault=None))


def test_processing_order_most_distressed_first_LIQ_CASCADE_1(impl):
    state = venue(deposits={"a": usdt("600"), "b": usdt("500"), "c": usdt("800"),
                            "z": usdt("100000")})
    for account in ("a", "b", "c"):
        open_long(state, account, "z", "BTC", 1000)
    impl.set_mark(state, "BTC", 494_000)
    # at 49,400 the equities are -100 (b), 0 (a) and 200 (c); maintenance is 197.6 for each
    assert processing_order(state) == ["b", "a"]  # c is healthy (200 >= 197.6)


def test_input_state_untouched_and_runs_deterministic_LIQ_CASCADE_5(impl):
    state, config = feedback_venue()
    before = state.snapshot()
    first, second = impl.run_cascade(state, config), impl.run_cascade(state, config)
    assert state.snapshot() == before
    dump = lambda r: "\n".join(json.dumps(e.to_dict(), sort_keys=True) for e in r.events)
    assert dump(first) == dump(second)
    assert state_digest(first.state) == state_digest(second.state)


def test_liquidation_map_LIQ_CASCADE_6(impl):
    state, _ = feedback_venue()
    # alice: P - 49,400 = 0.004P -> 49,598.39, ticks 495,984 (rounded up, a long); bob 49,497.99;
    # carol, short 2 BTC with quote 200,000, in tier 2: 200,000 - 2P = 0.01P - 50 -> 99,527.36,
    # ticks 995,273 (rounded down, a short), notional there 2 x 99,527.3
    assert liquidation_map(state, "BTC") == [(494_980, usdt("49498")), (495_984, usdt("49598.4")),
                                             (995_273, usdt("199054.6"))]


def test_config_must_match_the_state_LIQ_CASCADE_2(impl):
    state, config = feedback_venue()
    with pytest.raises(MalformedState, match="liquidity role"):
        impl.run_cascade(state, CascadeConfig(config.path, config.books, book_account="alice"))
    with pytest.raises(MalformedState, match="same markets"):
        impl.run_cascade(state, CascadeConfig(config.path, {}, ))


def test_generators_fund_leverage_above_the_tier_maximum_LIQ_TIER_3(impl):
    """The cascade generators ask for leverage up to 60x, above what some tiers allow: 20,000 BTC
    lots (20 BTC, 1,000,000 USDT notional, tier 4: 5%, deduction 32,600 USDT) at 60x would post
    16,666.666666 + 1 USDT against an initial requirement of 5% x 1,000,000 - 32,600 = 17,400
    USDT and be rejected. open_at_leverage posts the requirement + 1 USDT instead, so a generator
    built on it never raises while drawing; where 60x is allowed it posts notional / 60 + 1."""
    state = venue(deposits={"t0": 0, "t1": 0})
    impl.open_account(state, "book", role=LIQUIDITY)
    open_at_leverage(state, "t0", "book", "BTC", 20_000, leverage=60)
    assert state.account("t0").position("BTC") == 20_000
    # the deposit less the purchase
    assert state.account("t0").quote == usdt("17401") - usdt("1000000")
    open_at_leverage(state, "t1", "book", "BTC", -100, leverage=60)  # 5,000 USDT, tier 1: 0.8%
    assert state.account("t1").quote == usdt("5000") // 60 + usdt("1") + usdt("5000")


@given(cascades())
@settings(max_examples=60)
def test_every_invariant_after_every_round_LIQ_CASCADE_2(impl, case):
    state, config = case
    rounds_seen = []

    def check(state, step, round_):
        assert all_violations(state) == [], (step, round_)
        rounds_seen.append((step, round_))

    result = impl.run_cascade(state, config, after_round=check)
    assert all_violations(result.state) == []
    assert len(rounds_seen) == result.summary.rounds  # the cascade ended, round by round
    for record in result.steps:
        assert record.insurance_fund_quote >= 0


@pytest.mark.reference_only
def test_generated_cascades_reach_every_path():
    """The generator above is not vacuous: its cascades take every path (one derandomized pass
    that stops once each kind of event has been seen)."""
    from hypothesis import Phase, find
    wanted = {"liquidation_fill", "adl_fill", "socialize", "backstop", "insurance_payout"}
    seen: set[str] = set()

    def every_path_seen(case) -> bool:
        seen.update(e.kind for e in REFERENCE.run_cascade(*case).events)
        return wanted <= seen

    find(cascades(), every_path_seen, settings=settings(
        max_examples=2000, database=None, derandomize=True, phases=[Phase.generate]))
    assert wanted <= seen, wanted - seen


def bankrupt_at_the_mark(impl, fund_quote, bids):
    """alice long 1 BTC from 50,000 with 1,000 USDT (quote -49,000 USDT), marked at 49,000.0:
    equity exactly 0. The BTC book is ``bids`` (no asks); the fund holds ``fund_quote``."""
    from liqspec.reference.state import Book
    state = venue(deposits={"alice": usdt("1000"), "carol": usdt("100000")},
                  insurance_quote=fund_quote)
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    impl.set_mark(state, "BTC", 490_000)
    state.books["BTC"] = Book("book", [list(level) for level in bids], [])
    return state, state.account("alice")


def test_fund_limited_walk_takes_whole_affordable_lots_LIQ_BOOK_2(impl):
    """A lot sold at 489,990, ten ticks under the mark, changes equity by 100 x (489,990 -
    490,000) = -1,000 quantums (a lot at a tick is worth 100). With equity 0 and a fund of 2,500
    quantums the largest t with 0 - 1,000 t >= -2,500 is t = floor(2.5) = 2, not 3 (which would
    leave a deficit of 3,000 the fund cannot pay). Rule: LIQ-BOOK-2."""
    state, alice = bankrupt_at_the_mark(impl, 2_500, [(489_990, 5)])
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == [(489_990, 2)]
    assert plan_order(state, alice, "BTC", 1000, within_fund=False) == [(489_990, 5)]
    assert not closable_within_fund(state, alice, "BTC")


def test_fund_limited_walk_carries_the_deficit_to_deeper_levels_LIQ_BOOK_2(impl):
    """Level 1 (489,990, 2 lots) loses 1,000 quantums a lot: 2 lots leave equity -2,000 >=
    -2,500. Level 2 (489,980) loses 2,000 a lot: from -2,000 the largest t with -2,000 - 2,000 t
    >= -2,500 is floor(500 / 2,000) = 0, so the walk stops after level 1. (Forgetting the first
    level's deficit would allow floor(2,500 / 2,000) = 1 lot there.) Rule: LIQ-BOOK-2."""
    state, alice = bankrupt_at_the_mark(impl, 2_500, [(489_990, 2), (489_980, 5)])
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == [(489_990, 2)]
    # a fund of 4,000 affords exactly one lot at level 2: -2,000 - 2,000 = -4,000 >= -4,000
    state, alice = bankrupt_at_the_mark(impl, 4_000, [(489_990, 2), (489_980, 5)])
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == [(489_990, 2),
                                                                       (489_980, 1)]


def test_band_bounds_round_toward_the_index_LIQ_MARK_2():
    """Index 1,001 ticks, band 0.5%: 1,001 x 0.995 = 995.995 and 1,001 x 1.005 = 1,006.005. The
    bounds round toward the index: the low one up to 996, the high one down to 1,006."""
    band = MarkRule("index_band", 5_000)
    assert next_mark(band, 1_001, 900, 1_001) == 996
    assert next_mark(band, 1_001, 1_100, 1_001) == 1_006
    assert next_mark(band, 1_001, 996, 1_001) == 996 and next_mark(band, 1_001, 1_006, 0) == 1_006
    from liqspec.reference.marks import opening_mark
    # basis carried from (index 1,000, mark 900): 1,001 - 100 = 901, clamped up to 996
    assert opening_mark(band, 1_001, 1_000, 900) == 996
    assert opening_mark(band, 1_001, 1_000, 1_100) == 1_006  # 1,101 clamped down to 1,006


def test_shock_path_rounds_each_index_down_LIQ_CASCADE_4():
    # 1,001 ticks falling 10% over 3 steps: 1,001 x (1 - 0.1 k / 3) = 967.63, 934.27, 900.9
    path = shock_path({"BTC": 1_001}, 100_000, 3, 1)
    assert path.index_ticks["BTC"] == (1_001, 967, 934, 900)


def test_mark_follows_the_last_fill_of_a_round_LIQ_MARK_2(impl):
    """Index 49,400 at step 1: alice (equity 600 - 600 = 0) and bob (700 - 600 = 100) are both
    below maintenance (0.4% x 49,400 = 197.6), alice first (0 / 197.6 < 100 / 197.6). Book 0.2%
    apart around 49,400.0: bids 49,301.2 (494,000 x 0.998 = 493,012), 49,202.4 (492,024).
    alice takes level 1 (deficit 98.8 USDT, paid by the fund), bob level 2 (deficit 97.6), in
    the same round. Under ``last_fill`` the mark is then the round's last fill, 492,024; the
    fund ends at 1,000 - 98.8 - 97.6 = 803.6 USDT."""
    state, config = feedback_venue()
    config = CascadeConfig(PricePath(5, {"BTC": (500_000, 494_000)}), config.books,
                           mark_rule=MarkRule("last_fill"))
    result = impl.run_cascade(state, config)
    fills = [(e.round, e.account, e.price_ticks) for e in result.events
             if e.kind == "liquidation_fill"]
    assert fills == [(1, "alice", 493_012), (1, "bob", 492_024)]
    assert result.state.marks["BTC"] == 492_024
    assert result.summary.lowest_mark_ticks == {"BTC": 492_024}
    assert result.summary.insurance_fund_end_quote == usdt("803.6")
    assert result.summary.insurance_fund_min_quote == usdt("803.6")  # LIQ-CASCADE-5


def test_liquidation_map_leaves_out_accounts_already_past_LIQ_CASCADE_6(impl):
    """At 49,400.0 alice (threshold 495,984) and bob (494,980) are already below their
    liquidation prices (a long is past when mark < ticks): only carol is left on the map."""
    state, _ = feedback_venue()
    impl.set_mark(state, "BTC", 494_000)
    assert liquidation_map(state, "BTC") == [(995_273, usdt("199054.6"))]


def test_fund_limited_walk_does_not_limit_fills_at_the_mark_LIQ_BOOK_2(impl):
    """A bid exactly at the mark changes equity by 0 a lot (d = 0): only levels with d < 0 are
    limited by the fund, so even with equity 0 and an empty fund all 5 lots are taken."""
    state, alice = bankrupt_at_the_mark(impl, 0, [(490_000, 5)])
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == [(490_000, 5)]
    state, alice = bankrupt_at_the_mark(impl, 1, [(490_000, 5)])
    assert plan_order(state, alice, "BTC", 1000, within_fund=True) == [(490_000, 5)]


def no_fee_profile():
    """The example venue with no liquidation fee, so that a partial close can leave surplus."""
    from dataclasses import replace

    from liqspec.reference import Profile
    base = example_profile()
    markets = {m: replace(market, liquidation_fee_ppm=0) for m, market in base.markets.items()}
    return Profile(name="toy_no_fee", quote_decimals=6, markets=markets)


def test_order_stops_once_the_account_is_healthy_LIQ_BOOK_2_LIQ_INV_5(impl):
    """alice long 2 BTC from 50,000 with 1,500 USDT, marked at 49,400.0: equity 1,500 - 1,200 =
    300 < maintenance 0.5% x 98,800 - 50 = 444. Her order plans both bids (49,390.0 and
    49,380.0, 1 BTC each). After the first she holds 1 BTC: equity 300 - 10 = 290 (no fee) >=
    0.4% x 49,400 = 197.6, so the order stops: 1,000 lots filled, the second level left."""
    from liqspec.reference.book import market_liquidate
    from liqspec.reference.state import Book
    state = venue(no_fee_profile(), deposits={"alice": usdt("1500"), "carol": usdt("100000")})
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 2000)
    impl.set_mark(state, "BTC", 494_000)
    state.books["BTC"] = Book("book", [[493_900, 1000], [493_800, 1000]], [])
    receipt = market_liquidate(state, "alice", "BTC")
    assert receipt.amounts["lots"] == 1000
    assert state.account("alice").positions == {"BTC": 1000}
    assert state.account("alice").quote == usdt("1500") - usdt("100000") + usdt("49390")
    assert state.books["BTC"].bids == [[493_800, 1000]]


def test_each_market_of_an_account_in_id_order_LIQ_CASCADE_3(impl):
    """alice long 1 BTC from 50,000 and 10 ETH from 3,000 with 1,000 USDT (no fee). At step 1
    BTC's index is 49,300.0, ETH's 3,000.00: equity 1,000 - 700 = 300 < maintenance 0.4% x
    49,300 + 0.5% x 30,000 = 197.2 + 150 = 347.2. Markets go in ID order: BTC first, sold at
    the best bid 493,000 x 0.998 = 492,014 ticks (a further 98.6 loss): equity 201.4 >= 150,
    ETH's requirement alone, so she is healthy and keeps her ETH. (ETH first would sell it
    at 2,994.00, leaving 240 >= 197.2, and keep the BTC.)"""
    state = venue(no_fee_profile(), deposits={"alice": usdt("1000"), "carol": usdt("100000")})
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    open_long(state, "alice", "carol", "ETH", 1000)
    config = CascadeConfig(PricePath(5, {"BTC": (500_000, 493_000), "ETH": (300_000, 300_000)}),
                           {"BTC": BookShape(3, 2_000, 1_000), "ETH": BookShape(3, 2_000, 1_000)},
                           mark_rule=MarkRule("last_fill"))
    result = impl.run_cascade(state, config)
    fills = [(e.market, e.lots, e.price_ticks) for e in result.events
             if e.kind == "liquidation_fill"]
    assert fills == [("BTC", -1000, 492_014)]
    assert result.state.account("alice").positions == {"ETH": 1000}


def test_a_market_without_a_book_is_deleveraged_only_when_bankrupt_LIQ_CASCADE_3(impl):
    """alice is long 1 ETH from 3,000.00 with 40 USDT; ETH's mark falls to 2,970.00: equity
    40 - 30 = 10 USDT < maintenance 0.5% x 2,970 = 14.85, so she is liquidatable, but not
    bankrupt. The scenario's path and books cover BTC only, so ETH has no book: no order can be
    placed, and LIQ-ADL-1 does not allow deleveraging an account with equity >= 0. She stays as
    she is and is reported unresolved; the run does not stop."""
    state = venue(deposits={"alice": usdt("40"), "carol": usdt("100000")})
    impl.open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "ETH", 100)
    impl.set_mark(state, "ETH", 297_000)
    config = CascadeConfig(PricePath(5, {"BTC": (500_000, 500_000)}),
                           {"BTC": BookShape(3, 2_000, 1_000)})
    result = impl.run_cascade(state, config)
    assert [(e.kind, e.account) for e in result.events if e.kind != "step"] == [
        ("unresolved", "alice")]
    assert result.summary.unresolved_accounts == 1 and result.summary.adl_lots == 0
    assert result.state.account("alice").positions == {"ETH": 100}
    assert all_violations(result.state) == []


def _drawdown_trace(impl, **kwargs):
    state, config = drawdown_venue(**kwargs)
    result = impl.run_cascade(state, config)
    return result, [(e.step, e.kind, e.account, e.lots, e.price_ticks, e.quote)
                    for e in result.events if e.kind not in ("step", "mark")]


#: step 0 of drawdown_venue, whatever the rule: alice sells 1 BTC to the book at 48,902.0 and the
#: fund pays her deficit of 98 USDT
ALICE_TO_THE_BOOK = [(0, "liquidation_fill", "alice", -1000, 489_020, usdt("48902")),
                     (0, "insurance_payout", "alice", 0, None, usdt("98"))]


def test_in_drawdown_a_liquidation_goes_to_deleveraging_at_the_mark_LIQ_ADL_5(impl):
    """The fund fell from 100 to 2 USDT in step 0; 5 s later, within the hour's window, its peak
    is still 100: (100 - 2) x 10^6 >= 300,000 x 100. bob's 1 BTC goes to carol at the mark,
    48,000.0, for 48,000 USDT, leaving him 100 USDT and nothing for the fund: no book fill, no
    fee."""
    result, trace = _drawdown_trace(impl)
    assert trace == ALICE_TO_THE_BOOK + [(1, "adl_fill", "bob", -1000, 480_000, usdt("48000"))]
    bob = result.state.account("bob")
    assert bob.quote == usdt("100") and bob.is_flat()
    assert result.state.account("carol").positions == {"BTC": -1000}
    assert [step.insurance_fund_quote for step in result.steps] == [usdt("2"), usdt("2")]
    assert result.summary.adl_lots == 1000 and result.summary.liquidation_fills == 1


def test_without_drawdown_the_same_liquidation_goes_to_the_book_LIQ_ADL_5(impl):
    """The control: without the rule, or with a 4 s window (at 5 s the peak of 100, sampled at
    0 s, has left it, and the peak is the fund's own 2 USDT), bob sells to the book at 47,904.0
    and pays the fund what is left of his equity, 4 USDT (100 - 96), as the fee."""
    for kwargs in ({"drawdown_ppm": 0}, {"window_s": 4}):
        result, trace = _drawdown_trace(impl, **kwargs)
        assert trace == ALICE_TO_THE_BOOK + [
            (1, "liquidation_fill", "bob", -1000, 479_040, usdt("47904")),
            (1, "fee", "bob", 0, None, usdt("4"))], kwargs
        assert result.state.holders[INSURANCE_FUND] == usdt("6"), kwargs
        assert result.summary.adl_lots == 0, kwargs


@pytest.mark.rule("LIQ-ADL-5")
def test_a_run_given_the_funds_history_sees_a_drawdown_begun_before_it_LIQ_ADL_5(impl):
    """The same venue given the fund's history: 150 USDT ten minutes before the run. At step 0
    the fund's 100 is (150 - 100) / 150 = 33% below that peak, so the run is in drawdown from
    its first round: alice, at equity 0, goes to carol at the mark, 49,000.0, with no deficit for
    the fund to pay, and bob follows at 48,000.0; the fund keeps its 100. A history 30% above
    the fund at most (142.85 USDT, a fall of 29.99%) changes nothing, nor does one that has left
    the window (an hour and a second before)."""
    from dataclasses import replace as with_
    state, config = drawdown_venue()
    result = impl.run_cascade(state, with_(config, fund_history=((600, usdt("150")),)))
    trace = [(e.step, e.kind, e.account, e.lots, e.price_ticks, e.quote)
             for e in result.events if e.kind not in ("step", "mark")]
    assert trace == [(0, "adl_fill", "alice", -1000, 490_000, usdt("49000")),
                     (1, "adl_fill", "bob", -1000, 480_000, usdt("48000"))]
    assert result.state.holders[INSURANCE_FUND] == usdt("100")
    assert all_violations(result.state) == []
    baseline, _ = _drawdown_trace(impl)
    for history in (((600, usdt("142.85")),), ((3601, usdt("150")),)):
        other = impl.run_cascade(state, with_(config, fund_history=history))
        assert other.events == baseline.events, history


@pytest.mark.rule("LIQ-ADL-5")
@pytest.mark.parametrize("history, message", [
    (((5, 100), (5, 90)), "seconds_before must decrease"),
    (((0, 100),), "seconds_before must be in 1..2"),
    (((5, -1),), "the balance in 0..2"),
    (((5, 100, 3),), "expected \\(seconds_before, balance\\)"),
])
def test_a_bad_fund_history_is_refused_before_the_run_LIQ_ADL_5(impl, history, message):
    """A history not oldest first, at a time not before the run, with a negative balance or
    not a pair, is MALFORMED_STATE before anything runs; so is any history for a profile
    without the drawdown rule."""
    from dataclasses import replace as with_
    state, config = drawdown_venue()
    with pytest.raises(MalformedState, match=message):
        impl.run_cascade(state, with_(config, fund_history=history))
    state, config = drawdown_venue(drawdown_ppm=0)
    with pytest.raises(MalformedState, match="no drawdown rule"):
        impl.run_cascade(state, with_(config, fund_history=((5, 100),)))


def test_the_fund_window_keeps_the_peak_of_its_span_LIQ_ADL_5():
    """FundWindow by hand (a 100 s window): a sample no larger than a later one can never be the
    peak again and is dropped; a sample older than the window is dropped when the clock passes
    it; before any sample the peak is 0."""
    window = FundWindow(100)
    assert window.peak(0) == 0
    peaks = []
    for time_s, balance in [(0, 1_000), (10, 900), (20, 1_200), (50, 800), (120, 700),
                            (121, 700), (151, 650)]:
        window.sample(time_s, balance)
        peaks.append(window.peak(time_s))
    # at 120 the window starts at 20: 1,200 (sampled at 20) still counts; at 121 it has left
    assert peaks == [1_000, 1_000, 1_200, 1_200, 1_200, 800, 700]
    assert list(window.samples) == [(121, 700), (151, 650)]
