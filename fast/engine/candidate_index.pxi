# The candidate index of the cascade's processing order at scale (LIQ-CASCADE-1).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- the processing order at scale (LIQ-CASCADE-1) ----------------------------------------------
#
# The reference evaluates every trader at the start of every round. The index finds the same set
# from candidates only, and confirms each candidate with the exact check (maintenance, equity,
# integers), so its answer is the scan's answer whenever its candidates include every
# liquidatable trader. They do, because a trader is left out only where this is proved:
#
# * h = equity - maintenance >= 0 means "not liquidatable" (LIQ-TRIGGER-1 needs h < 0); under
#   the at_or_below trigger (LIQ-TRIGGER-3) h takes one quantum less equity, as everywhere.
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

# the clock's range (beyond it the index gives up and scans)
cdef int64_t CLOCK_LIMIT = 1 << 62

ORDER_MODES = {"index": ORDER_INDEX, "scan": ORDER_SCAN, "verify": ORDER_VERIFY}
C_ORDER_MISMATCH_CODE = C_ORDER_MISMATCH


cdef bint market_is_monotone(const Eng* e, Py_ssize_t k) noexcept nogil:
    """g(N) = maintenance_margin(N) steps by 0 or 1 at every integer N >= 1: within a tier with a rate in
    [0, W] (W = 10^6 x rate_scale, 100%) ceil((N * rate - d) / W) does, and max with the minimum
    keeps it; so only the steps onto a tier floor need checking. In a market keyed by size
    (LIQ-TIER-8) a position's tier does not move with the mark, so g is one tier's line and its
    notional floors (all 0) check nothing."""
    cdef Py_ssize_t base = k * e.tables.tier_width, s
    cdef liq_i128 floor_n, step
    if e.tables.value_per_lot_tick[k] <= 0:
        return False
    for s in range(e.tables.n_tiers[k]):
        if e.tables.maint_margin_ppm[base + s] < 0 \
                or e.tables.maint_margin_ppm[base + s] > <liq_i128>PPM * e.tables.rate_scale[k]:
            return False
    for s in range(1, e.tables.n_tiers[k]):
        floor_n = e.tables.tier_floor_quote[base + s]
        if floor_n >= 2:
            step = (maintenance_margin(&e.tables, k, floor_n, 0)
                    - maintenance_margin(&e.tables, k, floor_n - 1, 0))
            if step != 0 and step != 1:
                return False
    return True


