"""Explain accounts: every number of their margin and liquidation state, with the rule behind it.

:func:`explain_state` returns plain data (dicts, lists, ints, strings: ready for ``json.dumps``)
and :func:`render_text` renders that data as aligned text; the ``liqspec explain`` command prints
one or the other. Every number is a record::

    {"value": 183000000, "unit": "quote quantum", "human": "183.00", "rules": ["LIQ-TIER-5"]}

``value`` is the exact integer in the venue's units (quote quantums, lots, ticks, ppm), ``human``
its exact decimal rendering (LIQ-UNIT-2), and ``rules`` the rule IDs of the reference functions
that computed it, read from the functions themselves (``@implements``) so they cannot drift. A
rational number carries ``exact`` (numerator and denominator) instead of or beside ``value``: a
liquidation or bankruptcy price (whose ``value`` is its tick rounding, LIQ-PRICE-3) and an
average entry price. The margin ratio is ``numerator`` (maintenance) over ``denominator``
(equity), with ``percent`` rounded up, or None when equity is not positive.

Nothing here decides state: every amount comes from the reference functions; this module only
gathers, checks that the totals agree with the per-position figures, and renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from liqspec.reference.arithmetic import div_ceil
from liqspec.reference.errors import UnknownAccount
from liqspec.reference.inverse import (VenueThreshold, display_venue_price, face_numerator,
                                       order_tick_price, venue_lots, venue_threshold)
from liqspec.reference.ledger import fill, transfer
from liqspec.reference.leverage import tier_max_leverage
from liqspec.reference.profiles import tier_deduction_text, tier_rate_text
from liqspec.reference.liquidation import (is_below_backstop, is_liquidatable,
                                          liquidation_size_lots, past_at_first_tier)
from liqspec.reference.margin import (account_initial_margin_quote,
                                      account_maintenance_margin_quote, checked_initial_quote,
                                      equity_quote, free_collateral_quote,
                                      initial_margin_at_leverage_quote,
                                      initial_margin_quote,
                                      maintenance_margin_quote, notional_quote,
                                      oi_scaled_initial_margin_ppm, open_interest_quote,
                                      position_maintenance_margin_quote, position_value_quote,
                                      tier_for, unrealized_pnl_quote)
from liqspec.reference.marks import set_mark
from liqspec.reference.prices import (Threshold, bankruptcy_price, display_price, liquidation_price,
                                      round_toward_venue)
from liqspec.reference.profile import (LiquidationSize, Market, MarketKind, Profile, TierBasis,
                                       Trigger)
from liqspec.reference.share_liquidation import liquidation_share
from liqspec.reference.shortage import margin_shortage_quote
from liqspec.reference.state import TRADER, Account, State
from liqspec.reference.units import from_units

#: an account's status; _status checks them worst first: bankrupt, below backstop, liquidatable
STATUS_HEALTHY = "healthy"
STATUS_LIQUIDATABLE = "liquidatable"
STATUS_BELOW_BACKSTOP = "below backstop"
STATUS_BANKRUPT = "bankrupt"

#: digits shown after the point for a non-terminating exact price (display only)
EXACT_DIGITS = 12


def for_venue(rules: list[str], profile: Profile) -> list[str]:
    """``rules`` as they apply at ``profile``: LIQ-TRIGGER-3 only where the venue liquidates at
    equality (elsewhere its functions read as LIQ-TRIGGER-1's strict trigger)."""
    if profile.trigger == Trigger.AT_OR_BELOW:
        return rules
    return [rule_id for rule_id in rules if rule_id != "LIQ-TRIGGER-3"]


def rules_of(*functions: Callable) -> list[str]:
    """The rule IDs the reference functions implement, in order, without repeats."""
    found: list[str] = []
    for function in functions:
        for rule_id in getattr(function, "__rule_ids__", ()):
            if rule_id not in found:
                found.append(rule_id)
    assert found, f"no rule ID on {functions}"
    return found


# Which reference function produces each number: the single place this module names rules.
RULES_QUOTE_BALANCE = rules_of(transfer)  # quote moves only by journaled transfers
RULES_POSITION = rules_of(fill)  # base moves only by fills
RULES_MARK = rules_of(set_mark)
#: wallet = quote balance + cost basis, and entry price = cost basis / size: the cost basis is kept
#: by the ledger's private _move_base, so its rule is named here rather than read from it
RULES_COST_BASIS = ["LIQ-MARGIN-4"]
RULES_VALUE = rules_of(position_value_quote)
RULES_NOTIONAL = rules_of(notional_quote)
RULES_PNL = rules_of(unrealized_pnl_quote)
RULES_EQUITY = rules_of(equity_quote)
RULES_TIER = rules_of(tier_for)
RULES_MAINTENANCE = rules_of(maintenance_margin_quote, position_maintenance_margin_quote)
RULES_INITIAL = rules_of(initial_margin_quote)
RULES_INITIAL_OI = rules_of(initial_margin_quote, oi_scaled_initial_margin_ppm)
RULES_LEVERAGE = rules_of(tier_max_leverage)
RULES_INITIAL_LEVERAGE = rules_of(initial_margin_at_leverage_quote)
RULES_ACCOUNT_MAINTENANCE = rules_of(account_maintenance_margin_quote)
RULES_ACCOUNT_INITIAL = rules_of(account_initial_margin_quote)
RULES_FREE = rules_of(free_collateral_quote, checked_initial_quote)
RULES_TRIGGER = rules_of(is_liquidatable)
RULES_BACKSTOP = rules_of(is_below_backstop)
RULES_SHARE = rules_of(liquidation_share)
RULES_SHORTAGE = rules_of(margin_shortage_quote)
RULES_STEP = rules_of(liquidation_size_lots)
RULES_TWO_TIER_STEP = rules_of(liquidation_size_lots, past_at_first_tier)
RULES_LIQUIDATION_PRICE = rules_of(liquidation_price, round_toward_venue)
RULES_BANKRUPTCY_PRICE = rules_of(bankruptcy_price, round_toward_venue)
RULES_BANKRUPT = rules_of(equity_quote, bankruptcy_price)
RULES_DISPLAY = rules_of(display_price)


# -- records ------------------------------------------------------------------------------------

def _pad(text: str, places: int) -> str:
    """Pad a decimal string's fraction with zeros to at least ``places`` digits."""
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(places, '0')}" if places or frac else whole


