"""Inverse (coin-margined) markets as linear markets in the coin (LIQ-INVERSE-*).

An inverse contract (BitMEX XBTUSD, Binance COIN-M, Bybit inverse) has a fixed face value in the
price currency (1 or 100 USD) and is margined, valued and settled in the coin (BTC). At a venue
price ``p`` a lot of face ``F`` is worth ``F / p`` coin: a division, which the venue rounds. BitMEX
names the rounding: "the value credited or debited to your account for each Lot needs to be rounded
to the nearest Satoshi", ties up. With that rounding a lot's coin value is an integer,

    v(p) = round_half_up(K / p) coin quantums,   K = F x 10^(quote_decimals + venue_price_decimals),

and everything else is linear in it. A long of ``n`` lots gains ``n x (v(entry) - v(p))`` as ``p``
rises, so it is the *short* of ``n`` lots of a linear market whose price is ``v``. That is the
whole model (LIQ-INVERSE-1): an inverse market is the linear market priced in coin quantums per
lot (one lot at one tick is worth one quantum), and a venue position of ``n`` lots is the model
position ``-n``. Every other rule (equity, tiers, the trigger, liquidation, fees, the insurance
fund, deleveraging, and every invariant and proof) applies to that linear market unchanged, and
the compiled engine runs it with no code of its own.

Two things do not carry over by themselves, and this module states them:

* funding (LIQ-INVERSE-2): venues say "longs pay when the rate is positive" of the contract long,
  which is the model's short, so a venue rate enters the model negated;
* prices the venue prints (LIQ-INVERSE-3): a threshold the model finds in coin quantums per lot is
  a venue price by the inverse of ``v``, exactly at the venue's tick, with ``v``'s rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from .arithmetic import div_floor, require_int
from .errors import InvalidPrice, MalformedState
from .prices import Threshold, round_for_display
from .profile import Market, MarketKind, Profile
from .rules import implements


def _inverse(profile: Profile, market_id: str) -> Market:
    market = profile.market(market_id)
    if market.kind != MarketKind.INVERSE:
        raise MalformedState(f"market {market_id!r} of profile {profile.name!r} is not inverse")
    return market


def face_numerator(profile: Profile, market_id: str) -> int:
    """``K``: the numerator of a lot's coin value, in coin quantums x venue ticks."""
    market = _inverse(profile, market_id)
    return market.face_per_lot * 10 ** (profile.quote_decimals + market.venue_price_decimals)


@implements("LIQ-INVERSE-1")
def lot_value_quanta(profile: Profile, market_id: str, venue_price_ticks: int) -> int:
    """The model's price of an inverse market at a venue price: one lot's coin value,
    ``round_half_up(K / p)`` coin quantums (BitMEX's per-lot rounding to the nearest quantum).
    A price at which a lot is worth less than half a quantum has no model price
    (``INVALID_PRICE``): the model's marks are at least one."""
    numerator = face_numerator(profile, market_id)
    price = require_int(venue_price_ticks, "venue price")
    if price <= 0:
        raise InvalidPrice(f"venue price must be positive, got {price}")
    value = div_floor(2 * numerator + price, 2 * price)  # floor(K/p + 1/2)
    if value < 1:
        raise InvalidPrice(f"at {price} ticks a lot of {market_id} is worth less than half a "
                           "coin quantum")
    return value


@implements("LIQ-INVERSE-1")
def model_lots(venue_lots: int) -> int:
    """A venue position (positive: long contracts) as the model's position: its opposite."""
    return -venue_lots


@implements("LIQ-INVERSE-1")
def venue_lots(model_position_lots: int) -> int:
    """The model's position of an inverse market as the venue's (positive: long contracts)."""
    return -model_position_lots


@implements("LIQ-INVERSE-2")
def model_funding_rate(market: Market, rate_ppm: int) -> int:
    """The funding rate the model applies: a venue's rate (positive: contract longs pay) is
    negated for an inverse market, whose contract long is the model's short; a linear market's
    rate is the model's as it is."""
    return -rate_ppm if market.kind == MarketKind.INVERSE else rate_ppm


