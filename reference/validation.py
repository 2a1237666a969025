"""Argument checks shared by every operation, in the precedence order of LIQ-RESULT-2."""

from __future__ import annotations

from .arithmetic import INT64_MAX, PPM, require_int
from .errors import DomainError, InvalidAmount, InvalidPrice, InvalidRate, InvalidSize
from .rules import implements
from .state import Account, State


def _within(value: object, what: str, low: int, high: int, error: type[DomainError],
            unit: str) -> int:
    """``value`` as an integer in ``low..high``; else ``error``, naming the range in ``unit``."""
    number = require_int(value, what)
    if not low <= number <= high:
        raise error(f"{what} must be in {low}..{high} {unit}, got {number}")
    return number


@implements("LIQ-DOMAIN-3")
def valid_amount(amount: object, what: str = "amount") -> int:
    """A quote amount moved by an operation: an integer in 1..2^63-1."""
    return _within(amount, what, 1, INT64_MAX, InvalidAmount, "quote quantums")


@implements("LIQ-DOMAIN-3")
def valid_price(price: object, what: str = "price") -> int:
    """A price: an integer number of ticks in 1..2^63-1 (zero and negative prices do not exist)."""
    return _within(price, what, 1, INT64_MAX, InvalidPrice, "ticks")


@implements("LIQ-DOMAIN-3")
def valid_size(lots: object, what: str = "size") -> int:
    """A traded size: an integer number of lots in 1..2^63-1."""
    return _within(lots, what, 1, INT64_MAX, InvalidSize, "lots")


@implements("LIQ-DOMAIN-3", "LIQ-ADL-5")
def valid_fund_peak(peak_quote: object) -> int:
    """The insurance fund's peak handed to deleveraging (LIQ-ADL-5): a balance, so an integer
    in 0..2^63-1 (0: no history)."""
    return _within(peak_quote, "fund_peak_quote", 0, INT64_MAX, InvalidAmount, "quote quantums")


@implements("LIQ-DOMAIN-3")
def valid_rate(rate_ppm: object, what: str = "rate") -> int:
    """A signed rate in parts per million, at most 100% either way."""
    return _within(rate_ppm, what, -PPM, PPM, InvalidRate, "ppm")


def accounts(state: State, *account_ids: str) -> list[Account]:
    """Look the accounts up in order, raising UnknownAccount for the first missing one."""
    return [state.account(account_id) for account_id in account_ids]