def _quote_human(units: int, decimals: int) -> str:
    """Exact decimal, with at least two places for readability (``200.00``, ``0.000125``)."""
    return _pad(from_units(units, decimals), min(2, decimals))


def _price_human(ticks: int, price_decimals: int) -> str:
    """Exact decimal with every place of the tick (``60000.0``, ``3000.00``)."""
    return _pad(from_units(ticks, price_decimals), price_decimals)


def _fraction_human(value: Fraction, decimals: int) -> str:
    """A rational number of ``10**-decimals`` units as a decimal: exact when it terminates (with
    at least ``decimals`` places, like a price), else truncated after :data:`EXACT_DIGITS` places
    and marked with an ellipsis (display only; the record's ``exact`` field is the value)."""
    scaled = value / 10**decimals
    rest, twos, fives = scaled.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest == 1:  # terminates after max(twos, fives) places: print it whole
        places = max(twos, fives, decimals)
        return _pad(from_units(int(scaled * 10**places), places), decimals)
    truncated = int(scaled * 10**EXACT_DIGITS)  # int() truncates toward zero
    return _pad(from_units(truncated, EXACT_DIGITS), EXACT_DIGITS) + "…"


def _quote(units: int, decimals: int, rules: list[str]) -> dict:
    return {"value": units, "unit": "quote quantum", "human": _quote_human(units, decimals),
            "rules": list(rules)}


def _price(ticks: int, market: Market, rules: list[str]) -> dict:
    return {"value": ticks, "unit": "tick", "human": _price_human(ticks, market.price_decimals),
            "rules": list(rules)}


def _exact(value: Fraction) -> dict:
    return {"numerator": value.numerator, "denominator": value.denominator}


