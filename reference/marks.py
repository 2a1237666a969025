"""Mark prices (LIQ-MARK-1): the price every margin rule values positions at."""

from __future__ import annotations

from .receipts import Receipt, receipt
from .rules import implements
from .state import State, atomic
from .validation import valid_price


@implements("LIQ-MARK-1")
def set_mark(state: State, market_id: str, price_ticks: int) -> Receipt:
    """Move a market's mark to ``price_ticks`` (a positive tick count). No quote moves: equity and
    requirements are derived from the mark, never stored."""
    state.market(market_id)
    valid_price(price_ticks, "mark price")
    first = len(state.journal)
    with atomic(state):
        state.save_mark(market_id)
        state.marks[market_id] = price_ticks
    return receipt(state, first)
