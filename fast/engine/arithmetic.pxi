# The engine's own integer helpers; the shared ones (128-bit types and checks, the roundings, the
# tier and the requirements) are cimported from fast/_rules.pxd by _engine.pyx.
# Included by fast/_engine.pyx (one extension, one module namespace).

cdef extern from *:
    void __builtin_prefetch(const void* addr) nogil


cdef inline liq_i128 max_i128(liq_i128 a, liq_i128 b) noexcept nogil:
    return a if a > b else b


cdef inline int sgn(liq_i128 v) noexcept nogil:
    return (v > 0) - (v < 0)


cdef inline int reserve(void** buffer, Py_ssize_t* capacity, Py_ssize_t want,
                        size_t item_bytes) noexcept nogil:
    """Room for at least ``want`` items in a growable buffer: the capacity doubles (plus 16) or
    jumps to ``want``; C_OVERFLOW when memory runs out (reported, never a wrap), the buffer and its
    capacity unchanged then."""
    cdef Py_ssize_t capacity_items
    cdef void* grown
    if want <= capacity[0]:
        return C_OK
    capacity_items = 2 * capacity[0] + 16
    if capacity_items < want:
        capacity_items = want
    grown = realloc(buffer[0], capacity_items * item_bytes)
    if grown == NULL:
        return C_OVERFLOW
    buffer[0] = grown
    capacity[0] = capacity_items
    return C_OK
