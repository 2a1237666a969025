"""Cascade scenarios: a TOML file naming a venue, its markets and books, a price path and a book
of positions (from a file or a seeded generator), loaded exactly into a state and a cascade config.

A complete example, every key shown (optional keys carry their default)::

    name = "crash-12pct"                 # required: a short name for reports
    description = "BTC falls 12% in ten minutes into a long-heavy book"   # optional, ""
    profile = "binance_usdm"             # required: a named venue profile
    insurance_fund = "1000000"           # optional, "0": the fund at the start, in quote units
    insurance_fund_history = [{ seconds_before = 3600, balance = "1500000" }]
                                         # optional, none: the fund before the run, oldest first,
                                         # for a profile's drawdown rule (okx, LIQ-ADL-5)
    book_account = "book"                # optional, "book": the order book's liquidity account
    backstop_vault = "vault"             # optional: a backstop vault (role backstop, unfunded);
                                         # only for a profile with a backstop ratio (hyperliquid),
                                         # required where it takes shares (paradex, LIQ-SHARE-2)

    [mark]                               # optional: how liquidation fills move the mark
    rule = "index_band"                  # "index_band" (default) or "last_fill"
    band = "0.005"                       # index_band only, default "0.005": a fraction of the
                                         # index in [0, 1); "0" pins the mark to the index

    [markets.BTCUSDT]                    # required, one table per market the scenario trades
    start_price = "60000"                # required: the index and mark at the start
    book = { levels = 200, spacing = "0.0005", lots_per_level = 2000 }
                                         # required: per side, `levels` levels, level k at
                                         # k * spacing (a fraction in (0, 1)) from the index,
                                         # `lots_per_level` lots each (an integer in base lots)

    [path]                               # required: the exogenous index path
    kind = "shock"                       # "shock" or "explicit"
    drop = "0.12"                        # shock: a fraction in (0, 1), linear over `steps`
    steps = 120                          # shock: an integer >= 1
    step_seconds = 5                     # both kinds: seconds per step, an integer >= 1
    hold_steps = 12                      # shock, optional, 0: steps held at the bottom

    # or, instead of the shock keys:
    # kind = "explicit"
    # step_seconds = 5
    # [path.prices]                      # one array per market, all of one length
    # BTCUSDT = ["60000", "59500", "58800"]

    [synthetic]                          # exactly one of [synthetic] or [positions]
    seed = 7                             # required: an integer in 0..2^63-1
    accounts = 3000                      # required: accounts per market, 1..10,000,000
    long_fraction = "0.7"                # optional, "0.7": share of accounts that are long
    leverage_min = "2"                   # optional, "2": leverage range (up to 6 decimals)
    leverage_max = "50"                  # optional, "50"
    leverage_distribution = "log_uniform"    # optional: "log_uniform" or "uniform"
    notional_median = "10000"            # required: median position notional, quote units
    notional_sigma = "1"                 # optional, "1": sigma of ln(notional)
    notional_min = "100"                 # optional, default one lot at the start price
    notional_max = "2000000"             # optional, default no cap
    entry_spread = "0.02"                # optional, "0.02": entries within +-2% of the start
    isolated_fraction = "0"              # optional, "0": share of isolated-margin accounts

    # or:
    # [positions]
    # file = "book.csv"                  # required: .csv or .parquet, relative to the scenario
    #                                    # file (see liqspec.positions for the columns)

Units and exactness
-------------------
Every amount is a human decimal, written as a TOML string (``"0.12"``) or, when whole, a TOML
integer (``1000000``), converted exactly into the venue's integer units (LIQ-UNIT-2): prices into
ticks, quote amounts into quote quantums, fractions and leverage into parts per million. A digit
below the unit is an error, never rounded away; a TOML float (``0.12`` unquoted) is an error too,
because it is a binary float, not the decimal it prints as. Counts (``levels``, ``steps``,
``seed``, ``accounts``...) and ``lots_per_level`` are TOML integers.

Inverse markets
---------------
A market of an inverse profile (``bitmex_inverse``, ``binance_coinm``, ``bybit_inverse``) is
written in the venue's terms: ``start_price`` and an explicit path's prices are the venue's
(USD, at its venue decimals), a shock's ``drop`` a fall of that price, and ``long_fraction`` the
share of contract longs. Each price becomes the model's, a lot's coin value
(LIQ-INVERSE-1), so the model's price rises as the venue's falls; ``notional_median`` and every
amount are in the coin, and the book's ``spacing`` is a fraction of the model's price. A
positions file gives an inverse market's sizes and entry prices in the venue's terms too
(:mod:`liqspec.positions`).

The synthetic generator is :func:`liqspec.synthetic.generate_book`, called once per market in the
order of ``[markets]`` with the seed ``(seed, k)`` for the k-th market (from 0), so each market's
draws are independent; every generated account is healthy (at or above initial margin) at the start
price.

The venue is the named profile narrowed to the markets of ``[markets]`` (a market the scenario
does not trade has no price and takes no part). The state is built by
:func:`liqspec.positions.build_state`: the fund and every wallet deposited from outside, every
position one fill at its entry price against ``book_account`` (role ``liquidity``), which
therefore holds the net opposite of the book; every invariant holds on it.

Errors
------
Every problem is a :class:`ScenarioError` whose message starts with the field's path, e.g.
``path.drop: '1.5' must be a fraction in (0, 1)`` or ``markets.BTCUSDT.book.levels: expected an
integer, got a string``: TOML syntax (with line and column), unknown keys (with a "did you mean"),
missing keys, wrong types, inexact decimals, out-of-range values, an unknown profile or market, a
positions file that does not exist or has a bad row (the message then names the file, the row and
the column).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from liqspec.reference.arithmetic import INT64_MAX, PPM
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import (CascadeConfig, PricePath, check_fund_history,
                                       shock_path)
from liqspec.reference.marks import MarkKind, MarkRule
from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.inverse import lot_value_quanta
from liqspec.reference.profile import LiquidationSize, MarketKind, Profile
from liqspec.reference.profiles import PROFILES, get_profile
from liqspec.reference.state import HOLDERS, State
# The JSON state loader's building blocks: one definition of a checked table and of an exact
# human decimal, shared by both file formats.
from liqspec.statefile import (FieldError, StateFileError, TypeNames, check_outside_supply,
                               checked_choice, checked_integer, checked_string, decode_text,
                               field_decimal, field_object, field_units, join_path, type_name)

from .positions import PositionRow, PositionsError, build_state, file_problem, load_positions
from .synthetic import (DEFAULT_LONG_FRACTION_PPM, LEVERAGE_DISTRIBUTIONS, LOG_UNIFORM,
                        SyntheticError, generate_book)

#: the embedded default scenario, inside the installed package
DEFAULT_RESOURCE = "data/default_scenario.toml"

#: fractions and leverage are converted to parts per million: at most 6 decimal places
PPM_DECIMALS = 6

MAX_STEPS = 1_000_000
MAX_LEVELS = 100_000

T = TypeVar("T")


class ScenarioError(FieldError):
    """A scenario file is malformed; ``path`` names the field (``markets.BTCUSDT.book.levels``).

    ``reason`` is the message without the path; ``code`` the reference's result code for the
    underlying problem (``INEXACT_DECIMAL``, ``UNKNOWN_MARKET``...; ``MALFORMED_STATE`` otherwise).
    A TOML syntax error has an empty path and carries ``line`` and ``column``. ``file`` is the
    scenario file when it was loaded from one.
    """

    file: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: the initial state and everything :func:`run_cascade` needs besides.

    ``seed`` is the synthetic generator's seed, None for a book read from a positions file. The
    state is the scenario's own; :func:`liqspec.reference.cascade.run_cascade` works on a copy.
    """

    name: str
    description: str
    state: State
    config: CascadeConfig
    seed: int | None


