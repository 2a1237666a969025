"""Mutation testing: deliberate bugs in the reference, and which checks catch them.

Each mutant of :data:`CATALOGUE` is one small source edit to one reference module: a rounding
turned in the account's favour, the fee cap dropped, the fund allowed below zero, the trigger at
equality, deleveraging on the wrong side, a residual dropped, a journal entry skipped... For each,
:func:`run_mutant` copies the installed ``liqspec`` package (the compiled extension too) into a
temporary directory, applies the edit to the copy, and runs against it, in subprocesses with
``PYTHONPATH`` pointing at the copy:

* the proofs' fidelity campaign (``python -m liqspec.proofs.fidelity``): the theorems are proved
  about encodings that must compute what the reference computes, so a mutant that changes any
  result, balance, amount or journal entry the encodings model drifts from them; and
* a targeted, fast subset of the test suite (the per-rule unit tests, the bad-input table, the
  venues' worked examples and the stateful invariant machine), when a ``tests`` directory is given.

A mutant is caught if either fails. Neither was written for a particular mutant: the fidelity
campaign aims at every boundary of every rule (see :mod:`.fidelity`), so it judges mutants
nobody has catalogued as well. Every catalogued mutant must be caught (``liqspec mutate`` exits 1
otherwise).

The proofs alone: ``liqspec prove`` checks the encodings each theorem is about against the
installed reference before a verdict (:mod:`.prover`), so it fails on a mutant that changes what
an encoded operation computes. Each mutant states which theorems that makes fail
(``covered_by``), or why no theorem covers it (``not_covered_by_proofs``: the rule lives in a
module no theorem encodes, such as the order-book walk, the cascade driver or an ADL ranking);
:func:`run_prove` runs ``liqspec prove`` on one mutant, ``liqspec mutate --by-proofs`` on every
one, checking the catalogue's claims, and :func:`proof_coverage` gives the claims as data for
the docs site.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path



R = TypeVar("R")  # what one run on a mutant returns

@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # what the edit breaks, in words
    module: str  # file inside the liqspec package
    old: str  # exact text, found exactly once
    new: str
    #: the theorems ``liqspec prove`` reports as not proved (DRIFTED) on this mutant, found by
    #: ``liqspec mutate --by-proofs``; empty when no theorem covers it
    covered_by: tuple[str, ...] = ()
    #: why no theorem covers this mutant (set exactly when ``covered_by`` is empty)
    not_covered_by_proofs: str = ""


# why no theorem covers a mutant, where several mutants share the reason
BOOK_WALK_NOT_ENCODED = (
    "the order-book walk of a liquidation order (reference/book.py) has no encoding: "
    "T-CASCADE-BMC lets each step take any lots from any level, so it holds for every walk "
    "and pins none")
MARK_RULES_NOT_ENCODED = (
    "the cascade's mark rules (reference/marks.py) have no encoding: T-CASCADE-BMC allows "
    "any mark move between rounds")
ADL_RANKING_IS_POLICY = (
    "ADL rankings are policy, not invariants: T-ADL and T-ADL-SIDE hold for every order, and "
    "the fidelity check walks the reference's own ranking, so no theorem pins the order")

#: why a mutant no theorem drifts on: the fidelity campaign samples every profile at random, so a
#: profile added or changed moves which cases it reaches (``liqspec mutate --by-proofs`` measures)
UNREACHED_BY_FIDELITY = ("the seeded fidelity campaign (60 cases per operation over every "
                         "profile) did not reach the case this edit changes when the catalogue "
                         "was last measured, so no theorem drifts; the test subset catches it")

# the theorems that settle a liquidation's deficit (LIQ-INSURANCE-1, then LIQ-SOCIAL-1 or
# deleveraging): each of them catches every mutant of the settlement below
SETTLEMENT_THEOREMS = ("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-ADL",
                       "T-ADL-SIDE", "T-ADL-DRAWDOWN", "T-PRO-RATA", "T-ROUNDING", "T-CASCADE-BMC",
                       "T-SHARE")


# the theorems whose fidelity campaigns deleverage (the fund's drawdown, LIQ-ADL-5, is read
# only there and in LIQ-ADL-4's price): each of them catches every mutant of the rule below
DRAWDOWN_THEOREMS = ("T-FUND-PAYOUT", "T-ADL", "T-ADL-SIDE", "T-ADL-DRAWDOWN", "T-PRO-RATA")


#: liquidate's fill, the liquidator's fee and the counterparty's check, with the surplus taken
#: after them (as it is) or before the fill (the mutant fee-cap-before-fill)
_SURPLUS = "        surplus = equity_quote(account, state.marks, state.profile)\n"
_FEE_CAP_BLOCK = (
    "        before = margin_before(state, counterparty_id, market_id)\n"
    "{before}"
    "        fill(state, market_id, buyer, seller, size, amount, fill_price_ticks, "
    "\"LIQ-EXEC-2\")\n"
    "        reward = liquidator_fee_quote(amount, market.liquidator_fee_ppm) if two_fees else 0\n"
    "        if reward > 0:  # the counterparty's margin is checked with its reward "
    "(as Drift does)\n"
    "            transfer(state, account_id, counterparty_id, reward, \"LIQ-FEE-3\")\n"
    "        if counterparty.role == TRADER:  # only traders are margined\n"
    "            check_margin_after_trade(state, counterparty_id, market_id, before)\n"
    "{after}")


CATALOGUE: tuple[Mutant, ...] = (
    Mutant("ppm-ceil-to-floor", "requirements and fees round in the account's favour",
           "reference/arithmetic.py",
           "return div_ceil(amount * rate_ppm, PPM)", "return div_floor(amount * rate_ppm, PPM)",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT",
                       "T-ROUNDING", "T-CASCADE-BMC")),
    Mutant("fee-uncapped", "the liquidation fee is not capped by the surplus",
           "reference/liquidation.py",
           "return min(wanted, max(surplus_quote, 0))", "return wanted",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-ROUNDING",
                       "T-CASCADE-BMC")),
    Mutant("fund-below-zero", "the insurance fund pays the whole deficit, going below zero",
           "reference/insurance.py",
           "paid = min(deficit, state.holders[INSURANCE_FUND])", "paid = deficit",
           covered_by=SETTLEMENT_THEOREMS),
    Mutant("fee-cap-before-fill", "the fee cap is computed on the surplus before the fill, "
           "not after it", "reference/liquidation.py",
           _FEE_CAP_BLOCK.format(before="", after=_SURPLUS),
           _FEE_CAP_BLOCK.format(before=_SURPLUS, after=""),
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-ROUNDING",
                       "T-CASCADE-BMC")),
    Mutant("fund-pays-one-more", "the insurance fund may pay one quantum more than it holds",
           "reference/insurance.py",
           "paid = min(deficit, state.holders[INSURANCE_FUND])",
           "paid = min(deficit, state.holders[INSURANCE_FUND] + 1)",
           covered_by=SETTLEMENT_THEOREMS),
    Mutant("write-off-to-fee-sink", "a write-off is booked against the fee sink instead of the "
           "socialized-loss holder", "reference/insurance.py",
           'transfer(state, SOCIALIZED_LOSS, account.account_id, written_off, "LIQ-SOCIAL-1")',
           'transfer(state, "fee_sink", account.account_id, written_off, "LIQ-SOCIAL-1")',
           covered_by=SETTLEMENT_THEOREMS),
    Mutant("trigger-at-equality", "an account exactly at maintenance is liquidatable",
           "reference/liquidation.py",
           "equity_quote(account, state.marks, state.profile), state.profile) < maintenance",
           "equity_quote(account, state.marks, state.profile), state.profile) <= maintenance",
           covered_by=("T-WITHDRAW-MARGIN", "T-TRADE-HEALTH", "T-LIQ", "T-NO-FALSE-LIQ",
                       "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-BACKSTOP", "T-ROUNDING",
                       "T-MM-POSITIVE", "T-LIQ-PRICE", "T-CASCADE-BMC", "T-SHARE")),
    Mutant("trigger-ignores-equality", "a venue that liquidates at equality (LIQ-TRIGGER-3) "
           "is held to the strict trigger", "reference/margin.py",
           "return equity - 1 if profile.trigger == Trigger.AT_OR_BELOW else equity",
           "return equity",
           not_covered_by_proofs=(
               "the okx domain's theorems hold of the encoding at equality (T-NO-FALSE-LIQ's "
               "boundary, T-WITHDRAW-MARGIN), but the prove run's fidelity campaign, 60 cases "
               "an operation over 21 profiles, reaches okx at equality too rarely to see the "
               "reference depart there (aimed at okx alone it does: 12 of 200 margin cases); "
               "the test suite catches it")),
    Mutant("adl-wrong-side", "auto-deleveraging takes from traders on the bankrupt side",
           "reference/deleveraging.py",
           "and sign(a.position(market_id)) == -side),",
           "and sign(a.position(market_id)) == side),",
           covered_by=("T-FUND-PAYOUT", "T-ADL", "T-ADL-SIDE", "T-ADL-DRAWDOWN", "T-PRO-RATA")),
    Mutant("funding-residual-dropped", "the funding pool's rounding residual is not swept",
           "reference/funding.py",
           'residual = sweep_residual(state, FUNDING_POOL, "LIQ-FUNDING-2")', "residual = 0",
           covered_by=("T-FUNDING",)),
    Mutant("journal-transfer-skipped", "a transfer moves quote without a journal entry",
           "reference/ledger.py",
           "    state.journal.append(Transfer(state.seq, source, destination, amount_quote, "
           "rule_id))", "    pass",
           covered_by=("T-DEPOSIT", "T-WITHDRAW", "T-WITHDRAW-MARGIN", "T-TOPUP", "T-TRADE",
                       "T-TRADE-HEALTH", "T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP",
                       "T-FUND-PAYOUT", "T-BACKSTOP", "T-ADL", "T-ADL-SIDE", "T-ADL-DRAWDOWN",
                       "T-PRO-RATA", "T-SOCIALIZE", "T-FUNDING", "T-ROUNDING", "T-CASCADE-BMC",
                       "T-SHARE")),
    Mutant("funding-owed-floor", "funding owed rounds down (in the payer's favour)",
           "reference/funding.py",
           "return div_ceil(exact_numerator, PPM)", "return div_floor(exact_numerator, PPM)",
           covered_by=("T-WITHDRAW-MARGIN", "T-TRADE-HEALTH", "T-NO-FALSE-LIQ", "T-BACKSTOP",
                       "T-FUNDING", "T-ROUNDING", "T-MM-POSITIVE", "T-LIQ-PRICE", "T-SHARE")),
    Mutant("socialized-charge-floor", "socialized-loss charges round down, leaving bad debt",
           "reference/socialization.py",
           "charge = div_ceil(loss * abs(payer.position(market_id)), total_lots)",
           "charge = loss * abs(payer.position(market_id)) // total_lots",
           covered_by=("T-SOCIALIZE",)),
    Mutant("socialize-both-sides-longs-only", "socializing on both sides charges only the longs",
           "reference/socialization.py",
           "and side in (0, sign(a.position(market_id)))),",
           "and sign(a.position(market_id)) == (side or 1)),",
           covered_by=("T-SOCIALIZE",)),
    Mutant("socialize-part-charges-all", "charging a part of the recorded bad debt charges "
           "all of it", "reference/socialization.py",
           "loss = -state.holders[SOCIALIZED_LOSS] if amount_quote is None else amount_quote",
           "loss = -state.holders[SOCIALIZED_LOSS]",
           covered_by=("T-SOCIALIZE",)),
    Mutant("write-off-borne-by-own-side", "a cascade charges a write-off to the bankrupt "
           "account's own side, not the side that profited", "reference/cascade.py",
           "return market_id, 0 if both else -sides[market_id]",
           "return market_id, 0 if both else sides[market_id]",
           not_covered_by_proofs="which side bears a cascade's write-off is policy: T-SOCIALIZE "
           "holds for every side, and T-CASCADE-BMC does not model socialization in a cascade"),
    Mutant("cover-shortage-ignores-fund-fee", "a cover_shortage step is sized as if the fund "
           "took no fee, so it closes too few lots to cover the shortage",
           "reference/shortage.py",
           "freed_rate = rates.margin_rate - rates.liquidator_rate - rates.fund_rate",
           "freed_rate = rates.margin_rate - rates.liquidator_rate",
           covered_by=(),
           not_covered_by_proofs=UNREACHED_BY_FIDELITY),
    Mutant("implied-fund-fee-whole", "the fund's implied rate keeps all of what the shortage "
           "leaves, not 19/20 of it",
           "reference/shortage.py",
           "implied = max(margin_rate - liquidator_rate - shortage_rate, 0) * kept // of",
           "implied = max(margin_rate - liquidator_rate - shortage_rate, 0)",
           covered_by=(),
           not_covered_by_proofs=UNREACHED_BY_FIDELITY),
    Mutant("tier-floor-exclusive", "a notional equal to a tier floor stays in the lower tier",
           "reference/margin.py",
           "if floor <= key:", "if floor < key:",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-SIZE", "T-FEE-CAP", "T-ADL",
                       "T-ADL-ZERO")),
    Mutant("portion-rounds-down", "a portion liquidation closes fewer lots than its share",
           "reference/liquidation.py",
           "return max(1, div_ceil(lots * profile.portion_ppm, PPM))",
           "return max(1, lots * profile.portion_ppm // PPM)",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-SIZE", "T-FEE-CAP", "T-FUND-PAYOUT",
                       "T-ROUNDING", "T-CASCADE-BMC")),
    Mutant("tier-step-keeps-one-more", "a tier-step liquidation keeps a lot too many",
           "reference/liquidation.py",
           "return div_ceil(floor, mark * market.value_per_lot_tick) - 1",
           "return div_ceil(floor, mark * market.value_per_lot_tick)",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-SIZE", "T-FEE-CAP")),
    Mutant("two-tier-step-one-tier", "OKX's step brings a position one tier down, not two",
           "reference/liquidation.py",
           "return lots - lots_kept_below(account, market_id, state, market.tiers[index - 1])",
           "return lots - lots_kept_below(account, market_id, state, market.tiers[index])",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-SIZE", "T-FEE-CAP")),
    Mutant("two-tier-step-never-whole", "OKX's step never closes a position whole for being "
           "past the trigger at the first tier's rate", "reference/liquidation.py",
           "if index < 2 or past_at_first_tier(account, market_id, state):",
           "if index < 2:",
           not_covered_by_proofs=(
               "the seeded fidelity campaign reaches a two_tier_step position in its third tier "
               "or above past the trigger at the first tier's rate too rarely to see it (aimed "
               "at the two two_tier_step profiles, 285 of 3,000 liquidation_size cases are); "
               "the venue examples catch it")),
    Mutant("backstop-at-maintenance", "the backstop takes over any liquidatable account",
           "reference/liquidation.py",
           "equity_quote(account, state.marks, state.profile) * den < num * maintenance",
           "equity_quote(account, state.marks, state.profile) < maintenance",
           covered_by=("T-FUND-PAYOUT", "T-BACKSTOP")),
    Mutant("withdraw-not-gated", "withdrawals pass while a trader has negative equity",
           "reference/collateral.py", "if withdrawals_gated(state):", "if False:",
           covered_by=("T-WITHDRAW", "T-WITHDRAW-MARGIN")),
    Mutant("free-collateral-on-maintenance", "free collateral uses maintenance, not initial",
           "reference/margin.py",
           "initial = account_initial_margin_quote(account, state.marks, state.profile, oi)\n"
           "    return checked(equity - checked_initial_quote(",
           "initial = account_maintenance_margin_quote(account, state.marks, state.profile)\n"
           "    return checked(equity - checked_initial_quote(",
           covered_by=("T-WITHDRAW", "T-WITHDRAW-MARGIN", "T-TRADE-HEALTH", "T-NO-FALSE-LIQ",
                       "T-BACKSTOP", "T-ROUNDING", "T-MM-POSITIVE", "T-LIQ-PRICE", "T-SHARE")),
    Mutant("write-off-skipped", "a deficit beyond the fund is left on the flat account",
           "reference/insurance.py", "if written_off > 0:", "if written_off > 0 and False:",
           covered_by=SETTLEMENT_THEOREMS),
    Mutant("adl-share-ceil", "the bankrupt account's ADL share of equity rounds up",
           "reference/prices.py",
           "div_floor(equity * maintenance_released, total_maintenance)",
           "-div_floor(-equity * maintenance_released, total_maintenance)",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-ADL",
                       "T-ADL-SIDE", "T-ADL-DRAWDOWN", "T-ADL-ZERO", "T-PRO-RATA", "T-ROUNDING",
                       "T-CASCADE-BMC")),
    Mutant("initial-below-maintenance", "the initial requirement may be below maintenance",
           "reference/margin.py",
           "return checked(max(tiered, maintenance_margin_quote(market, notional, lots)),",
           "return checked(tiered,",
           covered_by=("T-WITHDRAW", "T-WITHDRAW-MARGIN", "T-TRADE", "T-TRADE-HEALTH")),
    Mutant("reduce-only-any-health", "a reducing trade may widen the maintenance shortfall",
           "reference/trading.py",
           "if equity < 0 or equity - maintenance < before.equity_quote - before.maintenance_quote:",
           "if equity < 0:",
           covered_by=("T-TRADE", "T-TRADE-HEALTH")),
    Mutant("all-surplus-gain-sign", "the all-surplus fee measures the fill's gain backwards",
           "reference/liquidation.py",
           "(fill_price_ticks - bankruptcy)", "(bankruptcy - fill_price_ticks)",
           covered_by=("T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP", "T-FUND-PAYOUT", "T-ROUNDING",
                       "T-CASCADE-BMC")),
    Mutant("residual-sweep-off-by-one", "a residual of one quantum is not swept",
           "reference/ledger.py", "    if residual > 0:\n", "    if residual > 1:\n",
           covered_by=("T-FUNDING",)),
    Mutant("rollback-keeps-journal", "a rejected operation keeps its journal entries",
           "reference/state.py", 'del state.journal[undo["journal"]:]', "pass",
           covered_by=("T-TRADE", "T-TRADE-HEALTH", "T-LIQ", "T-NO-FALSE-LIQ", "T-PROGRESS", "T-FEE-CAP",
                       "T-FUND-PAYOUT", "T-ROUNDING", "T-CASCADE-BMC")),
    Mutant("oi-scaling-rounds-up", "the open-interest-scaled initial rate rounds up",
           "reference/margin.py",
           "rise = div_floor((whole - tier.init_margin_ppm)",
           "rise = -div_floor(-(whole - tier.init_margin_ppm)",
           covered_by=(),
           not_covered_by_proofs=UNREACHED_BY_FIDELITY),
    Mutant("entry-basis-ignored", "an isolated account of an entry-basis profile is margined "
           "at the mark", "reference/margin.py",
           "return at_entry and account.isolated_market is not None",
           "return False",
           not_covered_by_proofs=("the encodings model cross accounts, whose requirement is at the "
                                  "mark under either basis (LIQ-TIER-6); Bybit's worked examples "
                                  "catch it")),
    Mutant("bankrupt-check-inclusive", "deleveraging an account at exactly zero equity",
           "reference/deleveraging.py", "        if equity >= 0:\n", "        if equity > 0:\n",
           covered_by=(),
           not_covered_by_proofs=UNREACHED_BY_FIDELITY),
    # -- the trader's leverage
    Mutant("leverage-requirement-floored", "the requirement at a chosen leverage rounds down",
           "reference/margin.py", "max(div_ceil(notional, leverage), venue)",
           "max(div_floor(notional, leverage), venue)",
           not_covered_by_proofs=("no symbolic account has a chosen leverage: LIQ-LEVERAGE-2 is "
                                  "tested (tests/test_leverage.py), not proved")),
    Mutant("lowering-leverage-unchecked", "a lower leverage is accepted without the margin for it",
           "reference/leverage.py", "        if after > before:\n", "        if False:\n",
           not_covered_by_proofs=("no theorem encodes set_leverage (LIQ-LEVERAGE-4); it is tested "
                                  "(tests/test_leverage.py), not proved")),
    # -- prices, books and cascades
    Mutant("price-min-margin-ignored", "the liquidation price ignores the minimum requirement",
           "reference/prices.py",
           "other_maintenance + market.min_maint_margin_quote - constant",
           "other_maintenance - constant",
           not_covered_by_proofs=("T-LIQ-PRICE is about a one-tier position with no minimum requirement "
                                  "(the only case its fidelity check compares); the liquidation price "
                                  "under a minimum requirement has no theorem")),
    Mutant("walk-affordable-ceil", "the fund-limited book walk takes a lot the fund cannot pay",
           "reference/book.py",
           "affordable = div_floor(equity + fund, -per_lot)",
           "affordable = div_ceil(equity + fund, -per_lot)",
           not_covered_by_proofs=BOOK_WALK_NOT_ENCODED),
    Mutant("walk-forgets-deficit", "the book walk does not carry a level's deficit to the next",
           "reference/book.py", "        equity += take * per_lot\n", "        equity += 0\n",
           not_covered_by_proofs=BOOK_WALK_NOT_ENCODED),
    Mutant("walk-limits-fills-at-mark", "a fill at the mark is limited by the fund",
           "reference/book.py",
           "if within_fund and per_lot < 0:", "if within_fund and per_lot <= 0:",
           not_covered_by_proofs=BOOK_WALK_NOT_ENCODED),
    Mutant("order-goes-on-when-healthy", "a liquidation order keeps filling once healthy",
           "reference/book.py",
           "            if not is_liquidatable(account, state):\n                break",
           "            if False:\n                break",
           not_covered_by_proofs=BOOK_WALK_NOT_ENCODED),
    Mutant("band-low-rounds-away", "the mark band's lower bound rounds away from the index",
           "reference/marks.py",
           "return (div_ceil(index_ticks * (PPM - rule.band_ppm), PPM),",
           "return (div_floor(index_ticks * (PPM - rule.band_ppm), PPM),",
           not_covered_by_proofs=MARK_RULES_NOT_ENCODED),
    Mutant("band-high-rounds-away", "the mark band's upper bound rounds away from the index",
           "reference/marks.py",
           "div_floor(index_ticks * (PPM + rule.band_ppm), PPM))",
           "div_ceil(index_ticks * (PPM + rule.band_ppm), PPM))",
           not_covered_by_proofs=MARK_RULES_NOT_ENCODED),
    Mutant("mark-first-fill", "the mark follows a round's first fill, not its last",
           "reference/cascade.py", "fills[-1] if fills else None", "fills[0] if fills else None",
           not_covered_by_proofs=MARK_RULES_NOT_ENCODED),
    Mutant("shock-path-ceil", "the shock path rounds the index up", "reference/cascade.py",
           "path = [div_floor(start * (PPM * steps - drop_ppm * k), PPM * steps)",
           "path = [div_ceil(start * (PPM * steps - drop_ppm * k), PPM * steps)",
           not_covered_by_proofs=("the shock price path (reference/cascade.py) has no encoding: the "
                                  "theorems quantify over every mark")),
    Mutant("cascade-markets-reversed", "an account's markets are processed in reverse ID order",
           "reference/cascade.py",
           "    by_book = sorted(account.positions)  #",
           "    by_book = sorted(account.positions, reverse=True)  #",
           not_covered_by_proofs=("the cascade's processing order (reference/cascade.py) has no encoding:"
                                  " T-CASCADE-BMC holds for every processing order")),
    Mutant("summary-fund-min-is-max", "the cascade summary's fund minimum is a maximum",
           "reference/cascade.py",
           "tally.fund_min = min(tally.fund_min, state.holders[INSURANCE_FUND])",
           "tally.fund_min = max(tally.fund_min, state.holders[INSURANCE_FUND])",
           not_covered_by_proofs=("a cascade's summary is a report computed from the trace, not state: no"
                                  " theorem is about it")),
    Mutant("liquidation-map-keeps-crossed", "the liquidation map lists accounts already past it",
           "reference/cascade.py",
           "if threshold.ticks <= 0 or threshold.crossed(mark):", "if threshold.ticks <= 0:",
           not_covered_by_proofs=("the liquidation map is a report, not state: no theorem is about it")),
    # -- auto-deleveraging rankings and fills
    Mutant("pnl-percent-signed-cost", "PnL% divides by the signed entry cost (shorts inverted)",
           "reference/deleveraging.py",
           "cost = abs(account.cost_quote.get(market_id, 0))\n    if cost == 0:",
           "cost = account.cost_quote.get(market_id, 0)\n    if cost == 0:",
           not_covered_by_proofs=ADL_RANKING_IS_POLICY),
    Mutant("margin-ratio-counts-losses", "the Binance ADL score counts a loss",
           "reference/deleveraging.py",
           "pnl_percent = Fraction(max(0, pnl), max(one_unit, wallet))",
           "pnl_percent = Fraction(pnl, max(one_unit, wallet))",
           not_covered_by_proofs=ADL_RANKING_IS_POLICY),
    Mutant("margin-ratio-zero-equity", "the Binance ADL score divides by zero equity",
           "reference/deleveraging.py",
           "    if equity <= 0:\n        return Fraction(0)",
           "    if equity < 0:\n        return Fraction(0)",
           not_covered_by_proofs=ADL_RANKING_IS_POLICY),
    Mutant("price-ratio-short-inverted", "a short's Hyperliquid ratio is value over cost",
           "reference/deleveraging.py",
           "else Fraction(cost, max(value, 1))", "else Fraction(value, cost)",
           not_covered_by_proofs=ADL_RANKING_IS_POLICY),
    Mutant("seeded-start-ignores-seq", "the seeded ADL start ignores the sequence number",
           "reference/deleveraging.py",
           "_splitmix64(state.profile.adl_seed ^ state.seq)",
           "_splitmix64(state.profile.adl_seed)",
           not_covered_by_proofs=ADL_RANKING_IS_POLICY),
    # -- deleveraging on the fund's drawdown (LIQ-ADL-5)
    Mutant("drawdown-edge-exclusive", "a fall of exactly the drawdown share (OKX's 30%) does "
           "not count", "reference/deleveraging.py",
           "(fund_peak_quote - fund) * PPM >= ppm * fund_peak_quote",
           "(fund_peak_quote - fund) * PPM > ppm * fund_peak_quote",
           covered_by=DRAWDOWN_THEOREMS + ("T-ADL-ZERO",)),
    Mutant("drawdown-keeps-bankruptcy-price", "deleveraging in drawdown fills at the "
           "bankruptcy price, not the mark", "reference/deleveraging.py",
           "return state.profile.adl_price == AdlPrice.MARK or fund_in_drawdown(state, "
           "fund_peak_quote)",
           "return state.profile.adl_price == AdlPrice.MARK",
           covered_by=DRAWDOWN_THEOREMS + ("T-ADL-ZERO",)),
    Mutant("drawdown-waits-for-the-fund", "in drawdown, deleveraging is still refused while the "
           "fund can pay", "reference/deleveraging.py",
           "if not fund_in_drawdown(state, fund_peak_quote) and closable_within_fund(",
           "if closable_within_fund(",
           covered_by=DRAWDOWN_THEOREMS),
    Mutant("adl-fill-records-mark", "an ADL fill at the bankruptcy value records a price",
           "reference/deleveraging.py",
           "price = state.marks[market_id] if at_mark else None",
           "price = state.marks[market_id]",
           not_covered_by_proofs=("the encodings model the journal by its net effect on balances and "
                                  "positions; the price recorded on an ADL fill is not modelled")),
    # -- liquidation by account share
    Mutant("share-lots-round-down", "a share closes fewer lots than its fraction (rounded down)",
           "reference/share_liquidation.py",
           "return div_ceil(abs(lots) * share_ppm, PPM)", "return abs(lots) * share_ppm // PPM",
           covered_by=("T-SHARE",)),
    Mutant("share-penalty-uncapped", "the share penalty is not capped by the equity",
           "reference/share_liquidation.py",
           "return min(div_ceil(fee_weighted * share_ppm, PPM * PPM), max(equity_quote, 0))",
           "return div_ceil(fee_weighted * share_ppm, PPM * PPM)",
           covered_by=("T-SHARE",)),
    # -- ledger, atomicity and domains
    Mutant("flip-cost-ceil", "a flipped position's cost basis rounds up", "reference/ledger.py",
           "cost = div_floor(traded_cost * abs(new), abs(delta_lots))",
           "cost = -div_floor(-traded_cost * abs(new), abs(delta_lots))",
           not_covered_by_proofs=("the cost basis of a flipped position moves no money; no seeded "
                                  "fidelity case flips a position whose cost does not divide evenly")),
    Mutant("rollback-keeps-holders", "a rolled-back operation keeps holder balances",
           "reference/state.py",
           '        state.holders.update(undo["holders"])\n', "        pass\n",
           not_covered_by_proofs=("no seeded fidelity case is rejected after moving a holder's balance")),
    Mutant("rate-bound-exclusive", "a rate of exactly -100% is refused", "reference/validation.py",
           "_within(rate_ppm, what, -PPM, PPM,", "_within(rate_ppm, what, -PPM + 1, PPM,",
           covered_by=("T-FUNDING",)),
    Mutant("price-bound-exclusive", "a price of exactly 2^63-1 ticks is refused",
           "reference/validation.py",
           "_within(price, what, 1, INT64_MAX,", "_within(price, what, 1, INT64_MAX - 1,",
           not_covered_by_proofs=("the encodings leave out the int64 domain checks (LIQ-DOMAIN-1), so a "
                                  "bound at 2^63-1 is not modelled; the fidelity check skips cases the "
                                  "reference rejects as out of range")),
)

#: the targeted test subset: per-rule unit tests, bad inputs, venue examples, the invariant machine
#: (pytest stops at the first failure, so the order decides only how soon a mutant is caught)
TEST_FILES = (
    "test_units_and_arithmetic.py", "test_margin.py", "test_liquidation.py",
    "test_ledger_and_invariants.py", "test_socialization_and_funding.py",
    "test_deleveraging.py", "test_trading_and_collateral.py", "test_leverage.py",
    "test_prices.py",
    "test_bad_inputs.py", "test_cascade.py", "test_venue_examples.py",
    # last: the slowest (a generated state machine), reached only by mutants nothing else catches
    "test_stateful.py",
)
#: tests of the subset left out for time (a long generated campaign)
DESELECT = "not generated_cascades"


@dataclass
class MutantResult:
    mutant: Mutant
    fidelity: str  # "caught: <first drift>" | "passed" | "skipped"
    tests: str
    seconds: float

    @property
    def caught(self) -> bool:
        return self.fidelity.startswith("caught") or self.tests.startswith("caught")


def package_dir() -> Path:
    """The installed ``liqspec`` package's folder (this module is liqspec/proofs/mutation.py)."""
    return Path(__file__).resolve().parents[1]


