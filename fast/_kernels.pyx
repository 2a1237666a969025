# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels over typed memoryviews, int64 with 128-bit intermediates.

Same units, roundings, results and errors as liqspec.reference; an overflow is an error, never a
wrap. Every quantity the reference passes through ``checked()`` (a position value, a per-position
requirement, an account total) is checked here at the same point, and every quantity the reference
leaves unchecked (a sum of position values before the total, a notional, a product of a rate and an
amount) is carried in 128 bits, which holds it exactly for any int64 inputs. The loops run without
the GIL; a kernel records the first failing row and raises after the loop.

Layout (struct of arrays, built by :mod:`liqspec.fast.pack`): ``quote[N]``, ``lots[N, M]``
(C-contiguous), ``marks[M]`` and a :class:`~liqspec.fast.pack.MarketTables` of per-market
parameters with tier tables padded to a common width.

Each public kernel checks its arguments with :mod:`liqspec.fast.domain` (dtype, int64 range,
shapes; the reference's typed errors, an int64 array passed through uncopied) and then runs its
body (``_name``) on typed memoryviews.
"""

from math import gcd

import numpy as np
cimport numpy as cnp

from cython.parallel cimport prange
cimport openmp
from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t, INT64_MAX
from libc.stdlib cimport malloc, free

from _rules cimport *  # the shared arithmetic, tiers and requirements (LIQ-ROUND, LIQ-TIER)

from liqspec.reference.errors import InvalidLeverage, MalformedState, Overflow, ResultCode

from .domain import flag_array, health_outputs, int64_array, int64_scalar  # LIQ-DOMAIN-1
from .pack import account_arrays, entry_arrays, market_column

cnp.import_array()

cdef enum:
    # result codes written into per-row code arrays (the values of liqspec.reference.ResultCode)
    CODE_OK = 0
    CODE_OVERFLOW = 9
    CODE_NO_POSITION = 29

assert ResultCode.OK == CODE_OK and ResultCode.OVERFLOW == CODE_OVERFLOW
assert ResultCode.NO_POSITION == CODE_NO_POSITION

# batches smaller than this run on one thread: starting a team costs more than it saves
cdef Py_ssize_t PARALLEL_ROWS = 1 << 18


cdef inline int _threads(Py_ssize_t rows) noexcept nogil:
    return 1 if rows < PARALLEL_ROWS else openmp.omp_get_max_threads()


# below this the 64-bit path of health computes a notional's requirement in unsigned 64 bits
cdef liq_i128 SMALL_NOTIONAL = (<liq_i128>1) << 43


# -- per-market parameters as raw pointers ---------------------------------------------------

include "table_view.pxi"


cdef _TableView _view(tables, Py_ssize_t n_markets_of_state):
    cdef _TableView view = _TableView(tables)
    if view.t.n_markets != n_markets_of_state:
        raise MalformedState(f"tables have {view.t.n_markets} markets, the state "
                             f"{n_markets_of_state}")
    return view


# -- gcd (the prices' lowest terms, LIQ-PRICE-3) -------------------------------------------------

cdef inline uint64_t gcd64(uint64_t a, uint64_t b) noexcept nogil:
    """Binary gcd of a, b < 2^63. The next trailing-zero count is taken from the signed
    difference itself (|d| has the same trailing zeros as d), so it overlaps the minimum and the
    absolute value instead of waiting for them: each step's chain is a subtraction, a count and
    a shift. The loop's only data-dependent branch is its exit."""
    cdef int shift, b_zeros
    cdef int64_t diff, sign
    if a == 0:
        return b
    if b == 0:
        return a
    shift = liq_ctz64(a | b)
    a >>= liq_ctz64(a)
    b_zeros = liq_ctz64(b)
    # a is odd from here on, and b once shifted; their difference is even and shares their gcd
    while True:
        b >>= b_zeros
        diff = <int64_t>b - <int64_t>a
        if diff == 0:
            break
        b_zeros = liq_ctz64(<uint64_t>diff)
        a = b if b < a else a
        sign = diff >> 63  # |diff| without a branch: a mispredicted one costs more than a step
        b = <uint64_t>((diff ^ sign) - sign)
    return a << shift


cdef inline liq_u128 gcd128(liq_u128 a, liq_u128 b) noexcept nogil:
    """gcd in 128 bits: Euclid's remainders until both are below 2^63 (gcd64's domain), then
    one remainder in 64 bits so that the binary gcd starts from two numbers no larger than the
    smaller operand (its steps grow with the operands' bit length)."""
    cdef liq_u128 t
    cdef uint64_t x, y
    while (a >> 63) != 0 or (b >> 63) != 0:
        if b == 0:
            return a
        t = a % b
        a = b
        b = t
    x = <uint64_t>a
    y = <uint64_t>b
    if x < y:
        x, y = y, x
    if y == 0:
        return x
    return gcd64(y, x % y)


# -- the maintenance basis (LIQ-TIER-6) ----------------------------------------------------------
#
# A row whose requirements are on entry values (the profile's basis is ``entry`` and the account
# is isolated) passes its cost bases ``entry[M]``; every other row passes NULL and is at the mark.

cdef inline bint position_maint(const Tables* t, Py_ssize_t k, int64_t lots, int64_t value,
                                const int64_t* entry, liq_i128* out) noexcept nogil:
    """LIQ-TIER-6 over LIQ-TIER-2: the requirement on |value| (the notional at the mark), or on
    the entry value |entry[k]| for a row at entry; the tier of |lots| in a market keyed by size
    (LIQ-TIER-8)."""
    out[0] = maintenance_margin(t, k, iabs(<liq_i128>entry[k]) if entry != NULL else iabs(value),
                                iabs(<liq_i128>lots))
    return liq_fits_i64(out[0])


cdef inline const int64_t* entry_row(const int64_t* cost, const uint8_t* at_entry, Py_ssize_t i,
                                     Py_ssize_t m) noexcept nogil:
    """Row i's cost bases when its requirements are on entry values, else NULL."""
    if cost == NULL or not at_entry[i]:
        return NULL
    return cost + i * m


cdef class _EntryBasis:
    """The pointers of a batch's (cost[N, M], at_entry[N]) arrays, NULL when none were given;
    it holds the arrays while a kernel reads them."""
    cdef object cost_array, flag_array
    cdef const int64_t* cost
    cdef const uint8_t* flags

    def __cinit__(self, cost, flags):
        cdef const int64_t[:, ::1] cost_view
        cdef const uint8_t[::1] flag_view
        self.cost = NULL
        self.flags = NULL
        self.cost_array, self.flag_array = cost, flags
        if flags is not None and flags.shape[0] > 0:
            cost_view = cost
            flag_view = flags
            self.cost = &cost_view[0, 0]
            self.flags = &flag_view[0]


# -- account totals --------------------------------------------------------------------------

cdef inline bint account_totals(const Tables* t, int64_t quote, const int64_t* lots,
                                const int64_t* units, const uint8_t* unit_ok, const int64_t* entry,
                                Py_ssize_t skip, liq_i128* equity, liq_i128* maint) noexcept nogil:
    """Equity (LIQ-MARGIN-2) and maintenance (LIQ-TIER-5) of one account, both unchecked totals,
    leaving out market ``skip`` (-1: none; the prices' fixed part, which does not move with that
    market); False where a position value or a per-position requirement leaves int64.
    ``units[k]`` is mark * value_per_lot_tick (see :func:`lot_units`)."""
    cdef Py_ssize_t k
    cdef int64_t value
    cdef liq_i128 eq = quote, mm = 0, mm_k
    for k in range(t.n_markets):
        if lots[k] == 0 or k == skip:
            continue
        if not unit_ok[k] or __builtin_mul_overflow(lots[k], units[k], &value):
            return False
        eq += value
        if not position_maint(t, k, lots[k], value, entry, &mm_k):
            return False
        mm += mm_k
    equity[0] = eq
    maint[0] = mm
    return True


# -- the 64-bit path of margin health ---------------------------------------------------------

# The block kernel is C, so that the compiler vectorizes it across rows (given what Cython cannot
# say: restrict pointers, the parameters as locals, the market and tier counts constants) and
# compiles it three times with GCC 12 or later on x86-64: for the baseline, for AVX2 (x86-64-v3:
# four 64-bit lanes, the multiplies composed of 32-bit ones) and for AVX-512 (x86-64-v4, whose
# int64 <-> double conversions and 64-bit multiplies let the whole step vectorize), the import
# picking the widest the CPU runs. All compute the same integers, the two vector builds' ceiling
# through a double rounding corrected exactly (a test runs every build this machine runs); with
# another compiler or architecture it is compiled once, for the baseline.
cdef extern from *:
    """
    /* the most tiers of a market the 64-bit path reads (LIQ-TIER-1); a position in a later
       tier takes the checked path */
    #define LIQ_TIERS64 8

    typedef struct {
        uint64_t unit;            /* mark * value_per_lot_tick (0 where that leaves int64) */
        uint64_t max_lots_first;  /* |lots| at most this: notional below the second tier's floor */
        uint64_t max_lots;        /* ... below the floor of the first tier it does not read */
        uint64_t floor[LIQ_TIERS64];  /* from tier 1, of the tiers read (> 0); else UINT64_MAX */
        uint64_t rate[LIQ_TIERS64];   /* maintenance rates, ppm */
        int64_t deduction[LIQ_TIERS64];
        int64_t minimum;
    } liq_tiers64;

    /* One market's position, as a constant-parameter step the compiler vectorizes across rows:
       |lots|, its notional and value in 64 bits (they wrap harmlessly where the row is outside);
       the tier as LIQ-TIER-1 finds it (the last of the first T tiers whose floor, and every
       earlier one's, is at most the notional: tier_slot's scan, without its branch); and the
       tier's requirement ceil(notional * rate / 10^6) - deduction, at least the minimum, 0 for
       a flat position (LIQ-TIER-2/5, LIQ-ROUND-2). With T = 1 the positions past the first tier
       are outside. In the vector builds (BUILD = LIQ_BUILD_WIDE or LIQ_BUILD_AVX2) the ceiling
       is taken through a double (x < 2^63, so its quotient is off by at most one) and corrected
       exactly with the integer remainder: 64-bit integer division has no vector instruction.
       AVX-512 converts int64 <-> double in one instruction; AVX2 has no such conversion, so
       x is split into halves below 2^32, each made a double by the 2^52 bias (a double's
       bits 0x433 << 52 | v are 2^52 + v), and the quotient, below 2^44, comes back the same
       way (adding 2^52 rounds it to the nearest integer, which is the floor or the one above:
       the remainder's sign tells). The baseline divides (a multiply by the constant's inverse,
       one scalar step). */
    #define LIQ_BUILD_BASELINE 0
    #define LIQ_BUILD_WIDE 1
    #define LIQ_BUILD_AVX2 2
    #define LIQ_BIAS_2_52 4503599627370496.0
    #define LIQ_BIAS_2_52_BITS 0x4330000000000000ull

    static inline __attribute__((always_inline)) double liq_biased_double(uint64_t v) {
        /* v < 2^52 as a double, exactly */
        uint64_t bits = v | LIQ_BIAS_2_52_BITS;
        double d;
        __builtin_memcpy(&d, &bits, 8);
        return d - LIQ_BIAS_2_52;
    }

    static inline __attribute__((always_inline)) void
    liq_tiers64_position(const liq_tiers64* p, int T, int BUILD, int64_t lots_k,
                         uint64_t* value_sum, uint64_t* requirement_sum, uint64_t* outside) {
        uint64_t sign = (uint64_t)(lots_k >> 63);      /* all ones for a short */
        uint64_t size = ((uint64_t)lots_k ^ sign) - sign;
        uint64_t held = (uint64_t)0 - (uint64_t)(size != 0);
        uint64_t inside = (uint64_t)0 - (uint64_t)(size <= (T == 1 ? p->max_lots_first
                                                                  : p->max_lots));
        uint64_t notional = size * p->unit;
        uint64_t rate = p->rate[0], reached = ~(uint64_t)0;
        int64_t deduction = p->deduction[0];
        for (int t = 1; t < T; t++) {
            reached &= (uint64_t)0 - (uint64_t)(notional >= p->floor[t]);
            rate = (rate & ~reached) | (p->rate[t] & reached);
            deduction = (int64_t)(((uint64_t)deduction & ~reached)
                                  | ((uint64_t)p->deduction[t] & reached));
        }
        uint64_t x = (notional * rate + 999999u) & inside;  /* < 2^63 inside */
        int64_t q;
        if (BUILD == LIQ_BUILD_BASELINE) {
            q = (int64_t)(x / 1000000u);
        } else {
            if (BUILD == LIQ_BUILD_WIDE) {
                q = (int64_t)((double)(int64_t)x * 1e-6);
            } else {
                double quotient = (liq_biased_double(x >> 32) * 4294967296.0
                                   + liq_biased_double(x & 0xffffffffu)) * 1e-6 + LIQ_BIAS_2_52;
                uint64_t bits;
                __builtin_memcpy(&bits, &quotient, 8);
                q = (int64_t)(bits & 0x000fffffffffffffull);
            }
            int64_t r = (int64_t)(x - (uint64_t)q * 1000000u);  /* in [-10^6, 2 x 10^6) */
            q += (r >= 1000000) - (r < 0);
        }
        int64_t requirement = (int64_t)((uint64_t)q - (uint64_t)deduction);
        requirement = requirement > p->minimum ? requirement : p->minimum;
        *value_sum += (notional ^ sign) - sign;  /* lots * unit, mod 2^64: one multiply fewer */
        *requirement_sum += (uint64_t)requirement & held;
        *outside |= ~inside;
    }

    /* A row's totals into the outputs: the equity leaving int64 sets outside (both addends'
       signs differ from the wrapped sum's); returns the row's outside bit. */
    static inline __attribute__((always_inline)) uint64_t
    liq_tiers64_totals(int64_t quote, uint64_t value_sum, uint64_t requirement_sum,
                       uint64_t out, int64_t* equity, int64_t* maint, uint8_t* flag,
                       uint8_t* outside) {
        uint64_t eq = (uint64_t)quote + value_sum;
        out = (out | ((((uint64_t)quote ^ eq) & (value_sum ^ eq)) >> 63)) & 1;
        int64_t e = (int64_t)eq, mm = (int64_t)requirement_sum;
        *equity = e;
        *maint = mm;
        *flag = (mm > 0) & (e < mm);
        *outside = (uint8_t)out;
        return out;
    }

    #define LIQ_CONSTANT_MARKETS 4

    /* Equity, maintenance and the liquidatable flag (LIQ-MARGIN-2, LIQ-TIER-5, LIQ-TRIGGER-1)
       of ``rows`` accounts of M markets whose every position is in one of its market's first
       T tiers; outside[i] is set for any other account and for an equity leaving int64, whose
       outputs are then not to be trusted. The bounds tiers64_parameters sets (notional
       < 2^43, rates in 0..10^6, |deduction| and minimum < 2^50, at most 1024 markets) keep
       every per-position quantity and the maintenance total inside int64, so only the equity
       total needs its overflow test. Returns nonzero if any row is outside. No two arrays
       overlap (health's outputs share no memory with each other or its inputs:
       liqspec.fast.domain.health_outputs). */
    static inline __attribute__((always_inline)) uint64_t
    liq_tiers64_row_loop(const liq_tiers64* p, Py_ssize_t M, int T, int BUILD, Py_ssize_t rows,
                         const int64_t* restrict quote, const int64_t* restrict lots,
                         int64_t* restrict equity, int64_t* restrict maint,
                         uint8_t* restrict flags, uint8_t* restrict outside) {
        uint64_t any = 0;
        for (Py_ssize_t i = 0; i < rows; i++) {
            uint64_t value_sum = 0, requirement_sum = 0, out = 0;
            for (Py_ssize_t k = 0; k < M; k++)
                liq_tiers64_position(p + k, T, BUILD, lots[i * M + k], &value_sum,
                                     &requirement_sum, &out);
            any |= liq_tiers64_totals(quote[i], value_sum, requirement_sum, out, equity + i,
                                      maint + i, flags + i, outside + i);
        }
        return any;
    }

    /* the loop with M a constant of at most LIQ_CONSTANT_MARKETS: the parameters copied into
       locals (a store to the outputs could otherwise alias them, and they would be read again
       in every row), a row's markets unroll and the rows vectorize */
    static inline __attribute__((always_inline)) uint64_t
    liq_tiers64_rows_m(const liq_tiers64* params, Py_ssize_t M, int T, int BUILD, Py_ssize_t rows,
                       const int64_t* quote, const int64_t* lots, int64_t* equity,
                       int64_t* maint, uint8_t* flags, uint8_t* outside) {
        liq_tiers64 p[LIQ_CONSTANT_MARKETS];
        for (Py_ssize_t k = 0; k < M; k++)
            p[k] = params[k];
        return liq_tiers64_row_loop(p, M, T, BUILD, rows, quote, lots, equity, maint, flags,
                                    outside);
    }

    /* the loop for any number of markets, reading the parameters as it goes: it does not
       vectorize (the markets of a row do not unroll), so every build calls it, with the
       division (LIQ_BUILD_BASELINE), one scalar step, and shares this one copy */
    static uint64_t
    liq_tiers64_rows_any(const liq_tiers64* params, Py_ssize_t m, int T, Py_ssize_t rows,
                         const int64_t* quote, const int64_t* lots, int64_t* equity,
                         int64_t* maint, uint8_t* flags, uint8_t* outside) {
        return liq_tiers64_row_loop(params, m, T, LIQ_BUILD_BASELINE, rows, quote, lots, equity,
                                    maint, flags, outside);
    }

    /* the kernel above with M and T constants for the common market counts and the two tier
       counts (1: the cheapest, for books in their first tiers; LIQ_TIERS64: any book), a
       variable M (and the baseline's division) otherwise */
    #define LIQ_TIERS64_CALL(M, T, BUILD) \
        liq_tiers64_rows_m(params, M, T, BUILD, rows, quote, lots, equity, maint, flags, outside)
    #define LIQ_TIERS64_ROWS_T(T, BUILD)                                                      \
        switch (m) {                                                                          \
        case 1: return LIQ_TIERS64_CALL(1, T, BUILD);                                         \
        case 2: return LIQ_TIERS64_CALL(2, T, BUILD);                                         \
        case 3: return LIQ_TIERS64_CALL(3, T, BUILD);                                         \
        case 4: return LIQ_TIERS64_CALL(4, T, BUILD);                                         \
        default: return liq_tiers64_rows_any(params, m, T, rows, quote, lots, equity, maint,  \
                                             flags, outside);                                 \
        }
    #define LIQ_TIERS64_ROWS_BODY(BUILD)                                                      \
        if (all_tiers) { LIQ_TIERS64_ROWS_T(LIQ_TIERS64, BUILD) }                             \
        else { LIQ_TIERS64_ROWS_T(1, BUILD) }
    #define LIQ_TIERS64_ROWS_ARGS                                                             \
        const liq_tiers64* params, Py_ssize_t m, int all_tiers, Py_ssize_t rows,              \
        const int64_t* quote, const int64_t* lots, int64_t* equity, int64_t* maint,          \
        uint8_t* flags, uint8_t* outside

    static int liq_tiers64_rows_baseline(LIQ_TIERS64_ROWS_ARGS) {
        LIQ_TIERS64_ROWS_BODY(LIQ_BUILD_BASELINE)
    }

    /* LIQ_TIERS64_WIDE: the vector builds exist (the AVX2 one and the AVX-512 one) */
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__)
    #define LIQ_TIERS64_WIDE 1
    __attribute__((target("arch=x86-64-v3"))) static int
    liq_tiers64_rows_avx2(LIQ_TIERS64_ROWS_ARGS) { LIQ_TIERS64_ROWS_BODY(LIQ_BUILD_AVX2) }
    __attribute__((target("arch=x86-64-v4"))) static int
    liq_tiers64_rows_wide(LIQ_TIERS64_ROWS_ARGS) { LIQ_TIERS64_ROWS_BODY(LIQ_BUILD_WIDE) }
    #endif

    /* 1 where the build exists and this CPU runs all of its level, x86-64-v3 or -v4 (the build
       may use any of the level's instructions, not only its vector ones) */
    static int liq_tiers64_build_available(int build) {
        if (build == LIQ_BUILD_BASELINE)
            return 1;
    #ifdef LIQ_TIERS64_WIDE
        __builtin_cpu_init();
        if (build == LIQ_BUILD_AVX2)
            return __builtin_cpu_supports("x86-64-v3");
        if (build == LIQ_BUILD_WIDE)
            return __builtin_cpu_supports("x86-64-v4");
    #endif
        return 0;
    }

    /* which build liq_tiers64_rows runs: the widest available, unless a test asks for another
       (liqspec.fast._kernels._tiers64_build) */
    static int liq_tiers64_build_in_use = LIQ_BUILD_BASELINE;

    static int liq_tiers64_rows(LIQ_TIERS64_ROWS_ARGS) {
    #ifdef LIQ_TIERS64_WIDE
        if (liq_tiers64_build_in_use == LIQ_BUILD_WIDE)
            return liq_tiers64_rows_wide(params, m, all_tiers, rows, quote, lots, equity, maint,
                                         flags, outside);
        if (liq_tiers64_build_in_use == LIQ_BUILD_AVX2)
            return liq_tiers64_rows_avx2(params, m, all_tiers, rows, quote, lots, equity, maint,
                                         flags, outside);
    #endif
        return liq_tiers64_rows_baseline(params, m, all_tiers, rows, quote, lots, equity, maint,
                                         flags, outside);
    }
    """
    enum: LIQ_TIERS64
    ctypedef struct liq_tiers64:
        uint64_t unit
        uint64_t max_lots_first
        uint64_t max_lots
        uint64_t floor[LIQ_TIERS64]
        uint64_t rate[LIQ_TIERS64]
        int64_t deduction[LIQ_TIERS64]
        int64_t minimum
    int liq_tiers64_rows(const liq_tiers64* params, Py_ssize_t m, int all_tiers,
                         Py_ssize_t rows, const int64_t* quote, const int64_t* lots,
                         int64_t* equity, int64_t* maint, uint8_t* flags, uint8_t* outside) nogil
    enum:
        LIQ_BUILD_BASELINE
        LIQ_BUILD_AVX2
        LIQ_BUILD_WIDE
    int liq_tiers64_build_available(int build)
    int liq_tiers64_build_in_use

#: the bounds of the 64-bit path (see liq_tiers64_row_loop): the largest |deduction| and minimum
#: requirement, and the most markets, whose sums cannot leave int64 with notionals below
#: SMALL_NOTIONAL
cdef int64_t TIERS64_PARAMETER_BOUND = (<int64_t>1) << 50
cdef Py_ssize_t TIERS64_MARKETS = 1024

#: the builds of the kernels' vector code (health's 64-bit path; the prices' gcd lanes, AVX-512
#: only), narrowest first
_TIERS64_BUILDS = {"baseline": LIQ_BUILD_BASELINE, "avx2": LIQ_BUILD_AVX2,
                   "wide": LIQ_BUILD_WIDE}

liq_tiers64_build_in_use = max(build for build in _TIERS64_BUILDS.values()
                               if liq_tiers64_build_available(build))


def _tiers64_builds():
    """The builds this machine and compiler have, narrowest first."""
    return tuple(name for name, build in _TIERS64_BUILDS.items()
                 if liq_tiers64_build_available(build))


def _tiers64_build(name=None):
    """The build of the kernels' vector code in use (health's 64-bit path, the prices' gcd
    lanes): "wide" (AVX-512), "avx2" or "baseline"; with a name, use that build from now on (a
    test runs every build the machine has). A build this machine or compiler has not is
    MalformedState, nothing changed."""
    global liq_tiers64_build_in_use
    if name is not None:
        if name not in _TIERS64_BUILDS:
            raise MalformedState(f"64-bit path build must be one of {list(_TIERS64_BUILDS)}, "
                                 f"got {name!r}")
        if not liq_tiers64_build_available(_TIERS64_BUILDS[name]):
            raise MalformedState(f"this machine or build has no {name} 64-bit path")
        liq_tiers64_build_in_use = _TIERS64_BUILDS[name]
    return next(key for key, value in _TIERS64_BUILDS.items()
                if value == liq_tiers64_build_in_use)


#: the tiers the 64-bit path reads in health: -1 as all_tiers_pay judges (the default), 0 the
#: first only, 1 every tier it can (a test runs each: only speed may depend on the choice)
cdef int forced_tiers = -1
_TIERS64_MODES = {"auto": -1, "first": 0, "all": 1}


def _tiers64_mode(name=None):
    """The tiers health's 64-bit path reads: "auto" (judged per batch), "first" or "all"; with a
    name, read those from now on. An unknown name is MalformedState, nothing changed."""
    global forced_tiers
    if name is not None:
        if name not in _TIERS64_MODES:
            raise MalformedState(f"64-bit path mode must be one of {sorted(_TIERS64_MODES)}, "
                                 f"got {name!r}")
        forced_tiers = _TIERS64_MODES[name]
    return next(key for key, value in _TIERS64_MODES.items() if value == forced_tiers)


cdef inline bint tier_in_bounds(const Tables* t, Py_ssize_t slot) noexcept nogil:
    """A tier the 64-bit path can read: its rate in 0..10^6 (so notional x rate stays below
    2^63) and its deduction within TIERS64_PARAMETER_BOUND."""
    return 0 <= t.maint_margin_ppm[slot] <= PPM \
        and -TIERS64_PARAMETER_BOUND < t.maint_deduction_quote[slot] < TIERS64_PARAMETER_BOUND


cdef void tiers64_parameters(const Tables* t, const int64_t* units, const uint8_t* unit_ok,
                             liq_tiers64* params) noexcept nogil:
    """Per market, the tiers the 64-bit path reads and the lots below which a position's
    notional lies under SMALL_NOTIONAL (so its requirement is computed in 64 bits without
    wrapping) and under the floor of the first tier it does not read (so LIQ-TIER-1 picks a
    tier it reads; max_lots_first: under the second tier's floor). It reads the first tiers up
    to LIQ_TIERS64, stopping before one whose floor is not positive or whose rate or deduction
    is out of bounds. A market with none, or of rate_scale > 1 (the path reads rates in ppm,
    LIQ-TIER-7), or keyed by size with more than one tier (LIQ-TIER-8), or out of the bounds on
    minimums and market counts, has max_lots 0: only its flat positions stay on the path, and
    they require nothing."""
    cdef Py_ssize_t k, base, s, n_read
    cdef uint64_t small = <uint64_t>SMALL_NOTIONAL, first_cut, cut, unit
    cdef bint in_bounds
    for k in range(t.n_markets):
        base = k * t.tier_width
        unit = <uint64_t>units[k] if unit_ok[k] and units[k] > 0 else 0
        # a market keyed by size (LIQ-TIER-8) is read only where it has one tier, which every
        # size is in: the path's tier search compares notionals with notional floors
        in_bounds = unit != 0 and t.rate_scale[k] == 1 and t.n_markets <= TIERS64_MARKETS \
            and 0 <= t.min_maint_margin_quote[k] < TIERS64_PARAMETER_BOUND \
            and tier_in_bounds(t, base) and (not t.tier_by_size[k] or t.n_tiers[k] == 1)
        # the tiers read: 0 .. n_read - 1; cut: the notional the path stays below
        n_read = 0
        cut = small
        if in_bounds:
            n_read = 1
            while n_read < t.n_tiers[k]:
                if t.tier_floor_quote[base + n_read] <= 0:
                    cut = 0  # reached by every notional: no position can stay on the path
                    break
                if n_read == LIQ_TIERS64 or not tier_in_bounds(t, base + n_read):
                    if <uint64_t>t.tier_floor_quote[base + n_read] < cut:
                        cut = <uint64_t>t.tier_floor_quote[base + n_read]
                    break
                n_read += 1
        first_cut = cut
        if t.n_tiers[k] > 1 and 0 < t.tier_floor_quote[base + 1] \
                and <uint64_t>t.tier_floor_quote[base + 1] < first_cut:
            first_cut = <uint64_t>t.tier_floor_quote[base + 1]
        params[k].unit = unit
        params[k].max_lots = (cut - 1) / unit if n_read > 0 and cut > 0 else 0
        params[k].max_lots_first = (first_cut - 1) / unit if n_read > 0 and first_cut > 0 else 0
        for s in range(LIQ_TIERS64):
            params[k].floor[s] = <uint64_t>t.tier_floor_quote[base + s] if s < n_read \
                else <uint64_t>0 - 1
            params[k].rate[s] = <uint64_t>t.maint_margin_ppm[base + s] if s < n_read else 0
            params[k].deduction[s] = t.maint_deduction_quote[base + s] if s < n_read else 0
        params[k].minimum = t.min_maint_margin_quote[k] if n_read > 0 else 0


#: rows per block of the 64-bit path: its per-row outside marks live on the stack, and a block's
#: outputs stay in the first-level cache for the checked path's pass over them
cdef enum:
    HEALTH_BLOCK = 512


cdef void lot_units(const Tables* t, const int64_t* marks, int64_t* units,
                    uint8_t* unit_ok) noexcept nogil:
    """mark * value_per_lot_tick per market. With m >= 1, lots * mark * m leaves int64 exactly
    when lots * (mark * m) does, or, where mark * m itself does not fit, for every lots != 0: so
    one checked multiply per position gives the reference's Overflow boundary."""
    cdef Py_ssize_t k
    for k in range(t.n_markets):
        unit_ok[k] = not __builtin_mul_overflow(marks[k], t.value_per_lot_tick[k], &units[k])


cdef object _overflow(Py_ssize_t row, str what):
    return Overflow(f"{what} of the account in row {row} is outside the signed 64-bit domain")


cdef _position_values_quote(const int64_t[:] lots, int64_t price_ticks, int64_t value_per_lot_tick):
    # the body of position_values_quote, on arguments checked there
    cdef Py_ssize_t n = lots.shape[0], i, bad = -1
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] values = out
    with nogil:
        for i in range(n):
            if not liq_value(lots[i], price_ticks, value_per_lot_tick, &values[i]):
                bad = i
                break
    if bad >= 0:
        raise Overflow(f"value in position {bad} is outside the signed 64-bit domain")
    return out