def _deduction(scaled: int, market: Market, decimals: int) -> dict:
    """A tier deduction in quote quantums / rate_scale (LIQ-TIER-7), exact."""
    if market.rate_scale == 1:
        return _quote(scaled, decimals, RULES_TIER)
    human = tier_deduction_text(scaled, market.rate_scale,
                                lambda quantums: _quote_human(quantums, decimals))
    return {"value": scaled, "unit": f"quote quantum / {market.rate_scale}", "human": human,
            "rules": list(RULES_TIER)}


def _threshold(threshold: Threshold, market: Market, profile: Profile, rules: list[str],
               kind: str) -> dict:
    """A liquidation or bankruptcy price: ticks rounded toward the venue, the exact value, and
    the value as the venue displays it."""
    record = _price(threshold.ticks, market, rules)
    record["exact"] = _exact(threshold.exact)
    record["exact_human"] = _fraction_human(threshold.exact, market.price_decimals)
    record["venue_display"] = display_price(threshold.exact, market, profile)
    record["venue_display_rules"] = list(RULES_DISPLAY)
    long = threshold.side > 0
    if threshold.ticks == 0:
        record["human"] = "none"
        # prices.py: a long with no positive root is never reached; a short with none is
        # already past it at every positive mark.
        record["meaning"] = (f"no positive mark reaches the {kind} price" if long
                             else f"every positive mark is past the {kind} price")
    else:
        op = "<" if long else ">"
        record["meaning"] = f"{kind} when mark {op} {record['human']}"
    return record


# -- explaining ---------------------------------------------------------------------------------

def _position(state: State, account: Account, market_id: str, quote_decimals: int,
              open_interest: Mapping[str, int]) -> dict:
    market = state.market(market_id)
    lots = account.position(market_id)
    mark = state.marks[market_id]
    liquidation = liquidation_price(account, market_id, state.marks, state.profile)
    bankruptcy = bankruptcy_price(account, market_id, state.marks, state.profile)
    notional = notional_quote(lots, mark, market)
    tier = tier_for(market, notional, lots)
    tier_number = market.tiers.index(tier) + 1
    cost = account.cost_quote.get(market_id, 0)
    # Average entry price in ticks: cost basis / (lots * value per lot-tick), exact (display only).
    entry = Fraction(cost, lots * market.value_per_lot_tick)
    if market.oi_scaling is None:
        initial_rules, initial_rate = RULES_INITIAL, tier.init_margin_ppm
    else:
        initial_rules = RULES_INITIAL_OI
        initial_rate = oi_scaled_initial_margin_ppm(market, tier, open_interest[market_id])
    chosen = account.leverage.get(market_id)
    if chosen is not None:
        initial_rules = RULES_INITIAL_LEVERAGE + [r for r in initial_rules
                                                  if r not in RULES_INITIAL_LEVERAGE]
    maximum = tier_max_leverage(market, tier)
    leverage = {"value": chosen, "unit": "x", "tier_max": maximum, "rules": RULES_LEVERAGE,
                "human": (f"{chosen}x" if chosen is not None else "none chosen")}
    return {
        "market": market_id,
        "side": "long" if lots > 0 else "short",
        "size": {"value": lots, "unit": "lot",
                 "human": from_units(lots, market.base_decimals), "rules": RULES_POSITION},
        "mark": _price(mark, market, RULES_MARK),
        "entry_price": {"exact": _exact(entry), "unit": "tick",
                        "human": _fraction_human(entry, market.price_decimals),
                        "rules": RULES_COST_BASIS},
        "cost_basis": _quote(cost, quote_decimals, RULES_COST_BASIS),
        "value": _quote(position_value_quote(lots, mark, market), quote_decimals, RULES_VALUE),
        "notional": _quote(notional, quote_decimals, RULES_NOTIONAL),
        "unrealized_pnl": _quote(unrealized_pnl_quote(account, market_id, mark, market),
                                 quote_decimals, RULES_PNL),
        "tier": {"value": tier_number, "unit": "tier",
                 "human": f"{tier_number} of {len(market.tiers)}", "rules": RULES_TIER,
                 "floor_notional": _quote(tier.floor_notional_quote, quote_decimals, RULES_TIER),
                 # LIQ-TIER-8: what the tier is keyed by, and its floor in lots where by size
                 "basis": market.tier_basis,
                 **({"floor_size": {"value": tier.floor_lots, "unit": "lot",
                                    "human": from_units(tier.floor_lots, market.base_decimals),
                                    "rules": RULES_TIER}}
                    if market.tier_basis == TierBasis.SIZE else {}),
                 "rate_scale": market.rate_scale,
                 "maint_margin_ppm": tier.maint_margin_ppm,
                 "maint_deduction": _deduction(tier.maint_deduction_quote, market, quote_decimals),
                 "init_margin_ppm": initial_rate,
                 "init_deduction": _deduction(tier.init_deduction_quote, market, quote_decimals)},
        "leverage": leverage,
        # on the profile's basis (LIQ-TIER-6): the notional at the mark, or the entry value
        "maintenance_margin": _quote(position_maintenance_margin_quote(
            account, market_id, state.marks, state.profile), quote_decimals, RULES_MAINTENANCE),
        "initial_margin": _quote(initial_margin_at_leverage_quote(
            market, notional, chosen, open_interest[market_id], lots), quote_decimals,
            initial_rules),
        "liquidation_price": _threshold(liquidation, market, state.profile,
                                        for_venue(RULES_LIQUIDATION_PRICE, state.profile),
                                        "liquidatable"),
        "bankruptcy_price": _threshold(bankruptcy, market, state.profile, RULES_BANKRUPTCY_PRICE,
                                       "bankrupt"),
        **({"venue": _venue_terms(state, account, market_id, liquidation, bankruptcy)}
           if market.kind == MarketKind.INVERSE else {}),
    }


