"""Load a venue state from a user's JSON file, exactly, with an error that names the field.

A state file describes a venue (a named profile, or an inline venue), the mark of every market, the
insurance fund and the accounts with their positions. Every amount is a human decimal (a JSON string
such as ``"50000.5"``, or a JSON number, which is read as an exact decimal, never as a float) and is
converted exactly into the venue's integer units (LIQ-UNIT-2): a digit below the unit is an error,
never rounded away. A complete example::

    {
      "description": "optional free text",
      "venue": {
        "name": "example",
        "quote_asset": "USDT",
        "quote_decimals": 6,
        "liquidation_size": "full",
        "fee_policy": "rate",
        "backstop_ratio": [2, 3],
        "markets": {
          "BTCUSDT": {
            "base_decimals": 3,
            "price_decimals": 1,
            "liquidation_fee_ppm": 12500,
            "tiers": [
              {"floor_notional": "0", "maint_margin_rate": "0.004", "maint_deduction": "0",
               "init_margin_rate": "0.01", "init_deduction": "0"},
              {"floor_notional": "50000", "maint_margin_rate": "0.005", "maint_deduction": "50",
               "init_margin_rate": "0.02", "init_deduction": "500"}
            ]
          }
        }
      },
      "marks": {"BTCUSDT": "50000.5"},
      "insurance_fund": "1000000",
      "accounts": [
        {"id": "alice", "isolated_market": null, "quote": "1000",
         "positions": {"BTCUSDT": {"size": "0.5", "entry_price": "50000"}}}
      ]
    }

Instead of ``"venue"``, ``"profile": "binance_usdm"`` names a built-in venue profile
(:func:`liqspec.reference.profiles.get_profile`). Exactly one of the two is required.

Keys and units
--------------
* top level: ``venue`` or ``profile``, ``marks`` (required: one positive price per market),
  ``accounts`` (required, a list), ``insurance_fund`` (quote, default 0), ``description``.
* ``venue``: ``name``, ``quote_decimals`` and ``markets`` are required; optional policies are
  ``quote_asset`` (display name, default ``"quote"``), ``liquidation_size`` (``full``, ``portion``,
  ``tier_step``, ``two_tier_step``, ``account_share``, ``cover_shortage``), ``portion_rate``
  (a fraction such as ``"0.2"``; the share step under ``account_share``), ``portion_threshold``
  (quote; under ``cover_shortage`` the notional up to which a position is closed whole),
  ``share_target_ratio`` (the margin ratio a share must bring the account below, a fraction
  such as ``"0.9"``), ``liquidation_buffer_ratio`` (``cover_shortage``'s buffer on the notional,
  such as ``"0.02"``), ``fee_policy`` (``rate``, ``all_surplus``, ``per_fill``,
  ``maintenance_share``, which goes with ``account_share``, ``liquidator_and_fund``, which goes
  with ``cover_shortage``), ``maintenance_basis`` (``mark``,
  ``entry``: an isolated position's maintenance on its entry value, LIQ-TIER-6), ``trigger``
  (``below``, the default, or ``at_or_below``: liquidatable at equality too, LIQ-TRIGGER-3),
  ``backstop_ratio``
  (``[num, den]``),
  ``bad_debt_policy`` (``adl``, ``socialize``, ``socialize_both_sides``), ``adl_ranking``,
  ``adl_price`` (``bankruptcy``, ``mark``), ``adl_seed``, ``adl_drawdown_ratio`` and
  ``adl_drawdown_window_s`` (both or neither, under ``adl``: deleveraging while the insurance
  fund is that fraction, such as ``"0.3"``, below its peak within that many seconds,
  LIQ-ADL-5), ``description``, ``sources``. Defaults
  are those of :class:`liqspec.reference.profile.Profile`.
* a market: ``base_decimals``, ``price_decimals`` and ``tiers`` are required;
  ``liquidation_fee_ppm`` (an integer number of parts per million), ``liquidator_fee_ppm`` (the
  same, LIQ-FEE-3), ``min_maint_margin`` (quote), ``oi_scaling`` (``{"lower_cap": quote,
  "upper_cap": quote}``) and ``tier_basis`` (``notional``, the default, or ``size``: tiers keyed
  by the position's size, LIQ-TIER-8) are optional.
* an inverse market (LIQ-INVERSE-1): ``"kind": "inverse"`` with ``face_per_lot`` (a lot's face
  value in whole units of the price currency: 100 for XBTUSD's lot of 100 contracts of 1 USD)
  and ``venue_price_decimals``, and optionally ``order_tick`` (the venue's price increment in
  venue ticks, 1 by default, at which a threshold is printed: LIQ-INVERSE-3); its units are the
  model's (``base_decimals`` 0 and
  ``price_decimals`` the quote decimals, which may be omitted). Its marks and entry prices are
  the venue's (USD) and its sizes the venue's lots (positive: long contracts); amounts and tier
  floors are in the coin, the profile's quote asset.
* a tier of a market keyed by size: ``floor_size`` (base units, the first ``"0"``),
  ``maint_margin_rate`` and ``init_margin_rate``, all three required, and no deductions.
* a tier: ``floor_notional``, ``maint_deduction`` and ``init_deduction`` in quote;
  ``maint_margin_rate`` and ``init_margin_rate`` as decimal fractions (``"0.004"`` is 0.4%), which
  must be whole parts per million, or, for a rate a venue defines as a fraction, as ``"a/b"``
  (``"1/30"``), with the deductions such rates need written the same way (``"4000000/3"``): the
  market then gets the least ``rate_scale`` that makes them whole (LIQ-TIER-7). All five are
  required; the deductions must keep each requirement
  continuous at every tier floor (LIQ-TIER-2), and an error says which value would.
* an account: ``id`` and ``quote`` are required; ``isolated_market`` (``null`` for cross margin),
  ``positions`` (``{market: {"size": signed base, "entry_price": price}}``, both required; negative
  size is a short; an optional ``"leverage"``, a JSON integer, is the trader's chosen leverage in
  that market, LIQ-LEVERAGE-1, at most the maximum of the tier of the entry notional) and
  ``description`` are optional.

Unknown keys are errors (a typo must not be silently ignored), and so are missing required keys,
duplicate keys, wrong types and out-of-domain values. Every error is a :class:`StateFileError` whose
message starts with the field's path, e.g. ``accounts[2].positions.BTCUSDT.size: '0.0001' has more
than 3 decimal places``; a JSON syntax error reports its line and column.

What ``quote`` means, and how the state is built
------------------------------------------------
An account's ``quote`` is its **wallet balance**, the number a venue shows: collateral before the
entry cost of open positions is deducted, so that equity = wallet + unrealized PnL. The reference
holds the dYdX form instead (quote balance + position value), so the loader books, in order:

1. each wallet balance as a deposit from the ``outside`` holder (LIQ-DEPOSIT-1), and the insurance
   fund as a top-up from outside (LIQ-INSURANCE-2), through the reference's own operations;
2. each position as one fill at its entry price (LIQ-LEDGER-2) between the account and a backstop-
   role account named :data:`OPENING_COUNTERPARTY`, which stands for "whoever was on the other side
   of the book before this snapshot". The fill leaves the account with quote balance = wallet -
   lots * entry * value_per_lot_tick and cost basis = lots * entry * value_per_lot_tick (signed),
   exactly the fields a trade at that price would have left (LIQ-MARGIN-4).

Why a counterparty account rather than setting the fields directly: every invariant then holds on
a loaded state with nothing exempted. Quote sums to zero over all holders and replays from the
journal (LIQ-INV-1), and base sums to zero in every market and replays from the fills (LIQ-INV-2).
The fills bypass the initial-margin check on purpose (a snapshot may hold accounts that are already
under water; that is what ``explain`` is for). The counterparty has the backstop role, so no rule
treats it as a trader: it is never liquidated or ranked for ADL, and ``explain`` does not list it
unless asked. It exists only when some account holds a position, and no account in the file may
take its name.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from math import lcm
from pathlib import Path
from typing import Protocol

from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN, PPM, checked
from liqspec.reference.collateral import deposit, open_account
from liqspec.reference.deleveraging import ORDERINGS, RANKINGS
from liqspec.reference.errors import InexactDecimal, LiqspecError, ResultCode
from liqspec.reference.insurance import fund_insurance
from liqspec.reference.invariants import all_violations
from liqspec.reference.inverse import lot_value_quanta, model_lots
from liqspec.reference.ledger import open_at_entry
from liqspec.reference.leverage import check_leverage_within_tier, valid_leverage
from liqspec.reference.margin import (account_initial_margin_quote,
                                      account_maintenance_margin_quote, equity_quote,
                                      notional_quote, open_interest_quote)
from liqspec.reference.profile import (MAX_ORDER_TICK, MAX_RATE_SCALE,
                                       MAX_VENUE_PRICE_DECIMALS, AdlPrice, BadDebtPolicy,
                                       FeePolicy, LiquidationSize, MaintenanceBasis, Market,
                                       MarketKind, OpenInterestScaling, Profile, Tier,
                                       TierBasis, Trigger, validate_market)
from liqspec.reference.profiles import get_profile, tier_deduction_text
from liqspec.reference.state import BACKSTOP, HOLDERS, State, new_state
from liqspec.reference.units import from_units, quote_per_lot_tick, to_units

#: the backstop-role account that holds the other side of every opening position
OPENING_COUNTERPARTY = "opening-counterparty"

#: the rule stamped on the opening fills: a movement of base between two accounts
#: the embedded example, inside the installed package
EXAMPLE_RESOURCE = "data/example_state.json"

#: a rate is a decimal fraction with at most this many places: a whole number of ppm
RATE_DECIMALS = 6


class FieldError(LiqspecError):
    """A field of an input document is malformed: ``path`` names the field, ``reason`` is the
    message without it, ``code`` the reference's result code for the underlying problem; a syntax
    error has an empty path and carries ``line`` and ``column``."""

    def __init__(self, path: str, reason: str, code: ResultCode = ResultCode.MALFORMED_STATE,
                 line: int | None = None, column: int | None = None):
        super().__init__(f"{path}: {reason}" if path else reason, code)
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column


class StateFileError(FieldError):
    """A state file is malformed; ``path`` names the field (``accounts[2].positions.BTCUSDT.size``).

    ``code`` is the reference's result code for the underlying problem (``INEXACT_DECIMAL``,
    ``INVALID_PRICE``, ``UNKNOWN_MARKET``...; ``MALFORMED_STATE`` otherwise). A JSON syntax error
    has an empty path and carries ``line`` and ``column``.
    """


@dataclass(frozen=True)
class LoadedState:
    """A loaded state and what the file says about it beyond the reference's state."""

    state: State
    #: display name of the quote asset (``"USDT"``); the state itself only knows its decimals
    quote_asset: str = "quote"
    description: str = ""
    #: account ID -> its ``description`` in the file
    account_descriptions: dict[str, str] = field(default_factory=dict)
    #: the opening counterparty's ID, or None when no account holds a position
    counterparty_id: str | None = None


