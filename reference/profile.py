"""The venue profile's schema: markets, margin tiers, the named policies and their validation
(LIQ-TIER-1, LIQ-PROFILE-1, LIQ-DOMAIN-2).

A :class:`Profile` is data: parameters and named policies. The published venues built from it live
in :mod:`.profiles`; the state a profile governs lives in :mod:`.state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from .arithmetic import INT64_MAX, PPM, checked, require_int
from .errors import MalformedState, UnknownMarket
from .rules import implements
from .units import quote_per_lot_tick


#: the largest rate_scale (LIQ-TIER-7): a rate's numerator stays below 10^6 x this, so a notional
#: of 2^64 quantums times it fits 128 bits in the compiled engine
MAX_RATE_SCALE = 10**6


@dataclass(frozen=True)
class Tier:
    """One bracket of a tiered margin table (LIQ-TIER-1).

    A tier applies to a position whose notional is at least ``floor_notional_quote`` and below the
    next tier's floor. The deduction terms keep each requirement continuous across brackets
    (Binance's "maintenance amount" / ``cum``, Hyperliquid's "maintenance deduction").

    The rates are in millionths and the deductions in quote quantums, both divided by the market's
    ``rate_scale`` (1 for every venue whose rates are decimals): Hyperliquid's 15x tier has the
    maintenance rate 1/30, which is 100_000 / 3 ppm, so its market has ``rate_scale`` 3 and the
    tier ``maint_margin_ppm`` 100_000 (LIQ-TIER-7).
    """

    floor_notional_quote: int
    maint_margin_ppm: int
    maint_deduction_quote: int = 0
    init_margin_ppm: int = 0
    init_deduction_quote: int = 0
    #: the tier's floor in lots where the market's tiers are keyed by position size
    #: (``tier_basis`` size, LIQ-TIER-8; OKX's "Min. amount (Cont)"); 0 under the notional basis
    floor_lots: int = 0


@dataclass(frozen=True)
class OpenInterestScaling:
    """dYdX v4 open-interest-scaled initial margin (LIQ-TIER-4).

    Between the lower and upper open-interest caps (quote quantums of open notional), the initial
    margin fraction rises linearly from the tier's fraction to 100%.
    """

    lower_cap_quote: int
    upper_cap_quote: int


@dataclass(frozen=True)
class Market:
    """A perpetual market and its margin parameters: linear (the default), or inverse, a lot of
    fixed face value margined in the coin, which the model prices in the coin (LIQ-INVERSE-1)."""

    market_id: str
    base_decimals: int
    price_decimals: int
    tiers: tuple[Tier, ...]
    liquidation_fee_ppm: int = 0
    min_maint_margin_quote: int = 0
    oi_scaling: OpenInterestScaling | None = None
    #: quote quantums per lot per tick; set by the owning Profile from its quote decimals
    value_per_lot_tick: int = 0
    #: the tiers' rates are in 1 / (10^6 x rate_scale) and their deductions in quote quantums /
    #: rate_scale: a venue that defines a rate as a fraction (1/30) gets it exactly (LIQ-TIER-7)
    rate_scale: int = 1
    #: the liquidator's fee of the fill's notional, paid by the liquidated account to the
    #: counterparty under the liquidator_and_fund fee policy (LIQ-FEE-3; Drift's liquidator_fee)
    liquidator_fee_ppm: int = 0
    #: what a position's tier is chosen by: its notional (LIQ-TIER-1) or its size in lots
    #: (LIQ-TIER-8; OKX keys its tiers by the number of contracts)
    tier_basis: str = "notional"
    #: linear (value lots x price in the quote asset) or inverse (LIQ-INVERSE-1)
    kind: str = "linear"
    #: inverse only: a lot's fixed face value in whole units of the venue's price currency
    #: (XBTUSD: a lot of 100 contracts of 1 USD is 100); 0 for a linear market
    face_per_lot: int = 0
    #: inverse only: the decimals of the venue's price (0.1 USD a tick is 1); the model's own
    #: price of an inverse market is coin quantums per lot (LIQ-INVERSE-1)
    venue_price_decimals: int = 0
    #: inverse only: the venue's price increment, in venue ticks (Bybit BTCUSD: 0.5 USD, 5 ticks
    #: of 0.1), at which it prints a threshold (LIQ-INVERSE-3); 1 where it is the venue tick
    order_tick: int = 1

    def tier_floors(self) -> tuple[int, ...]:
        """The tiers' floors on the market's basis: quote quantums, or lots (LIQ-TIER-8)."""
        if self.tier_basis == TierBasis.SIZE:
            return tuple(t.floor_lots for t in self.tiers)
        return tuple(t.floor_notional_quote for t in self.tiers)


class Policy(StrEnum):
    """A named policy. Each member equals its string, the word TOML, JSON and the codec carry,
    and prints as it (so a profile reads as it is written)."""

    def __repr__(self) -> str:
        return repr(self.value)


class LiquidationSize(Policy):
    """How much of a position one liquidation closes (LIQ-EXEC-1)."""

    FULL = "full"  # close the whole position at once
    PORTION = "portion"  # close a fixed fraction of large positions (Hyperliquid: 20%)
    TIER_STEP = "tier_step"  # reduce to the next lower tier's floor (Binance, Bybit)
    # from the third tier up, reduce two tiers a step, unless the account is past its trigger
    # even at the first tier's rate; the whole position otherwise (LIQ-EXEC-3; OKX)
    TWO_TIER_STEP = "two_tier_step"
    # every position of the account by one share, a multiple of portion_ppm, the smallest that
    # brings the margin ratio below share_target_ppm (LIQ-SHARE-1; Paradex: 20%, below 90%)
    ACCOUNT_SHARE = "account_share"
    # the fewest lots whose close at the mark, less the fees of LIQ-FEE-3 and LIQ-FEE-4, covers
    # the margin shortage of LIQ-SHORTAGE-1 (Drift v2); the whole position when it is worth at
    # most portion_threshold_quote
    COVER_SHORTAGE = "cover_shortage"


class FeePolicy(Policy):
    """What the insurance fund takes from a liquidation (LIQ-FEE-1, LIQ-FEE-2)."""

    RATE = "rate"  # fee = min(rate * fill notional, remaining surplus)  (Binance, Hyperliquid)
    ALL_SURPLUS = "all_surplus"  # everything above bankruptcy goes to the fund (BitMEX, Bybit)
    # the fill's insurance fund delta (LIQ-FEE-2): fee = min(floor(rate * |fill quote|), delta)
    # when positive, the fund pays at once when negative  (dYdX v4)
    PER_FILL = "per_fill"
    # a share liquidation's penalty: the share of each market's liquidation_fee_ppm of its
    # maintenance requirement (LIQ-SHARE-1; Paradex); goes with liquidation_size account_share
    MAINTENANCE_SHARE = "maintenance_share"
    # the liquidator's fee to the counterparty (LIQ-FEE-3) and the fund's fee at the rate the
    # shortage implies (LIQ-FEE-4; Drift v2); goes with liquidation_size cover_shortage
    LIQUIDATOR_AND_FUND = "liquidator_and_fund"


class BadDebtPolicy(Policy):
    """Who bears a loss the insurance fund cannot cover (LIQ-ADL-1, LIQ-SOCIAL-1)."""

    ADL = "adl"
    SOCIALIZE = "socialize"  # charged to the other side of the bankrupt position (LIQ-SOCIAL-2)
    # charged to both sides of its market, pro rata to lots (LIQ-SOCIAL-2; Drift v2 moves the
    # cumulative funding rates of the longs and of the shorts against both)
    SOCIALIZE_BOTH_SIDES = "socialize_both_sides"


#: the bad-debt policies that charge a recorded loss to traders instead of deleveraging
SOCIALIZING = (BadDebtPolicy.SOCIALIZE, BadDebtPolicy.SOCIALIZE_BOTH_SIDES)


class DisplayRounding(Policy):
    """How a venue rounds a price for display (LIQ-PRICE-4)."""

    HALF_UP = "half_up"  # ties away from zero
    HALF_EVEN = "half_even"  # ties to even
    DOWN = "down"  # truncation toward zero


class AdlRanking(Policy):
    """How auto-deleveraging orders its counterparties (LIQ-ADL-2); see :mod:`.deleveraging`."""

    PNL_LEVERAGE = "pnl_leverage"
    PNL_MARGIN_RATIO = "pnl_margin_ratio"
    PRICE_RATIO_LEVERAGE = "price_ratio_leverage"
    SEEDED = "seeded"
    PRO_RATA = "pro_rata"


class MaintenanceBasis(Policy):
    """The notional a position's maintenance requirement is taken on (LIQ-TIER-6)."""

    MARK = "mark"  # the notional at the mark (every venue's cross margin; Binance, dYdX, ...)
    ENTRY = "entry"  # an isolated position's entry value, its cost basis (Bybit Standard)