# -- typed values ---------------------------------------------------------------------------------

#: TOML's names of a value's type, as the error messages say them
_TOML_TYPES: TypeNames = ((bool, "a boolean"), (int, "an integer"), (float, "a float"),
                          (str, "a string"), (list, "an array"), (dict, "a table"),
                          ((datetime.date, datetime.time), "a date or time"))


def _kind(value: object) -> str:
    """A TOML value's type, as the error message names it."""
    return type_name(value, _TOML_TYPES, lambda other: type(other).__name__)


def _converted(function: Callable[..., T], *args: object) -> T:
    """Call one of the state loader's checkers, re-raising its error as a ScenarioError."""
    try:
        return function(*args)
    except StateFileError as error:
        raise ScenarioError(error.path, error.reason, error.code) from None


def _table(value: object, path: str, required: tuple[str, ...] = (),
           optional: tuple[str, ...] = ()) -> dict:
    """A TOML table with every required key and no unknown one (with a "did you mean")."""
    if not isinstance(value, dict):
        raise ScenarioError(path or "(top level)", f"expected a table, got {_kind(value)}")
    return _converted(field_object, value, path, required, optional)


def _string(value: object, path: str) -> str:
    return checked_string(value, path, ScenarioError, _kind)


def _name(value: object, path: str) -> str:
    """An account name: a non-empty string that is not a holder's name."""
    name = _string(value, path)
    if not name.strip():
        raise ScenarioError(path, "must not be empty")
    if name in HOLDERS:
        raise ScenarioError(path, f"{name!r} is reserved for a holder of quote")
    return name


