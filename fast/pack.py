"""Packing the reference's objects into the struct of arrays the kernels read.

Packing is glue (plain Python and numpy); every computation on the packed arrays is compiled.

* :class:`MarketTables`: per-market parameters of a profile, in the profile's market order, with
  tier tables padded to the widest market (the padding repeats the last tier; the kernels read
  only ``n_tiers[k]`` slots).
* :class:`StateArrays`: accounts in a stable order (sorted by id, the order the reference iterates
  in), ``quote[N]``, ``lots[N, M]`` and ``marks[M]``.

Domain of the fast path: every packed integer is int64. A state built through the reference's
operations always fits (balances, positions and marks are checked on every update); a hand-built
value outside int64 raises ``Overflow`` here. Two profile parameters the reference leaves
unbounded must fit too: the minimum maintenance margin and the backstop ratio's terms (after
reduction); a profile outside that raises ``Overflow`` when packed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import gcd

import numpy as np

from liqspec.reference.errors import MalformedState, Overflow
from liqspec.reference.profile import MaintenanceBasis, Profile
from liqspec.reference.state import Account, State

from .domain import flag_array, int64_array
from .domain import int64_scalar as _int64

#: market columns the kernels accept; keeps every 128-bit intermediate (sums over markets of
#: 64-bit values, times 10^6) far from wrapping
MAX_MARKETS = 1 << 20


@dataclass(frozen=True, eq=False)
class MarketTables:
    """One profile's per-market parameters as int64 arrays (M markets, T tier slots)."""

    profile_name: str
    market_ids: tuple[str, ...]
    value_per_lot_tick: np.ndarray  # int64[M], quote quantums per lot per tick
    n_tiers: np.ndarray  # int64[M]
    tier_floor_quote: np.ndarray  # int64[M, T]
    maint_margin_ppm: np.ndarray  # int64[M, T]
    maint_deduction_quote: np.ndarray  # int64[M, T]
    init_margin_ppm: np.ndarray  # int64[M, T]
    init_deduction_quote: np.ndarray  # int64[M, T]
    min_maint_margin_quote: np.ndarray  # int64[M]
    liquidation_fee_ppm: np.ndarray  # int64[M]
    oi_lower_cap_quote: np.ndarray  # int64[M]
    oi_upper_cap_quote: np.ndarray  # int64[M]
    has_oi_scaling: np.ndarray  # uint8[M]
    backstop_num: int  # LIQ-TRIGGER-2 ratio in lowest terms; 0 / 0 without a backstop
    backstop_den: int
    maintenance_at_entry: bool = False  # LIQ-TIER-6: isolated accounts' maintenance at entry

    def __post_init__(self) -> None:
        """Tables built by hand are checked like any other input (liqspec.fast.domain): int64
        arrays of one market count and tier width, tier counts within the width."""
        m = len(self.market_ids)
        if m == 0:
            raise MalformedState("tables need at least one market")
        grid = int64_array(self.tier_floor_quote, "tier_floor_quote", (m, None))
        width = grid.shape[1]
        for name in ("tier_floor_quote", "maint_margin_ppm", "maint_deduction_quote",
                     "init_margin_ppm", "init_deduction_quote"):
            object.__setattr__(self, name, int64_array(getattr(self, name), name, (m, width)))
        for name in ("value_per_lot_tick", "n_tiers", "min_maint_margin_quote",
                     "liquidation_fee_ppm", "oi_lower_cap_quote", "oi_upper_cap_quote"):
            object.__setattr__(self, name, int64_array(getattr(self, name), name, (m,)))
        object.__setattr__(self, "has_oi_scaling",
                           flag_array(self.has_oi_scaling, "has_oi_scaling", m))
        if ((self.n_tiers < 1) | (self.n_tiers > width)).any():
            raise MalformedState(f"n_tiers must be in 1..{width} (the tier width)")
        num = _int64(self.backstop_num, "backstop ratio numerator")
        den = _int64(self.backstop_den, "backstop ratio denominator")
        if not (num == den == 0 or 0 < num < den):
            raise MalformedState(f"backstop ratio must be 0 / 0 or 0 < num < den, got "
                                 f"{num} / {den}")

    def column(self, market_id: str) -> int:
        """The column of ``market_id`` in ``lots`` and ``marks``."""
        try:
            return self.market_ids.index(market_id)
        except ValueError:
            from liqspec.reference.errors import UnknownMarket
            raise UnknownMarket(f"unknown market {market_id!r} in profile "
                                f"{self.profile_name!r}") from None


@dataclass(frozen=True, eq=False)
class StateArrays:
    """Accounts as a struct of arrays: row i is ``account_ids[i]``."""

    account_ids: tuple[str, ...]
    quote: np.ndarray  # int64[N], quote quantums
    lots: np.ndarray  # int64[N, M], base lots per market column
    marks: np.ndarray  # int64[M], ticks
    cost: np.ndarray | None = None  # int64[N, M], cost bases (LIQ-MARGIN-4)
    at_entry: np.ndarray | None = None  # bool[N], maintenance on entry values (LIQ-TIER-6)

    def basis(self) -> dict:
        """The maintenance-basis arguments of a kernel (LIQ-TIER-6)."""
        return {"cost": self.cost, "at_entry": self.at_entry}

    def row(self, account_id: str) -> int:
        return self.account_ids.index(account_id)


