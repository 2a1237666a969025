# cython: language_level=3, cdivision=True
# The compiled arithmetic of the rules both extensions need, written once: cimported by
# liqspec.fast._engine and liqspec.fast._kernels (``cdef inline``: no call crosses a module).
#
# * 128-bit intermediates with checked overflow (LIQ-DOMAIN-1): a value the reference leaves
#   unbounded is carried in signed 128 bits, and ``liq_fits_i64`` is the reference's ``checked()``.
# * The named roundings (LIQ-ROUND-1/2): ``floor_div``, ``ceil_div``, ``ceil_ppm``.
# * The tier of a notional (LIQ-TIER-1) and the requirements (LIQ-TIER-2/3/4): each returns the
#   exact value in 128 bits; the caller checks int64 where the reference calls ``checked()``.

from libc.stdint cimport int64_t, uint64_t, uint8_t, INT64_MAX

cdef extern from *:
    """
    typedef __int128 liq_i128;
    typedef unsigned __int128 liq_u128;
    static inline int liq_fits_i64(liq_i128 v) {
        return v >= (liq_i128)INT64_MIN && v <= (liq_i128)INT64_MAX;
    }
    /* a * b (a + b) in 128 bits into *out; 0 when that overflows too */
    static inline int liq_mul128(liq_i128 a, liq_i128 b, liq_i128 *out) {
        return !__builtin_mul_overflow(a, b, out);
    }
    static inline int liq_add128(liq_i128 a, liq_i128 b, liq_i128 *out) {
        return !__builtin_add_overflow(a, b, out);
    }
    static inline int liq_umul128(liq_u128 a, liq_u128 b, liq_u128 *out) {
        return !__builtin_mul_overflow(a, b, out);
    }
    /* lots * price * m in int64, or 0 when it leaves int64 (m >= 1, so an overflow of the
       first product is an overflow of the whole). */
    static inline int liq_value(int64_t lots, int64_t price, int64_t m, int64_t *out) {
        int64_t p;
        if (__builtin_mul_overflow(lots, price, &p)) return 0;
        if (__builtin_mul_overflow(p, m, out)) return 0;
        return 1;
    }
    /* a + b into *out; 1 when the sum left int64 (*out is then the wrapped sum) */
    static inline int liq_add_overflow(int64_t a, int64_t b, int64_t *out) {
        return __builtin_add_overflow(a, b, out);
    }
    static inline int liq_ctz64(uint64_t v) { return __builtin_ctzll(v); }
    /* a * b as 256 bits (hi, lo) */
    static inline void liq_mul256(liq_u128 a, liq_u128 b, liq_u128 *hi, liq_u128 *lo) {
        uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
        uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
        liq_u128 p00 = (liq_u128)a0 * b0, p01 = (liq_u128)a0 * b1;
        liq_u128 p10 = (liq_u128)a1 * b0, p11 = (liq_u128)a1 * b1;
        liq_u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
        *lo = (mid << 64) | (uint64_t)p00;
        *hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    }
    /* sign of n1/d1 - n2/d2 for unsigned fractions with positive denominators, exactly */
    static inline int liq_cmp_ufrac(liq_u128 n1, liq_u128 d1, liq_u128 n2, liq_u128 d2) {
        liq_u128 h1, l1, h2, l2;
        liq_mul256(n1, d2, &h1, &l1);
        liq_mul256(n2, d1, &h2, &l2);
        if (h1 != h2) return h1 < h2 ? -1 : 1;
        if (l1 != l2) return l1 < l2 ? -1 : 1;
        return 0;
    }
    static inline int64_t liq_hi64(liq_i128 v) { return (int64_t)(v >> 64); }
    static inline uint64_t liq_lo64(liq_i128 v) { return (uint64_t)v; }
    """
    # Cython sees the 128-bit types as 64-bit: never convert one to a Python int directly
    ctypedef long long liq_i128
    ctypedef unsigned long long liq_u128
    int liq_fits_i64(liq_i128 v) nogil
    int liq_mul128(liq_i128 a, liq_i128 b, liq_i128 *out) nogil
    int liq_add128(liq_i128 a, liq_i128 b, liq_i128 *out) nogil
    int liq_umul128(liq_u128 a, liq_u128 b, liq_u128 *out) nogil
    int liq_value(int64_t lots, int64_t price, int64_t m, int64_t *out) nogil
    int liq_add_overflow(int64_t a, int64_t b, int64_t *out) nogil
    int liq_ctz64(uint64_t v) nogil
    int liq_cmp_ufrac(liq_u128 n1, liq_u128 d1, liq_u128 n2, liq_u128 d2) nogil
    int64_t liq_hi64(liq_i128 v) nogil
    uint64_t liq_lo64(liq_i128 v) nogil
    bint __builtin_mul_overflow(int64_t a, int64_t b, int64_t* out) nogil

cdef enum:
    PPM = 1000000