class MarketKind(Policy):
    """How a market's contract is valued (LIQ-INVERSE-1); a market's, not a profile's."""

    LINEAR = "linear"  # lots of the base asset, valued and margined in the quote asset
    INVERSE = "inverse"  # lots of fixed face value, valued and margined in the coin


class TierBasis(Policy):
    """What a market's tiers are keyed by (LIQ-TIER-1, LIQ-TIER-8); a market's, not a profile's."""

    NOTIONAL = "notional"  # the notional the requirement is taken on (every venue but OKX)
    SIZE = "size"  # the position's size in lots, whatever the price (OKX: contracts)


class Trigger(Policy):
    """When an account is liquidatable (LIQ-TRIGGER-1, LIQ-TRIGGER-3)."""

    BELOW = "below"  # equity strictly below maintenance (dYdX, Hyperliquid, ...)
    AT_OR_BELOW = "at_or_below"  # equal to or less than maintenance (OKX's margin ratio <= 100%)


class AdlPrice(Policy):
    """The price auto-deleveraging executes at (LIQ-ADL-4)."""

    BANKRUPTCY = "bankruptcy"
    MARK = "mark"


@dataclass(frozen=True)
class Profile:
    """A venue profile: parameters and named policies (LIQ-PROFILE-1)."""

    name: str
    quote_decimals: int
    markets: Mapping[str, Market]
    liquidation_size: str = LiquidationSize.FULL
    portion_ppm: int = PPM
    portion_threshold_quote: int = 0
    #: account_share: the margin ratio (maintenance / equity, in ppm) a share must bring the
    #: account strictly below (LIQ-SHARE-1; Paradex 90%)
    share_target_ppm: int = PPM
    #: cover_shortage: the buffer on the notional at the mark the shortage is measured against,
    #: in ppm (LIQ-SHORTAGE-1; Drift's liquidation_margin_buffer_ratio, 2%)
    liquidation_buffer_ppm: int = 0
    fee_policy: str = FeePolicy.RATE
    maintenance_basis: str = MaintenanceBasis.MARK  # LIQ-TIER-6
    trigger: str = Trigger.BELOW  # LIQ-TRIGGER-1, LIQ-TRIGGER-3
    backstop_ratio: tuple[int, int] | None = None  # (num, den): backstop when equity < num/den * MM
    bad_debt_policy: str = BadDebtPolicy.ADL
    adl_ranking: str = AdlRanking.PNL_LEVERAGE
    adl_price: str = AdlPrice.BANKRUPTCY
    adl_seed: int = 0
    #: deleveraging on the insurance fund's drawdown (LIQ-ADL-5; OKX: 30% within 8 hours): the
    #: fall from the fund's peak within the window, in ppm of that peak, at which liquidated
    #: positions go to deleveraging at the mark instead of the book; 0: never
    adl_drawdown_ppm: int = 0
    #: the window that peak is taken over, in seconds; 0 exactly when adl_drawdown_ppm is
    adl_drawdown_window_s: int = 0
    quote_asset: str = "quote"  # display name of the quote asset (USDT, USDC, ...)
    display_rounding: str = DisplayRounding.HALF_UP  # how the venue prints prices (LIQ-PRICE-4)
    description: str = ""
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_profile(self)

    def market(self, market_id: str) -> Market:
        try:
            return self.markets[market_id]
        except (KeyError, TypeError):  # TypeError: an unhashable ID such as a list
            raise UnknownMarket(f"unknown market {market_id!r} in profile {self.name!r}") from None