def _integer(value: object, path: str, low: int, high: int) -> int:
    return checked_integer(value, path, low, high, ScenarioError, _kind, number="{:,}")


def _decimal_text(value: object, path: str) -> str:
    """A human decimal as written: a string or a whole TOML integer, never a TOML float, and a
    finite number."""
    if isinstance(value, float):
        raise ScenarioError(path, f"{value!r} is a TOML float, a binary number that is not the "
                                  f"decimal it prints as; write it as a string: \"{value!r}\"",
                            ResultCode.INEXACT_DECIMAL)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ScenarioError(path, f"expected a decimal number such as \"12.5\", got "
                                  f"{_kind(value)}")
    _converted(field_decimal, value, path)
    return str(value).strip()


def _decimal(value: object, decimals: int, path: str, why: str = "") -> int:
    """A human decimal (a string, or a whole TOML integer) in units of ``10**-decimals``, exactly
    (LIQ-UNIT-2) and within int64 (LIQ-DOMAIN-1)."""
    return _converted(field_units, _decimal_text(value, path), decimals, path, why)


def _positive(value: object, decimals: int, path: str, what: str = "value") -> int:
    units = _decimal(value, decimals, path)
    if units <= 0:
        code = ResultCode.INVALID_PRICE if what == "price" else ResultCode.INVALID_AMOUNT
        raise ScenarioError(path, f"a {what} must be positive, got {str(value)!r}", code)
    return units


def _amount(value: object, decimals: int, path: str) -> int:
    units = _decimal(value, decimals, path)
    if units < 0:
        raise ScenarioError(path, f"must not be negative, got {str(value)!r}",
                            ResultCode.INVALID_AMOUNT)
    return units


#: interval names for _fraction: which ends are allowed
_OPEN, _LOW_CLOSED, _CLOSED = "(0, 1)", "[0, 1)", "[0, 1]"


def _fraction(value: object, path: str, interval: str) -> int:
    """A fraction such as ``"0.12"``, exactly in ppm, within ``interval``."""
    ppm = _decimal(value, PPM_DECIMALS, path,
                   "a fraction must be a whole number of parts per million")
    inside = {_OPEN: 0 < ppm < PPM, _LOW_CLOSED: 0 <= ppm < PPM, _CLOSED: 0 <= ppm <= PPM}
    if not inside[interval]:
        raise ScenarioError(path, f"{str(value)!r} must be a fraction in {interval}",
                            ResultCode.INVALID_RATE)
    return ppm