def _venue_threshold_text(profile: Profile, market_id: str, venue: VenueThreshold) -> str:
    """A venue threshold's display: a root of 0 has no finite price, and then a contract long
    is past it at every price, a contract short at none (LIQ-INVERSE-3)."""
    if venue.exact is not None:
        return display_venue_price(profile, market_id, venue.exact)
    return "none (past at every price)" if venue.ticks is not None else "none"


def _venue_terms(state: State, account: Account, market_id: str, liquidation: Threshold,
                 bankruptcy: Threshold) -> dict:
    """An inverse position in the venue's terms (LIQ-INVERSE-1, LIQ-INVERSE-3): its side and
    lots in contracts, the venue price the mark stands for, and the model's ``liquidation`` and
    ``bankruptcy`` thresholds as venue prices (exact, displayed, and the tick at which the
    trigger flips)."""
    profile, lots = state.profile, account.position(market_id)
    numerator = face_numerator(profile, market_id)
    record: dict = {"side": "long" if venue_lots(lots) > 0 else "short",
                    "size": {"value": venue_lots(lots), "unit": "lot",
                             "rules": rules_of(venue_lots)},
                    "mark": display_venue_price(profile, market_id,
                                                Fraction(numerator, state.marks[market_id])),
                    "rules": rules_of(venue_threshold)}
    for key, threshold in (("liquidation_price", liquidation), ("bankruptcy_price", bankruptcy)):
        venue = venue_threshold(profile, threshold)
        printed = order_tick_price(profile, venue)
        record[key] = {"display": _venue_threshold_text(profile, market_id, venue),
                       "at_order_tick": (None if printed is None else
                                         display_venue_price(profile, market_id,
                                                             Fraction(printed))),
                       "ticks": venue.ticks,
                       "past": (None if venue.ticks is None else
                                f"price {'<' if venue.side > 0 else '>'} "
                                + from_units(venue.ticks, profile.market(
                                    market_id).venue_price_decimals))}
    return record