#: each policy field of a Profile and the enum its value must be a member of
POLICY_FIELDS: dict[str, type[Policy]] = {
    "liquidation_size": LiquidationSize, "fee_policy": FeePolicy,
    "maintenance_basis": MaintenanceBasis, "bad_debt_policy": BadDebtPolicy,
    "adl_ranking": AdlRanking, "adl_price": AdlPrice, "display_rounding": DisplayRounding,
    "trigger": Trigger,
}


def _require_member(value: object, name: str, policy: type[Policy]) -> None:
    if not isinstance(value, str) or value not in tuple(policy):
        raise MalformedState(f"unknown {name} {value!r}; known: {', '.join(policy)}")


@implements("LIQ-DOMAIN-2")
def validate_profile(profile: Profile) -> None:
    """Check a profile against the value domain; fill in each market's value per lot per tick."""
    require_int(profile.quote_decimals, "quote_decimals")
    if not 0 <= profile.quote_decimals <= 18:
        raise MalformedState("quote_decimals must be in 0..18")
    for name, policy in POLICY_FIELDS.items():
        _require_member(getattr(profile, name), name, policy)
    if not 0 < require_int(profile.portion_ppm, "portion_ppm") <= PPM:
        raise MalformedState("portion_ppm must be in 1..1_000_000")
    if not 0 < require_int(profile.share_target_ppm, "share_target_ppm") <= PPM:
        raise MalformedState("share_target_ppm must be in 1..1_000_000")
    if not 0 <= require_int(profile.liquidation_buffer_ppm, "liquidation_buffer_ppm") <= PPM:
        raise MalformedState("liquidation_buffer_ppm must be in 0..1_000_000")
    _validate_drawdown(profile)
    share = profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE
    if share != (profile.fee_policy == FeePolicy.MAINTENANCE_SHARE):
        raise MalformedState("liquidation_size account_share and fee_policy maintenance_share "
                             "go together (LIQ-SHARE-1)")
    cover = profile.liquidation_size == LiquidationSize.COVER_SHORTAGE
    if cover != (profile.fee_policy == FeePolicy.LIQUIDATOR_AND_FUND):
        raise MalformedState("liquidation_size cover_shortage and fee_policy "
                             "liquidator_and_fund go together (LIQ-SHORTAGE-1)")
    if profile.backstop_ratio is not None:
        ratio = profile.backstop_ratio
        if not (isinstance(ratio, tuple) and len(ratio) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in ratio)
                and 0 < ratio[0] < ratio[1]):
            raise MalformedState(f"backstop_ratio must be (num, den) with 0 < num < den, "
                                 f"got {ratio!r}")
    if not profile.markets:
        raise MalformedState("a profile needs at least one market")
    bound = {}
    for market_id, market in profile.markets.items():
        if market_id != market.market_id:
            raise MalformedState(f"market key {market_id!r} differs from {market.market_id!r}")
        validate_market(market)
        if market.kind == MarketKind.INVERSE:
            _validate_inverse_units(market, profile.quote_decimals)
        value = quote_per_lot_tick(profile.quote_decimals, market.base_decimals, market.price_decimals)
        # A copy bound to this profile's quote unit: a Market shared with another profile (with
        # other quote decimals) keeps its own value.
        bound[market_id] = replace(market, value_per_lot_tick=value)
    object.__setattr__(profile, "markets", bound)


