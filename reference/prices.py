"""Bankruptcy and liquidation prices, isolated and cross (LIQ-PRICE-*).

Both prices solve for the mark of one market at which a threshold is crossed, every other market's
mark held fixed. Write ``s`` for the position in lots, ``m`` for the value of a lot per tick, ``C``
for everything in equity that does not move with this mark (quote balance plus the other positions'
values) and ``M_o`` for the other positions' maintenance requirement. Then

* equity(P) = C + s*P*m, and
* the account is liquidatable at P iff C + s*P*m < M_o + MM(|s|*P*m)   (LIQ-TRIGGER-1).

Because an integer ``a`` is below ``ceil(y)`` exactly when it is below ``y``, the rounded-up
requirement and the exact one give the same trigger, so the exact root ``x`` of the real-valued
equation decides it: a long is liquidatable iff mark < x, a short iff mark > x. The requirement is
continuous and increasing in notional (the deductions guarantee it), so ``x`` is unique; it is found
by solving every tier's linear piece and keeping the root whose notional lies in that tier.

Under the ``at_or_below`` trigger (LIQ-TRIGGER-3) the account is liquidatable iff
``C - 1 + s*P*m < M_o + MM``: the same equation with one quantum less in ``C``, so the same
argument gives its root.

Under the entry basis (LIQ-TIER-6) an isolated position's requirement is a fixed integer
``MM_e`` taken on its entry value, so the root is linear: ``x = (M_o + MM_e - C) / (s*m)``; the
trigger compares against the same integer, so the same rounding argument holds.

A price is reported exactly (a Fraction: these prices are shown, never stored) and in ticks rounded
in the venue's favour (LIQ-PRICE-3): up for a long, down for a short, which keeps the trigger exact
in tick space (long: liquidated iff mark < ticks; short: iff mark > ticks). A long that no positive
mark liquidates, and a short that every positive mark liquidates, both report 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor, trunc

from .arithmetic import PPM, div_floor, sign
from .errors import MalformedState, Rejection, ResultCode
from .margin import (account_maintenance_margin_quote, equity_quote, maintenance_at_entry,
                     maintenance_requirement_ppm, position_maintenance_margin_quote,
                     position_value_quote, trigger_equity_quote)
from .profile import DisplayRounding, Market, Profile
from .rules import implements
from .state import Account


@dataclass(frozen=True)
class Threshold:
    """A price threshold for one position: exact, and in ticks rounded toward the venue."""

    market_id: str
    side: int  # +1 long, -1 short
    exact: Fraction
    ticks: int

    def crossed(self, mark_ticks: int) -> bool:
        """True when the mark is on the wrong side of the threshold."""
        return mark_ticks < self.ticks if self.side > 0 else mark_ticks > self.ticks


def _fixed_part(account: Account, market_id: str, marks: Mapping[str, int],
                profile: Profile) -> tuple[int, int]:
    """(C, M_o): the equity and maintenance that do not move with ``market_id``'s mark."""
    constant = account.quote
    other_maintenance = 0
    for other_id, lots in account.positions.items():
        if other_id == market_id:
            continue
        constant += position_value_quote(lots, marks[other_id], profile.markets[other_id])
        other_maintenance += position_maintenance_margin_quote(account, other_id, marks, profile)
    return constant, other_maintenance


def _position(account: Account, market_id: str, profile: Profile) -> int:
    """The account's lots in the market: UNKNOWN_MARKET for a market not in the profile (a
    domain error, checked first, LIQ-RESULT-2), then NO_POSITION when it holds none."""
    profile.market(market_id)
    lots = account.position(market_id)
    if lots == 0:
        raise Rejection(ResultCode.NO_POSITION,
                        f"account {account.account_id} has no position in {market_id}")
    return lots


@implements("LIQ-PRICE-3")
def round_toward_venue(exact: Fraction, side: int) -> int:
    """Tick rounding in the venue's favour: up for a long, down for a short."""
    return ceil(exact) if side > 0 else floor(exact)


@implements("LIQ-PRICE-1")
def bankruptcy_price(account: Account, market_id: str, marks: Mapping[str, int],
                     profile: Profile) -> Threshold:
    """The mark of ``market_id`` at which the account's equity is exactly zero."""
    lots = _position(account, market_id, profile)
    market = profile.markets[market_id]
    constant, _ = _fixed_part(account, market_id, marks, profile)
    exact = max(Fraction(-constant, lots * market.value_per_lot_tick), Fraction(0))
    side = 1 if lots > 0 else -1
    return Threshold(market_id, side, exact, round_toward_venue(exact, side))