def _status(state: State, account: Account, equity: int, maintenance: int,
            quote_decimals: int) -> dict:
    """The account's worst state, checked in order: bankrupt, below backstop, liquidatable."""
    def q(units: int) -> str:
        return _quote_human(units, quote_decimals)

    if equity < 0:
        return {"value": STATUS_BANKRUPT, "rules": RULES_BANKRUPT,
                "reason": f"equity {q(equity)} < 0: every position is past its bankruptcy price"}
    if is_below_backstop(account, state):
        num, den = state.profile.backstop_ratio  # type: ignore[misc]
        return {"value": STATUS_BELOW_BACKSTOP, "rules": RULES_BACKSTOP,
                "reason": f"equity {q(equity)} < {num}/{den} of maintenance {q(maintenance)}"}
    at_or_below = state.profile.trigger == Trigger.AT_OR_BELOW  # LIQ-TRIGGER-3
    if is_liquidatable(account, state):
        return {"value": STATUS_LIQUIDATABLE, "rules": for_venue(RULES_TRIGGER, state.profile),
                "reason": f"equity {q(equity)} {'<=' if at_or_below else '<'} maintenance "
                          f"{q(maintenance)}"}
    reason = ("no position: nothing to maintain" if maintenance == 0
              else f"equity {q(equity)} {'>' if at_or_below else '>='} maintenance "
                   f"{q(maintenance)}")
    return {"value": STATUS_HEALTHY, "rules": for_venue(RULES_TRIGGER, state.profile),
            "reason": reason}


def _margin_ratio(maintenance: int, equity: int, profile: Profile) -> dict:
    """Maintenance / equity (Binance's "margin ratio"): liquidatable exactly when it is above
    100% (LIQ-TRIGGER-1), or at or above it under the ``at_or_below`` trigger (LIQ-TRIGGER-3).
    The percent shown rounds up, toward the venue, so a ratio just over 100% never reads as
    100.00%."""
    record: dict = {"numerator": maintenance, "denominator": equity, "unit": "ratio",
                    "rules": for_venue(RULES_TRIGGER, profile)}
    if equity <= 0:
        record.update(percent=None, human="n/a (equity <= 0)")
    else:
        hundredths = div_ceil(maintenance * 10_000, equity)  # percent with two places, rounded up
        percent = _quote_human(hundredths, 2)
        record.update(percent=percent, human=percent + "%")
    return record


def explain_account(state: State, account: Account, *, description: str = "") -> dict:
    """Every number of one account's margin and liquidation state, with its rule IDs."""
    profile = state.profile
    quote_decimals = profile.quote_decimals
    markets = sorted(account.positions)
    open_interest = {m: open_interest_quote(state, m) for m in markets}
    positions = [_position(state, account, m, quote_decimals, open_interest) for m in markets]

    equity = equity_quote(account, state.marks, profile)
    maintenance = account_maintenance_margin_quote(account, state.marks, profile)
    initial = account_initial_margin_quote(account, state.marks, profile, open_interest)
    pnl = sum(p["unrealized_pnl"]["value"] for p in positions)
    wallet = account.quote + sum(account.cost_quote.get(m, 0) for m in markets)
    # The totals come from the reference's account-level functions; the per-position figures
    # must add up to them, and the two forms of equity must agree (a bug here would be silent).
    assert maintenance == sum(p["maintenance_margin"]["value"] for p in positions)
    assert initial == sum(p["initial_margin"]["value"] for p in positions)
    assert equity == wallet + pnl == account.quote + sum(p["value"]["value"] for p in positions)

    any_oi = any(profile.markets[m].oi_scaling is not None for m in markets)
    status = _status(state, account, equity, maintenance, quote_decimals)
    if account.role != TRADER:
        status["reason"] += f"; {account.role} role: no liquidation rule applies to it"
    report: dict[str, Any] = {
        "id": account.account_id,
        "role": account.role,
        "margin_mode": "cross" if account.isolated_market is None else "isolated",
        "isolated_market": account.isolated_market,
        "description": description,
        "status": status,
        "wallet": _quote(wallet, quote_decimals, RULES_COST_BASIS),
        "quote_balance": _quote(account.quote, quote_decimals, RULES_QUOTE_BALANCE),
        "unrealized_pnl": _quote(pnl, quote_decimals, RULES_PNL),
        "equity": _quote(equity, quote_decimals, RULES_EQUITY),
        "maintenance_margin": _quote(maintenance, quote_decimals, RULES_ACCOUNT_MAINTENANCE),
        "initial_margin": _quote(initial, quote_decimals,
                                 RULES_ACCOUNT_INITIAL + (RULES_INITIAL_OI[1:] if any_oi else [])),
        "free_collateral": _quote(free_collateral_quote(state, account), quote_decimals,
                                  for_venue(RULES_FREE, state.profile)),
        "margin_ratio": _margin_ratio(maintenance, equity, state.profile),
        "leverage": {"value": dict(sorted(account.leverage.items())), "unit": "x",
                     "rules": RULES_LEVERAGE},
        "positions": positions,
    }
    if profile.backstop_ratio is not None:
        num, den = profile.backstop_ratio
        # Below the backstop iff equity < num/den * MM; for an integer equity that is exactly
        # equity < ceil(num * MM / den), so the rounded-up threshold decides the same way.
        report["backstop_threshold"] = _quote(div_ceil(num * maintenance, den), quote_decimals,
                                              RULES_BACKSTOP)
        report["backstop_threshold"]["ratio"] = [num, den]
    # the liquidation rules apply to a liquidatable trader (LIQ-TRIGGER-1); decided once here
    in_liquidation = account.role == TRADER and is_liquidatable(account, state)
    if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE and in_liquidation:
        plan = liquidation_share(account, state)
        record = _quote(plan.penalty_quote, quote_decimals, RULES_SHARE)
        record.update(share_ppm=plan.share_ppm, human_share=_quote_human(plan.share_ppm, 4) + "%",
                      maintenance_after=plan.maintenance_after_quote,
                      equity_after=plan.equity_after_quote)
        report["liquidation_share"] = record
    if profile.liquidation_size != LiquidationSize.ACCOUNT_SHARE and in_liquidation:
        # what one liquidation step of each position closes now (LIQ-EXEC-1, LIQ-EXEC-3)
        rules = (RULES_TWO_TIER_STEP if profile.liquidation_size == LiquidationSize.TWO_TIER_STEP
                 else RULES_STEP)
        for position in positions:
            market = profile.markets[position["market"]]
            lots = liquidation_size_lots(account, position["market"], state)
            position["liquidation_step"] = {"value": lots, "unit": "lot",
                                            "human": from_units(lots, market.base_decimals),
                                            "rules": rules}
    if profile.liquidation_size == LiquidationSize.COVER_SHORTAGE and in_liquidation:
        record = _quote(margin_shortage_quote(account, state), quote_decimals, RULES_SHORTAGE)
        record["buffer_ppm"] = profile.liquidation_buffer_ppm
        report["margin_shortage"] = record
    return report


