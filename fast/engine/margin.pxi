# reference/margin.py: values, equity, tiers and requirements of positions and accounts
# (LIQ-MARGIN-*, LIQ-TIER-*, LIQ-LEVERAGE-2, LIQ-TRIGGER-1/2).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- margin (LIQ-MARGIN-*, LIQ-TIER-*) ---------------------------------------------------------

cdef inline int value_of(const Eng* e, int64_t lots, Py_ssize_t k, int64_t price,
                         int64_t* out) noexcept nogil:
    """LIQ-MARGIN-1: checked(lots * price * value_per_lot_tick)."""
    cdef liq_i128 v
    if not liq_mul128(<liq_i128>lots * price, e.tables.value_per_lot_tick[k], &v) or not liq_fits_i64(v):
        return C_OVERFLOW
    out[0] = <int64_t>v
    return C_OK


cdef inline int checked(liq_i128 value, int64_t* out) noexcept nogil:
    """LIQ-DOMAIN-1: ``value`` into ``out`` where it fits int64, else OVERFLOW (the reference's
    checked()). The requirements themselves (tier_slot, maintenance_margin, initial_margin) are
    the shared ones of fast/_rules.pxd."""
    if not liq_fits_i64(value):
        return C_OVERFLOW
    out[0] = <int64_t>value
    return C_OK


