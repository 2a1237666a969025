# The Python face: the Engine class that owns one packed venue and returns each operation's
# (code, amounts).
# Included by fast/_engine.pyx (one extension, one module namespace).

# -- the Python face -----------------------------------------------------------------------------

cdef object py_i128(liq_i128 v):
    """An exact Python int from 128 bits (Cython sees the type as 64-bit: never convert it
    directly)."""
    return (int(liq_hi64(v)) << 64) | int(liq_lo64(v))


# -- what every state-changing operation shares: its output and its (code, amounts) receipt ------

cdef union Out:
    # the output of any one operation (the operation's OUT_* kind says which member)
    LiqOut liq
    MarketOut market
    AdlOut adl
    SocialOut social
    ShareOut share
    liq_i128 quote
    int64_t lots


cdef enum:
    OUT_NONE, OUT_LIQ, OUT_MARKET, OUT_TAKEN, OUT_ADL, OUT_SOCIAL, OUT_RESIDUAL, OUT_NOTIONAL,
    OUT_SHARE


cdef inline void add_settlement(dict amounts, bint settled, liq_i128 paid, liq_i128 written):
    """A settlement's amounts (LIQ-INSURANCE-1 / LIQ-SOCIAL-1), where one took place."""
    if settled:
        amounts["fund_paid"] = py_i128(paid)
        amounts["written_off"] = py_i128(written)


cdef object receipt(int code, int kind, const Out* out):
    """LIQ-RESULT-1 in Python: ``(code, None)`` for a refused operation (its output unread),
    else ``(C_OK, amounts)``, the output of ``kind`` as a dict of exact ints."""
    cdef dict amounts
    if code != C_OK:
        return code, None
    if kind == OUT_NONE:
        return code, {}
    if kind == OUT_LIQ:
        amounts = {"lots": out.liq.lots, "fee": out.liq.fee, "surplus": out.liq.surplus}
        if out.liq.per_fill:
            amounts["fund_delta"] = py_i128(out.liq.fund_delta)
            amounts["fund_covered"] = py_i128(out.liq.fund_covered)
        if out.liq.two_fees:
            amounts["liquidator_fee"] = out.liq.liquidator_fee
        add_settlement(amounts, out.liq.settled, out.liq.fund_paid, out.liq.written_off)
        return code, amounts
    if kind == OUT_MARKET:
        return code, {"lots": out.market.lots, "fee": py_i128(out.market.fee),
                      "levels": out.market.levels}
    if kind == OUT_TAKEN:
        return code, {"taken_quote": py_i128(out.quote)}
    if kind == OUT_ADL:
        amounts = {"lots": out.adl.lots, "counterparties": out.adl.counterparties}
        add_settlement(amounts, out.adl.settled, out.adl.fund_paid, out.adl.written_off)
        return code, amounts
    if kind == OUT_SOCIAL:
        return code, {"loss": py_i128(out.social.loss), "charged": py_i128(out.social.charged),
                      "residual": py_i128(out.social.charged - out.social.loss)}
    if kind == OUT_SHARE:
        amounts = {"share_ppm": out.share.share_ppm, "fee": out.share.penalty_quote}
        add_settlement(amounts, out.share.settled, out.share.fund_paid, out.share.written_off)
        return code, amounts
    if kind == OUT_RESIDUAL:
        return code, {"residual": py_i128(out.quote)}
    return code, {"notional": out.lots}  # OUT_NOTIONAL


def replay_position(delta, traded):
    """LIQ-MARGIN-4 (``position_after``, move_base's rule): the lots and cost basis of a flat
    position after fills of ``delta[j]`` lots that cost ``traded[j]``, in order, as exact ints:
    the bulk loader's book account, which takes the other side of every opening position
    (liqspec.positions_bulk). Overflow where a step leaves int64."""
    cdef const int64_t[::1] d = np.ascontiguousarray(delta, dtype=np.int64)
    cdef const int64_t[::1] paid = np.ascontiguousarray(traded, dtype=np.int64)
    cdef Py_ssize_t j, bad = -1
    cdef int64_t lots = 0, cost = 0
    cdef liq_i128 new, c
    if d.shape[0] != paid.shape[0]:
        raise MalformedState("delta and traded need one entry per fill")
    with nogil:
        for j in range(d.shape[0]):
            if d[j] == 0:
                continue
            if position_after(lots, cost, d[j], paid[j], &new, &c) != C_OK:
                bad = j
                break
            lots = <int64_t>new
            cost = <int64_t>c
    if bad >= 0:
        raise Overflow(f"the position after fill {bad} is outside the signed 64-bit domain")
    return lots, cost


cdef class _EventBuffer:
    """Owns an event buffer handed out as arrays by Engine.cascade_trace (freed with them)."""
    cdef void* data

    def __dealloc__(self):
        free(self.data)
        self.data = NULL


