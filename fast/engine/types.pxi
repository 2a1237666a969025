# The engine's constants (result codes, holders, rule IDs, roles, policies) and its structs:
# the venue (Eng), the journal (Rec), the cascade (Cas, Ev), the candidate index (Idx, Heap) and the
# deleveraging ranking index (Adl).
# Included by fast/_engine.pyx (one extension, one module namespace).

cdef enum:
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
            "LIQ-INSURANCE-2", "LIQ-DEPOSIT-1", "LIQ-WITHDRAW-1", "LIQ-TRADE-1", "LIQ-SHARE-1",
            "LIQ-SHARE-2", "LIQ-FEE-3", "LIQ-FEE-4")
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
    R_SHARE_1 = 14
    R_SHARE_2 = 15
    R_FEE_3 = 16
    R_FEE_4 = 17

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
    SIZE_ACCOUNT_SHARE = 3
    SIZE_COVER_SHORTAGE = 4
    SIZE_TWO_TIER_STEP = 5
    FEE_RATE = 0
    FEE_ALL_SURPLUS = 1
    FEE_PER_FILL = 2
    FEE_MAINTENANCE_SHARE = 3
    FEE_LIQUIDATOR_AND_FUND = 4
    BAD_DEBT_ADL = 0
    BAD_DEBT_SOCIALIZE = 1
    BAD_DEBT_SOCIALIZE_BOTH_SIDES = 2
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
SIZE_POLICIES = {"full": SIZE_FULL, "portion": SIZE_PORTION, "tier_step": SIZE_TIER_STEP,
                 "account_share": SIZE_ACCOUNT_SHARE, "cover_shortage": SIZE_COVER_SHORTAGE,
                 "two_tier_step": SIZE_TWO_TIER_STEP}
FEE_POLICIES = {"rate": FEE_RATE, "all_surplus": FEE_ALL_SURPLUS, "per_fill": FEE_PER_FILL,
                "maintenance_share": FEE_MAINTENANCE_SHARE,
                "liquidator_and_fund": FEE_LIQUIDATOR_AND_FUND}
BAD_DEBT_POLICIES = {"adl": BAD_DEBT_ADL, "socialize": BAD_DEBT_SOCIALIZE,
                     "socialize_both_sides": BAD_DEBT_SOCIALIZE_BOTH_SIDES}
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
    int64_t detail_party        # detail: the counterparty row, or a transfer's source
    int64_t detail_destination  # a transfer's destination


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
    HEnt* act_tmp                # [capact] active_sort's other buffer
    Py_ssize_t nact
    Py_ssize_t capact
    int64_t* check_row           # [n] ORDER_VERIFY: the index's answer
    int64_t scans
    int64_t index_rounds
    int64_t examined
    int64_t sorted_rounds        # rounds whose candidates active_sort ordered by row
    int64_t bulk_takes           # sweeps that took a heap's crossed entries by one pass
    bint appending               # place() appends to the heaps unsorted (a bulk re-key)
    int64_t bulk_rekeys          # re-keys of many rows at once: appended, then each heap rebuilt
    int64_t compactions          # heaps rebuilt without their stale entries


cdef struct FundSample:
    liq_i128 time_s              # step x step_seconds, exact (the reference's times are ints)
    int64_t balance


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
    liq_i128 step_notional
    liq_i128 step_adl
    liq_i128 step_written_off
    liq_i128 adl_notional
    liq_i128 socialized
    int64_t* due_row
    int64_t* due_eq
    int64_t* due_mm
    int64_t* due_tmp
    int64_t* order_cols          # [m] scratch: a processed account's markets in id order
    int64_t* sides               # [m]
    liq_i128* noted              # [3m] the round's write-offs by bearer: [3k + side + 1]
    int64_t* last_fill           # [m] last liquidation fill of the round, 0 when none
    Ev* evs
    Py_ssize_t nev
    Py_ssize_t capev
    bint evs_shared              # evs belongs to the arrays cascade_trace returned: never realloc'd
    bint keep_journal            # False: each operation's records dropped once in the trace
    Idx* ix                      # the candidate index (NULL: scan every round)
    # LIQ-ADL-5: the fund's balances sampled within the window, balances decreasing, in
    # fund_samples[fund_head .. fund_head + fund_len) (the reference's FundWindow)
    int64_t fund_window_s        # 0: the profile has no drawdown rule, nothing is sampled
    FundSample* fund_samples
    Py_ssize_t fund_head
    Py_ssize_t fund_len
    Py_ssize_t fund_cap
    int64_t round_peak           # the fund's peak as the round began


# the deleveraging ranking index (see "auto-deleveraging at scale")
cdef struct AdlEnt:
    liq_u128 num            # the score |num| / den, sign sgn
    liq_u128 den
    int64_t gen             # stale unless equal to the (row, market)'s gen
    int8_t sgn