cdef inline int equity_of(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """LIQ-MARGIN-2: checked(quote + sum of checked position values)."""
    return account_sum(e, i, False, out)


cdef inline liq_i128 reduced_cost(int64_t cost, int64_t lots, liq_i128 kept) noexcept nogil:
    """LIQ-MARGIN-4: the cost basis ``kept`` lots of a position of ``lots`` keep on a reduction,
    floor(cost * |kept| / |lots|) (|cost|, |kept| <= 2^63: the product fits 128 bits)."""
    return floor_div(<liq_i128>cost * iabs(kept), iabs(<liq_i128>lots))


cdef inline bint at_entry(const Eng* e, Py_ssize_t i) noexcept nogil:
    """LIQ-TIER-6: row i's requirements are on entry values (entry basis, an isolated account)."""
    return e.maintenance_basis == MAINT_AT_ENTRY and e.isolated[i] != -1


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
        return checked(maintenance_margin(&e.tables, k, iabs(reduced_cost(
            e.cost[i * e.n_markets + k], e.lots[i * e.n_markets + k], kept)), iabs(kept)), out)
    if value_of(e, kept, k, e.marks[k], &v) != C_OK:
        return C_OVERFLOW
    return checked(maintenance_margin(&e.tables, k, iabs(v), iabs(kept)), out)


cdef inline int account_sum(const Eng* e, Py_ssize_t i, bint maintenance,
                            int64_t* out) noexcept nogil:
    """The one loop of LIQ-MARGIN-2 and LIQ-TIER-5: checked(start + sum over row i's open
    positions of a checked per-position term), the start and term being the quote and the value
    at the mark (equity) or 0 and the requirement on its basis (``maintenance``). ``maintenance``
    is a constant at each call, so the C compiler specialises the loop."""
    cdef Py_ssize_t k
    cdef int64_t term
    cdef liq_i128 total = 0 if maintenance else e.quote[i]
    cdef const int64_t* lots = e.lots + i * e.n_markets
    for k in range(e.n_markets):
        if lots[k] == 0:
            continue
        if maintenance:
            if position_maint(e, i, k, lots[k], &term) != C_OK:
                return C_OVERFLOW
        elif value_of(e, lots[k], k, e.marks[k], &term) != C_OK:
            return C_OVERFLOW
        total += term
    return checked(total, out)


cdef inline int maint_total(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """LIQ-TIER-5: checked sum of checked per-position requirements, each on its basis."""
    return account_sum(e, i, True, out)


cdef inline int open_interest(const Eng* e, Py_ssize_t k, int64_t* out) noexcept nogil:
    """open_interest_quote: checked(longs * mark * value_per_lot_tick)."""
    cdef liq_i128 v
    if not liq_fits_i64(e.long_lots[k]):
        return C_OVERFLOW
    if not liq_mul128(e.long_lots[k] * e.marks[k], e.tables.value_per_lot_tick[k], &v) or \
            not liq_fits_i64(v):
        return C_OVERFLOW
    out[0] = <int64_t>v
    return C_OK


cdef inline int initial_total(const Eng* e, Py_ssize_t i, int64_t* out) noexcept nogil:
    """account_initial_margin_quote at each market's open interest (as the margin check takes
    it: open interest of every market the account holds, computed first)."""
    cdef Py_ssize_t k
    cdef int64_t v, im, oi
    cdef liq_i128 total = 0
    cdef const int64_t* lots = e.lots + i * e.n_markets
    for k in range(e.n_markets):
        if e.present[i * e.n_markets + k] and open_interest(e, k, &oi) != C_OK:
            return C_OVERFLOW
    for k in range(e.n_markets):
        if lots[k] == 0:
            continue
        if open_interest(e, k, &oi) != C_OK:
            return C_OVERFLOW
        if value_of(e, lots[k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        if checked(initial_margin(&e.tables, k, iabs(v), iabs(lots[k]), oi), &im) != C_OK:
            return C_OVERFLOW
        if e.leverage != NULL and e.leverage[i * e.n_markets + k] > 0:
            # LIQ-LEVERAGE-2: max(ceil(notional / leverage), the venue's own)
            im = <int64_t>max_i128(ceil_div(iabs(v), e.leverage[i * e.n_markets + k]), im)
        total += im
    if not liq_fits_i64(total):
        return C_OVERFLOW
    out[0] = <int64_t>total
    return C_OK


cdef inline int trigger_terms(const Eng* e, Py_ssize_t i, int64_t* mm, int64_t* eq) noexcept nogil:
    """The two sides of LIQ-TRIGGER-1/2 in their order: maintenance first, then equity only where
    maintenance > 0 (an account with no requirement triggers nothing, so its equity is neither
    computed nor able to overflow); ``eq`` is 0 otherwise."""
    eq[0] = 0
    if maint_total(e, i, mm) != C_OK:
        return C_OVERFLOW
    if mm[0] > 0 and equity_of(e, i, eq) != C_OK:
        return C_OVERFLOW
    return C_OK


cdef inline int checked_initial(const Eng* e, Py_ssize_t i, int64_t im,
                                liq_i128* out) noexcept nogil:
    """LIQ-TRIGGER-3 (reference: margin.checked_initial_quote): the equity the margin checks ask
    for, the initial requirement ``im`` and, under the at_or_below trigger, at least one quantum
    above a positive maintenance requirement (computed after ``im``, as the reference; in 128
    bits, as maintenance + 1 may pass 2^63 - 1)."""
    cdef int64_t mm = 0
    out[0] = im
    if not e.tables.trigger_slack:
        return C_OK  # maintenance is not computed where it cannot matter
    if maint_total(e, i, &mm) != C_OK:
        return C_OVERFLOW
    out[0] = checked_initial_requirement(im, mm, e.tables.trigger_slack)
    return C_OK


cdef inline int liquidatable(const Eng* e, Py_ssize_t i, bint* out) noexcept nogil:
    """LIQ-TRIGGER-1/3: maintenance > 0 and equity < maintenance, or equity <= maintenance under
    the at_or_below trigger (equity - trigger_slack < maintenance; maintenance computed first)."""
    cdef int64_t mm, eq
    if trigger_terms(e, i, &mm, &eq) != C_OK:
        return C_OVERFLOW
    out[0] = liq_triggered(eq, mm, e.tables.trigger_slack)
    return C_OK


cdef inline int below_backstop(const Eng* e, Py_ssize_t i, bint* out) noexcept nogil:
    """LIQ-TRIGGER-2: equity * den < num * maintenance, maintenance > 0; False without one."""
    cdef int64_t mm, eq
    if e.backstop_den == 0:
        out[0] = False
        return C_OK
    if trigger_terms(e, i, &mm, &eq) != C_OK:
        return C_OVERFLOW
    out[0] = mm > 0 and <liq_i128>eq * e.backstop_den < <liq_i128>e.backstop_num * mm
    return C_OK
