# The exact integer helpers: 128-bit intermediates with checked overflow (LIQ-DOMAIN-1)
# and the named roundings (LIQ-ROUND-1/2).
# Included by fast/_engine.pyx (one extension, one module namespace).

cdef extern from *:
    """
    typedef __int128 eng_i128;
    typedef unsigned __int128 eng_u128;
    static inline int eng_fits(eng_i128 v) {
        return v >= (eng_i128)INT64_MIN && v <= (eng_i128)INT64_MAX;
    }
    static inline int eng_mul(eng_i128 a, eng_i128 b, eng_i128 *out) {
        return !__builtin_mul_overflow(a, b, out);
    }
    static inline int eng_add(eng_i128 a, eng_i128 b, eng_i128 *out) {
        return !__builtin_add_overflow(a, b, out);
    }
    static inline int eng_umul(eng_u128 a, eng_u128 b, eng_u128 *out) {
        return !__builtin_mul_overflow(a, b, out);
    }
    /* a * b as 256 bits (hi, lo) */
    static inline void eng_mul256(eng_u128 a, eng_u128 b, eng_u128 *hi, eng_u128 *lo) {
        uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
        uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
        eng_u128 p00 = (eng_u128)a0 * b0, p01 = (eng_u128)a0 * b1;
        eng_u128 p10 = (eng_u128)a1 * b0, p11 = (eng_u128)a1 * b1;
        eng_u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
        *lo = (mid << 64) | (uint64_t)p00;
        *hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    }
    /* sign of n1/d1 - n2/d2 for unsigned fractions with positive denominators, exactly */
    static inline int eng_cmp_ufrac(eng_u128 n1, eng_u128 d1, eng_u128 n2, eng_u128 d2) {
        eng_u128 h1, l1, h2, l2;
        eng_mul256(n1, d2, &h1, &l1);
        eng_mul256(n2, d1, &h2, &l2);
        if (h1 != h2) return h1 < h2 ? -1 : 1;
        if (l1 != l2) return l1 < l2 ? -1 : 1;
        return 0;
    }
    static inline int64_t eng_hi64(eng_i128 v) { return (int64_t)(v >> 64); }
    static inline uint64_t eng_lo64(eng_i128 v) { return (uint64_t)v; }
    """
    ctypedef long long eng_i128
    ctypedef unsigned long long eng_u128
    int eng_fits(eng_i128 v) nogil
    int eng_mul(eng_i128 a, eng_i128 b, eng_i128 *out) nogil
    int eng_add(eng_i128 a, eng_i128 b, eng_i128 *out) nogil
    int eng_umul(eng_u128 a, eng_u128 b, eng_u128 *out) nogil
    int eng_cmp_ufrac(eng_u128 n1, eng_u128 d1, eng_u128 n2, eng_u128 d2) nogil
    int64_t eng_hi64(eng_i128 v) nogil
    uint64_t eng_lo64(eng_i128 v) nogil
    bint __builtin_mul_overflow(int64_t a, int64_t b, int64_t* out) nogil
    void __builtin_prefetch(const void* addr) nogil


# -- exact integer helpers (LIQ-ROUND-1/2) -----------------------------------------------------

cdef inline eng_i128 floor_div(eng_i128 a, eng_i128 b) noexcept nogil:
    """floor(a / b) for b > 0 (LIQ-ROUND-2)."""
    cdef eng_i128 q = a / b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline eng_i128 ceil_div(eng_i128 a, eng_i128 b) noexcept nogil:
    """ceil(a / b) for b > 0 (LIQ-ROUND-1)."""
    return -floor_div(-a, b)


cdef inline eng_i128 max_i128(eng_i128 a, eng_i128 b) noexcept nogil:
    return a if a > b else b


cdef inline eng_i128 iabs(eng_i128 v) noexcept nogil:
    return -v if v < 0 else v


cdef inline int sgn(eng_i128 v) noexcept nogil:
    return (v > 0) - (v < 0)