def _choice(value: object, path: str, allowed: tuple[str, ...]) -> str:
    return checked_choice(value, path, allowed, ScenarioError, _kind)


def _unknown(path: str, name: str, known: list[str], what: str, where: str = "",
             code: ResultCode = ResultCode.MALFORMED_STATE) -> ScenarioError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ScenarioError(path, f"unknown {what} {name!r}{where} ({hint}known: "
                               f"{', '.join(known)})", code)


# -- sections -------------------------------------------------------------------------------------

_TOP_REQUIRED = ("name", "profile", "markets", "path")
_TOP_OPTIONAL = ("description", "insurance_fund", "insurance_fund_history", "book_account",
                 "backstop_vault", "mark", "positions", "synthetic")


def _profile(value: object, markets: dict, path: str) -> Profile:
    """The named profile, narrowed to the scenario's markets (in the order given)."""
    name = _string(value, path)
    if name not in PROFILES:
        raise _unknown(path, name, sorted(PROFILES), "profile")
    profile = get_profile(name)
    for market_id in markets:
        if market_id not in profile.markets:
            raise _unknown(join_path("markets", market_id), market_id, list(profile.markets),
                           "market", f" in profile {name}", ResultCode.UNKNOWN_MARKET)
    return dataclasses.replace(profile, markets={m: profile.markets[m] for m in markets})


def _fund_history(value: object, profile: Profile, path: str) -> tuple[tuple[int, int], ...]:
    """LIQ-ADL-5's fund before the run: an array of ``{seconds_before, balance}``, oldest
    first, read only under a profile's drawdown rule."""
    if not isinstance(value, list):
        raise ScenarioError(path, f"expected an array of tables, got {_kind(value)}")
    history = []
    for k, raw in enumerate(value):
        where = f"{path}[{k}]"
        obj = _table(raw, where, required=("seconds_before", "balance"))
        history.append((_integer(obj["seconds_before"], join_path(where, "seconds_before"), 1,
                                 INT64_MAX),
                        _amount(obj["balance"], profile.quote_decimals,
                                join_path(where, "balance"))))
    try:
        check_fund_history(profile, history)
    except LiqspecError as error:
        raise ScenarioError(path, str(error), error.code) from None
    return tuple(history)


def _book_shape(value: object, path: str) -> BookShape:
    obj = _table(value, path, required=("levels", "spacing", "lots_per_level"))
    levels = _integer(obj["levels"], join_path(path, "levels"), 1, MAX_LEVELS)
    spacing_ppm = _fraction(obj["spacing"], join_path(path, "spacing"), _OPEN)
    lots = _integer(obj["lots_per_level"], join_path(path, "lots_per_level"), 1, INT64_MAX)
    if levels * spacing_ppm >= PPM:
        raise ScenarioError(path, f"the deepest bid must stay above zero: levels x spacing = "
                                  f"{levels} x {obj['spacing']} must be below 1")
    return BookShape(levels, spacing_ppm, lots)


def _mark_rule(value: object, path: str) -> MarkRule:
    obj = _table(value, path, optional=("rule", "band"))
    kind = _choice(obj.get("rule", MarkKind.INDEX_BAND), join_path(path, "rule"),
                   (MarkKind.INDEX_BAND, MarkKind.LAST_FILL))
    if kind == MarkKind.LAST_FILL:
        if "band" in obj:
            raise ScenarioError(join_path(path, "band"), "a band applies only to rule = "
                                                     "\"index_band\"")
        return MarkRule(kind)
    if "band" not in obj:
        return MarkRule(kind)
    return MarkRule(kind, _fraction(obj["band"], join_path(path, "band"), _LOW_CLOSED))


_SHOCK_KEYS = ("kind", "drop", "steps", "step_seconds", "hold_steps")
_EXPLICIT_KEYS = ("kind", "step_seconds", "prices")


def _inverse(profile: Profile, market_id: str) -> bool:
    return profile.markets[market_id].kind == MarketKind.INVERSE


