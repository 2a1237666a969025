# reference/cascade.py: events, marks, books, the processing order and the rounds
# (LIQ-CASCADE-*, LIQ-MARK-2, LIQ-BOOK-1).
# Included by fast/_engine.pyx (one extension, one module namespace).

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
    R_CASCADE_4 = 18  # after RULE_IDS' 18
    R_MARK_2 = 19
    R_CASCADE_2 = 20
    DETAIL_NONE = 0
    DETAIL_COUNTERPARTY = 1
    DETAIL_TRANSFER = 2
    DETAIL_UNRESOLVED = 3
    DETAIL_SOCIALIZE = 4    # detail_party: the side charged, detail_destination: the payers
    MARK_INDEX_BAND = 0
    MARK_LAST_FILL = 1
    NO_DUE = -1

cdef int64_t EV_NONE = INT64_MIN
EV_NONE_VALUE = EV_NONE


cdef int event(Eng* e, int kind, int64_t account, Py_ssize_t market, int64_t lots, int64_t price,
               bint has_price, int64_t quote, int rule, int detail, int64_t detail_party,
               int64_t detail_destination) noexcept nogil:
    cdef Cas* c = e.cascade
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
    v.detail_party = detail_party
    v.detail_destination = detail_destination
    c.nev += 1
    return C_OK


cdef int record_receipt(Eng* e, int64_t subject, Py_ssize_t first) noexcept nogil:
    """The reference's _Recorder.receipt: an operation's journal records as trace events."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t r
    cdef Rec* rec
    cdef Rec* following
    cdef int kind
    cdef int64_t account
    for r in range(first, e.n_records):
        rec = &e.records[r]
        if rec.kind == K_FILL:
            if rec.rule == R_EXEC_2 or rec.rule == R_SHARE_2:
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
            if r + 1 < e.n_records:
                following = &e.records[r + 1]
                if following.kind == K_FILL and following.rule == rec.rule:
                    continue  # the cash leg of the fill that follows
            if rec.rule == R_FEE_1 or rec.rule == R_SHARE_1 or rec.rule == R_FEE_4:
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
        e.n_records = first  # in the trace now; nothing else reads them (cascade_arrays)
    return C_OK


cdef inline void band(const Cas* c, int64_t index, liq_i128* low, liq_i128* high) noexcept nogil:
    """The band around the index, its bounds rounded toward the index (LIQ-MARK-2)."""
    low[0] = ceil_div(<liq_i128>index * (PPM - c.band_ppm), PPM)
    high[0] = floor_div(<liq_i128>index * (PPM + c.band_ppm), PPM)


cdef int set_mark(Eng* e, Py_ssize_t k, liq_i128 price) noexcept nogil:
    """LIQ-MARK-1 as one operation (its own seq)."""
    if price <= 0 or not liq_fits_i64(price):
        return C_INVALID_PRICE
    e.seq += 1
    if e.track_changes:
        e.clock += iabs(price - e.marks[k])
    if e.adl_index != NULL:
        e.adl_index.mark_version += 1  # every score may move: rankings rebuild when next needed
    e.marks[k] = <int64_t>price
    return C_OK


cdef inline int add_level(int64_t* prices, int64_t* lots, Py_ssize_t* n, liq_i128 price,
                          int64_t lots_per_level) noexcept nogil:
    """One ladder level of LIQ-BOOK-1 appended to a side: none at a price <= 0, merged into the
    last level when it rounds onto the same tick (the lots stay in int64, LIQ-DOMAIN-1), and
    C_OVERFLOW for a price beyond int64 (only asks, for marks near 2^63)."""
    if price <= 0:
        return C_OK
    if not liq_fits_i64(price):
        return C_OVERFLOW
    if n[0] and prices[n[0] - 1] == price:
        if not liq_fits_i64(<liq_i128>lots[n[0] - 1] + lots_per_level):
            return C_OVERFLOW
        lots[n[0] - 1] += lots_per_level
    else:
        prices[n[0]] = <int64_t>price
        lots[n[0]] = lots_per_level
        n[0] += 1
    return C_OK


cdef int build_ladder(Eng* e, Py_ssize_t k, int64_t levels, int64_t spacing_ppm,
                      int64_t lots_per_level, int64_t book_row) noexcept nogil:
    """LIQ-BOOK-1: a fresh ladder of ``levels`` levels (at most the book capacity) around the
    mark, owned by ``book_row``: bids rounded down and asks up, levels that round onto one tick
    merged; one operation (its own seq)."""
    cdef int64_t* bp = e.bid_price + k * e.book_capacity
    cdef int64_t* bl = e.bid_lots + k * e.book_capacity
    cdef int64_t* ap = e.ask_price + k * e.book_capacity
    cdef int64_t* al = e.ask_lots + k * e.book_capacity
    cdef Py_ssize_t nb = 0, na = 0, j
    cdef liq_i128 bid, ask, mark = e.marks[k]
    for j in range(1, levels + 1):
        bid = floor_div(mark * (PPM - j * spacing_ppm), PPM)
        ask = ceil_div(mark * (PPM + j * spacing_ppm), PPM)
        if add_level(bp, bl, &nb, bid, lots_per_level) != C_OK or \
                add_level(ap, al, &na, ask, lots_per_level) != C_OK:
            return C_OVERFLOW
    e.bid_head[k] = 0
    e.bid_end[k] = nb
    e.ask_head[k] = 0
    e.ask_end[k] = na
    e.has_book[k] = 1
    e.book_account[k] = book_row
    e.book_touched[k] = 1
    e.seq += 1
    return C_OK


cdef int replace_book(Eng* e, Py_ssize_t k) noexcept nogil:
    """LIQ-BOOK-1 with the cascade's book shape and book account; one operation (its own seq)."""
    cdef Cas* c = e.cascade
    return build_ladder(e, k, c.levels[k], c.spacing_ppm[k], c.lots_per_level[k], c.book_row)


