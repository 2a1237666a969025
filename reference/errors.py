"""Result codes and typed errors (LIQ-RESULT-1, LIQ-RESULT-2).

Every operation either applies completely and returns a receipt with ``ResultCode.OK``, or raises a
subclass of :class:`LiqspecError` carrying exactly one result code and changes nothing. Input outside
the value domain raises a :class:`DomainError`; valid input that a rule refuses raises a
:class:`Rejection`. When several codes apply, the one checked first is reported: each operation's
check order is part of the spec (``LIQ-RESULT-2``, spec/results.rst). Every operation checks its
arguments in one order (accounts, market, size, price, amount or rate), then its rejections; only
what cannot be known before the operation is applied (post-trade margin, an overflow of a balance
or of equity) is reported after them.
"""

from __future__ import annotations

import enum


class ResultCode(enum.IntEnum):
    """Named outcome of an operation, grouped by family: domain errors below 20, rejections from 20.
    The numbers are stable identifiers; the check order of each operation is LIQ-RESULT-2's."""

    OK = 0

    # Domain errors: the input is outside the value domain (LIQ-DOMAIN-*).
    MALFORMED_STATE = 1
    UNKNOWN_ACCOUNT = 2
    UNKNOWN_MARKET = 3
    NOT_AN_INTEGER = 4
    INVALID_AMOUNT = 5
    INVALID_PRICE = 6
    INVALID_SIZE = 7
    INVALID_RATE = 8
    OVERFLOW = 9
    INEXACT_DECIMAL = 10
    INVALID_LEVERAGE = 11

    # Rejections: valid input that a rule refuses (checked after every domain error).
    SAME_ACCOUNT = 20
    ACCOUNT_NOT_TRADER = 21
    ISOLATED_MARKET_MISMATCH = 22
    WITHDRAWALS_GATED = 23
    INSUFFICIENT_FREE_COLLATERAL = 25
    INSUFFICIENT_INITIAL_MARGIN = 26
    REDUCE_ONLY_WORSENS_HEALTH = 27
    NOT_LIQUIDATABLE = 28
    NO_POSITION = 29
    SIZE_EXCEEDS_POLICY = 30
    POLICY_FORBIDS = 31
    NOT_BANKRUPT = 32
    FUND_CAN_COVER = 33
    INSUFFICIENT_ADL_LIQUIDITY = 34
    NOTHING_TO_SOCIALIZE = 37
    NO_SOCIALIZATION_BASE = 38
    NO_BOOK_LIQUIDITY = 39
    LEVERAGE_ABOVE_TIER_MAX = 40


class LiqspecError(Exception):
    """Base of every error liqspec raises; ``code`` names the outcome (LIQ-RESULT-1)."""

    code: ResultCode = ResultCode.MALFORMED_STATE

    def __init__(self, message: str, code: ResultCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}: {self.args[0]})"


class DomainError(LiqspecError, ValueError):
    """An input lies outside the value domain stated in LIQ-DOMAIN-*."""


class MalformedState(DomainError):
    code = ResultCode.MALFORMED_STATE


class UnknownAccount(DomainError, KeyError):
    code = ResultCode.UNKNOWN_ACCOUNT

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownMarket(DomainError, KeyError):
    code = ResultCode.UNKNOWN_MARKET

    def __str__(self) -> str:
        return str(self.args[0])


class NotAnInteger(DomainError, TypeError):
    code = ResultCode.NOT_AN_INTEGER


class InvalidAmount(DomainError):
    code = ResultCode.INVALID_AMOUNT


class InvalidPrice(DomainError):
    code = ResultCode.INVALID_PRICE


class InvalidSize(DomainError):
    code = ResultCode.INVALID_SIZE


class InvalidRate(DomainError):
    code = ResultCode.INVALID_RATE


class InvalidLeverage(DomainError):
    """A chosen leverage outside 1..10^6 (LIQ-LEVERAGE-1)."""

    code = ResultCode.INVALID_LEVERAGE


class Overflow(DomainError, OverflowError):
    """A stored or derived quantity left the signed 64-bit domain (LIQ-DOMAIN-1)."""

    code = ResultCode.OVERFLOW


class InexactDecimal(DomainError):
    """A human decimal does not convert exactly into the declared integer unit (LIQ-UNIT-2)."""

    code = ResultCode.INEXACT_DECIMAL


class Rejection(LiqspecError):
    """A rule refuses a well-formed operation; the state is unchanged."""

    def __init__(self, code: ResultCode, message: str):
        super().__init__(message, code)
