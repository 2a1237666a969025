"""Cascades the suite shares: a hand-computed feedback cascade and a generator of small random
ones (hypothesis; needs the ``test`` extra), built with the reference's builders, run by the
tests on each implementation (tests/test_cascade.py) and on both at once
(tests/test_fast_cascade.py)."""

from hypothesis import strategies as st

from liqspec.reference import open_account
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.state import BACKSTOP, LIQUIDITY
from liqspec.testing import open_at_leverage, open_long, example_profile, usdt, venue


def feedback_venue(mark_rule="last_fill", insurance="1000"):
    """alice and bob long 1 BTC from 50,000 with 600 and 700 USDT; carol holds the short."""
    state = venue(deposits={"alice": usdt("600"), "bob": usdt("700"), "carol": usdt("100000")},
                  insurance_quote=usdt(insurance))
    open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    open_long(state, "bob", "carol", "BTC", 1000)
    config = CascadeConfig(path=PricePath(5, {"BTC": (500_000, 495_000)}),
                           books={"BTC": BookShape(3, 2_000, 1_000)},
                           mark_rule=MarkRule(mark_rule, 5_000))
    return state, config


def drawdown_venue(window_s=3600, drawdown_ppm=300_000):
    """LIQ-ADL-5's hand-computed cascade: alice and bob long 1 BTC from 50,000 with 1,000 and
    2,100 USDT, carol short, a fund of 100 USDT, marks pinned to the index (band 0), bids 0.2%
    apart. Step 0 (index 49,000): alice, at equity 0, sells to the book at 48,902.0 and the
    fund pays her 98 USDT deficit, falling to 2 (98% from its peak, 100). Step 1 (5 s later,
    index 48,000): bob (equity 100 < maintenance 192) goes to deleveraging at the mark while the
    fund is in drawdown; without the rule, or once the window no longer holds the peak, he
    sells to the book at 47,904.0 instead."""
    profile = example_profile(adl_drawdown_ppm=drawdown_ppm,
                              adl_drawdown_window_s=window_s if drawdown_ppm else 0)
    state = venue(profile, deposits={"alice": usdt("1000"), "bob": usdt("2100"),
                                     "carol": usdt("100000")}, insurance_quote=usdt("100"))
    open_account(state, "book", role=LIQUIDITY)
    open_long(state, "alice", "carol", "BTC", 1000)
    open_long(state, "bob", "carol", "BTC", 1000)
    config = CascadeConfig(PricePath(5, {"BTC": (490_000, 480_000)}),
                           {"BTC": BookShape(3, 2_000, 1_000)},
                           mark_rule=MarkRule("index_band", 0))
    return state, config


@st.composite
def cascades(draw):
    """A venue of 2 to 6 traders, a book account and a vault, every policy family, and a
    one-market cascade over it: a falling price path, a book shape and a mark rule."""
    policies = draw(st.sampled_from([
        {}, {"bad_debt_policy": "socialize"},
        # Drift v2's socialization: the loss charged to the longs and the shorts of the market
        {"bad_debt_policy": "socialize_both_sides", "liquidation_size": "portion",
         "portion_ppm": 500_000, "portion_threshold_quote": 0},
        {"liquidation_size": "portion", "portion_ppm": 250_000,
         "portion_threshold_quote": usdt("1000")},
        {"liquidation_size": "tier_step", "fee_policy": "all_surplus", "adl_ranking": "pro_rata"},
        # OKX's two tiers a step from the third tier (LIQ-EXEC-3)
        {"liquidation_size": "two_tier_step", "trigger": "at_or_below"},
        # OKX's deleveraging at the mark while the fund is 30% below its peak (LIQ-ADL-5)
        {"liquidation_size": "two_tier_step", "trigger": "at_or_below",
         "adl_drawdown_ppm": 300_000, "adl_drawdown_window_s": 3},
        {"backstop_ratio": (2, 3), "adl_price": "mark"},
        # isolated accounts with maintenance on the entry value (LIQ-TIER-6), as Bybit's
        {"maintenance_basis": "entry", "liquidation_size": "tier_step",
         "fee_policy": "all_surplus"},
        # Drift v2's liquidation to cover the shortage through the book (LIQ-SHORTAGE-1)
        {"liquidation_size": "cover_shortage", "fee_policy": "liquidator_and_fund",
         "liquidation_buffer_ppm": 20_000, "liquidator_fee_ppm": 10_000,
         "bad_debt_policy": "socialize_both_sides"},
        # Paradex's liquidation by account share: the vault takes the shares (LIQ-SHARE-2)
        {"liquidation_size": "account_share", "fee_policy": "maintenance_share",
         "portion_ppm": 200_000, "share_target_ppm": 900_000,
         "bad_debt_policy": "socialize"}]))
    profile = example_profile(**policies)
    n = draw(st.integers(2, 6))
    state = venue(profile, insurance_quote=draw(st.integers(0, usdt("500"))))
    isolated = "BTC" if profile.maintenance_basis == "entry" else None
    for i in range(n):
        open_account(state, f"t{i}", isolated_market=isolated)
    open_account(state, "book", role=LIQUIDITY)
    open_account(state, "vault", role=BACKSTOP)
    for i in range(n):
        account = f"t{i}"
        lots = draw(st.integers(1, 3000)) * draw(st.sampled_from([1, -1]))
        # above the tier's maximum leverage the margin is raised to the tier's requirement
        open_at_leverage(state, account, "book", "BTC", lots, leverage=draw(st.integers(2, 60)))
    drops = draw(st.lists(st.integers(0, 40_000), min_size=1, max_size=6))
    path, price = [500_000], 500_000
    for drop in drops:
        price = price * (1_000_000 - drop) // 1_000_000
        path.append(price)
    config = CascadeConfig(PricePath(1, {"BTC": tuple(path)}),
                           {"BTC": BookShape(draw(st.integers(1, 20)), draw(st.integers(100, 5000)),
                                             draw(st.integers(1, 2000)))},
                           backstop_vault="vault" if "backstop_ratio" in policies
                           or "share_target_ppm" in policies else None,
                           mark_rule=MarkRule(draw(st.sampled_from(["index_band", "last_fill"])),
                                              draw(st.integers(0, 50_000))),
                           # LIQ-ADL-5: the fund before the run, under the drawdown rule
                           fund_history=tuple(zip(
                               sorted(draw(st.sets(st.integers(1, 5), max_size=3)), reverse=True),
                               draw(st.lists(st.integers(0, usdt("1000")), min_size=3,
                                             max_size=3))))
                           if "adl_drawdown_ppm" in policies else ())
    return state, config