def _price_decimals(profile: Profile, market_id: str) -> int:
    """The decimals a scenario writes a market's prices in: the model's, or for an inverse
    market the venue's (USD), which LIQ-INVERSE-1 turns into the model's coin per lot."""
    market = profile.markets[market_id]
    return market.venue_price_decimals if _inverse(profile, market_id) else market.price_decimals


def _model_price(profile: Profile, market_id: str, ticks: int, where: str) -> int:
    """A price the scenario wrote (``ticks`` at :func:`_price_decimals`) in the model's ticks:
    itself, or for an inverse market a lot's coin value there (LIQ-INVERSE-1)."""
    if not _inverse(profile, market_id):
        return ticks
    try:
        return lot_value_quanta(profile, market_id, ticks)
    except LiqspecError as error:
        raise ScenarioError(where, f"{error} (LIQ-INVERSE-1)", error.code) from None


def _model_path(price_path: PricePath, profile: Profile, path: str) -> PricePath:
    """A path of venue prices as the model's: an inverse market's each through LIQ-INVERSE-1."""
    index = {m: (tuple(_model_price(profile, m, p, path) for p in prices)
                 if _inverse(profile, m) else prices)
             for m, prices in price_path.index_ticks.items()}
    return PricePath(price_path.step_seconds, index)


def _price_path(value: object, profile: Profile, start: dict[str, int], path: str) -> PricePath:
    """The path as the file writes it: in the scenario's price decimals (venue prices for an
    inverse market, converted by the caller)."""
    if not isinstance(value, dict):
        raise ScenarioError(path, f"expected a table, got {_kind(value)}")
    if "kind" not in value:
        raise ScenarioError(join_path(path, "kind"), "required key is missing (\"shock\" or "
                                                 "\"explicit\")")
    kind = _choice(value["kind"], join_path(path, "kind"), ("shock", "explicit"))
    if kind == "shock":
        obj = _table(value, path, required=_SHOCK_KEYS[:4], optional=_SHOCK_KEYS[4:])
        drop_ppm = _fraction(obj["drop"], join_path(path, "drop"), _OPEN)
        steps = _integer(obj["steps"], join_path(path, "steps"), 1, MAX_STEPS)
        step_seconds = _integer(obj["step_seconds"], join_path(path, "step_seconds"), 1, 10**9)
        hold = _integer(obj.get("hold_steps", 0), join_path(path, "hold_steps"), 0, MAX_STEPS)
        for market_id, start_ticks in start.items():  # the path's last price, as shock_path
            if start_ticks * (PPM - drop_ppm) // PPM < 1:
                raise ScenarioError(join_path(path, "drop"), f"takes {market_id} below one "
                                    f"tick of its price: {obj['drop']} of its start price",
                                    ResultCode.INVALID_PRICE)
        return shock_path(start, drop_ppm, steps, step_seconds, hold)
    obj = _table(value, path, required=_EXPLICIT_KEYS)
    step_seconds = _integer(obj["step_seconds"], join_path(path, "step_seconds"), 1, 10**9)
    prices_path = join_path(path, "prices")
    prices = _table(obj["prices"], prices_path, required=tuple(profile.markets),
                    optional=())
    index: dict[str, tuple[int, ...]] = {}
    for market_id, raw in prices.items():
        where = join_path(prices_path, market_id)
        if not isinstance(raw, list) or not raw:
            raise ScenarioError(where, f"expected a non-empty array of prices, got "
                                       f"{'an empty array' if raw == [] else _kind(raw)}")
        if len(raw) > MAX_STEPS:
            raise ScenarioError(where, f"at most {MAX_STEPS:,} steps, got {len(raw):,}")
        decimals = _price_decimals(profile, market_id)
        index[market_id] = tuple(_positive(p, decimals, f"{where}[{i}]", "price")
                                 for i, p in enumerate(raw))
    lengths = {m: len(p) for m, p in index.items()}
    first = next(iter(lengths))
    for market_id, length in lengths.items():
        if length != lengths[first]:
            raise ScenarioError(join_path(prices_path, market_id),
                                f"has {length} prices but {first} has {lengths[first]}; every "
                                f"market's path needs the same length")
    return PricePath(step_seconds, index)


