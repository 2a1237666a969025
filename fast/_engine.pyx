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
"""

import numpy as np
cimport numpy as cnp

from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t, int32_t, INT64_MAX, INT64_MIN
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy

from liqspec.reference.errors import ResultCode

cnp.import_array()

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

cdef enum:
    PPM = 1000000
    # result codes (the values of liqspec.reference.ResultCode; asserted below)
    C_OK = 0
    C_UNKNOWN_ACCOUNT = 2
    C_INVALID_AMOUNT = 5
    C_INVALID_PRICE = 6
    C_INVALID_SIZE = 7
    C_OVERFLOW = 9
    C_SAME_ACCOUNT = 20
    C_ISOLATED_MARKET_MISMATCH = 22
    C_WITHDRAWALS_GATED = 23
    C_INSUFFICIENT_FREE_COLLATERAL = 25
    C_INSUFFICIENT_INITIAL_MARGIN = 26
    C_REDUCE_ONLY_WORSENS_HEALTH = 27
    C_NOT_LIQUIDATABLE = 28
    C_NO_POSITION = 29
    C_SIZE_EXCEEDS_POLICY = 30
    C_POLICY_FORBIDS = 31
    C_NOT_BANKRUPT = 32
    C_FUND_CAN_COVER = 33
    C_INSUFFICIENT_ADL_LIQUIDITY = 34
    C_NOTHING_TO_SOCIALIZE = 37
    C_NO_SOCIALIZATION_BASE = 38
    C_NO_BOOK_LIQUIDITY = 39
    # a ZeroDivisionError in the reference (a division by a zero maintenance total)
    C_ZERO_DIVISION = 100

for _name in ("OK", "UNKNOWN_ACCOUNT", "INVALID_AMOUNT", "INVALID_PRICE", "INVALID_SIZE",
              "OVERFLOW", "SAME_ACCOUNT", "ISOLATED_MARKET_MISMATCH", "WITHDRAWALS_GATED",
              "INSUFFICIENT_FREE_COLLATERAL", "INSUFFICIENT_INITIAL_MARGIN",
              "REDUCE_ONLY_WORSENS_HEALTH", "NOT_LIQUIDATABLE", "NO_POSITION",
              "SIZE_EXCEEDS_POLICY", "POLICY_FORBIDS", "NOT_BANKRUPT", "FUND_CAN_COVER",
              "INSUFFICIENT_ADL_LIQUIDITY", "NOTHING_TO_SOCIALIZE", "NO_SOCIALIZATION_BASE",
              "NO_BOOK_LIQUIDITY"):
    assert int(getattr(ResultCode, _name)) == {
        "OK": C_OK, "UNKNOWN_ACCOUNT": C_UNKNOWN_ACCOUNT, "INVALID_AMOUNT": C_INVALID_AMOUNT,
        "INVALID_PRICE": C_INVALID_PRICE, "INVALID_SIZE": C_INVALID_SIZE,
        "OVERFLOW": C_OVERFLOW, "SAME_ACCOUNT": C_SAME_ACCOUNT,
        "ISOLATED_MARKET_MISMATCH": C_ISOLATED_MARKET_MISMATCH,
        "POLICY_FORBIDS": C_POLICY_FORBIDS,
        "WITHDRAWALS_GATED": C_WITHDRAWALS_GATED,
        "INSUFFICIENT_FREE_COLLATERAL": C_INSUFFICIENT_FREE_COLLATERAL,
        "INSUFFICIENT_INITIAL_MARGIN": C_INSUFFICIENT_INITIAL_MARGIN,
        "REDUCE_ONLY_WORSENS_HEALTH": C_REDUCE_ONLY_WORSENS_HEALTH,
        "NOT_LIQUIDATABLE": C_NOT_LIQUIDATABLE, "NO_POSITION": C_NO_POSITION,
        "SIZE_EXCEEDS_POLICY": C_SIZE_EXCEEDS_POLICY, "NOT_BANKRUPT": C_NOT_BANKRUPT,
        "FUND_CAN_COVER": C_FUND_CAN_COVER,
        "INSUFFICIENT_ADL_LIQUIDITY": C_INSUFFICIENT_ADL_LIQUIDITY,
        "NOTHING_TO_SOCIALIZE": C_NOTHING_TO_SOCIALIZE,
        "NO_SOCIALIZATION_BASE": C_NO_SOCIALIZATION_BASE,
        "NO_BOOK_LIQUIDITY": C_NO_BOOK_LIQUIDITY}[_name], _name

NO_DUE_CODE = -1

#: the engine's code for a ZeroDivisionError of the reference
C_ZERO_DIVISION_CODE = C_ZERO_DIVISION

# holders, encoded as negative ids: -(index in liqspec.reference.state.HOLDERS + 1)
cdef enum:
    H_OUTSIDE = -1
    H_INSURANCE_FUND = -2
    H_FEE_SINK = -3
    H_SOCIALIZED_LOSS = -4
    H_FUNDING_POOL = -5

# rule IDs of journal records, indexes into RULE_IDS
RULE_IDS = ("LIQ-EXEC-2", "LIQ-FEE-1", "LIQ-INSURANCE-1", "LIQ-SOCIAL-1", "LIQ-BACKSTOP-1",
            "LIQ-ADL-3", "LIQ-SOCIAL-2", "LIQ-ROUND-3", "LIQ-FUNDING-1", "LIQ-FUNDING-2",
            "LIQ-INSURANCE-2", "LIQ-DEPOSIT-1", "LIQ-WITHDRAW-1", "LIQ-TRADE-1")
cdef enum:
    R_EXEC_2 = 0
    R_FEE_1 = 1
    R_INSURANCE_1 = 2
    R_SOCIAL_1 = 3
    R_BACKSTOP_1 = 4
    R_ADL_3 = 5
    R_SOCIAL_2 = 6
    R_ROUND_3 = 7
    R_FUNDING_1 = 8
    R_FUNDING_2 = 9
    R_INSURANCE_2 = 10
    R_DEPOSIT_1 = 11
    R_WITHDRAW_1 = 12
    R_TRADE_1 = 13

# account roles (anything else a hand-built state holds is ROLE_OTHER)
cdef enum:
    ROLE_TRADER = 0
    ROLE_BACKSTOP = 1
    ROLE_LIQUIDITY = 2
    ROLE_OTHER = 3

# profile policies
cdef enum:
    SIZE_FULL = 0
    SIZE_PORTION = 1
    SIZE_TIER_STEP = 2
    FEE_RATE = 0
    FEE_ALL_SURPLUS = 1
    FEE_PER_FILL = 2
    BAD_DEBT_ADL = 0
    BAD_DEBT_SOCIALIZE = 1
    RANK_PNL_LEVERAGE = 0
    RANK_PNL_MARGIN_RATIO = 1
    RANK_PRICE_RATIO_LEVERAGE = 2
    RANK_SEEDED = 3
    RANK_PRO_RATA = 4
    ADL_AT_BANKRUPTCY = 0
    ADL_AT_MARK = 1
    MAINT_AT_MARK = 0
    MAINT_AT_ENTRY = 1

ROLES = {"trader": ROLE_TRADER, "backstop": ROLE_BACKSTOP, "liquidity": ROLE_LIQUIDITY}
SIZE_POLICIES = {"full": SIZE_FULL, "portion": SIZE_PORTION, "tier_step": SIZE_TIER_STEP}
FEE_POLICIES = {"rate": FEE_RATE, "all_surplus": FEE_ALL_SURPLUS, "per_fill": FEE_PER_FILL}
BAD_DEBT_POLICIES = {"adl": BAD_DEBT_ADL, "socialize": BAD_DEBT_SOCIALIZE}
ADL_RANKINGS = {"pnl_leverage": RANK_PNL_LEVERAGE, "pnl_margin_ratio": RANK_PNL_MARGIN_RATIO,
                "price_ratio_leverage": RANK_PRICE_RATIO_LEVERAGE, "seeded": RANK_SEEDED,
                "pro_rata": RANK_PRO_RATA}
ADL_PRICES = {"bankruptcy": ADL_AT_BANKRUPTCY, "mark": ADL_AT_MARK}
MAINTENANCE_BASES = {"mark": MAINT_AT_MARK, "entry": MAINT_AT_ENTRY}

# journal record kinds
cdef enum:
    K_TRANSFER = 0
    K_FILL = 1


cdef struct Rec:
    int64_t seq
    int64_t a          # transfer: source; fill: buyer (row, or a holder id < 0)
    int64_t b          # transfer: destination; fill: seller
    int64_t lots       # fill lots
    int64_t amount     # transfer amount; fill quote amount (what the buyer pays)
    int64_t price      # fill price in ticks (when has_price)
    int32_t market
    int8_t kind
    int8_t rule
    int8_t has_price


cdef struct Ev:
    # thirteen int64 in Engine.cascade_trace's column order: the trace is this buffer, viewed
    int64_t step
    int64_t round
    int64_t kind        # index into EVENT_KIND_NAMES
    int64_t account     # row or holder id (< 0); EV_NONE for None
    int64_t market      # -1 for None
    int64_t lots
    int64_t price
    int64_t has_price
    int64_t quote
    int64_t rule        # index into EVENT_RULE_IDS
    int64_t detail      # DETAIL_*
    int64_t d1          # detail: the counterparty row, or a transfer's source
    int64_t d2          # a transfer's destination


cdef struct HEnt:
    int64_t prio
    int64_t row
    int64_t gen


cdef struct Heap:
    HEnt* a
    Py_ssize_t size
    Py_ssize_t cap


cdef struct Idx:
    int mode                     # ORDER_INDEX / ORDER_SCAN / ORDER_VERIFY
    bint built
    bint broken                  # the clock left its range: scan from here on
    uint8_t* mono                # [m] the market's maintenance is monotone and 1-Lipschitz
    int64_t* gen                 # [n] a row's placements; older heap/active entries are stale
    int8_t* ekind                # [n] E_*
    int64_t* ekey                # [n] the row's heap priority
    Heap* heaps                  # [2m + 1]: 2k longs of market k, 2k+1 shorts, 2m cross
    HEnt* act                    # candidates taken out of the heaps (row, gen)
    HEnt* act_tmp                # [capact] act_sort's other buffer
    Py_ssize_t nact
    Py_ssize_t capact
    int64_t* check_row           # [n] ORDER_VERIFY: the index's answer
    int64_t scans
    int64_t index_rounds
    int64_t examined
    int64_t sorted_rounds        # rounds whose candidates act_sort ordered by row
    int64_t bulk_takes           # sweeps that took a heap's crossed entries by one pass


cdef struct Cas:
    int mark_kind                # MARK_INDEX_BAND / MARK_LAST_FILL
    int64_t band_ppm
    int64_t step_seconds
    Py_ssize_t n_cfg             # markets of the path, in market-id order: cfg_cols[0..n_cfg)
    int64_t* cfg_cols
    int64_t* index               # [m] this step's index
    int64_t* prev_index          # [m]
    bint has_prev
    int64_t* levels              # [m] book shape per market
    int64_t* spacing_ppm
    int64_t* lots_per_level
    int64_t book_row
    int64_t vault_row            # -1: no backstop vault
    int64_t* lowest              # [m]
    uint8_t* liquidated          # [n]
    int64_t n_liquidated
    int64_t fills
    int64_t step
    int64_t round
    int64_t rounds               # this step's
    eng_i128 step_notional
    eng_i128 step_adl
    eng_i128 step_written_off
    eng_i128 adl_notional
    eng_i128 socialized
    int64_t* due_row
    int64_t* due_eq
    int64_t* due_mm
    int64_t* due_tmp
    int64_t* order_cols          # [m] scratch: a processed account's markets in id order
    int64_t* sides               # [m]
    int64_t* last_fill           # [m] last liquidation fill of the round, 0 when none
    Ev* evs
    Py_ssize_t nev
    Py_ssize_t capev
    bint evs_shared              # evs belongs to the arrays cascade_trace returned: never realloc'd
    bint keep_journal            # False: each operation's records dropped once in the trace
    Idx* ix                      # the candidate index (NULL: scan every round)


# the deleveraging ranking index (see "auto-deleveraging at scale")
cdef struct AdlEnt:
    eng_u128 num            # the score |num| / den, sign sgn
    eng_u128 den
    int64_t gen             # stale unless equal to the (row, market)'s gen
    int8_t sgn


cdef struct AdlKey:
    double key              # sgn x num / den rounded (a filter only: see ent_before); 0.0 for 0
    int64_t row
    int64_t ref             # its exact score and gen: the rank's ents[ref]


cdef struct AdlRank:
    AdlKey* heap            # a 4-ary heap, best first: on the score, or (pro rata) lots held
    Py_ssize_t size
    Py_ssize_t cap
    AdlEnt* ents            # the entries' exact scores, appended as keyed (refs into it)
    Py_ssize_t nents
    Py_ssize_t capents
    int64_t built           # the mark version the heap was keyed at; -1: never
    int64_t members         # opposite-side candidates: traders holding this side
    int64_t errors          # members whose score is OVERFLOW (at ``built``)
    eng_i128 total          # sum of their |lots|
    int32_t* fen            # seeded: a Fenwick tree of membership over rows (NULL until needed)


cdef struct Adl:
    int8_t* side            # [n*m] the side (row, market) is ranked under, 0 for none
    int64_t* held           # [n*m] its |lots| then
    int64_t* gen            # [n*m]
    uint8_t* err            # [n*m] its score was OVERFLOW
    uint8_t* dirty          # [n] changed since it was last keyed
    int64_t* dirty_list     # [n]
    Py_ssize_t ndirty
    int64_t mark_version    # set_mark calls so far
    AdlRank* ranks          # [2m]: 2k the longs of market k, 2k + 1 its shorts
    int64_t* check_rows     # [n] ADL_VERIFY: the index's allocation
    int64_t* check_lots
    int64_t* work           # [3n] pro rata: rows taken out of the heap, their shares, an order
    int64_t rebuilds
    int64_t rekeys
    int64_t taken
    int64_t stale
    int64_t compactions
    int64_t checks


cdef struct Eng:
    Py_ssize_t n            # accounts
    Py_ssize_t m            # markets
    Py_ssize_t width        # tier slots per market
    # accounts (rows in sorted-id order)
    int64_t* quote          # [n]
    int64_t* lots           # [n*m]
    int64_t* cost           # [n*m], cost_quote.get(market, 0)
    uint8_t* present        # [n*m], the market is a key of positions
    uint8_t* touched        # [n*m], _move_base ran on it (written back)
    uint8_t* acct_touched   # [n], quote or a position changed (written back)
    int64_t* npos           # [n], len(positions)
    int8_t* role            # [n]
    int64_t* isolated       # [n], market column, -1 cross, -2 bound to a market not in the profile
    int64_t* leverage       # [n*m], chosen leverage (LIQ-LEVERAGE-2), 0 none; NULL: nobody chose
    eng_i128* longs         # [m], sum of positive positions (open interest in lots)
    # the venue
    int64_t* marks          # [m]
    int64_t holders[5]      # HOLDERS order: outside, fund, fee sink, socialized loss, funding pool
    int64_t seq             # the seq journal records are stamped with (the operation's)
    # profile tables
    const int64_t* vplt
    const int64_t* n_tiers
    const int64_t* floor
    const int64_t* mmr
    const int64_t* mded
    const int64_t* imr
    const int64_t* ided
    const int64_t* min_mm
    const int64_t* oi_lower
    const int64_t* oi_upper
    const uint8_t* has_oi
    const int64_t* fee_ppm
    const int64_t* sorted_cols   # market columns in market-id order
    # profile policies
    int size_policy
    int fee_policy
    int bad_debt
    int ranking
    int adl_price
    int maint_basis              # LIQ-TIER-6
    int64_t portion_ppm
    int64_t portion_threshold    # clamped to int64 (only compared with a notional)
    int64_t bs_num
    int64_t bs_den               # 0: no backstop
    uint64_t adl_seed            # the seed modulo 2^64 (SplitMix64 reads only those bits)
    int64_t one_unit             # 10 ** quote_decimals
    # books, one per market: levels [head, end) of a side at offset k * book_cap
    uint8_t* has_book       # [m]
    int64_t* book_acct      # [m], row of the book's account, -1 when it is not an account
    int64_t* bid_px
    int64_t* bid_lots
    int64_t* ask_px
    int64_t* ask_lots
    int64_t* bid_head
    int64_t* bid_end
    int64_t* ask_head
    int64_t* ask_end
    Py_ssize_t book_cap
    uint8_t* book_touched   # [m]
    # journal
    Rec* recs
    Py_ssize_t nrec
    Py_ssize_t caprec
    # scratch of length n for auto-deleveraging
    int64_t* scratch_a
    int64_t* scratch_b
    int64_t* scratch_c
    int8_t* score_sgn
    eng_u128* score_num
    eng_u128* score_den
    # the cascade (LIQ-CASCADE-*), see the cascade section
    Cas* cas
    # change tracking for the cascade's candidate index (see "the processing order at scale")
    bint track
    uint8_t* dirty          # [n] touched since the index last placed the row
    int64_t* dirty_list     # [n]
    Py_ssize_t ndirty
    eng_i128* bound_lots    # [m] at least |lots| of every trader in each market
    eng_i128 bound_quote    # at least |quote| of every trader
    eng_i128 clock          # total variation of every mark so far (LIQ-MARK-2 moves)
    # the deleveraging ranking index (NULL until the first allocation) and how it is checked
    Adl* adl
    int adl_mode


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


# -- margin (LIQ-MARGIN-*, LIQ-TIER-*) ---------------------------------------------------------

cdef inline int value_of(const Eng* e, int64_t lots, Py_ssize_t k, int64_t price,
                         int64_t* out) noexcept nogil:
    """LIQ-MARGIN-1: checked(lots * price * value_per_lot_tick)."""
    cdef eng_i128 v
    if not eng_mul(<eng_i128>lots * price, e.vplt[k], &v) or not eng_fits(v):
        return C_OVERFLOW
    out[0] = <int64_t>v
    return C_OK


cdef inline Py_ssize_t tier_slot(const Eng* e, Py_ssize_t k, eng_i128 notional) noexcept nogil:
    """LIQ-TIER-1: the slot of the last tier whose floor is at most the notional."""
    cdef Py_ssize_t base = k * e.width, i, chosen = 0
    for i in range(1, e.n_tiers[k]):
        if <eng_i128>e.floor[base + i] <= notional:
            chosen = i
        else:
            break
    return base + chosen


cdef inline int maint_of(const Eng* e, Py_ssize_t k, eng_i128 notional,
                         int64_t* out) noexcept nogil:
    """LIQ-TIER-2: checked(max(ceil(notional * mmr) - deduction, minimum)), 0 when flat."""
    cdef Py_ssize_t slot
    cdef eng_i128 req
    if notional == 0:
        out[0] = 0
        return C_OK
    slot = tier_slot(e, k, notional)
    req = ceil_div(notional * e.mmr[slot], PPM) - e.mded[slot]
    if req < e.min_mm[k]:
        req = e.min_mm[k]
    if not eng_fits(req):
        return C_OVERFLOW
    out[0] = <int64_t>req
    return C_OK


cdef inline int initial_of(const Eng* e, Py_ssize_t k, eng_i128 notional, int64_t oi,
                           int64_t* out) noexcept nogil:
    """LIQ-TIER-3/4: checked(max(ceil(notional * imr) - deduction, maintenance))."""
    cdef Py_ssize_t slot
    cdef eng_i128 rate, tiered, span
    cdef int64_t maint
    if notional == 0:
        out[0] = 0
        return C_OK
    slot = tier_slot(e, k, notional)
    rate = e.imr[slot]
    if e.has_oi[k]:
        if oi <= e.oi_lower[k]:
            pass
        elif oi >= e.oi_upper[k]:
            rate = PPM
        else:
            span = <eng_i128>e.oi_upper[k] - e.oi_lower[k]
            rate = rate + floor_div((PPM - rate) * (<eng_i128>oi - e.oi_lower[k]), span)
    tiered = ceil_div(notional * rate, PPM) - e.ided[slot]
    if maint_of(e, k, notional, &maint) != C_OK:
        return C_OVERFLOW
    if tiered < maint:
        tiered = maint
    if not eng_fits(tiered):
        return C_OVERFLOW
    out[0] = <int64_t>tiered
    return C_OK


cdef inline int equity_of(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """LIQ-MARGIN-2: checked(quote + sum of checked position values)."""
    cdef Py_ssize_t k
    cdef int64_t v
    cdef eng_i128 total = e.quote[i]
    cdef const int64_t* lots = e.lots + i * e.m
    for k in range(e.m):
        if lots[k] == 0:
            continue
        if value_of(e, lots[k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        total += v
    if not eng_fits(total):
        return C_OVERFLOW
    out[0] = <int64_t>total
    return C_OK


cdef inline eng_i128 reduced_cost(int64_t cost, int64_t lots, eng_i128 kept) noexcept nogil:
    """LIQ-MARGIN-4: the cost basis ``kept`` lots of a position of ``lots`` keep on a reduction,
    floor(cost * |kept| / |lots|) (|cost|, |kept| <= 2^63: the product fits 128 bits)."""
    return floor_div(<eng_i128>cost * iabs(kept), iabs(<eng_i128>lots))


cdef inline bint at_entry(const Eng* e, Py_ssize_t i) noexcept nogil:
    """LIQ-TIER-6: row i's requirements are on entry values (entry basis, an isolated account)."""
    return e.maint_basis == MAINT_AT_ENTRY and e.isolated[i] != -1