def _validate_drawdown(profile: Profile) -> None:
    """LIQ-ADL-5's parameters: a share of the peak in 1..10^6 ppm and a positive window, both or
    neither, and only under the adl policy (a socializing venue has no deleveraging to start)."""
    drawdown = require_int(profile.adl_drawdown_ppm, "adl_drawdown_ppm")
    window = require_int(profile.adl_drawdown_window_s, "adl_drawdown_window_s")
    if not 0 <= drawdown <= PPM:
        raise MalformedState("adl_drawdown_ppm must be in 0..1_000_000")
    if window < 0 or (drawdown == 0) != (window == 0):
        raise MalformedState("adl_drawdown_ppm and adl_drawdown_window_s are both positive "
                             "(LIQ-ADL-5) or both 0")
    if drawdown and profile.bad_debt_policy != BadDebtPolicy.ADL:
        raise MalformedState("adl_drawdown_ppm needs bad_debt_policy adl (LIQ-ADL-5)")


def validate_market(market: Market) -> None:
    """Tier tables are sorted, rates within 0..100%, and deductions keep margin continuous."""
    for name in ("base_decimals", "price_decimals"):
        if not -18 <= require_int(getattr(market, name), f"{market.market_id}.{name}") <= 18:
            raise MalformedState(f"{market.market_id}: {name} must be in -18..18")
    for name in ("liquidation_fee_ppm", "liquidator_fee_ppm"):
        if not 0 <= require_int(getattr(market, name), name) <= PPM:
            raise MalformedState(f"{market.market_id}: {name} must be in 0..1_000_000")
    if require_int(market.min_maint_margin_quote, "min_maint_margin_quote") < 0:
        raise MalformedState(f"{market.market_id}: min_maint_margin_quote must be >= 0")
    _require_member(market.tier_basis, f"{market.market_id}.tier_basis", TierBasis)
    _require_member(market.kind, f"{market.market_id}.kind", MarketKind)
    if market.kind == MarketKind.LINEAR:
        if (market.face_per_lot != 0 or market.venue_price_decimals != 0
                or market.order_tick != 1):
            raise MalformedState(f"{market.market_id}: face_per_lot, venue_price_decimals and "
                                 "order_tick are read only for an inverse market")
    by_size = market.tier_basis == TierBasis.SIZE
    if not market.tiers or market.tiers[0].floor_notional_quote != 0:
        raise MalformedState(f"{market.market_id}: the first tier must start at notional 0")
    if not 1 <= require_int(market.rate_scale, "rate_scale") <= MAX_RATE_SCALE:
        raise MalformedState(f"{market.market_id}: rate_scale must be in 1..{MAX_RATE_SCALE:_}")
    whole = PPM * market.rate_scale  # a rate of 100%
    previous: Tier | None = None
    for index, tier in enumerate(market.tiers):
        where = f"{market.market_id} tier {index + 1}"
        for name in ("floor_notional_quote", "maint_margin_ppm", "maint_deduction_quote",
                     "init_margin_ppm", "init_deduction_quote", "floor_lots"):
            checked(require_int(getattr(tier, name), f"{where}.{name}"), f"{where}.{name}")
        if not 0 < tier.maint_margin_ppm < whole:
            raise MalformedState(f"{where}: maint_margin_ppm must be in 1..{whole - 1:_}")
        if not tier.maint_margin_ppm <= tier.init_margin_ppm <= whole:
            raise MalformedState(f"{where}: init_margin_ppm must be in maint_margin_ppm..{whole:_}")
        if by_size:
            _validate_size_tier(tier, previous, where)
        elif tier.floor_lots != 0:
            raise MalformedState(f"{where}: floor_lots is read only under tier_basis size")
        if previous is None:
            if tier.maint_deduction_quote != 0 or tier.init_deduction_quote != 0:
                raise MalformedState(f"{where}: the first tier has no deduction")
        elif by_size:
            if tier.maint_margin_ppm < previous.maint_margin_ppm:
                raise MalformedState(f"{where}: maintenance rates must not decrease")
        else:
            if tier.floor_notional_quote <= previous.floor_notional_quote:
                raise MalformedState(f"{where}: tier floors must increase")
            if tier.maint_margin_ppm < previous.maint_margin_ppm:
                raise MalformedState(f"{where}: maintenance rates must not decrease")
            # Continuity at the floor: rate_i * floor - ded_i == rate_{i-1} * floor - ded_{i-1}.
            for rate, ded in (("maint_margin_ppm", "maint_deduction_quote"),
                              ("init_margin_ppm", "init_deduction_quote")):
                jump = tier.floor_notional_quote * (getattr(tier, rate) - getattr(previous, rate))
                expected = getattr(previous, ded) * PPM + jump
                if getattr(tier, ded) * PPM != expected:
                    raise MalformedState(
                        f"{where}: {ded} must be {expected / PPM} quote quantums so the "
                        f"requirement is continuous at the tier floor"
                    )
        previous = tier
    if market.oi_scaling is not None:
        lower, upper = market.oi_scaling.lower_cap_quote, market.oi_scaling.upper_cap_quote
        if not 0 <= require_int(lower, "lower_cap") < require_int(upper, "upper_cap") <= INT64_MAX:
            raise MalformedState(f"{market.market_id}: need 0 <= lower_cap < upper_cap")