cdef inline bint account_equity(const Tables* t, int64_t quote, const int64_t* lots,
                               const int64_t* marks, liq_i128* equity) noexcept nogil:
    """LIQ-MARGIN-2: quote plus every position's value at the mark, an unchecked 128-bit total;
    False where a position value leaves int64 (the reference's checked() raises)."""
    cdef Py_ssize_t k
    cdef int64_t value
    cdef liq_i128 eq = quote
    for k in range(t.n_markets):
        if lots[k] == 0:
            continue
        if not liq_value(lots[k], marks[k], t.value_per_lot_tick[k], &value):
            return False
        eq += value
    equity[0] = eq
    return True


cdef _equity_quotes(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                    const int64_t[::1] marks, tables):
    # the body of equity_quotes, on arguments checked there
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef const Tables* t = &view.t
    cdef Py_ssize_t n = lots.shape[0], i, bad = -1
    cdef liq_i128 eq
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] res = out
    _check_rows(quote.shape[0], n)
    if n == 0:
        return out
    with nogil:
        for i in range(n):
            if not account_equity(t, quote[i], &lots[i, 0], &marks[0], &eq) \
                    or not liq_fits_i64(eq):
                bad = i
                break
            res[i] = <int64_t>eq
    if bad >= 0:
        raise _overflow(bad, "equity")
    return out