cdef inline int position_maint(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t kept,
                               int64_t* out) noexcept nogil:
    """LIQ-TIER-6 over LIQ-TIER-2: the requirement of row i's position in k reduced to ``kept``
    lots (the whole position: kept = its lots), on the notional at the mark or, at entry, on the
    cost basis those lots keep."""
    cdef int64_t v
    if kept == 0:
        out[0] = 0
        return C_OK
    if at_entry(e, i):
        return maint_of(e, k, iabs(reduced_cost(e.cost[i * e.m + k], e.lots[i * e.m + k], kept)),
                        out)
    if value_of(e, kept, k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    return maint_of(e, k, iabs(v), out)


cdef inline int maint_total(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """LIQ-TIER-5: checked sum of checked per-position requirements, each on its basis."""
    cdef Py_ssize_t k
    cdef int64_t mm
    cdef eng_i128 total = 0
    cdef const int64_t* lots = e.lots + i * e.m
    for k in range(e.m):
        if lots[k] == 0:
            continue
        if position_maint(e, i, k, lots[k], &mm) != C_OK:
            return C_OVERFLOW
        total += mm
    if not eng_fits(total):
        return C_OVERFLOW
    out[0] = <int64_t>total
    return C_OK


cdef inline int open_interest(const Eng* e, Py_ssize_t k, int64_t* out) noexcept nogil:
    """open_interest_quote: checked(longs * mark * value_per_lot_tick)."""
    cdef eng_i128 v
    if not eng_fits(e.longs[k]):
        return C_OVERFLOW
    if not eng_mul(e.longs[k] * e.marks[k], e.vplt[k], &v) or not eng_fits(v):
        return C_OVERFLOW
    out[0] = <int64_t>v
    return C_OK


cdef inline int initial_total(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """account_initial_margin_quote at each market's open interest (as the margin check takes
    it: open interest of every market the account holds, computed first)."""
    cdef Py_ssize_t k
    cdef int64_t v, im, oi
    cdef eng_i128 total = 0
    cdef const int64_t* lots = e.lots + i * e.m
    for k in range(e.m):
        if e.present[i * e.m + k] and open_interest(e, k, &oi) != C_OK:
            return C_OVERFLOW
    for k in range(e.m):
        if lots[k] == 0:
            continue
        if open_interest(e, k, &oi) != C_OK:
            return C_OVERFLOW
        if value_of(e, lots[k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        if initial_of(e, k, iabs(v), oi, &im) != C_OK:
            return C_OVERFLOW
        if e.leverage != NULL and e.leverage[i * e.m + k] > 0:
            # LIQ-LEVERAGE-2: max(ceil(notional / leverage), the venue's own)
            im = <int64_t>max_i128(ceil_div(iabs(v), e.leverage[i * e.m + k]), im)
        total += im
    if not eng_fits(total):
        return C_OVERFLOW
    out[0] = <int64_t>total
    return C_OK


cdef inline int liquidatable(const Eng* e, Py_ssize_t i, bint* out) noexcept nogil:
    """LIQ-TRIGGER-1: maintenance > 0 and equity < maintenance (maintenance computed first)."""
    cdef int64_t mm, eq
    if maint_total(e, i, &mm) != C_OK:
        return C_OVERFLOW
    if mm <= 0:
        out[0] = False
        return C_OK
    if equity_of(e, i, &eq) != C_OK:
        return C_OVERFLOW
    out[0] = eq < mm
    return C_OK


cdef inline int below_backstop(const Eng* e, Py_ssize_t i, bint* out) noexcept nogil:
    """LIQ-TRIGGER-2: equity * den < num * maintenance, maintenance > 0; False without one."""
    cdef int64_t mm, eq
    if e.bs_den == 0:
        out[0] = False
        return C_OK
    if maint_total(e, i, &mm) != C_OK:
        return C_OVERFLOW
    if mm <= 0:
        out[0] = False
        return C_OK
    if equity_of(e, i, &eq) != C_OK:
        return C_OVERFLOW
    out[0] = <eng_i128>eq * e.bs_den < <eng_i128>e.bs_num * mm
    return C_OK


# -- the ledger (LIQ-LEDGER-1/2) ----------------------------------------------------------------

cdef inline int journal(Eng* e, int kind, int64_t a, int64_t b, int64_t lots, int64_t amount,
                        int64_t price, bint has_price, Py_ssize_t market, int rule) noexcept nogil:
    cdef Rec* grown
    cdef Rec* r
    if e.nrec == e.caprec:
        grown = <Rec*>realloc(e.recs, (2 * e.caprec + 16) * sizeof(Rec))
        if grown == NULL:
            return C_OVERFLOW  # out of memory: reported, never a wrap
        e.recs = grown
        e.caprec = 2 * e.caprec + 16
    r = &e.recs[e.nrec]
    r.seq = e.seq
    r.kind = kind
    r.a = a
    r.b = b
    r.lots = lots
    r.amount = amount
    r.price = price
    r.has_price = has_price
    r.market = <int32_t>market
    r.rule = rule
    e.nrec += 1
    return C_OK


cdef inline void note_touched(Eng* e, Py_ssize_t i) noexcept nogil:
    """The cascade's index re-keys a trader whose balance or positions changed."""
    if not e.dirty[i]:
        e.dirty[i] = 1
        e.dirty_list[e.ndirty] = i
        e.ndirty += 1


cdef inline void adl_touch(Eng* e, Py_ssize_t i) noexcept nogil:
    """The deleveraging index re-keys a trader whose balance or positions changed."""
    cdef Adl* d = e.adl
    if d != NULL and not d.dirty[i] and e.role[i] == ROLE_TRADER:
        d.dirty[i] = 1
        d.dirty_list[d.ndirty] = i
        d.ndirty += 1


cdef inline int add_quote(Eng* e, int64_t holder, eng_i128 delta) noexcept nogil:
    cdef eng_i128 v
    if holder < 0:
        v = e.holders[-holder - 1] + delta
        if not eng_fits(v):
            return C_OVERFLOW
        e.holders[-holder - 1] = <int64_t>v
    else:
        v = e.quote[holder] + delta
        if not eng_fits(v):
            return C_OVERFLOW
        e.quote[holder] = <int64_t>v
        e.acct_touched[holder] = 1
        adl_touch(e, holder)
        if e.track and e.role[holder] == ROLE_TRADER:
            note_touched(e, holder)
            if iabs(v) > e.bound_quote:
                e.bound_quote = iabs(v)
    return C_OK


cdef int transfer(Eng* e, int64_t source, int64_t destination, eng_i128 amount,
                  int rule) noexcept nogil:
    """LIQ-LEDGER-1: move a positive amount between two holders, journaled. The amount is stored,
    so beyond int64 it is OVERFLOW (LIQ-DOMAIN-1), as in the reference's ledger."""
    if amount <= 0 or source == destination:
        return C_INVALID_AMOUNT
    if not eng_fits(amount):
        return C_OVERFLOW
    if add_quote(e, source, -amount) != C_OK or add_quote(e, destination, amount) != C_OK:
        return C_OVERFLOW
    return journal(e, K_TRANSFER, source, destination, 0, <int64_t>amount, 0, False, 0, rule)


cdef int move_base(Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t delta, eng_i128 cash) noexcept nogil:
    """LIQ-MARGIN-4: change a position and its cost basis (the cash leg is booked apart)."""
    cdef Py_ssize_t at = i * e.m + k
    cdef int64_t old = e.lots[at], old_cost = e.cost[at]
    cdef eng_i128 new = <eng_i128>old + delta, traded = -cash, c, prod
    if not eng_fits(new):
        return C_OVERFLOW
    if new == 0:
        c = 0
    elif old == 0 or sgn(old) == sgn(delta):
        c = old_cost + traded
    elif sgn(new) == sgn(old):
        c = reduced_cost(old_cost, old, new)
    else:
        if not eng_mul(traded, iabs(new), &prod):
            return C_OVERFLOW
        c = floor_div(prod, iabs(delta))
    if new != 0 and not eng_fits(c):
        return C_OVERFLOW
    if old > 0:
        e.longs[k] -= old
    if new > 0:
        e.longs[k] += new
    if new == 0:
        if e.present[at]:
            e.npos[i] -= 1
        e.present[at] = 0
        e.cost[at] = 0
    else:
        if not e.present[at]:
            e.npos[i] += 1
        e.present[at] = 1
        e.cost[at] = <int64_t>c
    e.lots[at] = <int64_t>new
    e.touched[at] = 1
    e.acct_touched[i] = 1
    adl_touch(e, i)
    if e.track and e.role[i] == ROLE_TRADER:
        note_touched(e, i)
        if iabs(new) > e.bound_lots[k]:
            e.bound_lots[k] = iabs(new)
    return C_OK


cdef int do_fill(Eng* e, Py_ssize_t k, Py_ssize_t buyer, Py_ssize_t seller, int64_t lots,
                 eng_i128 quote_amount, int64_t price, bint has_price, int rule) noexcept nogil:
    """LIQ-LEDGER-2: lots from seller to buyer against quote_amount (negative: the other way)."""
    cdef int code
    if lots <= 0 or buyer == seller:
        return C_INVALID_SIZE
    if not eng_fits(quote_amount):
        return C_OVERFLOW  # a Fill's quote is stored: int64 (LIQ-DOMAIN-1), as the reference's
    code = move_base(e, buyer, k, lots, -quote_amount)
    if code == C_OK:
        code = move_base(e, seller, k, -lots, quote_amount)
    if code != C_OK:
        return code
    if quote_amount > 0:
        code = transfer(e, buyer, seller, quote_amount, rule)
    elif quote_amount < 0:
        code = transfer(e, seller, buyer, -quote_amount, rule)
    if code != C_OK:
        return code
    return journal(e, K_FILL, buyer, seller, lots, <int64_t>quote_amount, price, has_price, k,
                   rule)


cdef inline bint is_flat(const Eng* e, Py_ssize_t i) noexcept nogil:
    return e.npos[i] == 0


cdef int settle_deficit(Eng* e, Py_ssize_t i, eng_i128* paid_out,
                        eng_i128* written_out) noexcept nogil:
    """LIQ-INSURANCE-1 / LIQ-SOCIAL-1: the fund pays min(deficit, fund); the rest is written off
    to the socialized-loss holder."""
    cdef eng_i128 deficit = -(<eng_i128>e.quote[i]), paid, written
    paid = e.holders[1] if e.holders[1] < deficit else deficit
    if paid > 0 and transfer(e, H_INSURANCE_FUND, i, paid, R_INSURANCE_1) != C_OK:
        return C_OVERFLOW
    written = deficit - paid
    if written > 0 and transfer(e, H_SOCIALIZED_LOSS, i, written, R_SOCIAL_1) != C_OK:
        return C_OVERFLOW
    paid_out[0] = paid
    written_out[0] = written
    return C_OK


# -- liquidation (LIQ-EXEC-*, LIQ-FEE-1) ---------------------------------------------------------

cdef int size_lots(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t* out) noexcept nogil:
    """LIQ-EXEC-1: how many lots one step may close."""
    cdef int64_t position = e.lots[i * e.m + k], v, lots
    cdef eng_i128 floor_quote, keep, c, above
    lots = position if position > 0 else -position
    if position == INT64_MIN:
        return C_OVERFLOW  # |INT64_MIN| is no int64 (and its value cannot be either)
    if value_of(e, lots, k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    if e.size_policy == SIZE_FULL:
        out[0] = lots
    elif e.size_policy == SIZE_PORTION:
        if v <= e.portion_threshold:
            out[0] = lots
        else:
            c = ceil_div(<eng_i128>lots * e.portion_ppm, PPM)
            out[0] = <int64_t>(c if c > 1 else 1)
    elif not at_entry(e, i):
        floor_quote = e.floor[tier_slot(e, k, v)]
        if floor_quote == 0:
            out[0] = lots
        else:
            keep = ceil_div(floor_quote, <eng_i128>e.marks[k] * e.vplt[k]) - 1
            out[0] = <int64_t>(lots - keep)
    else:  # LIQ-TIER-6: the tier of the entry value; keep the most lots whose kept basis is below
        floor_quote = e.floor[tier_slot(e, k, iabs(<eng_i128>e.cost[i * e.m + k]))]
        if floor_quote == 0:
            out[0] = lots
        else:
            keep = 0
            above = lots  # basis(keep) < floor <= basis(above)
            while above - keep > 1:
                c = (keep + above) // 2
                if iabs(reduced_cost(e.cost[i * e.m + k], position, c)) < floor_quote:
                    keep = c
                else:
                    above = c
            out[0] = <int64_t>(lots - keep)
    return C_OK


cdef int fixed_constant(const Eng* e, Py_ssize_t i, Py_ssize_t market,
                        eng_i128* out) noexcept nogil:
    """C of prices.py: quote plus the value of every other position."""
    cdef Py_ssize_t k
    cdef int64_t v
    cdef eng_i128 c = e.quote[i]
    for k in range(e.m):
        if k == market or e.lots[i * e.m + k] == 0:
            continue
        if value_of(e, e.lots[i * e.m + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        c += v
    out[0] = c
    return C_OK


# -- trades and the initial-margin check (LIQ-TRADE-1/2, LIQ-ACCOUNT-2) ---------------------------

cdef inline bint market_allowed(const Eng* e, Py_ssize_t i, Py_ssize_t k) noexcept nogil:
    """LIQ-ACCOUNT-2: an isolated account trades only the market it is bound to."""
    return e.isolated[i] == -1 or e.isolated[i] == k


cdef struct Before:
    int64_t equity
    int64_t maint
    int64_t position


cdef inline int margin_before(const Eng* e, Py_ssize_t i, Py_ssize_t k, Before* out) noexcept nogil:
    """margin_before of LIQ-TRADE-2: equity, maintenance and position before a trade."""
    if equity_of(e, i, &out.equity) != C_OK or maint_total(e, i, &out.maint) != C_OK:
        return C_OVERFLOW
    out.position = e.lots[i * e.m + k]
    return C_OK


cdef int margin_after_trade(const Eng* e, Py_ssize_t i, Py_ssize_t k,
                            const Before* before) noexcept nogil:
    """LIQ-TRADE-2: equity >= initial margin at the post-trade open interest, or a trade that only
    reduces the position, leaves equity >= 0 and does not widen the maintenance shortfall."""
    cdef int64_t eq, im, mm
    cdef eng_i128 after = e.lots[i * e.m + k]
    cdef bint reduces
    if equity_of(e, i, &eq) != C_OK or initial_total(e, i, &im) != C_OK:
        return C_OVERFLOW
    if eq >= im:
        return C_OK
    reduces = before.position != 0 and iabs(after) < iabs(before.position) and (
        after == 0 or (after > 0) == (before.position > 0))
    if not reduces:
        return C_INSUFFICIENT_INITIAL_MARGIN
    if maint_total(e, i, &mm) != C_OK:
        return C_OVERFLOW
    if eq < 0 or <eng_i128>eq - mm < <eng_i128>before.equity - before.maint:
        return C_REDUCE_ONLY_WORSENS_HEALTH
    return C_OK


cdef int trade(Eng* e, Py_ssize_t buyer, Py_ssize_t seller, Py_ssize_t k, int64_t lots,
               int64_t price, int64_t* notional) noexcept nogil:
    """LIQ-TRADE-1 after the adapter's lookups and domain checks (accounts, market, size, price):
    the notional, the two accounts, their isolation, the fill, then each trader's margin."""
    cdef int64_t amount
    cdef Before buyer_before, seller_before
    cdef int code
    if value_of(e, lots, k, price, &amount) != C_OK:
        return C_OVERFLOW
    if buyer == seller:
        return C_SAME_ACCOUNT
    if not market_allowed(e, buyer, k) or not market_allowed(e, seller, k):
        return C_ISOLATED_MARKET_MISMATCH
    # margin_before of both accounts, whatever their role, as the reference computes it
    if margin_before(e, buyer, k, &buyer_before) != C_OK or \
            margin_before(e, seller, k, &seller_before) != C_OK:
        return C_OVERFLOW
    code = do_fill(e, k, buyer, seller, lots, amount, price, True, R_TRADE_1)
    if code == C_OK and e.role[buyer] == ROLE_TRADER:  # only traders are margined
        code = margin_after_trade(e, buyer, k, &buyer_before)
    if code == C_OK and e.role[seller] == ROLE_TRADER:
        code = margin_after_trade(e, seller, k, &seller_before)
    notional[0] = amount
    return code


cdef int fee_quote(const Eng* e, Py_ssize_t k, int64_t side, int64_t lots, int64_t price,
                   eng_i128 scale, eng_i128 gap, eng_i128 den, int64_t surplus,
                   int64_t* out) noexcept nogil:
    """LIQ-FEE-1: the fee of a step closing ``lots`` of a position on ``side`` at ``price``,
    min(wanted, max(surplus, 0)). ``wanted`` is ceil(|fill notional| x rate), or under
    all_surplus max(ceil(gain), 0) with gain = side x lots x m x (price - B), B the bankruptcy
    price, which the caller gives as m x (price - B) = scale x gap / den (0 < den <= 2^63,
    |gap| < 2^127). The numerator side x lots x scale x gap is exact in 128 bits or else at
    least 2^127 in size, and then |gain| >= 2^127 / 2^63 exceeds any int64 surplus: its sign
    alone decides."""
    cdef eng_i128 cap = surplus if surplus > 0 else 0, wanted = 0, factor, numerator
    cdef int64_t amount
    cdef int direction
    if e.fee_policy == FEE_PER_FILL:
        return C_POLICY_FORBIDS  # its fee is the fill's insurance fund delta (LIQ-FEE-2)
    if e.fee_policy == FEE_ALL_SURPLUS:
        if eng_mul(<eng_i128>side * lots, scale, &factor) and eng_mul(factor, gap, &numerator):
            wanted = ceil_div(numerator, den)
            if wanted < 0:
                wanted = 0
        else:
            direction = sgn(side) * sgn(lots) * sgn(scale) * sgn(gap)
            wanted = cap if direction > 0 else 0
    else:
        if value_of(e, lots, k, price, &amount) != C_OK:
            return C_OVERFLOW
        wanted = ceil_div(iabs(amount) * e.fee_ppm[k], PPM)
    out[0] = <int64_t>(wanted if wanted < cap else cap)
    return C_OK


cdef int fund_delta_quote(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots, int64_t price,
                          eng_i128* out) noexcept nogil:
    """LIQ-FEE-2: dYdX's insurance fund delta of a fill closing ``lots`` at ``price``, before the
    fill: the fill's quote (received +, paid -) less the closed lots' bankruptcy value
    (LIQ-ADL-4); when positive, at most floor(|fill quote| x rate)."""
    cdef int64_t amount, position = e.lots[i * e.m + k]
    cdef eng_i128 value, delta, cap
    cdef int code
    if value_of(e, lots, k, price, &amount) != C_OK:
        return C_OVERFLOW
    code = bankruptcy_value(e, i, k, lots, &value)
    if code != C_OK:
        return code
    delta = (<eng_i128>amount if position > 0 else -(<eng_i128>amount)) - value
    if delta > 0:
        cap = floor_div(iabs(amount) * e.fee_ppm[k], PPM)
        if cap < delta:
            delta = cap
    out[0] = delta
    return C_OK


cdef struct LiqOut:
    int64_t lots
    int64_t fee
    int64_t surplus
    bint per_fill
    eng_i128 fund_delta
    eng_i128 fund_covered
    bint settled
    eng_i128 fund_paid
    eng_i128 written_off


cdef int liquidate_step(Eng* e, Py_ssize_t i, Py_ssize_t k, Py_ssize_t cp, int64_t price,
                        int64_t lots_wanted, bint cp_allowed, LiqOut* out) noexcept nogil:
    """LIQ-EXEC-2 after the argument checks the adapter makes (accounts, market, size and price
    domains, same account, role): the counterparty's isolation, the trigger, the position, the
    size policy, then the fill, the counterparty's margin, the fee and the settlement.
    ``lots_wanted`` < 0 means the policy's size."""
    cdef bint liq
    cdef int64_t position, allowed, size, amount, surplus, fee_q
    cdef Before cp_before
    cdef eng_i128 constant, gap, den, fee, delta = 0, covered = 0
    cdef int code, side
    cdef bint per_fill = e.fee_policy == FEE_PER_FILL
    cdef Py_ssize_t buyer, seller
    if price <= 0:
        return C_INVALID_PRICE
    if not cp_allowed:  # LIQ-ACCOUNT-2, decided by the adapter
        return C_ISOLATED_MARKET_MISMATCH
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_NOT_LIQUIDATABLE
    position = e.lots[i * e.m + k]
    if position == 0:
        return C_NO_POSITION
    if size_lots(e, i, k, &allowed) != C_OK:
        return C_OVERFLOW
    size = allowed if lots_wanted < 0 else lots_wanted
    if size > allowed:
        return C_SIZE_EXCEEDS_POLICY
    # the bankruptcy price's C (LIQ-PRICE-1), before the fill
    if fixed_constant(e, i, k, &constant) != C_OK:
        return C_OVERFLOW
    side = 1 if position > 0 else -1
    if per_fill:  # LIQ-FEE-2, before the fill
        code = fund_delta_quote(e, i, k, size, price, &delta)
        if code != C_OK:
            return code
    # atomic from here on
    if value_of(e, size, k, price, &amount) != C_OK:
        return C_OVERFLOW
    if position > 0:
        buyer = cp
        seller = i
    else:
        buyer = i
        seller = cp
    # margin_before of the counterparty: computed for every counterparty, as the reference does
    if margin_before(e, cp, k, &cp_before) != C_OK:
        return C_OVERFLOW
    code = do_fill(e, k, buyer, seller, size, amount, price, True, R_EXEC_2)
    if code != C_OK:
        return code
    if e.role[cp] == ROLE_TRADER:  # LIQ-TRADE-2: only traders are margined
        code = margin_after_trade(e, cp, k, &cp_before)
        if code != C_OK:
            return code
    if equity_of(e, i, &surplus) != C_OK:
        return C_OVERFLOW
    # LIQ-FEE-1 at the bankruptcy price B = max(-C / (s * m), 0): when B > 0 (side * C < 0),
    # m * (price - B) = (m * price * |s| + side * C) / |s|, else m * price. m * price * |s| is
    # below 2^126: m * price fits int64 (the fill's notional did) and so does |s|.
    if per_fill:
        fee = delta if delta > 0 else 0
    else:
        if side * constant < 0:
            gap = <eng_i128>e.vplt[k] * price * iabs(position) + side * constant
            den = iabs(position)
        else:
            gap = <eng_i128>e.vplt[k] * price
            den = 1
        if fee_quote(e, k, side, size, price, 1, gap, den, surplus, &fee_q) != C_OK:
            return C_OVERFLOW
        fee = fee_q
    if fee > 0 and transfer(e, i, H_INSURANCE_FUND, fee, R_FEE_1) != C_OK:
        return C_OVERFLOW
    # per_fill: the fund pays a negative delta at once, at most its balance (LIQ-INV-3)
    if delta < 0:
        covered = -delta if -delta < e.holders[1] else e.holders[1]
        if covered > 0 and transfer(e, H_INSURANCE_FUND, i, covered, R_INSURANCE_1) != C_OK:
            return C_OVERFLOW
    out.lots = size
    out.fee = <int64_t>fee
    out.surplus = surplus
    out.per_fill = per_fill
    out.fund_delta = delta
    out.fund_covered = covered
    out.settled = False
    if is_flat(e, i) and e.quote[i] < 0:
        out.settled = True
        if settle_deficit(e, i, &out.fund_paid, &out.written_off) != C_OK:
            return C_OVERFLOW
    return C_OK


# -- the order book (LIQ-BOOK-2/3) ---------------------------------------------------------------

cdef struct Plan:
    Py_ssize_t first      # first level index taken
    Py_ssize_t count      # levels taken
    eng_i128 total        # lots over the plan
    int64_t last_take     # lots taken from the last level


cdef inline void side_of(const Eng* e, Py_ssize_t k, int64_t position, int64_t** px,
                         int64_t** lots, int64_t** head, int64_t** end) noexcept nogil:
    """The side a position closes into: a long sells to the bids, a short buys the asks."""
    if position > 0:
        px[0] = e.bid_px + k * e.book_cap
        lots[0] = e.bid_lots + k * e.book_cap
        head[0] = &e.bid_head[k]
        end[0] = &e.bid_end[k]
    else:
        px[0] = e.ask_px + k * e.book_cap
        lots[0] = e.ask_lots + k * e.book_cap
        head[0] = &e.ask_head[k]
        end[0] = &e.ask_end[k]


cdef int plan_order(const Eng* e, Py_ssize_t i, Py_ssize_t k, eng_i128 lots, bint within_fund,
                    int64_t* takes, Plan* plan) noexcept nogil:
    """LIQ-BOOK-2: the fills an order for ``lots`` would take, best first, stopping where the book
    runs out or, ``within_fund``, where the next lot would leave a deficit beyond the fund.
    ``takes`` (at least the side's length) receives the lots of each planned level."""
    cdef int64_t position = e.lots[i * e.m + k], eq
    cdef int64_t* px
    cdef int64_t* rest
    cdef int64_t* head
    cdef int64_t* end
    cdef Py_ssize_t j
    cdef int side = 1 if position > 0 else -1
    cdef eng_i128 equity, remaining = lots, take, per_lot, affordable, room, step
    side_of(e, k, position, &px, &rest, &head, &end)
    if equity_of(e, i, &eq) != C_OK:
        return C_OVERFLOW
    equity = eq
    plan.first = head[0]
    plan.count = 0
    plan.total = 0
    plan.last_take = 0
    for j in range(head[0], end[0]):
        if remaining == 0:
            break
        take = remaining if remaining < rest[j] else rest[j]
        per_lot = side * (<eng_i128>e.vplt[k] * (<eng_i128>px[j] - e.marks[k]))
        if within_fund and per_lot < 0:
            room = equity + e.holders[1]
            affordable = floor_div(room, -per_lot) if room > 0 else 0
            if affordable < take:
                take = affordable
        if take <= 0:
            break
        takes[plan.count] = <int64_t>take
        plan.count += 1
        plan.total += take
        plan.last_take = <int64_t>take
        if within_fund:
            # the projection only matters for the next level's affordability
            if not eng_mul(take, per_lot, &step) or not eng_add(equity, step, &equity):
                return C_OVERFLOW
        remaining -= take
    return C_OK


cdef int closable_within_fund(const Eng* e, Py_ssize_t i, Py_ssize_t k, bint* out) noexcept nogil:
    """LIQ-BOOK-3: the whole position closes against the book (or at the mark, without a book)
    leaving a deficit the fund can pay."""
    cdef int64_t eq, position = e.lots[i * e.m + k]
    cdef Plan plan
    cdef int code
    if not e.has_book[k]:
        if equity_of(e, i, &eq) != C_OK:
            return C_OVERFLOW
        out[0] = <eng_i128>eq >= -(<eng_i128>e.holders[1])
        return C_OK
    code = plan_order(e, i, k, iabs(position), True, e.scratch_c, &plan)
    if code != C_OK:
        return code
    out[0] = plan.total == iabs(position)
    return C_OK


cdef struct MarketOut:
    int64_t lots
    eng_i128 fee
    int64_t levels


cdef int market_liquidate(Eng* e, Py_ssize_t i, Py_ssize_t k, MarketOut* out) noexcept nogil:
    """LIQ-BOOK-2 after the adapter's checks (account, market, role): the trigger, the position,
    the book, the size, the plan, then one liquidation step per planned level."""
    cdef bint liq, within_fund = e.bad_debt == BAD_DEBT_ADL, cp_allowed
    cdef int64_t size, allowed, lots, position
    cdef int64_t* px
    cdef int64_t* rest
    cdef int64_t* head
    cdef int64_t* end
    cdef Py_ssize_t j, book
    cdef Plan plan
    cdef LiqOut step
    cdef int code
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_NOT_LIQUIDATABLE
    position = e.lots[i * e.m + k]
    if position == 0:
        return C_NO_POSITION
    if not e.has_book[k]:
        return C_NO_BOOK_LIQUIDITY
    book = e.book_acct[k]
    if book < 0:
        return C_UNKNOWN_ACCOUNT
    if e.role[book] != ROLE_LIQUIDITY:
        return C_NO_BOOK_LIQUIDITY
    if size_lots(e, i, k, &size) != C_OK:
        return C_OVERFLOW
    code = plan_order(e, i, k, size, within_fund, e.scratch_c, &plan)
    if code != C_OK:
        return code
    if plan.count == 0:
        return C_NO_BOOK_LIQUIDITY
    cp_allowed = e.isolated[book] == -1 or e.isolated[book] == k
    side_of(e, k, position, &px, &rest, &head, &end)
    out.lots = 0
    out.fee = 0
    out.levels = plan.count
    e.book_touched[k] = 1
    for j in range(plan.count):
        if liquidatable(e, i, &liq) != C_OK:
            return C_OVERFLOW
        if not liq:
            break  # healthy again: the order stops (LIQ-INV-5)
        if size_lots(e, i, k, &allowed) != C_OK:
            return C_OVERFLOW
        lots = e.scratch_c[j] if e.scratch_c[j] < allowed else allowed
        if lots <= 0:
            return C_INVALID_SIZE
        code = liquidate_step(e, i, k, book, px[plan.first + j], lots, cp_allowed, &step)
        if code != C_OK:
            return code
        out.fee += step.fee
        out.lots += lots
        rest[head[0]] -= lots
        if rest[head[0]] == 0:
            head[0] += 1
        if lots < e.scratch_c[j]:
            break  # the policy now allows less than this level offered
    return C_OK


# -- the backstop (LIQ-BACKSTOP-1) ---------------------------------------------------------------

cdef int backstop_liquidate(Eng* e, Py_ssize_t i, Py_ssize_t vault, eng_i128* taken) noexcept nogil:
    """After the adapter's checks (accounts, roles, policy, the vault's isolation): the threshold,
    then the vault takes every position at the mark, in market-id order, and the remaining
    quote."""
    cdef bint below
    cdef Py_ssize_t c, k
    cdef int64_t lots, amount, mark
    cdef eng_i128 remaining
    cdef int code
    if below_backstop(e, i, &below) != C_OK:
        return C_OVERFLOW
    if not below:
        return C_NOT_LIQUIDATABLE
    for c in range(e.m):
        k = e.sorted_cols[c]
        if not e.present[i * e.m + k]:
            continue
        lots = e.lots[i * e.m + k]
        mark = e.marks[k]
        if lots == INT64_MIN:
            return C_OVERFLOW
        if value_of(e, lots if lots > 0 else -lots, k, mark, &amount) != C_OK:
            return C_OVERFLOW
        if lots > 0:
            code = do_fill(e, k, vault, i, lots, amount, mark, True, R_BACKSTOP_1)
        else:
            code = do_fill(e, k, i, vault, -lots, amount, mark, True, R_BACKSTOP_1)
        if code != C_OK:
            return code
    remaining = e.quote[i]
    if remaining > 0:
        code = transfer(e, i, vault, remaining, R_BACKSTOP_1)
    elif remaining < 0:
        code = transfer(e, vault, i, -remaining, R_BACKSTOP_1)
    else:
        code = C_OK
    taken[0] = remaining
    return code


# -- auto-deleveraging (LIQ-ADL-*) ---------------------------------------------------------------

cdef inline int cmp_score(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """Order of candidates x, y (positions in the candidate list): higher score first, then the
    smaller position (the candidates are in account-ID order)."""
    cdef int sx = e.score_sgn[x], sy = e.score_sgn[y], c
    if sx != sy:
        return -1 if sx > sy else 1
    if sx != 0:
        c = eng_cmp_ufrac(e.score_num[x], e.score_den[x], e.score_num[y], e.score_den[y])
        if sx < 0:
            c = -c
        if c != 0:
            return -c
    return -1 if x < y else (1 if x > y else 0)


ctypedef int (*cmp_fn)(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil


cdef void merge_sort(const Eng* e, int64_t* idx, int64_t* tmp, Py_ssize_t n,
                     cmp_fn cmp) noexcept nogil:
    """Bottom-up (stable) merge sort of ``idx`` by ``cmp`` (a total order)."""
    cdef Py_ssize_t width = 1, lo, mid, hi, a, b, o
    cdef int64_t* src = idx
    cdef int64_t* dst = tmp
    cdef int64_t* swap
    while width < n:
        lo = 0
        while lo < n:
            mid = lo + width if lo + width < n else n
            hi = lo + 2 * width if lo + 2 * width < n else n
            a = lo
            b = mid
            o = lo
            while a < mid and b < hi:
                if cmp(e, src[a], src[b]) <= 0:
                    dst[o] = src[a]
                    a += 1
                else:
                    dst[o] = src[b]
                    b += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
            lo += 2 * width
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != idx:
        for o in range(n):
            idx[o] = src[o]


cdef inline int set_score(Eng* e, Py_ssize_t x, eng_i128 num, eng_i128 den) noexcept nogil:
    """Score x = num / den with den > 0, as sign and magnitudes."""
    e.score_sgn[x] = sgn(num)
    e.score_num[x] = <eng_u128>iabs(num)
    e.score_den[x] = <eng_u128>den
    return C_OK


cdef inline int set_score_u(Eng* e, Py_ssize_t x, int s, eng_u128 num, eng_u128 den) noexcept nogil:
    e.score_sgn[x] = s if num != 0 else 0
    e.score_num[x] = num
    e.score_den[x] = den
    return C_OK


cdef int unrealized_pnl(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t* out) noexcept nogil:
    """LIQ-MARGIN-3: checked(value at the mark - cost)."""
    cdef int64_t v
    cdef eng_i128 pnl
    if value_of(e, e.lots[i * e.m + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    pnl = <eng_i128>v - e.cost[i * e.m + k]
    if not eng_fits(pnl):
        return C_OVERFLOW
    out[0] = <int64_t>pnl
    return C_OK


cdef int score_of(Eng* e, Py_ssize_t x, Py_ssize_t a, Py_ssize_t k) noexcept nogil:
    """LIQ-ADL-2 scores as exact fractions, evaluated in the reference's order."""
    cdef int64_t pnl, v, eq, mm, p
    cdef eng_i128 eq1, wallet, total_pnl, vmax, cost, value, notional
    cdef eng_u128 num, den
    cdef Py_ssize_t j
    if e.ranking == RANK_PNL_LEVERAGE:
        cost = iabs(e.cost[a * e.m + k])
        if cost != 0 and unrealized_pnl(e, a, k, &pnl) != C_OK:
            return C_OVERFLOW
        if value_of(e, e.lots[a * e.m + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        if equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        if cost == 0:
            return set_score(e, x, 0, 1)
        notional = iabs(v)
        eq1 = eq if eq > 1 else 1
        if pnl > 0:  # pnl / cost * notional / eq1
            return set_score(e, x, <eng_i128>pnl * notional, cost * eq1)
        return set_score(e, x, <eng_i128>pnl * eq1, cost * notional)  # (pnl / cost) / leverage
    if e.ranking == RANK_PNL_MARGIN_RATIO:
        if unrealized_pnl(e, a, k, &pnl) != C_OK or equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        total_pnl = 0
        for j in range(e.m):
            if e.present[a * e.m + j]:
                if unrealized_pnl(e, a, j, &p) != C_OK:
                    return C_OVERFLOW
                total_pnl += p
        wallet = eq - total_pnl
        if not eng_fits(wallet):
            return C_OVERFLOW  # the wallet balance is int64 (LIQ-DOMAIN-1), as the reference's
        if eq <= 0:
            return set_score(e, x, 0, 1)
        if maint_total(e, a, &mm) != C_OK:
            return C_OVERFLOW
        if wallet < e.one_unit:
            wallet = e.one_unit
        # max(0, pnl) / max(one unit, wallet) * mm / eq; mm >= 0 (requirements are)
        num = <eng_u128>(pnl if pnl > 0 else 0) * <eng_u128>(mm if mm > 0 else 0)
        # wallet and eq are int64: the product fits 128 bits (the check is a guard)
        if not eng_umul(<eng_u128>wallet, <eng_u128>eq, &den):
            return C_OVERFLOW
        return set_score_u(e, x, 1, num, den)
    # RANK_PRICE_RATIO_LEVERAGE: (mark / entry or entry / mark) x notional / account value
    if value_of(e, e.lots[a * e.m + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    value = iabs(v)
    cost = iabs(e.cost[a * e.m + k])
    if cost == 0:
        cost = 1
    if value_of(e, e.lots[a * e.m + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    if equity_of(e, a, &eq) != C_OK:
        return C_OVERFLOW
    notional = iabs(v)
    eq1 = eq if eq > 1 else 1
    if e.lots[a * e.m + k] > 0:  # value / cost * notional / eq1
        return set_score(e, x, value * notional, cost * eq1)
    vmax = value if value > 1 else 1  # cost / max(value, 1) * notional / eq1
    return set_score(e, x, cost * notional, vmax * eq1)


cdef inline uint64_t splitmix64(uint64_t value) noexcept nogil:
    """SplitMix64, the deterministic pseudo-random start of the seeded ranking (LIQ-ADL-2)."""
    value = value + <uint64_t>0x9E3779B97F4A7C15ULL
    value = (value ^ (value >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    value = (value ^ (value >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return value ^ (value >> 31)


cdef int pro_rata_shares(Eng* e, Py_ssize_t k, Py_ssize_t n_cand, eng_i128 needed,
                         eng_i128 total, Py_ssize_t* count) noexcept nogil:
    """LIQ-ADL-2 pro rata over the candidates in scratch_a[0..n_cand) (account-ID order) holding
    ``total`` lots: floor(needed x lots / total) each, the leftover lots one each by largest
    remainder (ties to the smaller row); rows in scratch_a, lots in scratch_b. O(n_cand log
    n_cand): every candidate's remainder takes part in the ranking."""
    cdef int64_t* cand = e.scratch_a
    cdef int64_t* order = e.scratch_b
    cdef int64_t* tmp = e.scratch_c
    cdef eng_i128 exact, leftover
    cdef Py_ssize_t x, got = 0
    if total <= needed:  # everyone takes everything; a shortfall is the caller's to report
        for x in range(n_cand):
            e.scratch_b[x] = <int64_t>iabs(e.lots[cand[x] * e.m + k])
        count[0] = n_cand
        return C_OK
    # floor shares; the remainders (as scores) rank the leftover lots
    leftover = needed
    for x in range(n_cand):
        exact = needed * iabs(e.lots[cand[x] * e.m + k])
        e.score_num[x] = <eng_u128>(exact % total)
        e.score_den[x] = 1
        e.score_sgn[x] = 1 if exact % total != 0 else 0
        e.score_num[n_cand + x] = <eng_u128>(exact / total)  # the floor share, kept aside
        leftover -= exact / total
        order[x] = x
    merge_sort(e, order, tmp, n_cand, cmp_score)
    for x in range(n_cand):
        if x < leftover:
            e.score_num[n_cand + order[x]] += 1
    for x in range(n_cand):
        if e.score_num[n_cand + x] > 0:
            e.scratch_a[got] = cand[x]
            e.scratch_b[got] = <int64_t>e.score_num[n_cand + x]
            got += 1
    count[0] = got
    return C_OK


cdef int adl_allocation_scan(Eng* e, Py_ssize_t i, Py_ssize_t k, uint64_t seq_before,
                             Py_ssize_t* count) noexcept nogil:
    """LIQ-ADL-2 as the reference computes it: every account examined, the candidates scored
    and sorted, O(N log N) per call. The oracle of the index (``ADL_SCAN`` / ``ADL_VERIFY``).
    Rows in scratch_a, lots in scratch_b, ``count`` entries, in execution order."""
    cdef int64_t position = e.lots[i * e.m + k]
    cdef int side = sgn(position)
    cdef eng_i128 needed = iabs(position), total, take, lots_a
    cdef Py_ssize_t a, n_cand = 0, x, start, got = 0
    cdef int64_t* cand = e.scratch_a   # candidate rows in id order
    cdef int64_t* order = e.scratch_b
    cdef int64_t* tmp = e.scratch_c
    cdef int code
    for a in range(e.n):
        if e.role[a] == ROLE_TRADER and a != i and sgn(e.lots[a * e.m + k]) == -side:
            cand[n_cand] = a
            n_cand += 1
    if e.ranking == RANK_PRO_RATA:
        total = 0
        for x in range(n_cand):
            total += iabs(e.lots[cand[x] * e.m + k])
        return pro_rata_shares(e, k, n_cand, needed, total, count)
    if e.ranking == RANK_SEEDED:
        start = <Py_ssize_t>(splitmix64(e.adl_seed ^ seq_before) % <uint64_t>n_cand) \
            if n_cand else 0
        for x in range(n_cand):
            order[x] = cand[(start + x) % n_cand]
    else:
        for x in range(n_cand):
            code = score_of(e, x, cand[x], k)
            if code != C_OK:
                return code
            tmp[x] = x
        merge_sort(e, tmp, order, n_cand, cmp_score)
        for x in range(n_cand):
            order[x] = cand[tmp[x]]
    # allocate in order (order and cand may alias scratch: copy rows out first)
    for x in range(n_cand):
        tmp[x] = order[x]
    for x in range(n_cand):
        if needed == 0:
            break
        a = tmp[x]
        lots_a = iabs(e.lots[a * e.m + k])
        take = needed if needed < lots_a else lots_a
        e.scratch_a[got] = a
        e.scratch_b[got] = <int64_t>take
        got += 1
        needed -= take
    count[0] = got
    return C_OK


# -- auto-deleveraging at scale (LIQ-ADL-2) -----------------------------------------------------
#
# The scan above examines every account and sorts the candidates on every call; a cascade that
# deleverages many accounts pays that per call. The index keeps, per market k and side s, the
# candidates of a deleveraging of the other side: the traders whose position in k has sign s
# (the bankrupt account holds the other sign, so it is never among them). It gives the scan's
# allocation, entry for entry, because:
#
# * Membership, |lots| and the total are a snapshot (side, held) per (row, market) taken when
#   the row was last keyed. Every change to a trader's quote or positions passes through
#   add_quote or move_base, which mark the row dirty (adl_touch); every allocation first re-keys
#   the dirty rows in every market (O(m log N) each), so the snapshot equals the state.
# * A score (score_of) reads the row's quote, positions, costs and the marks (equity and
#   maintenance over all its markets), and nothing else: the profile's tables are fixed. So an
#   entry stays exact until its row changes (re-keyed: its (row, market) gen is bumped, which
#   makes the old entry stale) or a mark changes (set_mark bumps mark_version; a ranking whose
#   scores are from an older version is rebuilt, all members rescored, when it is next needed).
# * Scored policies keep a 4-ary heap per (market, side) on (score desc, row asc), the scan's
#   total order. An allocation pops the best entries, skipping stale ones, until the lots are
#   covered; each popped row is marked dirty and so re-keyed before the next allocation. A heap
#   suffices because an allocation only ever needs a prefix of the order. Stale entries are
#   dropped when popped, and the heap is compacted when it has keyed more than twice its
#   members since it was built.
# * A score that overflows makes the scan return OVERFLOW whoever else is a candidate; the
#   ranking counts its members whose score overflowed and returns OVERFLOW while any does.
# * The scan's allocation falls short only when the candidates' total is below the lots needed:
#   the index answers INSUFFICIENT_ADL_LIQUIDITY from the kept total without listing anyone.
# * Seeded: the candidates in row order are the members of a Fenwick tree over rows, so the
#   start-th candidate and each next one are found in O(log N).
# * Pro rata (needed < total): a member holding l lots gets floor(needed x l / total) and may
#   get one leftover lot by its remainder needed x l mod total. A member with needed x l < total
#   ("small") has no floor share and remainder needed x l itself, so the small members rank for
#   the leftover exactly in (l desc, row asc) order; the "big" ones (needed x l >= total, at
#   most ``needed`` of them, as each floor share is >= 1) come first in that order. So a heap
#   per (market, side) on (held lots desc, row asc) gives every big member and then at most
#   ``leftover`` small ones: the big ones are ranked by remainder explicitly, merged with the
#   small stream, and the first ``leftover`` get a lot. O(min(candidates, 2 x needed) x log N)
#   per call; when the total equals the lots needed everyone takes everything (an O(N) listing).
#
# Costs (N rows, m markets, t rows taken): a re-key O(m log N); a scored allocation O(t log N)
# plus the stale entries it pops (each created by one re-key, so amortized into it); a price
# move costs one O(N log N) rebuild of each ranking used after it (rescoring its members,
# then a linear heapify); seeded O(t log N) after an O(N) first build of its tree; pro rata as
# above, its heap (lots only) never rebuilt by a price move. An operation
# that changes the rows themselves (opening an account) must call adl_reset: the index is then
# built afresh at the next allocation.

cdef enum:
    ADL_INDEX = 0
    ADL_SCAN = 1
    ADL_VERIFY = 2
    C_ADL_MISMATCH = 102

ADL_MODES = {"index": ADL_INDEX, "scan": ADL_SCAN, "verify": ADL_VERIFY}
C_ADL_MISMATCH_CODE = C_ADL_MISMATCH


cdef inline Py_ssize_t rank_of(Py_ssize_t k, int side) noexcept nogil:
    return 2 * k + (0 if side > 0 else 1)


cdef void adl_free(Adl* d, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t r
    if d == NULL:
        return
    if d.ranks != NULL:
        for r in range(2 * m):
            free(d.ranks[r].heap)
            free(d.ranks[r].ents)
            free(d.ranks[r].fen)
    free(d.ranks)
    free(d.side)
    free(d.held)
    free(d.gen)
    free(d.err)
    free(d.dirty)
    free(d.dirty_list)
    free(d.check_rows)
    free(d.check_lots)
    free(d.work)
    free(d)


cdef void adl_reset(Eng* e) noexcept nogil:
    """Drop the index (the rows changed); the next allocation builds it afresh."""
    adl_free(e.adl, e.m)
    e.adl = NULL


cdef Adl* adl_new(Eng* e) noexcept nogil:
    """The index of the current state: membership, held lots and totals of every ranking; the
    heaps and trees are built when first needed. NULL when out of memory."""
    cdef Py_ssize_t n = e.n, m = e.m, nm = e.n * e.m, a, k, r
    cdef int64_t l
    cdef AdlRank* rank
    cdef Adl* d = <Adl*>calloc(1, sizeof(Adl))
    if d == NULL:
        return NULL
    d.side = <int8_t*>calloc(nm + 1, sizeof(int8_t))
    d.held = <int64_t*>calloc(nm + 1, sizeof(int64_t))
    d.gen = <int64_t*>calloc(nm + 1, sizeof(int64_t))
    d.err = <uint8_t*>calloc(nm + 1, sizeof(uint8_t))
    d.dirty = <uint8_t*>calloc(n + 1, sizeof(uint8_t))
    d.dirty_list = <int64_t*>calloc(n + 1, sizeof(int64_t))
    d.ranks = <AdlRank*>calloc(2 * m + 1, sizeof(AdlRank))
    if d.side == NULL or d.held == NULL or d.gen == NULL or d.err == NULL or d.dirty == NULL \
            or d.dirty_list == NULL or d.ranks == NULL:
        adl_free(d, m)
        return NULL
    for r in range(2 * m):
        d.ranks[r].built = -1
    for a in range(n):
        if e.role[a] != ROLE_TRADER:
            continue
        for k in range(m):
            l = e.lots[a * m + k]
            if l != 0:
                d.side[a * m + k] = 1 if l > 0 else -1
                d.held[a * m + k] = l if l > 0 else -l
                rank = &d.ranks[rank_of(k, d.side[a * m + k])]
                rank.members += 1
                rank.total += d.held[a * m + k]
    return d


# The heap: entry x before y when its score is higher, or equal with the smaller row (cmp_score's
# order). An entry is 24 bytes (a rounded key, the row, a ref to its exact score), so a sift at 10^6
# members moves a third of the bytes it would move with the exact 128-bit fraction inline, and most
# comparisons are one of doubles. The order stays exact: key = fl(fl(num) / fl(den)) (each of the
# three roundings to nearest, relative error at most 2^-53, so |key| = |score| (1 + e) with
# |e| < 3 x 2^-53 < 2^-51; num < 2^128 and den >= 1 keep it finite and normal, and a nonzero score
# has a nonzero key). When |key x| > |key y| x KEY_SEPARATION (1 + 2^-40, rounded, at least
# 1 + 2^-40 - 2^-53), |x| / |y| > (1 + 2^-41)(1 - 2^-51) / (1 + 2^-51) > 1: the keys decide only
# where that proves the exact order; closer keys (equal scores among them) compare the fractions
# exactly (eng_cmp_ufrac), then the rows.
cdef double KEY_SEPARATION = 1.0 + 2.0 ** -40


cdef inline double ent_key(int s, eng_u128 num, eng_u128 den) noexcept nogil:
    """The rounded key of the score s x num / den (den > 0); 0.0 exactly when it is 0."""
    cdef double q
    if s == 0 or num == 0:
        return 0.0
    q = <double>num / <double>den
    return q if s > 0 else -q


cdef inline bint ent_before(const AdlKey* x, const AdlKey* y, const AdlEnt* ents) noexcept nogil:
    cdef double a = x.key, b = y.key
    cdef int c
    cdef const AdlEnt* ex
    cdef const AdlEnt* ey
    if (a > 0.0 and b > 0.0) or (a < 0.0 and b < 0.0):
        if a < 0.0:
            a = -a
            b = -b
        if a > b * KEY_SEPARATION:
            c = 1
        elif b > a * KEY_SEPARATION:
            c = -1
        else:
            ex = &ents[x.ref]
            ey = &ents[y.ref]
            c = eng_cmp_ufrac(ex.num, ex.den, ey.num, ey.den)
        if x.key < 0.0:
            c = -c
        if c != 0:
            return c > 0
        return x.row < y.row
    if a != b:  # different signs, or one score 0: the signs decide, exactly
        return a > b
    return x.row < y.row


# The heaps of this file are 4-ary (node j's children are 4j + 1 .. 4j + 4): half the levels of a
# binary heap, so a pop at 10^6 entries waits for half as many cache misses; which entry is on
# top (the best, by a total order on the live entries) does not depend on the arity.
cdef inline Py_ssize_t heap_start(Py_ssize_t size) noexcept nogil:
    """One past the last node with a child: Floyd's heapify sifts down from there to 0."""
    return (size + 2) // 4


cdef void ent_sift_down(AdlKey* h, Py_ssize_t size, Py_ssize_t j, const AdlEnt* ents) noexcept nogil:
    cdef AdlKey moving = h[j]
    cdef Py_ssize_t first, last, best, c
    while True:
        first = 4 * j + 1
        if first >= size:
            break
        if 16 * j + 20 < size:  # the next level's sixteen entries, asked for while these compare
            __builtin_prefetch(&h[16 * j + 5])
            __builtin_prefetch(&h[16 * j + 10])
            __builtin_prefetch(&h[16 * j + 15])
            __builtin_prefetch(&h[16 * j + 20])
        last = first + 4 if first + 4 < size else size
        best = first
        for c in range(first + 1, last):
            if ent_before(&h[c], &h[best], ents):
                best = c
        if not ent_before(&h[best], &moving, ents):
            break
        h[j] = h[best]
        j = best
    h[j] = moving


cdef void ent_sift_up(AdlKey* h, Py_ssize_t j, const AdlEnt* ents) noexcept nogil:
    cdef AdlKey moving = h[j]
    cdef Py_ssize_t parent
    while j > 0:
        parent = (j - 1) // 4
        if not ent_before(&moving, &h[parent], ents):
            break
        h[j] = h[parent]
        j = parent
    h[j] = moving


cdef int ent_reserve(AdlRank* rank, Py_ssize_t want) noexcept nogil:
    """Room for ``want`` heap entries and as many exact ones."""
    cdef AdlKey* grown
    cdef AdlEnt* grown_ents
    cdef Py_ssize_t cap
    if want > rank.cap:
        cap = 2 * rank.cap + 16
        if cap < want:
            cap = want
        grown = <AdlKey*>realloc(rank.heap, cap * sizeof(AdlKey))
        if grown == NULL:
            return C_OVERFLOW  # out of memory: reported, never a wrap
        rank.heap = grown
        rank.cap = cap
    if want > rank.capents:
        cap = 2 * rank.capents + 16
        if cap < want:
            cap = want
        grown_ents = <AdlEnt*>realloc(rank.ents, cap * sizeof(AdlEnt))
        if grown_ents == NULL:
            return C_OVERFLOW
        rank.ents = grown_ents
        rank.capents = cap
    return C_OK


cdef int ent_score(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t a, Py_ssize_t k,
                   bint sift) noexcept nogil:
    """Score (a, k) into the ranking (appended, then sifted up when ``sift``), or count it as
    an overflow."""
    cdef Py_ssize_t at = a * e.m + k
    cdef AdlEnt* ent
    cdef AdlKey* key
    if e.ranking == RANK_PRO_RATA:  # keyed by the lots held
        e.score_sgn[0] = 1
        e.score_num[0] = <eng_u128>d.held[at]
        e.score_den[0] = 1
    elif score_of(e, 0, a, k) != C_OK:
        rank.errors += 1
        d.err[at] = 1
        return C_OK
    if ent_reserve(rank, rank.nents + 1) != C_OK:  # the heap never holds more than nents
        return C_OVERFLOW
    ent = &rank.ents[rank.nents]
    ent.sgn = e.score_sgn[0]
    ent.num = e.score_num[0]
    ent.den = e.score_den[0]
    ent.gen = d.gen[at]
    key = &rank.heap[rank.size]
    key.key = ent_key(ent.sgn, ent.num, ent.den)
    key.row = a
    key.ref = rank.nents
    rank.nents += 1
    rank.size += 1
    if sift:
        ent_sift_up(rank.heap, rank.size - 1, rank.ents)
    return C_OK


cdef int adl_rebuild(Eng* e, Adl* d, Py_ssize_t k, int side) noexcept nogil:
    """Key every member of ranking (k, side) (scores at the current marks); heapify."""
    cdef AdlRank* rank = &d.ranks[rank_of(k, side)]
    cdef Py_ssize_t a, j, at
    cdef int code
    rank.size = 0
    rank.nents = 0
    rank.errors = 0
    if ent_reserve(rank, rank.members) != C_OK:
        return C_OVERFLOW
    for a in range(e.n):
        at = a * e.m + k
        if d.side[at] == side:
            d.err[at] = 0
            code = ent_score(e, d, rank, a, k, False)
            if code != C_OK:
                return code
    j = heap_start(rank.size)
    while j > 0:
        j -= 1
        ent_sift_down(rank.heap, rank.size, j, rank.ents)
    rank.built = d.mark_version
    d.rebuilds += 1
    return C_OK


cdef int adl_compact(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k) noexcept nogil:
    """Drop the stale entries of a heap (and their exact scores) and heapify what is left."""
    cdef Py_ssize_t x, kept = 0, j
    cdef AdlKey* h = rank.heap
    cdef AdlEnt* ents = <AdlEnt*>malloc((rank.size + 1) * sizeof(AdlEnt))
    if ents == NULL:
        return C_OVERFLOW
    for x in range(rank.size):
        if rank.ents[h[x].ref].gen == d.gen[h[x].row * e.m + k]:
            ents[kept] = rank.ents[h[x].ref]
            h[kept] = h[x]
            h[kept].ref = kept
            kept += 1
    free(rank.ents)
    rank.ents = ents
    rank.capents = rank.size + 1
    rank.nents = kept
    rank.size = kept
    j = heap_start(kept)
    while j > 0:
        j -= 1
        ent_sift_down(h, kept, j, ents)
    d.compactions += 1
    return C_OK


# a Fenwick tree of 0/1 membership over rows 0..n-1 (1-based inside)
cdef inline void fen_add(int32_t* f, Py_ssize_t n, Py_ssize_t row, int32_t v) noexcept nogil:
    cdef Py_ssize_t j = row + 1
    while j <= n:
        f[j] += v
        j += j & -j


cdef Py_ssize_t fen_kth(const int32_t* f, Py_ssize_t n, int64_t kth) noexcept nogil:
    """The row of the kth member (1-based) in row order."""
    cdef Py_ssize_t pos = 0, step = 1
    while step * 2 <= n:
        step *= 2
    while step > 0:
        if pos + step <= n and f[pos + step] < kth:
            pos += step
            kth -= f[pos]
        step //= 2
    return pos


cdef int fen_build(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k, int side) noexcept nogil:
    cdef Py_ssize_t n = e.n, j, parent
    cdef int32_t* f = <int32_t*>calloc(n + 1, sizeof(int32_t))
    if f == NULL:
        return C_OVERFLOW
    for j in range(1, n + 1):
        if d.side[(j - 1) * e.m + k] == side:
            f[j] += 1
        parent = j + (j & -j)
        if parent <= n:
            f[parent] += f[j]
    rank.fen = f
    return C_OK


cdef inline bint adl_heaped(const Eng* e) noexcept nogil:
    """Rankings kept in a heap: the scored policies and pro rata (by held lots)."""
    return e.ranking != RANK_SEEDED


cdef inline bint rank_fresh(const Eng* e, const Adl* d, const AdlRank* rank) noexcept nogil:
    """The heap holds every member's current key: scores are as of the current marks; pro
    rata's key (held lots) does not depend on them."""
    if e.ranking == RANK_PRO_RATA:
        return rank.built >= 0
    return rank.built == d.mark_version


#: changed rows fetched ahead of the one re-keyed (a hint only: nothing is read or changed)
cdef Py_ssize_t ADL_PREFETCH_AHEAD = 8


cdef int adl_rekey(Eng* e, Adl* d, Py_ssize_t a) noexcept nogil:
    """Re-key a changed row in every market: membership, held lots, totals, trees, scores."""
    cdef Py_ssize_t k, at
    cdef int64_t l
    cdef int old, new
    cdef AdlRank* rank
    for k in range(e.m):
        at = a * e.m + k
        old = d.side[at]
        l = e.lots[at] if e.role[a] == ROLE_TRADER else 0
        new = 0 if l == 0 else (1 if l > 0 else -1)
        if old == 0 and new == 0:
            continue
        d.gen[at] += 1  # the row's entry, if any, is stale from here
        if old != 0:
            rank = &d.ranks[rank_of(k, old)]
            if d.err[at]:
                rank.errors -= 1
                d.err[at] = 0
            rank.members -= 1
            rank.total -= d.held[at]
            if rank.fen != NULL:
                fen_add(rank.fen, e.n, a, -1)
        d.side[at] = <int8_t>new
        d.held[at] = l if l > 0 else -l
        if new != 0:
            rank = &d.ranks[rank_of(k, new)]
            rank.members += 1
            rank.total += d.held[at]
            if rank.fen != NULL:
                fen_add(rank.fen, e.n, a, 1)
            if adl_heaped(e) and rank_fresh(e, d, rank):
                if ent_score(e, d, rank, a, k, True) != C_OK:
                    return C_OVERFLOW
                if rank.nents > 2 * rank.members + 64 and adl_compact(e, d, rank, k) != C_OK:
                    return C_OVERFLOW
        d.rekeys += 1
    return C_OK


cdef int adl_flush(Eng* e, Adl* d) noexcept nogil:
    cdef Py_ssize_t x, a, ahead
    for x in range(d.ndirty):
        if x + ADL_PREFETCH_AHEAD < d.ndirty:  # the rows are in touch order: at random
            ahead = d.dirty_list[x + ADL_PREFETCH_AHEAD]
            __builtin_prefetch(&e.lots[ahead * e.m])
            __builtin_prefetch(&e.role[ahead])
            __builtin_prefetch(&d.side[ahead * e.m])
            __builtin_prefetch(&d.gen[ahead * e.m])
            __builtin_prefetch(&d.held[ahead * e.m])
            __builtin_prefetch(&d.err[ahead * e.m])
        a = d.dirty_list[x]
        d.dirty[a] = 0
        if adl_rekey(e, d, a) != C_OK:
            return C_OVERFLOW
    d.ndirty = 0
    return C_OK


cdef int cmp_pro_rata(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """Entries x, y of the pro-rata work list: larger remainder first, then the smaller row."""
    cdef const int64_t* rows = e.adl.work
    if e.score_num[x] != e.score_num[y]:
        return -1 if e.score_num[x] > e.score_num[y] else 1
    return -1 if rows[x] < rows[y] else (1 if rows[x] > rows[y] else 0)


cdef int cmp_work_row(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    cdef const int64_t* rows = e.adl.work
    return -1 if rows[x] < rows[y] else (1 if rows[x] > rows[y] else 0)


cdef inline void drop_top(AdlRank* rank) noexcept nogil:
    rank.size -= 1
    if rank.size > 0:
        rank.heap[0] = rank.heap[rank.size]
        ent_sift_down(rank.heap, rank.size, 0, rank.ents)


cdef inline bint adl_peek(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k) noexcept nogil:
    """Drop stale entries from the top of the heap; False when it is empty."""
    while rank.size > 0:
        if rank.ents[rank.heap[0].ref].gen == d.gen[rank.heap[0].row * e.m + k]:
            return True
        drop_top(rank)
        d.stale += 1
    return False


cdef int pro_rata_index(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k, eng_i128 needed,
                        Py_ssize_t* count) noexcept nogil:
    """Pro rata from the held-lots heap when the members hold more than ``needed`` (see the
    section's notes): pro_rata_shares' allocation, rows in scratch_a, lots in scratch_b."""
    cdef Py_ssize_t n1 = e.n + 1, npop = 0, nbig, x, b, sm, got = 0, merged
    cdef int64_t* rows
    cdef int64_t* share
    cdef int64_t* order
    cdef eng_i128 exact, leftover = needed, total = rank.total
    cdef AdlKey top
    if d.work == NULL:
        d.work = <int64_t*>malloc(3 * n1 * sizeof(int64_t))
        if d.work == NULL:
            return C_OVERFLOW
    rows = d.work
    share = d.work + n1
    order = d.work + 2 * n1
    # the big members (a floor share of at least one lot), in held-lots order
    while adl_peek(e, d, rank, k):
        top = rank.heap[0]
        exact = needed * d.held[top.row * e.m + k]
        if exact < total:
            break
        drop_top(rank)
        rows[npop] = top.row
        share[npop] = <int64_t>(exact / total)
        e.score_num[npop] = <eng_u128>(exact % total)
        order[npop] = npop
        leftover -= exact / total
        npop += 1
    nbig = npop
    # the largest small members, as many as there are leftover lots (remainder = needed x lots)
    while npop - nbig < leftover and adl_peek(e, d, rank, k):
        top = rank.heap[0]
        drop_top(rank)
        rows[npop] = top.row
        share[npop] = 0
        e.score_num[npop] = <eng_u128>(needed * d.held[top.row * e.m + k])
        npop += 1
    merge_sort(e, order, e.scratch_c, nbig, cmp_pro_rata)
    # merge the big (by remainder) with the small stream (already in remainder order)
    b = 0
    sm = nbig
    merged = 0
    while merged < leftover and (b < nbig or sm < npop):
        if sm >= npop or (b < nbig and cmp_pro_rata(e, order[b], sm) < 0):
            share[order[b]] += 1
            b += 1
        else:
            share[sm] += 1
            sm += 1
        merged += 1
    # the allocation in row order: every member with a share
    for x in range(npop):
        adl_touch(e, rows[x])  # out of the heap now: re-keyed before the next allocation
        if share[x] > 0:
            order[got] = x
            got += 1
    merge_sort(e, order, e.scratch_c, got, cmp_work_row)
    for x in range(got):
        e.scratch_a[x] = rows[order[x]]
        e.scratch_b[x] = share[order[x]]
    d.taken += npop
    count[0] = got
    return C_OK


cdef int adl_allocation_index(Eng* e, Py_ssize_t i, Py_ssize_t k, uint64_t seq_before,
                              Py_ssize_t* count) noexcept nogil:
    """LIQ-ADL-2 from the index: the scan's allocation (rows in scratch_a, lots in scratch_b),
    or INSUFFICIENT_ADL_LIQUIDITY when the candidates hold fewer lots than needed (the scan's
    allocation then falls short), or the scan's OVERFLOW."""
    cdef int64_t position = e.lots[i * e.m + k]
    cdef int side = -sgn(position)   # the candidates' side
    cdef eng_i128 needed = iabs(position), take, lots_a
    cdef Py_ssize_t got = 0, a, n_cand = 0
    cdef int64_t j
    cdef Adl* d
    cdef AdlRank* rank
    cdef AdlKey top
    if e.adl == NULL:
        e.adl = adl_new(e)
        if e.adl == NULL:
            return C_OVERFLOW  # out of memory: reported, never a wrong answer
    d = e.adl
    if adl_flush(e, d) != C_OK:
        return C_OVERFLOW
    rank = &d.ranks[rank_of(k, side)]
    if adl_heaped(e):
        if not rank_fresh(e, d, rank) and adl_rebuild(e, d, k, side) != C_OK:
            return C_OVERFLOW
        if rank.errors > 0:
            return C_OVERFLOW  # a candidate's score left the domain, as in the scan
    if rank.total < needed:
        return C_INSUFFICIENT_ADL_LIQUIDITY
    if e.ranking == RANK_PRO_RATA:
        if rank.total > needed:
            return pro_rata_index(e, d, rank, k, needed, count)
        for a in range(e.n):  # everyone takes everything
            if d.side[a * e.m + k] == side:
                e.scratch_a[n_cand] = a
                n_cand += 1
        return pro_rata_shares(e, k, n_cand, needed, rank.total, count)
    if e.ranking == RANK_SEEDED:
        if rank.fen == NULL and fen_build(e, d, rank, k, side) != C_OK:
            return C_OVERFLOW
        j = <int64_t>(splitmix64(e.adl_seed ^ seq_before) % <uint64_t>rank.members)
        while needed > 0:
            a = fen_kth(rank.fen, e.n, j + 1)
            lots_a = d.held[a * e.m + k]
            take = needed if needed < lots_a else lots_a
            e.scratch_a[got] = a
            e.scratch_b[got] = <int64_t>take
            got += 1
            needed -= take
            j = j + 1 if j + 1 < rank.members else 0
        d.taken += got
        count[0] = got
        return C_OK
    while needed > 0:
        if not adl_peek(e, d, rank, k):
            return C_ADL_MISMATCH  # the kept total says the heap cannot run dry: a defect
        top = rank.heap[0]
        drop_top(rank)
        lots_a = d.held[top.row * e.m + k]
        take = needed if needed < lots_a else lots_a
        e.scratch_a[got] = top.row
        e.scratch_b[got] = <int64_t>take
        got += 1
        needed -= take
        adl_touch(e, top.row)  # out of the heap now: re-keyed before the next allocation
    d.taken += got
    count[0] = got
    return C_OK


cdef int adl_allocation(Eng* e, Py_ssize_t i, Py_ssize_t k, uint64_t seq_before,
                        Py_ssize_t* count) noexcept nogil:
    """LIQ-ADL-2: who takes how many lots, in execution order (rows in scratch_a, lots in
    scratch_b, ``count`` entries), or INSUFFICIENT_ADL_LIQUIDITY when the opposite side holds
    too few lots. From the index, by the scan (``ADL_SCAN``), or both compared (``ADL_VERIFY``:
    C_ADL_MISMATCH on any difference)."""
    cdef Py_ssize_t n_index, n_scan, x
    cdef int code, code_scan
    cdef eng_i128 allocated = 0
    cdef Adl* d
    if e.adl_mode == ADL_SCAN:
        return adl_allocation_scan(e, i, k, seq_before, count)
    code = adl_allocation_index(e, i, k, seq_before, count)
    if e.adl_mode != ADL_VERIFY or code == C_ADL_MISMATCH:
        return code
    d = e.adl
    if d == NULL:
        return C_ADL_MISMATCH
    if d.check_rows == NULL:
        d.check_rows = <int64_t*>malloc((e.n + 1) * sizeof(int64_t))
        d.check_lots = <int64_t*>malloc((e.n + 1) * sizeof(int64_t))
        if d.check_rows == NULL or d.check_lots == NULL:
            return C_OVERFLOW
    n_index = count[0] if code == C_OK else 0
    for x in range(n_index):
        d.check_rows[x] = e.scratch_a[x]
        d.check_lots[x] = e.scratch_b[x]
    code_scan = adl_allocation_scan(e, i, k, seq_before, &n_scan)
    d.checks += 1
    if code_scan == C_OK:
        for x in range(n_scan):
            allocated += e.scratch_b[x]
    if code == C_INSUFFICIENT_ADL_LIQUIDITY:  # the scan's allocation must fall short
        if code_scan != C_OK or allocated >= iabs(e.lots[i * e.m + k]):
            return C_ADL_MISMATCH
    elif code != code_scan:
        return C_ADL_MISMATCH
    elif code == C_OK:
        if n_scan != n_index:
            return C_ADL_MISMATCH
        for x in range(n_index):
            if d.check_rows[x] != e.scratch_a[x] or d.check_lots[x] != e.scratch_b[x]:
                return C_ADL_MISMATCH
    return code


cdef int adl_receive(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots,
                     eng_i128* out) noexcept nogil:
    """LIQ-ADL-4: the quote the bankrupt account receives for closing ``lots`` (negative: pays),
    at the bankruptcy value or at the mark."""
    cdef int64_t before, after, v_before, v_after
    if e.adl_price != ADL_AT_MARK:
        return bankruptcy_value(e, i, k, lots, out)
    if closing_values(e, i, k, lots, &before, &after, &v_before, &v_after) != C_OK:
        return C_OVERFLOW
    out[0] = <eng_i128>v_before - v_after
    return C_OK


cdef int closing_values(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots, int64_t* before,
                        int64_t* after, int64_t* v_before, int64_t* v_after) noexcept nogil:
    """The position before and after closing ``lots`` of it, and their values at the mark
    (LIQ-MARGIN-1); OVERFLOW where either leaves int64."""
    cdef eng_i128 change
    before[0] = e.lots[i * e.m + k]
    change = before[0] - sgn(before[0]) * <eng_i128>lots
    if not eng_fits(change):
        return C_OVERFLOW  # a position beyond int64 has no int64 value (LIQ-MARGIN-1)
    after[0] = <int64_t>change
    if value_of(e, after[0], k, e.marks[k], v_after) != C_OK \
            or value_of(e, before[0], k, e.marks[k], v_before) != C_OK:
        return C_OVERFLOW
    return C_OK


cdef int bankruptcy_value(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots,
                          eng_i128* out) noexcept nogil:
    """LIQ-ADL-4 (prices.bankruptcy_value_quote): the quote received for closing ``lots`` at the
    bankruptcy price, -DNNV - floor(TNC x |DMMR| / TMMR) (negative: paid)."""
    cdef int64_t before, after, v_before, v_after, eq, total_mm
    cdef int64_t mm_before, mm_after
    cdef eng_i128 change, released
    if closing_values(e, i, k, lots, &before, &after, &v_before, &v_after) != C_OK:
        return C_OVERFLOW
    change = <eng_i128>v_after - v_before
    if equity_of(e, i, &eq) != C_OK or maint_total(e, i, &total_mm) != C_OK:
        return C_OVERFLOW
    if position_maint(e, i, k, before, &mm_before) != C_OK \
            or position_maint(e, i, k, after, &mm_after) != C_OK:
        return C_OVERFLOW
    released = <eng_i128>mm_before - mm_after
    if total_mm <= 0:
        return C_ZERO_DIVISION
    out[0] = -change - floor_div(<eng_i128>eq * released, total_mm)
    return C_OK


cdef struct AdlOut:
    int64_t lots
    Py_ssize_t counterparties
    bint settled
    eng_i128 fund_paid
    eng_i128 written_off


cdef int deleverage(Eng* e, Py_ssize_t i, Py_ssize_t k, AdlOut* out) noexcept nogil:
    """LIQ-ADL-1/3 after the adapter's checks (account, market, role, policy): the position, the
    trigger (with a book) or bankruptcy (without), the fund, the allocation, then the fills at
    the bankruptcy value (or the mark) and the settlements."""
    cdef int64_t position = e.lots[i * e.m + k], eq, lots
    cdef bint liq, closable
    cdef Py_ssize_t count, x, cp
    cdef eng_i128 allocated = 0, receives, paid, written
    cdef uint64_t seq_before = <uint64_t>(e.seq - 1)
    cdef int code
    if position == 0:
        return C_NO_POSITION
    if e.has_book[k]:
        if liquidatable(e, i, &liq) != C_OK:
            return C_OVERFLOW
        if not liq:
            return C_NOT_LIQUIDATABLE
    else:
        if equity_of(e, i, &eq) != C_OK:
            return C_OVERFLOW
        if eq >= 0:
            return C_NOT_BANKRUPT
    code = closable_within_fund(e, i, k, &closable)
    if code != C_OK:
        return code
    if closable:
        return C_FUND_CAN_COVER
    code = adl_allocation(e, i, k, seq_before, &count)
    if code != C_OK:
        return code
    for x in range(count):
        allocated += e.scratch_b[x]
    if allocated < iabs(position):
        return C_INSUFFICIENT_ADL_LIQUIDITY
    # atomic from here on; scratch_a / scratch_b hold the allocation and are not reused below
    for x in range(count):
        cp = e.scratch_a[x]
        lots = e.scratch_b[x]
        code = adl_receive(e, i, k, lots, &receives)
        if code != C_OK:
            return code
        if position > 0:
            code = do_fill(e, k, cp, i, lots, receives, e.marks[k],
                           e.adl_price == ADL_AT_MARK, R_ADL_3)
        else:
            code = do_fill(e, k, i, cp, lots, -receives, e.marks[k],
                           e.adl_price == ADL_AT_MARK, R_ADL_3)
        if code != C_OK:
            return code
    out.lots = <int64_t>iabs(position)
    out.counterparties = count
    out.settled = False
    out.fund_paid = 0
    out.written_off = 0
    if is_flat(e, i) and e.quote[i] < 0:
        if settle_deficit(e, i, &paid, &written) != C_OK:
            return C_OVERFLOW
        out.settled = True
        out.fund_paid += paid
        out.written_off += written
    for x in range(count):
        cp = e.scratch_a[x]
        if is_flat(e, cp) and e.quote[cp] < 0:
            if settle_deficit(e, cp, &paid, &written) != C_OK:
                return C_OVERFLOW
            out.settled = True
            out.fund_paid += paid
            out.written_off += written
    return C_OK


# -- socialized loss (LIQ-SOCIAL-2) and funding (LIQ-FUNDING-1/2) -------------------------------

cdef int sweep_residual(Eng* e, int64_t holder, int rule, eng_i128* moved) noexcept nogil:
    """LIQ-ROUND-3: a positive residual left with ``holder`` goes to the fee sink."""
    cdef int64_t residual = e.holders[-holder - 1]
    moved[0] = residual if residual > 0 else 0
    if residual > 0:
        return transfer(e, holder, H_FEE_SINK, residual, rule)
    return C_OK


cdef struct SocialOut:
    eng_i128 loss
    eng_i128 charged


cdef int socialize_loss(Eng* e, Py_ssize_t k, int side, SocialOut* out) noexcept nogil:
    """After the adapter's checks (market, side, policy): charge the recorded bad debt to the
    traders on ``side`` pro rata to their lots, each charge rounded up, the residual swept."""
    cdef eng_i128 loss = -(<eng_i128>e.holders[3]), total = 0, charge, moved
    cdef Py_ssize_t a
    cdef int code
    if loss <= 0:
        return C_NOTHING_TO_SOCIALIZE
    for a in range(e.n):
        if e.role[a] == ROLE_TRADER and sgn(e.lots[a * e.m + k]) == side:
            total += iabs(e.lots[a * e.m + k])
    if total == 0:
        return C_NO_SOCIALIZATION_BASE
    out.loss = loss
    out.charged = 0
    for a in range(e.n):
        if e.role[a] == ROLE_TRADER and sgn(e.lots[a * e.m + k]) == side:
            charge = ceil_div(loss * iabs(e.lots[a * e.m + k]), total)
            code = transfer(e, a, H_SOCIALIZED_LOSS, charge, R_SOCIAL_2)
            if code != C_OK:
                return code
            out.charged += charge
    return sweep_residual(e, H_SOCIALIZED_LOSS, R_ROUND_3, &moved)


cdef int apply_funding(Eng* e, Py_ssize_t k, int64_t rate_ppm, eng_i128* residual) noexcept nogil:
    """After the adapter's checks (market, rate): every position owes value x rate (owing rounds
    up, being owed down), collected into the pool first, then paid out; the residual swept."""
    cdef Py_ssize_t a
    cdef int64_t v
    cdef eng_i128 owed
    cdef int64_t* amounts = e.scratch_a
    cdef int code
    for a in range(e.n):
        if e.lots[a * e.m + k] == 0:
            continue
        if value_of(e, e.lots[a * e.m + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        owed = ceil_div(<eng_i128>v * rate_ppm, PPM)
        if not eng_fits(owed):
            return C_OVERFLOW  # only -2^63 at -100% (compare.py)
        amounts[a] = <int64_t>owed
    for a in range(e.n):
        if e.lots[a * e.m + k] != 0 and amounts[a] > 0:
            code = transfer(e, a, H_FUNDING_POOL, amounts[a], R_FUNDING_1)
            if code != C_OK:
                return code
    for a in range(e.n):
        if e.lots[a * e.m + k] != 0 and amounts[a] < 0:
            code = transfer(e, H_FUNDING_POOL, a, -(<eng_i128>amounts[a]), R_FUNDING_1)
            if code != C_OK:
                return code
    return sweep_residual(e, H_FUNDING_POOL, R_FUNDING_2, residual)


# -- the cascade (LIQ-CASCADE-*, LIQ-MARK-2, LIQ-BOOK-1) ------------------------------------------

EVENT_KIND_NAMES = ("step", "mark", "liquidation_fill", "fee", "insurance_payout", "write_off",
                    "adl_fill", "backstop", "socialize", "unresolved", "fill", "transfer")
EVENT_RULE_IDS = RULE_IDS + ("LIQ-CASCADE-4", "LIQ-MARK-2", "LIQ-CASCADE-2")
cdef enum:
    EV_STEP = 0
    EV_MARK = 1
    EV_LIQUIDATION_FILL = 2
    EV_FEE = 3
    EV_INSURANCE_PAYOUT = 4
    EV_WRITE_OFF = 5
    EV_ADL_FILL = 6
    EV_BACKSTOP = 7
    EV_SOCIALIZE = 8
    EV_UNRESOLVED = 9
    EV_FILL = 10
    EV_TRANSFER = 11
    R_CASCADE_4 = 14
    R_MARK_2 = 15
    R_CASCADE_2 = 16
    DETAIL_NONE = 0
    DETAIL_COUNTERPARTY = 1
    DETAIL_TRANSFER = 2
    DETAIL_UNRESOLVED = 3
    MARK_INDEX_BAND = 0
    MARK_LAST_FILL = 1
    NO_DUE = -1

cdef int64_t EV_NONE = INT64_MIN
EV_NONE_VALUE = EV_NONE


cdef int event(Eng* e, int kind, int64_t account, Py_ssize_t market, int64_t lots, int64_t price,
               bint has_price, int64_t quote, int rule, int detail, int64_t d1,
               int64_t d2) noexcept nogil:
    cdef Cas* c = e.cas
    cdef Ev* grown
    cdef Ev* v
    if c.nev == c.capev:
        if c.evs_shared:  # the exported trace keeps its buffer: continue in a copy
            grown = <Ev*>malloc((2 * c.capev + 64) * sizeof(Ev))
            if grown != NULL and c.nev:
                memcpy(grown, c.evs, c.nev * sizeof(Ev))
            c.evs_shared = False
        else:
            grown = <Ev*>realloc(c.evs, (2 * c.capev + 64) * sizeof(Ev))
        if grown == NULL:
            return C_OVERFLOW
        c.evs = grown
        c.capev = 2 * c.capev + 64
    v = &c.evs[c.nev]
    v.step = c.step
    v.round = c.round
    v.kind = kind
    v.account = account
    v.market = market
    v.lots = lots
    v.price = price
    v.has_price = has_price
    v.quote = quote
    v.rule = rule
    v.detail = detail
    v.d1 = d1
    v.d2 = d2
    c.nev += 1
    return C_OK


cdef int record_receipt(Eng* e, int64_t subject, Py_ssize_t first) noexcept nogil:
    """The reference's _Recorder.receipt: an operation's journal records as trace events."""
    cdef Cas* c = e.cas
    cdef Py_ssize_t r
    cdef Rec* rec
    cdef Rec* following
    cdef int kind
    cdef int64_t account
    for r in range(first, e.nrec):
        rec = &e.recs[r]
        if rec.kind == K_FILL:
            if rec.rule == R_EXEC_2:
                kind = EV_LIQUIDATION_FILL
            elif rec.rule == R_ADL_3:
                kind = EV_ADL_FILL
            elif rec.rule == R_BACKSTOP_1:
                kind = EV_BACKSTOP
            else:
                kind = EV_FILL
            if event(e, kind, subject, rec.market, rec.lots if rec.a == subject else -rec.lots,
                     rec.price, rec.has_price, rec.amount, rec.rule, DETAIL_COUNTERPARTY,
                     rec.a if rec.b == subject else rec.b, 0) != C_OK:
                return C_OVERFLOW
            if not c.liquidated[subject]:
                c.liquidated[subject] = 1
                c.n_liquidated += 1
            if kind == EV_LIQUIDATION_FILL:
                c.fills += 1
        else:
            if r + 1 < e.nrec:
                following = &e.recs[r + 1]
                if following.kind == K_FILL and following.rule == rec.rule:
                    continue  # the cash leg of the fill that follows
            if rec.rule == R_FEE_1:
                kind = EV_FEE
            elif rec.rule == R_INSURANCE_1:
                kind = EV_INSURANCE_PAYOUT
            elif rec.rule == R_SOCIAL_1:
                kind = EV_WRITE_OFF
            elif rec.rule == R_SOCIAL_2 or rec.rule == R_ROUND_3:
                kind = EV_SOCIALIZE
            elif rec.rule == R_BACKSTOP_1:
                kind = EV_BACKSTOP
            else:
                kind = EV_TRANSFER
            account = rec.b if rec.a == H_INSURANCE_FUND or rec.a == H_SOCIALIZED_LOSS else rec.a
            if event(e, kind, account, -1, 0, 0, False, rec.amount, rec.rule, DETAIL_TRANSFER,
                     rec.a, rec.b) != C_OK:
                return C_OVERFLOW
    if not c.keep_journal:
        e.nrec = first  # in the trace now; nothing else reads them (cascade_arrays)
    return C_OK


cdef inline void band(const Cas* c, int64_t index, eng_i128* low, eng_i128* high) noexcept nogil:
    """The band around the index, its bounds rounded toward the index (LIQ-MARK-2)."""
    low[0] = ceil_div(<eng_i128>index * (PPM - c.band_ppm), PPM)
    high[0] = floor_div(<eng_i128>index * (PPM + c.band_ppm), PPM)


cdef int set_mark(Eng* e, Py_ssize_t k, eng_i128 price) noexcept nogil:
    """LIQ-MARK-1 as one operation (its own seq)."""
    if price <= 0 or not eng_fits(price):
        return C_INVALID_PRICE
    e.seq += 1
    if e.track:
        e.clock += iabs(price - e.marks[k])
    if e.adl != NULL:
        e.adl.mark_version += 1  # every score may move: rankings rebuild when next needed
    e.marks[k] = <int64_t>price
    return C_OK


cdef int build_ladder(Eng* e, Py_ssize_t k, int64_t levels, int64_t spacing_ppm,
                      int64_t lots_per_level, int64_t book_row) noexcept nogil:
    """LIQ-BOOK-1: a fresh ladder of ``levels`` levels (at most the book capacity) around the
    mark, owned by ``book_row``: bids rounded down and asks up, levels that round onto one tick
    merged; one operation (its own seq)."""
    cdef int64_t* bp = e.bid_px + k * e.book_cap
    cdef int64_t* bl = e.bid_lots + k * e.book_cap
    cdef int64_t* ap = e.ask_px + k * e.book_cap
    cdef int64_t* al = e.ask_lots + k * e.book_cap
    cdef Py_ssize_t nb = 0, na = 0, j
    cdef eng_i128 bid, ask, mark = e.marks[k]
    for j in range(1, levels + 1):
        bid = floor_div(mark * (PPM - j * spacing_ppm), PPM)
        ask = ceil_div(mark * (PPM + j * spacing_ppm), PPM)
        if bid > 0:
            if nb and bp[nb - 1] == bid:
                # merged levels keep their lots in int64 (LIQ-DOMAIN-1)
                if not eng_fits(<eng_i128>bl[nb - 1] + lots_per_level):
                    return C_OVERFLOW
                bl[nb - 1] += lots_per_level
            else:
                bp[nb] = <int64_t>bid
                bl[nb] = lots_per_level
                nb += 1
        if ask > 0:
            if not eng_fits(ask):
                return C_OVERFLOW  # a book price beyond int64 (only for marks near 2^63)
            if na and ap[na - 1] == ask:
                if not eng_fits(<eng_i128>al[na - 1] + lots_per_level):
                    return C_OVERFLOW
                al[na - 1] += lots_per_level
            else:
                ap[na] = <int64_t>ask
                al[na] = lots_per_level
                na += 1
    e.bid_head[k] = 0
    e.bid_end[k] = nb
    e.ask_head[k] = 0
    e.ask_end[k] = na
    e.has_book[k] = 1
    e.book_acct[k] = book_row
    e.book_touched[k] = 1
    e.seq += 1
    return C_OK


cdef int replace_book(Eng* e, Py_ssize_t k) noexcept nogil:
    """LIQ-BOOK-1 with the cascade's book shape and book account; one operation (its own seq)."""
    cdef Cas* c = e.cas
    return build_ladder(e, k, c.levels[k], c.spacing_ppm[k], c.lots_per_level[k], c.book_row)


cdef int open_step(Eng* e) noexcept nogil:
    """LIQ-CASCADE-4: every path market, in id order, opens its mark (LIQ-MARK-2) and gets a
    fresh book (LIQ-BOOK-1)."""
    cdef Cas* c = e.cas
    cdef Py_ssize_t x, k
    cdef eng_i128 opening, low, high, prev
    cdef int code
    c.round = 0
    c.rounds = 0
    c.step_notional = 0
    c.step_adl = 0
    c.step_written_off = 0
    for x in range(c.n_cfg):
        k = c.cfg_cols[x]
        if c.mark_kind == MARK_LAST_FILL:
            opening = c.index[k]
        else:
            prev = c.prev_index[k] if c.has_prev else e.marks[k]
            band(c, c.index[k], &low, &high)
            opening = <eng_i128>c.index[k] + e.marks[k] - prev
            if opening < low:
                opening = low
            if opening > high:
                opening = high
        code = set_mark(e, k, opening)
        if code != C_OK:
            return code
        if e.marks[k] < c.lowest[k]:
            c.lowest[k] = e.marks[k]
        code = replace_book(e, k)
        if code != C_OK:
            return code
        if event(e, EV_STEP, EV_NONE, k, 0, c.index[k], True, 0, R_CASCADE_4, DETAIL_NONE,
                 0, 0) != C_OK:
            return C_OVERFLOW
    return C_OK


cdef int cmp_due(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """LIQ-CASCADE-1: ascending equity / maintenance (exactly; both maintenances > 0), then id."""
    cdef const Cas* c = e.cas
    cdef eng_i128 left = <eng_i128>c.due_eq[x] * c.due_mm[y]
    cdef eng_i128 right = <eng_i128>c.due_eq[y] * c.due_mm[x]
    if left != right:
        return -1 if left < right else 1
    return -1 if c.due_row[x] < c.due_row[y] else (1 if c.due_row[x] > c.due_row[y] else 0)


cdef int scan_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """The liquidatable traders, most distressed first, by evaluating every account (the
    reference's processing_order, O(N)): their rows in due_row[0..count)."""
    cdef Cas* c = e.cas
    cdef Py_ssize_t a, n_due = 0, x
    cdef int64_t mm, eq
    if c.ix != NULL:
        c.ix.scans += 1
    for a in range(e.n):
        if e.role[a] != ROLE_TRADER or e.npos[a] == 0:
            continue
        if maint_total(e, a, &mm) != C_OK:
            return C_OVERFLOW
        if mm <= 0:
            continue
        if equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        if eq < mm:
            c.due_row[n_due] = a
            c.due_eq[n_due] = eq
            c.due_mm[n_due] = mm
            n_due += 1
    sort_due(e, n_due)
    count[0] = n_due
    return C_OK


cdef struct DueEnt:
    int64_t eq
    int64_t mm
    int64_t row


cdef inline bint due_before(const DueEnt* x, const DueEnt* y) noexcept nogil:
    """cmp_due's order on packed entries: x first (or equal)."""
    cdef eng_i128 left = <eng_i128>x.eq * y.mm
    cdef eng_i128 right = <eng_i128>y.eq * x.mm
    if left != right:
        return left < right
    return x.row <= y.row


cdef void sort_due(Eng* e, Py_ssize_t n_due) noexcept nogil:
    """due_row / due_eq / due_mm[0..n_due) in processing order (LIQ-CASCADE-1): a bottom-up
    merge sort of packed (eq, mm, row) entries, so that each comparison reads its operands
    where the merge is, not through an index (cmp_due's order; merge_sort through cmp_due if
    the buffer cannot be had). Only due_row is read afterwards."""
    cdef Cas* c = e.cas
    cdef Py_ssize_t x, width = 1, lo, mid, hi, a, b, o
    cdef DueEnt* src
    cdef DueEnt* dst
    cdef DueEnt* swap
    if n_due < 2:
        return
    src = <DueEnt*>malloc(2 * n_due * sizeof(DueEnt))
    if src == NULL:
        for x in range(n_due):
            e.scratch_c[x] = x
        merge_sort(e, e.scratch_c, c.due_tmp, n_due, cmp_due)
        for x in range(n_due):
            c.due_tmp[x] = c.due_row[e.scratch_c[x]]
        for x in range(n_due):
            c.due_row[x] = c.due_tmp[x]
        return
    dst = src + n_due
    for x in range(n_due):
        src[x].eq = c.due_eq[x]
        src[x].mm = c.due_mm[x]
        src[x].row = c.due_row[x]
    while width < n_due:
        lo = 0
        while lo < n_due:
            mid = lo + width if lo + width < n_due else n_due
            hi = lo + 2 * width if lo + 2 * width < n_due else n_due
            a = lo
            b = mid
            o = lo
            while a < mid and b < hi:
                if due_before(&src[a], &src[b]):
                    dst[o] = src[a]
                    a += 1
                else:
                    dst[o] = src[b]
                    b += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
            lo += 2 * width
        swap = src
        src = dst
        dst = swap
        width *= 2
    for x in range(n_due):
        c.due_row[x] = src[x].row
    free(src if src < dst else dst)


# -- the processing order at scale (LIQ-CASCADE-1) ----------------------------------------------
#
# The reference evaluates every trader at the start of every round. The index finds the same set
# from candidates only, and confirms each candidate with the exact check (maintenance, equity,
# integers), so its answer is the scan's answer whenever its candidates include every
# liquidatable trader. They do, because a trader is left out only where this is proved:
#
# * h = equity - maintenance >= 0 means "not liquidatable" (LIQ-TRIGGER-1 needs h < 0).
# * In a market whose maintenance g(notional) is nondecreasing and 1-Lipschitz over the integers
#   (checked exactly per market, ``market_is_monotone``), a one-market long's h is nondecreasing
#   in the mark and a short's decreasing: a long is liquidatable only below its trigger price T
#   (the least mark with h >= 0), a short only at or above its trigger (the least mark with
#   h < 0). Both are found exactly (estimate, gallop, bisect) once, and kept per market and side
#   in heaps keyed by the trigger; as the mark moves, the crossed triggers are popped
#   (the pointer sweep), those uncrossed again are pushed back.
# * A cross account's h falls by at most 2 x max_k |lots_k| x value_per_lot_tick_k per tick any
#   mark moves, so it is safe until the total variation of all marks (``clock``) has grown by
#   h / that weight: a heap keyed by that distance.
# * Any trader whose balance or positions an operation touched (fills, ADL, socialization,
#   backstop, fees, payouts) is re-keyed before the next round.
# * Markets that fail the monotonicity check put their holders on the always-checked list, and
#   whenever an evaluation could leave int64 (bounds on every trader's |lots| and |quote| say it
#   could), the round falls back to the scan, which raises exactly where the reference does.

cdef enum:
    ORDER_INDEX = 0
    ORDER_SCAN = 1
    ORDER_VERIFY = 2
    E_NONE = 0
    E_LONG = 1
    E_SHORT = 2
    E_CROSS = 3
    E_ALWAYS = 4
    C_ORDER_MISMATCH = 101

# the clock's range (beyond it the index gives up and scans), and the notionals whose product with
# a rate of at most PPM, plus PPM - 1, still fits int64
cdef int64_t CLOCK_LIMIT = 1 << 62
cdef int64_t FAST_NOTIONAL = 9223372036853

ORDER_MODES = {"index": ORDER_INDEX, "scan": ORDER_SCAN, "verify": ORDER_VERIFY}
C_ORDER_MISMATCH_CODE = C_ORDER_MISMATCH


cdef inline eng_i128 maint_raw(const Eng* e, Py_ssize_t k, eng_i128 notional) noexcept nogil:
    """maint_of without the int64 check, for 0 < notional <= INT64_MAX and 0 <= mmr <= PPM."""
    cdef Py_ssize_t slot = tier_slot(e, k, notional)
    cdef eng_i128 req
    cdef int64_t prod
    if notional <= FAST_NOTIONAL and e.mmr[slot] <= PPM:  # the product fits int64
        prod = <int64_t>notional * e.mmr[slot]
        req = <eng_i128>((prod + PPM - 1) // PPM if prod >= 0 else -((-prod) // PPM)) \
            - e.mded[slot]
    else:
        req = ceil_div(notional * e.mmr[slot], PPM) - e.mded[slot]
    if req < e.min_mm[k]:
        req = e.min_mm[k]
    return req


cdef eng_i128 maint_bound(const Eng* e, Py_ssize_t k, eng_i128 notional) noexcept nogil:
    """At least maint_of(n) for every 0 < n <= notional, in any market (each tier's requirement
    is nondecreasing in the notional once a negative rate is read as 0)."""
    cdef Py_ssize_t base = k * e.width, s
    cdef eng_i128 best = e.min_mm[k], v, rate
    for s in range(e.n_tiers[k]):
        rate = e.mmr[base + s] if e.mmr[base + s] > 0 else 0
        v = ceil_div(notional * rate, PPM) - e.mded[base + s]
        if v > best:
            best = v
    return best


cdef bint market_is_monotone(const Eng* e, Py_ssize_t k) noexcept nogil:
    """g(N) = maint_of(N) steps by 0 or 1 at every integer N >= 1: within a tier with a rate in
    [0, PPM] ceil(N * rate / PPM) does, and max with the minimum keeps it; so only the steps onto
    a tier floor need checking."""
    cdef Py_ssize_t base = k * e.width, s
    cdef eng_i128 floor_n, step
    if e.vplt[k] <= 0:
        return False
    for s in range(e.n_tiers[k]):
        if e.mmr[base + s] < 0 or e.mmr[base + s] > PPM:
            return False
    for s in range(1, e.n_tiers[k]):
        floor_n = e.floor[base + s]
        if floor_n >= 2:
            step = maint_raw(e, k, floor_n) - maint_raw(e, k, floor_n - 1)
            if step != 0 and step != 1:
                return False
    return True


cdef inline bint trigger_test(const Eng* e, Py_ssize_t k, eng_i128 quote, eng_i128 a, int side,
                              eng_i128 p) noexcept nogil:
    """The monotone predicate whose least true mark is the trigger: a long (side 1) is safe
    (h >= 0), a short (side -1) is not (h < 0), at mark p (a * p <= INT64_MAX)."""
    cdef eng_i128 n = a * p
    cdef eng_i128 h = quote + side * n - maint_raw(e, k, n)
    return h >= 0 if side > 0 else h < 0


cdef int64_t trigger_estimate(const Eng* e, Py_ssize_t k, eng_i128 quote, eng_i128 a, int side,
                              int64_t p_max) noexcept nogil:
    """A floating-point guess of the trigger, refined exactly by the caller."""
    cdef double q = <double>quote, n, rate, ded, lo = 2.0, hi = <double>p_max, p
    cdef Py_ssize_t slot, it
    n = <double>a * <double>e.marks[k]
    for it in range(3):
        slot = tier_slot(e, k, <eng_i128>n if n < 9.2e18 else INT64_MAX)
        rate = <double>e.mmr[slot] / PPM
        ded = <double>e.mded[slot]
        if side > 0:  # q + n - (n rate - ded) = 0
            n = -(q + ded) / (1.0 - rate) if rate < 1.0 else n
            if <double>e.min_mm[k] - q > n:
                n = <double>e.min_mm[k] - q
        else:  # q - n - (n rate - ded) = 0
            n = (q + ded) / (1.0 + rate)
            if q - <double>e.min_mm[k] < n:
                n = q - <double>e.min_mm[k]
        if not (n > 0.0):
            n = 1.0
        if n > 9.2e18:
            n = 9.2e18
    p = n / <double>a
    if not (p >= lo):
        p = lo
    if p > hi:
        p = hi
    return <int64_t>p


cdef int64_t find_trigger(const Eng* e, Py_ssize_t k, eng_i128 quote, eng_i128 a, int side,
                          int64_t p_max) noexcept nogil:
    """The least p in (1, p_max] where trigger_test holds, given it fails at 1 and holds at
    p_max: gallop from the estimate, then bisect. The bounds and steps are 128-bit: near the
    top of the int64 range ``lo + step`` would otherwise wrap, and the gallop never end; every
    probe ``x`` lies strictly between ``lo`` and ``hi``, so it is a valid int64 price."""
    cdef eng_i128 lo = 1, hi = p_max, x, step = 1
    cdef int64_t guess = trigger_estimate(e, k, quote, a, side, p_max)
    if guess <= lo:
        guess = lo + 1
    if guess > hi:
        guess = hi
    if trigger_test(e, k, quote, a, side, guess):
        hi = guess
        while hi - step > lo:
            x = hi - step
            if trigger_test(e, k, quote, a, side, <int64_t>x):
                hi = x
                step *= 2
            else:
                lo = x
                break
    else:
        lo = guess
        while lo + step < hi:
            x = lo + step
            if trigger_test(e, k, quote, a, side, <int64_t>x):
                hi = x
                break
            lo = x
            step *= 2
    while hi - lo > 1:
        x = lo + (hi - lo) // 2
        if trigger_test(e, k, quote, a, side, <int64_t>x):
            hi = x
        else:
            lo = x
    return <int64_t>hi


cdef int heap_push(Heap* h, int64_t prio, int64_t row, int64_t gen) noexcept nogil:
    cdef HEnt* grown
    cdef Py_ssize_t j, parent
    if h.size == h.cap:
        grown = <HEnt*>realloc(h.a, (2 * h.cap + 16) * sizeof(HEnt))
        if grown == NULL:
            return C_OVERFLOW
        h.a = grown
        h.cap = 2 * h.cap + 16
    j = h.size
    h.size += 1
    while j > 0:
        parent = (j - 1) // 4
        if h.a[parent].prio <= prio:
            break
        h.a[j] = h.a[parent]
        j = parent
    h.a[j].prio = prio
    h.a[j].row = row
    h.a[j].gen = gen
    return C_OK


cdef void heap_sift_down(Heap* h, Py_ssize_t j, HEnt moving) noexcept nogil:
    """Put ``moving`` at slot j's place, sifting down (the slots below j form heaps)."""
    cdef Py_ssize_t first, last, child, c
    while True:
        first = 4 * j + 1
        if first >= h.size:
            break
        if 16 * j + 20 < h.size:  # the next level's sixteen entries, asked for while these compare
            __builtin_prefetch(&h.a[16 * j + 5])
            __builtin_prefetch(&h.a[16 * j + 10])
            __builtin_prefetch(&h.a[16 * j + 15])
            __builtin_prefetch(&h.a[16 * j + 20])
        last = first + 4 if first + 4 < h.size else h.size
        child = first
        for c in range(first + 1, last):
            if h.a[c].prio < h.a[child].prio:
                child = c
        if h.a[child].prio >= moving.prio:
            break
        h.a[j] = h.a[child]
        j = child
    h.a[j] = moving


cdef void heap_pop(Heap* h) noexcept nogil:
    h.size -= 1
    if h.size == 0:
        return
    heap_sift_down(h, 0, h.a[h.size])


cdef int heap_take(Heap* h, int64_t threshold, Idx* ix) noexcept nogil:
    """Every entry with prio <= threshold onto the candidates (stale ones too: the confirmation
    drops them), in any order (act_sort orders them by row). Popped one by one while few; past
    size / log2(size) pops, the rest are taken by one pass over the array and the heap rebuilt
    bottom-up (Floyd): O(size) in address order instead of O(taken log size) at random, which
    is what a step that crosses many triggers costs at 10^6 accounts."""
    cdef Py_ssize_t budget, log2 = 1, x, kept = 0, j
    while (<Py_ssize_t>1 << log2) < h.size:
        log2 += 1
    budget = h.size // log2
    while h.size and h.a[0].prio <= threshold:
        if budget == 0:
            for x in range(h.size):
                if h.a[x].prio <= threshold:
                    if act_push(ix, h.a[x].row, h.a[x].gen) != C_OK:
                        return C_OVERFLOW
                else:
                    h.a[kept] = h.a[x]
                    kept += 1
            h.size = kept
            ix.bulk_takes += 1
            j = heap_start(kept)
            while j > 0:
                j -= 1
                heap_sift_down(h, j, h.a[j])
            return C_OK
        if act_push(ix, h.a[0].row, h.a[0].gen) != C_OK:
            return C_OVERFLOW
        heap_pop(h)
        budget -= 1
    return C_OK


cdef int act_push(Idx* ix, int64_t row, int64_t gen) noexcept nogil:
    cdef HEnt* grown
    if ix.nact == ix.capact:
        grown = <HEnt*>realloc(ix.act, (2 * ix.capact + 64) * sizeof(HEnt))
        if grown == NULL:
            return C_OVERFLOW
        ix.act = grown
        grown = <HEnt*>realloc(ix.act_tmp, (2 * ix.capact + 64) * sizeof(HEnt))
        if grown == NULL:
            return C_OVERFLOW
        ix.act_tmp = grown
        ix.capact = 2 * ix.capact + 64
    ix.act[ix.nact].row = row
    ix.act[ix.nact].gen = gen
    ix.nact += 1
    return C_OK


cdef enum:
    RADIX_BITS = 11
    RADIX_SORT_MIN = 256   # fewer candidates than this are read in any order


cdef void act_sort(Idx* ix, Py_ssize_t n_rows) noexcept nogil:
    """The candidates in ascending row order (a stable LSD radix sort, O(candidates) per pass):
    confirming them then reads the account rows in address order instead of at random, which
    is what a round costs at 10^6 accounts. The order is for locality only: the due accounts
    are sorted into the processing order afterwards (a total order), so it changes no result."""
    cdef Py_ssize_t counts[1 << RADIX_BITS]
    cdef Py_ssize_t x, d, total, c
    cdef int shift = 0
    cdef HEnt* src = ix.act
    cdef HEnt* dst = ix.act_tmp
    cdef HEnt* swap
    if ix.nact < RADIX_SORT_MIN:
        return
    ix.sorted_rounds += 1
    while shift < 63 and (<int64_t>1 << shift) < n_rows:
        for d in range(1 << RADIX_BITS):
            counts[d] = 0
        for x in range(ix.nact):
            counts[(src[x].row >> shift) & ((1 << RADIX_BITS) - 1)] += 1
        total = 0
        for d in range(1 << RADIX_BITS):
            c = counts[d]
            counts[d] = total
            total += c
        for x in range(ix.nact):
            d = (src[x].row >> shift) & ((1 << RADIX_BITS) - 1)
            dst[counts[d]] = src[x]
            counts[d] += 1
        swap = src
        src = dst
        dst = swap
        shift += RADIX_BITS
    ix.act = src
    ix.act_tmp = dst


cdef inline int64_t cross_weight_key(const Eng* e, Py_ssize_t i, eng_i128 h,
                                     bint* ok) noexcept nogil:
    """The clock reading at which a cross account with slack h >= 0 may first be liquidatable:
    clock + floor(h / w) + 1, w = 2 max_k |lots_k| value_per_lot_tick_k."""
    cdef Py_ssize_t k
    cdef eng_i128 w = 0, a, key
    for k in range(e.m):
        if e.lots[i * e.m + k] != 0:
            a = iabs(e.lots[i * e.m + k]) * <eng_i128>e.vplt[k]
            if a > w:
                w = a
    ok[0] = True
    if w == 0:
        ok[0] = False
        return 0
    key = e.clock + h // (2 * w) + 1
    if key > CLOCK_LIMIT:
        key = CLOCK_LIMIT
    return <int64_t>key


cdef int place(Eng* e, Idx* ix, Py_ssize_t i) noexcept nogil:
    """Key a trader afresh: its trigger in a one-market heap, its clock distance in the cross
    heap, the always-checked list, or nowhere (it cannot be liquidatable until touched)."""
    cdef Py_ssize_t k, held = 0, only = -1
    cdef int64_t lots, p_max, trigger, mm, eq
    cdef eng_i128 a, quote
    cdef int side
    cdef bint ok
    ix.gen[i] += 1
    ix.ekind[i] = E_NONE
    if e.role[i] != ROLE_TRADER or e.npos[i] == 0:
        return C_OK
    for k in range(e.m):
        if e.lots[i * e.m + k] != 0:
            held += 1
            only = k
            if not ix.mono[k]:
                ix.ekind[i] = E_ALWAYS
    if held == 0:
        return C_OK
    if ix.ekind[i] == E_ALWAYS:
        return act_push(ix, i, ix.gen[i])
    if held == 1:
        k = only
        lots = e.lots[i * e.m + k]
        if lots == INT64_MIN:
            ix.ekind[i] = E_ALWAYS
            return act_push(ix, i, ix.gen[i])
        a = iabs(lots) * <eng_i128>e.vplt[k]
        p_max = <int64_t>(INT64_MAX // a) if a <= INT64_MAX else 0
        if p_max < 2:
            ix.ekind[i] = E_ALWAYS
            return act_push(ix, i, ix.gen[i])
        side = 1 if lots > 0 else -1
        quote = e.quote[i]
        if at_entry(e, i):
            # LIQ-TIER-6: the requirement mm does not move with the mark, so h = q + side * a * p
            # with q = quote - mm is linear: the trigger in closed form
            if position_maint(e, i, k, lots, &mm) != C_OK:
                ix.ekind[i] = E_ALWAYS
                return act_push(ix, i, ix.gen[i])
            quote -= mm
            if (quote + a >= 0) if side > 0 else (quote - a < 0):
                trigger = 1
            elif (quote + a * p_max < 0) if side > 0 else (quote - a * p_max >= 0):
                trigger = -1
            elif side > 0:
                trigger = <int64_t>ceil_div(-quote, a)  # the least p with q + a p >= 0
            else:
                trigger = <int64_t>(floor_div(quote, a) + 1)  # the least p with q - a p < 0
        elif trigger_test(e, k, quote, a, side, 1):
            trigger = 1
        elif not trigger_test(e, k, quote, a, side, p_max):
            trigger = -1
        else:
            trigger = find_trigger(e, k, quote, a, side, p_max)
        if side > 0:
            # liquidatable only at marks below the trigger; none found: at every mark
            if trigger == 1:
                return C_OK
            if trigger < 0:
                ix.ekind[i] = E_ALWAYS
                return act_push(ix, i, ix.gen[i])
            ix.ekind[i] = E_LONG
            ix.ekey[i] = -trigger
            return heap_push(&ix.heaps[2 * k], -trigger, i, ix.gen[i])
        if trigger < 0:
            return C_OK  # a short never liquidatable within the marks the guard allows
        ix.ekind[i] = E_SHORT
        ix.ekey[i] = trigger
        return heap_push(&ix.heaps[2 * k + 1], trigger, i, ix.gen[i])
    # a cross account: slack at the current marks (within the guard: no overflow)
    ix.ekind[i] = E_CROSS
    if maint_total(e, i, &mm) != C_OK or equity_of(e, i, &eq) != C_OK:
        ix.ekind[i] = E_ALWAYS
        return act_push(ix, i, ix.gen[i])
    if <eng_i128>eq - mm < 0:
        return act_push(ix, i, ix.gen[i])
    ix.ekey[i] = cross_weight_key(e, i, <eng_i128>eq - mm, &ok)
    if not ok:
        ix.ekind[i] = E_ALWAYS
        return act_push(ix, i, ix.gen[i])
    return heap_push(&ix.heaps[2 * e.m], ix.ekey[i], i, ix.gen[i])


cdef bint within_guard(const Eng* e) noexcept nogil:
    """No trader's equity or maintenance can leave int64 at the current marks (so no exact check
    can raise, and every trigger key is in range)."""
    cdef Py_ssize_t k
    cdef eng_i128 total = e.bound_quote, upper = 0, lower = 0, n, g
    if e.bound_quote > INT64_MAX:
        return False
    for k in range(e.m):
        if e.bound_lots[k] == 0:
            continue
        if e.bound_lots[k] > INT64_MAX:
            return False
        if not eng_mul(e.bound_lots[k], e.marks[k], &n) or not eng_mul(n, e.vplt[k], &n):
            return False
        if n > INT64_MAX:
            return False
        total += n
        if total > INT64_MAX:
            return False
        g = maint_bound(e, k, n)
        if g > INT64_MAX:
            return False
        if g > 0:
            upper += g
        if e.min_mm[k] < 0:
            lower += e.min_mm[k]
        if upper > INT64_MAX or lower < INT64_MIN:
            return False
    return True


cdef int build_index(Eng* e, Idx* ix) noexcept nogil:
    cdef Py_ssize_t a, k
    cdef int code
    for k in range(e.m):
        e.bound_lots[k] = 0
    e.bound_quote = 0
    for a in range(e.n):
        if e.role[a] != ROLE_TRADER:
            continue
        if iabs(e.quote[a]) > e.bound_quote:
            e.bound_quote = iabs(e.quote[a])
        for k in range(e.m):
            if iabs(e.lots[a * e.m + k]) > e.bound_lots[k]:
                e.bound_lots[k] = iabs(e.lots[a * e.m + k])
    for k in range(e.m):
        ix.mono[k] = market_is_monotone(e, k)
    for a in range(e.ndirty):
        e.dirty[e.dirty_list[a]] = 0
    e.ndirty = 0
    for a in range(e.n):
        if e.role[a] == ROLE_TRADER:
            code = place(e, ix, a)
            if code != C_OK:
                return code
    ix.built = True
    return C_OK


cdef int index_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """processing_order from the index (see the section's comment); the scan when the guard
    does not hold."""
    cdef Cas* c = e.cas
    cdef Idx* ix = c.ix
    cdef Py_ssize_t x, k, i, kept = 0, n_due = 0
    cdef int64_t mm, eq, gen
    cdef int kind
    cdef int code
    cdef bint keep, ok
    if ix.broken or e.clock > CLOCK_LIMIT:
        ix.broken = True
        return scan_order(e, count)
    if not ix.built:
        # bounds first: the guard reads them
        code = build_index(e, ix)
        if code != C_OK:
            return code
    if not within_guard(e):
        return scan_order(e, count)
    ix.index_rounds += 1
    for x in range(e.ndirty):  # re-key what the last round touched
        i = e.dirty_list[x]
        e.dirty[i] = 0
        code = place(e, ix, i)
        if code != C_OK:
            return code
    e.ndirty = 0
    for k in range(e.m):  # the sweep: triggers the marks have crossed
        if heap_take(&ix.heaps[2 * k], -e.marks[k] - 1, ix) != C_OK \
                or heap_take(&ix.heaps[2 * k + 1], e.marks[k], ix) != C_OK:
            return C_OVERFLOW
    if heap_take(&ix.heaps[2 * e.m], e.clock, ix) != C_OK:
        return C_OVERFLOW
    act_sort(ix, e.n)
    for x in range(ix.nact):  # confirm every candidate exactly, in row order
        i = ix.act[x].row
        gen = ix.act[x].gen
        if gen != ix.gen[i]:
            continue  # re-keyed since
        kind = ix.ekind[i]
        k = -1
        if kind == E_LONG or kind == E_SHORT:
            for k in range(e.m):
                if e.lots[i * e.m + k] != 0:
                    break
            if (kind == E_LONG and not ix.ekey[i] <= -e.marks[k] - 1) or \
                    (kind == E_SHORT and not ix.ekey[i] <= e.marks[k]):
                # the mark moved back over the trigger: wait in the heap again
                if heap_push(&ix.heaps[2 * k + (kind == E_SHORT)], ix.ekey[i], i, gen) != C_OK:
                    return C_OVERFLOW
                continue
        ix.examined += 1
        if maint_total(e, i, &mm) != C_OK or equity_of(e, i, &eq) != C_OK:
            return C_OVERFLOW  # the guard excludes this: reported, never hidden
        keep = True
        if mm > 0 and eq < mm:
            c.due_row[n_due] = i
            c.due_eq[n_due] = eq
            c.due_mm[n_due] = mm
            n_due += 1
        elif kind == E_CROSS and <eng_i128>eq - mm >= 0:
            ix.ekey[i] = cross_weight_key(e, i, <eng_i128>eq - mm, &ok)
            if ok and ix.ekey[i] > e.clock:
                if heap_push(&ix.heaps[2 * e.m], ix.ekey[i], i, gen) != C_OK:
                    return C_OVERFLOW
                keep = False
        if keep:
            ix.act[kept] = ix.act[x]
            kept += 1
    ix.nact = kept
    sort_due(e, n_due)
    count[0] = n_due
    return C_OK


cdef int processing_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """LIQ-CASCADE-1: the liquidatable traders, most distressed first, in due_row[0..count):
    from the index, by the scan, or both compared (ORDER_VERIFY: C_ORDER_MISMATCH on any
    difference)."""
    cdef Cas* c = e.cas
    cdef Idx* ix = c.ix
    cdef Py_ssize_t n_index, x
    cdef int code
    if ix == NULL or ix.mode == ORDER_SCAN:
        return scan_order(e, count)
    code = index_order(e, count)
    if code != C_OK or ix.mode != ORDER_VERIFY:
        return code
    n_index = count[0]
    for x in range(n_index):
        ix.check_row[x] = c.due_row[x]
    code = scan_order(e, count)
    if code != C_OK:
        return code
    if count[0] != n_index:
        return C_ORDER_MISMATCH
    for x in range(n_index):
        if ix.check_row[x] != c.due_row[x]:
            return C_ORDER_MISMATCH
    return C_OK


cdef int process_account(Eng* e, Py_ssize_t i, bint* progressed) noexcept nogil:
    """LIQ-CASCADE-3: the backstop takes the account whole below its threshold; else market by
    market in id order, orders against the book until healthy or refused, then ADL (``adl``);
    a write-off is socialized at once on the other side (``socialize``)."""
    cdef Cas* c = e.cas
    cdef bint liq, below
    cdef Py_ssize_t x, k, n_cols = 0, first
    cdef int code
    cdef eng_i128 taken, residual
    cdef MarketOut mo
    cdef AdlOut ao
    cdef SocialOut so
    progressed[0] = False
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_OK  # an earlier account's ADL may have reduced this one's position
    if c.vault_row >= 0:
        if below_backstop(e, i, &below) != C_OK:
            return C_OVERFLOW
        if below:
            for x in range(e.m):  # the vault may take every market the account holds
                k = e.sorted_cols[x]
                if e.present[i * e.m + k] and e.isolated[c.vault_row] != -1 \
                        and e.isolated[c.vault_row] != k:
                    return C_ISOLATED_MARKET_MISMATCH
            first = e.nrec
            e.seq += 1
            code = backstop_liquidate(e, i, c.vault_row, &taken)
            if code != C_OK:
                return code
            progressed[0] = True
            return record_receipt(e, i, first)
    for x in range(e.m):  # sorted(account.positions) and the sides, taken now
        k = e.sorted_cols[x]
        if e.present[i * e.m + k]:
            c.order_cols[n_cols] = k
            c.sides[n_cols] = 1 if e.lots[i * e.m + k] > 0 else -1
            n_cols += 1
    for x in range(n_cols):
        k = c.order_cols[x]
        while e.lots[i * e.m + k] != 0:
            if liquidatable(e, i, &liq) != C_OK:
                return C_OVERFLOW
            if not liq:
                break
            first = e.nrec
            e.seq += 1
            code = market_liquidate(e, i, k, &mo)
            if code == C_NO_BOOK_LIQUIDITY:
                e.seq -= 1  # refused before its atomic block: seq unchanged
                break
            if code != C_OK:
                return code
            if record_receipt(e, i, first) != C_OK:
                return C_OVERFLOW
            progressed[0] = True
        if e.lots[i * e.m + k] != 0 and e.bad_debt != BAD_DEBT_SOCIALIZE:
            if liquidatable(e, i, &liq) != C_OK:
                return C_OVERFLOW
            if liq:
                first = e.nrec
                e.seq += 1
                code = deleverage(e, i, k, &ao)
                if (code == C_FUND_CAN_COVER or code == C_NOT_BANKRUPT
                        or code == C_INSUFFICIENT_ADL_LIQUIDITY):  # LIQ-ADL-1 does not allow it
                    e.seq -= 1
                elif code != C_OK:
                    return code
                else:
                    if record_receipt(e, i, first) != C_OK:
                        return C_OVERFLOW
                    progressed[0] = True
    if e.bad_debt == BAD_DEBT_SOCIALIZE:
        for x in range(n_cols):
            if e.holders[3] >= 0:
                break
            first = e.nrec
            e.seq += 1
            code = socialize_loss(e, c.order_cols[x], -c.sides[x], &so)
            if code == C_NO_SOCIALIZATION_BASE:
                e.seq -= 1
            elif code != C_OK:
                return code
            elif record_receipt(e, i, first) != C_OK:
                return C_OVERFLOW
    return C_OK


#: due accounts fetched ahead of the one processed (the processing order visits rows at random)
cdef Py_ssize_t PREFETCH_AHEAD = 8


cdef inline void prefetch_row(const Eng* e, Py_ssize_t i) noexcept nogil:
    """Ask for the memory of row i that processing it reads first (its balance, positions and
    their keys): at 10^6 accounts these rows are not in cache, and waiting for each in turn
    is most of a round. A hint only: nothing is read or changed."""
    __builtin_prefetch(&e.quote[i])
    __builtin_prefetch(&e.lots[i * e.m])
    __builtin_prefetch(&e.present[i * e.m])
    __builtin_prefetch(&e.cost[i * e.m])
    __builtin_prefetch(&e.npos[i])


cdef int run_round(Eng* e, bint* progressed) noexcept nogil:
    """LIQ-CASCADE-2, one round: the processing order, every due account, the round's totals,
    then the marks follow the round's last fills. NO_DUE when nobody is liquidatable."""
    cdef Cas* c = e.cas
    cdef Py_ssize_t n_due, x, first_event, k, j
    cdef bint one
    cdef int code
    cdef int64_t v
    cdef eng_i128 low, high, nxt
    cdef Ev* ev
    code = processing_order(e, &n_due)
    if code != C_OK:
        return code
    if n_due == 0:
        return NO_DUE
    c.rounds += 1
    c.round = c.rounds
    first_event = c.nev
    progressed[0] = False
    for x in range(n_due):
        if x + PREFETCH_AHEAD < n_due:
            prefetch_row(e, c.due_row[x + PREFETCH_AHEAD])
        code = process_account(e, c.due_row[x], &one)
        if code != C_OK:
            return code
        if one:
            progressed[0] = True
    for k in range(e.m):
        c.last_fill[k] = 0
    for j in range(first_event, c.nev):
        ev = &c.evs[j]
        if (ev.kind == EV_LIQUIDATION_FILL or ev.kind == EV_BACKSTOP) and ev.has_price \
                and ev.price != 0:
            c.step_notional += iabs(ev.quote)
        elif ev.kind == EV_ADL_FILL:
            c.step_adl += iabs(ev.lots)
            if value_of(e, ev.lots, ev.market, e.marks[ev.market], &v) != C_OK:
                return C_OVERFLOW
            c.adl_notional += iabs(v)
        elif ev.kind == EV_WRITE_OFF:
            c.step_written_off += ev.quote
        elif ev.kind == EV_SOCIALIZE and ev.rule == R_SOCIAL_2:
            c.socialized += ev.quote
        if ev.kind == EV_LIQUIDATION_FILL:
            c.last_fill[ev.market] = ev.price
    for x in range(c.n_cfg):  # the round's fills move the marks (LIQ-MARK-2)
        k = c.cfg_cols[x]
        if c.last_fill[k] == 0:
            continue
        nxt = c.last_fill[k]
        if c.mark_kind == MARK_INDEX_BAND:
            band(c, c.index[k], &low, &high)
            if nxt < low:
                nxt = low
            if nxt > high:
                nxt = high
        if nxt != e.marks[k]:
            code = set_mark(e, k, nxt)
            if code != C_OK:
                return code
            if event(e, EV_MARK, EV_NONE, k, 0, e.marks[k], True, 0, R_MARK_2, DETAIL_NONE,
                     0, 0) != C_OK:
                return C_OVERFLOW
            if e.marks[k] < c.lowest[k]:
                c.lowest[k] = e.marks[k]
    return C_OK


cdef int run_rounds(Eng* e) noexcept nogil:
    """Rounds to a fixed point: until nobody is due or a round changes nothing."""
    cdef bint progressed
    cdef int code
    while True:
        code = run_round(e, &progressed)
        if code == NO_DUE:
            return C_OK
        if code != C_OK:
            return code
        if not progressed:
            return C_OK


# -- deposits and withdrawals (LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2) ---------------------------------

cdef int deposit(Eng* e, Py_ssize_t i, int64_t amount) noexcept nogil:
    """LIQ-DEPOSIT-1: quote from the outside world into an account."""
    return transfer(e, H_OUTSIDE, i, amount, R_DEPOSIT_1)


cdef int withdrawals_gated(const Eng* e, const int64_t* order, bint* out) noexcept nogil:
    """LIQ-WITHDRAW-2: whether a trader has negative equity, the traders taken in ``order`` (the
    state's account order, which decides whether an overflow or a negative equity is met
    first)."""
    cdef Py_ssize_t x, a
    cdef int64_t eq
    out[0] = False
    for x in range(e.n):
        a = order[x]
        if e.role[a] != ROLE_TRADER:
            continue
        if equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        if eq < 0:
            out[0] = True
            return C_OK
    return C_OK


cdef int withdraw(Eng* e, Py_ssize_t i, int64_t amount, const int64_t* order) noexcept nogil:
    """LIQ-WITHDRAW-1 after the adapter's lookup and domain check: the gate (LIQ-WITHDRAW-2), then
    free collateral (LIQ-MARGIN-5: equity less initial margin at the open interest of the
    account's markets) must cover the amount."""
    cdef bint gated
    cdef int64_t eq, im
    cdef eng_i128 free
    if withdrawals_gated(e, order, &gated) != C_OK:
        return C_OVERFLOW
    if gated:
        return C_WITHDRAWALS_GATED
    if equity_of(e, i, &eq) != C_OK or initial_total(e, i, &im) != C_OK:
        return C_OVERFLOW
    free = <eng_i128>eq - im
    if not eng_fits(free):
        return C_OVERFLOW
    if amount > free:
        return C_INSUFFICIENT_FREE_COLLATERAL
    return transfer(e, i, H_OUTSIDE, amount, R_WITHDRAW_1)


cdef int set_leverage(Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t leverage) noexcept nogil:
    """LIQ-LEVERAGE-4 after the adapter's pure checks (check_set_leverage): the requirement before
    and after the change; a rise must leave equity at or above it. Needs the leverage table."""
    cdef int64_t before, after, eq, old = e.leverage[i * e.m + k]
    if initial_total(e, i, &before) != C_OK:
        return C_OVERFLOW
    e.leverage[i * e.m + k] = leverage
    if initial_total(e, i, &after) != C_OK:
        e.leverage[i * e.m + k] = old
        return C_OVERFLOW
    if after > before:
        if equity_of(e, i, &eq) != C_OK:
            e.leverage[i * e.m + k] = old
            return C_OVERFLOW
        if eq < after:
            e.leverage[i * e.m + k] = old
            return C_INSUFFICIENT_INITIAL_MARGIN
    return C_OK


# -- the Python face -----------------------------------------------------------------------------

cdef object py_i128(eng_i128 v):
    """An exact Python int from 128 bits (Cython sees the type as 64-bit: never convert it
    directly)."""
    return (int(eng_hi64(v)) << 64) | int(eng_lo64(v))


cdef class _EventBuffer:
    """Owns an event buffer handed out as arrays by Engine.cascade_trace (freed with them)."""
    cdef void* data

    def __dealloc__(self):
        free(self.data)
        self.data = NULL


cdef class Engine:
    """One venue state packed for the compiled operations (see the module docstring).

    Built by :func:`liqspec.fast.operations.engine_for` from a reference ``State``; the arrays
    are public numpy arrays so the glue can write results back.
    """
    cdef Eng e
    cdef public object account_ids, market_ids, quote, lots, cost, present, touched
    cdef public object acct_touched, npos, role, isolated, marks, tables
    cdef public object sorted_cols, has_book, book_acct, bid_px, bid_lots, ask_px, ask_lots
    cdef public object bid_head, bid_end, ask_head, ask_end, book_touched
    cdef public object scratch_a, scratch_b, scratch_c, score_sgn
    cdef public object fee_ppm
    cdef public object leverage

    def __cinit__(self):
        self.e.recs = NULL
        self.e.nrec = 0
        self.e.caprec = 0
        self.e.longs = NULL
        self.e.score_num = NULL
        self.e.score_den = NULL
        self.e.cas = NULL
        self.cas_store.evs = NULL
        self.cas_store.evs_shared = False
        self.cas_store.ix = NULL
        self.ix_store.heaps = NULL
        self.ix_store.act = NULL
        self.ix_store.act_tmp = NULL
        self.n_heaps = 0
        self.e.track = False
        self.e.bound_lots = NULL
        self.e.adl = NULL
        self.e.adl_mode = ADL_INDEX
        self.e.leverage = NULL

    def __dealloc__(self):
        cdef Py_ssize_t x
        free(self.e.recs)
        free(self.e.longs)
        free(self.e.score_num)
        free(self.e.score_den)
        if not self.cas_store.evs_shared:
            free(self.cas_store.evs)
        self.cas_store.evs = NULL
        if self.ix_store.heaps != NULL:
            for x in range(self.n_heaps):
                free(self.ix_store.heaps[x].a)
            free(self.ix_store.heaps)
        free(self.ix_store.act)
        free(self.ix_store.act_tmp)
        free(self.e.bound_lots)
        adl_reset(&self.e)
        self.ix_store.heaps = NULL
        self.ix_store.act = NULL
        self.ix_store.act_tmp = NULL
        self.e.bound_lots = NULL
        self.e.recs = NULL
        self.e.longs = NULL
        self.e.score_num = NULL
        self.e.score_den = NULL

    def setup(self, tables, account_ids, market_ids, quote, lots, cost, present, role, isolated,
              marks, holders, int64_t seq, policies, sorted_cols, has_book, book_acct, bid_px,
              bid_lots, ask_px, ask_lots, bid_head, bid_end, ask_head, ask_end):
        """Adopt packed arrays (all int64 unless noted; C-contiguous) and the profile."""
        cdef Py_ssize_t n = len(account_ids), m = len(market_ids), x, size
        cdef int64_t[::1] v64
        cdef uint8_t[::1] vu8
        cdef int8_t[::1] vi8
        if self.e.longs != NULL:
            raise RuntimeError("an Engine is set up once")
        self.account_ids = account_ids
        self.market_ids = market_ids
        self.tables = tables
        self.quote = quote
        self.lots = lots
        self.cost = cost
        self.present = present
        self.touched = np.zeros(n * m, dtype=np.uint8)
        self.acct_touched = np.zeros(n, dtype=np.uint8)
        self.npos = present.reshape(n, m).sum(axis=1).astype(np.int64) if n else np.zeros(
            0, dtype=np.int64)
        self.role = role
        self.isolated = isolated
        self.marks = marks
        self.sorted_cols = sorted_cols
        self.has_book = has_book
        self.book_acct = book_acct
        self.bid_px, self.bid_lots, self.ask_px, self.ask_lots = bid_px, bid_lots, ask_px, ask_lots
        self.bid_head, self.bid_end, self.ask_head, self.ask_end = bid_head, bid_end, ask_head, \
            ask_end
        self.book_touched = np.zeros(m, dtype=np.uint8)
        self.fee_ppm = tables.liquidation_fee_ppm
        size = max(n, 1) + max(bid_px.shape[1] if bid_px.ndim == 2 else 0, 1)
        self.scratch_a = np.zeros(size, dtype=np.int64)
        self.scratch_b = np.zeros(size, dtype=np.int64)
        self.scratch_c = np.zeros(size, dtype=np.int64)
        self.score_sgn = np.zeros(2 * size, dtype=np.int8)
        self.e.score_num = <eng_u128*>malloc(2 * size * sizeof(eng_u128))
        self.e.score_den = <eng_u128*>malloc(2 * size * sizeof(eng_u128))
        self.e.longs = <eng_i128*>malloc((m + 1) * sizeof(eng_i128))
        if self.e.score_num == NULL or self.e.score_den == NULL or self.e.longs == NULL:
            raise MemoryError()
        self.e.n = n
        self.e.m = m
        self.e.width = tables.tier_floor_quote.shape[1]
        v64 = self.quote
        self.e.quote = &v64[0] if n else NULL
        v64 = self.lots.reshape(-1)
        self.e.lots = &v64[0] if n * m else NULL
        v64 = self.cost.reshape(-1)
        self.e.cost = &v64[0] if n * m else NULL
        vu8 = self.present.reshape(-1)
        self.e.present = &vu8[0] if n * m else NULL
        vu8 = self.touched
        self.e.touched = &vu8[0] if n * m else NULL
        vu8 = self.acct_touched
        self.e.acct_touched = &vu8[0] if n else NULL
        v64 = self.npos
        self.e.npos = &v64[0] if n else NULL
        vi8 = self.role
        self.e.role = &vi8[0] if n else NULL
        v64 = self.isolated
        self.e.isolated = &v64[0] if n else NULL
        v64 = self.marks
        self.e.marks = &v64[0]
        for x in range(5):
            self.e.holders[x] = holders[x]
        self.e.seq = seq
        v64 = tables.value_per_lot_tick
        self.e.vplt = &v64[0]
        v64 = tables.n_tiers
        self.e.n_tiers = &v64[0]
        v64 = tables.tier_floor_quote.reshape(-1)
        self.e.floor = &v64[0]
        v64 = tables.maint_margin_ppm.reshape(-1)
        self.e.mmr = &v64[0]
        v64 = tables.maint_deduction_quote.reshape(-1)
        self.e.mded = &v64[0]
        v64 = tables.init_margin_ppm.reshape(-1)
        self.e.imr = &v64[0]
        v64 = tables.init_deduction_quote.reshape(-1)
        self.e.ided = &v64[0]
        v64 = tables.min_maint_margin_quote
        self.e.min_mm = &v64[0]
        v64 = tables.oi_lower_cap_quote
        self.e.oi_lower = &v64[0]
        v64 = tables.oi_upper_cap_quote
        self.e.oi_upper = &v64[0]
        vu8 = tables.has_oi_scaling
        self.e.has_oi = &vu8[0]
        v64 = self.fee_ppm
        self.e.fee_ppm = &v64[0]
        v64 = self.sorted_cols
        self.e.sorted_cols = &v64[0]
        self.e.size_policy = policies["size"]
        self.e.fee_policy = policies["fee"]
        self.e.bad_debt = policies["bad_debt"]
        self.e.ranking = policies["ranking"]
        self.e.adl_price = policies["adl_price"]
        self.e.maint_basis = policies["maint_basis"]
        self.e.portion_ppm = policies["portion_ppm"]
        self.e.portion_threshold = policies["portion_threshold"]
        self.e.bs_num = tables.backstop_num
        self.e.bs_den = tables.backstop_den
        self.e.adl_seed = policies["adl_seed"]
        self.e.one_unit = policies["one_unit"]
        vu8 = self.has_book
        self.e.has_book = &vu8[0]
        v64 = self.book_acct
        self.e.book_acct = &v64[0]
        self.e.book_cap = bid_px.shape[1]
        v64 = self.bid_px.reshape(-1)
        self.e.bid_px = &v64[0]
        v64 = self.bid_lots.reshape(-1)
        self.e.bid_lots = &v64[0]
        v64 = self.ask_px.reshape(-1)
        self.e.ask_px = &v64[0]
        v64 = self.ask_lots.reshape(-1)
        self.e.ask_lots = &v64[0]
        v64 = self.bid_head
        self.e.bid_head = &v64[0]
        v64 = self.bid_end
        self.e.bid_end = &v64[0]
        v64 = self.ask_head
        self.e.ask_head = &v64[0]
        v64 = self.ask_end
        self.e.ask_end = &v64[0]
        vu8 = self.book_touched
        self.e.book_touched = &vu8[0]
        v64 = self.scratch_a
        self.e.scratch_a = &v64[0]
        v64 = self.scratch_b
        self.e.scratch_b = &v64[0]
        v64 = self.scratch_c
        self.e.scratch_c = &v64[0]
        vi8 = self.score_sgn
        self.e.score_sgn = &vi8[0]
        self._init_longs()

    cdef void _init_longs(self):
        cdef Py_ssize_t a, k
        for k in range(self.e.m):
            self.e.longs[k] = 0
        for a in range(self.e.n):
            for k in range(self.e.m):
                if self.e.lots[a * self.e.m + k] > 0:
                    self.e.longs[k] += self.e.lots[a * self.e.m + k]

    # -- state read back by the glue -------------------------------------------------------------
    @property
    def holders(self):
        return [self.e.holders[x] for x in range(5)]

    @property
    def seq(self):
        return self.e.seq

    @property
    def n_records(self):
        return self.e.nrec

    def records(self, Py_ssize_t first=0):
        """Journal records from ``first``: (kind, a, b, lots, amount, price|None, market, rule,
        seq) tuples (kind 0: transfer, 1: fill)."""
        cdef Py_ssize_t r
        cdef Rec* rec
        out = []
        for r in range(first, self.e.nrec):
            rec = &self.e.recs[r]
            out.append((rec.kind, rec.a, rec.b, rec.lots, rec.amount,
                        rec.price if rec.has_price else None, rec.market, rec.rule, rec.seq))
        return out

    def begin(self):
        """Start an operation: the journal stamps the next seq (LIQ-RESULT-1's seq + 1)."""
        self.e.seq += 1

    # -- the operations (codes are ResultCode values) --------------------------------------------
    def liquidate(self, Py_ssize_t i, Py_ssize_t k, Py_ssize_t cp, int64_t price,
                  int64_t lots_wanted, bint cp_allowed):
        cdef LiqOut out
        cdef int code
        with nogil:
            code = liquidate_step(&self.e, i, k, cp, price, lots_wanted, cp_allowed, &out)
        if code != C_OK:
            return code, None
        amounts = {"lots": out.lots, "fee": out.fee, "surplus": out.surplus}
        if out.per_fill:
            amounts["fund_delta"] = py_i128(out.fund_delta)
            amounts["fund_covered"] = py_i128(out.fund_covered)
        if out.settled:
            amounts["fund_paid"] = py_i128(out.fund_paid)
            amounts["written_off"] = py_i128(out.written_off)
        return code, amounts

    def market_liquidate(self, Py_ssize_t i, Py_ssize_t k):
        cdef MarketOut out
        cdef int code
        with nogil:
            code = market_liquidate(&self.e, i, k, &out)
        if code != C_OK:
            return code, None
        return code, {"lots": out.lots, "fee": py_i128(out.fee), "levels": out.levels}

    def backstop_liquidate(self, Py_ssize_t i, Py_ssize_t vault):
        cdef eng_i128 taken = 0
        cdef int code
        with nogil:
            code = backstop_liquidate(&self.e, i, vault, &taken)
        if code != C_OK:
            return code, None
        return code, {"taken_quote": py_i128(taken)}

    def deleverage(self, Py_ssize_t i, Py_ssize_t k):
        cdef AdlOut out
        cdef int code
        with nogil:
            code = deleverage(&self.e, i, k, &out)
        if code != C_OK:
            return code, None
        amounts = {"lots": out.lots, "counterparties": out.counterparties}
        if out.settled:
            amounts["fund_paid"] = py_i128(out.fund_paid)
            amounts["written_off"] = py_i128(out.written_off)
        return code, amounts

    def adl_order(self, order):
        """How deleveraging allocations are found: ``index`` (the ranking index, the default),
        ``scan`` (every account, the reference's way: the oracle) or ``verify`` (both,
        C_ADL_MISMATCH_CODE on any difference). A cascade's ``order`` sets it too."""
        self.e.adl_mode = ADL_MODES[order]

    def adl_index_stats(self):
        """The deleveraging index's work so far: rankings rebuilt, (row, market) re-keys, rows
        taken, stale entries popped, heap compactions, allocations checked against the scan."""
        cdef Adl* d = self.e.adl
        if d == NULL:
            return {}
        return {"rebuilds": d.rebuilds, "rekeys": d.rekeys, "taken": d.taken, "stale": d.stale,
                "compactions": d.compactions, "checks": d.checks}

    # -- the read queries (codes are ResultCode values; the state is left as it was) ------------
    def maintenance_requirement(self, Py_ssize_t k, int64_t notional):
        """LIQ-TIER-1/2: (code, (tier index, maintenance requirement)) of a notional."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = maint_of(&self.e, k, notional, &out)
        if code != C_OK:
            return code, None
        return code, (tier_slot(&self.e, k, notional) - k * self.e.width, out)

    def initial_requirement(self, Py_ssize_t k, int64_t notional, int64_t open_interest):
        """LIQ-TIER-1/3/4: (code, (tier index, initial requirement)) of a notional at an open
        interest."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = initial_of(&self.e, k, notional, open_interest, &out)
        if code != C_OK:
            return code, None
        return code, (tier_slot(&self.e, k, notional) - k * self.e.width, out)

    def liquidation_size(self, Py_ssize_t i, Py_ssize_t k):
        """LIQ-EXEC-1: (code, lots one liquidation step of row i in market k may close)."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = size_lots(&self.e, i, k, &out)
        return code, (out if code == C_OK else None)

    def liquidation_fee(self, Py_ssize_t k, int64_t side, int64_t lots, int64_t price,
                        int64_t bankruptcy_num, int64_t bankruptcy_den, int64_t surplus):
        """LIQ-FEE-1: (code, the fee of one step) at the bankruptcy price num / den (den > 0)."""
        cdef int64_t out = 0
        cdef int code
        if bankruptcy_den <= 0:
            return C_ZERO_DIVISION, None
        with nogil:  # m * (price - num / den) = m * (price * den - num) / den
            code = fee_quote(&self.e, k, side, lots, price, self.e.vplt[k],
                             <eng_i128>price * bankruptcy_den - bankruptcy_num, bankruptcy_den,
                             surplus, &out)
        return code, (out if code == C_OK else None)

    def adl_allocation(self, Py_ssize_t i, Py_ssize_t k):
        """LIQ-ADL-2: (code, [(row, lots), ...] in execution order) for row i's position in
        market k, at the engine's seq. Found as deleverage finds it (the ranking index by
        default); when the opposite side holds fewer lots than needed the index answers only
        that, and the scan lists what the reference returns then: everyone, everything, in
        ranking order (as it does for a flat position, whose candidates are the flat traders)."""
        cdef Py_ssize_t count = 0, x
        cdef int code
        cdef uint64_t seq = <uint64_t>self.e.seq
        with nogil:
            if self.e.lots[i * self.e.m + k] == 0:
                code = adl_allocation_scan(&self.e, i, k, seq, &count)
            else:
                code = adl_allocation(&self.e, i, k, seq, &count)
                if code == C_INSUFFICIENT_ADL_LIQUIDITY:
                    code = adl_allocation_scan(&self.e, i, k, seq, &count)
        if code != C_OK:
            return code, None
        return code, [(self.e.scratch_a[x], self.e.scratch_b[x]) for x in range(count)]

    def adl_receive(self, Py_ssize_t i, Py_ssize_t k, int64_t lots):
        """LIQ-ADL-4: (code, quote row i receives for closing ``lots`` of its position in k)."""
        cdef eng_i128 out = 0
        cdef int code
        with nogil:
            code = adl_receive(&self.e, i, k, lots, &out)
        return code, (py_i128(out) if code == C_OK else None)

    def socialize_loss(self, Py_ssize_t k, int side):
        cdef SocialOut out
        cdef int code
        with nogil:
            code = socialize_loss(&self.e, k, side, &out)
        if code != C_OK:
            return code, None
        return code, {"loss": py_i128(out.loss), "charged": py_i128(out.charged),
                      "residual": py_i128(out.charged - out.loss)}

    def apply_funding(self, Py_ssize_t k, int64_t rate_ppm):
        cdef eng_i128 residual = 0
        cdef int code
        with nogil:
            code = apply_funding(&self.e, k, rate_ppm, &residual)
        if code != C_OK:
            return code, None
        return code, {"residual": py_i128(residual)}

    def fund_insurance(self, int64_t amount):
        cdef int code
        with nogil:
            code = transfer(&self.e, H_OUTSIDE, H_INSURANCE_FUND, amount, R_INSURANCE_2)
        return code, ({} if code == C_OK else None)

    def deposit(self, Py_ssize_t i, int64_t amount):
        cdef int code
        with nogil:
            code = deposit(&self.e, i, amount)
        return code, ({} if code == C_OK else None)

    def withdraw(self, Py_ssize_t i, int64_t amount, order):
        """``order``: every row once, in the state's account order (int64, C-contiguous)."""
        cdef const int64_t[::1] rows = order
        cdef int code
        if rows.shape[0] != self.e.n:
            raise ValueError("withdraw needs every account row in the state's order")
        with nogil:
            code = withdraw(&self.e, i, amount, &rows[0] if self.e.n else NULL)
        return code, ({} if code == C_OK else None)

    def trade(self, Py_ssize_t buyer, Py_ssize_t seller, Py_ssize_t k, int64_t lots,
              int64_t price):
        cdef int64_t notional = 0
        cdef int code
        with nogil:
            code = trade(&self.e, buyer, seller, k, lots, price, &notional)
        return code, ({"notional": notional} if code == C_OK else None)

    def adopt_leverage(self, leverage):
        """Adopt the chosen leverage of every row and market (int64[n, m], 0 where none is
        chosen; LIQ-LEVERAGE-2); without it nobody has chosen one."""
        cdef int64_t[::1] v64
        if leverage.shape != (self.e.n, self.e.m) or leverage.dtype != np.int64 or \
                not leverage.flags.c_contiguous:
            raise ValueError("the leverage table is int64[accounts, markets], C-contiguous")
        self.leverage = leverage
        v64 = leverage.reshape(-1)
        self.e.leverage = &v64[0] if self.e.n * self.e.m else NULL

    def set_leverage(self, Py_ssize_t i, Py_ssize_t k, int64_t leverage):
        """LIQ-LEVERAGE-4 (the adapter ran check_set_leverage)."""
        cdef int code
        if self.e.leverage == NULL:
            raise ValueError("set_leverage needs the leverage table (adopt_leverage)")
        with nogil:
            code = set_leverage(&self.e, i, k, leverage)
        return code, ({} if code == C_OK else None)

    def open_account(self, Py_ssize_t i):
        """LIQ-ACCOUNT-1: the glue packed the new account as row ``i`` (no balance, no
        positions, its role and isolation); the operation marks it for the write-back."""
        if self.quote[i] != 0 or self.npos[i] != 0:
            raise ValueError("a new account's row must be empty")
        self.e.acct_touched[i] = 1
        return C_OK, {}

    # set_mark and replace_book are one operation each with their own seq (as in a cascade):
    # called without begin()
    def set_mark(self, Py_ssize_t k, int64_t price):
        """LIQ-MARK-1."""
        cdef int code
        with nogil:
            code = set_mark(&self.e, k, price)
        return code, ({} if code == C_OK else None)

    def replace_book(self, Py_ssize_t k, int64_t levels, int64_t spacing_ppm,
                     int64_t lots_per_level, Py_ssize_t book_row):
        """LIQ-BOOK-1 for one shape (levels, spacing, lots per level) and book account."""
        cdef int code
        if not 0 < levels <= self.e.book_cap:
            raise ValueError(f"{levels} levels do not fit the packed books "
                             f"({self.e.book_cap} levels a side)")
        with nogil:
            code = build_ladder(&self.e, k, levels, spacing_ppm, lots_per_level, book_row)
        return code, ({} if code == C_OK else None)

    # -- the cascade (driven step by step by liqspec.fast.cascade) --------------------------------
    cdef Cas cas_store
    cdef Idx ix_store
    cdef object evs_owner        # the _EventBuffer of the trace cascade_trace returned
    cdef Py_ssize_t n_heaps
    cdef public object cas_arrays

    def cascade_setup(self, cfg_cols, levels, spacing_ppm, lots_per_level, int64_t book_row,
                      int64_t vault_row, int mark_kind, int64_t band_ppm, int64_t step_seconds,
                      order="index", keep_journal=True):
        """Adopt a cascade configuration (int64 arrays over the markets). ``order`` is how each
        round's processing order is found: ``index`` (trigger heaps, see the engine's section
        on the processing order at scale), ``scan`` (every account, the reference's way: the
        oracle) or ``verify`` (both, C_ORDER_MISMATCH_CODE on any difference).
        ``keep_journal=False``: the operations' journal records are dropped once they are in
        the trace (``records`` then holds none of the cascade's), for a caller that writes no
        state back."""
        cdef Cas* c = &self.cas_store
        cdef Py_ssize_t n = self.e.n, m = self.e.m, k
        cdef int64_t[::1] v
        cdef uint8_t[::1] u
        cdef size_t ptr
        arrays = {
            "cfg_cols": np.ascontiguousarray(cfg_cols, dtype=np.int64),
            "index": np.zeros(m, dtype=np.int64), "prev_index": np.zeros(m, dtype=np.int64),
            "levels": np.ascontiguousarray(levels, dtype=np.int64),
            "spacing_ppm": np.ascontiguousarray(spacing_ppm, dtype=np.int64),
            "lots_per_level": np.ascontiguousarray(lots_per_level, dtype=np.int64),
            "lowest": self.marks.copy(), "liquidated": np.zeros(max(n, 1), dtype=np.uint8),
            "due_row": np.zeros(max(n, 1), dtype=np.int64),
            "due_eq": np.zeros(max(n, 1), dtype=np.int64),
            "due_mm": np.zeros(max(n, 1), dtype=np.int64),
            "due_tmp": np.zeros(max(n, 1), dtype=np.int64),
            "order_cols": np.zeros(m, dtype=np.int64), "sides": np.zeros(m, dtype=np.int64),
            "last_fill": np.zeros(m, dtype=np.int64)}
        self.cas_arrays = arrays
        c.mark_kind = mark_kind
        c.band_ppm = band_ppm
        c.step_seconds = step_seconds
        c.n_cfg = arrays["cfg_cols"].shape[0]
        for name in ("cfg_cols", "index", "prev_index", "levels", "spacing_ppm",
                     "lots_per_level", "lowest", "due_row", "due_eq", "due_mm", "due_tmp",
                     "order_cols", "sides", "last_fill"):
            v = arrays[name]
            ptr = <size_t>&v[0] if v.shape[0] else 0
            if name == "cfg_cols": c.cfg_cols = <int64_t*>ptr
            elif name == "index": c.index = <int64_t*>ptr
            elif name == "prev_index": c.prev_index = <int64_t*>ptr
            elif name == "levels": c.levels = <int64_t*>ptr
            elif name == "spacing_ppm": c.spacing_ppm = <int64_t*>ptr
            elif name == "lots_per_level": c.lots_per_level = <int64_t*>ptr
            elif name == "lowest": c.lowest = <int64_t*>ptr
            elif name == "due_row": c.due_row = <int64_t*>ptr
            elif name == "due_eq": c.due_eq = <int64_t*>ptr
            elif name == "due_mm": c.due_mm = <int64_t*>ptr
            elif name == "due_tmp": c.due_tmp = <int64_t*>ptr
            elif name == "order_cols": c.order_cols = <int64_t*>ptr
            elif name == "sides": c.sides = <int64_t*>ptr
            else: c.last_fill = <int64_t*>ptr
        u = arrays["liquidated"]
        c.liquidated = &u[0]
        c.has_prev = False
        c.book_row = book_row
        c.vault_row = vault_row
        c.n_liquidated = 0
        c.fills = 0
        c.step = 0
        c.round = 0
        c.rounds = 0
        c.step_notional = c.step_adl = c.step_written_off = 0
        c.adl_notional = c.socialized = 0
        c.evs = NULL
        c.nev = 0
        c.capev = 0
        c.evs_shared = False
        c.keep_journal = bool(keep_journal)
        self.e.cas = c
        self._setup_index(ORDER_MODES[order])

    cdef _setup_index(self, int mode):
        cdef Idx* ix = &self.ix_store
        cdef Py_ssize_t n = self.e.n, m = self.e.m
        cdef int64_t[::1] v
        cdef uint8_t[::1] u
        cdef int8_t[::1] s8
        if self.e.bound_lots != NULL:
            raise RuntimeError("a cascade is set up once per Engine")
        track = {"dirty": np.zeros(max(n, 1), dtype=np.uint8),
                 "dirty_list": np.zeros(max(n, 1), dtype=np.int64),
                 "gen": np.zeros(max(n, 1), dtype=np.int64),
                 "ekind": np.zeros(max(n, 1), dtype=np.int8),
                 "ekey": np.zeros(max(n, 1), dtype=np.int64),
                 "check_row": np.zeros(max(n, 1), dtype=np.int64),
                 "mono": np.zeros(max(m, 1), dtype=np.uint8)}
        self.cas_arrays.update(track)
        u = track["dirty"]
        self.e.dirty = &u[0]
        v = track["dirty_list"]
        self.e.dirty_list = &v[0]
        v = track["gen"]
        ix.gen = &v[0]
        s8 = track["ekind"]
        ix.ekind = &s8[0]
        v = track["ekey"]
        ix.ekey = &v[0]
        v = track["check_row"]
        ix.check_row = &v[0]
        u = track["mono"]
        ix.mono = &u[0]
        self.e.bound_lots = <eng_i128*>malloc((m + 1) * sizeof(eng_i128))
        self.n_heaps = 2 * m + 1
        ix.heaps = <Heap*>calloc(self.n_heaps, sizeof(Heap))
        if self.e.bound_lots == NULL or ix.heaps == NULL:
            raise MemoryError()
        ix.mode = mode
        ix.built = False
        ix.broken = False
        ix.act = NULL
        ix.act_tmp = NULL
        ix.nact = 0
        ix.capact = 0
        ix.scans = 0
        ix.index_rounds = 0
        ix.examined = 0
        ix.sorted_rounds = 0
        ix.bulk_takes = 0
        self.e.ndirty = 0
        self.e.clock = 0
        self.e.bound_quote = 0
        self.e.track = True
        self.cas_store.ix = ix
        self.e.adl_mode = {ORDER_INDEX: ADL_INDEX, ORDER_SCAN: ADL_SCAN,
                           ORDER_VERIFY: ADL_VERIFY}[mode]  # deleveraging follows suit

    def cascade_index_stats(self):
        """How the processing orders were found: rounds answered by the index (the end-of-path
        check included, in index mode), full scans (the oracle's rounds and the guard's
        fallback), candidates examined, rounds whose candidates were sorted by row and heaps
        swept by one pass (``heap_take``)."""
        cdef Idx* ix = self.cas_store.ix
        if ix == NULL:
            return {}
        return {"index_rounds": ix.index_rounds, "scans": ix.scans, "examined": ix.examined,
                "active": ix.nact, "heaped": sum(ix.heaps[x].size for x in range(self.n_heaps)),
                "sorted_rounds": ix.sorted_rounds, "bulk_takes": ix.bulk_takes}

    def cascade_open_step(self, int64_t step, index):
        """LIQ-CASCADE-4: set this step's index (int64[m]) and open marks and books."""
        cdef Cas* c = self.e.cas
        cdef int code
        self.cas_arrays["index"][:] = index
        c.step = step
        with nogil:
            code = open_step(&self.e)
        return code

    def cascade_rounds(self):
        """Every round of the step, compiled end to end; a result code."""
        cdef int code
        with nogil:
            code = run_rounds(&self.e)
        return code

    def cascade_round(self):
        """One round: (code, progressed); code NO_DUE (-1) when nobody was due."""
        cdef int code
        cdef bint progressed = False
        with nogil:
            code = run_round(&self.e, &progressed)
        return code, bool(progressed)

    def cascade_end_step(self):
        """The step's record values; the index becomes the previous index."""
        cdef Cas* c = self.e.cas
        self.cas_arrays["prev_index"][:] = self.cas_arrays["index"]
        c.has_prev = True
        return (c.rounds, py_i128(c.step_notional), py_i128(c.step_adl),
                py_i128(c.step_written_off))

    def cascade_unresolved(self):
        """The traders still liquidatable at the end: 'unresolved' events at round 0."""
        cdef Cas* c = self.e.cas
        cdef Py_ssize_t count = 0, x
        cdef int code
        c.round = 0
        with nogil:
            code = processing_order(&self.e, &count)
            if code == C_OK:
                for x in range(count):
                    code = event(&self.e, EV_UNRESOLVED, c.due_row[x], -1, 0, 0, False, 0,
                                 R_CASCADE_2, DETAIL_UNRESOLVED, 0, 0)
                    if code != C_OK:
                        break
        return code, count

    def cascade_totals(self):
        cdef Cas* c = self.e.cas
        return {"accounts_liquidated": c.n_liquidated, "liquidation_fills": c.fills,
                "adl_notional_quote": py_i128(c.adl_notional),
                "socialized_quote": py_i128(c.socialized),
                "lowest": self.cas_arrays["lowest"].tolist()}

    def cascade_events(self):
        """The trace as tuples: (step, round, kind, account, market, lots, price|None, quote,
        rule, detail, d1, d2); account EV_NONE is None, market -1 is None."""
        cdef Cas* c = self.e.cas
        cdef Py_ssize_t j
        cdef Ev* ev
        out = []
        for j in range(c.nev):
            ev = &c.evs[j]
            out.append((ev.step, ev.round, ev.kind, None if ev.account == EV_NONE else ev.account,
                        None if ev.market < 0 else ev.market, ev.lots,
                        ev.price if ev.has_price else None, ev.quote, ev.rule, ev.detail, ev.d1,
                        ev.d2))
        return out

    def cascade_trace(self):
        """The trace as int64 columns (no Python object per event): step, round, kind, account
        (EV_NONE_VALUE for None), market (-1 for None), lots, price, has_price, quote, rule,
        detail, d1, d2. Read-only views of the engine's event buffer, which they keep (no copy:
        at 10^6 accounts a copy is a few hundred MB of fresh memory); events added after this
        call go to a new buffer and leave these columns as they are."""
        cdef Cas* c = self.e.cas
        cdef cnp.npy_intp dims[2]
        cdef _EventBuffer owner
        cols = ("step", "round", "kind", "account", "market", "lots", "price", "has_price",
                "quote", "rule", "detail", "d1", "d2")
        assert sizeof(Ev) == len(cols) * sizeof(int64_t)
        if c == NULL or c.nev == 0:
            return {name: np.zeros(0, dtype=np.int64) for name in cols}
        if not c.evs_shared:
            owner = _EventBuffer()
            owner.data = c.evs
            self.evs_owner = owner
            c.evs_shared = True
        dims[0] = c.nev
        dims[1] = len(cols)
        table = cnp.PyArray_SimpleNewFromData(2, dims, cnp.NPY_INT64, <void*>c.evs)
        cnp.set_array_base(table, self.evs_owner)
        table.flags.writeable = False
        return {name: table[:, j] for j, name in enumerate(cols)}

    def clear_touched(self):
        """After a write-back: start tracking changes afresh."""
        self.touched[:] = 0
        self.acct_touched[:] = 0
        self.book_touched[:] = 0
