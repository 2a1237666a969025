"""Types of the compiled engine (``fast/_engine.pyx`` and the ``fast/engine/*.pxi`` it
includes): its module constants, the :class:`Engine` a venue state is packed into, and the buffer
that owns a cascade's trace.

Every operation returns ``(code, receipt)``: a ``liqspec.reference.ResultCode`` value and, when
the code is ``OK``, the receipt's amounts (Python ints: exact, 128-bit intermediates included),
else ``None``. The arrays are the engine's own, written in place by the operations.
"""

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from liqspec.fast.pack import EngineArrays, MarketTables

_Int64s: TypeAlias = npt.NDArray[np.int64]
_Bytes: TypeAlias = npt.NDArray[np.uint8]
_Receipt: TypeAlias = tuple[int, dict[str, int] | None]
#: a journal record: (kind, a, b, lots, amount, price or None, market, rule, seq)
_Record: TypeAlias = tuple[int, int, int, int, int, int | None, int, int, int]
#: a trace event: (step, round, kind, account or None, market or None, lots, price or None,
#: quote, rule, detail, detail_party, detail_destination)
_Event: TypeAlias = tuple[int, int, int, int | None, int | None, int, int | None, int, int, int,
                          int, int]

# result codes the engine adds to ResultCode's
NO_DUE_CODE: int
C_ZERO_DIVISION_CODE: int
C_ADL_MISMATCH_CODE: int
C_ORDER_MISMATCH_CODE: int
EV_NONE_VALUE: int

# rule IDs of journal records and trace events, by the engine's rule index
RULE_IDS: tuple[str, ...]
EVENT_RULE_IDS: tuple[str, ...]
EVENT_KIND_NAMES: tuple[str, ...]

# the engine's codes of the profile's policies and of the modes of its indexes
ROLES: dict[str, int]
SIZE_POLICIES: dict[str, int]
FEE_POLICIES: dict[str, int]
BAD_DEBT_POLICIES: dict[str, int]
ADL_RANKINGS: dict[str, int]
ADL_PRICES: dict[str, int]
MAINTENANCE_BASES: dict[str, int]
ADL_MODES: dict[str, int]
ORDER_MODES: dict[str, int]

def _order_due(eq: npt.ArrayLike, mm: npt.ArrayLike, rows: npt.ArrayLike) -> list[int]: ...
def _index_compaction(factor: int | None = ..., slack: int | None = ...) -> tuple[int, int]: ...
def replay_position(delta: npt.ArrayLike, traded: npt.ArrayLike) -> tuple[int, int]: ...

class _EventBuffer:
    """Owns an event buffer handed out as arrays by Engine.cascade_trace (freed with them)."""

class Engine:
    """One venue state packed for the compiled operations."""

    account_ids: tuple[str, ...] | list[str]
    market_ids: tuple[str, ...] | list[str]
    tables: MarketTables
    quote: _Int64s
    lots: _Int64s
    cost: _Int64s
    present: _Bytes
    touched: _Bytes
    account_touched: _Bytes
    n_positions: _Int64s
    role: npt.NDArray[np.int8]
    isolated: _Int64s
    marks: _Int64s
    columns_by_market_id: _Int64s
    has_book: _Bytes
    book_account: _Int64s
    bid_price: _Int64s
    bid_lots: _Int64s
    ask_price: _Int64s
    ask_lots: _Int64s
    bid_head: _Int64s
    bid_end: _Int64s
    ask_head: _Int64s
    ask_end: _Int64s
    book_touched: _Bytes
    scratch_a: _Int64s
    scratch_b: _Int64s
    scratch_c: _Int64s
    score_sign: npt.NDArray[np.int8]
    liquidation_fee_ppm: _Int64s
    liquidator_fee_ppm: _Int64s
    leverage: _Int64s | None
    cas_arrays: dict[str, npt.NDArray[Any]]

    def setup(self, arrays: EngineArrays) -> None: ...
    @property
    def holders(self) -> list[int]: ...
    @property
    def seq(self) -> int: ...
    @property
    def n_records(self) -> int: ...
    def records(self, first: int = 0) -> list[_Record]: ...
    def begin(self) -> None: ...
    # the operations
    def liquidate(self, i: int, k: int, cp: int, price: int, lots_wanted: int,
                  cp_allowed: bool) -> _Receipt: ...
    def market_liquidate(self, i: int, k: int) -> _Receipt: ...
    def backstop_liquidate(self, i: int, vault: int) -> _Receipt: ...
    def share_liquidate(self, i: int, vault: int) -> _Receipt: ...
    def deleverage(self, i: int, k: int, fund_peak: int = 0) -> _Receipt: ...
    def adl_order(self, order: str) -> None: ...
    def adl_index_stats(self) -> dict[str, int]: ...
    def socialize_loss(self, k: int, side: int, amount: int) -> _Receipt: ...
    def apply_funding(self, k: int, rate_ppm: int) -> _Receipt: ...
    def fund_insurance(self, amount: int) -> _Receipt: ...
    def deposit(self, i: int, amount: int) -> _Receipt: ...
    def withdraw(self, i: int, amount: int, order: _Int64s) -> _Receipt: ...
    def trade(self, buyer: int, seller: int, k: int, lots: int, price: int) -> _Receipt: ...
    def adopt_leverage(self, leverage: _Int64s) -> None: ...
    def set_leverage(self, i: int, k: int, leverage: int) -> _Receipt: ...
    def open_account(self, i: int) -> _Receipt: ...
    def set_mark(self, k: int, price: int) -> _Receipt: ...
    def replace_book(self, k: int, levels: int, spacing_ppm: int, lots_per_level: int,
                     book_row: int) -> _Receipt: ...
    # the read queries
    def maintenance_requirement(self, k: int, notional: int,
                                size: int = ...) -> tuple[int, tuple[int, int] | None]: ...
    def initial_requirement(self, k: int, notional: int, open_interest: int,
                            size: int = ...) -> tuple[int, tuple[int, int] | None]: ...
    def liquidation_size(self, i: int, k: int) -> tuple[int, int | None]: ...
    def liquidation_fee(self, k: int, side: int, lots: int, price: int, bankruptcy_num: int,
                        bankruptcy_den: int, surplus: int) -> tuple[int, int | None]: ...
    def adl_allocation(self, i: int, k: int) -> tuple[int, list[tuple[int, int]] | None]: ...
    def adl_receive(self, i: int, k: int, lots: int,
                    fund_peak: int = 0) -> tuple[int, int | None]: ...
    # the cascade
    def cascade_setup(self, cfg_cols: npt.ArrayLike, levels: npt.ArrayLike,
                      spacing_ppm: npt.ArrayLike, lots_per_level: npt.ArrayLike, book_row: int,
                      vault_row: int, mark_kind: int, band_ppm: int, step_seconds: int,
                      order: str = "index", keep_journal: bool = True,
                      fund_window_s: int = 0,
                      fund_history: Sequence[tuple[int, int]] = ()) -> None: ...
    def cascade_index_stats(self) -> dict[str, int]: ...
    def cascade_open_step(self, step: int, index: npt.ArrayLike) -> int: ...
    def cascade_rounds(self) -> int: ...
    def cascade_round(self) -> tuple[int, bool]: ...
    def cascade_end_step(self) -> tuple[int, int, int, int]: ...
    def cascade_unresolved(self) -> tuple[int, int]: ...
    def cascade_totals(self) -> dict[str, Any]: ...
    def cascade_events(self) -> list[_Event]: ...
    def cascade_trace(self) -> dict[str, _Int64s]: ...
    def clear_touched(self) -> None: ...
