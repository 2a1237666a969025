"""Types of the compiled kernels (``fast/_kernels.pyx``): the batch API over numpy arrays.

Inputs are anything :mod:`liqspec.fast.domain` accepts as int64 data (an int64 array is used
uncopied); outputs are fresh numpy arrays. ``tables`` is a profile packed by
:func:`liqspec.fast.pack.pack_profile`.
"""

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from liqspec.fast.pack import MarketTables

_Int64s: TypeAlias = npt.NDArray[np.int64]
_Flags: TypeAlias = npt.NDArray[np.bool_]
#: (ticks[N], numerator[N], denominator[N], code[N]): a price per account and its result code
_Prices: TypeAlias = tuple[_Int64s, _Int64s, _Int64s, npt.NDArray[np.int8]]

def position_values_quote(lots: npt.ArrayLike, price_ticks: int,
                          value_per_lot_tick: int) -> _Int64s: ...
def equity_quotes(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                  tables: MarketTables) -> _Int64s: ...
def maintenance_margin_quotes(lots: npt.ArrayLike, marks: npt.ArrayLike, tables: MarketTables,
                              cost: npt.ArrayLike | None = None,
                              at_entry: npt.ArrayLike | None = None) -> _Int64s: ...
def initial_margin_quotes(lots: npt.ArrayLike, marks: npt.ArrayLike, tables: MarketTables,
                          open_interest_quote: npt.ArrayLike,
                          leverage: npt.ArrayLike | None = None) -> _Int64s: ...
def free_collateral_quotes(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                           tables: MarketTables, open_interest_quote: npt.ArrayLike,
                           leverage: npt.ArrayLike | None = None,
                           cost: npt.ArrayLike | None = None,
                           at_entry: npt.ArrayLike | None = None) -> _Int64s: ...
def open_interest_quotes(lots: npt.ArrayLike, marks: npt.ArrayLike, tables: MarketTables,
                         wanted: npt.ArrayLike | None = None) -> _Int64s: ...
def health(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
           tables: MarketTables, cost: npt.ArrayLike | None = None,
           at_entry: npt.ArrayLike | None = None,
           out: Sequence[npt.NDArray[Any]] | None = None
           ) -> tuple[_Int64s, _Int64s, _Flags]: ...
def liquidatable_flags(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                       tables: MarketTables, cost: npt.ArrayLike | None = None,
                       at_entry: npt.ArrayLike | None = None) -> _Flags: ...
def below_backstop_flags(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                         tables: MarketTables, cost: npt.ArrayLike | None = None,
                         at_entry: npt.ArrayLike | None = None) -> _Flags: ...
def funding_owed_quotes(lots: npt.ArrayLike, mark_ticks: int, value_per_lot_tick: int,
                        rate_ppm: int) -> _Int64s: ...
def bankruptcy_prices(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                      tables: MarketTables, market: int, cost: npt.ArrayLike | None = None,
                      at_entry: npt.ArrayLike | None = None) -> _Prices: ...
def liquidation_prices(quote: npt.ArrayLike, lots: npt.ArrayLike, marks: npt.ArrayLike,
                       tables: MarketTables, market: int, cost: npt.ArrayLike | None = None,
                       at_entry: npt.ArrayLike | None = None) -> _Prices: ...
