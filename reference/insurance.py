"""The insurance fund and the settlement of a flat account's deficit (LIQ-INSURANCE-*).

The fund receives liquidation fees (LIQ-FEE-1) and venue top-ups, and pays the deficit of accounts
whose positions closed worse than bankruptcy. It pays at most its balance, so it never goes below
zero (LIQ-INV-3); what it cannot pay is written off to the socialized-loss holder as recorded bad
debt (LIQ-SOCIAL-1), to be socialized or absorbed by the venue.
"""

from __future__ import annotations

from .ledger import transfer
from .receipts import Receipt, receipt
from .rules import implements
from .state import INSURANCE_FUND, OUTSIDE, SOCIALIZED_LOSS, Account, State, atomic
from .validation import valid_amount


@implements("LIQ-INSURANCE-1", "LIQ-SOCIAL-1")
def settle_deficit(state: State, account: Account) -> dict[str, int]:
    """Bring a flat account with negative quote to zero: the fund pays ``min(deficit, fund)``, the
    remainder is written off to the socialized-loss holder. Called inside an operation."""
    deficit = -account.quote
    assert account.is_flat() and deficit > 0, "only a flat account in deficit is settled"
    paid = min(deficit, state.holders[INSURANCE_FUND])
    if paid > 0:
        transfer(state, INSURANCE_FUND, account.account_id, paid, "LIQ-INSURANCE-1")
    written_off = deficit - paid
    if written_off > 0:
        transfer(state, SOCIALIZED_LOSS, account.account_id, written_off, "LIQ-SOCIAL-1")
    return {"fund_paid": paid, "written_off": written_off}


@implements("LIQ-INSURANCE-2")
def check_fund_insurance(state: State, amount_quote: int) -> None:
    """The check of :func:`fund_insurance` (the amount); pure."""
    valid_amount(amount_quote, "insurance top-up")


@implements("LIQ-INSURANCE-2")
def fund_insurance(state: State, amount_quote: int) -> Receipt:
    """The venue tops up the insurance fund from outside."""
    check_fund_insurance(state, amount_quote)
    first = len(state.journal)
    with atomic(state):
        transfer(state, OUTSIDE, INSURANCE_FUND, amount_quote, "LIQ-INSURANCE-2")
    return receipt(state, first)