cdef inline bint trigger_test(const Eng* e, Py_ssize_t k, liq_i128 quote, liq_i128 a, int side,
                              liq_i128 p) noexcept nogil:
    """The monotone predicate whose least true mark is the trigger: a long (side 1) is safe
    (h >= 0), a short (side -1) is not (h < 0), at mark p (a * p <= INT64_MAX)."""
    cdef liq_i128 n = a * p
    cdef liq_i128 h = quote + side * n - maintenance_margin(&e.tables, k, n,
                                                            a // e.tables.value_per_lot_tick[k])
    return h >= 0 if side > 0 else h < 0


cdef int64_t trigger_estimate(const Eng* e, Py_ssize_t k, liq_i128 quote, liq_i128 a, int side,
                              int64_t p_max) noexcept nogil:
    """A floating-point guess of the trigger, refined exactly by the caller."""
    cdef double q = <double>quote, n, rate, ded, lo = 2.0, hi = <double>p_max, p
    cdef Py_ssize_t slot, it
    n = <double>a * <double>e.marks[k]
    for it in range(3):
        slot = tier_slot(&e.tables, k, <liq_i128>n if n < 9.2e18 else INT64_MAX,
                         a // e.tables.value_per_lot_tick[k])
        rate = <double>e.tables.maint_margin_ppm[slot] / PPM / <double>e.tables.rate_scale[k]
        ded = <double>e.tables.maint_deduction_quote[slot] / <double>e.tables.rate_scale[k]
        if side > 0:  # q + n - (n rate - ded) = 0
            n = -(q + ded) / (1.0 - rate) if rate < 1.0 else n
            if <double>e.tables.min_maint_margin_quote[k] - q > n:
                n = <double>e.tables.min_maint_margin_quote[k] - q
        else:  # q - n - (n rate - ded) = 0
            n = (q + ded) / (1.0 + rate)
            if q - <double>e.tables.min_maint_margin_quote[k] < n:
                n = q - <double>e.tables.min_maint_margin_quote[k]
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


cdef int64_t find_trigger(const Eng* e, Py_ssize_t k, liq_i128 quote, liq_i128 a, int side,
                          int64_t p_max) noexcept nogil:
    """The least p in (1, p_max] where trigger_test holds, given it fails at 1 and holds at
    p_max: gallop from the estimate, then bisect. The bounds and steps are 128-bit: near the
    top of the int64 range ``lo + step`` would otherwise wrap, and the gallop never end; every
    probe ``x`` lies strictly between ``lo`` and ``hi``, so it is a valid int64 price."""
    cdef liq_i128 lo = 1, hi = p_max, x, step = 1
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


cdef int heap_room(Heap* h) noexcept nogil:
    """Room for one more entry (the array doubled when full); C_OVERFLOW out of memory."""
    cdef HEnt* grown
    if h.size == h.cap:
        grown = <HEnt*>realloc(h.a, (2 * h.cap + 16) * sizeof(HEnt))
        if grown == NULL:
            return C_OVERFLOW
        h.a = grown
        h.cap = 2 * h.cap + 16
    return C_OK


cdef void heap_heapify(Heap* h) noexcept nogil:
    """Restore the heap order of the whole array bottom-up (Floyd): O(size) in address order."""
    cdef Py_ssize_t j = heap_start(h.size)
    while j > 0:
        j -= 1
        heap_sift_down(h, j, h.a[j])


cdef int heap_push(Heap* h, int64_t prio, int64_t row, int64_t gen) noexcept nogil:
    cdef Py_ssize_t j, parent
    if heap_room(h) != C_OK:
        return C_OVERFLOW
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


cdef int heap_add(Idx* ix, Heap* h, int64_t prio, int64_t row, int64_t gen) noexcept nogil:
    """heap_push, or, during a bulk re-key (``ix.appending``), the entry appended unsorted: the
    caller rebuilds the heap once every row is placed (:func:`rekey_dirty`)."""
    if not ix.appending:
        return heap_push(h, prio, row, gen)
    if heap_room(h) != C_OK:
        return C_OVERFLOW
    h.a[h.size].prio = prio
    h.a[h.size].row = row
    h.a[h.size].gen = gen
    h.size += 1
    return C_OK


cdef void heap_rebuild(Heap* h, const Idx* ix) noexcept nogil:
    """Drop the heap's stale entries (a row re-keyed since: its gen moved on; the confirmation
    would skip them) and rebuild it bottom-up (Floyd), O(size) in address order. Only stale
    entries go, so the live entries, and every answer the index gives, are unchanged."""
    cdef Py_ssize_t x, kept = 0
    for x in range(h.size):
        if h.a[x].gen == ix.gen[h.a[x].row]:
            h.a[kept] = h.a[x]
            kept += 1
    h.size = kept
    heap_heapify(h)


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
    drops them), in any order (active_sort orders them by row). Popped one by one while few; past
    size / log2(size) pops, the rest are taken by one pass over the array and the heap rebuilt
    bottom-up (Floyd): O(size) in address order instead of O(taken log size) at random, which
    is what a step that crosses many triggers costs at 10^6 accounts."""
    cdef Py_ssize_t budget = h.size // max(1, bits_for(h.size)), x, kept = 0
    while h.size and h.a[0].prio <= threshold:
        if budget == 0:
            for x in range(h.size):
                if h.a[x].prio <= threshold:
                    if active_push(ix, h.a[x].row, h.a[x].gen) != C_OK:
                        return C_OVERFLOW
                else:
                    h.a[kept] = h.a[x]
                    kept += 1
            h.size = kept
            ix.bulk_takes += 1
            heap_heapify(h)
            return C_OK
        if active_push(ix, h.a[0].row, h.a[0].gen) != C_OK:
            return C_OVERFLOW
        heap_pop(h)
        budget -= 1
    return C_OK


cdef int active_push(Idx* ix, int64_t row, int64_t gen) noexcept nogil:
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
    RADIX_SORT_MIN = 256   # fewer candidates than this are read in any order


cdef void active_sort(Idx* ix, Py_ssize_t n_rows) noexcept nogil:
    """The candidates in ascending row order (a stable LSD radix sort, O(candidates) per pass):
    confirming them then reads the account rows in address order instead of at random, which
    is what a round costs at 10^6 accounts. The order is for locality only: the due accounts
    are sorted into the processing order afterwards (a total order), so it changes no result."""
    cdef HEnt* out
    if ix.nact < RADIX_SORT_MIN:
        return
    ix.sorted_rounds += 1
    out = radix_passes(ix.act, ix.act_tmp, ix.nact, bits_for(n_rows))
    if out != ix.act:
        ix.act_tmp = ix.act
        ix.act = out


cdef inline int64_t cross_weight_key(const Eng* e, Py_ssize_t i, liq_i128 h,
                                     bint* ok) noexcept nogil:
    """The clock reading at which a cross account with slack h >= 0 may first be liquidatable:
    clock + floor(h / w) + 1, w = 2 max_k |lots_k| value_per_lot_tick_k."""
    cdef Py_ssize_t k
    cdef liq_i128 w = 0, a, key
    for k in range(e.n_markets):
        if e.lots[i * e.n_markets + k] != 0:
            a = iabs(e.lots[i * e.n_markets + k]) * <liq_i128>e.tables.value_per_lot_tick[k]
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
    cdef liq_i128 a, quote, headroom
    cdef int side
    cdef bint ok
    ix.gen[i] += 1
    ix.ekind[i] = E_NONE
    if e.role[i] != ROLE_TRADER or e.n_positions[i] == 0:
        return C_OK
    for k in range(e.n_markets):
        if e.lots[i * e.n_markets + k] != 0:
            held += 1
            only = k
            if not ix.mono[k]:
                ix.ekind[i] = E_ALWAYS
    if held == 0:
        return C_OK
    if ix.ekind[i] == E_ALWAYS:
        return active_push(ix, i, ix.gen[i])
    if held == 1:
        k = only
        lots = e.lots[i * e.n_markets + k]
        if lots == INT64_MIN:
            ix.ekind[i] = E_ALWAYS
            return active_push(ix, i, ix.gen[i])
        a = iabs(lots) * <liq_i128>e.tables.value_per_lot_tick[k]
        p_max = <int64_t>(INT64_MAX // a) if a <= INT64_MAX else 0
        if p_max < 2:
            ix.ekind[i] = E_ALWAYS
            return active_push(ix, i, ix.gen[i])
        side = 1 if lots > 0 else -1
        # the trigger's equity (LIQ-TRIGGER-3): one quantum less where equality liquidates
        quote = <liq_i128>e.quote[i] - e.tables.trigger_slack
        if at_entry(e, i):
            # LIQ-TIER-6: the requirement mm does not move with the mark, so h = q + side * a * p
            # with q = quote - mm is linear: the trigger in closed form
            if position_maint(e, i, k, lots, &mm) != C_OK:
                ix.ekind[i] = E_ALWAYS
                return active_push(ix, i, ix.gen[i])
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
                return active_push(ix, i, ix.gen[i])
            ix.ekind[i] = E_LONG
            ix.ekey[i] = -trigger
            return heap_add(ix, &ix.heaps[2 * k], -trigger, i, ix.gen[i])
        if trigger < 0:
            return C_OK  # a short never liquidatable within the marks the guard allows
        ix.ekind[i] = E_SHORT
        ix.ekey[i] = trigger
        return heap_add(ix, &ix.heaps[2 * k + 1], trigger, i, ix.gen[i])
    # a cross account: slack at the current marks (within the guard: no overflow)
    ix.ekind[i] = E_CROSS
    if maint_total(e, i, &mm) != C_OK or equity_of(e, i, &eq) != C_OK:
        ix.ekind[i] = E_ALWAYS
        return active_push(ix, i, ix.gen[i])
    headroom = <liq_i128>eq - e.tables.trigger_slack - mm  # h (the section's comment)
    if headroom < 0:
        return active_push(ix, i, ix.gen[i])
    ix.ekey[i] = cross_weight_key(e, i, headroom, &ok)
    if not ok:
        ix.ekind[i] = E_ALWAYS
        return active_push(ix, i, ix.gen[i])
    return heap_add(ix, &ix.heaps[2 * e.n_markets], ix.ekey[i], i, ix.gen[i])


cdef bint within_guard(const Eng* e) noexcept nogil:
    """No trader's equity or maintenance can leave int64 at the current marks (so no exact check
    can raise, and every trigger key is in range)."""
    cdef Py_ssize_t k
    cdef liq_i128 total = e.bound_quote, upper = 0, lower = 0, n, g
    if e.bound_quote > INT64_MAX:
        return False
    for k in range(e.n_markets):
        if e.bound_lots[k] == 0:
            continue
        if e.bound_lots[k] > INT64_MAX:
            return False
        if not liq_mul128(e.bound_lots[k], e.marks[k], &n) or \
                not liq_mul128(n, e.tables.value_per_lot_tick[k], &n):
            return False
        if n > INT64_MAX:
            return False
        total += n
        if total > INT64_MAX:
            return False
        g = maintenance_margin_bound(&e.tables, k, n)
        if g > INT64_MAX:
            return False
        if g > 0:
            upper += g
        if e.tables.min_maint_margin_quote[k] < 0:
            lower += e.tables.min_maint_margin_quote[k]
        if upper > INT64_MAX or lower < INT64_MIN:
            return False
    return True


cdef int build_index(Eng* e, Idx* ix) noexcept nogil:
    cdef Py_ssize_t a, k
    cdef int code = C_OK
    for k in range(e.n_markets):
        e.bound_lots[k] = 0
    e.bound_quote = 0
    for a in range(e.n_accounts):
        if e.role[a] != ROLE_TRADER:
            continue
        if iabs(e.quote[a]) > e.bound_quote:
            e.bound_quote = iabs(e.quote[a])
        for k in range(e.n_markets):
            if iabs(e.lots[a * e.n_markets + k]) > e.bound_lots[k]:
                e.bound_lots[k] = iabs(e.lots[a * e.n_markets + k])
    for k in range(e.n_markets):
        ix.mono[k] = market_is_monotone(e, k)
    for a in range(e.n_dirty):
        e.dirty[e.dirty_list[a]] = 0
    e.n_dirty = 0
    ix.appending = True  # every trader at once: appended, then each heap built bottom-up
    for a in range(e.n_accounts):
        if e.role[a] == ROLE_TRADER:
            code = place(e, ix, a)
            if code != C_OK:
                break
    ix.appending = False
    for k in range(2 * e.n_markets + 1):
        heap_rebuild(&ix.heaps[k], ix)
    if code != C_OK:
        return code
    ix.built = True
    return C_OK


# a heap holding more than compact_factor x accounts + compact_slack entries is rebuilt without
# its stale ones (rekey_dirty); a test sets both to 0 so that every heap holding an entry is,
# every round
cdef Py_ssize_t compact_factor = 2
cdef Py_ssize_t compact_slack = 64


def _index_compaction(factor=None, slack=None):
    """The heap size past which the candidate index drops a heap's stale entries, as (factor,
    slack): more than factor x accounts + slack entries (default (2, 64)); with both given, use
    them from now on (a test runs every round's compaction: only memory may depend on them).
    Anything but two integers in 0 .. 2^20 is MalformedState, nothing changed."""
    global compact_factor, compact_slack
    if factor is not None or slack is not None:
        for value in (factor, slack):
            if type(value) is not int or not 0 <= value <= 1 << 20:
                raise MalformedState(f"index compaction takes two integers in 0 .. 2^20, got "
                                     f"{factor!r} and {slack!r}")
        compact_factor = factor
        compact_slack = slack
    return compact_factor, compact_slack


cdef int rekey_dirty(Eng* e, Idx* ix) noexcept nogil:
    """Re-key what the last round touched. Few rows: each pushed into its heap, O(log size)
    at random. Many (a round that socialized a loss charges every holder, LIQ-CASCADE-2): each
    appended, then every heap rebuilt once, O(size) in address order. And a heap grown past
    twice the accounts (each re-key leaves a stale entry behind, and the short side's keys are
    never crossed in a falling market) is rebuilt without its stale entries: without this, a
    run of R rounds each charging N holders would keep R x N entries."""
    cdef Py_ssize_t x, i, heaped = 0, n_heaps = 2 * e.n_markets + 1
    cdef int code = C_OK
    cdef bint appended, oversized
    for x in range(n_heaps):
        heaped += ix.heaps[x].size
    ix.appending = e.n_dirty * max(1, bits_for(heaped + e.n_dirty)) > heaped + e.n_dirty
    for x in range(e.n_dirty):
        i = e.dirty_list[x]
        e.dirty[i] = 0
        code = place(e, ix, i)
        if code != C_OK:
            break
    e.n_dirty = 0
    appended = ix.appending
    ix.appending = False
    ix.bulk_rekeys += appended
    for x in range(n_heaps):
        oversized = ix.heaps[x].size > compact_factor * e.n_accounts + compact_slack
        ix.compactions += oversized
        if oversized or appended:
            heap_rebuild(&ix.heaps[x], ix)
    return code


cdef int index_order(Eng* e, Py_ssize_t* count) noexcept nogil:
    """processing_order from the index (see the section's comment); the scan when the guard
    does not hold."""
    cdef Cas* c = e.cascade
    cdef Idx* ix = c.ix
    cdef Py_ssize_t x, k, i, kept = 0, n_due = 0
    cdef int64_t mm, eq, gen
    cdef liq_i128 headroom
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
    code = rekey_dirty(e, ix)
    if code != C_OK:
        return code
    for k in range(e.n_markets):  # the sweep: triggers the marks have crossed
        if heap_take(&ix.heaps[2 * k], -e.marks[k] - 1, ix) != C_OK \
                or heap_take(&ix.heaps[2 * k + 1], e.marks[k], ix) != C_OK:
            return C_OVERFLOW
    if heap_take(&ix.heaps[2 * e.n_markets], e.clock, ix) != C_OK:
        return C_OVERFLOW
    active_sort(ix, e.n_accounts)
    for x in range(ix.nact):  # confirm every candidate exactly, in row order
        i = ix.act[x].row
        gen = ix.act[x].gen
        if gen != ix.gen[i]:
            continue  # re-keyed since
        kind = ix.ekind[i]
        k = -1
        if kind == E_LONG or kind == E_SHORT:
            for k in range(e.n_markets):
                if e.lots[i * e.n_markets + k] != 0:
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
        headroom = <liq_i128>eq - e.tables.trigger_slack - mm  # h, as place() keys it
        if liq_triggered(eq, mm, e.tables.trigger_slack):
            c.due_row[n_due] = i
            c.due_eq[n_due] = eq
            c.due_mm[n_due] = mm
            n_due += 1
        elif kind == E_CROSS and headroom >= 0:
            ix.ekey[i] = cross_weight_key(e, i, headroom, &ok)
            if ok and ix.ekey[i] > e.clock:
                if heap_push(&ix.heaps[2 * e.n_markets], ix.ekey[i], i, gen) != C_OK:
                    return C_OVERFLOW
                keep = False
        if keep:
            ix.act[kept] = ix.act[x]
            kept += 1
    ix.nact = kept
    sort_due(e, n_due)
    count[0] = n_due
    return C_OK
