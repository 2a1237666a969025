"""Exact integer arithmetic with named rounding (LIQ-ROUND-*) and the int64 domain (LIQ-DOMAIN-1).

Python integers are unbounded; the compiled engine's are not. Every quantity the engine would store
or carry between steps passes through :func:`checked`, so the reference raises ``Overflow`` exactly
where the engine would, and Python never hides an overflow.
"""

from __future__ import annotations

from fractions import Fraction

from .errors import NotAnInteger, Overflow
from .rules import implements

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: parts per million: the denominator of every rate (fees, margin fractions, funding)
PPM = 1_000_000


def require_int(value: object, what: str) -> int:
    """Return ``value`` if it is a Python int (and not a bool), else raise ``NotAnInteger``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotAnInteger(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    return value


@implements("LIQ-DOMAIN-1")
def checked(value: int, what: str) -> int:
    """Return ``value`` if it fits in a signed 64-bit integer, else raise ``Overflow``."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise Overflow(f"{what} = {value} is outside the signed 64-bit domain")
    return value


@implements("LIQ-ROUND-1")
def div_ceil(numerator: int | Fraction, denominator: int) -> int:
    """Quotient rounded toward +infinity: used for every amount the venue is owed (an exact
    Fraction numerator too: a requirement at a rate the venue defines as a fraction)."""
    if denominator <= 0:
        raise ZeroDivisionError("denominators are positive by construction")
    return -((-numerator) // denominator)


@implements("LIQ-ROUND-2")
def div_floor(numerator: int, denominator: int) -> int:
    """Quotient rounded toward -infinity: used for every amount the venue pays out."""
    if denominator <= 0:
        raise ZeroDivisionError("denominators are positive by construction")
    return numerator // denominator


def mul_ppm_ceil(amount: int, rate_ppm: int) -> int:
    """``amount * rate_ppm / 10^6`` rounded up (LIQ-ROUND-1): a requirement or a charge."""
    return div_ceil(amount * rate_ppm, PPM)


def mul_ppm_floor(amount: int, rate_ppm: int) -> int:
    """``amount * rate_ppm / 10^6`` rounded down (LIQ-ROUND-2): a payout."""
    return div_floor(amount * rate_ppm, PPM)


def sign(value: int) -> int:
    """-1, 0 or +1."""
    return (value > 0) - (value < 0)
