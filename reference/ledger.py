"""Double entry: the only way quote and base move (LIQ-LEDGER-1, LIQ-LEDGER-2).

Quote moves as a :class:`~.journal.Transfer` between two named holders (an account ID or one of
:data:`~.state.HOLDERS`); base moves as a :class:`~.journal.Fill` between two accounts with its cash
leg. Both are journaled with the rule ID that caused them, so conservation (LIQ-INV-1) and zero-sum
base (LIQ-INV-2) hold by construction and can be re-derived from the journal alone.
"""

from __future__ import annotations

from .arithmetic import checked, div_floor, sign
from .errors import InvalidAmount, InvalidSize
from .journal import Fill, Transfer
from .margin import reduced_cost_quote
from .rules import implements
from .state import FEE_SINK, HOLDERS, State, atomic


def _add_quote(state: State, holder: str, delta: int) -> None:
    if holder in HOLDERS:
        state.save_holder(holder)
        state.holders[holder] = checked(state.holders[holder] + delta, f"balance of {holder}")
    else:
        account = state.account(holder)
        state.save_account(holder)
        account.quote = checked(account.quote + delta, f"quote of {holder}")


@implements("LIQ-LEDGER-1")
def transfer(state: State, source: str, destination: str, amount_quote: int, rule_id: str) -> None:
    """Move ``amount_quote`` > 0 quote quantums from ``source`` to ``destination``."""
    if amount_quote <= 0:
        raise InvalidAmount(f"a transfer moves a positive amount, got {amount_quote}")
    if source == destination:
        raise InvalidAmount(f"a transfer needs two holders, got {source!r} twice")
    checked(amount_quote, f"transfer amount from {source} to {destination}")  # journaled
    _add_quote(state, source, -amount_quote)
    _add_quote(state, destination, amount_quote)
    state.journal.append(Transfer(state.seq, source, destination, amount_quote, rule_id))


@implements("LIQ-LEDGER-2")
def fill(state: State, market_id: str, buyer: str, seller: str, lots: int, quote_amount: int,
         price_ticks: int | None, rule_id: str) -> None:
    """Move ``lots`` > 0 of base from ``seller`` to ``buyer`` against ``quote_amount`` of quote.

    ``quote_amount`` is what the buyer pays the seller; it may be negative (an exact bankruptcy
    value below zero), in which case the cash leg runs the other way.
    """
    if lots <= 0:
        raise InvalidSize(f"a fill moves a positive number of lots, got {lots}")
    if buyer == seller:
        raise InvalidSize("a fill needs two accounts")
    # both are journaled (LIQ-DOMAIN-1), checked before anything moves
    checked(lots, f"fill lots in {market_id}")
    checked(quote_amount, f"fill cash in {market_id}")
    for account_id, delta_lots in ((buyer, lots), (seller, -lots)):
        cash = -quote_amount if account_id == buyer else quote_amount
        _move_base(state, account_id, market_id, delta_lots, cash)
    if quote_amount > 0:
        transfer(state, buyer, seller, quote_amount, rule_id)
    elif quote_amount < 0:
        transfer(state, seller, buyer, -quote_amount, rule_id)
    state.journal.append(Fill(state.seq, market_id, buyer, seller, lots, quote_amount,
                              price_ticks, rule_id))


@implements("LIQ-MARGIN-4")
def _move_base(state: State, account_id: str, market_id: str, delta_lots: int, cash: int) -> None:
    """Change a position and its cost basis (LIQ-MARGIN-4); the cash leg is booked by the caller."""
    account = state.account(account_id)
    state.save_account(account_id)
    old = account.position(market_id)
    new = checked(old + delta_lots, f"position of {account_id} in {market_id}")
    old_cost = account.cost_quote.get(market_id, 0)
    # Entry cost of the traded lots, signed like the lots: what the account paid (-cash).
    traded_cost = -cash
    if new == 0:
        cost = 0
    elif old == 0 or sign(old) == sign(delta_lots):
        cost = old_cost + traded_cost  # opening or adding
    elif sign(new) == sign(old):
        # Reducing keeps the average entry: the remaining lots carry their share of the cost,
        # rounded toward -infinity (display and ADL ranking only; no quote moves on it).
        cost = reduced_cost_quote(old_cost, old, new)
    else:
        # Flipping: the new position's cost is the traded cost pro rata to the lots beyond zero.
        cost = div_floor(traded_cost * abs(new), abs(delta_lots))
    if new == 0:
        account.positions.pop(market_id, None)
        account.cost_quote.pop(market_id, None)
    else:
        account.positions[market_id] = new
        account.cost_quote[market_id] = checked(cost, f"cost basis of {account_id} in {market_id}")


@implements("LIQ-ROUND-3")
def sweep_residual(state: State, holder: str, rule_id: str) -> int:
    """Move a rounding residual left with ``holder`` to the fee sink, so it never vanishes and
    always lands on the venue's side; returns the amount moved."""
    residual = state.holders[holder]
    if residual > 0:
        transfer(state, holder, FEE_SINK, residual, rule_id)
    return max(residual, 0)


@implements("LIQ-LEDGER-2")
def open_at_entry(state: State, account_id: str, counterparty_id: str, market_id: str,
                  signed_lots: int, entry_ticks: int) -> None:
    """Book a position that already exists (a snapshot being loaded): one fill of ``signed_lots``
    (positive: the account buys) at the entry price against ``counterparty_id``, with no margin
    check, since a snapshot may already be under water. It leaves exactly the quote and cost basis
    a trade at that price would have (LIQ-MARGIN-4). Atomic."""
    market = state.market(market_id)
    lots = abs(signed_lots)
    cost = checked(lots * entry_ticks * market.value_per_lot_tick, "entry cost")
    buyer, seller = ((account_id, counterparty_id) if signed_lots > 0
                     else (counterparty_id, account_id))
    with atomic(state):
        fill(state, market_id, buyer, seller, lots, cost, entry_ticks, "LIQ-LEDGER-2")