@dataclass(frozen=True)
class VenueThreshold:
    """A threshold price of an inverse position as the venue sees it.

    ``side`` is the venue's (+1 long contracts). ``exact`` is the price at which the unrounded
    coin value ``K / p`` meets the model's exact threshold, in venue ticks (``None`` where the
    model's root is 0, which no finite price meets: a contract short is then never past it, a
    contract long past it at every price). ``ticks`` keeps the model's trigger exact under
    ``v``'s rounding: a long is past it iff the venue price is below ``ticks``, a short iff above
    (``None``: no venue price is past it)."""

    market_id: str
    side: int
    exact: Fraction | None
    ticks: int | None

    def crossed(self, venue_price_ticks: int) -> bool:
        """True when the venue price is on the wrong side of the threshold."""
        if self.ticks is None:
            return False
        return venue_price_ticks < self.ticks if self.side > 0 else venue_price_ticks > self.ticks


@implements("LIQ-INVERSE-3")
def venue_threshold(profile: Profile, threshold: Threshold) -> VenueThreshold:
    """The venue's form of a model threshold (a liquidation or bankruptcy price) of an inverse
    position.

    The model's short (a contract long) is past its threshold iff ``v(p) > T``, ``T`` its ticks
    (LIQ-PRICE-3); ``floor(K/p + 1/2) > T`` iff ``p <= 2K / (2T + 1)``, so the contract long is
    past it iff ``p < floor(2K / (2T + 1)) + 1``. The model's long (a contract short) is past it
    iff ``v(p) < T``; iff ``K/p < T - 1/2``, iff ``p > floor(2K / (2T - 1))``, which for
    ``T <= 1`` is no price a lot has a value at (``v(p) >= 1``). Exact integer arithmetic, no
    search."""
    numerator = face_numerator(profile, threshold.market_id)
    exact = Fraction(numerator) / threshold.exact if threshold.exact > 0 else None
    target = threshold.ticks
    ticks: int | None
    if threshold.side < 0:  # the contract long; T >= 0 (a short's ticks round the root down)
        ticks = div_floor(2 * numerator, 2 * target + 1) + 1
        return VenueThreshold(threshold.market_id, +1, exact, ticks)
    # the contract short: v(p) < T needs T >= 2, since no price takes a lot's value below 1
    ticks = div_floor(2 * numerator, 2 * target - 1) if target >= 2 else None
    return VenueThreshold(threshold.market_id, -1, exact, ticks)


@implements("LIQ-INVERSE-3")
def order_tick_price(profile: Profile, venue: VenueThreshold) -> int | None:
    """A threshold as the venue prints it at its order tick ``t`` (the market's ``order_tick``),
    in venue ticks: the exact price rounded to a multiple of ``t`` toward the side the position
    is past it from first, up for a contract long, down for a contract short (Bybit: a long's
    liquidation price 7,773.478 and bankruptcy price 7,735.373 print as 7,773.50 and 7,735.50).
    ``None`` where there is no exact price (a root of 0: no finite price meets it). Display
    only: the trigger is the model's (``venue.ticks``)."""
    if venue.exact is None:
        return None
    tick = _inverse(profile, venue.market_id).order_tick
    multiples = venue.exact / tick
    return (ceil(multiples) if venue.side > 0 else floor(multiples)) * tick


@implements("LIQ-INVERSE-3", "LIQ-PRICE-4")
def display_venue_price(profile: Profile, market_id: str, exact_ticks: Fraction) -> str:
    """An exact venue price as the venue prints it, at its price decimals by the profile's
    display rounding. Display only."""
    market = _inverse(profile, market_id)
    places = market.venue_price_decimals
    return round_for_display(Fraction(exact_ticks) / 10**places, places,
                             profile.display_rounding)
