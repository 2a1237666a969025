"""Fidelity: the encodings the theorems are proved about must compute what the reference computes.

For a concrete case (a profile, a state of three traders and a liquidity account or backstop
vault in two markets, an operation and its arguments), :func:`check_case` runs the reference
operation, then evaluates the *same* symbolic terms the theorems are proved on, with the case's
values substituted for the state's and the arguments' constants, and compares everything: the
result code, every balance, position and mark after the operation, the receipt's amounts, and the
net effect of the journal entries written. Any difference is a drift between the proofs and the
reference, and the case that shows it is reported.

Cases come from :func:`generate_case`, driven by any ``random.Random`` (hypothesis's ``randoms()``
in the tests, a seeded one in ``python -m liqspec.proofs.fidelity`` and ``liqspec mutate``). It
aims at boundaries: an account's equity is set to its maintenance or initial requirement, its
backstop threshold, zero or minus the insurance fund, plus or minus a quantum or two; amounts to
the free collateral; sizes to the policy's size; the fund's peak to the least one the fund is in
drawdown from (LIQ-ADL-5); so off-by-one changes to the reference show.

The encodings leave out the int64 checks: a case where the reference raises ``OVERFLOW`` is
skipped.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import z3

import liqspec.reference as ref
from liqspec.reference import deleveraging
from liqspec.reference.arithmetic import INT64_MAX, PPM
from liqspec.reference.errors import LiqspecError, Rejection, ResultCode
from liqspec.reference.journal import Fill, Transfer
from liqspec.reference.profile import SOCIALIZING, LiquidationSize, OpenInterestScaling, Profile
from liqspec.reference.profiles import PROFILES
from liqspec.reference.state import (BACKSTOP, FEE_SINK, FUNDING_POOL, HOLDERS, INSURANCE_FUND,
                                     LIQUIDITY, OUTSIDE, SOCIALIZED_LOSS, TRADER, Account, State)

from liqspec.testing import step_lots

from . import encodings as E
from .domains import MARKET_SLOTS, profile_params, proof_profile, slot_market_ids
from .counterexamples import build_state

TRADERS = ("a0", "a1", "a2")
OPERATIONS = ("deposit", "withdraw", "fund_insurance", "set_mark", "trade", "liquidate",
              "backstop_liquidate", "share_liquidate", "deleverage", "socialize_loss",
              "apply_funding",
              "liquidation_size", "margin", "liquidation_price", "adl_receive")


def _example(liquidator_fee_ppm: int = 0, **policies: object) -> Profile:
    from liqspec.testing import example_profile
    return example_profile(liquidator_fee_ppm, **policies)


def _example_open_interest() -> Profile:
    """The example venue with dYdX's open-interest-scaled initial margin on both markets (no venue
    profile uses it)."""
    from dataclasses import replace
    base = _example()
    markets = {market_id: replace(market, oi_scaling=OpenInterestScaling(10**9, 10**13))
               for market_id, market in base.markets.items()}
    return Profile(name="example_open_interest", quote_decimals=6, markets=markets)


@lru_cache(maxsize=None)
def profiles() -> tuple[Profile, ...]:
    """Every venue profile, and the example profile under each policy the venues do not cover.

    Deleveraging on the fund's drawdown (LIQ-ADL-5) is okx's (30%: bankruptcy price, ranked), and
    four examples' besides, under other prices, rankings and shares (30% at the mark, 50% pro
    rata, 25% seeded, 100%: the fund emptied): it is given to examples that were here before
    the rule, not to new ones, so that the seeded campaigns draw the cases they drew before it
    (a case whose fund peak is 0 is unchanged by the rule), on which the mutation catalogue's
    coverage was measured."""
    return tuple(proof_profile(PROFILES[name]) for name in sorted(PROFILES)) + (
        _example_open_interest(),
        _example(),
        _example(liquidation_size="portion", portion_ppm=200_000,
                 portion_threshold_quote=20 * 10**9, backstop_ratio=(2, 3), adl_price="mark",
                 adl_drawdown_ppm=300_000, adl_drawdown_window_s=28_800),
        _example(liquidation_size="tier_step", fee_policy="all_surplus",
                 bad_debt_policy="socialize"),
        _example(fee_policy="all_surplus", adl_ranking="pro_rata", liquidation_size="portion",
                 portion_ppm=300_000, portion_threshold_quote=0,
                 adl_drawdown_ppm=500_000, adl_drawdown_window_s=3_600),
        _example(adl_ranking="seeded", adl_seed=7, backstop_ratio=(1, 2),
                 adl_drawdown_ppm=250_000, adl_drawdown_window_s=600),
        _example(fee_policy="per_fill", liquidation_size="tier_step", bad_debt_policy="socialize",
                 adl_price="mark"),
        _example(liquidation_size="two_tier_step", trigger="at_or_below"),
        _example(liquidation_size="portion", portion_ppm=500_000, portion_threshold_quote=0,
                 bad_debt_policy="socialize_both_sides"),
        _example_minimum_margin(),
        _example(liquidation_size="account_share", fee_policy="maintenance_share",
                 portion_ppm=250_000, share_target_ppm=800_000),
        _example_cover_shortage(),
    )


def _example_cover_shortage() -> Profile:
    """The example venue sized by the margin shortage (LIQ-SHORTAGE-1) with a 3% buffer, its
    own liquidator's fees (0.5% and 2%) and no threshold: tiers with deductions, which no
    drift_v2 market has."""
    from dataclasses import replace
    base = _example(liquidation_size="cover_shortage", fee_policy="liquidator_and_fund",
                    liquidation_buffer_ppm=30_000, portion_threshold_quote=0,
                    bad_debt_policy="socialize")
    markets = {market_id: replace(market, liquidator_fee_ppm=reward)
               for (market_id, market), reward in zip(sorted(base.markets.items()),
                                                      (5_000, 20_000))}
    return replace(base, name="example_cover_shortage", markets=markets)


def _example_minimum_margin() -> Profile:
    """The example venue with a minimum maintenance requirement (5 and 2 USDT), which no venue
    profile sets: small positions are margined at the minimum; it deleverages on a fall of the
    whole fund (LIQ-ADL-5 at 100%: an empty fund under any positive peak)."""
    from dataclasses import replace
    base = _example()
    markets = {market_id: replace(market, min_maint_margin_quote=minimum)
               for (market_id, market), minimum in zip(sorted(base.markets.items()),
                                                        (5 * 10**6, 2 * 10**6))}
    return Profile(name="example_minimum_margin", quote_decimals=6, markets=markets,
                   liquidation_size="tier_step", backstop_ratio=(2, 3),
                   adl_drawdown_ppm=PPM, adl_drawdown_window_s=86_400)


# -- generating cases ------------------------------------------------------------------------------

@dataclass
class Case:
    profile: Profile
    state: dict  # a scenario state: marks by slot, accounts, holders
    op: str
    args: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"profile {self.profile.name} ({self.profile.liquidation_size}, "
                f"{self.profile.fee_policy}, {self.profile.bad_debt_policy}, "
                f"{self.profile.adl_ranking}, {self.profile.adl_price}, "
                f"backstop {self.profile.backstop_ratio}, "
                f"drawdown {self.profile.adl_drawdown_ppm} ppm)\n  state {self.state}\n"
                f"  {self.op}({self.args})")


def _pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def _mark(rng: random.Random, profile: Profile, slot: str, micro: bool = False) -> int:
    market = profile.markets[slot_market_ids(profile)[slot]]
    if micro or rng.random() < 0.1:  # a few ticks: the cheapest markets, where single quantums show
        return rng.randint(1, 100)
    human = 50_000 if slot == "m0" else 3_000
    ticks = max(1, human * 10**market.price_decimals)
    return max(1, ticks + rng.randint(-ticks // 5, ticks // 5))


def _lots(rng: random.Random, mark: int, value: int, micro: bool = False) -> int:
    """A position whose notional is log-uniform between 10^3 and 10^14 quantums (so every tier
    of every table is reached), either side, sometimes zero."""
    if rng.random() < 0.2:
        return 0
    if micro:
        return rng.choice((1, -1, 2, -2, 3, -3, 5, -5))
    if rng.random() < 0.1:  # a lot or two: the smallest amounts, where off-by-ones show
        return rng.choice((1, -1, 2, -2))
    notional = int(10 ** rng.uniform(3, 14))
    lots = max(1, notional // max(1, mark * value))
    return lots if rng.random() < 0.5 else -lots


def _reference_account(profile: Profile, slots: Mapping[str, str], spec: Mapping) -> Account:
    return Account("x", spec["quote"], {slots[m]: s for m, s in spec["positions"].items() if s})


def _target_equity(rng: random.Random, profile: Profile, slots, marks, spec, fund: int,
                   mood: str) -> int:
    """An equity on a boundary that some rule checks, give or take a quantum or two.

    ``mood`` picks the boundaries: ``healthy`` (at or above the initial requirement),
    ``distressed`` (around maintenance and the backstop threshold), ``bankrupt`` (around minus
    the insurance fund) or ``any``."""
    account = _reference_account(profile, slots, spec)
    real_marks = {slots[m]: p for m, p in marks.items()}
    mm = ref.account_maintenance_margin_quote(account, real_marks, profile)
    im = ref.account_initial_margin_quote(account, real_marks, profile)
    num, den = profile.backstop_ratio or (2, 3)
    bases = {
        "healthy": (im, im, 2 * im, 10 * im + 10**9, rng.randint(im, im + 10**12)),
        "distressed": (mm, mm, mm - 1, mm * num // den, mm * num // den, mm // 2, 0, 0, -mm),
        "bankrupt": (-fund, -fund, -fund - 1, -fund - rng.randint(1, 10**9), -2 * fund - mm),
        "any": (mm, mm, im, im, 0, -fund, mm * num // den, -mm, 3 * im,
                rng.randint(-10**12, 10**12)),
    }[mood]
    return _pick(rng, bases) + _pick(rng, (-2, -1, -1, 0, 0, 0, 1, 1, 2,
                                            rng.randint(-10**6, 10**6)))


def _land_on_a_floor(rng: random.Random, profile: Profile, slots, marks, accounts,
                     holder: str, subject: str | None, focus_slot: str | None) -> None:
    """Resize one trader's position and move the mark so that its notional is exactly a tier
    floor (or one tick either side), where a tier boundary is decided."""
    slot = focus_slot if focus_slot is not None and rng.random() < 0.8 else \
        _pick(rng, MARKET_SLOTS)
    market = profile.markets[slots[slot]]
    floors = [t.floor_notional_quote for t in market.tiers[1:]]
    a = subject if subject is not None and rng.random() < 0.8 else _pick(rng, TRADERS)
    old = accounts[a]["positions"][slot]
    value = market.value_per_lot_tick
    if not floors or not old or a == holder:
        return
    if market.tier_basis == "size":  # LIQ-TIER-8: the size on a floor in lots, or a lot beside
        size = max(1, _pick(rng, [t.floor_lots for t in market.tiers[1:]])
                   + _pick(rng, (0, 0, 1, -1)))
        new = size if old > 0 else -size
        accounts[a]["positions"][slot] = new
        accounts[holder]["positions"][slot] -= new - old
        return
    floor = _pick(rng, floors)
    if floor % value:
        return
    units = floor // value  # lots x mark must equal this
    near = max(1, units // marks[slot])
    for step in range(400):  # the divisor of ``units`` nearest to ``near``
        lots = near + (step + 1) // 2 * (1 if step % 2 else -1)
        if lots >= 1 and units % lots == 0:
            new = lots if old > 0 else -lots
            accounts[a]["positions"][slot] = new
            accounts[holder]["positions"][slot] -= new - old
            marks[slot] = max(1, units // lots + _pick(rng, (0, 0, 0, 0, 1, -1)))
            return


def generate_state(rng: random.Random, profile: Profile, roles: Mapping[str, str],
                   moods: Mapping[str, str] | None = None,
                   opposite: tuple[str, str] | None = None, subject: str | None = None,
                   focus: tuple[str, str] | None = None, floor_odds: float = 0.3,
                   single: bool = False, micro: bool = False) -> dict:
    """A state: positions drawn per trader (with ``opposite = (account, slot)`` every other
    trader holds the other side of that account's position in that slot, as auto-deleveraging
    needs), the book or vault holding the rest, quotes set to each trader's ``mood``. Sometimes
    the ``subject``'s notional in the ``focus`` slot lands exactly on a tier floor; with
    ``single`` the focus account holds no position outside the focus slot; a ``micro`` state
    has marks of a few ticks and positions of a few lots, so amounts are a few quantums and every
    rounding and every ``> 0`` guard is exercised at 1."""
    slots = slot_market_ids(profile)
    marks = {slot: _mark(rng, profile, slot, micro) for slot in MARKET_SLOTS}
    accounts: dict[str, dict] = {a: {"role": role, "quote": 0, "positions": {}}
                                 for a, role in sorted(roles.items())}
    others = [a for a in accounts if a not in TRADERS]
    for slot in MARKET_SLOTS:
        value = profile.markets[slots[slot]].value_per_lot_tick
        total = 0
        # the account the others take the other side of, in this slot (drawn first)
        against = opposite[0] if opposite is not None and opposite[1] == slot else None
        order = sorted(TRADERS, key=lambda t: t != against) if against is not None else TRADERS
        for a in order:
            lots = _lots(rng, marks[slot], value, micro)
            if a == against:
                lots = lots or 1
            elif against is not None:
                held = accounts[against]["positions"].get(slot) or 1
                lots = -held // abs(held) * rng.randint(1, abs(held) + 1)
            accounts[a]["positions"][slot] = lots
            total += lots
        # the non-trader account (book or vault) holds the other side: base is zero-sum
        holder = others[0] if others else TRADERS[-1]
        accounts[holder]["positions"][slot] = accounts[holder]["positions"].get(slot, 0) - total
    if rng.random() < floor_odds:
        _land_on_a_floor(rng, profile, slots, marks, accounts,
                         others[0] if others else TRADERS[-1], subject,
                         focus[1] if focus else None)
    if single and focus:  # the subject holds one position only, so closing it leaves it flat
        for other_slot in MARKET_SLOTS:
            if other_slot != focus[1]:
                lots = accounts[focus[0]]["positions"][other_slot]
                accounts[focus[0]]["positions"][other_slot] = 0
                holder = others[0] if others else TRADERS[-1]
                accounts[holder]["positions"][other_slot] += lots
    fund = _pick(rng, (0, 0, rng.randint(1, 10**6), rng.randint(1, 10**13)))
    for a in TRADERS:
        spec = accounts[a]
        value = sum(spec["positions"][m] * marks[m] * profile.markets[slots[m]].value_per_lot_tick
                    for m in MARKET_SLOTS)
        mood = (moods or {}).get(a, "any")
        spec["quote"] = _target_equity(rng, profile, slots, marks, spec, fund, mood) - value
    for spec in accounts.values():  # an entry cost near the value at the mark, or anything
        spec["cost"] = {}
        for m in MARKET_SLOTS:
            lots = spec["positions"][m]
            value = lots * marks[m] * profile.markets[slots[m]].value_per_lot_tick
            spec["cost"][m] = 0 if lots == 0 else _pick(rng, (
                value, value + rng.randint(-abs(value) // 10 - 1, abs(value) // 10 + 1),
                rng.randint(-10**12, 10**12)))
    for a in others:
        accounts[a]["quote"] = rng.randint(-10**12, 10**15)
    holders = {h: 0 for h in HOLDERS}
    holders[INSURANCE_FUND] = fund
    holders[SOCIALIZED_LOSS] = _pick(rng, (0, 0, -rng.randint(1, 10**6), -rng.randint(1, 10**12)))
    holders[FEE_SINK] = _pick(rng, (0, rng.randint(1, 10**9)))
    holders[FUNDING_POOL] = 0
    holders[OUTSIDE] = -(sum(a["quote"] for a in accounts.values())
                         + sum(v for h, v in holders.items() if h != OUTSIDE))
    return {"marks": marks, "accounts": accounts, "holders": holders}


def _amount(rng: random.Random, near: int) -> int:
    return _pick(rng, (near, near, near, near + 1, near + 1, near - 1, rng.randint(1, 10**12),
                       rng.randint(1, 10**6), 0, -1, INT64_MAX + 1))


def _price(rng: random.Random, mark: int) -> int:
    return _pick(rng, (mark, max(1, mark + rng.randint(-mark // 10, mark // 10)),
                       max(1, mark + rng.randint(-mark // 100, mark // 100)), 0, mark * 2,
                       max(1, mark // 2)))


#: LIQ-ADL-5: the drawdown share a fund peak is aimed at under a profile without the rule (where
#: no peak changes anything): OKX's
AIM_DRAWDOWN_PPM = 300_000


def _fund_peak(rng: random.Random, profile: Profile, state: dict, op: str,
               deficit_quote: int) -> int:
    """A fund peak for LIQ-ADL-5: 0 (no history) half the time (a fifth for a deleveraging under
    a profile with the rule, where the peak decides most); else the least peak the fund is in
    drawdown from, ``ceil(F * 10^6 / (10^6 - ppm))``, or that peak with the fund moved down a
    few quantums, as the outside pays, so that the fall is exactly the share (the comparison's
    equality), or with the fund raised to the account's ``deficit_quote``, so that only the
    drawdown lets a deleveraging go ahead; or one either side of the edge, no fall, a deep
    fall, anything; for a deleveraging, out of range sometimes (-1 or 2^63, INVALID_AMOUNT)."""
    ppm = profile.adl_drawdown_ppm
    if rng.random() < (0.2 if ppm and op == "deleverage" else 0.5):
        return 0
    kind = _pick(rng, ("edge", "exact edge", "below", "above", "no fall", "deep", "any")
                 + (("fund covers",) * 3 + ("out of range",) if op == "deleverage" else ()))
    if kind == "out of range":
        return _pick(rng, (-1, INT64_MAX + 1))
    holders = state["holders"]
    kept = PPM - (ppm or AIM_DRAWDOWN_PPM)  # the share of the peak the fund keeps at the edge
    moved = 0  # quote from the fund to the outside
    if kind == "exact edge" and ppm and kept:
        unit = kept // math.gcd(PPM, kept)  # F * 10^6 / kept is whole for F a multiple of this
        moved = holders[INSURANCE_FUND] % unit
    elif kind == "fund covers":
        moved = min(holders[INSURANCE_FUND] - deficit_quote, 0)
    holders[INSURANCE_FUND] -= moved
    holders[OUTSIDE] += moved
    fund = holders[INSURANCE_FUND]
    edge = -(-fund * PPM // kept) if kept else fund + 1
    return max(0, {"edge": edge, "exact edge": edge, "fund covers": edge, "below": edge - 1,
                   "above": edge + 1, "no fall": fund,
                   "deep": 2 * fund + rng.randint(1, 10**6),
                   "any": rng.randint(1, 10**13)}[kind])


def generate_case(rng: random.Random, op: str | None = None,
                  profile: Profile | None = None) -> Case:
    """A case for ``op`` (default: any) on ``profile`` (default: any of :func:`profiles`)."""
    op = op or _pick(rng, OPERATIONS)
    if profile is None:  # mostly a profile under which the operation can succeed
        fitting = {
            "backstop_liquidate": lambda p: p.backstop_ratio is not None,
            "share_liquidate": lambda p: p.liquidation_size == "account_share",
            "socialize_loss": lambda p: p.bad_debt_policy in SOCIALIZING,
            "deleverage": lambda p: p.bad_debt_policy == "adl",
        }.get(op, lambda p: True)
        candidates = [p for p in profiles() if fitting(p)] if rng.random() < 0.9 else profiles()
        profile = _pick(rng, tuple(candidates))
    roles = {**{a: TRADER for a in TRADERS},
             **({"vault": BACKSTOP} if op in ("backstop_liquidate", "share_liquidate")
                else {"lp": LIQUIDITY})}
    a = _pick(rng, TRADERS)
    reducing = op == "trade" and rng.random() < 0.4  # a reduction by a distressed account
    mood_of_subject = {"withdraw": "healthy", "trade": "distressed" if reducing else "healthy",
                       "liquidate": "distressed", "backstop_liquidate": "distressed",
                       "share_liquidate": "distressed",
                       "deleverage": "bankrupt"}.get(op, "any")
    mood_of_others = "healthy" if op in ("withdraw", "trade", "deleverage") else "any"
    moods = {t: (mood_of_subject if t == a else mood_of_others) if rng.random() < 0.85 else "any"
             for t in TRADERS}
    slot = _pick(rng, MARKET_SLOTS)
    opposite = (a, slot) if op == "deleverage" and rng.random() < 0.8 else None
    single = (a, slot) if op in ("liquidate", "deleverage", "liquidation_price") \
        and rng.random() < 0.4 else None
    focus = single or (a, slot)
    floor_odds = 0.6 if op in ("liquidation_size", "liquidate") else 0.3
    state = generate_state(rng, profile, roles, moods, opposite, a, focus, floor_odds,
                           single is not None, micro=rng.random() < 0.15)
    if op == "socialize_loss" and rng.random() < 0.8:
        debt = rng.randint(1, 10**10)
        state["holders"][SOCIALIZED_LOSS] -= debt
        state["holders"][OUTSIDE] += debt
    slots = slot_market_ids(profile)
    mark = state["marks"][slot]
    built = build_state(profile, slots, state)
    account = built.account(a)
    args: dict = {}
    if op in ("deposit", "withdraw"):
        free = ref.free_collateral_quote(built, account)
        args = {"account_id": a, "amount_quote": _amount(rng, max(free, 1))}
    elif op == "fund_insurance":
        args = {"amount_quote": _amount(rng, rng.randint(1, 10**9))}
    elif op == "set_mark":
        args = {"market_id": slot, "price_ticks": _price(rng, mark)}
    elif op == "trade":
        other = _pick(rng, [t for t in list(TRADERS) + ["lp"] if t != a])
        buyer, seller = (a, other) if rng.random() < 0.5 else (other, a)
        if rng.random() < 0.03:
            buyer = seller
        held = abs(state["accounts"][a]["positions"][slot]) or 1
        if reducing and state["accounts"][a]["positions"][slot]:
            long = state["accounts"][a]["positions"][slot] > 0
            buyer, seller = (other, a) if long else (a, other)
            worse = rng.randint(0, max(1, mark // _pick(rng, (50, 200, 1000))))
            return Case(profile, state, op, {
                "buyer_id": buyer, "seller_id": seller, "market_id": slot,
                "lots": _pick(rng, (rng.randint(1, held), rng.randint(1, max(1, held // 10)),
                                    held, held + rng.randint(1, held))),
                "price_ticks": max(1, mark - worse if long else mark + worse)})
        args = {"buyer_id": buyer, "seller_id": seller, "market_id": slot,
                "lots": _pick(rng, (1, rng.randint(1, 1000), held, held // 2 or 1, held + 1,
                                    rng.randint(1, 10**6), 0)),
                "price_ticks": _pick(rng, (mark, mark, _price(rng, mark)))}
    elif op == "liquidate":
        counterparty = _pick(rng, ("lp", "lp", _pick(rng, TRADERS)))
        lots = None
        if rng.random() < 0.5 and account.position(slots[slot]):
            allowed = step_lots(account, slots[slot], built)
            lots = _pick(rng, (allowed, allowed + 1, 1, rng.randint(1, max(1, allowed)), 0))
        fill = _price(rng, mark)
        if rng.random() < 0.4 and account.position(slots[slot]):
            # around the bankruptcy price, or worse than it (a deficit to settle)
            bankrupt = ref.bankruptcy_price(account, slots[slot], built.marks, profile).ticks
            side = 1 if account.position(slots[slot]) > 0 else -1
            fill = max(1, bankrupt + _pick(rng, (rng.randint(-2, 2),
                                                 -side * rng.randint(1, max(1, mark // 20)))))
            if lots is None and rng.random() < 0.5:
                lots = step_lots(account, slots[slot], built)
        args = {"account_id": a, "market_id": slot, "counterparty_id": counterparty,
                "fill_price_ticks": fill, "lots": lots}
    elif op in ("backstop_liquidate", "share_liquidate"):
        args = {"account_id": a, "vault_id": _pick(rng, ("vault", "vault", "vault", a))}
    elif op == "deleverage":
        args = {"account_id": a, "market_id": slot}
    elif op == "socialize_loss":
        debt = -state["holders"][SOCIALIZED_LOSS]
        part = _pick(rng, (None, None, 1, debt // 2, debt, debt + 1, 0, -1)) if debt > 0 else None
        args = {"market_id": slot, "side": _pick(rng, (1, -1, 1, -1, 0)), "amount_quote": part}
    elif op == "apply_funding":
        # the smallest rate at which some position pays or receives a whole quantum
        payer = state["accounts"][_pick(rng, TRADERS)]["positions"][slot]
        value = abs(payer * mark * profile.markets[slots[slot]].value_per_lot_tick)
        smallest = min(PPM, -(-PPM // value)) if value else 1
        args = {"market_id": slot, "rate_ppm": _pick(rng, (smallest, -smallest,
                                                           rng.randint(-PPM, PPM),
                                                           rng.randint(-100, 100),
                                                           rng.randint(-10, 10), 0,
                                                           PPM, -PPM, PPM + 1, -PPM - 1))}
    elif op in ("liquidation_size", "liquidation_price", "adl_receive", "margin"):
        args = {"account_id": a, "market_id": slot}
    if op in ("deleverage", "adl_receive"):
        # drawn from a generator of its own, seeded by the case, so that ``rng`` draws the same
        # cases it drew before LIQ-ADL-5 (see profiles())
        peak_rng = random.Random(f"{op}:{state!r}:{args!r}")
        deficit = -ref.equity_quote(account, built.marks, profile)
        args["fund_peak_quote"] = _fund_peak(peak_rng, profile, state, op, deficit)
    return Case(profile, state, op, args)


# -- evaluating the encodings on a case ------------------------------------------------------------

#: built terms, by (id of the profile, ...); the profile is kept alive with them
_CACHE: dict[tuple, tuple[Profile, object]] = {}


def _cached(profile: Profile, key: tuple, build: Callable[[], object]):
    full = (id(profile),) + key
    if full not in _CACHE:
        _CACHE[full] = (profile, build())
    return _CACHE[full][1]


def _symbolic(profile: Profile, roles_key: tuple) -> E.SymState:
    return _cached(profile, ("state", roles_key),
                   lambda: E.symbolic_state(profile_params(profile), "", dict(roles_key)))


def _substitution(sym: E.SymState, state: Mapping) -> list[tuple[z3.ArithRef, z3.ArithRef]]:
    pairs = [(sym.marks[m], z3.IntVal(p)) for m, p in state["marks"].items()]
    pairs += [(sym.holders[h], z3.IntVal(state["holders"][h])) for h in HOLDERS]
    for a, acct in state["accounts"].items():
        pairs.append((sym.accounts[a].quote, z3.IntVal(acct["quote"])))
        for m in MARKET_SLOTS:
            pairs.append((sym.accounts[a].positions[m],
                          z3.IntVal(acct["positions"].get(m, 0))))
            pairs.append((sym.accounts[a].cost[m], z3.IntVal(acct.get("cost", {}).get(m, 0))))
    return pairs


class Evaluator:
    """Evaluates terms of one symbolic state at one case's values."""

    def __init__(self, pairs):
        self.pairs = pairs  # kept alive: the arrays below point at their terms
        # z3.substitute(term, *pairs) checks every pair's sorts and rebuilds its argument arrays
        # on each call, which costs more than the substitution itself; the case's pairs are
        # checked once here and the arrays built once.
        for source, target in pairs:
            if not source.sort().eq(target.sort()):
                raise AssertionError(f"substitution of {target} for {source}: sorts differ")
        self._count = len(pairs)
        self._sources = (z3.Ast * self._count)(*(source.as_ast() for source, _ in pairs))
        self._targets = (z3.Ast * self._count)(*(target.as_ast() for _, target in pairs))

    def _substitute(self, term):
        ctx = term.ctx  # what z3.substitute does after its checks (simplify types the result)
        return z3.ExprRef(z3.Z3_substitute(ctx.ref(), term.as_ast(), self._count, self._sources,
                                           self._targets), ctx)

    def __call__(self, term) -> int | bool:
        if isinstance(term, (int, bool)):
            return term
        value = z3.simplify(self._substitute(term))
        if z3.is_int_value(value):
            return value.as_long()
        if z3.is_true(value) or z3.is_false(value):
            return z3.is_true(value)
        raise AssertionError(f"term did not evaluate to a constant: {value}")