#: the largest venue price decimals of an inverse market (a tick of 10^-8 of the price currency)
MAX_VENUE_PRICE_DECIMALS = 8
#: the largest order tick of an inverse market, in venue ticks
MAX_ORDER_TICK = 10**9


@implements("LIQ-INVERSE-1")
def _validate_inverse_units(market: Market, quote_decimals: int) -> None:
    """An inverse market's model units: a lot is the unit (base_decimals 0) and a tick one coin
    quantum per lot (price_decimals = quote_decimals), so one lot at one tick is worth one
    quantum; a face of at least one unit of the price currency; the numerator of the lot's coin
    value, face x 10^(quote_decimals + venue_price_decimals), within int64."""
    where = market.market_id
    if require_int(market.face_per_lot, f"{where}.face_per_lot") < 1:
        raise MalformedState(f"{where}: an inverse market needs face_per_lot >= 1")
    decimals = require_int(market.venue_price_decimals, f"{where}.venue_price_decimals")
    if not 0 <= decimals <= MAX_VENUE_PRICE_DECIMALS:
        raise MalformedState(f"{where}: venue_price_decimals must be in "
                             f"0..{MAX_VENUE_PRICE_DECIMALS}")
    if not 1 <= require_int(market.order_tick, f"{where}.order_tick") <= MAX_ORDER_TICK:
        raise MalformedState(f"{where}: order_tick must be in 1..{MAX_ORDER_TICK:_} venue ticks")
    if market.base_decimals != 0 or market.price_decimals != quote_decimals:
        raise MalformedState(f"{where}: an inverse market's model units are whole lots "
                             f"(base_decimals 0) and coin quantums per lot (price_decimals = "
                             f"quote_decimals = {quote_decimals}); got {market.base_decimals} "
                             f"and {market.price_decimals}")
    if market.face_per_lot * 10 ** (quote_decimals + decimals) > INT64_MAX:
        raise MalformedState(f"{where}: face_per_lot x 10^(quote_decimals + "
                             "venue_price_decimals) must fit in int64")


@implements("LIQ-TIER-8")
def _validate_size_tier(tier: Tier, previous: Tier | None, where: str) -> None:
    """A tier keyed by size: floors in lots from 0, increasing, and no deductions (a requirement
    keyed by size is the position's whole value at its tier's rate; a deduction keeps LIQ-TIER-2
    continuous in the notional, which a size key makes moot). ``floor_notional_quote`` is
    unread, so it must stay 0."""
    if tier.floor_notional_quote != 0:
        raise MalformedState(f"{where}: floor_notional_quote is unread under tier_basis size; "
                             "give floor_lots")
    if tier.maint_deduction_quote != 0 or tier.init_deduction_quote != 0:
        raise MalformedState(f"{where}: tiers keyed by size have no deductions")
    if previous is None:
        if tier.floor_lots != 0:
            raise MalformedState(f"{where}: the first tier must start at 0 lots")
    elif tier.floor_lots <= previous.floor_lots:
        raise MalformedState(f"{where}: tier floors must increase")