def explain_state(state: State, account_id: str | None = None, *, quote_asset: str = "quote",
                  description: str = "",
                  account_descriptions: Mapping[str, str] | None = None) -> dict:
    """Explain one account, or every trader account, of ``state``.

    Accounts with the backstop role (a liquidator vault, or the loader's opening counterparty)
    are not margin-checked by any rule, so they are listed under ``not_shown`` rather than
    explained, unless named with ``account_id``.
    """
    profile = state.profile
    descriptions = account_descriptions or {}
    if account_id is not None:
        if account_id not in state.accounts:
            known = ", ".join(state.accounts) or "none"
            raise UnknownAccount(f"unknown account {account_id!r} (accounts: {known})")
        chosen = [state.accounts[account_id]]
        not_shown: list[str] = []
    else:
        chosen = [a for a in state.accounts.values() if a.role == TRADER]
        not_shown = [a.account_id for a in state.accounts.values() if a.role != TRADER]
    return {
        "venue": {
            "name": profile.name,
            "description": description or profile.description,
            "quote_asset": quote_asset,
            "quote_decimals": profile.quote_decimals,
            "liquidation_size": profile.liquidation_size,
            "fee_policy": profile.fee_policy,
            "maintenance_basis": profile.maintenance_basis,
            "trigger": profile.trigger,
            "backstop_ratio": list(profile.backstop_ratio) if profile.backstop_ratio else None,
            "bad_debt_policy": profile.bad_debt_policy,
        },
        "marks": {m: _price(state.marks[m], profile.markets[m], RULES_MARK)
                  for m in profile.markets},
        "insurance_fund": _quote(state.holders["insurance_fund"], profile.quote_decimals,
                                 RULES_QUOTE_BALANCE),
        "accounts": [explain_account(state, a, description=descriptions.get(a.account_id, ""))
                     for a in chosen],
        "not_shown": not_shown,
    }


