"""Accounts, deposits and withdrawals (LIQ-ACCOUNT-1, LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2)."""

from __future__ import annotations

from .errors import MalformedState, Rejection, ResultCode
from .ledger import transfer
from .margin import equity_quote, free_collateral_quote
from .receipts import Receipt, receipt
from .rules import implements
from .state import HOLDERS, OUTSIDE, ROLES, TRADER, Account, State, atomic
from .validation import valid_amount


@implements("LIQ-ACCOUNT-1")
def check_open_account(state: State, account_id: str, isolated_market: str | None = None,
                       role: str = TRADER) -> None:
    """The checks of :func:`open_account`, in its order (the ID, a clash, the role, the isolated
    market); pure: raises the typed error or returns, changing nothing."""
    if not isinstance(account_id, str) or not account_id or account_id in HOLDERS:
        raise MalformedState(f"account ID must be a non-empty string other than a holder name, "
                             f"got {account_id!r}")
    if account_id in state.accounts:
        raise MalformedState(f"account {account_id!r} already exists")
    if role not in ROLES:
        raise MalformedState(f"unknown account role {role!r}")
    if isolated_market is not None:
        state.market(isolated_market)


@implements("LIQ-ACCOUNT-1")
def open_account(state: State, account_id: str, isolated_market: str | None = None,
                 role: str = TRADER) -> Receipt:
    """Open an empty account: cross, or isolated (bound to one market)."""
    check_open_account(state, account_id, isolated_market, role)
    first = len(state.journal)
    with atomic(state):
        state.save_account(account_id)
        state.accounts[account_id] = Account(account_id, isolated_market=isolated_market, role=role)
    return receipt(state, first)


@implements("LIQ-DEPOSIT-1")
def check_deposit(state: State, account_id: str, amount_quote: int) -> None:
    """The checks of :func:`deposit`, in its order (the account, the amount); pure."""
    state.account(account_id)
    valid_amount(amount_quote, "deposit")


@implements("LIQ-DEPOSIT-1")
def deposit(state: State, account_id: str, amount_quote: int) -> Receipt:
    """Move quote from the outside world into an account."""
    check_deposit(state, account_id, amount_quote)
    first = len(state.journal)
    with atomic(state):
        transfer(state, OUTSIDE, account_id, amount_quote, "LIQ-DEPOSIT-1")
    return receipt(state, first)


@implements("LIQ-WITHDRAW-2")
def withdrawals_gated(state: State) -> bool:
    """While any trader account has negative equity, the loss is not yet settled and nobody may
    take collateral out of the venue (dYdX v4 gates withdrawals the same way)."""
    return any(a.role == TRADER and equity_quote(a, state.marks, state.profile) < 0
               for a in state.accounts.values())


@implements("LIQ-WITHDRAW-1")
def check_withdraw(state: State, account_id: str, amount_quote: int) -> None:
    """The checks of :func:`withdraw`, in its order (the account, the amount, the gate, free
    collateral); pure."""
    account = state.account(account_id)
    valid_amount(amount_quote, "withdrawal")
    if withdrawals_gated(state):
        raise Rejection(ResultCode.WITHDRAWALS_GATED,
                        "withdrawals are gated while an account has negative equity")
    free = free_collateral_quote(state, account)
    if amount_quote > free:
        raise Rejection(ResultCode.INSUFFICIENT_FREE_COLLATERAL,
                        f"{account_id} has {free} free collateral, asked for {amount_quote}")


@implements("LIQ-WITHDRAW-1")
def withdraw(state: State, account_id: str, amount_quote: int) -> Receipt:
    """Move quote out of an account, if the venue is not gated (LIQ-WITHDRAW-2) and the account's
    free collateral covers the amount (equity - amount >= initial margin)."""
    check_withdraw(state, account_id, amount_quote)
    first = len(state.journal)
    with atomic(state):
        transfer(state, account_id, OUTSIDE, amount_quote, "LIQ-WITHDRAW-1")
    return receipt(state, first)
