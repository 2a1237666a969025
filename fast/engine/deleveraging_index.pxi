# The deleveraging ranking index: the scan's allocation at scale (LIQ-ADL-2).
# Included by fast/_engine.pyx (one extension, one module namespace).

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
    adl_free(e.adl_index, e.n_markets)
    e.adl_index = NULL


cdef Adl* adl_new(Eng* e) noexcept nogil:
    """The index of the current state: membership, held lots and totals of every ranking; the
    heaps and trees are built when first needed. NULL when out of memory."""
    cdef Py_ssize_t n = e.n_accounts, m = e.n_markets, nm = e.n_accounts * e.n_markets, a, k, r
    cdef int64_t l
    cdef AdlRank* rank
    cdef Adl* d = <Adl*>calloc(1, sizeof(Adl))
    if d == NULL:
        return NULL
    d.side = <int8_t*>calloc(nm + 1, sizeof(int8_t))
    d.held = <uint64_t*>calloc(nm + 1, sizeof(uint64_t))
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
                d.held[a * m + k] = <uint64_t>iabs(l)
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
# exactly (liq_cmp_ufrac), then the rows.
cdef double KEY_SEPARATION = 1.0 + 2.0 ** -40


cdef inline double entry_key(int s, liq_u128 num, liq_u128 den) noexcept nogil:
    """The rounded key of the score s x num / den (den > 0); 0.0 exactly when it is 0."""
    cdef double q
    if s == 0 or num == 0:
        return 0.0
    q = <double>num / <double>den
    return q if s > 0 else -q


cdef inline bint entry_before(const AdlKey* x, const AdlKey* y, const AdlEnt* ents) noexcept nogil:
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
            c = liq_cmp_ufrac(ex.num, ex.den, ey.num, ey.den)
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


cdef void entry_sift_down(AdlKey* h, Py_ssize_t size, Py_ssize_t j,
                          const AdlEnt* ents) noexcept nogil:
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
            if entry_before(&h[c], &h[best], ents):
                best = c
        if not entry_before(&h[best], &moving, ents):
            break
        h[j] = h[best]
        j = best
    h[j] = moving


cdef void entry_sift_up(AdlKey* h, Py_ssize_t j, const AdlEnt* ents) noexcept nogil:
    cdef AdlKey moving = h[j]
    cdef Py_ssize_t parent
    while j > 0:
        parent = (j - 1) // 4
        if not entry_before(&moving, &h[parent], ents):
            break
        h[j] = h[parent]
        j = parent
    h[j] = moving


cdef int entry_reserve(AdlRank* rank, Py_ssize_t want) noexcept nogil:
    """Room for ``want`` heap entries and as many exact ones."""
    if reserve(<void**>&rank.heap, &rank.cap, want, sizeof(AdlKey)) != C_OK:
        return C_OVERFLOW
    return reserve(<void**>&rank.ents, &rank.capents, want, sizeof(AdlEnt))


cdef int entry_score(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t a, Py_ssize_t k,
                   bint sift) noexcept nogil:
    """Score (a, k) into the ranking (appended, then sifted up when ``sift``), or count it as
    an overflow."""
    cdef Py_ssize_t at = a * e.n_markets + k
    cdef AdlEnt* ent
    cdef AdlKey* key
    if e.adl_ranking == RANK_PRO_RATA:  # keyed by the lots held
        e.score_sign[0] = 1
        e.score_num[0] = <liq_u128>d.held[at]
        e.score_den[0] = 1
    elif score_of(e, 0, a, k) != C_OK:
        rank.errors += 1
        d.err[at] = 1
        return C_OK
    if entry_reserve(rank, rank.nents + 1) != C_OK:  # the heap never holds more than nents
        return C_OVERFLOW
    ent = &rank.ents[rank.nents]
    ent.sgn = e.score_sign[0]
    ent.num = e.score_num[0]
    ent.den = e.score_den[0]
    ent.gen = d.gen[at]
    key = &rank.heap[rank.size]
    key.key = entry_key(ent.sgn, ent.num, ent.den)
    key.row = a
    key.ref = rank.nents
    rank.nents += 1
    rank.size += 1
    if sift:
        entry_sift_up(rank.heap, rank.size - 1, rank.ents)
    return C_OK