_SYNTHETIC_REQUIRED = ("seed", "accounts", "notional_median")
_SYNTHETIC_OPTIONAL = ("long_fraction", "leverage_min", "leverage_max", "leverage_distribution",
                       "notional_sigma", "notional_min", "notional_max", "entry_spread",
                       "isolated_fraction")
#: generator parameter -> TOML key, to name the key when the generator refuses a value
_SYNTHETIC_KEY_OF = {
    "accounts": "accounts", "long_fraction_ppm": "long_fraction",
    "leverage_min_ppm": "leverage_min", "leverage_max_ppm": "leverage_max",
    "leverage_distribution": "leverage_distribution",
    "notional_median_quote": "notional_median", "notional_sigma_ppm": "notional_sigma",
    "notional_min_quote": "notional_min", "notional_max_quote": "notional_max",
    "entry_spread_ppm": "entry_spread", "isolated_fraction_ppm": "isolated_fraction",
}


def _synthetic(value: object, profile: Profile, start: dict[str, int],
               path: str) -> tuple[int, list[PositionRow]]:
    obj = _table(value, path, required=_SYNTHETIC_REQUIRED, optional=_SYNTHETIC_OPTIONAL)

    def key(name: str) -> str:
        return join_path(path, name)

    quote_decimals = profile.quote_decimals
    seed = _integer(obj["seed"], key("seed"), 0, INT64_MAX)
    params: dict[str, object] = {
        "accounts": _integer(obj["accounts"], key("accounts"), 1, 10_000_000),
        "notional_median_quote": _positive(obj["notional_median"], quote_decimals,
                                           key("notional_median"), "notional"),
        "leverage_distribution": _choice(obj.get("leverage_distribution", LOG_UNIFORM),
                                         key("leverage_distribution"), LEVERAGE_DISTRIBUTIONS),
    }
    if "long_fraction" in obj:
        params["long_fraction_ppm"] = _fraction(obj["long_fraction"], key("long_fraction"),
                                                _CLOSED)
    if "isolated_fraction" in obj:
        params["isolated_fraction_ppm"] = _fraction(obj["isolated_fraction"],
                                                    key("isolated_fraction"), _CLOSED)
    if "entry_spread" in obj:
        params["entry_spread_ppm"] = _fraction(obj["entry_spread"], key("entry_spread"),
                                               _LOW_CLOSED)
    for name in ("leverage_min", "leverage_max"):
        if name in obj:
            params[f"{name}_ppm"] = _positive(obj[name], PPM_DECIMALS, key(name), "leverage")
    if "notional_sigma" in obj:
        params["notional_sigma_ppm"] = _amount(obj["notional_sigma"], PPM_DECIMALS,
                                               key("notional_sigma"))
    for name in ("notional_min", "notional_max"):
        if name in obj:
            params[f"{name}_quote"] = _positive(obj[name], quote_decimals, key(name), "notional")
    # Range checks between two keys, said here in the file's own units.
    for low, high, unit in (("leverage_min", "leverage_max", "ppm"),
                            ("notional_min", "notional_max", "quote")):
        if low in obj and high in obj and params[f"{high}_{unit}"] < params[f"{low}_{unit}"]:
            raise ScenarioError(key(high), f"must be at least {low} ({obj[low]}), got {obj[high]}")
    rows: list[PositionRow] = []
    long_ppm = params.pop("long_fraction_ppm", DEFAULT_LONG_FRACTION_PPM)
    assert isinstance(long_ppm, int)
    for k, market_id in enumerate(profile.markets):
        # long_fraction is the venue's: on an inverse market the contract long is the model's
        # short (LIQ-INVERSE-1), so the model's long share is the rest
        model_long_ppm = PPM - long_ppm if _inverse(profile, market_id) else long_ppm
        try:
            rows += generate_book(profile, market_id, start[market_id], (seed, k),
                                  long_fraction_ppm=model_long_ppm,
                                  **params)  # type: ignore[arg-type]
        except SyntheticError as error:
            raise ScenarioError(key(_SYNTHETIC_KEY_OF.get(error.parameter, error.parameter)),
                                f"{error.reason} (market {market_id})", error.code) from None
    return seed, rows