cdef Py_ssize_t requirement_sums(const Tables* t, const int64_t[:, ::1] lots,
                                 const int64_t[::1] marks, const int64_t* open_interest,
                                 const int64_t* cost, const uint8_t* at_entry,
                                 int64_t[::1] res, const int64_t* leverage=NULL) noexcept nogil:
    """LIQ-TIER-5 per account: the sum of every position's requirement, maintenance
    (LIQ-TIER-2) when ``open_interest`` is NULL, else initial with the open-interest scaling
    (LIQ-TIER-3/4) and, where ``leverage[i, k]`` > 0, at the chosen leverage (LIQ-LEVERAGE-2).
    Returns the first row that overflows, or -1."""
    cdef Py_ssize_t i, k
    cdef int64_t value
    cdef liq_i128 total, part, chosen
    cdef bint ok
    cdef const int64_t* entry
    for i in range(lots.shape[0]):
        total = 0
        entry = entry_row(cost, at_entry, i, t.n_markets) if open_interest == NULL else NULL
        for k in range(t.n_markets):
            if lots[i, k] == 0:
                continue
            if entry != NULL:  # at entry no value at the mark is computed, as in the reference
                value = 0
            elif not liq_value(lots[i, k], marks[k], t.value_per_lot_tick[k], &value):
                return i
            if open_interest == NULL:
                ok = position_maint(t, k, lots[i, k], value, entry, &part)
            else:
                part = initial_margin(t, k, iabs(value), iabs(<liq_i128>lots[i, k]),
                                      open_interest[k])
                ok = liq_fits_i64(part)
                if ok and leverage != NULL and leverage[i * t.n_markets + k] > 0:
                    # LIQ-LEVERAGE-2: max(ceil(notional / leverage), the venue's own)
                    chosen = ceil_div(iabs(value), leverage[i * t.n_markets + k])
                    if chosen > part:
                        part = chosen
            if not ok:
                return i
            total += part
        if not liq_fits_i64(total):
            return i
        res[i] = <int64_t>total
    return -1


