"""Units of account and exact conversion from human decimals (LIQ-UNIT-1, LIQ-UNIT-2).

State is integers in declared units:

* quote amounts in **quote quantums** (``10**-quote_decimals`` of the quote asset, e.g. 1e-6 USDT);
* positions in **base lots** (``10**-base_decimals`` of the base asset, e.g. 0.001 BTC);
* prices in **price ticks** (``10**-price_decimals`` quote per base, e.g. 0.1 USDT/BTC).

The value of one lot at one tick is ``10**(quote_decimals - base_decimals - price_decimals)`` quote
quantums, an integer because the value domain requires ``quote_decimals >= base_decimals +
price_decimals``. Notional is therefore exact: no rounding ever happens when pricing a position.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded

from .errors import InexactDecimal, MalformedState
from .rules import implements


@implements("LIQ-UNIT-1")
def quote_per_lot_tick(quote_decimals: int, base_decimals: int, price_decimals: int) -> int:
    """Quote quantums worth one base lot at one price tick."""
    exponent = quote_decimals - base_decimals - price_decimals
    if exponent < 0:
        raise MalformedState(
            f"quote_decimals ({quote_decimals}) must be >= base_decimals ({base_decimals}) + "
            f"price_decimals ({price_decimals}) so that notional is an exact integer"
        )
    if exponent > 18:  # 10**19 would not fit in int64
        raise MalformedState(f"one lot at one tick would be worth 10**{exponent} quote quantums; "
                             f"the value domain allows at most 10**18")
    return 10**exponent


# A context wide enough for any value in the domain, which raises instead of rounding.
_EXACT = Context(prec=200, traps=[Inexact, Rounded, InvalidOperation])


@implements("LIQ-UNIT-2")
def to_units(text: str | int, decimals: int, what: str = "value") -> int:
    """Convert a decimal string such as ``"50000.5"`` into integer units of ``10**-decimals``.

    The conversion is exact or it fails: a digit below the unit raises ``InexactDecimal`` rather
    than being rounded away silently.
    """
    if isinstance(text, bool):
        raise InexactDecimal(f"{what}: {text!r} is not a decimal number")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InexactDecimal(f"{what}: {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise InexactDecimal(f"{what}: {text!r} is not finite")
    try:
        scaled = _EXACT.scaleb(value, decimals)  # traps any rounding the default context would do
    except (Inexact, Rounded):
        raise InexactDecimal(f"{what}: {text!r} has too many digits to convert exactly") from None
    if scaled != scaled.to_integral_value():
        raise InexactDecimal(f"{what}: {text!r} has more than {decimals} decimal places")
    return int(scaled)


def from_units(units: int, decimals: int) -> str:
    """Render integer units as an exact decimal string (display only; never parsed back lossy)."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"