# -- reading JSON -------------------------------------------------------------------------------

class _JsonObject(dict):
    """A JSON object that remembers keys it saw twice, so the error can name their path."""

    duplicate_keys: list[str]


def _object_pairs(pairs: list[tuple[str, object]]) -> _JsonObject:
    obj = _JsonObject()
    obj.duplicate_keys = []
    for key, value in pairs:
        if key in obj:
            obj.duplicate_keys.append(key)
        obj[key] = value
    return obj


class _NonFinite:
    """JSON's non-standard NaN / Infinity, kept as a marker so the error can name its path."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def decode_text(data: bytes, name: str) -> str:
    """A file's bytes as text: UTF-8, strictly (a stray byte is an error, never replaced or
    smuggled through as a surrogate), and a leading byte-order mark, which editors on Windows
    write, is dropped. Every file format of the command reads its bytes through here, from a
    file or from standard input alike."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StateFileError("", f"{name} is not UTF-8 text: {error.reason} at byte "
                                 f"{error.start}") from None


def _is_unicode(text: str) -> bool:
    """Whether ``text`` is made of Unicode characters only (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate(document: object) -> tuple[str, str] | None:
    """The path and text of the first string (a key or a value) holding a lone surrogate, which
    a JSON ``\\ud800`` escape decodes to: not a Unicode character, so it can be neither compared
    reliably nor printed. Iterative, so a deeply nested document cannot exhaust the stack."""
    stack: list[tuple[str, object]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _is_unicode(value):
                return path or "(top level)", value
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if not _is_unicode(key):
                    return path or "(top level)", key
                stack.append((join_path(path, key), item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return None


def _parse_json(text: str) -> object:
    try:
        # parse_float=Decimal: a JSON number such as 0.004 is read exactly, never as a float.
        document = json.loads(text.removeprefix("\ufeff"), parse_float=Decimal,
                              parse_constant=_NonFinite, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as error:
        raise StateFileError("", f"invalid JSON at line {error.lineno}, column {error.colno}: "
                                 f"{error.msg}", line=error.lineno, column=error.colno) from None
    except ValueError as error:  # e.g. an integer past Python's digit limit for int()
        raise StateFileError("", f"invalid JSON: {error}") from None
    except RecursionError:
        raise StateFileError("", "invalid JSON: nested too deeply") from None
    found = _lone_surrogate(document)
    if found is not None:
        path, text = found
        raise StateFileError(path, f"{text!r} holds an escape of a lone surrogate (\\ud800 to "
                                   f"\\udfff), which is not a Unicode character")
    return document


# -- field paths and typed values ---------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def join_path(path: str, key: str) -> str:
    """``accounts[0]`` + ``positions`` -> ``accounts[0].positions``; odd keys are quoted."""
    part = key if _PLAIN_KEY.fullmatch(key) else json.dumps(key)
    return f"{path}.{part}" if path else part


#: a value's type as a file format names it: (Python types, name), the first match wins
TypeNames = tuple[tuple[type | tuple[type, ...], str], ...]

#: JSON's names (numbers are read as Decimal or int)
_JSON_TYPES: TypeNames = ((type(None), "null"), (bool, "a boolean"), ((int, Decimal), "a number"),
                          (str, "a string"), (list, "a list"), (dict, "an object"))


def type_name(value: object, names: TypeNames, other: Callable[[object], str] = repr) -> str:
    """``value``'s type in a file format's words (``names``), else ``other(value)``."""
    return next((name for types, name in names if isinstance(value, types)), None) or other(value)


def _type_name(value: object) -> str:
    return type_name(value, _JSON_TYPES)


def _fail(path: str, message: str, code: ResultCode = ResultCode.MALFORMED_STATE) -> StateFileError:
    return StateFileError(path, message, code)


def field_object(value: object, path: str, required: tuple[str, ...] = (),
            optional: tuple[str, ...] = ()) -> dict:
    """Check that ``value`` is an object with every required key and no unknown or repeated one."""
    if not isinstance(value, dict):
        raise _fail(path or "(top level)", f"expected an object, got {_type_name(value)}")
    for key in getattr(value, "duplicate_keys", ()):
        raise _fail(join_path(path, key), "key appears more than once")
    known = required + optional
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (allowed: {', '.join(known)})"
            raise _fail(join_path(path, key), f"unknown key{hint}")
    for key in required:
        if key not in value:
            raise _fail(join_path(path, key), "required key is missing")
    return value


def _mapping(value: object, path: str) -> dict:
    """An object whose keys are names the file chooses (market IDs): no key is unknown."""
    return field_object(value, path, optional=tuple(value) if isinstance(value, dict) else ())


def checked_string(value: object, path: str, fail: Callable[..., LiqspecError],
                   kind: Callable[[object], str]) -> str:
    """A string, else ``fail(path, message)`` naming the value's ``kind`` (each file format
    passes its own error and its own type names)."""
    if not isinstance(value, str):
        raise fail(path, f"expected a string, got {kind(value)}")
    return value


def checked_integer(value: object, path: str, low: int, high: int,
                    fail: Callable[..., LiqspecError], kind: Callable[[object], str],
                    number: str = "{}") -> int:
    """An integer (not a boolean, not a decimal) within ``low..high``, else ``fail(path,
    message, code)``; ``number`` formats the bounds and the value in the message."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(path, f"expected an integer, got {kind(value)}", ResultCode.NOT_AN_INTEGER)
    if not low <= value <= high:
        low_text, high_text, got = (number.format(v) for v in (low, high, value))
        raise fail(path, f"must be in {low_text}..{high_text}, got {got}")
    return value