def _operation_terms(profile: Profile, roles_key: tuple, op: str, key: tuple):
    """The encoded operation on the symbolic state, built once per profile and argument shape:
    the very terms the theorems are proved on (for a venue profile)."""
    return _cached(profile, ("op", roles_key, op, key),
                   lambda: _build_operation(profile, roles_key, op, key))


def _build_operation(profile: Profile, roles_key: tuple, op: str, key: tuple):
    sym = _symbolic(profile, roles_key)
    args = dict(key)
    n = {name: z3.Int(f"arg_{name}") for name in ("amount", "price", "lots", "fill", "rate")}
    if op == "deposit":
        return E.deposit(sym, args["account_id"], n["amount"])
    if op == "withdraw":
        return E.withdraw(sym, args["account_id"], n["amount"])
    if op == "fund_insurance":
        return E.fund_insurance(sym, n["amount"])
    if op == "set_mark":
        return E.set_mark(sym, args["market_id"], n["price"])
    if op == "trade":
        return E.trade(sym, args["buyer_id"], args["seller_id"], args["market_id"], n["lots"],
                       n["price"])
    if op == "liquidate":
        return E.liquidate(sym, args["account_id"], args["market_id"], args["counterparty_id"],
                           n["fill"], n["lots"] if args["sized"] else None)
    if op == "backstop_liquidate":
        return E.backstop_liquidate(sym, args["account_id"], args["vault_id"])
    if op == "share_liquidate":
        return E.share_liquidate(sym, args["account_id"], args["vault_id"])
    if op == "socialize_loss":
        return E.socialize_loss(sym, args["market_id"], args["side"],
                                n["amount"] if args["part"] else None)
    if op == "apply_funding":
        return E.apply_funding(sym, args["market_id"], n["rate"])
    raise ValueError(op)