def apply(package: Path, mutant: Mutant) -> None:
    """Edit the copy: the old text must occur exactly once (a refactor that moves it fails here,
    loudly, rather than leaving a mutant that mutates nothing)."""
    path = package / mutant.module
    text = path.read_text()
    count = text.count(mutant.old)
    if count != 1:
        raise ValueError(f"mutant {mutant.name}: expected the text once in {mutant.module}, "
                         f"found it {count} times: {mutant.old!r}")
    path.write_text(text.replace(mutant.old, mutant.new))


def _copy(into: Path) -> Path:
    target = into / "liqspec"
    shutil.copytree(package_dir(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["CI"] = "true"  # the derandomized hypothesis profile: every run checks the same examples
    # a mutant is in the reference: the suite's [fast] copies of each test (tests/conftest.py)
    # would judge the compiled engine, which the mutant does not touch
    env["LIQSPEC_IMPLEMENTATIONS"] = "reference"
    return env


def _first_line(output: str, pattern: str) -> str:
    for line in output.splitlines():
        if re.search(pattern, line):
            return line.strip()[:160]
    return output.strip().splitlines()[-1][:160] if output.strip() else "(no output)"


def _check_copy(root: Path, env: dict[str, str]) -> None:
    """The subprocesses must import the copy, not the installed package."""
    found = subprocess.run([sys.executable, "-c",
                            "import liqspec.reference as r; print(r.__file__)"],
                           env=env, capture_output=True, text=True, cwd=root, check=True)
    if not Path(found.stdout.strip()).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"the mutant run imported {found.stdout.strip()}, not the copy")


def run_checks(root: Path, tests_dir: Path | None, examples: int, seed: int,
               timeout_s: float = 600) -> tuple[str, str]:
    """Run the fidelity campaign and the test subset against the package copy under ``root``."""
    env = _environment(root)
    _check_copy(root, env)
    fidelity = subprocess.run(
        [sys.executable, "-m", "liqspec.proofs.fidelity", "--examples", str(examples),
         "--seed", str(seed)], env=env, capture_output=True, text=True, cwd=root,
        timeout=timeout_s)
    fid = ("passed" if fidelity.returncode == 0 else
           "caught: " + _first_line(fidelity.stdout + fidelity.stderr, r"^DRIFT|Error")
           .removeprefix("DRIFT in "))
    if tests_dir is None:
        return fid, "skipped"
    files = [str(tests_dir / f) for f in TEST_FILES if (tests_dir / f).exists()]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-k", DESELECT,
         *files],
        env=env, capture_output=True, text=True, cwd=tests_dir.parent, timeout=timeout_s)
    if tests.returncode == 0:
        return fid, "passed"
    failed = _first_line(tests.stdout + tests.stderr, r"^FAILED|^ERROR")
    return fid, "caught: " + failed.split(" - ")[0].removeprefix("FAILED ").split("/")[-1]


