# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled kernels over typed memoryviews, int64 with checked 128-bit intermediates.

Same units, results and errors as liqspec.reference; an overflow is an error, never a wrap.
"""

import numpy as np
cimport numpy as cnp

from liqspec.reference.errors import Overflow

cdef extern from *:
    """
    typedef __int128 liq_i128;
    static inline int liq_fits_i64(liq_i128 v) {
        return v >= (liq_i128)INT64_MIN && v <= (liq_i128)INT64_MAX;
    }
    """
    ctypedef long long liq_i128
    int liq_fits_i64(liq_i128 v) nogil

from libc.stdint cimport int64_t


def position_values_quote(const int64_t[:] lots, int64_t price_ticks, int64_t value_per_lot_tick):
    """LIQ-MARGIN-1 over a batch: lots * price * value_per_lot_tick for each position.

    Raises Overflow (LIQ-DOMAIN-1) naming the first position whose value leaves int64.
    """
    cdef Py_ssize_t n = lots.shape[0], i, bad = -1
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[:] values = out
    cdef liq_i128 v
    with nogil:
        for i in range(n):
            v = <liq_i128>lots[i] * <liq_i128>price_ticks
            if not liq_fits_i64(v):
                bad = i
                break
            v = v * <liq_i128>value_per_lot_tick
            if not liq_fits_i64(v):
                bad = i
                break
            values[i] = <int64_t>v
    if bad >= 0:
        raise Overflow(f"value in position {bad} is outside the signed 64-bit domain")
    return out
