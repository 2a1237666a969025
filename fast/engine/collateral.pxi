# reference/collateral.py and reference/leverage.py: deposits, withdrawals and the chosen
# leverage (LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2, LIQ-LEVERAGE-4).
# Included by fast/_engine.pyx (one extension, one module namespace).

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
    for x in range(e.n_accounts):
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
    cdef liq_i128 free, needed
    if withdrawals_gated(e, order, &gated) != C_OK:
        return C_OVERFLOW
    if gated:
        return C_WITHDRAWALS_GATED
    if equity_of(e, i, &eq) != C_OK or initial_total(e, i, &im) != C_OK:
        return C_OVERFLOW
    if checked_initial(e, i, im, &needed) != C_OK:  # LIQ-TRIGGER-3: above maintenance too
        return C_OVERFLOW
    free = <liq_i128>eq - needed
    if not liq_fits_i64(free):
        return C_OVERFLOW
    if amount > free:
        return C_INSUFFICIENT_FREE_COLLATERAL
    return transfer(e, i, H_OUTSIDE, amount, R_WITHDRAW_1)


cdef int set_leverage(Eng* e, Py_ssize_t i, Py_ssize_t k, int64_t leverage) noexcept nogil:
    """LIQ-LEVERAGE-4 after the adapter's pure checks (check_set_leverage): the requirement before
    and after the change; a rise must leave equity at or above it. Needs the leverage table."""
    cdef int64_t before, after, eq, old = e.leverage[i * e.n_markets + k]
    if initial_total(e, i, &before) != C_OK:
        return C_OVERFLOW
    e.leverage[i * e.n_markets + k] = leverage
    if initial_total(e, i, &after) != C_OK:
        e.leverage[i * e.n_markets + k] = old
        return C_OVERFLOW
    if after > before:
        if equity_of(e, i, &eq) != C_OK:
            e.leverage[i * e.n_markets + k] = old
            return C_OVERFLOW
        if eq < after:
            e.leverage[i * e.n_markets + k] = old
            return C_INSUFFICIENT_INITIAL_MARGIN
    return C_OK
