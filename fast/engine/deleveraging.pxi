# reference/deleveraging.py: the ranking scan, the allocation and the deleveraging itself
# (LIQ-ADL-*).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- auto-deleveraging (LIQ-ADL-*) ---------------------------------------------------------------

cdef inline int cmp_score(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """Order of candidates x, y (positions in the candidate list): higher score first, then the
    smaller position (the candidates are in account-ID order)."""
    cdef int sx = e.score_sign[x], sy = e.score_sign[y], c
    if sx != sy:
        return -1 if sx > sy else 1
    if sx != 0:
        c = liq_cmp_ufrac(e.score_num[x], e.score_den[x], e.score_num[y], e.score_den[y])
        if sx < 0:
            c = -c
        if c != 0:
            return -c
    return -1 if x < y else (1 if x > y else 0)


ctypedef int (*cmp_fn)(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil


ctypedef fused sort_item:
    int64_t     # row numbers, ordered by a cmp_fn over the engine's state
    DueEnt      # the cascade's packed (equity, maintenance, row) entries, by due_before


cdef sort_item* merge_passes(const Eng* e, sort_item* src, sort_item* dst, Py_ssize_t n,
                             cmp_fn cmp) noexcept nogil:
    """Bottom-up (stable) merge sort of src[0..n), dst the other buffer of n; returns the buffer
    that holds the result. Rows compare by ``cmp`` (a total order), packed due entries by
    due_before (``cmp`` unused): one merge, compiled once per item type."""
    cdef Py_ssize_t width = 1, lo, mid, hi, a, b, o
    cdef sort_item* swap
    cdef bint first
    while width < n:
        lo = 0
        while lo < n:
            mid = lo + width if lo + width < n else n
            hi = lo + 2 * width if lo + 2 * width < n else n
            a = lo
            b = mid
            o = lo
            while a < mid and b < hi:
                if sort_item is DueEnt:
                    first = due_before(&src[a], &src[b])
                else:
                    first = cmp(e, src[a], src[b]) <= 0
                if first:
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
    return src


cdef inline int bits_for(Py_ssize_t n) noexcept nogil:
    """The least L >= 0 with 2^L >= n: the bits a value below n needs, log2(n) rounded up."""
    cdef int bits = 0
    while bits < 62 and (<Py_ssize_t>1 << bits) < n:
        bits += 1
    return bits


ctypedef fused radix_item:
    HEnt        # the candidate index's entries, by row (active_sort)
    DueEnt      # the cascade's packed due entries, by their ratio's order-preserving bits


cdef inline uint64_t radix_key(const radix_item* item) noexcept nogil:
    """What radix_passes sorts by: an HEnt's row (never negative), a DueEnt's key."""
    if radix_item is HEnt:
        return <uint64_t>item.row
    else:
        return item.key


cdef radix_item* radix_passes(radix_item* src, radix_item* dst, Py_ssize_t n,
                              int bits) noexcept nogil:
    """Stable LSD radix sort of src[0..n) by the low ``bits`` bits of its key (an HEnt's row, a
    DueEnt's ``key``), RADIX_BITS a pass, O(n) each; dst the other buffer of n; returns the
    buffer that holds the result."""
    cdef Py_ssize_t counts[1 << RADIX_BITS]
    cdef Py_ssize_t x, d, total, count
    cdef int shift = 0
    cdef radix_item* swap
    while shift < bits:
        for d in range(1 << RADIX_BITS):
            counts[d] = 0
        for x in range(n):
            counts[(radix_key(&src[x]) >> shift) & ((1 << RADIX_BITS) - 1)] += 1
        total = 0
        for d in range(1 << RADIX_BITS):
            count = counts[d]
            counts[d] = total
            total += count
        for x in range(n):
            d = (radix_key(&src[x]) >> shift) & ((1 << RADIX_BITS) - 1)
            dst[counts[d]] = src[x]
            counts[d] += 1
        swap = src
        src = dst
        dst = swap
        shift += RADIX_BITS
    return src


cdef void merge_sort(const Eng* e, int64_t* idx, int64_t* tmp, Py_ssize_t n,
                     cmp_fn cmp) noexcept nogil:
    """Bottom-up (stable) merge sort of ``idx`` by ``cmp`` (a total order), ``tmp`` of n."""
    cdef Py_ssize_t o
    cdef int64_t* out = merge_passes(e, idx, tmp, n, cmp)
    if out != idx:
        for o in range(n):
            idx[o] = out[o]


cdef inline int set_score(Eng* e, Py_ssize_t x, liq_i128 num, liq_i128 den) noexcept nogil:
    """Score x = num / den with den > 0, as sign and magnitudes."""
    e.score_sign[x] = sgn(num)
    e.score_num[x] = <liq_u128>iabs(num)
    e.score_den[x] = <liq_u128>den
    return C_OK


cdef inline int set_score_u(Eng* e, Py_ssize_t x, int s, liq_u128 num, liq_u128 den) noexcept nogil:
    e.score_sign[x] = s if num != 0 else 0
    e.score_num[x] = num
    e.score_den[x] = den
    return C_OK


cdef int unrealized_pnl(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t* out) noexcept nogil:
    """LIQ-MARGIN-3: checked(value at the mark - cost)."""
    cdef int64_t v
    cdef liq_i128 pnl
    if value_of(e, e.lots[i * e.n_markets + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    pnl = <liq_i128>v - e.cost[i * e.n_markets + k]
    if not liq_fits_i64(pnl):
        return C_OVERFLOW
    out[0] = <int64_t>pnl
    return C_OK


cdef int score_of(Eng* e, Py_ssize_t x, Py_ssize_t a, Py_ssize_t k) noexcept nogil:
    """LIQ-ADL-2 scores as exact fractions, evaluated in the reference's order."""
    cdef int64_t pnl, v, eq, mm, p
    cdef liq_i128 eq1, wallet, total_pnl, vmax, cost, value, notional
    cdef liq_u128 num, den
    cdef Py_ssize_t j
    if e.adl_ranking == RANK_PNL_LEVERAGE:
        cost = iabs(e.cost[a * e.n_markets + k])
        if cost != 0 and unrealized_pnl(e, a, k, &pnl) != C_OK:
            return C_OVERFLOW
        if value_of(e, e.lots[a * e.n_markets + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        if equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        if cost == 0:
            return set_score(e, x, 0, 1)
        notional = iabs(v)
        eq1 = eq if eq > 1 else 1
        if pnl > 0:  # pnl / cost * notional / eq1
            return set_score(e, x, <liq_i128>pnl * notional, cost * eq1)
        return set_score(e, x, <liq_i128>pnl * eq1, cost * notional)  # (pnl / cost) / leverage
    if e.adl_ranking == RANK_PNL_MARGIN_RATIO:
        if unrealized_pnl(e, a, k, &pnl) != C_OK or equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        total_pnl = 0
        for j in range(e.n_markets):
            if e.present[a * e.n_markets + j]:
                if unrealized_pnl(e, a, j, &p) != C_OK:
                    return C_OVERFLOW
                total_pnl += p
        wallet = eq - total_pnl
        if not liq_fits_i64(wallet):
            return C_OVERFLOW  # the wallet balance is int64 (LIQ-DOMAIN-1), as the reference's
        if eq <= 0:
            return set_score(e, x, 0, 1)
        if maint_total(e, a, &mm) != C_OK:
            return C_OVERFLOW
        if wallet < e.one_quote_unit:
            wallet = e.one_quote_unit
        # max(0, pnl) / max(one unit, wallet) * mm / eq; mm >= 0 (requirements are)
        num = <liq_u128>(pnl if pnl > 0 else 0) * <liq_u128>(mm if mm > 0 else 0)
        # wallet and eq are int64: the product fits 128 bits (the check is a guard)
        if not liq_umul128(<liq_u128>wallet, <liq_u128>eq, &den):
            return C_OVERFLOW
        return set_score_u(e, x, 1, num, den)
    # RANK_PRICE_RATIO_LEVERAGE: (mark / entry or entry / mark) x notional / account value
    if value_of(e, e.lots[a * e.n_markets + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    value = iabs(v)
    cost = iabs(e.cost[a * e.n_markets + k])
    if cost == 0:
        cost = 1
    if value_of(e, e.lots[a * e.n_markets + k], k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    if equity_of(e, a, &eq) != C_OK:
        return C_OVERFLOW
    notional = iabs(v)
    eq1 = eq if eq > 1 else 1
    if e.lots[a * e.n_markets + k] > 0:  # value / cost * notional / eq1
        return set_score(e, x, value * notional, cost * eq1)
    vmax = value if value > 1 else 1  # cost / max(value, 1) * notional / eq1
    return set_score(e, x, cost * notional, vmax * eq1)


cdef inline uint64_t splitmix64(uint64_t value) noexcept nogil:
    """SplitMix64, the deterministic pseudo-random start of the seeded ranking (LIQ-ADL-2)."""
    value = value + <uint64_t>0x9E3779B97F4A7C15ULL
    value = (value ^ (value >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    value = (value ^ (value >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return value ^ (value >> 31)


cdef int pro_rata_shares(Eng* e, Py_ssize_t k, Py_ssize_t n_cand, liq_i128 needed,
                         liq_i128 total, Py_ssize_t* count) noexcept nogil:
    """LIQ-ADL-2 pro rata over the candidates in scratch_a[0..n_cand) (account-ID order) holding
    ``total`` lots: floor(needed x lots / total) each, the leftover lots one each by largest
    remainder (ties to the smaller row); rows in scratch_a, lots in scratch_b. O(n_cand log
    n_cand): every candidate's remainder takes part in the ranking."""
    cdef int64_t* cand = e.scratch_a
    cdef int64_t* order = e.scratch_b
    cdef int64_t* tmp = e.scratch_c
    cdef liq_i128 exact, leftover
    cdef Py_ssize_t x, got = 0
    if total <= needed:  # everyone takes everything; a shortfall is the caller's to report
        for x in range(n_cand):
            e.scratch_b[x] = <int64_t>iabs(e.lots[cand[x] * e.n_markets + k])
        count[0] = n_cand
        return C_OK
    # floor shares; the remainders (as scores) rank the leftover lots
    leftover = needed
    for x in range(n_cand):
        exact = needed * iabs(e.lots[cand[x] * e.n_markets + k])
        e.score_num[x] = <liq_u128>(exact % total)
        e.score_den[x] = 1
        e.score_sign[x] = 1 if exact % total != 0 else 0
        e.score_num[n_cand + x] = <liq_u128>(exact / total)  # the floor share, kept aside
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
    cdef int64_t position = e.lots[i * e.n_markets + k]
    cdef int side = sgn(position)
    cdef liq_i128 needed = iabs(position), total, take, lots_a
    cdef Py_ssize_t a, n_cand = 0, x, start, got = 0
    cdef int64_t* cand = e.scratch_a   # candidate rows in id order
    cdef int64_t* order = e.scratch_b
    cdef int64_t* tmp = e.scratch_c
    cdef int code
    for a in range(e.n_accounts):
        if e.role[a] == ROLE_TRADER and a != i and sgn(e.lots[a * e.n_markets + k]) == -side:
            cand[n_cand] = a
            n_cand += 1
    if e.adl_ranking == RANK_PRO_RATA:
        total = 0
        for x in range(n_cand):
            total += iabs(e.lots[cand[x] * e.n_markets + k])
        return pro_rata_shares(e, k, n_cand, needed, total, count)
    if e.adl_ranking == RANK_SEEDED:
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
        lots_a = iabs(e.lots[a * e.n_markets + k])
        take = needed if needed < lots_a else lots_a
        e.scratch_a[got] = a
        e.scratch_b[got] = <int64_t>take
        got += 1
        needed -= take
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
    cdef liq_i128 allocated = 0
    cdef Adl* d
    if e.adl_mode == ADL_SCAN:
        return adl_allocation_scan(e, i, k, seq_before, count)
    code = adl_allocation_index(e, i, k, seq_before, count)
    if e.adl_mode != ADL_VERIFY or code == C_ADL_MISMATCH:
        return code
    d = e.adl_index
    if d == NULL:
        return C_ADL_MISMATCH
    if d.check_rows == NULL:
        d.check_rows = <int64_t*>malloc((e.n_accounts + 1) * sizeof(int64_t))
        d.check_lots = <int64_t*>malloc((e.n_accounts + 1) * sizeof(int64_t))
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
        if code_scan != C_OK or allocated >= iabs(e.lots[i * e.n_markets + k]):
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


cdef inline bint fund_in_drawdown(const Eng* e, int64_t fund_peak) noexcept nogil:
    """LIQ-ADL-5 (reference: deleveraging.fund_in_drawdown): the fund has fallen from its peak
    by at least adl_drawdown_ppm of it, ``(peak - fund) * 10^6 >= ppm * peak`` with
    ``peak > fund``, exact in 128 bits."""
    cdef int64_t fund = e.holders[1]
    return e.adl_drawdown_ppm > 0 and fund_peak > fund \
        and (<liq_i128>fund_peak - fund) * PPM >= <liq_i128>e.adl_drawdown_ppm * fund_peak


cdef inline bint adl_at_mark(const Eng* e, int64_t fund_peak) noexcept nogil:
    """LIQ-ADL-4/5 (reference: deleveraging.adl_at_mark): the profile's price is the mark, or
    the fund is in drawdown."""
    return e.adl_price == ADL_AT_MARK or fund_in_drawdown(e, fund_peak)


cdef int adl_receive(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots,
                     int64_t fund_peak, liq_i128* out) noexcept nogil:
    """LIQ-ADL-4: the quote the bankrupt account receives for closing ``lots`` (negative: pays),
    at the bankruptcy value or at the mark (:func:`adl_at_mark`)."""
    cdef int64_t before, after, v_before, v_after
    if not adl_at_mark(e, fund_peak):
        return bankruptcy_value(e, i, k, lots, out)
    if closing_values(e, i, k, lots, &before, &after, &v_before, &v_after) != C_OK:
        return C_OVERFLOW
    out[0] = <liq_i128>v_before - v_after
    return C_OK


cdef int closing_values(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots, int64_t* before,
                        int64_t* after, int64_t* v_before, int64_t* v_after) noexcept nogil:
    """The position before and after closing ``lots`` of it, and their values at the mark
    (LIQ-MARGIN-1); OVERFLOW where either leaves int64."""
    cdef liq_i128 change
    before[0] = e.lots[i * e.n_markets + k]
    change = before[0] - sgn(before[0]) * <liq_i128>lots
    if not liq_fits_i64(change):
        return C_OVERFLOW  # a position beyond int64 has no int64 value (LIQ-MARGIN-1)
    after[0] = <int64_t>change
    if value_of(e, after[0], k, e.marks[k], v_after) != C_OK \
            or value_of(e, before[0], k, e.marks[k], v_before) != C_OK:
        return C_OVERFLOW
    return C_OK


cdef int bankruptcy_value(const Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t lots,
                          liq_i128* out) noexcept nogil:
    """LIQ-ADL-4 (prices.bankruptcy_value_quote): the quote received for closing ``lots`` at the
    bankruptcy price, -DNNV - floor(TNC x |DMMR| / TMMR) (negative: paid)."""
    cdef int64_t before, after, v_before, v_after, eq, total_mm
    cdef int64_t mm_before, mm_after
    cdef liq_i128 change, released
    if closing_values(e, i, k, lots, &before, &after, &v_before, &v_after) != C_OK:
        return C_OVERFLOW
    change = <liq_i128>v_after - v_before
    if equity_of(e, i, &eq) != C_OK or maint_total(e, i, &total_mm) != C_OK:
        return C_OVERFLOW
    if position_maint(e, i, k, before, &mm_before) != C_OK \
            or position_maint(e, i, k, after, &mm_after) != C_OK:
        return C_OVERFLOW
    released = <liq_i128>mm_before - mm_after
    if total_mm <= 0:
        return C_ZERO_DIVISION
    out[0] = -change - floor_div(<liq_i128>eq * released, total_mm)
    return C_OK


cdef struct AdlOut:
    int64_t lots
    Py_ssize_t counterparties
    bint settled
    liq_i128 fund_paid
    liq_i128 written_off


cdef inline int settle_if_flat(Eng* e, Py_ssize_t row, AdlOut* out) noexcept nogil:
    """After the ADL fills, for one party (the deleveraged account, then each counterparty in
    order): a flat row in deficit settles (LIQ-INSURANCE-1 / LIQ-SOCIAL-1), added to ``out``'s
    totals."""
    cdef liq_i128 paid, written
    if is_flat(e, row) and e.quote[row] < 0:
        if settle_deficit(e, row, &paid, &written) != C_OK:
            return C_OVERFLOW
        out.settled = True
        out.fund_paid += paid
        out.written_off += written
    return C_OK


cdef int deleverage(Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t fund_peak,
                    AdlOut* out) noexcept nogil:
    """LIQ-ADL-1/3/5 after the adapter's checks (account, market, the fund's peak, role,
    policy): the position, the trigger (with a book) or bankruptcy (without), the fund unless it
    is in drawdown from ``fund_peak``, the allocation, then the fills at the bankruptcy value (or
    the mark) and the settlements."""
    cdef int64_t position = e.lots[i * e.n_markets + k], eq, lots
    cdef bint liq, closable, at_mark = adl_at_mark(e, fund_peak)
    cdef Py_ssize_t count, x, cp
    cdef liq_i128 allocated = 0, receives, paid, written
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
    if not fund_in_drawdown(e, fund_peak):
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
        code = adl_receive(e, i, k, lots, fund_peak, &receives)
        if code != C_OK:
            return code
        if position > 0:
            code = do_fill(e, k, cp, i, lots, receives, e.marks[k], at_mark, R_ADL_3)
        else:
            code = do_fill(e, k, i, cp, lots, -receives, e.marks[k], at_mark, R_ADL_3)
        if code != C_OK:
            return code
    out.lots = <int64_t>iabs(position)
    out.counterparties = count
    out.settled = False
    out.fund_paid = 0
    out.written_off = 0
    if settle_if_flat(e, i, out) != C_OK:
        return C_OVERFLOW
    for x in range(count):
        if settle_if_flat(e, e.scratch_a[x], out) != C_OK:
            return C_OVERFLOW
    return C_OK
