# The Tables struct (fast/_rules.pxd) over a MarketTables' arrays: one class, included by both
# extensions (the kernels and the engine), so the struct is filled field for field in one place.

cdef class _TableView:
    """Keeps the memoryviews of a MarketTables alive while its pointers (``Tables``, in
    fast/_rules.pxd) are in use."""
    cdef const int64_t[::1] value_per_lot_tick, n_tiers, min_maint_margin_quote, rate_scale
    cdef const int64_t[::1] oi_lower_cap_quote, oi_upper_cap_quote
    cdef const int64_t[:, ::1] tier_floor_quote, maint_margin_ppm, maint_deduction_quote
    cdef const int64_t[:, ::1] init_margin_ppm, init_deduction_quote, tier_floor_lots
    cdef const uint8_t[::1] has_oi_scaling, tier_by_size
    cdef Tables t

    def __cinit__(self, tables):
        self.value_per_lot_tick = tables.value_per_lot_tick
        self.n_tiers = tables.n_tiers
        self.tier_floor_quote = tables.tier_floor_quote
        self.maint_margin_ppm = tables.maint_margin_ppm
        self.maint_deduction_quote = tables.maint_deduction_quote
        self.init_margin_ppm = tables.init_margin_ppm
        self.init_deduction_quote = tables.init_deduction_quote
        self.min_maint_margin_quote = tables.min_maint_margin_quote
        self.rate_scale = tables.rate_scale
        self.oi_lower_cap_quote = tables.oi_lower_cap_quote
        self.oi_upper_cap_quote = tables.oi_upper_cap_quote
        self.has_oi_scaling = tables.has_oi_scaling
        self.tier_floor_lots = tables.tier_floor_lots
        self.tier_by_size = tables.tier_by_size
        self.t.n_markets = self.value_per_lot_tick.shape[0]
        self.t.tier_width = self.tier_floor_quote.shape[1]
        self.t.value_per_lot_tick = &self.value_per_lot_tick[0]
        self.t.n_tiers = &self.n_tiers[0]
        self.t.tier_floor_quote = &self.tier_floor_quote[0, 0]
        self.t.maint_margin_ppm = &self.maint_margin_ppm[0, 0]
        self.t.maint_deduction_quote = &self.maint_deduction_quote[0, 0]
        self.t.init_margin_ppm = &self.init_margin_ppm[0, 0]
        self.t.init_deduction_quote = &self.init_deduction_quote[0, 0]
        self.t.min_maint_margin_quote = &self.min_maint_margin_quote[0]
        self.t.rate_scale = &self.rate_scale[0]
        self.t.oi_lower_cap_quote = &self.oi_lower_cap_quote[0]
        self.t.oi_upper_cap_quote = &self.oi_upper_cap_quote[0]
        self.t.has_oi_scaling = &self.has_oi_scaling[0]
        self.t.tier_floor_lots = &self.tier_floor_lots[0, 0]
        self.t.tier_by_size = &self.tier_by_size[0]
        self.t.trigger_slack = tables.trigger_slack_quote