cdef _maintenance_margin_quotes(const int64_t[:, ::1] lots, const int64_t[::1] marks, tables,
                                _EntryBasis basis):
    # the body of maintenance_margin_quotes, on arguments checked there
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef Py_ssize_t bad = -1
    out = np.empty(lots.shape[0], dtype=np.int64)
    cdef int64_t[::1] res = out
    if lots.shape[0] == 0:
        return out
    with nogil:
        bad = requirement_sums(&view.t, lots, marks, NULL, basis.cost, basis.flags, res)
    if bad >= 0:
        raise _overflow(bad, "maintenance margin")
    return out


cdef _initial_margin_quotes(const int64_t[:, ::1] lots, const int64_t[::1] marks, tables,
                            const int64_t[::1] open_interest_quote, leverage=None):
    # the body of initial_margin_quotes, on arguments checked there
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef Py_ssize_t bad = -1
    cdef const int64_t[:, ::1] chosen
    cdef const int64_t* chosen_at = NULL
    if leverage is not None and lots.shape[0] * lots.shape[1]:
        chosen = leverage
        chosen_at = &chosen[0, 0]
    out = np.empty(lots.shape[0], dtype=np.int64)
    cdef int64_t[::1] res = out
    if open_interest_quote.shape[0] != view.t.n_markets:
        raise MalformedState("open_interest_quote needs one entry per market")
    if lots.shape[0] == 0 or view.t.n_markets == 0:  # no market: every requirement is 0
        out[:] = 0
        return out
    with nogil:
        bad = requirement_sums(&view.t, lots, marks, &open_interest_quote[0], NULL, NULL, res,
                               chosen_at)
    if bad >= 0:
        raise _overflow(bad, "initial margin")
    return out


cdef _free_collateral_quotes(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                             const int64_t[::1] marks, tables,
                             const int64_t[::1] open_interest_quote, leverage,
                             _EntryBasis basis):
    # the body of free_collateral_quotes, on arguments checked there: equity, the initial
    # requirement and, under the at_or_below trigger only (as the reference), maintenance, each
    # raising as its own kernel does; then LIQ-TRIGGER-3's checked requirement
    # (checked_initial_requirement) subtracted in 128 bits and checked like the reference's
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef int64_t slack = view.t.trigger_slack
    cdef Py_ssize_t n = lots.shape[0], i, bad = -1
    cdef liq_i128 free
    cdef const int64_t[::1] eq = _equity_quotes(quote, lots, marks, tables)
    cdef const int64_t[::1] im = _initial_margin_quotes(lots, marks, tables,
                                                        open_interest_quote, leverage)
    mm_array = _maintenance_margin_quotes(lots, marks, tables, basis) if slack \
        else np.zeros(n, dtype=np.int64)
    cdef const int64_t[::1] mm = mm_array
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] res = out
    with nogil:
        for i in range(n):
            free = <liq_i128>eq[i] - checked_initial_requirement(im[i], mm[i], slack)
            if not liq_fits_i64(free):
                bad = i
                break
            res[i] = <int64_t>free
    if bad >= 0:
        raise _overflow(bad, "free collateral")
    return out


cdef _open_interest_quotes(const int64_t[:, ::1] lots, const int64_t[::1] marks, tables,
                           wanted=None):
    # the body of open_interest_quotes, on arguments checked there
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef const Tables* t = &view.t
    cdef Py_ssize_t n = lots.shape[0], i, k, bad = -1
    cdef liq_i128 longs, value
    want = np.ones(t.n_markets, dtype=np.uint8) if wanted is None else \
        np.ascontiguousarray(wanted, dtype=np.uint8)
    if want.shape[0] != t.n_markets:
        raise MalformedState("wanted needs one entry per market")
    cdef const uint8_t[::1] take = want
    out = np.zeros(t.n_markets, dtype=np.int64)
    cdef int64_t[::1] res = out
    with nogil:
        for k in range(t.n_markets):
            if not take[k]:
                continue
            longs = 0
            for i in range(n):
                if lots[i, k] > 0:
                    longs += lots[i, k]
            # longs >= 0 and price, m >= 1: the 128-bit product cannot wrap before the check
            if not liq_fits_i64(longs) or not liq_fits_i64(longs * marks[k]) \
                    or not liq_mul128(longs * marks[k], t.value_per_lot_tick[k], &value) \
                    or not liq_fits_i64(value):
                bad = k
                break
            res[k] = <int64_t>value
    if bad >= 0:
        raise Overflow(f"open interest of the market in column {bad} is outside the signed "
                       f"64-bit domain")
    return out


cdef int health_block(const Tables* t, const liq_tiers64* params, int all_tiers,
                      Py_ssize_t start, Py_ssize_t n, const int64_t* quote, const int64_t* lots,
                      const int64_t* units, const uint8_t* unit_ok, const int64_t* cost,
                      const uint8_t* at_entry, int64_t* equity, int64_t* maint,
                      uint8_t* flags) noexcept nogil:
    """Health of rows start .. start + HEALTH_BLOCK (or n): the 64-bit path for the block (its
    first tiers only, or every tier it reads: ``all_tiers``), then, only where it is needed,
    the checked path for the accounts it left and for every row at entry (LIQ-TIER-6: the
    64-bit path reads requirements at the mark only); 1 if any account's totals leave int64
    (its outputs are then 0: the caller raises)."""
    cdef Py_ssize_t rows = min(HEALTH_BLOCK, n - start), i, m = t.n_markets
    cdef uint8_t outside[HEALTH_BLOCK]
    cdef liq_i128 eq, mm
    cdef const int64_t* entry
    cdef int bad = 0
    cdef bint any_outside = liq_tiers64_rows(params, m, all_tiers, rows, quote + start,
                                             lots + start * m, equity + start, maint + start,
                                             flags + start, outside)
    if t.trigger_slack:  # the path's flag is LIQ-TRIGGER-1's: at_or_below adds equality
        for i in range(rows):
            if maint[start + i] > 0 and equity[start + i] == maint[start + i]:
                flags[start + i] = 1
    if not any_outside and cost == NULL:
        return 0
    for i in range(rows):
        entry = entry_row(cost, at_entry, start + i, m)
        if not outside[i] and entry == NULL:
            continue
        if not account_totals(t, quote[start + i], lots + (start + i) * m, units, unit_ok,
                              entry, -1, &eq, &mm) or not liq_fits_i64(eq) \
                or not liq_fits_i64(mm):
            bad = 1
            eq = 0
            mm = 0
        equity[start + i] = <int64_t>eq
        maint[start + i] = <int64_t>mm
        flags[start + i] = liq_triggered(eq, mm, t.trigger_slack)
    return bad


