"""Packing the reference's objects into the struct of arrays the kernels read.

Packing is glue (plain Python and numpy); every computation on the packed arrays is compiled.

* :class:`MarketTables`: per-market parameters of a profile, in the profile's market order, with
  tier tables padded to the widest market (the padding repeats the last tier; the kernels read
  only ``n_tiers[k]`` slots).
* :class:`StateArrays`: accounts in a stable order (sorted by id, the order the reference iterates
  in), ``quote[N]``, ``lots[N, M]`` and ``marks[M]``, for the batch kernels.
* :class:`EngineArrays`: a whole venue for the engine (``Engine.setup(arrays)``): the accounts'
  arrays, holders, seq, policies and books.

One packer reads accounts (``pack_rows``); the kernels' ``pack_accounts``, the operations'
engine (``liqspec.fast.operations.engine_arrays``) and the cascade's arrays
(``liqspec.fast.cascade.arrays_of``) are all built from it. The checks that need a
:class:`MarketTables` (``account_arrays``, ``entry_arrays``, ``market_count``,
``market_column``) live here too; :mod:`liqspec.fast.domain` checks values alone.

A market missing from the marks raises ``KeyError`` (the market id) where a packed account holds
a position in it (or where the caller says it reads that mark), as the reference raises where it
reads that mark (LIQ-DOMAIN-2 marks every market; only hand-built marks miss one).

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
from typing import Any

import numpy as np

from liqspec.reference.arithmetic import PPM
from liqspec.reference.errors import MalformedState, Overflow, UnknownMarket
from liqspec.reference.profile import (MAX_RATE_SCALE, MaintenanceBasis, Profile, TierBasis,
                                       Trigger)
from liqspec.reference.state import HOLDERS, Account, State

from . import _engine
from .domain import flag_array, int64_array, int64_scalar

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
    #: int64[M], LIQ-TIER-7: rates in 1 / (10^6 x this), deductions in quantums / this (1: ppm)
    rate_scale: np.ndarray | None = None
    #: int64[M], LIQ-FEE-3: the liquidator's fee (read only under liquidator_and_fund; 0: none)
    liquidator_fee_ppm: np.ndarray | None = None
    #: int64[M, T], LIQ-TIER-8: the tiers' floors in lots, read where ``tier_by_size`` is set
    tier_floor_lots: np.ndarray | None = None
    #: uint8[M], LIQ-TIER-8: the market's tiers are keyed by position size (0: by notional)
    tier_by_size: np.ndarray | None = None
    #: LIQ-TRIGGER-3: the quantum of equity the trigger discounts, 1 where equity equal to
    #: maintenance is liquidatable (the at_or_below trigger), else 0
    trigger_slack_quote: int = 0

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
        if (self.value_per_lot_tick < 1).any():
            # the reference's value per lot per tick is a positive power of ten (LIQ-UNIT-1), and
            # the kernels' overflow tests take it to be at least 1
            raise MalformedState("value_per_lot_tick must be at least 1")
        scale = int64_array(np.ones(m, dtype=np.int64) if self.rate_scale is None
                            else self.rate_scale, "rate_scale", (m,))
        if ((scale < 1) | (scale > MAX_RATE_SCALE)).any():
            raise MalformedState(f"rate_scale must be in 1..{MAX_RATE_SCALE}")
        object.__setattr__(self, "rate_scale", scale)
        reward = int64_array(np.zeros(m, dtype=np.int64) if self.liquidator_fee_ppm is None
                             else self.liquidator_fee_ppm, "liquidator_fee_ppm", (m,))
        if ((reward < 0) | (reward > PPM)).any():
            raise MalformedState("liquidator_fee_ppm must be in 0..1_000_000")
        object.__setattr__(self, "liquidator_fee_ppm", reward)
        object.__setattr__(self, "tier_floor_lots", int64_array(
            np.zeros((m, width), dtype=np.int64) if self.tier_floor_lots is None
            else self.tier_floor_lots, "tier_floor_lots", (m, width)))
        object.__setattr__(self, "tier_by_size", flag_array(
            np.zeros(m, dtype=np.uint8) if self.tier_by_size is None else self.tier_by_size,
            "tier_by_size", m))
        if ((self.n_tiers < 1) | (self.n_tiers > width)).any():
            raise MalformedState(f"n_tiers must be in 1..{width} (the tier width)")
        if self.trigger_slack_quote not in (0, 1):
            raise MalformedState(f"trigger_slack_quote must be 0 or 1, got "
                                 f"{self.trigger_slack_quote!r}")
        num = int64_scalar(self.backstop_num, "backstop ratio numerator")
        den = int64_scalar(self.backstop_den, "backstop ratio denominator")
        if not (num == den == 0 or 0 < num < den):
            raise MalformedState(f"backstop ratio must be 0 / 0 or 0 < num < den, got "
                                 f"{num} / {den}")

    def column(self, market_id: str) -> int:
        """The column of ``market_id`` in ``lots`` and ``marks``."""
        try:
            return self.market_ids.index(market_id)
        except ValueError:
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
            out[k] = [int64_scalar(v, f"{market.market_id}.{field}") for v in values]
        return out

    def column(values: Iterable[int], what: str) -> np.ndarray:
        return np.array([int64_scalar(v, what) for v in values], dtype=np.int64)

    if profile.backstop_ratio is None:
        num = den = 0
    else:
        num, den = profile.backstop_ratio
        common = gcd(num, den)
        num, den = int64_scalar(num // common, "backstop ratio numerator"), int64_scalar(
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
        rate_scale=column((m.rate_scale for m in markets), "rate_scale"),
        liquidator_fee_ppm=column((m.liquidator_fee_ppm for m in markets), "liquidator_fee_ppm"),
        tier_floor_lots=grid("floor_lots"),
        tier_by_size=np.array([m.tier_basis == TierBasis.SIZE for m in markets], dtype=np.uint8),
        # LIQ-TRIGGER-3's shift of the trigger's equity, from the policy (the engine's own
        # reading of the rule, so that the difftest compares it with the reference's)
        trigger_slack_quote=int(profile.trigger == Trigger.AT_OR_BELOW),
    )


_TABLES: dict[int, tuple[Profile, MarketTables]] = {}


def tables_for(profile: Profile) -> MarketTables:
    """:func:`pack_profile`, memoized per profile object (profiles are immutable)."""
    hit = _TABLES.get(id(profile))
    if hit is None or hit[0] is not profile:
        hit = (profile, pack_profile(profile))
        _TABLES[id(profile)] = hit
    return hit[1]


#: the engine's code for any role but its own three (liqspec.fast._engine.ROLES)
OTHER_ROLE = 3


@dataclass(eq=False)
class AccountRows:
    """Accounts as rows (in the given order), markets as the columns of the tables."""

    account_ids: tuple[str, ...]
    quote: np.ndarray  # int64[N]
    lots: np.ndarray  # int64[N, M]
    cost: np.ndarray  # int64[N, M], cost_quote.get(market, 0)
    present: np.ndarray  # uint8[N, M], the market is a key of positions
    role: np.ndarray  # int8[N], liqspec.fast._engine.ROLES codes (OTHER_ROLE for any other)
    isolated: np.ndarray  # int64[N], market column, -1 cross, -2 a market not in the profile


def pack_rows(accounts: Iterable[Account], tables: MarketTables) -> AccountRows:
    """The one packer of accounts: every value checked into int64 (LIQ-DOMAIN-1), a position in
    a market the profile does not have is ``UnknownMarket``."""
    accounts = list(accounts)
    column = {m: k for k, m in enumerate(tables.market_ids)}
    n, m = len(accounts), len(column)
    quote = np.zeros(n, dtype=np.int64)
    lots = np.zeros((n, m), dtype=np.int64)
    cost = np.zeros((n, m), dtype=np.int64)
    present = np.zeros((n, m), dtype=np.uint8)
    role = np.zeros(n, dtype=np.int8)
    isolated = np.full(n, -1, dtype=np.int64)
    for i, account in enumerate(accounts):
        account_id = account.account_id
        quote[i] = int64_scalar(account.quote, f"quote of {account_id}")
        for market_id, size in account.positions.items():
            k = column.get(market_id)
            if k is None:
                tables.column(market_id)  # raises UnknownMarket
            lots[i, k] = int64_scalar(size, f"position of {account_id} in {market_id}")
            present[i, k] = 1
        for market_id, basis in account.cost_quote.items():
            k = column.get(market_id)
            if k is not None:
                cost[i, k] = int64_scalar(basis, f"cost basis of {account_id} in {market_id}")
        role[i] = _engine.ROLES.get(account.role, OTHER_ROLE)
        if account.isolated_market is not None:
            isolated[i] = column.get(account.isolated_market, -2)
    return AccountRows(tuple(a.account_id for a in accounts), quote, lots, cost, present, role,
                       isolated)


def pack_marks(marks: Mapping[str, int], tables: MarketTables, lots: np.ndarray,
               read: Iterable[str] | None = None) -> np.ndarray:
    """The marks in column order. ``read``: the markets whose mark the caller reads (None: every
    market a row holds a position in, as valuing the rows does). A missing mark there raises
    ``KeyError`` (the market id), as the reference's ``marks[market_id]``; a missing mark
    elsewhere is never read and is packed as 1 tick."""
    wanted: set[str]
    if read is None:  # the columns of the nonzero lots
        wanted = {tables.market_ids[k] for k in set(np.nonzero(lots)[1].tolist())}
    else:
        wanted = set(read)
    out = np.ones(len(tables.market_ids), dtype=np.int64)
    for k, market_id in enumerate(tables.market_ids):
        if market_id in marks:
            out[k] = int64_scalar(marks[market_id], f"mark of {market_id}")
        elif market_id in wanted:
            raise KeyError(market_id)
    return out


def pack_accounts(accounts: Iterable[Account], marks: Mapping[str, int], tables: MarketTables,
                  read: Iterable[str] | None = None) -> StateArrays:
    """Accounts in the given order, for the batch kernels (their cost bases where the
    requirements are on entry values, LIQ-TIER-6; 0 elsewhere). ``read``: as
    ``pack_marks``."""
    rows = pack_rows(accounts, tables)
    at_entry = (rows.isolated != -1) if tables.maintenance_at_entry else np.zeros(
        len(rows.account_ids), dtype=np.bool_)
    cost = np.where(at_entry[:, None] & (rows.lots != 0), rows.cost, 0).astype(np.int64)
    return StateArrays(rows.account_ids, rows.quote, rows.lots,
                       pack_marks(marks, tables, rows.lots, read), cost, at_entry)


def pack_state(state: State, tables: MarketTables | None = None,
               read: Iterable[str] | None = None) -> StateArrays:
    """Every account of ``state``, sorted by id, with the state's marks (``read``: as
    ``pack_marks``)."""
    tables = tables or tables_for(state.profile)
    ordered = [state.accounts[a] for a in sorted(state.accounts)]
    return pack_accounts(ordered, state.marks, tables, read)


# -- a whole venue for the engine ----------------------------------------------------------------

@dataclass(eq=False)
class EngineArrays:
    """What ``Engine.setup`` adopts, whole: accounts as rows in sorted-id order, markets as the
    columns of ``tables``, every array int64 and C-contiguous unless noted. The engine changes
    the arrays in place (the glue writes results back from them), so each is its own.

    Books, one per market: the levels of a side are ``[head, end)`` of its ``[m, book_capacity]``
    price and lots arrays, best first; ``book_account`` is the row of a book's account (-1 when
    it is not an account)."""

    tables: MarketTables
    rows: AccountRows
    marks: np.ndarray  # int64[M], ticks
    holders: list[int]  # the balances in HOLDERS order
    seq: int
    policies: dict[str, int]  # the profile's policies as the engine's codes (policies_of)
    book_capacity: int = 1
    has_book: np.ndarray | None = None  # uint8[M]
    book_account: np.ndarray | None = None  # int64[M]
    bid_price: np.ndarray | None = None  # int64[M, book_capacity]
    bid_lots: np.ndarray | None = None
    ask_price: np.ndarray | None = None
    ask_lots: np.ndarray | None = None
    bid_head: np.ndarray | None = None  # int64[M]
    bid_end: np.ndarray | None = None
    ask_head: np.ndarray | None = None
    ask_end: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Books not given are empty: no market has one."""
        m = len(self.tables.market_ids)
        cap = max(1, self.book_capacity)
        self.book_capacity = cap
        for name, dtype, shape, fill in (
                ("has_book", np.uint8, (m,), 0), ("book_account", np.int64, (m,), -1),
                ("bid_price", np.int64, (m, cap), 0), ("bid_lots", np.int64, (m, cap), 0),
                ("ask_price", np.int64, (m, cap), 0), ("ask_lots", np.int64, (m, cap), 0),
                ("bid_head", np.int64, (m,), 0), ("bid_end", np.int64, (m,), 0),
                ("ask_head", np.int64, (m,), 0), ("ask_end", np.int64, (m,), 0)):
            if getattr(self, name) is None:
                setattr(self, name, np.full(shape, fill, dtype=dtype))

    @property
    def market_ids(self) -> tuple[str, ...]:
        return self.tables.market_ids

    @property
    def columns_by_market_id(self) -> np.ndarray:
        """The market columns in market-id order (the rules that walk markets "in ID order")."""
        ids = self.tables.market_ids
        return np.array(sorted(range(len(ids)), key=lambda k: ids[k]), dtype=np.int64)