@implements("LIQ-ADL-4")
def bankruptcy_value_quote(account: Account, market_id: str, lots: int,
                           marks: Mapping[str, int], profile: Profile) -> int:
    """Quote the account receives for closing ``lots`` of its position at its bankruptcy price
    (negative: it pays), as dYdX v4's ``GetBankruptcyPriceInQuoteQuantums``: the closed lots' mark
    value, less their share of the account's equity, the share being the fall in maintenance
    margin the close causes over the total maintenance margin, floored (so the value rounds toward
    +infinity); closing the last position leaves equity exactly zero. The maintenance is read on
    the profile's basis (LIQ-TIER-6): under the entry basis, the released part is that of the
    closed lots' share of the entry value. The total maintenance is positive for any account this
    is asked of (it is liquidatable or bankrupt)."""
    market, mark = profile.market(market_id), marks[market_id]
    before = account.position(market_id)
    after = before - sign(before) * lots
    value_change = (position_value_quote(after, mark, market)
                    - position_value_quote(before, mark, market))
    equity = equity_quote(account, marks, profile)
    total_maintenance = account_maintenance_margin_quote(account, marks, profile)
    maintenance_released = (position_maintenance_margin_quote(account, market_id, marks, profile)
                            - position_maintenance_margin_quote(account, market_id, marks, profile,
                                                                after))
    return -value_change - div_floor(equity * maintenance_released, total_maintenance)


def _maintenance_real(market: Market, notional: Fraction, lots: int) -> Fraction:
    """The requirement before rounding up (LIQ-TIER-2): max(notional * mmr - deduction, minimum),
    at the tier of the notional, or of the position's ``lots`` in a market keyed by size
    (LIQ-TIER-8), where the tier does not move with the price."""
    return Fraction(maintenance_requirement_ppm(market, notional, lots), PPM)


@implements("LIQ-PRICE-2", "LIQ-TRIGGER-3")
def liquidation_price(account: Account, market_id: str, marks: Mapping[str, int],
                      profile: Profile) -> Threshold:
    """The mark of ``market_id`` at which equity meets the maintenance requirement, with tier
    switching: the requirement's tier is the one at the notional *at that price*; under the entry
    basis (LIQ-TIER-6) the requirement does not move with the mark and the root is linear."""
    lots = _position(account, market_id, profile)
    market = profile.markets[market_id]
    constant, other_maintenance = _fixed_part(account, market_id, marks, profile)
    # the trigger's equity (LIQ-TRIGGER-3): one quantum less where equality liquidates
    constant = trigger_equity_quote(constant, profile)
    m, size = market.value_per_lot_tick, abs(lots)
    side = 1 if lots > 0 else -1
    if maintenance_at_entry(account, profile):  # C + s*P*m = M_o + MM(entry value)
        fixed = position_maintenance_margin_quote(account, market_id, marks, profile)
        exact = max(Fraction(other_maintenance + fixed - constant, lots * m), Fraction(0))
        return Threshold(market_id, side, exact, round_toward_venue(exact, side))

    def gap(price: Fraction) -> Fraction:  # equity minus requirement; the root is where it is 0
        return constant + lots * price * m - other_maintenance - _maintenance_real(
            market, size * price * m, lots)

    candidates = []
    scale = market.rate_scale  # r and d in 1 / scale units (LIQ-TIER-7)
    for tier in market.tiers:  # C + s*P*m = M_o + (|s|*P*m*r - d) / scale
        slope = lots * m * PPM * scale - size * m * tier.maint_margin_ppm
        candidates.append(Fraction((other_maintenance * scale - tier.maint_deduction_quote
                                    - constant * scale) * PPM, slope))
    # the minimum-requirement branch: C + s*P*m = M_o + min
    candidates.append(Fraction(other_maintenance + market.min_maint_margin_quote - constant,
                               lots * m))
    roots = [price for price in candidates if price > 0 and gap(price) == 0]
    # gap is strictly monotone for P > 0, so at most one distinct positive root exists.
    exact = min(roots) if roots else Fraction(0)
    return Threshold(market_id, side, exact, round_toward_venue(exact, side))


@implements("LIQ-PRICE-4")
def round_for_display(value: Fraction, places: int, mode: str) -> str:
    """``value`` as a decimal string with ``places`` digits after the point, rounded by ``mode``:
    ``half_up`` (ties away from zero), ``half_even`` (ties to even) or ``down`` (toward zero)."""
    scaled = Fraction(value) * 10**places
    if mode == DisplayRounding.HALF_UP:
        magnitude = floor(abs(scaled) + Fraction(1, 2))
        units = magnitude if scaled >= 0 else -magnitude
    elif mode == DisplayRounding.HALF_EVEN:
        units = round(scaled)
    elif mode == DisplayRounding.DOWN:
        units = trunc(scaled)
    else:
        raise MalformedState(f"unknown display rounding {mode!r}")
    digits = str(abs(units)).rjust(places + 1, "0")
    text = f"{digits[:-places]}.{digits[-places:]}" if places > 0 else digits + "0" * -places
    return ("-" if units < 0 else "") + text


@implements("LIQ-PRICE-4")
def display_price(exact_ticks: Fraction, market: Market, profile: Profile) -> str:
    """A price as the venue prints it: the exact value rounded to the market's price decimals by
    the profile's display rounding. Display only: no rule reads it back."""
    exact = Fraction(exact_ticks) / 10**market.price_decimals
    return round_for_display(exact, max(market.price_decimals, 0), profile.display_rounding)