cdef int fund_sample(Cas* c, liq_i128 time_s, int64_t balance) noexcept nogil:
    """LIQ-ADL-5 (reference: FundWindow.sample): the fund's balance at ``time_s``; the samples
    it makes unreachable as a peak (no larger, no later) are dropped. OVERFLOW when memory runs
    out."""
    cdef int code
    while c.fund_len > 0 and c.fund_samples[c.fund_head + c.fund_len - 1].balance <= balance:
        c.fund_len -= 1
    if c.fund_head + c.fund_len == c.fund_cap:
        if c.fund_head > 0:  # room at the front: move the live samples there
            memmove(c.fund_samples, c.fund_samples + c.fund_head,
                    c.fund_len * sizeof(FundSample))
            c.fund_head = 0
        else:
            code = reserve(<void**>&c.fund_samples, &c.fund_cap, c.fund_len + 1,
                           sizeof(FundSample))
            if code != C_OK:
                return code
    c.fund_samples[c.fund_head + c.fund_len].time_s = time_s
    c.fund_samples[c.fund_head + c.fund_len].balance = balance
    c.fund_len += 1
    return C_OK


cdef int64_t fund_peak(Cas* c, liq_i128 time_s) noexcept nogil:
    """LIQ-ADL-5 (reference: FundWindow.peak): the largest sample taken at ``time_s - window``
    or later, 0 before any; older samples are dropped (times only grow)."""
    while c.fund_len > 0 and c.fund_samples[c.fund_head].time_s < time_s - c.fund_window_s:
        c.fund_head += 1
        c.fund_len -= 1
    return c.fund_samples[c.fund_head].balance if c.fund_len > 0 else 0