def _argument_values(case: Case) -> list[tuple[z3.ArithRef, z3.ArithRef]]:
    names = {"amount_quote": "amount", "price_ticks": "price", "lots": "lots",
             "fill_price_ticks": "fill", "rate_ppm": "rate", "fund_peak_quote": "fund_peak"}
    return [(z3.Int(f"arg_{names[k]}"), z3.IntVal(v)) for k, v in case.args.items()
            if k in names and v is not None]


def _journal_effect(entries) -> tuple[dict, dict]:
    quote: dict[str, int] = {}
    lots: dict[tuple[str, str], int] = {}
    for entry in entries:
        if isinstance(entry, Transfer):
            quote[entry.source] = quote.get(entry.source, 0) - entry.amount_quote
            quote[entry.destination] = quote.get(entry.destination, 0) + entry.amount_quote
        elif isinstance(entry, Fill):
            for account_id, delta in ((entry.buyer, entry.lots), (entry.seller, -entry.lots)):
                key = (account_id, entry.market_id)
                lots[key] = lots.get(key, 0) + delta
    return quote, lots


def _run_reference(case: Case, state: State, slots: Mapping[str, str]):
    args = dict(case.args)
    if "market_id" in args:
        args["market_id"] = slots[args["market_id"]]
    operation: Callable = getattr(ref, case.op)
    try:
        return operation(state, **args), None
    except LiqspecError as error:
        return None, error


