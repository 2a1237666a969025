"""The seeded synthetic book (liqspec.synthetic): deterministic for a seed, exact integers, and
every account healthy (at or above initial margin) at the start price.

binance_usdm BTCUSDT: one lot (0.001 BTC) at one tick (0.01 USDT) is 10 quote quantums; at
60,000 USDT (6,000,000 ticks) one lot is worth 60,000,000 quantums (60 USDT). Tier 1 (notional
below 50,000 USDT): maintenance 0.4%, initial 0.8% (at most 125x).
"""

import pytest

from liqspec.positions import build_state
from liqspec.reference import PPM, all_violations, get_profile
from liqspec.reference.profile import Market, OpenInterestScaling, Profile, Tier
from liqspec.reference.state import TRADER
from liqspec.synthetic import SyntheticError, generate_book

BINANCE = get_profile("binance_usdm")
USDT = 10**6
START = 6_000_000  # 60,000 USDT in ticks
ONE_LOT = START * 10  # quote quantums per lot at the start price


#: a venue whose initial margin scales with open interest (LIQ-TIER-4): 10% at or below 1,000 USDT
#: of open interest, rising linearly to 100% at 100,000,000 USDT
OI_SCALED = Profile(name="oi-scaled", quote_decimals=6, markets={"X": Market(
    "X", 3, 2, (Tier(0, 50_000, 0, 100_000, 0),),
    oi_scaling=OpenInterestScaling(1_000 * USDT, 100_000_000 * USDT))})


def book(seed=7, profile=BINANCE, market="BTCUSDT", start=START, **overrides):
    params = dict(accounts=500, notional_median_quote=10_000 * USDT)
    params.update(overrides)
    return generate_book(profile, market, start, seed, **params)


def test_same_seed_same_book_LIQ_INV_10():
    """Rule: LIQ-INV-10 (determinism): the same seed and parameters give the same rows."""
    assert book(seed=7) == book(seed=7)
    assert book(seed=(7, 0)) == book(seed=(7, 0))


def test_different_seeds_different_books():
    a, b = book(seed=7), book(seed=8)
    assert [r.account_id for r in a] == [r.account_id for r in b]
    # Each field is drawn independently; two seeds agreeing on most rows would mean the seed
    # is ignored somewhere.
    same = sum(x == y for x, y in zip(a, b))
    assert same < len(a) // 10
    assert {r.size_lots for r in a} != {r.size_lots for r in b}


def test_values_are_exact_integers():
    for row in book():
        for value in (row.wallet_quote, row.size_lots, row.entry_price_ticks):
            assert type(value) is int


@pytest.mark.parametrize("profile,market,start,overrides", [
    (BINANCE, "BTCUSDT", START, {}),
    (BINANCE, "BTCUSDT", START, {"notional_sigma_ppm": 2 * PPM, "entry_spread_ppm": 100_000}),
    # drawn leverage 100x..1000x, above the 125x tier-1 maximum: initial margin must win
    (BINANCE, "BTCUSDT", START, {"leverage_min_ppm": 100 * PPM, "leverage_max_ppm": 1000 * PPM}),
    # large notionals reach the higher tiers (up to 2,000,000 USDT: 5% IMR)
    (BINANCE, "BTCUSDT", START, {"notional_median_quote": 500_000 * USDT,
                                 "notional_max_quote": 2_000_000 * USDT}),
    # short-heavy, and a market with open-interest-scaled initial margin (LIQ-TIER-4)
    (get_profile("dydx_v4"), "BTC-USD", 60_000, {"long_fraction_ppm": 200_000,
                                                 "notional_median_quote": 200_000 * USDT,
                                                 "leverage_max_ppm": 100 * PPM}),
    (get_profile("hyperliquid"), "ETH", 300_000, {"isolated_fraction_ppm": 500_000}),
    # open-interest-scaled initial margin: the book's open interest is its larger side, here the
    # shorts (20% long), which the wallets must be sized for (LIQ-TIER-4)
    (OI_SCALED, "X", START, {"long_fraction_ppm": 200_000, "leverage_min_ppm": 50 * PPM,
                             "leverage_max_ppm": 100 * PPM}),
    (OI_SCALED, "X", START, {"long_fraction_ppm": 800_000, "leverage_min_ppm": 50 * PPM,
                             "leverage_max_ppm": 100 * PPM}),
])
def test_every_account_is_healthy_at_the_start_price_LIQ_TIER_3_LIQ_MARGIN_5(impl, profile, market,
                                                                            start, overrides):
    """Rule: LIQ-TIER-3, LIQ-TIER-4, LIQ-MARGIN-5: every generated account meets its initial
    requirement at the start price, at the open interest of the finished book (free collateral
    >= 0), so none is liquidatable (LIQ-TRIGGER-1) before the shock."""
    rows = book(profile=profile, market=market, start=start, **overrides)
    marks = {m: start for m in profile.markets}
    state = build_state(profile, marks, rows)
    assert all_violations(state) == []
    traders = [a for a in state.accounts.values() if a.role == TRADER]
    assert len(traders) == len(rows)
    for account in traders:
        assert impl.free_collateral_quote(state, account) >= 0, account.account_id
        assert not impl.is_liquidatable(account, state), account.account_id