cdef int all_tiers_pay(const liq_tiers64* params, Py_ssize_t m, Py_ssize_t n,
                       const int64_t* quote, const int64_t* lots, int64_t* equity,
                       int64_t* maint, uint8_t* flags) noexcept nogil:
    """Whether the 64-bit path should read every tier it can for this batch, judged on its
    first block: 1 where more than one row in 16 there leaves the first-tier-only path (the
    checked path costs many times the extra tiers' comparisons). Only speed depends on it: both
    answer as the checked path does. Writes the first block's outputs (health overwrites them)."""
    cdef Py_ssize_t rows = min(HEALTH_BLOCK, n), i, left = 0
    cdef uint8_t outside[HEALTH_BLOCK]
    if not liq_tiers64_rows(params, m, 0, rows, quote, lots, equity, maint, flags, outside):
        return 0
    for i in range(rows):
        left += outside[i]
    return left * 16 > rows


cdef _health(const int64_t[::1] quote, const int64_t[:, ::1] lots, const int64_t[::1] marks,
             tables, _EntryBasis basis, out):
    # the body of health, on arguments checked there (``out``: three arrays checked there, or
    # None for new ones)
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef const Tables* t = &view.t
    cdef Py_ssize_t n = lots.shape[0], i, m = lots.shape[1]
    cdef int any_bad = 0
    cdef liq_i128 eq, mm
    cdef Py_ssize_t block, blocks = (n + HEALTH_BLOCK - 1) // HEALTH_BLOCK
    cdef int all_tiers
    if out is None:
        equity = np.empty(n, dtype=np.int64)
        maint = np.empty(n, dtype=np.int64)
        flags = np.empty(n, dtype=np.bool_)
    else:
        equity, maint, flags = out
    unit_array = np.empty(m, dtype=np.int64)
    ok_array = np.empty(m, dtype=np.uint8)
    param_array = np.empty(m * sizeof(liq_tiers64), dtype=np.uint8)
    cdef int64_t[::1] eq_out = equity, mm_out = maint, units = unit_array
    cdef uint8_t[::1] flag_out = flags.view(np.uint8), unit_ok = ok_array
    cdef uint8_t[::1] param_bytes = param_array
    cdef const liq_tiers64* params = <const liq_tiers64*>&param_bytes[0] if m else NULL
    _check_rows(quote.shape[0], n)
    if n == 0:
        return equity, maint, flags
    with nogil:
        lot_units(t, &marks[0], &units[0], &unit_ok[0])
        tiers64_parameters(t, &units[0], &unit_ok[0], <liq_tiers64*>params)
        all_tiers = forced_tiers if forced_tiers >= 0 else \
            all_tiers_pay(params, m, n, &quote[0], &lots[0, 0], &eq_out[0], &mm_out[0],
                          &flag_out[0])
        for block in prange(blocks, schedule="static", num_threads=_threads(n)):
            any_bad |= health_block(t, params, all_tiers, block * HEALTH_BLOCK, n, &quote[0],
                                    &lots[0, 0], &units[0], &unit_ok[0], basis.cost, basis.flags,
                                    &eq_out[0], &mm_out[0], &flag_out[0])
    if any_bad:
        for i in range(n):
            if not account_totals(t, quote[i], &lots[i, 0], &units[0], &unit_ok[0],
                                  entry_row(basis.cost, basis.flags, i, m), -1, &eq, &mm) \
                    or not liq_fits_i64(eq) or not liq_fits_i64(mm):
                raise _overflow(i, "equity or maintenance margin")
    return equity, maint, flags


cdef _liquidatable_flags(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                         const int64_t[::1] marks, tables, _EntryBasis basis):
    # the body of liquidatable_flags, on arguments checked there
    return _threshold_flags(quote, lots, marks, tables, 1, 1, True, basis)


cdef _below_backstop_flags(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                           const int64_t[::1] marks, tables, _EntryBasis basis):
    # the body of below_backstop_flags, on arguments checked there
    if tables.backstop_den == 0:
        _check_rows(quote.shape[0], lots.shape[0])
        return np.zeros(lots.shape[0], dtype=np.bool_)
    return _threshold_flags(quote, lots, marks, tables, tables.backstop_num, tables.backstop_den,
                            False, basis)


cdef _threshold_flags(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                      const int64_t[::1] marks, tables, int64_t num, int64_t den,
                      bint trigger, _EntryBasis basis):
    """(equity - s) * den < num * MM with MM > 0 per row: the liquidation trigger (num = den = 1,
    ``trigger``: s is the trigger's slack, LIQ-TRIGGER-1/3) or the backstop threshold (s = 0,
    LIQ-TRIGGER-2)."""
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef const Tables* t = &view.t
    cdef int64_t slack = t.trigger_slack if trigger else 0
    cdef Py_ssize_t n = lots.shape[0], i, k, bad = -1
    cdef int64_t value
    cdef liq_i128 eq, mm, mm_k
    flags = np.zeros(n, dtype=np.bool_)
    cdef uint8_t[::1] out = flags.view(np.uint8)
    _check_rows(quote.shape[0], n)
    if n == 0:
        return flags
    cdef const int64_t* entry
    with nogil:
        for i in range(n):
            eq = quote[i]
            mm = 0
            entry = entry_row(basis.cost, basis.flags, i, t.n_markets)
            for k in range(t.n_markets):
                if lots[i, k] == 0:
                    continue
                if entry == NULL:  # at the mark: the value serves the requirement and equity
                    if not liq_value(lots[i, k], marks[k], t.value_per_lot_tick[k], &value):
                        bad = i
                        break
                    eq += value
                else:
                    value = 0  # at entry: equity only once the requirement is positive
                if not position_maint(t, k, lots[i, k], value, entry, &mm_k):
                    bad = i
                    break
                mm += mm_k
            if bad >= 0 or not liq_fits_i64(mm):
                bad = i
                break
            if mm > 0:
                if entry != NULL and not account_equity(t, quote[i], &lots[i, 0], &marks[0],
                                                        &eq):
                    bad = i
                    break
                if not liq_fits_i64(eq):
                    bad = i
                    break
                # |eq|, |mm| < 2^63 and 0 < num <= den < 2^63: both products fit 128 bits
                out[i] = (eq - slack) * den < mm * num
    if bad >= 0:
        raise _overflow(bad, "equity or maintenance margin")
    return flags


cdef _funding_owed_quotes(const int64_t[:] lots, int64_t mark_ticks, int64_t value_per_lot_tick,
                          int64_t rate_ppm):
    # the body of funding_owed_quotes, on arguments checked there
    cdef Py_ssize_t n = lots.shape[0], i, bad = -1
    cdef int64_t value
    cdef liq_i128 owed
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] res = out
    with nogil:
        for i in range(n):
            if not liq_value(lots[i], mark_ticks, value_per_lot_tick, &value):
                bad = i
                break
            owed = ceil_div(<liq_i128>value * rate_ppm, PPM)
            if not liq_fits_i64(owed):
                bad = i
                break
            res[i] = <int64_t>owed
    if bad >= 0:
        raise Overflow(f"funding of the position in row {bad} is outside the signed 64-bit domain")
    return out


# -- bankruptcy and liquidation prices (LIQ-PRICE-1/2/3) ---------------------------------------

cdef inline liq_i128 quotient(liq_i128 x, liq_i128 g) noexcept nogil:
    """x / g for 0 <= x and 0 < g, in 64 bits when x fits (a 128-bit division is a library call)."""
    if x <= INT64_MAX:
        return <int64_t>x / <int64_t>g
    return x / g


ctypedef struct PriceTerms:
    # a price a * factor / (b * size_value) ticks before reduction: a > 0, b >= 1,
    # size_value >= 1, factor >= 1 (with b, a tier line's 10^6 / (W -+ r) in lowest terms,
    # line_terms; 1 otherwise), and side (+1 long, -1 short, for the rounding); a = 0 is the
    # price 0 (no positive threshold)
    liq_i128 a
    liq_i128 factor
    liq_i128 b
    liq_i128 size_value
    int side


cdef inline int price_terms(liq_i128 a, liq_i128 factor, liq_i128 b, liq_i128 size_value,
                            int side, PriceTerms* out) noexcept nogil:
    out.a = a
    out.factor = factor
    out.b = b
    out.size_value = size_value
    out.side = side
    return CODE_OK


cdef inline int price_zero(PriceTerms* out) noexcept nogil:
    out.a = 0
    return CODE_OK


cdef inline int store_reduced(liq_i128 a, liq_i128 b, liq_i128 size_value, int side,
                              int64_t* ticks, int64_t* num, int64_t* den) noexcept nogil:
    """The price a / (b * size_value) with gcd(a, b) = gcd(a, size_value) = 1, so in lowest
    terms, and its ticks rounded toward the venue (LIQ-PRICE-3); OVERFLOW when the ticks or the
    numerator or denominator leave int64."""
    cdef liq_i128 d
    if not liq_mul128(b, size_value, &d) or not liq_fits_i64(d) or not liq_fits_i64(a):
        return CODE_OVERFLOW
    # 0 < a and 0 < d both fit in int64 here, so the rounding divides in 64 bits; a long's
    # ticks round up, without a branch on the side (random across a book: a mispredicted branch
    # costs more than the arithmetic)
    ticks[0] = <int64_t>a / <int64_t>d + ((side > 0) & (<int64_t>a % <int64_t>d != 0))
    num[0] = <int64_t>a
    den[0] = <int64_t>d
    return CODE_OK