# the notionals whose product with a rate in 0..PPM, plus PPM - 1, still fits int64
cdef extern from *:
    """
    #define LIQ_SMALL_NOTIONAL ((int64_t)9223372036853LL)
    """
    const int64_t LIQ_SMALL_NOTIONAL


cdef struct Tables:
    # a MarketTables' arrays (liqspec.fast.pack) as raw pointers, field for field; tier slot s
    # of market k is k * tier_width + s
    Py_ssize_t n_markets
    Py_ssize_t tier_width   # tier slots per market (the widest market's tier count)
    const int64_t* value_per_lot_tick
    const int64_t* n_tiers
    const int64_t* tier_floor_quote
    const int64_t* maint_margin_ppm
    const int64_t* maint_deduction_quote
    const int64_t* init_margin_ppm
    const int64_t* init_deduction_quote
    const int64_t* min_maint_margin_quote
    const int64_t* rate_scale  # per market: rates in 1 / (10^6 x this), deductions / this
    const int64_t* oi_lower_cap_quote
    const int64_t* oi_upper_cap_quote
    const uint8_t* has_oi_scaling
    const int64_t* tier_floor_lots  # LIQ-TIER-8: the floors in lots of a market keyed by size
    const uint8_t* tier_by_size     # per market: its tiers are keyed by |lots| (LIQ-TIER-8)
    int64_t trigger_slack           # LIQ-TRIGGER-3: liquidatable iff MM > 0, equity - this < MM


# -- exact integer helpers (LIQ-ROUND-1/2) -------------------------------------------------------

cdef inline liq_i128 floor_div(liq_i128 a, liq_i128 b) noexcept nogil:
    """floor(a / b) for b > 0 (LIQ-ROUND-2): C truncates toward zero, so step down for a < 0."""
    cdef liq_i128 q = a / b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline liq_i128 ceil_div(liq_i128 a, liq_i128 b) noexcept nogil:
    """ceil(a / b) for b > 0 (LIQ-ROUND-1)."""
    return -floor_div(-a, b)


cdef inline liq_i128 ceil_ppm(liq_i128 x) noexcept nogil:
    """ceil(x / 10^6) (LIQ-ROUND-1), in 64 bits when 0 <= x <= INT64_MAX - 10^6 (the common
    case: an amount times a rate)."""
    cdef int64_t small
    if 0 <= x <= <liq_i128>(INT64_MAX - PPM):
        small = <int64_t>x
        return (small + (PPM - 1)) / PPM
    return ceil_div(x, PPM)


cdef inline liq_i128 iabs(liq_i128 v) noexcept nogil:
    return -v if v < 0 else v


# -- tiers and requirements (LIQ-TIER-1/2/3/4) ---------------------------------------------------

cdef inline Py_ssize_t tier_slot(const Tables* t, Py_ssize_t k, liq_i128 notional,
                                 liq_i128 size) noexcept nogil:
    """LIQ-TIER-1: the slot of the last tier of market k whose floor is at most the notional
    (floors increase); in a market keyed by size, whose floor in lots is at most the position's
    size ``|lots|`` (LIQ-TIER-8)."""
    cdef Py_ssize_t base = k * t.tier_width, i, chosen = 0
    cdef int64_t small
    cdef const int64_t* floors = t.tier_floor_lots if t.tier_by_size[k] else t.tier_floor_quote
    cdef liq_i128 key = size if t.tier_by_size[k] else notional
    if liq_fits_i64(key):  # the same comparisons in 64 bits (the common case)
        small = <int64_t>key
        for i in range(1, t.n_tiers[k]):
            if floors[base + i] <= small:
                chosen = i
            else:
                break
        return base + chosen
    for i in range(1, t.n_tiers[k]):
        if <liq_i128>floors[base + i] <= key:
            chosen = i
        else:
            break
    return base + chosen


cdef inline liq_i128 tier_requirement(liq_i128 notional, liq_i128 rate_ppm,
                                      int64_t deduction_quote, int64_t rate_scale) noexcept nogil:
    """One tier's line: ceil((notional * rate - deduction * 10^6) / (10^6 * rate_scale))
    (LIQ-TIER-2/3/7), which is ceil(notional * rate / 10^6) - deduction at rate_scale 1; in 64
    bits there where the product cannot leave them (the common case)."""
    cdef int64_t product
    if rate_scale != 1:
        return ceil_div(notional * rate_ppm - <liq_i128>deduction_quote * PPM,
                        <liq_i128>PPM * rate_scale)
    if 0 <= notional <= LIQ_SMALL_NOTIONAL and 0 <= rate_ppm <= PPM:
        product = <int64_t>notional * <int64_t>rate_ppm
        return <liq_i128>((product + (PPM - 1)) / PPM) - deduction_quote
    return ceil_ppm(notional * rate_ppm) - deduction_quote