def pack_profile(profile: Profile) -> MarketTables:
    """The profile's markets, in its own order, as :class:`MarketTables`."""
    markets = list(profile.markets.values())
    if len(markets) > MAX_MARKETS:
        raise Overflow(f"the fast path packs at most {MAX_MARKETS} markets")
    width = max(len(m.tiers) for m in markets)
    m_count = len(markets)

    def grid(field: str) -> np.ndarray:
        out = np.zeros((m_count, width), dtype=np.int64)
        for k, market in enumerate(markets):
            values = [getattr(t, field) for t in market.tiers]
            values += [values[-1]] * (width - len(values))
            out[k] = [_int64(v, f"{market.market_id}.{field}") for v in values]
        return out

    def column(values: Iterable[int], what: str) -> np.ndarray:
        return np.array([_int64(v, what) for v in values], dtype=np.int64)

    if profile.backstop_ratio is None:
        num = den = 0
    else:
        num, den = profile.backstop_ratio
        common = gcd(num, den)
        num, den = _int64(num // common, "backstop ratio numerator"), _int64(
            den // common, "backstop ratio denominator")
    return MarketTables(
        profile_name=profile.name,
        market_ids=tuple(m.market_id for m in markets),
        value_per_lot_tick=column((m.value_per_lot_tick for m in markets), "value_per_lot_tick"),
        n_tiers=column((len(m.tiers) for m in markets), "tier count"),
        tier_floor_quote=grid("floor_notional_quote"),
        maint_margin_ppm=grid("maint_margin_ppm"),
        maint_deduction_quote=grid("maint_deduction_quote"),
        init_margin_ppm=grid("init_margin_ppm"),
        init_deduction_quote=grid("init_deduction_quote"),
        min_maint_margin_quote=column((m.min_maint_margin_quote for m in markets),
                                      "min_maint_margin_quote"),
        liquidation_fee_ppm=column((m.liquidation_fee_ppm for m in markets),
                                   "liquidation_fee_ppm"),
        oi_lower_cap_quote=column((m.oi_scaling.lower_cap_quote if m.oi_scaling else 0
                                   for m in markets), "oi lower cap"),
        oi_upper_cap_quote=column((m.oi_scaling.upper_cap_quote if m.oi_scaling else 0
                                   for m in markets), "oi upper cap"),
        has_oi_scaling=np.array([m.oi_scaling is not None for m in markets], dtype=np.uint8),
        backstop_num=num,
        backstop_den=den,
        maintenance_at_entry=profile.maintenance_basis == MaintenanceBasis.ENTRY,
    )


_TABLES: dict[int, tuple[Profile, MarketTables]] = {}


def tables_for(profile: Profile) -> MarketTables:
    """:func:`pack_profile`, memoized per profile object (profiles are immutable)."""
    hit = _TABLES.get(id(profile))
    if hit is None or hit[0] is not profile:
        hit = (profile, pack_profile(profile))
        _TABLES[id(profile)] = hit
    return hit[1]


def pack_accounts(accounts: Iterable[Account], marks: Mapping[str, int],
                  tables: MarketTables) -> StateArrays:
    """Accounts in the given order; a market with no mark is packed at 1 tick (a mark is only
    read where an account holds a position, and the reference needs one there too)."""
    accounts = list(accounts)
    column = {m: k for k, m in enumerate(tables.market_ids)}
    quote = np.array([_int64(a.quote, f"quote of {a.account_id}") for a in accounts],
                     dtype=np.int64)
    lots = np.zeros((len(accounts), len(column)), dtype=np.int64)
    for i, account in enumerate(accounts):
        for market_id, size in account.positions.items():
            if market_id not in column:
                tables.column(market_id)  # raises UnknownMarket
            lots[i, column[market_id]] = _int64(size, f"position of {account.account_id} in "
                                                      f"{market_id}")
    mark_values = np.array([_int64(marks.get(m, 1), f"mark of {m}") for m in tables.market_ids],
                           dtype=np.int64)
    cost = np.zeros((len(accounts), len(column)), dtype=np.int64)
    at_entry = np.zeros(len(accounts), dtype=np.bool_)
    if tables.maintenance_at_entry:
        for i, account in enumerate(accounts):
            at_entry[i] = account.isolated_market is not None
            for market_id, basis in account.cost_quote.items() if at_entry[i] else ():
                if market_id in column and account.positions.get(market_id, 0) != 0:
                    cost[i, column[market_id]] = _int64(basis, f"cost basis of "
                                                               f"{account.account_id}")
    return StateArrays(tuple(a.account_id for a in accounts), quote, lots, mark_values,
                       cost, at_entry)


def pack_state(state: State, tables: MarketTables | None = None) -> StateArrays:
    """Every account of ``state``, sorted by id, with the state's marks."""
    tables = tables or tables_for(state.profile)
    ordered = [state.accounts[a] for a in sorted(state.accounts)]
    return pack_accounts(ordered, state.marks, tables)