def test_wallet_is_notional_over_leverage_by_hand():
    """Leverage fixed at 10x, sigma 0 (every notional the median, 6,000 USDT), no entry spread:
    size = 6,000 USDT / 60 USDT per lot = 100 lots; wallet = ceil(6,000 / 10) = 600 USDT, above
    the tier-1 initial margin of 0.8% x 6,000 = 48 USDT."""
    rows = book(accounts=20, leverage_min_ppm=10 * PPM, leverage_max_ppm=10 * PPM,
                notional_median_quote=6_000 * USDT, notional_sigma_ppm=0, entry_spread_ppm=0,
                long_fraction_ppm=PPM)
    assert {(r.size_lots, r.entry_price_ticks, r.wallet_quote) for r in rows} == {
        (100, START, 600 * USDT)}


def test_wallet_rounds_up_so_leverage_never_exceeds_the_draw():
    """Leverage fixed at 7x on 6,000 USDT: 6,000,000,000 / 7 = 857,142,857.14... quote quantums,
    rounded up to 857,142,858 (rounded down, the account would be above 7x)."""
    rows = book(accounts=5, leverage_min_ppm=7 * PPM, leverage_max_ppm=7 * PPM,
                notional_median_quote=6_000 * USDT, notional_sigma_ppm=0, entry_spread_ppm=0)
    assert {r.wallet_quote for r in rows} == {857_142_858}


def test_wallet_never_exceeds_the_tier_max_leverage_LIQ_TIER_3():
    """Rule: LIQ-TIER-3. Drawn leverage 200x on a 125x tier: the wallet is the initial margin,
    ceil(6,000 USDT x 0.8%) = 48 USDT, not 6,000 / 200 = 30 USDT."""
    rows = book(accounts=5, leverage_min_ppm=200 * PPM, leverage_max_ppm=200 * PPM,
                notional_median_quote=6_000 * USDT, notional_sigma_ppm=0, entry_spread_ppm=0)
    assert {(abs(r.size_lots), r.wallet_quote) for r in rows} == {(100, 48 * USDT)}


def test_an_entry_at_a_loss_adds_the_loss_to_the_wallet():
    """Leverage 10x, notional 6,000 USDT (100 lots), entries within 2%: a long that entered
    above the start price (or a short below it) holds the loss on top of its 600 USDT margin:
    wallet = 600 USDT + 100 lots x (entry - start) ticks x 10 for a long."""
    rows = book(accounts=200, leverage_min_ppm=10 * PPM, leverage_max_ppm=10 * PPM,
                notional_median_quote=6_000 * USDT, notional_sigma_ppm=0)
    losers = 0
    for r in rows:
        side = 1 if r.size_lots > 0 else -1
        loss = max(0, side * 100 * (r.entry_price_ticks - START) * 10)
        losers += loss > 0
        assert r.wallet_quote == 600 * USDT + loss
    assert 0 < losers < len(rows)


def test_entries_sizes_and_notional_clamp_stay_in_range():
    rows = book(accounts=2_000, entry_spread_ppm=20_000, notional_sigma_ppm=3 * PPM,
                notional_max_quote=100_000 * USDT)
    for r in rows:
        # within 60,000 x (1 +- 2%) = 58,800 .. 61,200 USDT
        assert 5_880_000 <= r.entry_price_ticks <= 6_120_000
        assert 1 <= abs(r.size_lots) and abs(r.size_lots) * ONE_LOT <= 100_000 * USDT
    # sigma 3 puts many draws above the cap: the cap is reached, exactly (rounded down to lots)
    assert max(abs(r.size_lots) for r in rows) == 100_000 * USDT // ONE_LOT


def test_long_fraction_and_isolated_fraction():
    assert all(r.size_lots > 0 for r in book(long_fraction_ppm=PPM))
    assert all(r.size_lots < 0 for r in book(long_fraction_ppm=0))
    rows = book(accounts=3_000, long_fraction_ppm=700_000)
    longs = sum(r.size_lots > 0 for r in rows)
    assert 0.66 * 3_000 < longs < 0.74 * 3_000  # binomial: sd = sqrt(3000 x .7 x .3) = 25
    assert all(r.isolated_market is None for r in rows)
    assert all(r.isolated_market == "BTCUSDT" for r in book(isolated_fraction_ppm=PPM))


def test_account_ids_are_zero_padded_and_prefixed():
    rows = book(accounts=12)
    assert [r.account_id for r in rows[:2]] == ["btcusdt-01", "btcusdt-02"]
    assert rows[-1].account_id == "btcusdt-12"
    assert book(accounts=3, account_prefix="t")[2].account_id == "t3"


@pytest.mark.parametrize("overrides,parameter", [
    ({"accounts": 0}, "accounts"),
    ({"long_fraction_ppm": PPM + 1}, "long_fraction_ppm"),
    ({"leverage_min_ppm": 0}, "leverage_min_ppm"),
    ({"leverage_max_ppm": PPM}, "leverage_max_ppm"),  # below the default 2x minimum
    ({"leverage_distribution": "normal"}, "leverage_distribution"),
    ({"notional_median_quote": 0}, "notional_median_quote"),
    ({"notional_max_quote": 59 * USDT}, "notional_max_quote"),  # less than one lot
    ({"entry_spread_ppm": PPM}, "entry_spread_ppm"),
])
def test_bad_parameters_are_named(overrides, parameter):
    with pytest.raises(SyntheticError) as caught:
        book(**overrides)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")