cdef inline liq_i128 maintenance_margin(const Tables* t, Py_ssize_t k, liq_i128 notional,
                                        liq_i128 size) noexcept nogil:
    """LIQ-TIER-2: max(ceil(notional * rate) - deduction, minimum) at the position's tier (of
    the notional, or of its ``size`` = |lots| in a market keyed by size, LIQ-TIER-8), 0 when
    flat; exact (the caller checks int64 where the reference calls checked())."""
    if notional == 0:
        return 0
    return maintenance_at_slot(t, k, tier_slot(t, k, notional, size), notional)


cdef inline liq_i128 maintenance_at_slot(const Tables* t, Py_ssize_t k, Py_ssize_t slot,
                                         liq_i128 notional) noexcept nogil:
    """LIQ-TIER-2 at a given tier's slot of market k: max(ceil(notional * rate) - deduction,
    minimum) (maintenance_margin at the position's own slot; LIQ-EXEC-3 asks for the first
    tier's, k * tier_width)."""
    cdef liq_i128 required = tier_requirement(notional, t.maint_margin_ppm[slot],
                                              t.maint_deduction_quote[slot], t.rate_scale[k])
    if required < t.min_maint_margin_quote[k]:
        required = t.min_maint_margin_quote[k]
    return required


cdef inline liq_i128 maintenance_margin_bound(const Tables* t, Py_ssize_t k,
                                              liq_i128 notional) noexcept nogil:
    """At least maintenance_margin(n) for every 0 < n <= notional, in any market: the largest
    tier line at ``notional`` (each line is nondecreasing in the notional once a negative rate is
    read as 0) and the minimum."""
    cdef Py_ssize_t base = k * t.tier_width, s
    cdef liq_i128 best = t.min_maint_margin_quote[k], line
    for s in range(t.n_tiers[k]):
        line = tier_requirement(notional, max(t.maint_margin_ppm[base + s], 0),
                                t.maint_deduction_quote[base + s], t.rate_scale[k])
        if line > best:
            best = line
    return best


cdef inline liq_i128 initial_margin(const Tables* t, Py_ssize_t k, liq_i128 notional,
                                    liq_i128 size, int64_t open_interest_quote) noexcept nogil:
    """LIQ-TIER-3/4: max(ceil(notional * rate) - deduction, maintenance), the rate raised with
    the open interest where the market scales it (LIQ-TIER-4); 0 when flat; exact. A maintenance
    outside int64 is above INT64_MAX (it is at least the int64 minimum), so is this: checking
    the result checks both, as the reference checks each."""
    cdef Py_ssize_t slot
    cdef liq_i128 rate, tiered, maintenance, span
    cdef liq_i128 whole = <liq_i128>PPM * t.rate_scale[k]  # 100% (LIQ-TIER-7)
    if notional == 0:
        return 0
    slot = tier_slot(t, k, notional, size)
    rate = t.init_margin_ppm[slot]
    if t.has_oi_scaling[k]:
        if open_interest_quote <= t.oi_lower_cap_quote[k]:
            pass
        elif open_interest_quote >= t.oi_upper_cap_quote[k]:
            rate = whole
        else:
            span = <liq_i128>t.oi_upper_cap_quote[k] - t.oi_lower_cap_quote[k]
            rate = rate + floor_div((whole - rate)
                                    * (<liq_i128>open_interest_quote - t.oi_lower_cap_quote[k]),
                                    span)
    tiered = tier_requirement(notional, rate, t.init_deduction_quote[slot], t.rate_scale[k])
    maintenance = maintenance_margin(t, k, notional, size)
    return tiered if tiered > maintenance else maintenance


cdef inline bint liq_triggered(liq_i128 equity, liq_i128 maintenance,
                               int64_t trigger_slack) noexcept nogil:
    """LIQ-TRIGGER-1/3 (reference: liquidation.is_liquidatable): a positive maintenance
    requirement above the trigger's equity, ``equity - trigger_slack`` (one quantum less under
    the at_or_below trigger, so that equality liquidates). The engine's trigger, its candidate
    index and scan, and the kernels' checked path all compare here."""
    return maintenance > 0 and equity - trigger_slack < maintenance


cdef inline liq_i128 checked_initial_requirement(liq_i128 initial, int64_t maintenance,
                                                 int64_t trigger_slack) noexcept nogil:
    """LIQ-TRIGGER-3 (reference: margin.checked_initial_quote): the equity the margin checks
    (LIQ-TRADE-2, LIQ-MARGIN-5) ask for, from the account's initial and maintenance totals: the
    initial requirement and, under the at_or_below trigger (``trigger_slack`` 1), at least one
    quantum above a positive maintenance requirement (in 128 bits: maintenance + 1 may pass
    2^63 - 1). The engine's trade and withdrawal checks and the kernels' free collateral both
    take it from here."""
    if trigger_slack and maintenance > 0 and <liq_i128>maintenance + 1 > initial:
        return <liq_i128>maintenance + 1
    return initial