cdef inline int store_price(const PriceTerms* p, int64_t* ticks, int64_t* num,
                            int64_t* den) noexcept nogil:
    """The price p.a * p.factor / (p.b * p.size_value), reduced one gcd at a time in 128 bits,
    then stored (store_reduced): the path of a price whose numerator a * factor or denominator
    b * size_value reaches 2^63 (the others take price_block's lanes). A price over b = 1 skips
    its first gcd, which is 1."""
    cdef liq_i128 g, a = p.a * p.factor, b = p.b, size_value = p.size_value
    if a == 0:
        ticks[0] = 0
        num[0] = 0
        den[0] = 1
        return CODE_OK
    if b != 1:
        g = <liq_i128>gcd128(<liq_u128>a, <liq_u128>b)
        if g != 1:  # a gcd of 1 needs no division
            a = quotient(a, g)
            b = quotient(b, g)
    g = <liq_i128>gcd128(<liq_u128>a, <liq_u128>size_value)
    if g != 1:
        a = quotient(a, g)
        size_value = quotient(size_value, g)
    return store_reduced(a, b, size_value, p.side, ticks, num, den)


# -- the gcds of a block of prices, lane by lane -------------------------------------------------
#
# A binary gcd is a chain of dependent steps (a subtraction, a count, a shift), so one gcd at a
# time leaves the core mostly waiting. The prices of a block hand their reductions over
# together, as LIQ_PRICE_LANES pairs below 2^63: the AVX-512 build steps every lane at once (a
# finished lane keeps its result) until the last is done, and divides by multiplying; the
# baseline runs gcd128 and two divisions on each. Both give the same quotients (a test runs
# both).
cdef extern from *:
    """
    #define LIQ_PRICE_LANES 64

    #ifdef LIQ_TIERS64_WIDE
    /* x & -x's single bit's index, for x != 0; written so that the compiler vectorizes it
       (a leading-zero count, AVX-512 CD) */
    static inline __attribute__((always_inline)) uint64_t liq_lane_ctz(uint64_t x) {
        return 63 - (uint64_t)__builtin_clzll(x & (0 - x));
    }

    /* p[j] and q[j] (0 < p[j], q[j] < 2^63) divided by their gcd g, in every lane: the binary
       gcd starts, as gcd128 does, from the smaller, x, and the larger's remainder by it, y (x
       again for a remainder of 0) */
    __attribute__((target("arch=x86-64-v4"))) static void
    liq_gcd_lanes_wide(const uint64_t* restrict p, const uint64_t* restrict q,
                       uint64_t* restrict p_by_g, uint64_t* restrict q_by_g) {
        uint64_t a[LIQ_PRICE_LANES], b[LIQ_PRICE_LANES], shift[LIQ_PRICE_LANES];
        uint64_t x[LIQ_PRICE_LANES], y[LIQ_PRICE_LANES], wide = 0;
        /* the remainder through a double's quotient where the larger is below 2^53 (exact
           operands, a correctly rounded quotient: off by at most one, which the integer
           remainder corrects): a vector division where an integer one has none */
        for (int j = 0; j < LIQ_PRICE_LANES; j++) {
            uint64_t smaller = p[j] < q[j] ? p[j] : q[j], larger = p[j] < q[j] ? q[j] : p[j];
            /* below 2^53 the same number; above, one whose quotient stays in range (its lane's
               remainder is taken again below) */
            int64_t low = (int64_t)(larger & (((uint64_t)1 << 53) - 1));
            int64_t quotient = (int64_t)((double)low / (double)(int64_t)smaller);
            int64_t remainder = low - quotient * (int64_t)smaller;
            remainder += remainder < 0 ? (int64_t)smaller : 0;
            remainder -= remainder >= (int64_t)smaller ? (int64_t)smaller : 0;
            x[j] = smaller;
            y[j] = remainder != 0 ? (uint64_t)remainder : smaller;
            wide |= larger >> 53;
        }
        if (wide) {  /* a larger at 2^53 or more: its remainder exactly, in 64 bits */
            for (int j = 0; j < LIQ_PRICE_LANES; j++) {
                uint64_t larger = p[j] < q[j] ? q[j] : p[j];
                if (larger >> 53) {
                    uint64_t remainder = larger % x[j];
                    y[j] = remainder != 0 ? remainder : x[j];
                }
            }
        }
        for (int j = 0; j < LIQ_PRICE_LANES; j++) {
            shift[j] = liq_lane_ctz(x[j] | y[j]);
            a[j] = x[j] >> liq_lane_ctz(x[j]);
            b[j] = y[j] >> liq_lane_ctz(y[j]);
        }
        /* both odd: their difference is even and shares their gcd; a lane whose difference is
           0 is done, and stays so (b = a) */
        for (;;) {
            uint64_t running = 0;
            for (int j = 0; j < LIQ_PRICE_LANES; j++) {
                int64_t d = (int64_t)b[j] - (int64_t)a[j];
                int64_t sign = d >> 63;
                uint64_t size = (uint64_t)((d ^ sign) - sign);
                uint64_t smaller = b[j] < a[j] ? b[j] : a[j];
                uint64_t nonzero = size ? size : 1;
                a[j] = smaller;
                b[j] = size ? nonzero >> liq_lane_ctz(nonzero) : smaller;
                running |= size;
            }
            if (!running)
                break;
        }
        /* the quotients are exact, so each is a product by the inverse of the gcd's odd part
           modulo 2^64 (Newton's iteration doubles its correct low bits from the 3 of odd * odd
           = 1 mod 8): a vector multiply where a division has no vector instruction */
        for (int j = 0; j < LIQ_PRICE_LANES; j++) {
            uint64_t odd = a[j], inverse = a[j];
            for (int step = 0; step < 5; step++)
                inverse *= 2 - odd * inverse;
            p_by_g[j] = (p[j] >> shift[j]) * inverse;
            q_by_g[j] = (q[j] >> shift[j]) * inverse;
        }
    }
    #endif

    /* 1 with p_by_g and q_by_g filled where the AVX-512 lanes exist (the caller asks only where
       the CPU runs them), 0 otherwise */
    static int liq_gcd_lanes(const uint64_t* p, const uint64_t* q, uint64_t* p_by_g,
                             uint64_t* q_by_g) {
    #ifdef LIQ_TIERS64_WIDE
        liq_gcd_lanes_wide(p, q, p_by_g, q_by_g);
        return 1;
    #else
        (void)p; (void)q; (void)p_by_g; (void)q_by_g;
        return 0;
    #endif
    }
    """
    enum: LIQ_PRICE_LANES
    int liq_gcd_lanes(const uint64_t* p, const uint64_t* q, uint64_t* p_by_g,
                      uint64_t* q_by_g) nogil

cdef liq_i128 BELOW_2_63 = (<liq_i128>1) << 63


cdef inline void reduce_lanes(const uint64_t* p, const uint64_t* q, uint64_t* p_by_g,
                              uint64_t* q_by_g) noexcept nogil:
    """p[j] and q[j] (0 < p[j], q[j] < 2^63) divided by their gcd, in every lane of
    LIQ_PRICE_LANES: in the wide build's lanes where it is in use (_tiers64_build), one gcd128
    at a time otherwise."""
    cdef Py_ssize_t j
    cdef uint64_t g
    if liq_tiers64_build_in_use == LIQ_BUILD_WIDE and liq_gcd_lanes(p, q, p_by_g, q_by_g):
        return
    for j in range(LIQ_PRICE_LANES):
        g = <uint64_t>gcd128(p[j], q[j])
        p_by_g[j] = p[j] // g if g != 1 else p[j]
        q_by_g[j] = q[j] // g if g != 1 else q[j]


cdef void price_block(bint liquidation, const Tables* t, Py_ssize_t start, Py_ssize_t n,
                      const int64_t* quote, const int64_t* lots, const int64_t* units,
                      const uint8_t* unit_ok, const int64_t* cost, const uint8_t* at_entry,
                      Py_ssize_t market, const int64_t* lines, int64_t* ticks, int64_t* num,
                      int64_t* den, int8_t* codes) noexcept nogil:
    """The prices of rows start .. start + LIQ_PRICE_LANES (or n): each row's terms
    (liquidation_one, or bankruptcy_one), then the reduction of LIQ-PRICE-3, a * factor against
    b * size_value, over the block's lanes at once, then the stores. A row whose numerator or
    denominator reaches 2^63 takes store_price alone. Every output of every row is written: a
    row whose code is not OK (the price's own OVERFLOW included) has 0, 0, 1."""
    cdef Py_ssize_t rows = min(<Py_ssize_t>LIQ_PRICE_LANES, n - start), j, i
    cdef PriceTerms terms
    cdef bint lane[LIQ_PRICE_LANES]
    cdef int side[LIQ_PRICE_LANES]
    cdef uint64_t p[LIQ_PRICE_LANES]
    cdef uint64_t q[LIQ_PRICE_LANES]
    cdef uint64_t p_by_g[LIQ_PRICE_LANES]
    cdef uint64_t q_by_g[LIQ_PRICE_LANES]
    cdef liq_i128 numerator, denominator
    cdef int code
    for j in range(LIQ_PRICE_LANES):  # a lane without a price reduces 1 against 1
        lane[j] = False
        p[j] = 1
        q[j] = 1
    for j in range(rows):
        i = start + j
        ticks[i] = 0
        num[i] = 0
        den[i] = 1
        if liquidation:  # (two direct calls: the branch goes the same way for every row)
            code = liquidation_one(t, quote[i], lots + i * t.n_markets, units, unit_ok,
                                   entry_row(cost, at_entry, i, t.n_markets), market, lines,
                                   &terms)
        else:
            code = bankruptcy_one(t, quote[i], lots + i * t.n_markets, units, unit_ok,
                                  entry_row(cost, at_entry, i, t.n_markets), market, &terms)
        if code == CODE_OK and terms.a != 0:
            # the terms' products stay in int128 (|a|, factor, b, size_value come from int64
            # quantities, 10^6 and 10^6 * rate_scale): the lanes take them below 2^63
            numerator = terms.a * terms.factor
            if liq_mul128(terms.b, terms.size_value, &denominator) \
                    and numerator < BELOW_2_63 and denominator < BELOW_2_63:
                lane[j] = True
                side[j] = terms.side
                p[j] = <uint64_t>numerator
                q[j] = <uint64_t>denominator
            else:
                code = store_price(&terms, &ticks[i], &num[i], &den[i])
        codes[i] = <int8_t>code
    reduce_lanes(p, q, p_by_g, q_by_g)
    for j in range(rows):
        if lane[j]:
            i = start + j
            codes[i] = <int8_t>store_reduced(p_by_g[j], 1, q_by_g[j], side[j], &ticks[i],
                                             &num[i], &den[i])