def run_mutant(mutant: Mutant | None, tests_dir: Path | None, examples: int = 60,
               seed: int = 0) -> MutantResult:
    """One mutant (or, with None, the unmutated baseline) against the checks."""
    start = time.perf_counter()
    with mutated_copy(mutant) as root:
        fid, tests = run_checks(root, tests_dir, examples, seed)
    return MutantResult(mutant or BASELINE, fid, tests, time.perf_counter() - start)


#: what a result of the unmutated reference is reported as
BASELINE = Mutant("(none)", "the reference as it is", "", "", "")


@contextmanager
def mutated_copy(mutant: Mutant | None) -> Iterator[Path]:
    """A temporary folder holding a copy of the installed package with ``mutant`` applied (None:
    the unmutated baseline), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="liqspec-mutant-") as tmp:
        root = Path(tmp)
        package = _copy(root)
        if mutant is not None:
            apply(package, mutant)
        yield root


@dataclass
class ProofRun:
    """``liqspec prove`` alone, run on a mutant."""

    mutant: Mutant
    status: int  # the command's exit status
    not_proved: dict[str, str]  # theorem ID -> verdict, for every theorem not PROVED
    seconds: float
    output: str = ""

    @property
    def caught(self) -> bool:
        return self.status != 0

    @property
    def as_expected(self) -> bool:
        """Caught exactly where the catalogue says (or not caught where it says no theorem
        covers the mutant)."""
        return sorted(self.not_proved) == sorted(self.mutant.covered_by) and \
            self.caught == bool(self.mutant.covered_by)


def run_prove(mutant: Mutant | None, theorems: Sequence[str] = (), jobs: int = 1,
              extra: Sequence[str] = (), timeout_s: float = 3600) -> ProofRun:
    """``liqspec prove`` (only ``theorems`` if given) in a subprocess that imports a copy of the
    package with ``mutant`` applied (None: the unmutated baseline)."""
    import json

    start = time.perf_counter()
    with mutated_copy(mutant) as root:
        env = _environment(root)
        _check_copy(root, env)
        report_path = root / "report.json"
        command = [sys.executable, "-m", "liqspec", "prove", "--report", str(report_path), "-q",
                   "--jobs", str(jobs), *extra]
        for theorem_id in theorems:
            command += ["--theorem", theorem_id]
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root,
                              timeout=timeout_s)
        if not report_path.exists():
            raise RuntimeError(f"liqspec prove wrote no report (exit {done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-400:]}")
        saved = json.loads(report_path.read_text())
    not_proved = {t["id"]: t["verdict"] for t in saved["theorems"] if t["verdict"] != "PROVED"}
    return ProofRun(mutant or BASELINE, done.returncode, not_proved,
                    time.perf_counter() - start, done.stdout)


def run_catalogue_by_proofs(mutants: Sequence[Mutant], jobs: int = 2, prove_jobs: int = 1,
                            on_result: Callable[[ProofRun], None] | None = None
                            ) -> list[ProofRun]:
    """``liqspec prove`` alone on every mutant, ``jobs`` mutants at a time."""
    return _each_mutant(lambda m: run_prove(m, (), prove_jobs), mutants, jobs, on_result)


def _each_mutant(run: Callable[[Mutant], R], mutants: Sequence[Mutant], jobs: int,
                 on_result: Callable[[R], None] | None) -> list[R]:
    """``run`` on every mutant, ``jobs`` at a time; results (and ``on_result`` calls) in the
    mutants' order."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run, m) for m in mutants]
        results = []
        for future in futures:
            results.append(future.result())
            if on_result:
                on_result(results[-1])
    return results


def proof_coverage() -> list[dict]:
    """Per catalogued mutant: the theorems ``liqspec prove`` fails on it, or why none does (the
    data the docs site lists as the proofs' gaps; ``liqspec mutate --coverage`` prints it)."""
    return [{"mutant": m.name, "bug": m.bug, "module": m.module,
             "covered_by": list(m.covered_by),
             "not_covered_by_proofs": m.not_covered_by_proofs or None}
            for m in CATALOGUE]


def select(names: Sequence[str] | None = None) -> list[Mutant]:
    if not names:
        return list(CATALOGUE)
    known = {m.name: m for m in CATALOGUE}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(f"unknown mutant(s) {', '.join(missing)}; known: {', '.join(known)}")
    return [known[n] for n in names]


def run_catalogue(mutants: Sequence[Mutant], tests_dir: Path | None, examples: int = 60,
                  seed: int = 0, jobs: int = 2,
                  on_result: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    """Every mutant, ``jobs`` at a time; results in catalogue order."""
    return _each_mutant(lambda m: run_mutant(m, tests_dir, examples, seed), mutants, jobs,
                        on_result)
