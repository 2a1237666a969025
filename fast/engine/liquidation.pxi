# reference/liquidation.py: the size and fee of a liquidation step, the step itself and the
# backstop (LIQ-EXEC-*, LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-BACKSTOP-1); and
# reference/share_liquidation.py: liquidation by account share (LIQ-SHARE-1, LIQ-SHARE-2).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- liquidation to cover the margin shortage (LIQ-SHORTAGE-1, LIQ-FEE-3, LIQ-FEE-4) ------------
# reference/shortage.py. Every rate is in 1 / (10^6 x the market's rate_scale).

cdef struct ShortageRates:
    liq_i128 whole                       # 100%
    liq_i128 margin_rate                 # the position's maintenance rate plus the buffer
    liq_i128 liquidator_rate
    liq_i128 fund_rate                   # min(the market's rate, the implied rate)


cdef int margin_shortage(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """LIQ-SHORTAGE-1: max(MM + ceil(buffer x sum |notional at the mark|) - equity, 0), checked
    as the reference's (each notional, the maintenance, the equity, the difference)."""
    cdef Py_ssize_t k
    cdef int64_t v, mm, eq, shortage
    cdef liq_i128 notional = 0
    for k in range(e.n_markets):
        if e.lots[i * e.n_markets + k] == 0:
            continue
        if value_of(e, e.lots[i * e.n_markets + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        notional += iabs(<liq_i128>v)
    if maint_total(e, i, &mm) != C_OK or equity_of(e, i, &eq) != C_OK:
        return C_OVERFLOW
    if checked(mm + ceil_div(notional * e.liquidation_buffer_ppm, PPM) - eq, &shortage) != C_OK:
        return C_OVERFLOW
    out[0] = shortage if shortage > 0 else 0
    return C_OK


cdef int shortage_rates(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t shortage,
                        ShortageRates* out) noexcept nogil:
    """LIQ-FEE-4: the rates of a step in k for row i ``shortage`` short (a position in k held):
    the maintenance rate of the position's tier (LIQ-TIER-6's basis) plus the buffer, the
    liquidator's fee, and the fund's, min(the market's rate, floor(19/20 x max(margin -
    liquidator - floor(shortage x whole / V), 0))), V the position's notional at the mark."""
    cdef int64_t position = e.lots[i * e.n_markets + k], v
    cdef liq_i128 scale = e.tables.rate_scale[k], implied, basis
    if value_of(e, position, k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    # the requirement's notional (LIQ-TIER-6): the entry value (unchecked, as the reference's
    # abs of a cost basis, which may be 2^63) or the notional at the mark
    basis = iabs(<liq_i128>e.cost[i * e.n_markets + k]) if at_entry(e, i) else iabs(<liq_i128>v)
    out.whole = PPM * scale
    out.margin_rate = (e.tables.maint_margin_ppm[tier_slot(&e.tables, k, basis, iabs(position))]
                       + e.liquidation_buffer_ppm * scale)
    out.liquidator_rate = e.liquidator_fee_ppm[k] * scale
    implied = out.margin_rate - out.liquidator_rate - floor_div(
        <liq_i128>shortage * out.whole, iabs(<liq_i128>v))
    implied = floor_div((implied if implied > 0 else 0) * 19, 20)
    out.fund_rate = e.liquidation_fee_ppm[k] * scale
    if implied < out.fund_rate:
        out.fund_rate = implied
    return C_OK


cdef int cover_shortage_lots(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots,
                             int64_t* out) noexcept nogil:
    """LIQ-SHORTAGE-1 (``lots`` the position's size, worth more than the threshold): the fewest
    lots whose close at the mark frees the shortage, ceil(S x whole / (mark x m x (margin -
    liquidator - fund))), at least 1 and at most ``lots``; all of it when that rate is not
    positive. The denominator is below 2^103: mark x m is one lot's value (an int64) and the
    rate at most 10^12."""
    cdef int64_t shortage
    cdef ShortageRates rates
    cdef liq_i128 freed, needed
    if margin_shortage(e, i, &shortage) != C_OK:
        return C_OVERFLOW
    if shortage_rates(e, i, k, shortage, &rates) != C_OK:
        return C_OVERFLOW
    freed = rates.margin_rate - rates.liquidator_rate - rates.fund_rate
    if freed <= 0:
        out[0] = lots
        return C_OK
    needed = ceil_div(<liq_i128>shortage * rates.whole,
                      <liq_i128>e.marks[k] * e.tables.value_per_lot_tick[k] * freed)
    if needed < 1:
        needed = 1
    out[0] = <int64_t>(needed if needed < lots else lots)
    return C_OK


# -- liquidation (LIQ-EXEC-*, LIQ-FEE-1) ---------------------------------------------------------

cdef int size_lots(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t* out) noexcept nogil:
    """LIQ-EXEC-1: how many lots one step may close (under account_share, none: LIQ-SHARE-2)."""
    cdef int64_t position = e.lots[i * e.n_markets + k], v, lots
    cdef liq_i128 c, basis
    cdef Py_ssize_t slot
    cdef bint past
    if e.size_policy == SIZE_ACCOUNT_SHARE:
        return C_POLICY_FORBIDS
    lots = position if position > 0 else -position
    if position == INT64_MIN:
        return C_OVERFLOW  # |INT64_MIN| is no int64 (and its value cannot be either)
    if value_of(e, lots, k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    if e.size_policy == SIZE_FULL:
        out[0] = lots
        return C_OK
    if e.size_policy == SIZE_COVER_SHORTAGE:
        if lots == 0 or v <= e.portion_threshold_quote:
            out[0] = lots
            return C_OK
        return cover_shortage_lots(e, i, k, lots, out)
    if e.size_policy == SIZE_PORTION:
        if v <= e.portion_threshold_quote:
            out[0] = lots
        else:
            c = ceil_div(<liq_i128>lots * e.portion_ppm, PPM)
            out[0] = <int64_t>(c if c > 1 else 1)
        return C_OK
    # tier_step and two_tier_step: the tier of the requirement's notional (LIQ-TIER-6), the
    # entry value or the notional at the mark; in a market keyed by size, of the size (LIQ-TIER-8)
    basis = iabs(<liq_i128>e.cost[i * e.n_markets + k]) if at_entry(e, i) else v
    slot = tier_slot(&e.tables, k, basis, lots)
    if e.size_policy == SIZE_TIER_STEP:
        out[0] = lots - kept_below(e, i, k, slot, lots)
        return C_OK
    # LIQ-EXEC-3: whole in the first two tiers or past the trigger at the first tier's rate
    if slot - k * e.tables.tier_width < 2:
        out[0] = lots
        return C_OK
    if past_at_first_tier(e, i, k, basis, &past) != C_OK:
        return C_OVERFLOW
    out[0] = lots if past else lots - kept_below(e, i, k, slot - 1, lots)
    return C_OK


cdef int64_t kept_below(const Eng* e, Py_ssize_t i, Py_ssize_t k, Py_ssize_t slot,
                        int64_t lots) noexcept nogil:
    """LIQ-EXEC-1 (reference: liquidation.lots_kept_below): the most lots of row i's position
    in k (of ``lots``) whose requirement's notional stays below the floor of the tier at
    ``slot`` (LIQ-TIER-6), or whose size does in a market keyed by size (floor_lots - 1,
    LIQ-TIER-8); 0 below the first tier's floor."""
    cdef int64_t position = e.lots[i * e.n_markets + k]
    cdef liq_i128 floor_quote, keep, above, c
    if e.tables.tier_by_size[k]:
        return e.tables.tier_floor_lots[slot] - 1 if e.tables.tier_floor_lots[slot] > 0 else 0
    floor_quote = e.tables.tier_floor_quote[slot]
    if floor_quote == 0:
        return 0
    if not at_entry(e, i):  # at the mark: k lots are worth k * mark * m
        return <int64_t>(ceil_div(floor_quote,
                                  <liq_i128>e.marks[k] * e.tables.value_per_lot_tick[k]) - 1)
    keep = 0  # at entry: the basis kept lots keep rises with them; bisect
    above = lots  # basis(keep) < floor <= basis(above)
    while above - keep > 1:
        c = (keep + above) // 2
        if iabs(reduced_cost(e.cost[i * e.n_markets + k], position, c)) < floor_quote:
            keep = c
        else:
            above = c
    return <int64_t>keep


cdef int past_at_first_tier(const Eng* e, Py_ssize_t i, Py_ssize_t k, liq_i128 basis,
                            bint* out) noexcept nogil:
    """LIQ-EXEC-3 (reference: liquidation.past_at_first_tier): row i past its trigger with its
    position in k required at k's first tier on the same notional ``basis``, the others as
    they are; each term checked as the reference's (the position's own requirement, the first
    tier's, the account's, the equity)."""
    cdef int64_t own, first = 0, mm, eq
    if position_maint(e, i, k, e.lots[i * e.n_markets + k], &own) != C_OK:
        return C_OVERFLOW
    if basis != 0 and checked(maintenance_at_slot(&e.tables, k, k * e.tables.tier_width, basis),
                              &first) != C_OK:  # a flat notional requires nothing (LIQ-TIER-2)
        return C_OVERFLOW
    if maint_total(e, i, &mm) != C_OK or equity_of(e, i, &eq) != C_OK:
        return C_OVERFLOW
    out[0] = liq_triggered(eq, <liq_i128>mm - own + first, e.tables.trigger_slack)
    return C_OK


cdef int fixed_constant(const Eng* e, Py_ssize_t i, Py_ssize_t market,
                        liq_i128* out) noexcept nogil:
    """C of prices.py: quote plus the value of every other position."""
    cdef Py_ssize_t k
    cdef int64_t v
    cdef liq_i128 c = e.quote[i]
    for k in range(e.n_markets):
        if k == market or e.lots[i * e.n_markets + k] == 0:
            continue
        if value_of(e, e.lots[i * e.n_markets + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        c += v
    out[0] = c
    return C_OK


cdef int fee_quote(const Eng* e, Py_ssize_t k, int64_t side, int64_t lots, int64_t price,
                   liq_i128 scale, liq_i128 gap, liq_i128 den, int64_t surplus,
                   int64_t* out) noexcept nogil:
    """LIQ-FEE-1: the fee of a step closing ``lots`` of a position on ``side`` at ``price``,
    min(wanted, max(surplus, 0)). ``wanted`` is ceil(|fill notional| x rate), or under
    all_surplus max(ceil(gain), 0) with gain = side x lots x m x (price - B), B the bankruptcy
    price, which the caller gives as m x (price - B) = scale x gap / den (0 < den <= 2^63,
    |gap| < 2^127). The numerator side x lots x scale x gap is exact in 128 bits or else at
    least 2^127 in size, and then |gain| >= 2^127 / 2^63 exceeds any int64 surplus: its sign
    alone decides."""
    cdef liq_i128 cap = surplus if surplus > 0 else 0, wanted = 0, factor, numerator
    cdef int64_t amount
    cdef int direction
    if e.fee_policy == FEE_PER_FILL:
        return C_POLICY_FORBIDS  # its fee is the fill's insurance fund delta (LIQ-FEE-2)
    if e.fee_policy == FEE_MAINTENANCE_SHARE:
        return C_POLICY_FORBIDS  # its penalty is the account's (LIQ-SHARE-1)
    if e.fee_policy == FEE_LIQUIDATOR_AND_FUND:
        return C_POLICY_FORBIDS  # its fees are LIQ-FEE-3's and LIQ-FEE-4's
    if e.fee_policy == FEE_ALL_SURPLUS:
        if liq_mul128(<liq_i128>side * lots, scale, &factor) and liq_mul128(factor, gap, &numerator):
            wanted = ceil_div(numerator, den)
            if wanted < 0:
                wanted = 0
        else:
            direction = sgn(side) * sgn(lots) * sgn(scale) * sgn(gap)
            wanted = cap if direction > 0 else 0
    else:
        if value_of(e, lots, k, price, &amount) != C_OK:
            return C_OVERFLOW
        wanted = ceil_div(iabs(amount) * e.liquidation_fee_ppm[k], PPM)
    out[0] = <int64_t>(wanted if wanted < cap else cap)
    return C_OK


cdef int fund_delta_quote(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots, int64_t price,
                          liq_i128* out) noexcept nogil:
    """LIQ-FEE-2: dYdX's insurance fund delta of a fill closing ``lots`` at ``price``, before the
    fill: the fill's quote (received +, paid -) less the closed lots' bankruptcy value
    (LIQ-ADL-4); when positive, at most floor(|fill quote| x rate)."""
    cdef int64_t amount, position = e.lots[i * e.n_markets + k]
    cdef liq_i128 value, delta, cap
    cdef int code
    if value_of(e, lots, k, price, &amount) != C_OK:
        return C_OVERFLOW
    code = bankruptcy_value(e, i, k, lots, &value)
    if code != C_OK:
        return code
    delta = (<liq_i128>amount if position > 0 else -(<liq_i128>amount)) - value
    if delta > 0:
        cap = floor_div(iabs(amount) * e.liquidation_fee_ppm[k], PPM)
        if cap < delta:
            delta = cap
    out[0] = delta
    return C_OK


cdef struct LiqOut:
    int64_t lots
    int64_t fee
    int64_t surplus
    bint per_fill
    bint two_fees                        # liquidator_and_fund: liquidator_fee is read
    int64_t liquidator_fee
    liq_i128 fund_delta
    liq_i128 fund_covered
    bint settled
    liq_i128 fund_paid
    liq_i128 written_off


cdef inline int liquidatable_position(const Eng* e, Py_ssize_t i, Py_ssize_t k,
                                      int64_t* position) noexcept nogil:
    """LIQ-RESULT-2's shared steps of a liquidation (on the book or against a counterparty): the
    account liquidatable (else NOT_LIQUIDATABLE), then a position in k (else NO_POSITION), which
    goes to ``position``."""
    cdef bint liq
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_NOT_LIQUIDATABLE
    position[0] = e.lots[i * e.n_markets + k]
    if position[0] == 0:
        return C_NO_POSITION
    return C_OK


cdef int liquidate_step(Eng* e, Py_ssize_t i, Py_ssize_t k, Py_ssize_t cp, int64_t price,
                        int64_t lots_wanted, bint cp_allowed, LiqOut* out) noexcept nogil:
    """LIQ-EXEC-2 after the argument checks the adapter makes (accounts, market, size and price
    domains, same account, role): the counterparty's isolation, the trigger, the position, the
    size policy, then the fill, the counterparty's margin, the fee and the settlement.
    ``lots_wanted`` < 0 means the policy's size."""
    cdef int64_t position, allowed, size, amount, surplus, fee_q, shortage, reward = 0
    cdef Before cp_before
    cdef liq_i128 constant, gap, den, fee, delta = 0, covered = 0
    cdef int code, side
    cdef bint per_fill = e.fee_policy == FEE_PER_FILL
    cdef bint two_fees = e.fee_policy == FEE_LIQUIDATOR_AND_FUND
    cdef ShortageRates rates
    cdef Py_ssize_t buyer, seller
    if price <= 0:
        return C_INVALID_PRICE
    if not cp_allowed:  # LIQ-ACCOUNT-2, decided by the adapter
        return C_ISOLATED_MARKET_MISMATCH
    code = liquidatable_position(e, i, k, &position)
    if code != C_OK:
        return code
    code = size_lots(e, i, k, &allowed)  # OVERFLOW, or POLICY_FORBIDS under account_share
    if code != C_OK:
        return code
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
    if two_fees:  # LIQ-FEE-4: the rates of the shortage before the step
        if margin_shortage(e, i, &shortage) != C_OK:
            return C_OVERFLOW
        if shortage_rates(e, i, k, shortage, &rates) != C_OK:
            return C_OVERFLOW
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
    if two_fees:  # LIQ-FEE-3, before the counterparty's margin check
        reward = <int64_t>floor_div(<liq_i128>amount * e.liquidator_fee_ppm[k], PPM)
        if reward > 0 and transfer(e, i, cp, reward, R_FEE_3) != C_OK:
            return C_OVERFLOW
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
    elif two_fees:  # LIQ-FEE-4: floor(q x fund rate), at most the surplus
        fee = floor_div(<liq_i128>amount * rates.fund_rate, rates.whole)
        if fee > (surplus if surplus > 0 else 0):
            fee = surplus if surplus > 0 else 0
    else:
        if side * constant < 0:
            gap = (<liq_i128>e.tables.value_per_lot_tick[k] * price * iabs(position)
                   + side * constant)
            den = iabs(position)
        else:
            gap = <liq_i128>e.tables.value_per_lot_tick[k] * price
            den = 1
        if fee_quote(e, k, side, size, price, 1, gap, den, surplus, &fee_q) != C_OK:
            return C_OVERFLOW
        fee = fee_q
    if fee > 0 and transfer(e, i, H_INSURANCE_FUND, fee, R_FEE_4 if two_fees else R_FEE_1) != C_OK:
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
    out.two_fees = two_fees
    out.liquidator_fee = reward
    out.fund_delta = delta
    out.fund_covered = covered
    out.settled = False
    if is_flat(e, i) and e.quote[i] < 0:
        out.settled = True
        if settle_deficit(e, i, &out.fund_paid, &out.written_off) != C_OK:
            return C_OVERFLOW
    return C_OK


# -- the backstop (LIQ-BACKSTOP-1) ---------------------------------------------------------------

cdef int backstop_liquidate(Eng* e, Py_ssize_t i, Py_ssize_t vault, liq_i128* taken) noexcept nogil:
    """After the adapter's checks (accounts, roles, policy, the vault's isolation): the threshold,
    then the vault takes every position at the mark, in market-id order, and the remaining
    quote."""
    cdef bint below
    cdef Py_ssize_t c, k
    cdef int64_t lots, amount, mark
    cdef liq_i128 remaining
    cdef int code
    if below_backstop(e, i, &below) != C_OK:
        return C_OVERFLOW
    if not below:
        return C_NOT_LIQUIDATABLE
    for c in range(e.n_markets):
        k = e.columns_by_market_id[c]
        if not e.present[i * e.n_markets + k]:
            continue
        lots = e.lots[i * e.n_markets + k]
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


# -- liquidation by account share (LIQ-SHARE-1, LIQ-SHARE-2) -------------------------------------

cdef struct ShareOut:
    int64_t share_ppm
    int64_t penalty_quote
    bint settled
    liq_i128 fund_paid
    liq_i128 written_off


cdef inline liq_i128 share_lots(int64_t lots, int64_t share_ppm) noexcept nogil:
    """ceil(|lots| x share): a share closes at least its exact fraction."""
    return ceil_div(iabs(<liq_i128>lots) * share_ppm, PPM)


cdef int fee_weighted_maint(const Eng* e, Py_ssize_t i, liq_i128* out) noexcept nogil:
    """sum_k(MM_k x fee_k) before the liquidation (quote x ppm), the same for every share. Each
    term is below 2^63 x 2^20, so the sum fits 128 bits for any market count an engine can
    hold."""
    cdef Py_ssize_t k
    cdef int64_t mm_quote
    cdef liq_i128 total = 0
    for k in range(e.n_markets):
        if not e.present[i * e.n_markets + k]:
            continue
        if position_maint(e, i, k, e.lots[i * e.n_markets + k], &mm_quote) != C_OK:
            return C_OVERFLOW
        total += <liq_i128>mm_quote * e.liquidation_fee_ppm[k]
    out[0] = total
    return C_OK


cdef inline int64_t share_penalty(liq_i128 fee_weighted, int64_t share_ppm,
                                  int64_t equity) noexcept nogil:
    """LIQ-SHARE-1: min(ceil(share x fee_weighted / 10^12), max(equity, 0)). When the product
    leaves 128 bits it is far above the cap, which is then the penalty."""
    cdef liq_i128 wanted, cap = equity if equity > 0 else 0
    if liq_mul128(fee_weighted, share_ppm, &wanted):
        wanted = ceil_div(wanted, <liq_i128>PPM * PPM)
        if wanted < cap:
            cap = wanted
    return <int64_t>cap


cdef int share_plan(const Eng* e, Py_ssize_t i, int64_t* share_out,
                    int64_t* penalty_out) noexcept nogil:
    """LIQ-SHARE-1: the first share (portion_ppm, twice it, ... below 100%, then 100%) after
    which the requirement of the lots kept is below share_target_ppm of equity less the
    penalty."""
    cdef Py_ssize_t k
    cdef int64_t equity, penalty = 0, mm_quote, lots, share = 0
    cdef liq_i128 kept_mm_quote, closed, fee_weighted
    if equity_of(e, i, &equity) != C_OK:
        return C_OVERFLOW
    if fee_weighted_maint(e, i, &fee_weighted) != C_OK:  # the same for every share
        return C_OVERFLOW
    while share < PPM:
        share = share + e.portion_ppm if share + e.portion_ppm < PPM else PPM
        kept_mm_quote = 0
        for k in range(e.n_markets):
            if not e.present[i * e.n_markets + k]:
                continue
            lots = e.lots[i * e.n_markets + k]
            closed = share_lots(lots, share)
            if position_maint(e, i, k, <int64_t>(lots - closed if lots > 0 else lots + closed),
                              &mm_quote) != C_OK:
                return C_OVERFLOW
            kept_mm_quote += mm_quote
        if not liq_fits_i64(kept_mm_quote):
            return C_OVERFLOW
        penalty = share_penalty(fee_weighted, share, equity)
        if kept_mm_quote * PPM < <liq_i128>e.share_target_ppm * (<liq_i128>equity - penalty):
            break
    share_out[0] = share
    penalty_out[0] = penalty
    return C_OK


cdef int share_liquidate(Eng* e, Py_ssize_t i, Py_ssize_t vault, ShareOut* out) noexcept nogil:
    """LIQ-SHARE-2, after the adapter's checks (accounts, roles, policy, the vault's isolation):
    the trigger, then the vault takes the share of every position at the mark, in market-id
    order; the penalty to the insurance fund; a flat account in deficit settled."""
    cdef bint liq
    cdef Py_ssize_t c, k
    cdef int64_t lots, amount_quote, mark
    cdef liq_i128 closed_lots
    cdef int code
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_NOT_LIQUIDATABLE
    if share_plan(e, i, &out.share_ppm, &out.penalty_quote) != C_OK:
        return C_OVERFLOW
    for c in range(e.n_markets):
        k = e.columns_by_market_id[c]
        if not e.present[i * e.n_markets + k]:
            continue
        lots = e.lots[i * e.n_markets + k]
        mark = e.marks[k]
        closed_lots = share_lots(lots, out.share_ppm)  # at most |lots|: 2^63 for INT64_MIN
        if not liq_fits_i64(closed_lots) or value_of(e, <int64_t>closed_lots, k, mark,
                                                       &amount_quote) != C_OK:
            return C_OVERFLOW  # the reference's checked() on the fill's lots or cash
        if lots > 0:
            code = do_fill(e, k, vault, i, <int64_t>closed_lots, amount_quote, mark, True,
                           R_SHARE_2)
        else:
            code = do_fill(e, k, i, vault, <int64_t>closed_lots, amount_quote, mark, True,
                           R_SHARE_2)
        if code != C_OK:
            return code
    if out.penalty_quote > 0 and transfer(e, i, H_INSURANCE_FUND, out.penalty_quote,
                                          R_SHARE_1) != C_OK:
        return C_OVERFLOW
    out.settled = False
    if is_flat(e, i) and e.quote[i] < 0:
        out.settled = True
        if settle_deficit(e, i, &out.fund_paid, &out.written_off) != C_OK:
            return C_OVERFLOW
    return C_OK