def _compare_outcome(case: Case, out: E.Outcome, sym: E.SymState, evaluate: Evaluator,
                     slots: Mapping[str, str], amount_names: tuple[str, ...] = ()) -> list[str]:
    state = build_state(case.profile, slots, case.state)
    before = state.snapshot()
    receipt, error = _run_reference(case, state, slots)
    if error is not None and error.code == ResultCode.OVERFLOW:
        return []  # the encodings leave out the int64 domain (see the module docstring)
    problems = []
    code = evaluate(out.code)
    expected = ResultCode.OK if error is None else error.code
    if code != expected:
        return [f"result code: encoding {ResultCode(code).name}, reference {expected.name}"
                + (f" ({error})" if error else "")]
    if error is not None:
        if state.snapshot() != before:
            problems.append("the reference changed the state of a rejected operation")
        return problems
    for a in sym.accounts:
        got = evaluate(out.post.accounts[a].quote)
        if got != state.account(a).quote:
            problems.append(f"quote of {a}: encoding {got}, reference {state.account(a).quote}")
        for m in MARKET_SLOTS:
            got = evaluate(out.post.accounts[a].positions[m])
            want = state.account(a).position(slots[m])
            if got != want:
                problems.append(f"position of {a} in {m}: encoding {got}, reference {want}")
            got = evaluate(out.post.accounts[a].cost[m])
            want = state.account(a).cost_quote.get(slots[m], 0)
            if got != want:
                problems.append(f"cost basis of {a} in {m}: encoding {got}, reference {want}")
    for h in HOLDERS:
        got = evaluate(out.post.holders[h])
        if got != state.holders[h]:
            problems.append(f"{h}: encoding {got}, reference {state.holders[h]}")
    for m in MARKET_SLOTS:
        got = evaluate(out.post.marks[m])
        if got != state.marks[slots[m]]:
            problems.append(f"mark of {m}: encoding {got}, reference {state.marks[slots[m]]}")
    quote, lots = _journal_effect(receipt.entries)
    for holder in set(quote) | set(out.post.journal_quote):
        got = evaluate(out.post.journal_quote.get(holder, 0))
        if got != quote.get(holder, 0):
            problems.append(f"journal quote of {holder}: encoding {got}, reference "
                            f"{quote.get(holder, 0)}")
    for a, m in set(out.post.journal_lots):
        got = evaluate(out.post.journal_lots[(a, m)])
        if got != lots.get((a, slots[m]), 0):
            problems.append(f"journal lots of {a} in {m}: encoding {got}, reference "
                            f"{lots.get((a, slots[m]), 0)}")
    for name in amount_names or tuple(receipt.amounts):
        if name in out.amounts and name in receipt.amounts:
            got = evaluate(out.amounts[name])
            if got != receipt.amounts[name]:
                problems.append(f"amount {name}: encoding {got}, reference "
                                f"{receipt.amounts[name]}")
    return problems


