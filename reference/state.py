"""Accounts, holders and the venue state; atomic operations (LIQ-ACCOUNT-*, LIQ-RESULT-1).

An account holds a signed quote balance and a signed position in base lots per market (the dYdX v4
form): equity is ``quote + sum(lots * mark * value_per_lot_tick)`` and no entry price is needed for
margin. A cost basis is kept beside each position only for PnL%, which ranks auto-deleveraging.

Quote that is not in an account sits with a named holder (:data:`HOLDERS`): the insurance fund, the
fee sink, the socialized-loss holder, the funding pool, and the outside world, which goes negative by
exactly what was deposited. The sum over accounts and holders is therefore always zero (LIQ-INV-1).

The profile's schema (markets, tiers, policies) is in :mod:`.profile`; the journal's records in
:mod:`.journal`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from .arithmetic import INT64_MAX, require_int
from .errors import InvalidPrice, MalformedState, UnknownAccount
from .journal import Entry
from .profile import Market, Profile
from .rules import implements

OUTSIDE = "outside"
INSURANCE_FUND = "insurance_fund"
FEE_SINK = "fee_sink"
SOCIALIZED_LOSS = "socialized_loss"
FUNDING_POOL = "funding_pool"

#: the non-account holders of quote, in display order
HOLDERS = (OUTSIDE, INSURANCE_FUND, FEE_SINK, SOCIALIZED_LOSS, FUNDING_POOL)

TRADER = "trader"
BACKSTOP = "backstop"  # a venue-run liquidator (e.g. Hyperliquid's liquidator vault): no margin checks
LIQUIDITY = "liquidity"  # the order book's makers, outside the margin system (LIQ-BOOK-1)
ROLES = (TRADER, BACKSTOP, LIQUIDITY)


@dataclass
class Account:
    """A margin account: cross by default, isolated when bound to one market (LIQ-ACCOUNT-1/2).

    ``leverage`` holds the trader's chosen leverage per market (LIQ-LEVERAGE-1), a whole multiple
    in 1..10^6; a market without one is margined at the venue's initial requirement.
    """

    account_id: str
    quote: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    cost_quote: dict[str, int] = field(default_factory=dict)
    isolated_market: str | None = None
    role: str = TRADER
    leverage: dict[str, int] = field(default_factory=dict)

    def position(self, market_id: str) -> int:
        return self.positions.get(market_id, 0)

    def is_flat(self) -> bool:
        return not self.positions


@dataclass
class Book:
    """Resting liquidity of one market (LIQ-BOOK-1): price levels as ``[price_ticks, lots]``,
    bids best (highest) first and asks best (lowest) first, all owned by one liquidity account,
    the counterparty of every fill against the book."""

    account_id: str
    bids: list[list[int]] = field(default_factory=list)
    asks: list[list[int]] = field(default_factory=list)

    def image(self) -> tuple:
        return (self.account_id, tuple(map(tuple, self.bids)), tuple(map(tuple, self.asks)))


@dataclass
class State:
    """The whole venue: profile, marks, accounts, holder balances and the journal."""

    profile: Profile
    marks: dict[str, int]
    accounts: dict[str, Account] = field(default_factory=dict)
    holders: dict[str, int] = field(default_factory=lambda: {h: 0 for h in HOLDERS})
    journal: list[Entry] = field(default_factory=list)
    seq: int = 0  # operations applied so far; stamps journal entries
    books: dict[str, Book] = field(default_factory=dict)  # market -> liquidity, for cascades
    _undo: dict | None = field(default=None, repr=False, compare=False)

    # -- look-ups that raise typed errors -------------------------------------------------------
    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except (KeyError, TypeError):
            raise UnknownAccount(f"unknown account {account_id!r}") from None

    def market(self, market_id: str) -> Market:
        return self.profile.market(market_id)

    def mark(self, market_id: str) -> int:
        self.market(market_id)
        return self.marks[market_id]

    # -- atomicity (LIQ-RESULT-1): undo log of everything an operation touches --------------------
    def _save(self, table: str, key: str, value: Callable[[], object]) -> None:
        """Keep ``key``'s value in the undo log's ``table``, the first time an operation touches
        it (outside an operation there is no log)."""
        if self._undo is not None and key not in self._undo[table]:
            self._undo[table][key] = value()

    def save_account(self, account_id: str) -> None:
        self._save("accounts", account_id, lambda: copy.deepcopy(self.accounts.get(account_id)))

    def save_holder(self, holder: str) -> None:
        self._save("holders", holder, lambda: self.holders[holder])

    def save_book(self, market_id: str) -> None:
        self._save("books", market_id, lambda: copy.deepcopy(self.books.get(market_id)))

    def save_mark(self, market_id: str) -> None:
        self._save("marks", market_id, lambda: self.marks[market_id])

    def copy(self) -> State:
        """A deep, independent copy (for what-if evaluation and for tests)."""
        return State(
            profile=self.profile,
            marks=dict(self.marks),
            accounts=copy.deepcopy(self.accounts),
            holders=dict(self.holders),
            journal=list(self.journal),
            seq=self.seq,
            books=copy.deepcopy(self.books),
        )

    def snapshot(self) -> tuple:
        """A canonical, comparable image of everything an operation may change."""
        return (
            tuple(sorted(self.marks.items())),
            tuple(
                (a.account_id, a.quote, tuple(sorted(a.positions.items())),
                 tuple(sorted(a.cost_quote.items())), a.isolated_market, a.role)
                # chosen leverage only where set, so a state without any keeps its image
                + ((tuple(sorted(a.leverage.items())),) if a.leverage else ())
                for a in sorted(self.accounts.values(), key=lambda a: a.account_id)
            ),
            tuple(sorted(self.holders.items())),
            tuple(self.journal),
            self.seq,
            tuple((m, b.image()) for m, b in sorted(self.books.items())),
        )


@contextmanager
@implements("LIQ-INV-9", "LIQ-RESULT-1")
def atomic(state: State) -> Iterator[None]:
    """Apply an operation completely or not at all (LIQ-RESULT-1).

    Every mutation goes through the ledger, which saves what it touches first; on any exception the
    saved values are put back and the journal is cut to its length before the operation.
    """
    if state._undo is not None:  # nested: the outer operation owns the undo log
        yield
        return
    state._undo = {"accounts": {}, "holders": {}, "marks": {}, "books": {},
                   "journal": len(state.journal), "seq": state.seq}
    try:
        state.seq += 1
        yield
    except BaseException:
        undo = state._undo
        for account_id, saved in undo["accounts"].items():
            if saved is None:
                state.accounts.pop(account_id, None)
            else:
                state.accounts[account_id] = saved
        state.holders.update(undo["holders"])
        state.marks.update(undo["marks"])
        for market_id, saved_book in undo["books"].items():
            if saved_book is None:
                state.books.pop(market_id, None)
            else:
                state.books[market_id] = saved_book
        del state.journal[undo["journal"]:]
        state.seq = undo["seq"]
        raise
    finally:
        state._undo = None


def new_state(profile: Profile, marks: Mapping[str, int]) -> State:
    """An empty venue with every market marked (LIQ-DOMAIN-2: marks are positive ticks)."""
    for market_id in profile.markets:
        if market_id not in marks:
            raise MalformedState(f"no mark price for market {market_id!r}")
    for market_id, mark in marks.items():
        profile.market(market_id)
        require_int(mark, f"mark of {market_id}")
        if not 0 < mark <= INT64_MAX:
            raise InvalidPrice(f"mark of {market_id} must be a positive tick count, got {mark}")
    return State(profile=profile, marks=dict(marks))
