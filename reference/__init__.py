"""liqspec.reference: the readable, exact, pure-Python model of margin and liquidation.

One function per rule, each tagged with its rule ID (see :mod:`.rules`); integers only; every
operation atomic with a named result code (:mod:`.errors`); every quote movement a journaled
transfer between named holders (:mod:`.ledger`).
"""

from .arithmetic import INT64_MAX, INT64_MIN, PPM, checked, div_ceil, div_floor
from .book import market_liquidate
from .cascade import FundWindow, run_cascade
from .collateral import deposit, open_account, withdraw, withdrawals_gated
from .deleveraging import adl_allocation, adl_receive_quote, deleverage, fund_in_drawdown
from .errors import (DomainError, InexactDecimal, InvalidAmount, InvalidLeverage, InvalidPrice,
                     InvalidRate, InvalidSize, LiqspecError, MalformedState, NotAnInteger,
                     Overflow, Rejection, ResultCode, UnknownAccount, UnknownMarket)
from .funding import apply_funding, funding_owed_quote
from .insurance import fund_insurance
from .invariants import all_violations
from .journal import Fill, Transfer
from .ledger import open_at_entry
from .leverage import (MAX_LEVERAGE, open_account_at, open_isolated_at_leverage,
                       posted_margin_quote, set_leverage, tier_max_leverage)
from .liquidation import (backstop_liquidate, insurance_fund_delta_quote, is_below_backstop,
                          is_liquidatable, liquidate, liquidation_fee_quote, liquidation_size_lots)
from .margin import (account_initial_margin_quote, account_maintenance_margin_quote,
                     checked_initial_quote, equity_quote, free_collateral_quote,
                     initial_margin_at_leverage_quote, initial_margin_quote, maintenance_at_entry,
                     maintenance_margin_quote,
                     maintenance_notional_quote, notional_quote, open_interest_quote,
                     position_maintenance_margin_quote, position_value_quote, tier_for,
                     trigger_equity_quote, unrealized_pnl_quote)
from .marks import MarkKind, MarkRule, set_mark
from .prices import Threshold, bankruptcy_price, bankruptcy_value_quote, liquidation_price
from .profile import (AdlPrice, AdlRanking, BadDebtPolicy, DisplayRounding, FeePolicy,
                      LiquidationSize, MaintenanceBasis, Market, OpenInterestScaling, Profile, Tier,
                      TierBasis, Trigger)
from .profiles import PROFILES, get_profile, profile_summary
from .receipts import Receipt
from .rules import REGISTRY, implements
from .share_liquidation import (SharePlan, liquidation_share, share_liquidate,
                                share_penalty_quote)
from .shortage import (ShortageRates, cover_shortage_lots, fund_fee_quote, liquidator_fee_quote,
                       margin_shortage_quote, shortage_rates)
from .socialization import socialize_loss
from .state import (BACKSTOP, FEE_SINK, FUNDING_POOL, HOLDERS, INSURANCE_FUND, OUTSIDE,
                    SOCIALIZED_LOSS, TRADER, Account, State, new_state)
from .trading import trade
from .units import from_units, quote_per_lot_tick, to_units

__all__ = [name for name in dir() if not name.startswith("_")]
