# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled liquidation engine: single operations (deposit, withdraw, trade, set_mark,
open_account, replace_book, liquidate, market_liquidate, backstop_liquidate, deleverage,
socialize_loss, apply_funding, fund_insurance) on a packed venue state, with the reference's
journal, receipts, result codes and check order.

An :class:`Engine` holds one venue as a struct of int64 arrays (accounts in sorted-id order, the
order the reference iterates in) plus the holders, the books and a journal of records. Every
operation runs without the GIL on those arrays, with 128-bit intermediates checked where the
reference's Python integers would be unbounded; it returns a result code (the values of
``liqspec.reference.ResultCode``) and, on success, its receipt amounts. Atomicity (LIQ-RESULT-1)
is the caller's: an operation that fails leaves the engine half-applied, so the adapters in
:mod:`liqspec.fast.operations` discard the engine and write nothing back, and the cascade
(:mod:`liqspec.fast.cascade`) aborts, as the reference's run does when an operation raises.

The arithmetic follows the reference line by line; where the reference calls ``checked()`` the
engine checks int64 at the same point, so an overflow is ``OVERFLOW`` at the same boundary. The
few places where the reference's unbounded intermediates cannot be carried exactly in 128 bits
are reported as ``OVERFLOW`` and listed in :mod:`liqspec.fast.compare`.

Layout: this file is the module; its code lives in ``fast/engine/*.pxi``, one file per module of
the reference (margin, ledger, liquidation, trading, book, deleveraging, socialization,
cascade, collateral), the two indexes (``deleveraging_index``, ``candidate_index``), the
constants and structs (``types``), the 128-bit helpers (``arithmetic``) and the ``Engine`` class
(``python_face``), included below in that order: one extension and one C module, so a call
between files is a direct C call. The view that fills the profile's ``Tables``
(``fast/table_view.pxi``) is included by the kernels too.
"""

import numpy as np
cimport numpy as cnp

from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t, int32_t, INT64_MAX, INT64_MIN
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memmove
from libc.math cimport fabs

from _rules cimport *  # the shared arithmetic, tiers and requirements

from liqspec.reference.errors import MalformedState, Overflow, ResultCode

cnp.import_array()

include "engine/arithmetic.pxi"
include "engine/types.pxi"
include "table_view.pxi"
include "engine/margin.pxi"
include "engine/ledger.pxi"
include "engine/liquidation.pxi"
include "engine/trading.pxi"
include "engine/book.pxi"
include "engine/deleveraging.pxi"
include "engine/deleveraging_index.pxi"
include "engine/socialization.pxi"
include "engine/cascade.pxi"
include "engine/candidate_index.pxi"
include "engine/collateral.pxi"
include "engine/python_face.pxi"