cdef int open_step(Eng* e) noexcept nogil:
    """LIQ-CASCADE-4: every path market, in id order, opens its mark (LIQ-MARK-2) and gets a
    fresh book (LIQ-BOOK-1); under LIQ-ADL-5 the fund is then sampled at the step's time."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t x, k
    cdef liq_i128 opening, low, high, prev
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
            opening = <liq_i128>c.index[k] + e.marks[k] - prev
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
    if c.fund_window_s > 0:
        return fund_sample(c, <liq_i128>c.step * c.step_seconds, e.holders[1])
    return C_OK


cdef int cmp_due(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """LIQ-CASCADE-1: ascending equity / maintenance (exactly; both maintenances > 0), then id."""
    cdef const Cas* c = e.cascade
    cdef liq_i128 left = <liq_i128>c.due_eq[x] * c.due_mm[y]
    cdef liq_i128 right = <liq_i128>c.due_eq[y] * c.due_mm[x]
    if left != right:
        return -1 if left < right else 1
    return -1 if c.due_row[x] < c.due_row[y] else (1 if c.due_row[x] > c.due_row[y] else 0)


cdef int scan_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """The liquidatable traders, most distressed first, by evaluating every account (the
    reference's processing_order, O(N)): their rows in due_row[0..count)."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t a, n_due = 0, x
    cdef int64_t mm, eq
    if c.ix != NULL:
        c.ix.scans += 1
    for a in range(e.n_accounts):
        if e.role[a] != ROLE_TRADER or e.n_positions[a] == 0:
            continue
        if maint_total(e, a, &mm) != C_OK:
            return C_OVERFLOW
        if mm <= 0:
            continue
        if equity_of(e, a, &eq) != C_OK:
            return C_OVERFLOW
        if liq_triggered(eq, mm, e.tables.trigger_slack):
            c.due_row[n_due] = a
            c.due_eq[n_due] = eq
            c.due_mm[n_due] = mm
            n_due += 1
    sort_due(e, n_due)
    count[0] = n_due
    return C_OK


cdef inline bint due_before(const DueEnt* x, const DueEnt* y) noexcept nogil:
    """cmp_due's order on packed entries: x first (or equal)."""
    cdef liq_i128 left = <liq_i128>x.eq * y.mm
    cdef liq_i128 right = <liq_i128>y.eq * x.mm
    if left != right:
        return left < right
    return x.row <= y.row


cdef enum:
    DUE_RADIX_MIN = 256  # fewer due accounts than this are merge-sorted at once


cdef inline double due_ratio(const DueEnt* x) noexcept nogil:
    """eq / mm in doubles (mm > 0): within a relative 3 x 2^-53 of the exact ratio (two
    conversions and a division, each correctly rounded), with its sign, 0 exactly when eq is."""
    return <double>x.eq / <double>x.mm


cdef inline bint due_close(double a, double b) noexcept nogil:
    """Whether two ratios in order (a <= b) may stand for exact ratios in the other order: their
    gap within 2^-48 of the larger magnitude (the roundings of two ratios part them by at most
    about 6 x 2^-53 of it), or equal."""
    cdef double big = fabs(a) if fabs(a) > fabs(b) else fabs(b)
    return b - a <= big * 3.552713678800501e-15  # 2^-48


cdef DueEnt* order_due(DueEnt* src, DueEnt* dst, Py_ssize_t n) noexcept nogil:
    """src[0..n) in processing order (due_before: ascending eq / mm exactly, then row), dst the
    other buffer of n; returns the buffer that holds the result. Few: merge_passes at once.
    Many: first a stable radix sort by the ratios as doubles (due_ratio, its bits made
    order-preserving: O(n) per pass, no 128-bit product), then each run of neighbours whose
    doubles are close (due_close) merge-sorted exactly. Two entries whose exact order the doubles
    reverse have doubles within that gap, and so has every neighbour between them (same sign,
    between the two values): they are in one run, which the exact sort puts right. Equal ratios
    are one run too (their rows decide). O(n) for distinct ratios, O(n log n) at worst."""
    cdef Py_ssize_t x, start
    cdef uint64_t bits
    cdef double ratio, previous
    cdef DueEnt* out
    if n < DUE_RADIX_MIN:
        return merge_passes(<const Eng*>NULL, src, dst, n, NULL)
    for x in range(n):
        ratio = due_ratio(&src[x])
        memcpy(&bits, &ratio, sizeof(bits))
        # negative doubles order in reverse as bits: flip them all; positive ones above them
        src[x].key = ~bits if bits >> 63 else bits | (<uint64_t>1 << 63)
    out = radix_passes(src, dst, n, 64)
    dst = src if out == dst else dst
    src = out
    start = 0
    previous = due_ratio(&src[0])
    for x in range(1, n + 1):
        if x < n:
            ratio = due_ratio(&src[x])
            if due_close(previous, ratio):
                previous = ratio
                continue
            previous = ratio
        if x - start > 1:
            out = merge_passes(<const Eng*>NULL, src + start, dst + start, x - start, NULL)
            if out != src + start:
                memcpy(src + start, out, (x - start) * sizeof(DueEnt))
        start = x
    return src


def _order_due(eq, mm, rows):
    """The rows of due accounts in processing order as order_due finds it (a test compares it
    with the exact order): ``eq``, ``mm`` and ``rows`` int64 sequences of one length, every
    ``mm`` positive, the rows distinct. Anything else is MalformedState."""
    cdef const int64_t[::1] eq_view = np.ascontiguousarray(eq, dtype=np.int64)
    cdef const int64_t[::1] mm_view = np.ascontiguousarray(mm, dtype=np.int64)
    cdef const int64_t[::1] row_view = np.ascontiguousarray(rows, dtype=np.int64)
    cdef Py_ssize_t n = eq_view.shape[0], x
    cdef DueEnt* entries
    cdef DueEnt* out
    if mm_view.shape[0] != n or row_view.shape[0] != n:
        raise MalformedState("eq, mm and rows need one length")
    if n and (np.min(mm_view) <= 0 or len(np.unique(row_view)) != n):
        raise MalformedState("every mm must be positive and the rows distinct")
    entries = <DueEnt*>malloc((2 * n + 1) * sizeof(DueEnt))
    if entries == NULL:
        raise MemoryError()
    try:
        for x in range(n):
            entries[x].eq = eq_view[x]
            entries[x].mm = mm_view[x]
            entries[x].row = row_view[x]
        out = order_due(entries, entries + n, n) if n else entries
        return [out[x].row for x in range(n)]
    finally:
        free(entries)


cdef void sort_due(Eng* e, Py_ssize_t n_due) noexcept nogil:
    """due_row / due_eq / due_mm[0..n_due) in processing order (LIQ-CASCADE-1): order_due over
    packed (eq, mm, row) entries, so that each comparison reads its operands where the sort is,
    not through an index (cmp_due's order; merge_sort through cmp_due if the buffer cannot be
    had). Only due_row is read afterwards."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t x
    cdef DueEnt* entries
    cdef DueEnt* out
    if n_due < 2:
        return
    entries = <DueEnt*>malloc(2 * n_due * sizeof(DueEnt))
    if entries == NULL:
        for x in range(n_due):
            e.scratch_c[x] = x
        merge_sort(e, e.scratch_c, c.due_tmp, n_due, cmp_due)
        for x in range(n_due):
            c.due_tmp[x] = c.due_row[e.scratch_c[x]]
        for x in range(n_due):
            c.due_row[x] = c.due_tmp[x]
        return
    for x in range(n_due):
        entries[x].eq = c.due_eq[x]
        entries[x].mm = c.due_mm[x]
        entries[x].row = c.due_row[x]
    out = order_due(entries, entries + n_due, n_due)
    for x in range(n_due):
        c.due_row[x] = out[x].row
    free(entries)


cdef int processing_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """LIQ-CASCADE-1: the liquidatable traders, most distressed first, in due_row[0..count):
    from the index, by the scan, or both compared (ORDER_VERIFY: C_ORDER_MISMATCH on any
    difference)."""
    cdef Cas* c = e.cascade
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


cdef int vault_may_take(const Eng* e, Py_ssize_t i, Py_ssize_t vault) noexcept nogil:
    """LIQ-ACCOUNT-2 for a takeover: an isolated vault may take only its own market."""
    cdef Py_ssize_t k
    for k in range(e.n_markets):
        if e.present[i * e.n_markets + k] and e.isolated[vault] != -1 and e.isolated[vault] != k:
            return C_ISOLATED_MARKET_MISMATCH
    return C_OK


cdef int deleverage_if_allowed(Eng* e, Py_ssize_t i, Py_ssize_t k, bint* done) noexcept nogil:
    """Deleverage row i's position in k at the round's fund peak if LIQ-ADL-1 allows it (the
    reference's _deleverage_if_allowed); ``done``: whether it did."""
    cdef Py_ssize_t first = e.n_records
    cdef int code
    cdef AdlOut ao
    done[0] = False
    e.seq += 1
    code = deleverage(e, i, k, e.cascade.round_peak, &ao)
    if (code == C_FUND_CAN_COVER or code == C_NOT_BANKRUPT
            or code == C_INSUFFICIENT_ADL_LIQUIDITY):  # LIQ-ADL-1 does not allow it
        e.seq -= 1  # refused before its atomic block: seq unchanged
        return C_OK
    if code != C_OK:
        return code
    if record_receipt(e, i, first) != C_OK:
        return C_OVERFLOW
    done[0] = True
    return C_OK


cdef int liquidate_by_book(Eng* e, Py_ssize_t i, Py_ssize_t n_cols,
                           bint* progressed) noexcept nogil:
    """LIQ-CASCADE-3's market by market: in id order (the cascade's order_cols), orders against
    the book until healthy or refused, then ADL unless losses are socialized; while the fund is
    in drawdown (LIQ-ADL-5), ADL first, the book only if it is refused."""
    cdef Cas* c = e.cascade
    cdef bint liq, done
    cdef Py_ssize_t x, k, first
    cdef int code
    cdef MarketOut mo
    for x in range(n_cols):
        k = c.order_cols[x]
        if e.lots[i * e.n_markets + k] != 0 and fund_in_drawdown(e, c.round_peak):
            if liquidatable(e, i, &liq) != C_OK:
                return C_OVERFLOW
            if liq:
                code = deleverage_if_allowed(e, i, k, &done)
                if code != C_OK:
                    return code
                if done:
                    progressed[0] = True
                    continue
        while e.lots[i * e.n_markets + k] != 0:
            if liquidatable(e, i, &liq) != C_OK:
                return C_OVERFLOW
            if not liq:
                break
            first = e.n_records
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
        if e.lots[i * e.n_markets + k] != 0 and e.bad_debt_policy == BAD_DEBT_ADL:
            if liquidatable(e, i, &liq) != C_OK:
                return C_OVERFLOW
            if liq:
                code = deleverage_if_allowed(e, i, k, &done)
                if code != C_OK:
                    return code
                if done:
                    progressed[0] = True
    return C_OK


cdef int process_account(Eng* e, Py_ssize_t i, bint* progressed) noexcept nogil:
    """LIQ-CASCADE-3: the backstop takes the account whole below its threshold; under
    account_share the vault takes one share of every position (LIQ-SHARE-2); else market by
    market (:func:`liquidate_by_book`); under a socializing policy a write-off is noted against
    the side that bears it (the reference's bearing_side), charged when the round ends."""
    cdef Cas* c = e.cascade
    cdef bint liq, below
    cdef Py_ssize_t x, k, n_cols = 0, first
    cdef int code
    cdef int64_t recorded_before
    cdef liq_i128 taken, written_off
    cdef ShareOut sho
    progressed[0] = False
    if liquidatable(e, i, &liq) != C_OK:
        return C_OVERFLOW
    if not liq:
        return C_OK  # an earlier account's ADL may have reduced this one's position
    if c.vault_row >= 0:
        if below_backstop(e, i, &below) != C_OK:
            return C_OVERFLOW
        if below:
            code = vault_may_take(e, i, c.vault_row)
            if code != C_OK:
                return code
            first = e.n_records
            e.seq += 1
            code = backstop_liquidate(e, i, c.vault_row, &taken)
            if code != C_OK:
                return code
            progressed[0] = True
            return record_receipt(e, i, first)
    recorded_before = e.holders[3]
    for x in range(e.n_markets):  # sorted(account.positions) and the sides, taken now
        k = e.columns_by_market_id[x]
        if e.present[i * e.n_markets + k]:
            c.order_cols[n_cols] = k
            c.sides[n_cols] = 1 if e.lots[i * e.n_markets + k] > 0 else -1
            n_cols += 1
    if e.size_policy == SIZE_ACCOUNT_SHARE:
        if c.vault_row < 0:
            return C_POLICY_FORBIDS  # cascade_setup's caller checks first (check_share_vault)
        code = vault_may_take(e, i, c.vault_row)
        if code != C_OK:
            return code
        first = e.n_records
        e.seq += 1
        code = share_liquidate(e, i, c.vault_row, &sho)
        if code != C_OK:
            return code
        code = record_receipt(e, i, first)
        if code != C_OK:
            return code
        progressed[0] = True
    else:
        code = liquidate_by_book(e, i, n_cols, progressed)
        if code != C_OK:
            return code
    written_off = <liq_i128>recorded_before - e.holders[3]
    if e.bad_debt_policy != BAD_DEBT_ADL and written_off > 0 and n_cols > 0:
        # (a write-off comes from closing a position: n_cols > 0 always; the test keeps the
        # scratch of an earlier account from ever being read)
        # the first market in id order; the other side, or both (socialize_both_sides: 0)
        x = 3 * c.order_cols[0] + 1 + (0 if e.bad_debt_policy == BAD_DEBT_SOCIALIZE_BOTH_SIDES
                                       else -c.sides[0])
        c.noted[x] += written_off
    return C_OK


cdef int socialize_round(Eng* e) noexcept nogil:
    """LIQ-CASCADE-2: the round's noted write-offs, one LIQ-SOCIAL-2 charge per market (id
    order) and side (-1, 0, +1), as one trace event for all its payers (and one for the rounding
    surplus); where nobody holds the side the loss stays recorded."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t x, k, first
    cdef int side, code
    cdef liq_i128 amount
    cdef SocialOut so
    for x in range(e.n_markets):
        k = e.columns_by_market_id[x]
        for side in range(-1, 2):
            amount = c.noted[3 * k + side + 1]
            if amount == 0:
                continue
            c.noted[3 * k + side + 1] = 0
            first = e.n_records
            e.seq += 1
            if amount == -(<liq_i128>e.holders[3]):
                amount = 0  # all the recorded debt (up to 2^63, one more than an int64)
            code = socialize_loss(e, k, side, <int64_t>amount, &so)
            if code == C_NO_SOCIALIZATION_BASE:
                e.seq -= 1
                continue
            if code != C_OK:
                return code
            if not liq_fits_i64(so.charged):
                return C_OVERFLOW  # a trace amount is an int64
            if event(e, EV_SOCIALIZE, EV_NONE, k, 0, 0, False, <int64_t>so.charged, R_SOCIAL_2,
                     DETAIL_SOCIALIZE, side, so.payers) != C_OK:
                return C_OVERFLOW
            if so.charged > so.loss and event(e, EV_SOCIALIZE, EV_NONE, k, 0, 0, False,
                                              <int64_t>(so.charged - so.loss), R_ROUND_3,
                                              DETAIL_TRANSFER,
                                              H_SOCIALIZED_LOSS, H_FEE_SINK) != C_OK:
                return C_OVERFLOW
            if not c.keep_journal:
                e.n_records = first  # in the trace now; nothing else reads them
    return C_OK


#: due accounts fetched ahead of the one processed (the processing order visits rows at random)
cdef Py_ssize_t PREFETCH_AHEAD = 8


cdef inline void prefetch_row(const Eng* e, Py_ssize_t i) noexcept nogil:
    """Ask for the memory of row i that processing it reads first (its balance, positions and
    their keys): at 10^6 accounts these rows are not in cache, and waiting for each in turn
    is most of a round. A hint only: nothing is read or changed."""
    __builtin_prefetch(&e.quote[i])
    __builtin_prefetch(&e.lots[i * e.n_markets])
    __builtin_prefetch(&e.present[i * e.n_markets])
    __builtin_prefetch(&e.cost[i * e.n_markets])
    __builtin_prefetch(&e.n_positions[i])


cdef int run_round(Eng* e, bint* progressed) noexcept nogil:
    """LIQ-CASCADE-2, one round: the processing order, every due account, the round's totals,
    then the marks follow the round's last fills. NO_DUE when nobody is liquidatable."""
    cdef Cas* c = e.cascade
    cdef Py_ssize_t n_due, x, first_event, k, j
    cdef bint one
    cdef int code
    cdef int64_t v
    cdef liq_i128 low, high, nxt
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
    # LIQ-ADL-5: the round's accounts see the fund's peak as the round began
    c.round_peak = fund_peak(c, <liq_i128>c.step * c.step_seconds) if c.fund_window_s > 0 else 0
    for x in range(n_due):
        if x + PREFETCH_AHEAD < n_due:
            prefetch_row(e, c.due_row[x + PREFETCH_AHEAD])
        code = process_account(e, c.due_row[x], &one)
        if code != C_OK:
            return code
        if one:
            progressed[0] = True
    code = socialize_round(e)
    if code != C_OK:
        return code
    if c.fund_window_s > 0:
        code = fund_sample(c, <liq_i128>c.step * c.step_seconds, e.holders[1])
        if code != C_OK:
            return code
    for k in range(e.n_markets):
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
