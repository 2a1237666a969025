# reference/book.py: market orders against the book (LIQ-BOOK-2/3).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- the order book (LIQ-BOOK-2/3) ---------------------------------------------------------------

cdef struct Plan:
    Py_ssize_t first      # first level index taken
    Py_ssize_t count      # levels taken
    liq_i128 total        # lots over the plan
    int64_t last_take     # lots taken from the last level


cdef inline void side_of(const Eng* e, Py_ssize_t k, int64_t position, int64_t** px,
                         int64_t** lots, int64_t** head, int64_t** end) noexcept nogil:
    """The side a position closes into: a long sells to the bids, a short buys the asks."""
    if position > 0:
        px[0] = e.bid_price + k * e.book_capacity
        lots[0] = e.bid_lots + k * e.book_capacity
        head[0] = &e.bid_head[k]
        end[0] = &e.bid_end[k]
    else:
        px[0] = e.ask_price + k * e.book_capacity
        lots[0] = e.ask_lots + k * e.book_capacity
        head[0] = &e.ask_head[k]
        end[0] = &e.ask_end[k]


cdef int plan_order(const Eng* e, Py_ssize_t i, Py_ssize_t k, liq_i128 lots, bint within_fund,
                    int64_t* takes, Plan* plan) noexcept nogil:
    """LIQ-BOOK-2: the fills an order for ``lots`` would take, best first, stopping where the book
    runs out or, ``within_fund``, where the next lot would leave a deficit beyond the fund.
    ``takes`` (at least the side's length) receives the lots of each planned level."""
    cdef int64_t position = e.lots[i * e.n_markets + k], eq
    cdef int64_t* px
    cdef int64_t* rest
    cdef int64_t* head
    cdef int64_t* end
    cdef Py_ssize_t j
    cdef int side = 1 if position > 0 else -1
    cdef liq_i128 equity, remaining = lots, take, per_lot, affordable, room, step
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
        per_lot = side * (<liq_i128>e.tables.value_per_lot_tick[k] * (<liq_i128>px[j] - e.marks[k]))
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
            if not liq_mul128(take, per_lot, &step) or not liq_add128(equity, step, &equity):
                return C_OVERFLOW
        remaining -= take
    return C_OK


cdef int closable_within_fund(const Eng* e, Py_ssize_t i, Py_ssize_t k, bint* out) noexcept nogil:
    """LIQ-BOOK-3: the whole position closes against the book (or at the mark, without a book)
    leaving a deficit the fund can pay."""
    cdef int64_t eq, position = e.lots[i * e.n_markets + k]
    cdef Plan plan
    cdef int code
    if not e.has_book[k]:
        if equity_of(e, i, &eq) != C_OK:
            return C_OVERFLOW
        out[0] = <liq_i128>eq >= -(<liq_i128>e.holders[1])
        return C_OK
    code = plan_order(e, i, k, iabs(position), True, e.scratch_c, &plan)
    if code != C_OK:
        return code
    out[0] = plan.total == iabs(position)
    return C_OK


cdef struct MarketOut:
    int64_t lots
    liq_i128 fee
    int64_t levels


cdef int market_liquidate(Eng* e, Py_ssize_t i, Py_ssize_t k, MarketOut* out) noexcept nogil:
    """LIQ-BOOK-2 after the adapter's checks (account, market, role): the trigger, the position,
    the book, the size, the plan, then one liquidation step per planned level."""
    cdef bint liq, within_fund = e.bad_debt_policy == BAD_DEBT_ADL, cp_allowed
    cdef int64_t size, allowed, lots, position
    cdef int64_t* px
    cdef int64_t* rest
    cdef int64_t* head
    cdef int64_t* end
    cdef Py_ssize_t j, book
    cdef Plan plan
    cdef LiqOut step
    cdef int code
    code = liquidatable_position(e, i, k, &position)
    if code != C_OK:
        return code
    if not e.has_book[k]:
        return C_NO_BOOK_LIQUIDITY
    book = e.book_account[k]
    if book < 0:
        return C_UNKNOWN_ACCOUNT
    if e.role[book] != ROLE_LIQUIDITY:
        return C_NO_BOOK_LIQUIDITY
    code = size_lots(e, i, k, &size)  # OVERFLOW, or POLICY_FORBIDS under account_share
    if code != C_OK:
        return code
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
        code = size_lots(e, i, k, &allowed)
        if code != C_OK:
            return code
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