cdef inline int bankruptcy_one(const Tables* t, int64_t quote, const int64_t* lots,
                               const int64_t* units, const uint8_t* unit_ok, const int64_t* entry,
                               Py_ssize_t market, PriceTerms* out) noexcept nogil:
    """LIQ-PRICE-1: max(-C / (s * m), 0), as terms for price_block."""
    cdef int64_t position = lots[market]
    cdef liq_i128 constant, other_mm, a
    cdef int side = 1 if position > 0 else -1
    if position == 0:
        return CODE_NO_POSITION
    # C and M_o: what in equity and maintenance does not move with ``market``
    if not account_totals(t, quote, lots, units, unit_ok, entry, market, &constant,
                          &other_mm):
        return CODE_OVERFLOW
    a = -constant if side > 0 else constant  # -C / (s*m) with the sign of s moved to the top
    if a <= 0:
        return price_zero(out)
    return price_terms(a, 1, 1, iabs(<liq_i128>position) * t.value_per_lot_tick[market], side,
                       out)


cdef inline int liquidation_one(const Tables* t, int64_t quote, const int64_t* lots,
                                const int64_t* units, const uint8_t* unit_ok, const int64_t* entry,
                                Py_ssize_t market, const int64_t* lines,
                                PriceTerms* out) noexcept nogil:
    """LIQ-PRICE-2, solved in notional space, as terms for price_block.

    With K = C - M_o, side sigma and notional N = |s| * P * m, the gap (equity minus requirement)
    is g(N) = K + sigma*N - max(min, F(N)), where F, the tiered requirement before rounding, is
    continuous, convex and increasing (validate_market guarantees it), hence the maximum of its
    tiers' lines. So g = min(h1, h2) with h1 = K + sigma*N - min and h2 = K + sigma*N - F(N), both
    strictly monotone: for a long the root of g is the larger of their roots, for a short the
    smaller. h2's root lies on the tier found by evaluating h2 at the tier floors (integers times
    10^6); the reference's candidate for that tier is the same rational. In a market keyed by
    size (LIQ-TIER-8) F is the one line of the size's tier at every price. A root at N <= 0 means
    no positive price crosses the threshold: the reference reports 0 then.

    At entry (LIQ-TIER-6) the position's requirement MM_e is a fixed integer and the root is
    linear: N = sigma * (MM_e - K), 0 when that is not positive.

    A root on a tier line, x * 10^6 / (W -+ r), is given as x times that line's factor in
    lowest terms (``lines``, line_terms).
    """
    cdef int64_t position = lots[market]
    cdef liq_i128 constant, other_mm, K, Kp, a, n1, a2, b2, h, x
    cdef Py_ssize_t line = -1  # the slot in ``lines`` of the line the root is on, if one is
    # int64 (scale <= 10^6), so that each product with an int128 is a 64-by-128-bit multiply
    cdef int64_t scale = t.rate_scale[market]
    cdef int64_t whole = PPM * scale  # 100% (LIQ-TIER-7)
    cdef Py_ssize_t base = market * t.tier_width, i, chosen = 0, n_tiers = t.n_tiers[market]
    cdef int64_t minimum = t.min_maint_margin_quote[market]
    cdef int side = 1 if position > 0 else -1
    # LIQ-TIER-8: in a market keyed by size the tier is the size's at every price: no search
    cdef bint by_size = t.tier_by_size[market]
    if position == 0:
        return CODE_NO_POSITION
    if by_size:
        chosen = tier_slot(t, market, 0, iabs(<liq_i128>position)) - base
    # (C, M_o) of prices.py: what in equity and maintenance does not move with ``market``
    if not account_totals(t, quote, lots, units, unit_ok, entry, market, &constant, &other_mm):
        return CODE_OVERFLOW
    K = constant - t.trigger_slack - other_mm  # the trigger's equity (LIQ-TRIGGER-3)
    if entry != NULL:
        h = maintenance_margin(t, market, iabs(<liq_i128>entry[market]),
                               iabs(<liq_i128>position))
        if not liq_fits_i64(h):
            return CODE_OVERFLOW
        a = h - K if side > 0 else K - h
        if a <= 0:
            return price_zero(out)
        return price_terms(a, 1, 1, iabs(<liq_i128>position) * t.value_per_lot_tick[market],
                           side, out)
    # the tiers' lines are (N*r - d*10^6) / W with W = 10^6 * rate_scale (LIQ-TIER-7): every
    # equation below is multiplied by W, so each stays in integers
    Kp = K * PPM if scale == 1 else K * whole  # the constant where it can be (scale 1)
    if side > 0:
        n1 = <liq_i128>minimum - K  # root of h1: K + N - min = 0
        if K >= 0:  # h2(0) = K >= 0: h2's root is at N <= 0, so the root is h1's or none
            a = n1
        else:
            for i in range(1, 0 if by_size else n_tiers):  # last tier whose floor has h2 < 0
                h = Kp + <liq_i128>t.tier_floor_quote[base + i] \
                    * (whole - t.maint_margin_ppm[base + i]) \
                    + <liq_i128>t.maint_deduction_quote[base + i] * PPM
                if h < 0:
                    chosen = i
                else:
                    break
            # K + N - (N*r - d*10^6) / W = 0  ->  N = -(K*scale + d) * 10^6 / (W - r)
            x = -((K if scale == 1 else K * scale) + t.maint_deduction_quote[base + chosen])
            a2 = x * PPM
            b2 = whole - t.maint_margin_ppm[base + chosen]
            if n1 * b2 >= a2:  # the larger root
                a = n1
            else:
                a = a2
                line = 4 * chosen
    else:
        if K <= 0:  # h2(0) = K <= 0: h2's root is at N <= 0, and so is the smaller root
            return price_zero(out)
        for i in range(1, 0 if by_size else n_tiers):  # last tier whose floor has h2 > 0
            h = Kp - <liq_i128>t.tier_floor_quote[base + i] \
                * (whole + t.maint_margin_ppm[base + i]) \
                + <liq_i128>t.maint_deduction_quote[base + i] * PPM
            if h > 0:
                chosen = i
            else:
                break
        # K - N - (N*r - d*10^6) / W = 0  ->  N = (K*scale + d) * 10^6 / (W + r)
        x = (K if scale == 1 else K * scale) + t.maint_deduction_quote[base + chosen]
        a2 = x * PPM
        b2 = whole + t.maint_margin_ppm[base + chosen]
        n1 = K - minimum  # root of h1: K - N - min = 0
        if n1 * b2 <= a2:  # the smaller root
            a = n1
        else:
            a = a2
            line = 4 * chosen + 2
    if a <= 0:
        return price_zero(out)
    if line >= 0:  # a = x * 10^6 over b = W -+ r, as x * factor over b / gcd(10^6, b)
        return price_terms(x, lines[line], lines[line + 1],
                           iabs(<liq_i128>position) * t.value_per_lot_tick[market], side, out)
    # the root on the minimum requirement, n1 over 1
    return price_terms(a, 1, 1, iabs(<liq_i128>position) * t.value_per_lot_tick[market], side,
                       out)


cdef line_terms(const Tables* t, Py_ssize_t market):
    """Each tier line's constant factor in liquidation_one's roots, 10^6 / (W - r) for a long
    and 10^6 / (W + r) for a short (W = 10^6 * rate_scale, r the tier's rate), in lowest terms:
    for tier i, slots 4i, 4i + 1 (long) and 4i + 2, 4i + 3 (short) hold numerator and
    denominator. Computed once per call, they keep a root's numerator and denominator small
    (x * 10^6 over (W -+ r) * size shares the factor gcd(10^6, W -+ r) in every row), so
    that more rows stay below 2^63, in price_block's lanes, and their gcds take fewer steps."""
    cdef Py_ssize_t i, n_tiers = t.n_tiers[market], base = market * t.tier_width
    cdef int64_t whole = PPM * t.rate_scale[market]
    out = np.ones(4 * max(n_tiers, 1), dtype=np.int64)
    for i in range(n_tiers):
        for slot, line in ((4 * i, whole - t.maint_margin_ppm[base + i]),
                           (4 * i + 2, whole + t.maint_margin_ppm[base + i])):
            common = gcd(PPM, line)
            out[slot] = PPM // common
            out[slot + 1] = line // common
    return out


cdef _prices(bint liquidation, const int64_t[::1] quote, const int64_t[:, ::1] lots,
             const int64_t[::1] marks, tables, Py_ssize_t market, _EntryBasis basis):
    cdef _TableView view = _view(tables, lots.shape[1])
    cdef const Tables* t = &view.t
    cdef Py_ssize_t n = lots.shape[0], block
    cdef Py_ssize_t blocks = (n + LIQ_PRICE_LANES - 1) // LIQ_PRICE_LANES
    _check_rows(quote.shape[0], n)
    if not 0 <= market < t.n_markets:
        raise MalformedState(f"market column {market} out of range")
    # every row's outputs are written by its block (price_block), so none is filled here
    ticks = np.empty(n, dtype=np.int64)
    num = np.empty(n, dtype=np.int64)
    den = np.empty(n, dtype=np.int64)
    codes = np.empty(n, dtype=np.int8)
    cdef int64_t[::1] t_out = ticks, n_out = num, d_out = den
    cdef int8_t[::1] c_out = codes
    if n == 0:
        return ticks, num, den, codes
    units_array = np.zeros(t.n_markets, dtype=np.int64)
    unit_ok_array = np.zeros(t.n_markets, dtype=np.uint8)
    cdef int64_t[::1] units = units_array
    cdef uint8_t[::1] unit_ok = unit_ok_array
    # the tier lines' factors serve liquidation_one only (NULL for bankruptcy prices)
    cdef const int64_t[::1] line_array
    cdef const int64_t* lines = NULL
    if liquidation:
        line_array = line_terms(t, market)
        lines = &line_array[0]
    with nogil:
        lot_units(t, &marks[0], &units[0], &unit_ok[0])
        for block in prange(blocks, schedule="guided", num_threads=_threads(n)):
            price_block(liquidation, t, block * LIQ_PRICE_LANES, n, &quote[0], &lots[0, 0],
                        &units[0], &unit_ok[0], basis.cost, basis.flags, market, lines,
                        &t_out[0], &n_out[0], &d_out[0], &c_out[0])
    return ticks, num, den, codes


