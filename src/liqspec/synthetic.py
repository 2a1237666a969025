"""A seeded synthetic book: a long-heavy, leveraged set of accounts for cascade scenarios.

:func:`generate_book` draws ``accounts`` accounts, each holding one position in one market, and
returns them as :class:`~liqspec.positions.PositionRow` (exact integers in the venue's units), ready
for :func:`liqspec.positions.build_state`. The random draws are *inputs*: they come from
``numpy.random.default_rng(seed)`` in a fixed order, are converted to integers at once (parts per
million, lots, ticks, quote quantums), and everything after that is exact integer arithmetic. The
same seed and parameters give the same rows, byte for byte.

Parameters
----------
profile, market_id
    The venue profile and the market every account trades.
start_price_ticks
    The market's price at the start of the scenario (its mark), in ticks.
seed
    The generator's seed: an integer, or a sequence of integers (a scenario with several markets
    seeds market ``k`` with ``(seed, k)``).
accounts
    How many accounts to draw (1..10,000,000).
long_fraction_ppm
    The share of accounts that are long, in ppm (default 700,000: 70% long, a long-heavy book).
leverage_min_ppm, leverage_max_ppm
    The range of the drawn leverage, times 10^6 (default 2x..50x): 2x is ``2_000_000``.
leverage_distribution
    ``"log_uniform"`` (default: as many accounts between 2x and 10x as between 10x and 50x) or
    ``"uniform"``.
notional_median_quote, notional_sigma_ppm
    Position notional at the start price is lognormal: ``median * exp(sigma * z)``, z standard
    normal, in quote quantums; ``sigma`` is given times 10^6 (default 1.0 = ``1_000_000``).
notional_min_quote, notional_max_quote
    Clamp of the drawn notional (defaults: one lot at the start price, and no cap beyond the
    int64 domain). Sizes are whole lots, rounded down, at least one lot.
entry_spread_ppm
    Entry prices are uniform within ``start * (1 +- spread)``, rounded down to a tick (default
    20,000: within 2% of the start price).
isolated_fraction_ppm
    The share of accounts bound to their market (isolated margin), in ppm (default 0). With one
    position per account the two modes margin alike; the flag exercises the isolated code paths.
account_prefix
    Account IDs are ``prefix + zero-padded index`` from 1 (default: the market ID in lower case
    and a dash, ``btcusdt-0001``).

Every account is healthy at the start price
--------------------------------------------
So that a cascade is caused by the shock and not by the data, each account's wallet is

    ``margin + max(0, -unrealized PnL at the start price)``, where
    ``margin = max(ceil(notional / leverage), initial margin of the notional)``

with notional and initial margin at the start price (LIQ-TIER-3), the latter at the open
interest the whole generated book will have (for a market with open-interest scaling,
LIQ-TIER-4). Equity at the start price is then ``wallet + PnL >= margin >= initial margin``: the
account meets its initial requirement, so it is not liquidatable either. The ``max`` with the
initial margin means no account is ever above its tier's maximum leverage: a large position is
margined at its tier's rate even if the drawn leverage was higher.

The draws, in order (each one array of ``accounts`` values; changing the order changes every
book): side ``u``, leverage ``u``, notional ``z``, entry ``u``, isolated ``u`` (``u`` uniform in
[0, 1), ``z`` standard normal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from liqspec.reference.arithmetic import INT64_MAX, PPM, div_ceil, div_floor
from liqspec.reference.errors import MalformedState
from liqspec.reference.margin import initial_margin_quote
from liqspec.reference.profile import Profile

from .positions import PositionRow

LOG_UNIFORM = "log_uniform"
UNIFORM = "uniform"
LEVERAGE_DISTRIBUTIONS = (LOG_UNIFORM, UNIFORM)

#: the most accounts one call draws (memory, not arithmetic, is the limit)
MAX_ACCOUNTS = 10_000_000


class SyntheticError(MalformedState):
    """A generator parameter is out of range; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.reason = message