def _string(value: object, path: str) -> str:
    return checked_string(value, path, _fail, _type_name)


def _integer(value: object, path: str, low: int, high: int) -> int:
    """A JSON integer (not a boolean, not a decimal) within ``low..high``."""
    return checked_integer(value, path, low, high, _fail, _type_name)


def field_decimal(value: object, path: str) -> Decimal:
    """A human decimal (string or exact JSON number) as a finite ``Decimal``, exactly as written."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _fail(path, f"expected a decimal number such as \"12.5\", got {_type_name(value)}")
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _fail(path, f"{text!r} is not a decimal number", ResultCode.INEXACT_DECIMAL) from None
    if not number.is_finite():
        raise _fail(path, f"{text!r} is not a finite number", ResultCode.INEXACT_DECIMAL)
    return number


def field_units(value: object, decimals: int, path: str, why: str = "") -> int:
    """A human decimal (string or exact JSON number) in integer units of ``10**-decimals``,
    converted exactly by the reference (LIQ-UNIT-2) and inside the int64 domain (LIQ-DOMAIN-1)."""
    number = field_decimal(value, path)
    text = str(value).strip()
    # Decided on the exponent first, so a huge or tiny exponent never reaches Decimal's context.
    if number != 0 and number.adjusted() + decimals >= 19:
        raise _fail(path, f"{text!r} is outside the signed 64-bit domain in units of "
                          f"10^-{decimals} (LIQ-DOMAIN-1)", ResultCode.OVERFLOW)
    if number != 0 and number.adjusted() < -decimals:
        units = None  # a non-zero digit below the unit: inexact, whatever Decimal would round to
    else:
        try:
            units = to_units(text, decimals, path)
        except InexactDecimal:
            units = None
    if units is None:
        reason = f"{text!r} has more than {decimals} decimal places"
        raise _fail(path, f"{reason} ({why})" if why else reason, ResultCode.INEXACT_DECIMAL)
    if not INT64_MIN <= units <= INT64_MAX:
        raise _fail(path, f"{text!r} is outside the signed 64-bit domain in units of "
                          f"10^-{decimals} (LIQ-DOMAIN-1)", ResultCode.OVERFLOW)
    return units


def field_quote(value: object, quote_decimals: int, path: str) -> int:
    """A non-negative quote amount in quote quantums."""
    units = field_units(value, quote_decimals, path)
    if units < 0:
        raise _fail(path, f"must not be negative, got {str(value)!r}", ResultCode.INVALID_AMOUNT)
    return units


def _written_fraction(value: object, path: str) -> Fraction | None:
    """``"a/b"`` (two decimals, b > 0) as an exact Fraction; None for any other spelling. A rate
    or a deduction that a venue defines as a fraction (Hyperliquid's 1/30) is written so
    (LIQ-TIER-7)."""
    if not isinstance(value, str) or "/" not in value:
        return None
    parts = [field_decimal(part, path) for part in value.split("/", 1)]
    if any(part != 0 and abs(part.adjusted()) > 30 for part in parts):
        raise _fail(path, f"{value!r}: a fraction's terms are at most 30 digits",
                    ResultCode.OVERFLOW)
    if parts[1] <= 0:
        raise _fail(path, f"{value!r}: a fraction's denominator must be positive",
                    ResultCode.INEXACT_DECIMAL)
    return Fraction(parts[0]) / Fraction(parts[1])


def _rate_ppm(value: object, path: str) -> int | Fraction:
    """A rate given as a decimal fraction (``"0.004"``), exactly in ppm (``4000``), or as a
    fraction (``"1/30"``, LIQ-TIER-7), in ppm, exactly (``100000/3``)."""
    exact = _written_fraction(value, path)
    if exact is not None:
        rate: int | Fraction = exact * PPM
    else:
        rate = field_units(value, RATE_DECIMALS, path,
                           why="a rate must be a whole number of parts per million, or a "
                               "fraction such as \"1/30\"")
    if not 0 <= rate <= PPM:
        raise _fail(path, f"a rate is a fraction in 0..1, got {str(value)!r}",
                    ResultCode.INVALID_RATE)
    return rate


def _deduction_quote(value: object, quote_decimals: int, path: str) -> int | Fraction:
    """A tier deduction in quote quantums: a decimal, or a fraction (``"4000000/3"``) where the
    venue's rates are fractions (LIQ-TIER-7)."""
    exact = _written_fraction(value, path)
    if exact is None:
        return field_quote(value, quote_decimals, path)
    if exact < 0:
        raise _fail(path, f"must not be negative, got {str(value)!r}", ResultCode.INVALID_AMOUNT)
    return exact * 10**quote_decimals


def field_price_ticks(value: object, price_decimals: int, path: str) -> int:
    ticks = field_units(value, price_decimals, path)
    if ticks <= 0:
        raise _fail(path, f"a price must be positive, got {str(value)!r}", ResultCode.INVALID_PRICE)
    return ticks


def checked_choice(value: object, path: str, allowed: tuple[str, ...],
                   fail: Callable[..., LiqspecError], kind: Callable[[object], str]) -> str:
    """One of ``allowed`` (a string), else ``fail(path, message)``."""
    text = checked_string(value, path, fail, kind)
    if text not in allowed:
        raise fail(path, f"{text!r} is not one of {', '.join(allowed)}")
    return text


def _choice(value: object, path: str, allowed: tuple[str, ...]) -> str:
    return checked_choice(value, path, allowed, _fail, _type_name)


# -- the venue ----------------------------------------------------------------------------------

_TIER_KEYS = ("floor_notional", "maint_margin_rate", "maint_deduction", "init_margin_rate",
              "init_deduction")
#: a tier of a market keyed by size (LIQ-TIER-8): its floor in base units, its rates, and no
#: deductions
_SIZE_TIER_KEYS = ("floor_size", "maint_margin_rate", "init_margin_rate")


def _size_tier(value: object, base_decimals: int, path: str) -> Tier:
    """A tier of a market keyed by size: ``floor_size`` in base units (``"10.00001"``, the
    first 0) and the two rates, as :func:`_tier` reads them (LIQ-TIER-8)."""
    obj = field_object(value, path, required=_SIZE_TIER_KEYS)
    floor_lots = field_units(obj["floor_size"], base_decimals, join_path(path, "floor_size"))
    if floor_lots < 0:
        raise _fail(join_path(path, "floor_size"), "must not be negative")
    rates = _tier({"floor_notional": "0", "maint_deduction": "0", "init_deduction": "0",
                   "maint_margin_rate": obj["maint_margin_rate"],
                   "init_margin_rate": obj["init_margin_rate"]}, 0, path)
    return replace(rates, floor_lots=floor_lots)


def _tier(value: object, quote_decimals: int, path: str) -> Tier:
    """A tier as written: its rates (ppm) and deductions (quantums) may still be Fractions,
    which :func:`_scaled_tiers` turns into the market's rate_scale."""
    obj = field_object(value, path, required=_TIER_KEYS)
    tier = Tier(
        floor_notional_quote=field_quote(obj["floor_notional"], quote_decimals,
                                    join_path(path, "floor_notional")),
        maint_margin_ppm=_rate_ppm(obj["maint_margin_rate"],  # type: ignore[arg-type]
                                   join_path(path, "maint_margin_rate")),
        maint_deduction_quote=_deduction_quote(  # type: ignore[arg-type]
            obj["maint_deduction"], quote_decimals, join_path(path, "maint_deduction")),
        init_margin_ppm=_rate_ppm(obj["init_margin_rate"],  # type: ignore[arg-type]
                                  join_path(path, "init_margin_rate")),
        init_deduction_quote=_deduction_quote(  # type: ignore[arg-type]
            obj["init_deduction"], quote_decimals, join_path(path, "init_deduction")),
    )
    # The rate ranges of validate_market (LIQ-DOMAIN-2), said here so the path names the rate.
    if not 0 < tier.maint_margin_ppm < PPM:
        raise _fail(join_path(path, "maint_margin_rate"), "must be above 0 and below 1",
                    ResultCode.INVALID_RATE)
    if tier.init_margin_ppm < tier.maint_margin_ppm:
        raise _fail(join_path(path, "init_margin_rate"),
                    f"must be at least maint_margin_rate ({_rate_text(tier.maint_margin_ppm)})",
                    ResultCode.INVALID_RATE)
    return tier


def _rate_text(ppm: int | Fraction) -> str:
    """A rate in ppm as written: a decimal fraction, or ``a/b``."""
    return from_units(int(ppm), 6) if Fraction(ppm).denominator == 1 else str(Fraction(ppm, PPM))


_SCALED_FIELDS = ("maint_margin_ppm", "maint_deduction_quote", "init_margin_ppm",
                  "init_deduction_quote")


def _scaled_tiers(tiers: list[Tier], path: str) -> tuple[list[Tier], int]:
    """The tiers in the least rate_scale that makes every rate (ppm) and deduction (quantums) a
    whole number (LIQ-TIER-7): 1 where all are decimals, as written."""
    scale = 1
    for tier in tiers:
        for name in _SCALED_FIELDS:
            scale = lcm(scale, Fraction(getattr(tier, name)).denominator)
    if scale > MAX_RATE_SCALE:
        raise _fail(path, f"the rates and deductions need a rate_scale of {scale}, above "
                          f"{MAX_RATE_SCALE:_} (LIQ-TIER-7)", ResultCode.INVALID_RATE)
    return [replace(tier, **{name: int(getattr(tier, name) * scale) for name in _SCALED_FIELDS})
            for tier in tiers], scale


def _check_size_tier_table(tiers: list[Tier], path: str) -> None:
    """The size-keyed table rules of validate_market (LIQ-TIER-8), checked first so the error
    names the tier's field: floors from 0, increasing, and rates that do not decrease."""
    if tiers[0].floor_lots != 0:
        raise _fail(join_path(f"{path}[0]", "floor_size"), "the first tier must start at 0")
    for index in range(1, len(tiers)):
        previous, tier = tiers[index - 1], tiers[index]
        if tier.floor_lots <= previous.floor_lots:
            raise _fail(join_path(f"{path}[{index}]", "floor_size"), "tier floors must increase")
        if tier.maint_margin_ppm < previous.maint_margin_ppm:
            raise _fail(join_path(f"{path}[{index}]", "maint_margin_rate"),
                        "must not be below the previous tier's")


def _check_tier_table(tiers: list[Tier], quote_decimals: int, scale: int, path: str) -> None:
    """The tier-table rules of validate_market (LIQ-DOMAIN-2, LIQ-TIER-2), checked first so the
    error names the tier's field and, for a deduction, the value that keeps the requirement
    continuous at the floor, in human units. validate_market runs afterwards and stays the
    authority."""

    def quote_text(quantums: int) -> str:
        return from_units(quantums, quote_decimals)

    first = tiers[0]
    if first.floor_notional_quote != 0:
        raise _fail(join_path(f"{path}[0]", "floor_notional"), "the first tier must start at 0")
    for key, amount in (("maint_deduction", first.maint_deduction_quote),
                        ("init_deduction", first.init_deduction_quote)):
        if amount != 0:
            raise _fail(join_path(f"{path}[0]", key), "the first tier has no deduction: must be 0")
    for index in range(1, len(tiers)):
        previous, tier = tiers[index - 1], tiers[index]
        if tier.floor_notional_quote <= previous.floor_notional_quote:
            raise _fail(join_path(f"{path}[{index}]", "floor_notional"),
                        "tier floors must increase")
        if tier.maint_margin_ppm < previous.maint_margin_ppm:
            raise _fail(join_path(f"{path}[{index}]", "maint_margin_rate"),
                        "must not be below the previous tier's")
        for rate, deduction, key in (("maint_margin_ppm", "maint_deduction_quote",
                                      "maint_deduction"),
                                     ("init_margin_ppm", "init_deduction_quote", "init_deduction")):
            # rate_i * floor - ded_i == rate_{i-1} * floor - ded_{i-1}, scaled by 10^6 to stay exact
            wanted_scaled = (getattr(previous, deduction) * PPM + tier.floor_notional_quote
                             * (getattr(tier, rate) - getattr(previous, rate)))
            if getattr(tier, deduction) * PPM == wanted_scaled:
                continue
            where = join_path(f"{path}[{index}]", key)
            got = tier_deduction_text(getattr(tier, deduction), scale, quote_text)
            if wanted_scaled % PPM == 0:
                wanted = tier_deduction_text(wanted_scaled // PPM, scale, quote_text)
                raise _fail(where, f"must be {wanted} for the requirement to be continuous at "
                                   f"the tier floor (LIQ-TIER-2), got {got}")
            raise _fail(where, f"no deduction in whole quote units keeps the requirement "
                               f"continuous at this floor (LIQ-TIER-2), got {got}")


def _market(market_id: str, value: object, quote_decimals: int, path: str) -> Market:
    kind = MarketKind.LINEAR
    if isinstance(value, dict) and "kind" in value:
        kind = _choice(value["kind"], join_path(path, "kind"), tuple(MarketKind))
    inverse = kind == MarketKind.INVERSE
    # an inverse market's model units are fixed (LIQ-INVERSE-1): whole lots, coin per lot
    units = ("base_decimals", "price_decimals")
    obj = field_object(value, path, required=(() if inverse else units) + ("tiers",),
                  optional=("liquidation_fee_ppm", "liquidator_fee_ppm", "min_maint_margin",
                            "oi_scaling", "tier_basis", "kind")
                  + (units + ("face_per_lot", "venue_price_decimals", "order_tick")
                     if inverse else ()))
    tier_basis = _choice(obj.get("tier_basis", TierBasis.NOTIONAL),
                         join_path(path, "tier_basis"), tuple(TierBasis))
    by_size = tier_basis == TierBasis.SIZE
    base_decimals = _integer(obj.get("base_decimals", 0), join_path(path, "base_decimals"), 0, 18)
    price_decimals = _integer(obj.get("price_decimals", quote_decimals),
                              join_path(path, "price_decimals"), 0, 18)
    face_per_lot = venue_decimals = 0
    order_tick = 1
    if inverse:
        face_path = join_path(path, "face_per_lot")
        if "face_per_lot" not in obj:
            raise _fail(face_path, "missing: an inverse market needs the face value of a lot")
        face_per_lot = _integer(obj["face_per_lot"], face_path, 1, INT64_MAX)
        venue_decimals = _integer(obj.get("venue_price_decimals", 0),
                                  join_path(path, "venue_price_decimals"), 0,
                                  MAX_VENUE_PRICE_DECIMALS)
        order_tick = _integer(obj.get("order_tick", 1), join_path(path, "order_tick"), 1,
                              MAX_ORDER_TICK)
    try:  # LIQ-UNIT-1: one lot at one tick must be a whole number of quote quantums
        quote_per_lot_tick(quote_decimals, base_decimals, price_decimals)
    except LiqspecError as error:
        raise StateFileError(path, f"{error} (LIQ-UNIT-1)", error.code) from None
    tiers_path = join_path(path, "tiers")
    raw_tiers = obj["tiers"]
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise _fail(tiers_path, f"expected a non-empty list of tiers, got {_type_name(raw_tiers)}")
    tiers, scale = _scaled_tiers([_size_tier(row, base_decimals, f"{tiers_path}[{i}]") if by_size
                                  else _tier(row, quote_decimals, f"{tiers_path}[{i}]")
                                  for i, row in enumerate(raw_tiers)], tiers_path)
    if by_size:
        _check_size_tier_table(tiers, tiers_path)
    else:
        _check_tier_table(tiers, quote_decimals, scale, tiers_path)
    oi_scaling = None
    if obj.get("oi_scaling") is not None:
        oi_path = join_path(path, "oi_scaling")
        oi = field_object(obj["oi_scaling"], oi_path, required=("lower_cap", "upper_cap"))
        oi_scaling = OpenInterestScaling(
            field_quote(oi["lower_cap"], quote_decimals, join_path(oi_path, "lower_cap")),
            field_quote(oi["upper_cap"], quote_decimals, join_path(oi_path, "upper_cap")))
    market = Market(
        market_id=market_id,
        base_decimals=base_decimals,
        price_decimals=price_decimals,
        tiers=tuple(tiers),
        liquidation_fee_ppm=_integer(obj.get("liquidation_fee_ppm", 0),
                                     join_path(path, "liquidation_fee_ppm"), 0, PPM),
        min_maint_margin_quote=field_quote(obj.get("min_maint_margin", 0), quote_decimals,
                                      join_path(path, "min_maint_margin")),
        oi_scaling=oi_scaling,
        rate_scale=scale,
        liquidator_fee_ppm=_integer(obj.get("liquidator_fee_ppm", 0),
                                    join_path(path, "liquidator_fee_ppm"), 0, PPM),
        tier_basis=tier_basis,
        kind=kind,
        face_per_lot=face_per_lot,
        venue_price_decimals=venue_decimals,
        order_tick=order_tick,
    )
    try:
        validate_market(market)  # the reference's domain check (LIQ-DOMAIN-2) is the authority
    except LiqspecError as error:
        raise StateFileError(path, str(error), error.code) from None
    return market


_VENUE_POLICIES = ("quote_asset", "liquidation_size", "portion_rate", "portion_threshold",
                   "share_target_ratio", "liquidation_buffer_ratio", "fee_policy",
                   "maintenance_basis", "trigger", "backstop_ratio", "bad_debt_policy",
                   "adl_ranking", "adl_price", "adl_seed", "adl_drawdown_ratio",
                   "adl_drawdown_window_s", "description", "sources")


def _venue(value: object, path: str) -> tuple[Profile, str]:
    obj = field_object(value, path, required=("name", "quote_decimals", "markets"),
                  optional=_VENUE_POLICIES)
    name = _string(obj["name"], join_path(path, "name"))
    quote_decimals = _integer(obj["quote_decimals"], join_path(path, "quote_decimals"), 0, 18)
    markets_path = join_path(path, "markets")
    raw_markets = _mapping(obj["markets"], markets_path)
    if not raw_markets:
        raise _fail(markets_path, "a venue needs at least one market")
    markets = {market_id: _market(market_id, raw, quote_decimals, join_path(markets_path, market_id))
               for market_id, raw in raw_markets.items()}
    fields: dict[str, object] = {"name": name, "quote_decimals": quote_decimals,
                                 "markets": markets}

    def p(key: str) -> str:  # a policy field's path
        return join_path(path, key)

    if "liquidation_size" in obj:
        fields["liquidation_size"] = _choice(obj["liquidation_size"], p("liquidation_size"),
                                             tuple(LiquidationSize))
    if "portion_rate" in obj:
        fields["portion_ppm"] = _rate_ppm(obj["portion_rate"], p("portion_rate"))
        if fields["portion_ppm"] == 0:
            raise _fail(p("portion_rate"), "must be above 0")
    if "portion_threshold" in obj:
        fields["portion_threshold_quote"] = field_quote(obj["portion_threshold"], quote_decimals,
                                                   p("portion_threshold"))
    if "share_target_ratio" in obj:
        fields["share_target_ppm"] = _rate_ppm(obj["share_target_ratio"], p("share_target_ratio"))
        if fields["share_target_ppm"] == 0:
            raise _fail(p("share_target_ratio"), "must be above 0")
    if "liquidation_buffer_ratio" in obj:
        fields["liquidation_buffer_ppm"] = _rate_ppm(obj["liquidation_buffer_ratio"],
                                                     p("liquidation_buffer_ratio"))
    if "fee_policy" in obj:
        fields["fee_policy"] = _choice(obj["fee_policy"], p("fee_policy"),
                                       tuple(FeePolicy))
    if "maintenance_basis" in obj:
        fields["maintenance_basis"] = _choice(obj["maintenance_basis"], p("maintenance_basis"),
                                              tuple(MaintenanceBasis))
    if "trigger" in obj:
        fields["trigger"] = _choice(obj["trigger"], p("trigger"), tuple(Trigger))
    if obj.get("backstop_ratio") is not None:
        ratio = obj["backstop_ratio"]
        if not isinstance(ratio, list) or len(ratio) != 2:
            raise _fail(p("backstop_ratio"), f"expected [num, den], got {_type_name(ratio)}")
        num = _integer(ratio[0], f"{p('backstop_ratio')}[0]", 1, INT64_MAX)
        den = _integer(ratio[1], f"{p('backstop_ratio')}[1]", 1, INT64_MAX)
        if num >= den:
            raise _fail(p("backstop_ratio"), f"need 0 < num < den, got [{num}, {den}]")
        fields["backstop_ratio"] = (num, den)
    if "bad_debt_policy" in obj:
        fields["bad_debt_policy"] = _choice(obj["bad_debt_policy"], p("bad_debt_policy"),
                                            tuple(BadDebtPolicy))
    if "adl_ranking" in obj:
        fields["adl_ranking"] = _choice(obj["adl_ranking"], p("adl_ranking"),
                                        tuple(RANKINGS) + tuple(ORDERINGS))
    if "adl_price" in obj:
        fields["adl_price"] = _choice(obj["adl_price"], p("adl_price"),
                                      (AdlPrice.BANKRUPTCY, AdlPrice.MARK))
    if "adl_seed" in obj:
        fields["adl_seed"] = _integer(obj["adl_seed"], p("adl_seed"), 0, 2**64 - 1)
    if "adl_drawdown_ratio" in obj:  # LIQ-ADL-5: with its window, or the profile refuses it
        fields["adl_drawdown_ppm"] = _rate_ppm(obj["adl_drawdown_ratio"], p("adl_drawdown_ratio"))
    if "adl_drawdown_window_s" in obj:
        fields["adl_drawdown_window_s"] = _integer(obj["adl_drawdown_window_s"],
                                                   p("adl_drawdown_window_s"), 1, INT64_MAX)
    if "description" in obj:
        fields["description"] = _string(obj["description"], p("description"))
    if "sources" in obj:
        sources = obj["sources"]
        if not isinstance(sources, list):
            raise _fail(p("sources"), f"expected a list of strings, got {_type_name(sources)}")
        fields["sources"] = tuple(_string(s, f"{p('sources')}[{i}]") for i, s in enumerate(sources))
    quote_asset = _string(obj.get("quote_asset", "quote"), p("quote_asset"))
    try:
        profile = Profile(**fields)  # type: ignore[arg-type]
    except LiqspecError as error:
        raise StateFileError(path, str(error), error.code) from None
    return profile, quote_asset


def _named_profile(value: object, path: str) -> tuple[Profile, str]:
    name = _string(value, path)
    try:
        profile = get_profile(name)
    except LiqspecError as error:
        raise StateFileError(path, str(error), error.code) from None
    return profile, profile.quote_asset


# -- the state ----------------------------------------------------------------------------------

def field_model_lots(value: object, profile: Profile, market_id: str, path: str) -> int:
    """A position's size in the model's lots: a linear market's as written (base units); an
    inverse market's is the venue's lots (positive: long contracts), the model's opposite
    (LIQ-INVERSE-1)."""
    market = profile.markets[market_id]
    lots = field_units(value, market.base_decimals, path)
    return model_lots(lots) if market.kind == MarketKind.INVERSE else lots


def field_model_price(value: object, profile: Profile, market_id: str, path: str) -> int:
    """A price of the file in the model's ticks: a linear market's as written; an inverse
    market's is the venue's (USD) and becomes its lot's coin value (LIQ-INVERSE-1)."""
    market = profile.markets[market_id]
    if market.kind != MarketKind.INVERSE:
        return field_price_ticks(value, market.price_decimals, path)
    venue_ticks = field_price_ticks(value, market.venue_price_decimals, path)
    try:
        return lot_value_quanta(profile, market_id, venue_ticks)
    except LiqspecError as error:
        raise StateFileError(path, f"{error} (LIQ-INVERSE-1)", error.code) from None


_TOP_KEYS = ("profile", "venue", "marks", "insurance_fund", "accounts", "description")


def _marks(value: object, profile: Profile, path: str) -> dict[str, int]:
    obj = _mapping(value, path)
    marks = {}
    for market_id, raw in obj.items():
        where = join_path(path, market_id)
        if market_id not in profile.markets:
            raise _fail(where, f"unknown market (markets: {', '.join(profile.markets)})",
                        ResultCode.UNKNOWN_MARKET)
        marks[market_id] = field_model_price(raw, profile, market_id, where)
    for market_id in profile.markets:
        if market_id not in marks:
            raise _fail(join_path(path, market_id), "missing: every market needs a mark price",
                        ResultCode.INVALID_PRICE)
    return marks


@dataclass(frozen=True)
class _AccountSpec:
    account_id: str
    isolated_market: str | None
    wallet_quote: int
    positions: dict[str, tuple[int, int, str]]  # market -> (lots, entry ticks, path)
    description: str
    path: str
    leverage: dict[str, int] = field(default_factory=dict)  # market -> chosen leverage


def _account(value: object, profile: Profile, path: str, seen: set[str]) -> _AccountSpec:
    obj = field_object(value, path, required=("id", "quote"),
                  optional=("isolated_market", "positions", "description"))
    id_path = join_path(path, "id")
    account_id = _string(obj["id"], id_path)
    if not account_id:
        raise _fail(id_path, "an account ID must not be empty")
    if account_id in HOLDERS or account_id == OPENING_COUNTERPARTY:
        raise _fail(id_path, f"{account_id!r} is reserved for a holder the loader books against")
    if account_id in seen:
        raise _fail(id_path, f"duplicate account ID {account_id!r}")
    seen.add(account_id)
    isolated = obj.get("isolated_market")
    iso_path = join_path(path, "isolated_market")
    if isolated is not None:
        isolated = _string(isolated, iso_path)
        if isolated not in profile.markets:
            raise _fail(iso_path, f"unknown market {isolated!r} (markets: "
                                  f"{', '.join(profile.markets)})", ResultCode.UNKNOWN_MARKET)
    wallet = field_quote(obj["quote"], profile.quote_decimals, join_path(path, "quote"))
    positions_path = join_path(path, "positions")
    raw_positions = _mapping(obj.get("positions", {}), positions_path)
    positions, leverage = {}, {}
    for market_id, raw in raw_positions.items():
        where = join_path(positions_path, market_id)
        if market_id not in profile.markets:
            raise _fail(where, f"unknown market (markets: {', '.join(profile.markets)})",
                        ResultCode.UNKNOWN_MARKET)
        if isolated is not None and market_id != isolated:
            raise _fail(where, f"the account is isolated to {isolated} and cannot hold "
                               f"{market_id} (LIQ-ACCOUNT-2)",
                        ResultCode.ISOLATED_MARKET_MISMATCH)
        market = profile.markets[market_id]
        position = field_object(raw, where, required=("size", "entry_price"),
                                optional=("leverage",))
        lots = field_model_lots(position["size"], profile, market_id, join_path(where, "size"))
        entry = field_model_price(position["entry_price"], profile, market_id,
                                  join_path(where, "entry_price"))
        if lots != 0:  # a zero size is a flat position: nothing to book
            positions[market_id] = (lots, entry, where)
        if "leverage" in position:
            leverage[market_id] = _leverage(position["leverage"], market, lots, entry,
                                            join_path(where, "leverage"))
    description = _string(obj.get("description", ""), join_path(path, "description"))
    return _AccountSpec(account_id, isolated, wallet, positions, description, path, leverage)


def _leverage(value: object, market: Market, lots: int, entry_ticks: int, path: str) -> int:
    """A chosen leverage (LIQ-LEVERAGE-1): a whole multiple in 1..10^6, at most the maximum of
    the tier of the position's entry notional."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"expected an integer, got {_type_name(value)}",
                    ResultCode.NOT_AN_INTEGER)
    try:
        valid_leverage(value)
        check_leverage_within_tier(market, notional_quote(lots, entry_ticks, market), value, lots)
    except LiqspecError as error:
        raise _fail(path, str(error), error.code) from None
    return value


@dataclass(frozen=True)
class _StateFileBlame:
    """A building error as the field at fault: the fund, an account's quote, a position."""

    specs: list[_AccountSpec]
    fill_paths: list[str]

    def fund(self, error: LiqspecError) -> LiqspecError:
        return StateFileError("insurance_fund", str(error), error.code)

    def wallet(self, opening: int, error: LiqspecError) -> LiqspecError:
        return StateFileError(join_path(self.specs[opening].path, "quote"), str(error),
                              error.code)

    def fill(self, fill: int, error: LiqspecError) -> LiqspecError:
        where = self.fill_paths[fill]
        return StateFileError(where, str(error).removeprefix(f"{where}: "), error.code)


    def open_interest(self, market_id: str, error: LiqspecError) -> LiqspecError:
        return StateFileError("accounts", f"at these marks, {open_interest_too_large(market_id)}: "
                                          f"{error}", error.code)

    def account(self, account_id: str, error: LiqspecError) -> LiqspecError:
        paths = {spec.account_id: spec.path for spec in self.specs}
        whose = "" if account_id in paths else f"{account_id}: "
        return StateFileError(paths.get(account_id, "accounts"), f"{whose}at these marks, {error}",
                              error.code)


# -- the one builder of a state from wallets and positions -----------------------------------------

@dataclass(frozen=True)
class Opening:
    """An account a loader opens: its margin mode, the wallet deposited from ``outside``
    (LIQ-DEPOSIT-1) and its chosen leverages, kept as given (LIQ-LEVERAGE-1)."""

    account_id: str
    wallet_quote: int
    isolated_market: str | None = None
    leverage: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OpeningFill:
    """A position a loader books: one fill at its entry price against the loader's opening
    counterparty (LIQ-LEDGER-2)."""

    account_id: str
    market_id: str
    lots: int
    entry_price_ticks: int


class Blame(Protocol):
    """How a loader names the input at fault when building fails: each returns the error to
    raise for the reference's ``error``."""

    def fund(self, error: LiqspecError) -> LiqspecError: ...
    def wallet(self, opening: int, error: LiqspecError) -> LiqspecError: ...
    def fill(self, fill: int, error: LiqspecError) -> LiqspecError: ...
    def open_interest(self, market_id: str, error: LiqspecError) -> LiqspecError: ...
    def account(self, account_id: str, error: LiqspecError) -> LiqspecError: ...


def build_venue(profile: Profile, marks: Mapping[str, int], openings: Sequence[Opening],
                fills: Sequence[OpeningFill], counterparty: str, blame: Blame, *,
                insurance_fund_quote: int = 0, open_first: Sequence[tuple[str, str]] = (),
                open_after: Sequence[tuple[str, str]] = ()) -> State:
    """A venue built through the reference's own operations, as the state file and the
    positions file are both loaded: the insurance fund (LIQ-INSURANCE-2), the ``open_first``
    accounts (ID, role), each opening's account with its wallet deposited, the ``open_after``
    accounts, then every fill against ``counterparty``. Every movement is journaled, so base sums
    to zero in every market and quote over all holders to zero (LIQ-INV-1, LIQ-INV-2); the
    loader checks the value domain of the result itself."""
    state = new_state(profile, marks)
    if insurance_fund_quote:
        try:
            fund_insurance(state, insurance_fund_quote)  # LIQ-INSURANCE-2: from outside
        except LiqspecError as error:
            raise blame.fund(error) from None
    for account_id, role in open_first:
        open_account(state, account_id, role=role)
    for index, opening in enumerate(openings):
        open_account(state, opening.account_id, isolated_market=opening.isolated_market)
        state.account(opening.account_id).leverage.update(opening.leverage)
        if opening.wallet_quote:
            try:
                deposit(state, opening.account_id, opening.wallet_quote)  # LIQ-DEPOSIT-1
            except LiqspecError as error:  # the outside holder's balance left the int64 domain
                raise blame.wallet(index, error) from None
    for account_id, role in open_after:
        open_account(state, account_id, role=role)
    for index, fill in enumerate(fills):
        try:
            open_at_entry(state, fill.account_id, counterparty, fill.market_id, fill.lots,
                          fill.entry_price_ticks)
        except LiqspecError as error:
            raise blame.fill(index, error) from None
    return state


def open_interest_too_large(market_id: str) -> str:
    return (f"the open interest of {market_id} (its long side at the mark, LIQ-TIER-4) is too "
            f"large")


def check_value_domain(state: State, account_ids: Iterable[str], blame: Blame) -> None:
    """LIQ-DOMAIN-1 on a built venue, as both loaders check it: each market's open interest
    (once: it is the same for every account), then each named account's equity, maintenance and
    initial requirements and free collateral at the marks stay in int64, so that explaining,
    operating on or cascading the loaded state cannot overflow on the input alone. O(accounts x
    markets)."""
    open_interest = {}
    for market_id in state.profile.markets:
        try:
            open_interest[market_id] = open_interest_quote(state, market_id)
        except LiqspecError as error:
            raise blame.open_interest(market_id, error) from None
    for account_id in account_ids:
        account = state.account(account_id)
        try:
            equity = equity_quote(account, state.marks, state.profile)
            account_maintenance_margin_quote(account, state.marks, state.profile)
            initial = account_initial_margin_quote(account, state.marks, state.profile,
                                                   open_interest)
            checked(equity - initial, f"free collateral of {account_id}")  # explain shows it
        except LiqspecError as error:
            raise blame.account(account_id, error) from None


def check_outside_supply(fund_quote: int, wallets_quote: list[int], fund_path: str,
                         quote_decimals: int) -> None:
    """The insurance fund and every wallet are deposited from the ``outside`` holder
    (LIQ-INSURANCE-2, LIQ-DEPOSIT-1), whose balance must stay in int64 (LIQ-DOMAIN-1). When the
    wallets fit but not with the fund, the fund is the field at fault (a StateFileError at
    ``fund_path``); wallets too large by themselves are left to the deposit that crosses the
    limit, whose error names that account."""
    wallets = sum(wallets_quote)
    try:
        checked(-wallets, "balance of outside")
    except LiqspecError:
        return
    try:
        checked(-(wallets + fund_quote), "balance of outside")
    except LiqspecError as error:
        raise StateFileError(fund_path, f"{from_units(fund_quote, quote_decimals)!r} with the "
                                        f"wallets ({from_units(wallets, quote_decimals)}) is more "
                                        f"than the outside holder can supply: {error} "
                                        f"(LIQ-DOMAIN-1)", error.code) from None


def parse_state(document: object) -> LoadedState:
    """Build a state from a parsed JSON document (see the module docstring for the format)."""
    top = field_object(document, "", required=("marks", "accounts"), optional=_TOP_KEYS)
    if "profile" in top and "venue" in top:
        raise _fail("profile", "give either \"venue\" (inline) or \"profile\" (a name), not both")
    if "profile" not in top and "venue" not in top:
        raise _fail("venue", "required key is missing (or name a venue profile with \"profile\")")
    if "venue" in top:
        profile, quote_asset = _venue(top["venue"], "venue")
    else:
        profile, quote_asset = _named_profile(top["profile"], "profile")
    marks = _marks(top["marks"], profile, "marks")
    fund = field_quote(top.get("insurance_fund", 0), profile.quote_decimals, "insurance_fund")
    description = _string(top.get("description", ""), "description")
    raw_accounts = top["accounts"]
    if not isinstance(raw_accounts, list):
        raise _fail("accounts", f"expected a list of accounts, got {_type_name(raw_accounts)}")
    seen: set[str] = set()
    specs = [_account(raw, profile, f"accounts[{i}]", seen) for i, raw in enumerate(raw_accounts)]

    check_outside_supply(fund, [spec.wallet_quote for spec in specs], "insurance_fund",
                         profile.quote_decimals)
    # a snapshot's chosen leverage is kept as given (checked by _leverage): set_leverage would
    # refuse it on an account the snapshot has under water
    openings = [Opening(spec.account_id, spec.wallet_quote, spec.isolated_market, spec.leverage)
                for spec in specs]
    booked = [(spec, market_id, lots, entry, where) for spec in specs
              for market_id, (lots, entry, where) in spec.positions.items()]
    fills = [OpeningFill(spec.account_id, market_id, lots, entry)
             for spec, market_id, lots, entry, _ in booked]
    has_positions = bool(fills)
    blame = _StateFileBlame(specs, [where for *_, where in booked])
    state = build_venue(profile, marks, openings, fills, OPENING_COUNTERPARTY, blame,
                        insurance_fund_quote=fund,
                        open_after=[(OPENING_COUNTERPARTY, BACKSTOP)] if has_positions else ())

    check_value_domain(state, list(state.accounts), blame)
    # Every invariant holds on a loaded state, conservation included; if one did not, the loader
    # (not the file) would be wrong, so this is an assertion rather than a StateFileError.
    violations = all_violations(state)
    assert not violations, f"loaded state breaks invariants: {violations}"
    return LoadedState(
        state=state,
        quote_asset=quote_asset,
        description=description,
        account_descriptions={s.account_id: s.description for s in specs if s.description},
        counterparty_id=OPENING_COUNTERPARTY if has_positions else None,
    )


def loads(text: str) -> LoadedState:
    """Parse a state file's text."""
    return parse_state(_parse_json(text))


def load(path: str | Path) -> LoadedState:
    """Read and parse a state file; an unreadable file is a :class:`StateFileError` too."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise StateFileError("", f"cannot read {str(path)!r}: {error.strerror or error}") from None
    return loads(decode_text(data, repr(str(path))))


def example_text() -> str:
    """The embedded example state file (``liqspec/data/example_state.json``)."""
    return resources.files("liqspec").joinpath(EXAMPLE_RESOURCE).read_text(encoding="utf-8")


def load_example() -> LoadedState:
    """The embedded example, loaded."""
    return loads(example_text())