cdef _bankruptcy_prices(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                        const int64_t[::1] marks, tables, Py_ssize_t market, _EntryBasis basis):
    # the body of bankruptcy_prices, on arguments checked there
    return _prices(False, quote, lots, marks, tables, market, basis)


cdef _liquidation_prices(const int64_t[::1] quote, const int64_t[:, ::1] lots,
                         const int64_t[::1] marks, tables, Py_ssize_t market, _EntryBasis basis):
    # the body of liquidation_prices, on arguments checked there
    return _prices(True, quote, lots, marks, tables, market, basis)


cdef _check_rows(Py_ssize_t quote_rows, Py_ssize_t lot_rows):
    if quote_rows != lot_rows:
        raise MalformedState(f"quote has {quote_rows} rows, lots {lot_rows}")


# -- the public entry points: arguments checked once (liqspec.fast.domain), then the bodies -------

def position_values_quote(lots, price_ticks, value_per_lot_tick):
    """LIQ-MARGIN-1 over a batch: lots * price * value_per_lot_tick for each position.

    Raises Overflow (LIQ-DOMAIN-1) naming the first position whose value leaves int64.
    """
    return _position_values_quote(int64_array(lots, "lots", (None,), contiguous=False),
                                  int64_scalar(price_ticks, "price_ticks"),
                                  int64_scalar(value_per_lot_tick, "value_per_lot_tick"))


def equity_quotes(quote, lots, marks, tables):
    """LIQ-MARGIN-2: quote + sum(lots * mark * value_per_lot_tick) per account; Overflow where
    the reference's equity_quote raises (a position value or the total leaves int64)."""
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    return _equity_quotes(quote, lots, marks, tables)


def maintenance_margin_quotes(lots, marks, tables, cost=None, at_entry=None):
    """LIQ-TIER-5: the sum of every position's tiered maintenance requirement per account, each
    on its basis (LIQ-TIER-6): ``cost[N, M]``, each row's cost bases, and ``at_entry[N]``,
    whether its requirements are on them (an isolated account of a profile whose basis is
    ``entry``; ``StateArrays.basis()`` of ``liqspec.fast.pack`` gives both). Required for such
    a profile's tables; the other maintenance kernels take them too."""
    _, lots, marks = account_arrays(None, lots, marks, tables)
    return _maintenance_margin_quotes(lots, marks, tables, _basis(cost, at_entry, lots, tables))


def initial_margin_quotes(lots, marks, tables, open_interest_quote, leverage=None):
    """LIQ-TIER-5 over LIQ-TIER-3/4: the sum of every position's initial requirement, with the
    open-interest scaling of markets that have it (``open_interest_quote[M]``, LIQ-TIER-4) and,
    given ``leverage[N, M]`` (0 where none is chosen, else 1..10^6), at each account's chosen
    leverage (LIQ-LEVERAGE-2)."""
    _, lots, marks = account_arrays(None, lots, marks, tables)
    open_interest_quote = int64_array(open_interest_quote, "open_interest_quote",
                                      (marks.shape[0],))
    return _initial_margin_quotes(lots, marks, tables, open_interest_quote,
                                  _leverage_array(leverage, lots))


def _leverage_array(leverage, lots):
    """A chosen-leverage argument (LIQ-LEVERAGE-2): None, or int64[N, M] of 0 (none chosen) or
    1..10^6."""
    if leverage is None:
        return None
    leverage = int64_array(leverage, "leverage", lots.shape)
    if ((leverage < 0) | (leverage > 1_000_000)).any():
        raise InvalidLeverage("leverage must be 0 (none chosen) or in 1..1000000")
    return leverage


def free_collateral_quotes(quote, lots, marks, tables, open_interest_quote, leverage=None,
                           cost=None, at_entry=None):
    """LIQ-MARGIN-5: free collateral per account, equity less what the margin checks ask for:
    the initial requirement (``open_interest_quote[M]`` and ``leverage[N, M]`` as
    :func:`initial_margin_quotes` takes them) and, under the at_or_below trigger, at least one
    quantum above maintenance (LIQ-TRIGGER-3; ``cost`` and ``at_entry``, the maintenance basis,
    as :func:`maintenance_margin_quotes` takes it). Overflow where the reference's
    free_collateral_quote raises."""
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    open_interest_quote = int64_array(open_interest_quote, "open_interest_quote",
                                      (marks.shape[0],))
    return _free_collateral_quotes(quote, lots, marks, tables, open_interest_quote,
                                   _leverage_array(leverage, lots),
                                   _basis(cost, at_entry, lots, tables))


def open_interest_quotes(lots, marks, tables, wanted=None):
    """Open interest per market (LIQ-TIER-4): the value of the sum of long lots at the mark; the
    sum is exact in 128 bits, the value is checked like the reference's. ``wanted`` (bool[M])
    limits the work, and the errors, to some markets (the others report 0)."""
    _, lots, marks = account_arrays(None, lots, marks, tables)
    if wanted is not None:
        wanted = flag_array(wanted, "wanted", marks.shape[0])
    return _open_interest_quotes(lots, marks, tables, wanted)


def health(quote, lots, marks, tables, cost=None, at_entry=None, out=None):
    """Margin health in one pass: (equity[N], maintenance[N], liquidatable[N]).

    Liquidatable is LIQ-TRIGGER-1 (MM > 0 and equity < MM). Raises Overflow where either the
    reference's equity_quote or its account_maintenance_margin_quote raises for some account.
    Rows are split across OpenMP threads; an overflow anywhere is found again serially to name
    the first failing row. An account whose positions all sit in their market's first eight
    tiers, below 2^43 quote units of notional, is computed in 64 bits without branches (within
    bounds on the tier parameters); any other account, and every row at entry, by the checked
    128-bit path: the same integers either way. ``cost`` and ``at_entry``: the maintenance basis, as
    :func:`maintenance_margin_quotes` takes it (LIQ-TIER-6).

    ``out``: optionally three arrays to write into (int64[N], int64[N], bool[N], C-contiguous,
    not overlapping the inputs), as numpy's ``out=``: a caller evaluating many marks over one
    book reuses them instead of paying for fresh pages each call. They are returned. After an
    Overflow their contents are unspecified.
    """
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    basis = _basis(cost, at_entry, lots, tables)
    if out is not None:
        out = health_outputs(out, lots.shape[0], (quote, lots, marks))
    return _health(quote, lots, marks, tables, basis, out)


def liquidatable_flags(quote, lots, marks, tables, cost=None, at_entry=None):
    """LIQ-TRIGGER-1 per account with the reference's is_liquidatable errors: the maintenance
    total is checked first, and equity only where the requirement is positive."""
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    return _liquidatable_flags(quote, lots, marks, tables, _basis(cost, at_entry, lots, tables))


def below_backstop_flags(quote, lots, marks, tables, cost=None, at_entry=None):
    """LIQ-TRIGGER-2: equity * den < num * MM with MM > 0; all False for a profile without a
    backstop (nothing is computed then, as in the reference)."""
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    return _below_backstop_flags(quote, lots, marks, tables, _basis(cost, at_entry, lots, tables))


def funding_owed_quotes(lots, mark_ticks, value_per_lot_tick, rate_ppm):
    """LIQ-FUNDING-1: ceil(value * rate / 10^6) per position (owing rounds up, being owed rounds
    toward zero), where value = lots * mark * value_per_lot_tick is checked like the reference's.

    The amount is checked as the reference checks it (LIQ-DOMAIN-1); it can leave int64 in one
    case only (a value of -2^63 at a rate of -100%), which raises Overflow on both. The rate is
    the model's: for an inverse market, the venue's rate negated (LIQ-INVERSE-2).
    """
    return _funding_owed_quotes(int64_array(lots, "lots", (None,), contiguous=False),
                                int64_scalar(mark_ticks, "mark_ticks"),
                                int64_scalar(value_per_lot_tick, "value_per_lot_tick"),
                                int64_scalar(rate_ppm, "rate_ppm"))


def bankruptcy_prices(quote, lots, marks, tables, market, cost=None, at_entry=None):
    """LIQ-PRICE-1 for every account's position in market column ``market``, the other markets at
    their marks: (ticks[N], numerator[N], denominator[N], code[N]).

    ``code`` is ResultCode.OK, NO_POSITION (no position in the market; the reference raises this
    Rejection) or OVERFLOW (the reference raises Overflow computing the other positions, or the
    price, in ticks or as a reduced fraction, does not fit int64). The exact price is
    numerator / denominator ticks (0 / 1 when no positive price is a threshold); a row whose
    code is not OK has 0 ticks and 0 / 1.
    """
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    return _bankruptcy_prices(quote, lots, marks, tables, market_column(market, tables),
                              _basis(cost, at_entry, lots, tables))


def liquidation_prices(quote, lots, marks, tables, market, cost=None, at_entry=None):
    """LIQ-PRICE-2 (with tier switching; linear at entry, LIQ-TIER-6) for every account's
    position in market column ``market``; outputs and codes as :func:`bankruptcy_prices`."""
    quote, lots, marks = account_arrays(quote, lots, marks, tables)
    return _liquidation_prices(quote, lots, marks, tables, market_column(market, tables),
                               _basis(cost, at_entry, lots, tables))


cdef _EntryBasis _basis(cost, at_entry, lots, tables):
    cost, at_entry = entry_arrays(cost, at_entry, lots, tables)
    return _EntryBasis(cost, at_entry)