cdef int adl_rebuild(Eng* e, Adl* d, Py_ssize_t k, int side) noexcept nogil:
    """Key every member of ranking (k, side) (scores at the current marks); heapify."""
    cdef AdlRank* rank = &d.ranks[rank_of(k, side)]
    cdef Py_ssize_t a, j, at
    cdef int code
    rank.size = 0
    rank.nents = 0
    rank.errors = 0
    if entry_reserve(rank, rank.members) != C_OK:
        return C_OVERFLOW
    for a in range(e.n_accounts):
        at = a * e.n_markets + k
        if d.side[at] == side:
            d.err[at] = 0
            code = entry_score(e, d, rank, a, k, False)
            if code != C_OK:
                return code
    j = heap_start(rank.size)
    while j > 0:
        j -= 1
        entry_sift_down(rank.heap, rank.size, j, rank.ents)
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
        if rank.ents[h[x].ref].gen == d.gen[h[x].row * e.n_markets + k]:
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
        entry_sift_down(h, kept, j, ents)
    d.compactions += 1
    return C_OK


# a Fenwick tree of 0/1 membership over rows 0..n-1 (1-based inside)
cdef inline void fenwick_add(int32_t* f, Py_ssize_t n, Py_ssize_t row, int32_t v) noexcept nogil:
    cdef Py_ssize_t j = row + 1
    while j <= n:
        f[j] += v
        j += j & -j


cdef Py_ssize_t fenwick_kth(const int32_t* f, Py_ssize_t n, int64_t kth) noexcept nogil:
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


cdef int fenwick_build(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k, int side) noexcept nogil:
    cdef Py_ssize_t n = e.n_accounts, j, parent
    cdef int32_t* f = <int32_t*>calloc(n + 1, sizeof(int32_t))
    if f == NULL:
        return C_OVERFLOW
    for j in range(1, n + 1):
        if d.side[(j - 1) * e.n_markets + k] == side:
            f[j] += 1
        parent = j + (j & -j)
        if parent <= n:
            f[parent] += f[j]
    rank.fen = f
    return C_OK


cdef inline bint adl_heaped(const Eng* e) noexcept nogil:
    """Rankings kept in a heap: the scored policies and pro rata (by held lots)."""
    return e.adl_ranking != RANK_SEEDED


cdef inline bint rank_fresh(const Eng* e, const Adl* d, const AdlRank* rank) noexcept nogil:
    """The heap holds every member's current key: scores are as of the current marks; pro
    rata's key (held lots) does not depend on them."""
    if e.adl_ranking == RANK_PRO_RATA:
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
    for k in range(e.n_markets):
        at = a * e.n_markets + k
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
                fenwick_add(rank.fen, e.n_accounts, a, -1)
        d.side[at] = <int8_t>new
        d.held[at] = <uint64_t>iabs(l)
        if new != 0:
            rank = &d.ranks[rank_of(k, new)]
            rank.members += 1
            rank.total += d.held[at]
            if rank.fen != NULL:
                fenwick_add(rank.fen, e.n_accounts, a, 1)
            if adl_heaped(e) and rank_fresh(e, d, rank):
                if entry_score(e, d, rank, a, k, True) != C_OK:
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
            __builtin_prefetch(&e.lots[ahead * e.n_markets])
            __builtin_prefetch(&e.role[ahead])
            __builtin_prefetch(&d.side[ahead * e.n_markets])
            __builtin_prefetch(&d.gen[ahead * e.n_markets])
            __builtin_prefetch(&d.held[ahead * e.n_markets])
            __builtin_prefetch(&d.err[ahead * e.n_markets])
        a = d.dirty_list[x]
        d.dirty[a] = 0
        if adl_rekey(e, d, a) != C_OK:
            return C_OVERFLOW
    d.ndirty = 0
    return C_OK