def _deleverage_terms(case: Case, sym: E.SymState, slots) -> E.Outcome:
    """The encoded deleveraging, walking the reference's own ranking (the ranking is a policy,
    not an invariant: the theorems quantify over every order)."""
    state = build_state(case.profile, slots, case.state)
    account = state.account(case.args["account_id"])
    market = slots[case.args["market_id"]]
    peak = z3.Int("arg_fund_peak")  # the theorems' peak, the case's value substituted
    if not account.position(market):
        return E.deleverage(sym, case.args["account_id"], case.args["market_id"],
                            fund_peak_quote=peak)
    if case.profile.adl_ranking == "pro_rata":
        allocation = E.pro_rata_allocation(sym, case.args["account_id"], case.args["market_id"])
        return E.deleverage(sym, case.args["account_id"], case.args["market_id"], allocation,
                            fund_peak_quote=peak)
    ranked = [a for a, _ in deleveraging.adl_allocation(state, account, market)]
    rest = sorted(a for a in sym.accounts if a != case.args["account_id"] and a not in ranked)
    return E.deleverage(sym, case.args["account_id"], case.args["market_id"],
                        order=ranked + rest, fund_peak_quote=peak)


def check_case(case: Case) -> list[str]:
    """Differences between the encodings and the reference on one case (empty: they agree)."""
    slots = slot_market_ids(case.profile)
    roles = {a: acct["role"] for a, acct in case.state["accounts"].items()}
    roles_key = tuple(sorted(roles.items()))
    sym = _symbolic(case.profile, roles_key)
    evaluate = Evaluator(_substitution(sym, case.state) + _argument_values(case))
    if case.op in ("deposit", "withdraw", "fund_insurance", "set_mark", "trade", "liquidate",
                   "backstop_liquidate", "share_liquidate", "socialize_loss", "apply_funding"):
        key = {k: v for k, v in case.args.items()
               if isinstance(v, str) or k == "side"}
        if case.op == "liquidate":
            key["sized"] = case.args.get("lots") is not None
        if case.op == "socialize_loss":
            key["part"] = case.args.get("amount_quote") is not None
        out = _operation_terms(case.profile, roles_key, case.op, tuple(sorted(key.items())))
        return _compare_outcome(case, out, sym, evaluate, slots)
    if case.op == "deleverage":
        return _compare_outcome(case, _deleverage_terms(case, sym, slots), sym, evaluate, slots)
    return _check_function(case, sym, evaluate, slots)


