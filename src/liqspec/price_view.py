"""How the outputs of a run show a market's prices: a linear market's in its own ticks, an inverse
market's as the venue's price (LIQ-INVERSE-1), which falls as the model's price rises.

The model holds an inverse market as the linear market priced in coin quantums per lot, so a USD
crash is a rise of its model price. A table or plot that showed those numbers would show the
crash upside down; they show ``K / v`` instead, the venue price at which a lot is worth ``v``
quantums (``K`` the market's face numerator). Display only: nothing reads these back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from liqspec.reference.inverse import display_venue_price, face_numerator
from liqspec.reference.profile import MarketKind, Profile
from liqspec.reference.units import from_units


@dataclass(frozen=True)
class PriceView:
    """A market's prices as the outputs show them: ``decimals`` of the shown ticks, ``unit`` for
    labels, ``numerator`` the face numerator ``K`` of an inverse market (None: linear)."""

    profile: Profile
    market_id: str
    decimals: int
    unit: str
    numerator: int | None

    @property
    def inverse(self) -> bool:
        return self.numerator is not None

    def ticks(self, model_ticks: int) -> int:
        """The shown price in whole ticks (an inverse market's venue price rounded down)."""
        return model_ticks if self.numerator is None else self.numerator // model_ticks

    def value(self, model_ticks: int) -> float:
        """The shown price as a float, for a plot."""
        exact = (Fraction(model_ticks) if self.numerator is None
                 else Fraction(self.numerator, model_ticks))
        return float(exact / 10**self.decimals)

    def text(self, model_ticks: int) -> str:
        """The shown price as an exact decimal: the model's ticks, or the venue's price at its
        decimals by the profile's display rounding (LIQ-PRICE-4)."""
        if self.numerator is None:
            return from_units(model_ticks, self.decimals)
        return display_venue_price(self.profile, self.market_id,
                                   Fraction(self.numerator, model_ticks))

    def lowest(self, model_ticks: Iterable[int]) -> int:
        """The model price whose shown price is the lowest: the highest for an inverse market."""
        return max(model_ticks) if self.inverse else min(model_ticks)


def price_view(profile: Profile, market_id: str, model: bool = False) -> PriceView:
    """The view of ``market_id``'s prices in ``profile`` (``model``: the model's own, in the
    quote asset, even for an inverse market)."""
    market = profile.market(market_id)
    if market.kind == MarketKind.INVERSE and not model:
        return PriceView(profile, market_id, market.venue_price_decimals, "venue price",
                         face_numerator(profile, market_id))
    return PriceView(profile, market_id, market.price_decimals, profile.quote_asset, None)