cdef int cmp_pro_rata(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    """Entries x, y of the pro-rata work list: larger remainder first, then the smaller row."""
    cdef const int64_t* rows = e.adl_index.work
    if e.score_num[x] != e.score_num[y]:
        return -1 if e.score_num[x] > e.score_num[y] else 1
    return -1 if rows[x] < rows[y] else (1 if rows[x] > rows[y] else 0)


cdef int cmp_work_row(const Eng* e, Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    cdef const int64_t* rows = e.adl_index.work
    return -1 if rows[x] < rows[y] else (1 if rows[x] > rows[y] else 0)


cdef inline void drop_top(AdlRank* rank) noexcept nogil:
    rank.size -= 1
    if rank.size > 0:
        rank.heap[0] = rank.heap[rank.size]
        entry_sift_down(rank.heap, rank.size, 0, rank.ents)


cdef inline bint adl_peek(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k) noexcept nogil:
    """Drop stale entries from the top of the heap; False when it is empty."""
    while rank.size > 0:
        if rank.ents[rank.heap[0].ref].gen == d.gen[rank.heap[0].row * e.n_markets + k]:
            return True
        drop_top(rank)
        d.stale += 1
    return False


cdef int pro_rata_index(Eng* e, Adl* d, AdlRank* rank, Py_ssize_t k, liq_i128 needed,
                        Py_ssize_t* count) noexcept nogil:
    """Pro rata from the held-lots heap when the members hold more than ``needed`` (see the
    section's notes): pro_rata_shares' allocation, rows in scratch_a, lots in scratch_b."""
    cdef Py_ssize_t n1 = e.n_accounts + 1, npop = 0, nbig, x, b, sm, got = 0, merged
    cdef int64_t* rows
    cdef int64_t* share
    cdef int64_t* order
    cdef liq_i128 exact, leftover = needed, total = rank.total
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
        exact = needed * d.held[top.row * e.n_markets + k]
        if exact < total:
            break
        drop_top(rank)
        rows[npop] = top.row
        share[npop] = <int64_t>(exact / total)
        e.score_num[npop] = <liq_u128>(exact % total)
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
        e.score_num[npop] = <liq_u128>(needed * d.held[top.row * e.n_markets + k])
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
    cdef int64_t position = e.lots[i * e.n_markets + k]
    cdef int side = -sgn(position)   # the candidates' side
    cdef liq_i128 needed = iabs(position), take, lots_a
    cdef Py_ssize_t got = 0, a, n_cand = 0
    cdef int64_t j
    cdef Adl* d
    cdef AdlRank* rank
    cdef AdlKey top
    if e.adl_index == NULL:
        e.adl_index = adl_new(e)
        if e.adl_index == NULL:
            return C_OVERFLOW  # out of memory: reported, never a wrong answer
    d = e.adl_index
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
    if e.adl_ranking == RANK_PRO_RATA:
        if rank.total > needed:
            return pro_rata_index(e, d, rank, k, needed, count)
        for a in range(e.n_accounts):  # everyone takes everything
            if d.side[a * e.n_markets + k] == side:
                e.scratch_a[n_cand] = a
                n_cand += 1
        return pro_rata_shares(e, k, n_cand, needed, rank.total, count)
    if e.adl_ranking == RANK_SEEDED:
        if rank.fen == NULL and fenwick_build(e, d, rank, k, side) != C_OK:
            return C_OVERFLOW
        j = <int64_t>(splitmix64(e.adl_seed ^ seq_before) % <uint64_t>rank.members)
        while needed > 0:
            a = fenwick_kth(rank.fen, e.n_accounts, j + 1)
            lots_a = d.held[a * e.n_markets + k]
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
        lots_a = d.held[top.row * e.n_markets + k]
        take = needed if needed < lots_a else lots_a
        e.scratch_a[got] = top.row
        e.scratch_b[got] = <int64_t>take
        got += 1
        needed -= take
        adl_touch(e, top.row)  # out of the heap now: re-keyed before the next allocation
    d.taken += got
    count[0] = got
    return C_OK
