"""Argument checks shared by every operation, in the precedence order of LIQ-RESULT-2."""

from __future__ import annotations

from .arithmetic import INT64_MAX, PPM, require_int
from .errors import InvalidAmount, InvalidPrice, InvalidRate, InvalidSize
from .rules import implements
from .state import Account, State


@implements("LIQ-DOMAIN-3")
def valid_amount(amount: object, what: str = "amount") -> int:
    """A quote amount moved by an operation: an integer in 1..2^63-1."""
    value = require_int(amount, what)
    if not 0 < value <= INT64_MAX:
        raise InvalidAmount(f"{what} must be in 1..{INT64_MAX} quote quantums, got {value}")
    return value


@implements("LIQ-DOMAIN-3")
def valid_price(price: object, what: str = "price") -> int:
    """A price: an integer number of ticks in 1..2^63-1 (zero and negative prices do not exist)."""
    value = require_int(price, what)
    if not 0 < value <= INT64_MAX:
        raise InvalidPrice(f"{what} must be in 1..{INT64_MAX} ticks, got {value}")
    return value


@implements("LIQ-DOMAIN-3")
def valid_size(lots: object, what: str = "size") -> int:
    """A traded size: an integer number of lots in 1..2^63-1."""
    value = require_int(lots, what)
    if not 0 < value <= INT64_MAX:
        raise InvalidSize(f"{what} must be in 1..{INT64_MAX} lots, got {value}")
    return value


@implements("LIQ-DOMAIN-3")
def valid_rate(rate_ppm: object, what: str = "rate") -> int:
    """A signed rate in parts per million, at most 100% either way."""
    value = require_int(rate_ppm, what)
    if not -PPM <= value <= PPM:
        raise InvalidRate(f"{what} must be in -{PPM}..{PPM} ppm, got {value}")
    return value


def accounts(state: State, *account_ids: str) -> list[Account]:
    """Look the accounts up in order, raising UnknownAccount for the first missing one."""
    return [state.account(account_id) for account_id in account_ids]