def holder_balances(holders: Mapping[str, int]) -> list[int]:
    """The holders' balances in HOLDERS order, each checked into int64 (0 for one not given)."""
    return [int64_scalar(holders.get(h, 0), f"balance of {h}") for h in HOLDERS]


# -- the checks of arguments that need a MarketTables (LIQ-DOMAIN-1) ------------------------------

def market_count(tables: Any) -> int:
    """The number of markets of a :class:`MarketTables` (whose arrays its own constructor
    checked); anything else is ``MalformedState``."""
    if not isinstance(tables, MarketTables):
        raise MalformedState(f"tables must be a MarketTables (liqspec.fast.tables_for(profile)), "
                             f"got {type(tables).__name__}")
    return len(tables.market_ids)


def market_column(market: Any, tables: Any) -> int:
    """A market column of ``tables``: an integer in 0..M-1, else ``MalformedState``."""
    column = int64_scalar(market, "market column")
    count = market_count(tables)
    if not 0 <= column < count:
        raise MalformedState(f"market column {column} is not one of the {count} columns of "
                             f"{tables.profile_name!r}")
    return column


def account_arrays(quote: Any, lots: Any, marks: Any, tables: Any
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The (quote[N], lots[N, M], marks[M]) of a batch kernel, M the markets of ``tables``
    (``quote`` None for a kernel without one)."""
    m = market_count(tables)
    lots = int64_array(lots, "lots", (None, m))
    if quote is not None:
        quote = int64_array(quote, "quote", (lots.shape[0],))
    return quote, lots, int64_array(marks, "marks", (m,))


def entry_arrays(cost: Any, at_entry: Any, lots: np.ndarray, tables: Any
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The (cost[N, M], at_entry[N]) of a kernel that reads maintenance (LIQ-TIER-6): each row's
    cost bases and whether its requirements are on them (an isolated account of a profile whose
    basis is ``entry``). Both or neither; neither means every row at the mark, which a table of
    an ``entry`` profile does not allow (the answer would be silently the mark's)."""
    if cost is None and at_entry is None:
        if tables.maintenance_at_entry:
            raise MalformedState(f"{tables.profile_name!r} takes isolated maintenance at entry "
                                 f"(LIQ-TIER-6): pass cost and at_entry")
        return None, None
    if cost is None or at_entry is None:
        raise MalformedState("cost and at_entry go together")
    cost = int64_array(cost, "cost", lots.shape)
    return cost, flag_array(at_entry, "at_entry", lots.shape[0])
