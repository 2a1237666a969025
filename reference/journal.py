"""The journal's records: every movement of quote and of base, with the rule that caused it
(LIQ-LEDGER-1, LIQ-LEDGER-2).

The ledger (:mod:`.ledger`) is the only writer; :attr:`.state.State.journal` holds them in order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transfer:
    """A movement of quote between two named holders, caused by one rule (LIQ-LEDGER-1)."""

    seq: int
    source: str
    destination: str
    amount_quote: int
    rule_id: str


@dataclass(frozen=True)
class Fill:
    """A movement of base between two accounts, caused by one rule (LIQ-LEDGER-2).

    Its cash leg, when ``quote_amount`` is not zero, is the :class:`Transfer` with the same ``seq``
    just before it in the journal.
    ``price_ticks`` is the traded tick, or None where the cash is set by an exact bankruptcy value.
    """

    seq: int
    market_id: str
    buyer: str
    seller: str
    lots: int
    quote_amount: int
    price_ticks: int | None
    rule_id: str


Entry = Transfer | Fill