cdef struct AdlKey:
    double key              # sgn x num / den rounded (a filter only: see entry_before); 0.0 for 0
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
    liq_i128 total          # sum of their |lots|
    int32_t* fen            # seeded: a Fenwick tree of membership over rows (NULL until needed)


cdef struct Adl:
    int8_t* side            # [n*m] the side (row, market) is ranked under, 0 for none
    uint64_t* held          # [n*m] its |lots| then (unsigned: |INT64_MIN| = 2^63 fits)
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
    Py_ssize_t n_accounts                # accounts
    Py_ssize_t n_markets                 # markets
    # accounts (rows in sorted-id order)
    int64_t* quote                       # [n]
    int64_t* lots                        # [n*m]
    int64_t* cost                        # [n*m], cost_quote.get(market, 0)
    uint8_t* present                     # [n*m], the market is a key of positions
    uint8_t* touched                     # [n*m], _move_base ran on it (written back)
    uint8_t* account_touched             # [n], quote or a position changed (written back)
    int64_t* n_positions                 # [n], len(positions)
    int8_t* role                         # [n]
    int64_t* isolated                    # [n], market column, -1 cross, -2 bound to a market
                                         # not in the profile
    int64_t* leverage                    # [n*m], chosen leverage (LIQ-LEVERAGE-2), 0 none;
                                         # NULL: nobody chose
    liq_i128* long_lots                  # [m], sum of positive positions (open interest in lots)
    # the venue
    int64_t* marks                       # [m]
    int64_t holders[5]                   # HOLDERS order: outside, fund, fee sink, socialized
                                         # loss, funding pool
    int64_t seq                          # the seq journal records are stamped with (the
                                         # operation's)
    # profile tables
    Tables tables                        # the tier tables (fast/_rules.pxd)
    const int64_t* liquidation_fee_ppm
    const int64_t* liquidator_fee_ppm    # LIQ-FEE-3, per market
    const int64_t* columns_by_market_id  # market columns in market-id order
    # profile policies
    int size_policy
    int fee_policy
    int bad_debt_policy
    int adl_ranking
    int adl_price
    int maintenance_basis                # LIQ-TIER-6
    int64_t portion_ppm
    int64_t portion_threshold_quote      # clamped to int64 (only compared with a notional)
    int64_t share_target_ppm             # account_share: the margin ratio to fall below
    int64_t liquidation_buffer_ppm       # cover_shortage: LIQ-SHORTAGE-1's buffer
    int64_t backstop_num
    int64_t backstop_den                 # 0: no backstop
    uint64_t adl_seed                    # the seed modulo 2^64 (SplitMix64 reads only those bits)
    int64_t adl_drawdown_ppm             # LIQ-ADL-5's share of the fund's peak, 0: no such rule
    int64_t one_quote_unit               # 10 ** quote_decimals
    # books, one per market: levels [head, end) of a side at offset k * book_capacity
    uint8_t* has_book                    # [m]
    int64_t* book_account                # [m], row of the book's account, -1 when it is not
                                         # an account
    int64_t* bid_price
    int64_t* bid_lots
    int64_t* ask_price
    int64_t* ask_lots
    int64_t* bid_head
    int64_t* bid_end
    int64_t* ask_head
    int64_t* ask_end
    Py_ssize_t book_capacity
    uint8_t* book_touched                # [m]
    # journal
    Rec* records
    Py_ssize_t n_records
    Py_ssize_t records_capacity
    # scratch of length n for auto-deleveraging
    int64_t* scratch_a
    int64_t* scratch_b
    int64_t* scratch_c
    int8_t* score_sign
    liq_u128* score_num
    liq_u128* score_den
    # the cascade (LIQ-CASCADE-*), see the cascade section
    Cas* cascade
    # change tracking for the cascade's candidate index (see "the processing order at scale")
    bint track_changes
    uint8_t* dirty                       # [n] touched since the index last placed the row
    int64_t* dirty_list                  # [n]
    Py_ssize_t n_dirty
    liq_i128* bound_lots                 # [m] at least |lots| of every trader in each market
    liq_i128 bound_quote                 # at least |quote| of every trader
    liq_i128 clock                       # total variation of every mark so far (LIQ-MARK-2 moves)
    # the deleveraging ranking index (NULL until the first allocation) and how it is checked
    Adl* adl_index
    int adl_mode


cdef enum:
    RADIX_BITS = 11  # the digit of the radix sorts (active_sort, order_due): 2^11 counters


# a due account packed for sort_due (cascade.pxi): its equity, maintenance and row, and the
# order-preserving bits of eq / mm as a double (order_due's first pass)
cdef struct DueEnt:
    int64_t eq
    int64_t mm
    int64_t row
    uint64_t key
