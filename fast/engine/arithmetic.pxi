# The engine's own integer helpers; the shared ones (128-bit types and checks, the roundings, the
# tier and the requirements) are cimported from fast/_rules.pxd by _engine.pyx.
# Included by fast/_engine.pyx (one extension, one module namespace).

cdef extern from *:
    void __builtin_prefetch(const void* addr) nogil


cdef inline liq_i128 max_i128(liq_i128 a, liq_i128 b) noexcept nogil:
    return a if a > b else b


cdef inline int sgn(liq_i128 v) noexcept nogil:
    return (v > 0) - (v < 0)