def resolve_file(name: str, base_dir: str | Path | None) -> Path:
    """A file a scenario or sweep names: relative to the folder of the file naming it
    (``base_dir``), or to the current folder when there is none."""
    file = Path(name)
    return Path(base_dir) / file if not file.is_absolute() and base_dir is not None else file


def positions_file(value: object, base_dir: Path | None, path: str) -> tuple[Path, str]:
    """The file ``[positions]`` names, checked to exist, and the field's path for errors."""
    obj = _table(value, path, required=("file",))
    where = join_path(path, "file")
    name = _string(obj["file"], where)
    if not name.strip():
        raise ScenarioError(where, "must name a file")
    file = resolve_file(name, base_dir)
    problem = file_problem(file)
    if problem:
        raise ScenarioError(where, f"{problem}: {str(file)!r}")
    return file, where


def _positions(value: object, profile: Profile, base_dir: Path | None,
               path: str) -> list[PositionRow]:
    file, where = positions_file(value, base_dir, path)
    try:
        return load_positions(file, profile)
    except PositionsError as error:
        raise ScenarioError(where, str(error), error.code) from error


# -- the scenario ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioParts:
    """A scenario's document read up to its book: everything but the accounts. ``top`` is the
    document's checked top table (its ``[positions]`` or ``[synthetic]`` is read by the caller:
    :func:`parse_scenario` through the reference, :mod:`liqspec.bulk` in columns)."""

    name: str
    description: str
    profile: Profile
    start: dict
    insurance_fund_quote: int
    book_account: str
    backstop_vault: str | None
    config: CascadeConfig
    top: dict


def scenario_parts(document: dict) -> ScenarioParts:
    """Check a parsed TOML document, all but its book (see the module docstring)."""
    top = _table(document, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)
    name = _string(top["name"], "name")
    description = _string(top.get("description", ""), "description")
    raw_markets = _table(top["markets"], "markets",
                         optional=tuple(top["markets"]) if isinstance(top["markets"], dict) else ())
    if not raw_markets:
        raise ScenarioError("markets", "a scenario needs at least one market")
    profile = _profile(top["profile"], raw_markets, "profile")

    venue_start: dict[str, int] = {}  # as written: an inverse market's in the venue's USD
    start: dict[str, int] = {}
    books: dict[str, BookShape] = {}
    for market_id, raw in raw_markets.items():
        where = join_path("markets", market_id)
        obj = _table(raw, where, required=("start_price", "book"))
        venue_start[market_id] = _positive(obj["start_price"],
                                           _price_decimals(profile, market_id),
                                           join_path(where, "start_price"), "price")
        start[market_id] = _model_price(profile, market_id, venue_start[market_id],
                                        join_path(where, "start_price"))
        books[market_id] = _book_shape(obj["book"], join_path(where, "book"))

    fund = _amount(top.get("insurance_fund", 0), profile.quote_decimals, "insurance_fund")
    book_account = _name(top.get("book_account", "book"), "book_account")
    vault = None
    by_share = profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE
    if "backstop_vault" in top:
        vault = _name(top["backstop_vault"], "backstop_vault")
        if profile.backstop_ratio is None and not by_share:
            raise ScenarioError("backstop_vault", f"profile {profile.name} has no backstop "
                                                  f"ratio, so a backstop vault is never used")
        if vault == book_account:
            raise ScenarioError("backstop_vault", f"{vault!r} is already the book account")
    elif by_share:
        raise ScenarioError("backstop_vault", f"profile {profile.name} liquidates by account "
                                              "share: name the backstop_vault that takes the "
                                              "shares (LIQ-SHARE-2)")
    history = _fund_history(top.get("insurance_fund_history", []), profile,
                            "insurance_fund_history")
    mark_rule = _mark_rule(top.get("mark", {}), "mark")
    price_path = _model_path(_price_path(top["path"], profile, venue_start, "path"), profile,
                             "path")

    if ("positions" in top) == ("synthetic" in top):
        raise ScenarioError("positions" if "positions" in top else "synthetic",
                            "give exactly one of [positions] (a file) or [synthetic] "
                            "(a generated book)")
    config = CascadeConfig(path=price_path, books=books, book_account=book_account,
                           backstop_vault=vault, mark_rule=mark_rule, fund_history=history)
    return ScenarioParts(name, description, profile, start, fund, book_account, vault, config,
                         top)


