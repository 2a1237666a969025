# reference/trading.py: trades and the initial-margin check (LIQ-TRADE-1/2, LIQ-ACCOUNT-2).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- trades and the initial-margin check (LIQ-TRADE-1/2, LIQ-ACCOUNT-2) ---------------------------

cdef inline bint market_allowed(const Eng* e, Py_ssize_t i, Py_ssize_t k) noexcept nogil:
    """LIQ-ACCOUNT-2: an isolated account trades only the market it is bound to."""
    return e.isolated[i] == -1 or e.isolated[i] == k


cdef struct Before:
    int64_t equity
    int64_t maint
    int64_t position


cdef inline int margin_before(const Eng* e, Py_ssize_t i, Py_ssize_t k, Before* out) noexcept nogil:
    """margin_before of LIQ-TRADE-2: equity, maintenance and position before a trade."""
    if equity_of(e, i, &out.equity) != C_OK or maint_total(e, i, &out.maint) != C_OK:
        return C_OVERFLOW
    out.position = e.lots[i * e.n_markets + k]
    return C_OK


cdef int margin_after_trade(const Eng* e, Py_ssize_t i, Py_ssize_t k,
                            const Before* before) noexcept nogil:
    """LIQ-TRADE-2: equity >= initial margin at the post-trade open interest (and above maintenance
    under LIQ-TRIGGER-3: checked_initial), or a trade that only reduces the position, leaves
    equity >= 0 and does not widen the maintenance shortfall."""
    cdef int64_t eq, im, mm
    cdef liq_i128 needed, after = e.lots[i * e.n_markets + k]
    cdef bint reduces
    if equity_of(e, i, &eq) != C_OK or initial_total(e, i, &im) != C_OK:
        return C_OVERFLOW
    if checked_initial(e, i, im, &needed) != C_OK:  # LIQ-TRIGGER-3: above maintenance too
        return C_OVERFLOW
    if eq >= needed:
        return C_OK
    reduces = before.position != 0 and iabs(after) < iabs(before.position) and (
        after == 0 or (after > 0) == (before.position > 0))
    if not reduces:
        return C_INSUFFICIENT_INITIAL_MARGIN
    if maint_total(e, i, &mm) != C_OK:
        return C_OVERFLOW
    if eq < 0 or <liq_i128>eq - mm < <liq_i128>before.equity - before.maint:
        return C_REDUCE_ONLY_WORSENS_HEALTH
    return C_OK


cdef int trade(Eng* e, Py_ssize_t buyer, Py_ssize_t seller, Py_ssize_t k, int64_t lots,
               int64_t price, int64_t* notional) noexcept nogil:
    """LIQ-TRADE-1 after the adapter's lookups and domain checks (accounts, market, size, price):
    the notional, the two accounts, their isolation, the fill, then each trader's margin."""
    cdef int64_t amount
    cdef Before buyer_before, seller_before
    cdef int code
    if value_of(e, lots, k, price, &amount) != C_OK:
        return C_OVERFLOW
    if buyer == seller:
        return C_SAME_ACCOUNT
    if not market_allowed(e, buyer, k) or not market_allowed(e, seller, k):
        return C_ISOLATED_MARKET_MISMATCH
    # margin_before of both accounts, whatever their role, as the reference computes it
    if margin_before(e, buyer, k, &buyer_before) != C_OK or \
            margin_before(e, seller, k, &seller_before) != C_OK:
        return C_OVERFLOW
    code = do_fill(e, k, buyer, seller, lots, amount, price, True, R_TRADE_1)
    if code == C_OK and e.role[buyer] == ROLE_TRADER:  # only traders are margined
        code = margin_after_trade(e, buyer, k, &buyer_before)
    if code == C_OK and e.role[seller] == ROLE_TRADER:
        code = margin_after_trade(e, seller, k, &seller_before)
    notional[0] = amount
    return code
