# reference/socialization.py and reference/funding.py: socialized loss (LIQ-SOCIAL-2) and
# funding (LIQ-FUNDING-1/2).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- socialized loss (LIQ-SOCIAL-2) and funding (LIQ-FUNDING-1/2) -------------------------------

cdef int sweep_residual(Eng* e, int64_t holder, int rule, liq_i128* moved) noexcept nogil:
    """LIQ-ROUND-3: a positive residual left with ``holder`` goes to the fee sink."""
    cdef int64_t residual = e.holders[-holder - 1]
    moved[0] = residual if residual > 0 else 0
    if residual > 0:
        return transfer(e, holder, H_FEE_SINK, residual, rule)
    return C_OK


cdef struct SocialOut:
    liq_i128 loss
    liq_i128 charged
    int64_t payers


cdef inline bint pays_social_loss(const Eng* e, Py_ssize_t a, Py_ssize_t k,
                                  int side) noexcept nogil:
    """A trader holding ``side`` of market ``k`` (+1 long, -1 short, 0 either)."""
    cdef int held = sgn(e.lots[a * e.n_markets + k])
    return e.role[a] == ROLE_TRADER and held != 0 and (side == 0 or held == side)


cdef int socialize_loss(Eng* e, Py_ssize_t k, int side, int64_t amount,
                        SocialOut* out) noexcept nogil:
    """After the adapter's checks (market, side, amount, policy): charge the recorded bad debt
    (``amount`` 0) or ``amount`` of it (at most the recorded, else NOTHING_TO_SOCIALIZE) to the
    traders on ``side`` (0: both) pro rata to their lots, each charge rounded up, the surplus over
    the amount to the fee sink."""
    cdef liq_i128 recorded = -(<liq_i128>e.holders[3]), loss, total = 0, charge
    cdef Py_ssize_t a
    cdef int code
    if recorded <= 0 or amount > recorded:
        return C_NOTHING_TO_SOCIALIZE
    loss = amount if amount > 0 else recorded
    for a in range(e.n_accounts):
        if pays_social_loss(e, a, k, side):
            total += iabs(e.lots[a * e.n_markets + k])
    if total == 0:
        return C_NO_SOCIALIZATION_BASE
    out.loss = loss
    out.charged = 0
    out.payers = 0
    for a in range(e.n_accounts):
        if pays_social_loss(e, a, k, side):
            charge = ceil_div(loss * iabs(e.lots[a * e.n_markets + k]), total)
            code = transfer(e, a, H_SOCIALIZED_LOSS, charge, R_SOCIAL_2)
            if code != C_OK:
                return code
            out.charged += charge
            out.payers += 1
    if out.charged > loss:  # the rounding surplus, at most one quantum per payer (LIQ-ROUND-3)
        return transfer(e, H_SOCIALIZED_LOSS, H_FEE_SINK, out.charged - loss, R_ROUND_3)
    return C_OK


cdef int apply_funding(Eng* e, Py_ssize_t k, int64_t rate_ppm, liq_i128* residual) noexcept nogil:
    """After the adapter's checks (market, rate): every position owes value x rate (owing rounds
    up, being owed down), collected into the pool first, then paid out; the residual swept."""
    cdef Py_ssize_t a
    cdef int64_t v
    cdef liq_i128 owed
    cdef int64_t* amounts = e.scratch_a
    cdef int code
    for a in range(e.n_accounts):
        if e.lots[a * e.n_markets + k] == 0:
            continue
        if value_of(e, e.lots[a * e.n_markets + k], k, e.marks[k], &v) != C_OK:
            return C_OVERFLOW
        owed = ceil_div(<liq_i128>v * rate_ppm, PPM)
        if not liq_fits_i64(owed):
            return C_OVERFLOW  # only -2^63 at -100% (compare.py)
        amounts[a] = <int64_t>owed
    for a in range(e.n_accounts):
        if e.lots[a * e.n_markets + k] != 0 and amounts[a] > 0:
            code = transfer(e, a, H_FUNDING_POOL, amounts[a], R_FUNDING_1)
            if code != C_OK:
                return code
    for a in range(e.n_accounts):
        if e.lots[a * e.n_markets + k] != 0 and amounts[a] < 0:
            code = transfer(e, H_FUNDING_POOL, a, -(<liq_i128>amounts[a]), R_FUNDING_1)
            if code != C_OK:
                return code
    return sweep_residual(e, H_FUNDING_POOL, R_FUNDING_2, residual)