cdef class Engine:
    """One venue state packed for the compiled operations (see the module docstring).

    Built by :func:`liqspec.fast.operations.engine_for` from a reference ``State``; the arrays
    are public numpy arrays so the glue can write results back.
    """
    cdef Eng e
    cdef public object account_ids, market_ids, quote, lots, cost, present, touched
    cdef public object account_touched, n_positions, role, isolated, marks, tables
    cdef public object columns_by_market_id, has_book, book_account
    cdef public object bid_price, bid_lots, ask_price, ask_lots
    cdef public object bid_head, bid_end, ask_head, ask_end, book_touched
    cdef public object scratch_a, scratch_b, scratch_c, score_sign
    cdef public object liquidation_fee_ppm, liquidator_fee_ppm
    cdef _TableView table_view
    cdef public object leverage

    def __cinit__(self):
        self.e.records = NULL
        self.e.n_records = 0
        self.e.records_capacity = 0
        self.e.long_lots = NULL
        self.e.score_num = NULL
        self.e.score_den = NULL
        self.e.cascade = NULL
        self.cas_store.evs = NULL
        self.cas_store.evs_shared = False
        self.cas_store.ix = NULL
        self.cas_store.fund_samples = NULL
        self.cas_store.fund_window_s = 0
        self.ix_store.heaps = NULL
        self.ix_store.act = NULL
        self.ix_store.act_tmp = NULL
        self.n_heaps = 0
        self.e.track_changes = False
        self.e.bound_lots = NULL
        self.e.adl_index = NULL
        self.e.adl_mode = ADL_INDEX
        self.e.leverage = NULL

    def __dealloc__(self):
        cdef Py_ssize_t x
        free(self.e.records)
        free(self.e.long_lots)
        free(self.e.score_num)
        free(self.e.score_den)
        if not self.cas_store.evs_shared:
            free(self.cas_store.evs)
        self.cas_store.evs = NULL
        free(self.cas_store.fund_samples)
        self.cas_store.fund_samples = NULL
        if self.ix_store.heaps != NULL:
            for x in range(self.n_heaps):
                free(self.ix_store.heaps[x].a)
            free(self.ix_store.heaps)
        free(self.ix_store.act)
        free(self.ix_store.act_tmp)
        free(self.e.bound_lots)
        adl_reset(&self.e)
        self.ix_store.heaps = NULL
        self.ix_store.act = NULL
        self.ix_store.act_tmp = NULL
        self.e.bound_lots = NULL
        self.e.records = NULL
        self.e.long_lots = NULL
        self.e.score_num = NULL
        self.e.score_den = NULL

    def setup(self, arrays):
        """Adopt a packed venue, whole: a :class:`liqspec.fast.pack.EngineArrays` (its arrays
        int64 and C-contiguous unless noted; the engine changes them in place)."""
        rows = arrays.rows
        tables = arrays.tables
        cdef Py_ssize_t n = len(rows.account_ids), m = len(tables.market_ids), x, size
        cdef int64_t[::1] v64
        cdef uint8_t[::1] vu8
        cdef int8_t[::1] vi8
        cdef int64_t seq = arrays.seq
        if self.e.long_lots != NULL:
            raise RuntimeError("an Engine is set up once")
        holders = arrays.holders
        policies = arrays.policies
        self.account_ids = rows.account_ids
        self.market_ids = tables.market_ids
        self.tables = tables
        self.quote = rows.quote
        self.lots = rows.lots
        self.cost = rows.cost
        self.present = rows.present
        self.touched = np.zeros(n * m, dtype=np.uint8)
        self.account_touched = np.zeros(n, dtype=np.uint8)
        self.n_positions = self.present.reshape(n, m).sum(axis=1).astype(np.int64) if n else \
            np.zeros(0, dtype=np.int64)
        self.role = rows.role
        self.isolated = rows.isolated
        self.marks = arrays.marks
        self.columns_by_market_id = arrays.columns_by_market_id
        self.has_book = arrays.has_book
        self.book_account = arrays.book_account
        self.bid_price, self.bid_lots = arrays.bid_price, arrays.bid_lots
        self.ask_price, self.ask_lots = arrays.ask_price, arrays.ask_lots
        self.bid_head, self.bid_end = arrays.bid_head, arrays.bid_end
        self.ask_head, self.ask_end = arrays.ask_head, arrays.ask_end
        bid_price = self.bid_price
        self.book_touched = np.zeros(m, dtype=np.uint8)
        self.liquidation_fee_ppm = tables.liquidation_fee_ppm
        self.liquidator_fee_ppm = tables.liquidator_fee_ppm
        size = max(n, 1) + max(bid_price.shape[1] if bid_price.ndim == 2 else 0, 1)
        self.scratch_a = np.zeros(size, dtype=np.int64)
        self.scratch_b = np.zeros(size, dtype=np.int64)
        self.scratch_c = np.zeros(size, dtype=np.int64)
        self.score_sign = np.zeros(2 * size, dtype=np.int8)
        self.e.score_num = <liq_u128*>malloc(2 * size * sizeof(liq_u128))
        self.e.score_den = <liq_u128*>malloc(2 * size * sizeof(liq_u128))
        self.e.long_lots = <liq_i128*>malloc((m + 1) * sizeof(liq_i128))
        if self.e.score_num == NULL or self.e.score_den == NULL or self.e.long_lots == NULL:
            raise MemoryError()
        self.e.n_accounts = n
        self.e.n_markets = m
        v64 = self.quote
        self.e.quote = &v64[0] if n else NULL
        v64 = self.lots.reshape(-1)
        self.e.lots = &v64[0] if n * m else NULL
        v64 = self.cost.reshape(-1)
        self.e.cost = &v64[0] if n * m else NULL
        vu8 = self.present.reshape(-1)
        self.e.present = &vu8[0] if n * m else NULL
        vu8 = self.touched
        self.e.touched = &vu8[0] if n * m else NULL
        vu8 = self.account_touched
        self.e.account_touched = &vu8[0] if n else NULL
        v64 = self.n_positions
        self.e.n_positions = &v64[0] if n else NULL
        vi8 = self.role
        self.e.role = &vi8[0] if n else NULL
        v64 = self.isolated
        self.e.isolated = &v64[0] if n else NULL
        v64 = self.marks
        self.e.marks = &v64[0]
        for x in range(5):
            self.e.holders[x] = holders[x]
        self.e.seq = seq
        self.table_view = _TableView(tables)  # keeps the arrays alive while e.tables points in
        self.e.tables = self.table_view.t
        v64 = self.liquidation_fee_ppm
        self.e.liquidation_fee_ppm = &v64[0]
        v64 = self.liquidator_fee_ppm
        self.e.liquidator_fee_ppm = &v64[0]
        v64 = self.columns_by_market_id
        self.e.columns_by_market_id = &v64[0]
        self.e.size_policy = policies["size"]
        self.e.fee_policy = policies["fee"]
        self.e.bad_debt_policy = policies["bad_debt"]
        self.e.adl_ranking = policies["ranking"]
        self.e.adl_price = policies["adl_price"]
        self.e.maintenance_basis = policies["maint_basis"]
        self.e.portion_ppm = policies["portion_ppm"]
        self.e.portion_threshold_quote = policies["portion_threshold"]
        self.e.share_target_ppm = policies["share_target_ppm"]
        self.e.liquidation_buffer_ppm = policies["buffer_ppm"]
        self.e.backstop_num = tables.backstop_num
        self.e.backstop_den = tables.backstop_den
        self.e.adl_seed = policies["adl_seed"]
        self.e.adl_drawdown_ppm = policies["adl_drawdown_ppm"]
        self.e.one_quote_unit = policies["one_unit"]
        vu8 = self.has_book
        self.e.has_book = &vu8[0]
        v64 = self.book_account
        self.e.book_account = &v64[0]
        self.e.book_capacity = bid_price.shape[1]
        v64 = self.bid_price.reshape(-1)
        self.e.bid_price = &v64[0]
        v64 = self.bid_lots.reshape(-1)
        self.e.bid_lots = &v64[0]
        v64 = self.ask_price.reshape(-1)
        self.e.ask_price = &v64[0]
        v64 = self.ask_lots.reshape(-1)
        self.e.ask_lots = &v64[0]
        v64 = self.bid_head
        self.e.bid_head = &v64[0]
        v64 = self.bid_end
        self.e.bid_end = &v64[0]
        v64 = self.ask_head
        self.e.ask_head = &v64[0]
        v64 = self.ask_end
        self.e.ask_end = &v64[0]
        vu8 = self.book_touched
        self.e.book_touched = &vu8[0]
        v64 = self.scratch_a
        self.e.scratch_a = &v64[0]
        v64 = self.scratch_b
        self.e.scratch_b = &v64[0]
        v64 = self.scratch_c
        self.e.scratch_c = &v64[0]
        vi8 = self.score_sign
        self.e.score_sign = &vi8[0]
        self._init_longs()

    cdef void _init_longs(self):
        cdef Py_ssize_t a, k
        for k in range(self.e.n_markets):
            self.e.long_lots[k] = 0
        for a in range(self.e.n_accounts):
            for k in range(self.e.n_markets):
                if self.e.lots[a * self.e.n_markets + k] > 0:
                    self.e.long_lots[k] += self.e.lots[a * self.e.n_markets + k]

    # -- state read back by the glue -------------------------------------------------------------
    @property
    def holders(self):
        return [self.e.holders[x] for x in range(5)]

    @property
    def seq(self):
        return self.e.seq

    @property
    def n_records(self):
        return self.e.n_records

    def records(self, Py_ssize_t first=0):
        """Journal records from ``first``: (kind, a, b, lots, amount, price|None, market, rule,
        seq) tuples (kind 0: transfer, 1: fill)."""
        cdef Py_ssize_t r
        cdef Rec* rec
        out = []
        for r in range(first, self.e.n_records):
            rec = &self.e.records[r]
            out.append((rec.kind, rec.a, rec.b, rec.lots, rec.amount,
                        rec.price if rec.has_price else None, rec.market, rec.rule, rec.seq))
        return out

    def begin(self):
        """Start an operation: the journal stamps the next seq (LIQ-RESULT-1's seq + 1)."""
        self.e.seq += 1

    # -- the operations (codes are ResultCode values) --------------------------------------------
    def liquidate(self, Py_ssize_t i, Py_ssize_t k, Py_ssize_t cp, int64_t price,
                  int64_t lots_wanted, bint cp_allowed):
        cdef Out out
        cdef int code
        with nogil:
            code = liquidate_step(&self.e, i, k, cp, price, lots_wanted, cp_allowed, &out.liq)
        return receipt(code, OUT_LIQ, &out)

    def market_liquidate(self, Py_ssize_t i, Py_ssize_t k):
        cdef Out out
        cdef int code
        with nogil:
            code = market_liquidate(&self.e, i, k, &out.market)
        return receipt(code, OUT_MARKET, &out)

    def backstop_liquidate(self, Py_ssize_t i, Py_ssize_t vault):
        cdef Out out
        cdef int code
        out.quote = 0
        with nogil:
            code = backstop_liquidate(&self.e, i, vault, &out.quote)
        return receipt(code, OUT_TAKEN, &out)

    def share_liquidate(self, Py_ssize_t i, Py_ssize_t vault):
        cdef Out out
        cdef int code
        with nogil:
            code = share_liquidate(&self.e, i, vault, &out.share)
        return receipt(code, OUT_SHARE, &out)

    def deleverage(self, Py_ssize_t i, Py_ssize_t k, int64_t fund_peak=0):
        """LIQ-ADL-1/3/5, with the fund's peak (checked >= 0 by the adapter)."""
        cdef Out out
        cdef int code
        with nogil:
            code = deleverage(&self.e, i, k, fund_peak, &out.adl)
        return receipt(code, OUT_ADL, &out)

    def adl_order(self, order):
        """How deleveraging allocations are found: ``index`` (the ranking index, the default),
        ``scan`` (every account, the reference's way: the oracle) or ``verify`` (both,
        C_ADL_MISMATCH_CODE on any difference). A cascade's ``order`` sets it too."""
        self.e.adl_mode = ADL_MODES[order]

    def adl_index_stats(self):
        """The deleveraging index's work so far: rankings rebuilt, (row, market) re-keys, rows
        taken, stale entries popped, heap compactions, allocations checked against the scan."""
        cdef Adl* d = self.e.adl_index
        if d == NULL:
            return {}
        return {"rebuilds": d.rebuilds, "rekeys": d.rekeys, "taken": d.taken, "stale": d.stale,
                "compactions": d.compactions, "checks": d.checks}

    # -- the read queries (codes are ResultCode values; the state is left as it was) ------------
    def maintenance_requirement(self, Py_ssize_t k, int64_t notional, int64_t size=0):
        """LIQ-TIER-1/2/8: (code, (tier index, maintenance requirement)) of a position of a
        notional and a size (|lots|, read in a market keyed by size)."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = checked(maintenance_margin(&self.e.tables, k, notional, size), &out)
        if code != C_OK:
            return code, None
        return code, (tier_slot(&self.e.tables, k, notional, size)
                      - k * self.e.tables.tier_width, out)

    def initial_requirement(self, Py_ssize_t k, int64_t notional, int64_t open_interest,
                            int64_t size=0):
        """LIQ-TIER-1/3/4/8: (code, (tier index, initial requirement)) of a position of a
        notional and a size at an open interest."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = checked(initial_margin(&self.e.tables, k, notional, size, open_interest),
                           &out)
        if code != C_OK:
            return code, None
        return code, (tier_slot(&self.e.tables, k, notional, size)
                      - k * self.e.tables.tier_width, out)

    def liquidation_size(self, Py_ssize_t i, Py_ssize_t k):
        """LIQ-EXEC-1: (code, lots one liquidation step of row i in market k may close)."""
        cdef int64_t out = 0
        cdef int code
        with nogil:
            code = size_lots(&self.e, i, k, &out)
        return code, (out if code == C_OK else None)

    def liquidation_fee(self, Py_ssize_t k, int64_t side, int64_t lots, int64_t price,
                        int64_t bankruptcy_num, int64_t bankruptcy_den, int64_t surplus):
        """LIQ-FEE-1: (code, the fee of one step) at the bankruptcy price num / den (den > 0)."""
        cdef int64_t out = 0
        cdef int code
        if bankruptcy_den <= 0:
            return C_ZERO_DIVISION, None
        with nogil:  # m * (price - num / den) = m * (price * den - num) / den
            code = fee_quote(&self.e, k, side, lots, price, self.e.tables.value_per_lot_tick[k],
                             <liq_i128>price * bankruptcy_den - bankruptcy_num, bankruptcy_den,
                             surplus, &out)
        return code, (out if code == C_OK else None)

    def adl_allocation(self, Py_ssize_t i, Py_ssize_t k):
        """LIQ-ADL-2: (code, [(row, lots), ...] in execution order) for row i's position in
        market k, at the engine's seq. Found as deleverage finds it (the ranking index by
        default); when the opposite side holds fewer lots than needed the index answers only
        that, and the scan lists what the reference returns then: everyone, everything, in
        ranking order (as it does for a flat position, whose candidates are the flat traders)."""
        cdef Py_ssize_t count = 0, x
        cdef int code
        cdef uint64_t seq = <uint64_t>self.e.seq
        with nogil:
            if self.e.lots[i * self.e.n_markets + k] == 0:
                code = adl_allocation_scan(&self.e, i, k, seq, &count)
            else:
                code = adl_allocation(&self.e, i, k, seq, &count)
                if code == C_INSUFFICIENT_ADL_LIQUIDITY:
                    code = adl_allocation_scan(&self.e, i, k, seq, &count)
        if code != C_OK:
            return code, None
        return code, [(self.e.scratch_a[x], self.e.scratch_b[x]) for x in range(count)]

    def adl_receive(self, Py_ssize_t i, Py_ssize_t k, int64_t lots, int64_t fund_peak=0):
        """LIQ-ADL-4: (code, quote row i receives for closing ``lots`` of its position in k), at
        the mark where the fund is in drawdown from ``fund_peak`` (LIQ-ADL-5)."""
        cdef liq_i128 out = 0
        cdef int code
        with nogil:
            code = adl_receive(&self.e, i, k, lots, fund_peak, &out)
        return code, (py_i128(out) if code == C_OK else None)

    def socialize_loss(self, Py_ssize_t k, int side, int64_t amount):
        """LIQ-SOCIAL-2: ``amount`` of the recorded bad debt (0: all of it)."""
        cdef Out out
        cdef int code
        with nogil:
            code = socialize_loss(&self.e, k, side, amount, &out.social)
        return receipt(code, OUT_SOCIAL, &out)

    def apply_funding(self, Py_ssize_t k, int64_t rate_ppm):
        cdef Out out
        cdef int code
        out.quote = 0
        with nogil:
            code = apply_funding(&self.e, k, rate_ppm, &out.quote)
        return receipt(code, OUT_RESIDUAL, &out)

    def fund_insurance(self, int64_t amount):
        cdef int code
        with nogil:
            code = transfer(&self.e, H_OUTSIDE, H_INSURANCE_FUND, amount, R_INSURANCE_2)
        return receipt(code, OUT_NONE, NULL)

    def deposit(self, Py_ssize_t i, int64_t amount):
        cdef int code
        with nogil:
            code = deposit(&self.e, i, amount)
        return receipt(code, OUT_NONE, NULL)

    def withdraw(self, Py_ssize_t i, int64_t amount, order):
        """``order``: every row once, in the state's account order (int64, C-contiguous)."""
        cdef const int64_t[::1] rows = order
        cdef int code
        if rows.shape[0] != self.e.n_accounts:
            raise ValueError("withdraw needs every account row in the state's order")
        with nogil:
            code = withdraw(&self.e, i, amount, &rows[0] if self.e.n_accounts else NULL)
        return receipt(code, OUT_NONE, NULL)

    def trade(self, Py_ssize_t buyer, Py_ssize_t seller, Py_ssize_t k, int64_t lots,
              int64_t price):
        cdef Out out
        cdef int code
        out.lots = 0
        with nogil:
            code = trade(&self.e, buyer, seller, k, lots, price, &out.lots)
        return receipt(code, OUT_NOTIONAL, &out)

    def adopt_leverage(self, leverage):
        """Adopt the chosen leverage of every row and market (int64[n, m], 0 where none is
        chosen; LIQ-LEVERAGE-2); without it nobody has chosen one."""
        cdef int64_t[::1] v64
        if leverage.shape != (self.e.n_accounts, self.e.n_markets) or \
                leverage.dtype != np.int64 or \
                not leverage.flags.c_contiguous:
            raise ValueError("the leverage table is int64[accounts, markets], C-contiguous")
        self.leverage = leverage
        v64 = leverage.reshape(-1)
        self.e.leverage = &v64[0] if self.e.n_accounts * self.e.n_markets else NULL

    def set_leverage(self, Py_ssize_t i, Py_ssize_t k, int64_t leverage):
        """LIQ-LEVERAGE-4 (the adapter ran check_set_leverage)."""
        cdef int code
        if self.e.leverage == NULL:
            raise ValueError("set_leverage needs the leverage table (adopt_leverage)")
        with nogil:
            code = set_leverage(&self.e, i, k, leverage)
        return receipt(code, OUT_NONE, NULL)

    def open_account(self, Py_ssize_t i):
        """LIQ-ACCOUNT-1: the glue packed the new account as row ``i`` (no balance, no
        positions, its role and isolation); the operation marks it for the write-back."""
        if self.quote[i] != 0 or self.n_positions[i] != 0:
            raise ValueError("a new account's row must be empty")
        self.e.account_touched[i] = 1
        return C_OK, {}

    # set_mark and replace_book are one operation each with their own seq (as in a cascade):
    # called without begin()
    def set_mark(self, Py_ssize_t k, int64_t price):
        """LIQ-MARK-1."""
        cdef int code
        with nogil:
            code = set_mark(&self.e, k, price)
        return receipt(code, OUT_NONE, NULL)

    def replace_book(self, Py_ssize_t k, int64_t levels, int64_t spacing_ppm,
                     int64_t lots_per_level, Py_ssize_t book_row):
        """LIQ-BOOK-1 for one shape (levels, spacing, lots per level) and book account."""
        cdef int code
        if not 0 < levels <= self.e.book_capacity:
            raise ValueError(f"{levels} levels do not fit the packed books "
                             f"({self.e.book_capacity} levels a side)")
        with nogil:
            code = build_ladder(&self.e, k, levels, spacing_ppm, lots_per_level, book_row)
        return receipt(code, OUT_NONE, NULL)

    # -- the cascade (driven step by step by liqspec.fast.cascade) --------------------------------
    cdef Cas cas_store
    cdef Idx ix_store
    cdef object evs_owner        # the _EventBuffer of the trace cascade_trace returned
    cdef Py_ssize_t n_heaps
    cdef public object cas_arrays

    def cascade_setup(self, cfg_cols, levels, spacing_ppm, lots_per_level, int64_t book_row,
                      int64_t vault_row, int mark_kind, int64_t band_ppm, int64_t step_seconds,
                      order="index", keep_journal=True, int64_t fund_window_s=0,
                      fund_history=()):
        """Adopt a cascade configuration (int64 arrays over the markets). ``order`` is how each
        round's processing order is found: ``index`` (trigger heaps, see the engine's section
        on the processing order at scale), ``scan`` (every account, the reference's way: the
        oracle) or ``verify`` (both, C_ORDER_MISMATCH_CODE on any difference).
        ``keep_journal=False``: the operations' journal records are dropped once they are in
        the trace (``records`` then holds none of the cascade's), for a caller that writes no
        state back. ``fund_window_s``: LIQ-ADL-5's window (the profile's), 0 for none;
        ``fund_history``: the fund's ``(seconds_before, balance)`` samples before the run, oldest
        first (checked by the caller, as the reference's CascadeConfig)."""
        cdef Cas* c = &self.cas_store
        cdef Py_ssize_t n = self.e.n_accounts, m = self.e.n_markets, k
        cdef int64_t[::1] v
        cdef uint8_t[::1] u
        cdef size_t ptr
        arrays = {
            "cfg_cols": np.ascontiguousarray(cfg_cols, dtype=np.int64),
            "index": np.zeros(m, dtype=np.int64), "prev_index": np.zeros(m, dtype=np.int64),
            "levels": np.ascontiguousarray(levels, dtype=np.int64),
            "spacing_ppm": np.ascontiguousarray(spacing_ppm, dtype=np.int64),
            "lots_per_level": np.ascontiguousarray(lots_per_level, dtype=np.int64),
            "lowest": self.marks.copy(), "liquidated": np.zeros(max(n, 1), dtype=np.uint8),
            "due_row": np.zeros(max(n, 1), dtype=np.int64),
            "due_eq": np.zeros(max(n, 1), dtype=np.int64),
            "due_mm": np.zeros(max(n, 1), dtype=np.int64),
            "due_tmp": np.zeros(max(n, 1), dtype=np.int64),
            "order_cols": np.zeros(m, dtype=np.int64), "sides": np.zeros(m, dtype=np.int64),
            # 3m int128 (two int64 each: numpy has no int128; its buffers are 16-byte aligned)
            "noted": np.zeros(6 * m, dtype=np.int64), "last_fill": np.zeros(m, dtype=np.int64)}
        self.cas_arrays = arrays
        c.mark_kind = mark_kind
        c.band_ppm = band_ppm
        c.step_seconds = step_seconds
        c.n_cfg = arrays["cfg_cols"].shape[0]
        for name in ("cfg_cols", "index", "prev_index", "levels", "spacing_ppm",
                     "lots_per_level", "lowest", "due_row", "due_eq", "due_mm", "due_tmp",
                     "order_cols", "sides", "noted", "last_fill"):
            v = arrays[name]
            ptr = <size_t>&v[0] if v.shape[0] else 0
            if name == "cfg_cols": c.cfg_cols = <int64_t*>ptr
            elif name == "index": c.index = <int64_t*>ptr
            elif name == "prev_index": c.prev_index = <int64_t*>ptr
            elif name == "levels": c.levels = <int64_t*>ptr
            elif name == "spacing_ppm": c.spacing_ppm = <int64_t*>ptr
            elif name == "lots_per_level": c.lots_per_level = <int64_t*>ptr
            elif name == "lowest": c.lowest = <int64_t*>ptr
            elif name == "due_row": c.due_row = <int64_t*>ptr
            elif name == "due_eq": c.due_eq = <int64_t*>ptr
            elif name == "due_mm": c.due_mm = <int64_t*>ptr
            elif name == "due_tmp": c.due_tmp = <int64_t*>ptr
            elif name == "order_cols": c.order_cols = <int64_t*>ptr
            elif name == "sides": c.sides = <int64_t*>ptr
            elif name == "noted": c.noted = <liq_i128*>ptr
            else: c.last_fill = <int64_t*>ptr
        u = arrays["liquidated"]
        c.liquidated = &u[0]
        c.has_prev = False
        c.book_row = book_row
        c.vault_row = vault_row
        c.n_liquidated = 0
        c.fills = 0
        c.step = 0
        c.round = 0
        c.rounds = 0
        c.step_notional = c.step_adl = c.step_written_off = 0
        c.adl_notional = c.socialized = 0
        c.evs = NULL
        c.nev = 0
        c.capev = 0
        c.evs_shared = False
        c.keep_journal = bool(keep_journal)
        if fund_window_s < 0:
            raise ValueError("fund_window_s must be >= 0")
        c.fund_window_s = fund_window_s
        free(c.fund_samples)
        c.fund_samples = NULL
        c.fund_head = c.fund_len = c.fund_cap = 0
        c.round_peak = 0
        if fund_window_s > 0:
            for seconds_before, balance in fund_history:
                if fund_sample(c, -<liq_i128>(<int64_t>seconds_before), balance) != C_OK:
                    raise MemoryError("the fund's window could not grow")
        self.e.cascade = c
        self._setup_index(ORDER_MODES[order])

    cdef _setup_index(self, int mode):
        cdef Idx* ix = &self.ix_store
        cdef Py_ssize_t n = self.e.n_accounts, m = self.e.n_markets
        cdef int64_t[::1] v
        cdef uint8_t[::1] u
        cdef int8_t[::1] s8
        if self.e.bound_lots != NULL:
            raise RuntimeError("a cascade is set up once per Engine")
        track = {"dirty": np.zeros(max(n, 1), dtype=np.uint8),
                 "dirty_list": np.zeros(max(n, 1), dtype=np.int64),
                 "gen": np.zeros(max(n, 1), dtype=np.int64),
                 "ekind": np.zeros(max(n, 1), dtype=np.int8),
                 "ekey": np.zeros(max(n, 1), dtype=np.int64),
                 "check_row": np.zeros(max(n, 1), dtype=np.int64),
                 "mono": np.zeros(max(m, 1), dtype=np.uint8)}
        self.cas_arrays.update(track)
        u = track["dirty"]
        self.e.dirty = &u[0]
        v = track["dirty_list"]
        self.e.dirty_list = &v[0]
        v = track["gen"]
        ix.gen = &v[0]
        s8 = track["ekind"]
        ix.ekind = &s8[0]
        v = track["ekey"]
        ix.ekey = &v[0]
        v = track["check_row"]
        ix.check_row = &v[0]
        u = track["mono"]
        ix.mono = &u[0]
        self.e.bound_lots = <liq_i128*>malloc((m + 1) * sizeof(liq_i128))
        self.n_heaps = 2 * m + 1
        ix.heaps = <Heap*>calloc(self.n_heaps, sizeof(Heap))
        if self.e.bound_lots == NULL or ix.heaps == NULL:
            raise MemoryError()
        ix.mode = mode
        ix.built = False
        ix.broken = False
        ix.act = NULL
        ix.act_tmp = NULL
        ix.nact = 0
        ix.capact = 0
        ix.scans = 0
        ix.index_rounds = 0
        ix.examined = 0
        ix.sorted_rounds = 0
        ix.bulk_takes = 0
        ix.appending = False
        ix.bulk_rekeys = 0
        ix.compactions = 0
        self.e.n_dirty = 0
        self.e.clock = 0
        self.e.bound_quote = 0
        self.e.track_changes = True
        self.cas_store.ix = ix
        self.e.adl_mode = {ORDER_INDEX: ADL_INDEX, ORDER_SCAN: ADL_SCAN,
                           ORDER_VERIFY: ADL_VERIFY}[mode]  # deleveraging follows suit

    def cascade_index_stats(self):
        """How the processing orders were found: rounds answered by the index (the end-of-path
        check included, in index mode), full scans (the oracle's rounds and the guard's
        fallback), candidates examined, rounds whose candidates were sorted by row and heaps
        swept by one pass (``heap_take``), re-keys of many rows at once (``rekey_dirty``) and
        heaps rebuilt without their stale entries."""
        cdef Idx* ix = self.cas_store.ix
        if ix == NULL:
            return {}
        return {"index_rounds": ix.index_rounds, "scans": ix.scans, "examined": ix.examined,
                "active": ix.nact, "heaped": sum(ix.heaps[x].size for x in range(self.n_heaps)),
                "sorted_rounds": ix.sorted_rounds, "bulk_takes": ix.bulk_takes,
                "bulk_rekeys": ix.bulk_rekeys, "compactions": ix.compactions}

    def cascade_open_step(self, int64_t step, index):
        """LIQ-CASCADE-4: set this step's index (int64[m]) and open marks and books."""
        cdef Cas* c = self.e.cascade
        cdef int code
        self.cas_arrays["index"][:] = index
        c.step = step
        with nogil:
            code = open_step(&self.e)
        return code

    def cascade_rounds(self):
        """Every round of the step, compiled end to end; a result code."""
        cdef int code
        with nogil:
            code = run_rounds(&self.e)
        return code

    def cascade_round(self):
        """One round: (code, progressed); code NO_DUE (-1) when nobody was due."""
        cdef int code
        cdef bint progressed = False
        with nogil:
            code = run_round(&self.e, &progressed)
        return code, bool(progressed)

    def cascade_end_step(self):
        """The step's record values; the index becomes the previous index."""
        cdef Cas* c = self.e.cascade
        self.cas_arrays["prev_index"][:] = self.cas_arrays["index"]
        c.has_prev = True
        return (c.rounds, py_i128(c.step_notional), py_i128(c.step_adl),
                py_i128(c.step_written_off))

    def cascade_unresolved(self):
        """The traders still liquidatable at the end: 'unresolved' events at round 0."""
        cdef Cas* c = self.e.cascade
        cdef Py_ssize_t count = 0, x
        cdef int code
        c.round = 0
        with nogil:
            code = processing_order(&self.e, &count)
            if code == C_OK:
                for x in range(count):
                    code = event(&self.e, EV_UNRESOLVED, c.due_row[x], -1, 0, 0, False, 0,
                                 R_CASCADE_2, DETAIL_UNRESOLVED, 0, 0)
                    if code != C_OK:
                        break
        return code, count

    def cascade_totals(self):
        cdef Cas* c = self.e.cascade
        return {"accounts_liquidated": c.n_liquidated, "liquidation_fills": c.fills,
                "adl_notional_quote": py_i128(c.adl_notional),
                "socialized_quote": py_i128(c.socialized),
                "lowest": self.cas_arrays["lowest"].tolist()}

    def cascade_events(self):
        """The trace as tuples: (step, round, kind, account, market, lots, price|None, quote,
        rule, detail, detail_party, detail_destination); account EV_NONE is None, market -1 is
        None."""
        cdef Cas* c = self.e.cascade
        cdef Py_ssize_t j
        cdef Ev* ev
        out = []
        for j in range(c.nev):
            ev = &c.evs[j]
            out.append((ev.step, ev.round, ev.kind, None if ev.account == EV_NONE else ev.account,
                        None if ev.market < 0 else ev.market, ev.lots,
                        ev.price if ev.has_price else None, ev.quote, ev.rule, ev.detail,
                        ev.detail_party, ev.detail_destination))
        return out

    def cascade_trace(self):
        """The trace as int64 columns (no Python object per event): step, round, kind, account
        (EV_NONE_VALUE for None), market (-1 for None), lots, price, has_price, quote, rule,
        detail, detail_party, detail_destination. Read-only views of the engine's event buffer,
        which they keep (no copy: at 10^6 accounts a copy is a few hundred MB of fresh memory);
        events added after this call go to a new buffer and leave these columns as they are."""
        cdef Cas* c = self.e.cascade
        cdef cnp.npy_intp dims[2]
        cdef _EventBuffer owner
        cols = ("step", "round", "kind", "account", "market", "lots", "price", "has_price",
                "quote", "rule", "detail", "detail_party", "detail_destination")
        assert sizeof(Ev) == len(cols) * sizeof(int64_t)
        if c == NULL or c.nev == 0:
            return {name: np.zeros(0, dtype=np.int64) for name in cols}
        if not c.evs_shared:
            owner = _EventBuffer()
            owner.data = c.evs
            self.evs_owner = owner
            c.evs_shared = True
        dims[0] = c.nev
        dims[1] = len(cols)
        table = cnp.PyArray_SimpleNewFromData(2, dims, cnp.NPY_INT64, <void*>c.evs)
        cnp.set_array_base(table, self.evs_owner)
        table.flags.writeable = False
        return {name: table[:, j] for j, name in enumerate(cols)}

    def clear_touched(self):
        """After a write-back: start tracking changes afresh."""
        self.touched[:] = 0
        self.account_touched[:] = 0
        self.book_touched[:] = 0