def _require(condition: bool, parameter: str, message: str) -> None:
    if not condition:
        raise SyntheticError(parameter, message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_ppm(u: np.ndarray) -> list[int]:
    """Uniform draws in [0, 1) as whole parts per million, 0..999_999 (rounded down)."""
    return [int(x) for x in np.floor(u * PPM).astype(np.int64)]


#: the share of accounts that are long when a scenario does not say
DEFAULT_LONG_FRACTION_PPM = 700_000


def generate_book(profile: Profile, market_id: str, start_price_ticks: int,
                  seed: int | Sequence[int], *, accounts: int,
                  long_fraction_ppm: int = DEFAULT_LONG_FRACTION_PPM,
                  leverage_min_ppm: int = 2 * PPM,
                  leverage_max_ppm: int = 50 * PPM,
                  leverage_distribution: str = LOG_UNIFORM,
                  notional_median_quote: int,
                  notional_sigma_ppm: int = PPM,
                  notional_min_quote: int | None = None,
                  notional_max_quote: int | None = None,
                  entry_spread_ppm: int = 20_000,
                  isolated_fraction_ppm: int = 0,
                  account_prefix: str | None = None) -> list[PositionRow]:
    """Draw a leveraged book of one-position accounts (see the module docstring)."""
    market = profile.market(market_id)
    vpl = market.value_per_lot_tick
    _require(_is_int(start_price_ticks) and start_price_ticks > 0, "start_price_ticks",
             f"must be a positive integer, got {start_price_ticks!r}")
    _require(_is_int(accounts) and 1 <= accounts <= MAX_ACCOUNTS, "accounts",
             f"must be an integer in 1..{MAX_ACCOUNTS:,}, got {accounts!r}")
    for name, value in (("long_fraction_ppm", long_fraction_ppm),
                        ("isolated_fraction_ppm", isolated_fraction_ppm)):
        _require(_is_int(value) and 0 <= value <= PPM, name,
                 f"must be in 0..1_000_000 ppm, got {value!r}")
    _require(_is_int(leverage_min_ppm) and leverage_min_ppm > 0, "leverage_min_ppm",
             f"must be a positive integer, got {leverage_min_ppm!r}")
    _require(_is_int(leverage_max_ppm) and leverage_max_ppm >= leverage_min_ppm,
             "leverage_max_ppm", f"must be an integer >= leverage_min_ppm "
                                 f"({leverage_min_ppm}), got {leverage_max_ppm!r}")
    _require(leverage_distribution in LEVERAGE_DISTRIBUTIONS, "leverage_distribution",
             f"must be one of {', '.join(LEVERAGE_DISTRIBUTIONS)}, got {leverage_distribution!r}")
    _require(_is_int(notional_median_quote) and 0 < notional_median_quote <= INT64_MAX,
             "notional_median_quote", f"must be a positive integer, got {notional_median_quote!r}")
    _require(_is_int(notional_sigma_ppm) and 0 <= notional_sigma_ppm <= 10 * PPM,
             "notional_sigma_ppm", f"must be in 0..10_000_000, got {notional_sigma_ppm!r}")
    one_lot_quote = start_price_ticks * vpl
    low = one_lot_quote if notional_min_quote is None else notional_min_quote
    high = INT64_MAX // 2 if notional_max_quote is None else notional_max_quote
    _require(_is_int(low) and low > 0, "notional_min_quote", f"must be positive, got {low!r}")
    _require(_is_int(high) and one_lot_quote <= high <= INT64_MAX // 2, "notional_max_quote",
             f"must be at least one lot at the start price ({one_lot_quote} quote quantums) "
             f"and at most {INT64_MAX // 2}, got {high!r}")
    _require(low <= high, "notional_max_quote",
             f"must be at least notional_min_quote ({low}), got {high}")
    _require(_is_int(entry_spread_ppm) and 0 <= entry_spread_ppm < PPM, "entry_spread_ppm",
             f"must be in 0..999_999 ppm, got {entry_spread_ppm!r}")
    prefix = f"{market_id.lower()}-" if account_prefix is None else account_prefix

    # The draws (inputs), in the documented order, then integers at once.
    rng = np.random.default_rng(seed)
    side_ppm = _to_ppm(rng.random(accounts))
    leverage_u = rng.random(accounts)
    notional_z = rng.standard_normal(accounts)
    entry_ppm = _to_ppm(rng.random(accounts))
    isolated_ppm = _to_ppm(rng.random(accounts))

    lo, hi = leverage_min_ppm, leverage_max_ppm
    if leverage_distribution == LOG_UNIFORM:
        leverage_f = np.exp(math.log(lo) + leverage_u * (math.log(hi) - math.log(lo)))
    else:
        leverage_f = lo + leverage_u * (hi - lo)
    leverage_ppm = [min(max(int(round(x)), lo), hi) for x in leverage_f]

    # exp of a clipped exponent: a huge draw must not reach infinity before the clamp
    exponent = np.clip(notional_z * (notional_sigma_ppm / PPM), -700.0, 700.0)
    notional_f = np.minimum(notional_median_quote * np.exp(exponent), float(high))
    notional_drawn = [min(max(int(x), low), high) for x in notional_f]

    sides = [1 if s < long_fraction_ppm else -1 for s in side_ppm]
    lots = [max(1, n // one_lot_quote) for n in notional_drawn]
    # entry offset in ppm, uniform over [-spread, +spread]: 2 * u - 1 in exact ppm steps
    entries = [max(1, div_floor(start_price_ticks
                                * (PPM + div_floor((2 * e - (PPM - 1)) * entry_spread_ppm, PPM)),
                                PPM))
               for e in entry_ppm]

    # Open interest the finished book will have: the long side of all accounts, the book's
    # liquidity account included (it holds the net opposite), which is max(longs, shorts).
    longs = sum(n for n, s in zip(lots, sides) if s > 0)
    shorts = sum(n for n, s in zip(lots, sides) if s < 0)
    open_interest = max(longs, shorts) * one_lot_quote

    width = len(str(accounts))
    rows = []
    # the venue's initial requirement depends on the lots alone here (one market, one start
    # price, one open interest): computed once per distinct size, not once per account
    venue_initial: dict[int, int] = {}
    for i in range(accounts):
        notional = lots[i] * one_lot_quote
        if lots[i] not in venue_initial:
            venue_initial[lots[i]] = initial_margin_quote(market, notional, open_interest, lots[i])
        margin = max(div_ceil(notional * PPM, leverage_ppm[i]), venue_initial[lots[i]])
        pnl = sides[i] * lots[i] * (start_price_ticks - entries[i]) * vpl
        wallet = margin + max(0, -pnl)
        rows.append(PositionRow(
            account_id=f"{prefix}{i + 1:0{width}d}",
            wallet_quote=wallet,
            market_id=market_id,
            size_lots=sides[i] * lots[i],
            entry_price_ticks=entries[i],
            isolated_market=market_id if isolated_ppm[i] < isolated_fraction_ppm else None,
            file=f"synthetic {market_id}",
            row=i + 1,
        ))
    return rows