def _check_function(case: Case, sym: E.SymState, evaluate: Evaluator, slots) -> list[str]:
    """The rule functions the operations are built from, one by one."""
    state = build_state(case.profile, slots, case.state)
    a, slot = case.args["account_id"], case.args["market_id"]
    account, market_id = state.account(a), slots[slot]
    problems = []

    def same(what: str, encoded, reference) -> None:
        got = evaluate(encoded)
        if got != reference:
            problems.append(f"{what}: encoding {got}, reference {reference}")

    try:
        if case.op == "margin":
            same("equity", E.equity(sym, a), ref.equity_quote(account, state.marks, state.profile))
            same("maintenance", E.account_maintenance(sym, a),
                 ref.account_maintenance_margin_quote(account, state.marks, state.profile))
            same("free collateral", E.free_collateral(sym, a),
                 ref.free_collateral_quote(state, account))
            same("liquidatable", E.is_liquidatable(sym, a), ref.is_liquidatable(account, state))
            same("below backstop", E.is_below_backstop(sym, a),
                 ref.is_below_backstop(account, state))
            same("withdrawals gated", E.withdrawals_gated(sym), ref.withdrawals_gated(state))
            for s in MARKET_SLOTS:
                m = state.market(slots[s])
                lots = account.position(slots[s])
                n = ref.notional_quote(lots, state.marks[slots[s]], m)
                oi = ref.open_interest_quote(state, slots[s])
                same(f"open interest {s}", E.open_interest(sym, s), oi)
                same(f"initial {s}", E.initial_margin(sym.market(s), E.val(n), E.val(oi),
                                                      E.val(abs(lots))),
                     ref.initial_margin_quote(m, n, oi, lots))
                same(f"funding owed {s}", E.funding_owed(E.val(lots * state.marks[slots[s]]
                                                                * m.value_per_lot_tick),
                                                         E.val(-3_333)),
                     ref.funding_owed_quote(lots * state.marks[slots[s]] * m.value_per_lot_tick,
                                            -3_333))
        elif account.position(market_id) == 0:
            return []
        elif case.op == "liquidation_size" and \
                case.profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
            try:  # no step of one market: the encoding has no size, the reference refuses
                ref.liquidation_size_lots(account, market_id, state)
                problems.append("the reference sized a step of one market under account_share")
            except Rejection as refused:
                if refused.code != ResultCode.POLICY_FORBIDS:
                    problems.append(f"liquidation size: the reference refused {refused.code.name},"
                                    " not POLICY_FORBIDS")
        elif case.op == "liquidation_size":
            same("liquidation size", E.liquidation_size(sym, a, slot),
                 ref.liquidation_size_lots(account, market_id, state))
        elif case.op == "adl_receive":
            lots = abs(account.position(market_id))
            peak = case.args.get("fund_peak_quote", 0)
            for take in {1, lots // 2 or 1, lots}:
                same(f"adl receive for {take} lots, fund peak {peak}",
                     E.adl_receive(sym, a, slot, E.val(take), z3.Int("arg_fund_peak")),
                     deleveraging.adl_receive_quote(account, market_id, take, state, peak))
        elif case.op == "liquidation_price":
            market = state.market(market_id)
            others = [m for m in account.positions if m != market_id]
            if others or market.min_maint_margin_quote:
                return []
            threshold = ref.liquidation_price(account, market_id, state.marks, state.profile)
            # the one-tier formula applies when the root lies in the first tier
            tiers, size = market.tiers, abs(account.position(market_id))
            if len(tiers) > 1 and (size >= tiers[1].floor_lots if market.tier_basis == "size"
                                   else size * threshold.exact * market.value_per_lot_tick
                                   >= tiers[1].floor_notional_quote):
                return []
            same("liquidation price ticks", E.liquidation_price_ticks_one_tier(sym, a, slot),
                 threshold.ticks)
    except LiqspecError as error:
        if error.code == ResultCode.OVERFLOW:
            return []
        raise
    return problems


# -- campaigns -------------------------------------------------------------------------------------

@dataclass
class OperationCheck:
    """The seeded fidelity campaign of one operation: how many cases ran, and the first drift."""

    op: str
    cases: int
    seed: int
    drift: tuple[Case, list[str]] | None = None

    def describe(self) -> str:
        """The drift (what differs, then the case that shows it), or "" if none."""
        if self.drift is None:
            return ""
        case, problems = self.drift
        return (f"{self.op} drifts from the installed reference (case {self.cases} of seed "
                f"{self.seed}): " + "; ".join(problems) + "\n  " + case.describe())


def check_operation(op: str, examples: int = 60, seed: int = 0) -> OperationCheck:
    """Check ``examples`` seeded cases of ``op`` (``random.Random(f"{seed}:{op}")``: no other
    randomness, so every run checks the same cases), stopping at the first drift."""
    rng = random.Random(f"{seed}:{op}")
    for n in range(1, examples + 1):
        case = generate_case(rng, op)
        problems = _problems(case)
        if problems:
            return OperationCheck(op, n, seed, (case, problems))
    return OperationCheck(op, examples, seed)


def _problems(case: Case) -> list[str]:
    """The drifts one case shows; a crash in either side is a drift too."""
    try:
        return check_case(case)
    except Exception as error:  # noqa: BLE001
        return [f"{type(error).__name__}: {error}"]


def campaign(examples_per_op: int = 50, seed: int = 0, ops=OPERATIONS,
             stop_at_first: bool = True) -> list[tuple[Case, list[str]]]:
    """Check ``examples_per_op`` seeded cases of every operation; the failing ones."""
    failures = []
    for op in ops:
        if stop_at_first:
            found = check_operation(op, examples_per_op, seed).drift
            if found is not None:
                return [found]
            continue
        rng = random.Random(f"{seed}:{op}")
        for _ in range(examples_per_op):
            case = generate_case(rng, op)
            problems = _problems(case)
            if problems:
                failures.append((case, problems))
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m liqspec.proofs.fidelity",
        description="Compare the proofs' encodings with the reference on generated cases.")
    parser.add_argument("--examples", type=int, default=60, help="cases per operation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="report every failing case")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    failures = campaign(args.examples, args.seed, stop_at_first=not args.all)
    for case, problems in failures:
        print(f"DRIFT in {case.op}: {problems[0]}\n  {case.describe()}\n  "
              + "\n  ".join(problems))
    print(f"fidelity: {len(OPERATIONS)} operations x {args.examples} cases, "
          f"{len(failures)} drifting, {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