def explain_loaded(loaded, account_id: str | None = None) -> dict:
    """Explain a :class:`liqspec.statefile.LoadedState`."""
    return explain_state(loaded.state, account_id, quote_asset=loaded.quote_asset,
                         description=loaded.description,
                         account_descriptions=loaded.account_descriptions)


# -- text ---------------------------------------------------------------------------------------

def _rules_text(record: dict) -> str:
    return "[" + ", ".join(record["rules"]) + "]"


def render_text(report: dict) -> str:
    """Aligned, readable text: one block per account, one line per number, its rules on the
    right. The numbers are the report's ``human`` strings, so text and JSON cannot disagree."""
    venue = report["venue"]
    asset = venue["quote_asset"]
    # a table row (indented label, value, unit, rules, note), or a line of text as it is
    rows: list[tuple[str, str, str, str, str] | str] = []

    def row(label: str, record: dict, unit: str = "", note: str = "", indent: int = 2) -> None:
        rows.append((" " * indent + label, record["human"], unit, _rules_text(record), note))

    policies = [f"{venue['liquidation_size']} liquidation", f"{venue['fee_policy']} fee"]
    if venue["maintenance_basis"] != "mark":
        policies.append(f"isolated maintenance at {venue['maintenance_basis']}")
    if venue["trigger"] == Trigger.AT_OR_BELOW:
        policies.append("liquidated at or below maintenance")
    if venue["backstop_ratio"]:
        num, den = venue["backstop_ratio"]
        policies.append(f"backstop below {num}/{den} of maintenance")
    policies.append(f"bad debt by {venue['bad_debt_policy']}")
    rows.append(f"venue {venue['name']}: amounts in {asset} ({venue['quote_decimals']} "
                f"decimals); " + ", ".join(policies))
    for market_id, mark in report["marks"].items():
        row(f"mark {market_id}", mark, asset)
    row("insurance fund", report["insurance_fund"], asset)

    for account in report["accounts"]:
        mode = (f"isolated {account['isolated_market']}" if account["isolated_market"]
                else "cross margin")
        role = "" if account["role"] == TRADER else f", {account['role']} role"
        status = account["status"]
        rows.append("")
        rows.append(f"account {account['id']} ({mode}{role}): {status['value'].upper()}")
        if account["description"]:
            rows.append(f"  {account['description']}")
        rows.append(("  status", status["value"], "", _rules_text(status), status["reason"]))
        row("wallet balance", account["wallet"], asset, "quote balance + entry costs")
        row("quote balance", account["quote_balance"], asset, "after paying for positions")
        row("unrealized PnL", account["unrealized_pnl"], asset)
        row("equity", account["equity"], asset, "wallet + unrealized PnL")
        row("maintenance margin", account["maintenance_margin"], asset)
        row("initial margin", account["initial_margin"], asset)
        row("free collateral", account["free_collateral"], asset, "equity - initial margin")
        row("margin ratio", account["margin_ratio"], "",
            "maintenance / equity; liquidatable "
            + ("at or above 100%" if venue["trigger"] == Trigger.AT_OR_BELOW
               else "above 100%"))
        if "liquidation_share" in account:
            share = account["liquidation_share"]
            row("liquidation share", share, asset,
                f"penalty of a {share['human_share']} share of every position, taken by the "
                f"fund at the marks; after it maintenance "
                f"{_quote_human(share['maintenance_after'], venue['quote_decimals'])} / equity "
                f"{_quote_human(share['equity_after'], venue['quote_decimals'])}")
        if "margin_shortage" in account:
            row("margin shortage", account["margin_shortage"], asset,
                f"maintenance + {_quote_human(account['margin_shortage']['buffer_ppm'], 4)}% "
                "of the notional "
                "- equity: a liquidation closes the fewest lots that cover it")
        if "backstop_threshold" in account:
            num, den = account["backstop_threshold"]["ratio"]
            row("backstop threshold", account["backstop_threshold"], asset,
                f"{num}/{den} of maintenance, rounded up; below it when equity < this")
        for position in account["positions"]:
            size = position["size"]
            inverse = ("; inverse, held as the coin market: prices are coin per lot, the "
                       "venue's terms below" if "venue" in position else "")
            rows.append(f"  position {position['market']}: {position['side']} "
                        f"{size['human'].lstrip('-')} ({abs(size['value'])} lots{inverse}) "
                        f"{_rules_text(size)}")
            row("mark", position["mark"], asset, indent=4)
            row("entry price", position["entry_price"], asset, "average, from the cost basis",
                indent=4)
            row("notional", position["notional"], asset, "|size| x mark", indent=4)
            row("unrealized PnL", position["unrealized_pnl"], asset, "value at mark - cost basis",
                indent=4)
            tier = position["tier"]
            keyed = (f"size >= {tier['floor_size']['human']}" if tier["basis"] == TierBasis.SIZE
                     else f"notional >= {tier['floor_notional']['human']}")
            row("tier", tier, "",
                f"{keyed}: maintenance "
                f"{tier_rate_text(tier['maint_margin_ppm'], tier['rate_scale'])} x notional - "
                f"{tier['maint_deduction']['human']}, initial "
                f"{tier_rate_text(tier['init_margin_ppm'], tier['rate_scale'])} x notional - "
                f"{tier['init_deduction']['human']}", indent=4)
            leverage = position["leverage"]
            row("leverage", leverage, "",
                (f"chosen: initial margin = max(notional / {leverage['value']}, the tier's); "
                 if leverage["value"] is not None else "the tier's initial rate applies; ")
                + f"tier maximum {leverage['tier_max']}x", indent=4)
            row("maintenance margin", position["maintenance_margin"], asset, indent=4)
            row("initial margin", position["initial_margin"], asset, indent=4)
            if "liquidation_step" in position:
                step = position["liquidation_step"]
                row("liquidation step", step, "",
                    f"closes {step['value']} of {abs(size['value'])} lots now "
                    f"({venue['liquidation_size']})", indent=4)
            for key, label in (("liquidation_price", "liquidation price"),
                               ("bankruptcy_price", "bankruptcy price")):
                price = position[key]
                note = price["meaning"]
                # an inverse market's model price is coin per lot, not what the venue prints: its
                # venue's display is in the venue terms below
                if price["value"] and "venue" not in position:
                    note += (f"; exact {price['exact_human']}; venue displays "
                             f"{price['venue_display']} [{', '.join(price['venue_display_rules'])}]")
                row(label, price, asset if price["value"] else "", note, indent=4)
            terms = position.get("venue")
            if terms is not None:  # an inverse market: the position in the venue's terms
                def printed(threshold: dict) -> str:
                    at_tick = threshold["at_order_tick"]
                    return ("" if at_tick is None or at_tick == threshold["display"] else
                            f", printed {at_tick} at the order tick")
                liquidation, bankruptcy = terms["liquidation_price"], terms["bankruptcy_price"]
                rows.append(
                    f"    venue terms [{', '.join(terms['rules'])}]: {terms['side']} "
                    f"{abs(terms['size']['value'])} lots, mark about {terms['mark']}; "
                    f"liquidation price {liquidation['display']}{printed(liquidation)} ("
                    + (f"liquidated when {liquidation['past']}"
                       if liquidation['past'] else "never liquidated")
                    + f"); bankruptcy price {bankruptcy['display']}{printed(bankruptcy)}")
    if report["not_shown"]:
        rows.append("")
        rows.append("not shown (backstop role, never margin-checked; use --account to see): "
                    + ", ".join(report["not_shown"]))
    return _align(rows)


def _align(rows: list) -> str:
    table = [r for r in rows if isinstance(r, tuple)]
    widths = [max((len(r[i]) for r in table), default=0) for i in range(4)]
    lines = []
    for r in rows:
        if isinstance(r, str):
            lines.append(r)
            continue
        label, value, unit, rules, note = r
        line = (f"{label.ljust(widths[0])}  {value.rjust(widths[1])} {unit.ljust(widths[2])}  "
                f"{rules.ljust(widths[3])}  {note}")
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


__all__ = ["STATUS_BANKRUPT", "STATUS_BELOW_BACKSTOP", "STATUS_HEALTHY", "STATUS_LIQUIDATABLE",
           "explain_account", "explain_loaded", "explain_state", "render_text", "rules_of"]