def parse_scenario(document: dict, base_dir: str | Path | None = None) -> Scenario:
    """Build a scenario from a parsed TOML document (see the module docstring for the format)."""
    parts = scenario_parts(document)
    top, profile, start, fund = parts.top, parts.profile, parts.start, parts.insurance_fund_quote
    if "synthetic" in top:
        seed, rows = _synthetic(top["synthetic"], profile, start, "synthetic")
        source = "synthetic"
    else:
        seed = None
        rows = _positions(top["positions"], profile,
                          Path(base_dir) if base_dir is not None else None, "positions")
        source = "positions.file"
    _converted(check_outside_supply, fund, [row.wallet_quote for row in _first_rows(rows)],
               "insurance_fund", profile.quote_decimals)
    try:
        state = build_state(profile, start, rows, book_account=parts.book_account,
                            insurance_fund_quote=fund, backstop_vault=parts.backstop_vault)
    except PositionsError as error:
        raise ScenarioError(source, str(error), error.code) from error
    return Scenario(name=parts.name, description=parts.description, state=state,
                    config=parts.config, seed=seed)


def _first_rows(rows: list[PositionRow]) -> list[PositionRow]:
    """The first row of each account (the one whose wallet is deposited)."""
    first: dict[str, PositionRow] = {}
    for row in rows:
        first.setdefault(row.account_id, row)
    return list(first.values())


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_toml(text: str) -> dict:
    """A TOML document; a syntax error is a ScenarioError carrying its line and column (the
    sweep loader reads its files with this too)."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # an editor's byte-order mark
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
            raise ScenarioError("", f"invalid TOML at line {line}, column {column}: "
                                    f"{message[:found.start()]}", line=line,
                                column=column) from None
        raise ScenarioError("", f"invalid TOML: {message}") from None


def read_text(path: Path) -> str:
    """A strict UTF-8 text file (the state loader's decoder: one rule for files and stdin); an
    unreadable one is a ScenarioError naming it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ScenarioError("", f"cannot read {str(path)!r}: {error.strerror or error}") from None
    return _converted(decode_text, data, repr(str(path)))


def loads_scenario(text: str, base_dir: str | Path | None = None) -> Scenario:
    """Parse a scenario's TOML text; a positions file is looked up relative to ``base_dir`` (the
    current directory when None)."""
    return parse_scenario(parse_toml(text), base_dir)


def load_scenario(path: str | Path, parse: Callable[..., T] = parse_scenario) -> T:
    """Read and parse a scenario file; a positions file it names is relative to its folder.
    ``parse(document, base_dir)`` builds it (:func:`liqspec.bulk.parse_bulk_scenario`: in
    columns, for the compiled engine)."""
    path = Path(path)
    try:
        return parse(parse_toml(read_text(path)), base_dir=path.parent)
    except ScenarioError as error:
        error.file = str(path)
        raise


def default_text() -> str:
    """The embedded default scenario's TOML (``liqspec/data/default_scenario.toml``)."""
    return resources.files("liqspec").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")


def default_scenario(parse: Callable[..., T] = parse_scenario) -> T:
    """The embedded default scenario, loaded (``parse``: as :func:`load_scenario`)."""
    with resources.as_file(resources.files("liqspec").joinpath("data")) as data_dir:
        return parse(parse_toml(default_text()), base_dir=data_dir)
