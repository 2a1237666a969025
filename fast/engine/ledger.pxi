# reference/ledger.py: the journal, transfers between holders and moves of base
# (LIQ-LEDGER-1/2, LIQ-MARGIN-4), fills and the settlement of a deficit.
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- the ledger (LIQ-LEDGER-1/2) ----------------------------------------------------------------

cdef inline int journal(Eng* e, int kind, int64_t a, int64_t b, int64_t lots, int64_t amount,
                        int64_t price, bint has_price, Py_ssize_t market, int rule) noexcept nogil:
    cdef Rec* r
    if reserve(<void**>&e.records, &e.records_capacity, e.n_records + 1, sizeof(Rec)) != C_OK:
        return C_OVERFLOW
    r = &e.records[e.n_records]
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
    e.n_records += 1
    return C_OK


cdef inline void note_touched(Eng* e, Py_ssize_t i) noexcept nogil:
    """The cascade's index re-keys a trader whose balance or positions changed."""
    if not e.dirty[i]:
        e.dirty[i] = 1
        e.dirty_list[e.n_dirty] = i
        e.n_dirty += 1


cdef inline void adl_touch(Eng* e, Py_ssize_t i) noexcept nogil:
    """The deleveraging index re-keys a trader whose balance or positions changed."""
    cdef Adl* d = e.adl_index
    if d != NULL and not d.dirty[i] and e.role[i] == ROLE_TRADER:
        d.dirty[i] = 1
        d.dirty_list[d.ndirty] = i
        d.ndirty += 1


cdef inline int add_quote(Eng* e, int64_t holder, liq_i128 delta) noexcept nogil:
    cdef liq_i128 v
    if holder < 0:
        v = e.holders[-holder - 1] + delta
        if not liq_fits_i64(v):
            return C_OVERFLOW
        e.holders[-holder - 1] = <int64_t>v
    else:
        v = e.quote[holder] + delta
        if not liq_fits_i64(v):
            return C_OVERFLOW
        e.quote[holder] = <int64_t>v
        e.account_touched[holder] = 1
        adl_touch(e, holder)
        if e.track_changes and e.role[holder] == ROLE_TRADER:
            note_touched(e, holder)
            if iabs(v) > e.bound_quote:
                e.bound_quote = iabs(v)
    return C_OK


cdef int transfer(Eng* e, int64_t source, int64_t destination, liq_i128 amount,
                  int rule) noexcept nogil:
    """LIQ-LEDGER-1: move a positive amount between two holders, journaled. The amount is stored,
    so beyond int64 it is OVERFLOW (LIQ-DOMAIN-1), as in the reference's ledger."""
    if amount <= 0 or source == destination:
        return C_INVALID_AMOUNT
    if not liq_fits_i64(amount):
        return C_OVERFLOW
    if add_quote(e, source, -amount) != C_OK or add_quote(e, destination, amount) != C_OK:
        return C_OVERFLOW
    return journal(e, K_TRANSFER, source, destination, 0, <int64_t>amount, 0, False, 0, rule)


cdef inline int position_after(int64_t old, int64_t old_cost, int64_t delta, liq_i128 traded,
                               liq_i128* new, liq_i128* cost) noexcept nogil:
    """LIQ-MARGIN-4: a position of ``old`` lots with cost basis ``old_cost`` after a fill of
    ``delta`` lots whose cost is ``traded`` (what was paid for them): adding keeps the sum,
    reducing keeps the average entry (reduced_cost), a flip gives the new lots their share of
    the fill's cost, flat has none. OVERFLOW where the lots or the cost leave int64."""
    cdef liq_i128 prod
    new[0] = <liq_i128>old + delta
    if not liq_fits_i64(new[0]):
        return C_OVERFLOW
    if new[0] == 0:
        cost[0] = 0
    elif old == 0 or sgn(old) == sgn(delta):
        cost[0] = old_cost + traded
    elif sgn(new[0]) == sgn(old):
        cost[0] = reduced_cost(old_cost, old, new[0])
    else:
        if not liq_mul128(traded, iabs(new[0]), &prod):
            return C_OVERFLOW
        cost[0] = floor_div(prod, iabs(delta))
    if new[0] != 0 and not liq_fits_i64(cost[0]):
        return C_OVERFLOW
    return C_OK


cdef int move_base(Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t delta, liq_i128 cash) noexcept nogil:
    """LIQ-MARGIN-4: change a position and its cost basis (position_after; the cash leg is
    booked apart)."""
    cdef Py_ssize_t at = i * e.n_markets + k
    cdef int64_t old = e.lots[at]
    cdef liq_i128 new, c
    if position_after(old, e.cost[at], delta, -cash, &new, &c) != C_OK:
        return C_OVERFLOW
    if old > 0:
        e.long_lots[k] -= old
    if new > 0:
        e.long_lots[k] += new
    if new == 0:
        if e.present[at]:
            e.n_positions[i] -= 1
        e.present[at] = 0
        e.cost[at] = 0
    else:
        if not e.present[at]:
            e.n_positions[i] += 1
        e.present[at] = 1
        e.cost[at] = <int64_t>c
    e.lots[at] = <int64_t>new
    e.touched[at] = 1
    e.account_touched[i] = 1
    adl_touch(e, i)
    if e.track_changes and e.role[i] == ROLE_TRADER:
        note_touched(e, i)
        if iabs(new) > e.bound_lots[k]:
            e.bound_lots[k] = iabs(new)
    return C_OK


cdef int do_fill(Eng* e, Py_ssize_t k, Py_ssize_t buyer, Py_ssize_t seller, int64_t lots,
                 liq_i128 quote_amount, int64_t price, bint has_price, int rule) noexcept nogil:
    """LIQ-LEDGER-2: lots from seller to buyer against quote_amount (negative: the other way)."""
    cdef int code
    if lots <= 0 or buyer == seller:
        return C_INVALID_SIZE
    if not liq_fits_i64(quote_amount):
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
    return e.n_positions[i] == 0


cdef int settle_deficit(Eng* e, Py_ssize_t i, liq_i128* paid_out,
                        liq_i128* written_out) noexcept nogil:
    """LIQ-INSURANCE-1 / LIQ-SOCIAL-1: the fund pays min(deficit, fund); the rest is written off
    to the socialized-loss holder."""
    cdef liq_i128 deficit = -(<liq_i128>e.quote[i]), paid, written
    paid = e.holders[1] if e.holders[1] < deficit else deficit
    if paid > 0 and transfer(e, H_INSURANCE_FUND, i, paid, R_INSURANCE_1) != C_OK:
        return C_OVERFLOW
    written = deficit - paid
    if written > 0 and transfer(e, H_SOCIALIZED_LOSS, i, written, R_SOCIAL_1) != C_OK:
        return C_OVERFLOW
    paid_out[0] = paid
    written_out[0] = written
    return C_OK
