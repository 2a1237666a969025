"""The reference's state-changing operations over the compiled engine (``liqspec.fast._engine``).

Each function has its reference counterpart's signature and behaviour: it runs the reference's
own precondition checks (``check_<operation>``, the LIQ-RESULT-2 order), packs the state into an
``Engine`` (``liqspec.fast._engine``), runs the operation's effect there without the GIL, and on
success writes the outcome back into the ``State``: balances, positions and cost bases of the
accounts it touched, the holders, the books, the journal entries (the same
:class:`~liqspec.reference.journal.Transfer` and :class:`~liqspec.reference.journal.Fill`
objects) and ``seq``, returning the same :class:`~liqspec.reference.receipts.Receipt`. On failure
it raises the reference's typed error with the same result code and writes nothing, so the state
is unchanged (LIQ-RESULT-1). The engine keeps its own checks: a cascade runs them in its loop,
where no reference check is called.

Packing is glue (plain Python and numpy); every effect is compiled.
"""

from __future__ import annotations

import numpy as np

from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.book import BookShape, check_market_liquidate
from liqspec.reference.cascade import check_replace_book
from liqspec.reference.collateral import check_deposit, check_open_account, check_withdraw
from liqspec.reference.deleveraging import check_deleverage
from liqspec.reference.errors import (InvalidAmount, InvalidPrice, InvalidSize, Overflow,
                                      Rejection, ResultCode, UnknownAccount, UnknownMarket)
from liqspec.reference.funding import check_apply_funding
from liqspec.reference.insurance import check_fund_insurance
from liqspec.reference.inverse import model_funding_rate
from liqspec.reference.journal import Fill, Transfer
from liqspec.reference.leverage import check_set_leverage, valid_leverage
from liqspec.reference.liquidation import check_backstop_liquidate, check_liquidate
from liqspec.reference.marks import check_set_mark
from liqspec.reference.receipts import Receipt
from liqspec.reference.share_liquidation import check_share_liquidate
from liqspec.reference.socialization import check_socialize_loss
from liqspec.reference.state import HOLDERS, SOCIALIZED_LOSS, TRADER, Account, Book, State
from liqspec.reference.trading import check_trade

from . import _engine
from .domain import int64_scalar
from .pack import EngineArrays, holder_balances, pack_marks, pack_rows, tables_for

#: the operations, by their reference names
OPERATIONS = ("deposit", "withdraw", "trade", "set_mark", "open_account", "replace_book",
              "liquidate", "market_liquidate", "backstop_liquidate", "share_liquidate",
              "deleverage", "socialize_loss", "apply_funding", "fund_insurance", "set_leverage")

__all__ = [*OPERATIONS, "_engine_for", "OPERATIONS"]

_MASK64 = (1 << 64) - 1


def _clamp64(value: int) -> int:
    return max(INT64_MIN, min(INT64_MAX, value))


def policies_of(profile) -> dict[str, int]:
    """The profile's named policies as the engine's integer codes."""
    return {
        "size": _engine.SIZE_POLICIES[profile.liquidation_size],
        "fee": _engine.FEE_POLICIES[profile.fee_policy],
        "bad_debt": _engine.BAD_DEBT_POLICIES[profile.bad_debt_policy],
        "ranking": _engine.ADL_RANKINGS[profile.adl_ranking],
        "adl_price": _engine.ADL_PRICES[profile.adl_price],
        "maint_basis": _engine.MAINTENANCE_BASES[profile.maintenance_basis],
        "portion_ppm": profile.portion_ppm,
        # only ever compared with a notional in 0..2^63-1: clamping keeps every comparison
        "portion_threshold": _clamp64(profile.portion_threshold_quote),
        "share_target_ppm": profile.share_target_ppm,
        "buffer_ppm": profile.liquidation_buffer_ppm,
        "adl_seed": profile.adl_seed & _MASK64,  # SplitMix64 reads the low 64 bits only
        "adl_drawdown_ppm": profile.adl_drawdown_ppm,  # LIQ-ADL-5
        "one_unit": 10**profile.quote_decimals,
    }


def _pack_books(state: State, market_ids: tuple[str, ...], row: dict[str, int],
                book_levels: int = 0) -> dict:
    """The state's books as EngineArrays' book fields, with room for ``book_levels`` levels per
    side (a cascade rebuilds them)."""
    m = len(market_ids)
    cap = max(1, book_levels)
    for market_id in market_ids:
        book = state.books.get(market_id)
        if book is not None:
            cap = max(cap, len(book.bids), len(book.asks))
    out = {"book_capacity": cap, "has_book": np.zeros(m, dtype=np.uint8),
           "book_account": np.full(m, -1, dtype=np.int64),
           **{name: np.zeros((m, cap), dtype=np.int64)
              for name in ("bid_price", "bid_lots", "ask_price", "ask_lots")},
           **{name: np.zeros(m, dtype=np.int64)
              for name in ("bid_head", "bid_end", "ask_head", "ask_end")}}
    for k, market_id in enumerate(market_ids):
        book = state.books.get(market_id)
        if book is None:
            continue
        out["has_book"][k] = 1
        out["book_account"][k] = row.get(book.account_id, -1)
        for levels, side in ((book.bids, "bid"), (book.asks, "ask")):
            for j, (price, resting) in enumerate(levels):
                out[f"{side}_price"][k, j] = int64_scalar(price, f"book price in {market_id}")
                out[f"{side}_lots"][k, j] = int64_scalar(resting, f"book lots in {market_id}")
            out[f"{side}_end"][k] = len(levels)
    return out


def engine_arrays(state: State, book_levels: int = 0, new_account: Account | None = None,
                  marks_read: tuple[str, ...] | None = None) -> EngineArrays:
    """A whole state as :class:`~liqspec.fast.pack.EngineArrays` (accounts in sorted-id order),
    with room for books of ``book_levels`` levels per side and, for open_account, a row for
    ``new_account`` (not yet in the state). ``marks_read``: the markets whose mark the operation
    reads (None: every market held), where a missing mark is the reference's ``KeyError``."""
    tables = tables_for(state.profile)
    everyone = state.accounts if new_account is None else {
        **state.accounts, new_account.account_id: new_account}
    ids = sorted(everyone)
    rows = pack_rows((everyone[a] for a in ids), tables)
    marks = pack_marks(state.marks, tables, rows.lots, marks_read)
    books = _pack_books(state, tables.market_ids, {a: i for i, a in enumerate(ids)}, book_levels)
    holders = holder_balances({h: state.holders[h] for h in HOLDERS})
    return EngineArrays(tables, rows, marks, holders, state.seq,
                        policies_of(state.profile), **books)


def _engine_for(state: State, book_levels: int = 0, new_account: Account | None = None,
                leverage: bool = False, marks_read: tuple[str, ...] | None = None
                ) -> _engine.Engine:
    """Pack a whole state into an engine (``engine_arrays``). The chosen leverages
    (LIQ-LEVERAGE-2) are packed when an account has one, or with ``leverage`` (set_leverage
    writes into them)."""
    arrays = engine_arrays(state, book_levels, new_account, marks_read)
    engine = _engine.Engine()
    engine.setup(arrays)
    ids = arrays.rows.account_ids
    everyone = state.accounts if new_account is None else {
        **state.accounts, new_account.account_id: new_account}
    if leverage or any(everyone[a].leverage for a in ids):
        engine.adopt_leverage(_pack_leverage(everyone, ids,
                                             {mid: k for k, mid in enumerate(arrays.market_ids)}))
    return engine


def _pack_leverage(everyone, ids: tuple[str, ...], column: dict[str, int]) -> np.ndarray:
    """The chosen leverage of every row and market column, 0 where none (LIQ-LEVERAGE-1's domain:
    1..10^6 when chosen; a value outside it was never accepted by set_leverage)."""
    table = np.zeros((len(ids), len(column)), dtype=np.int64)
    for i, account_id in enumerate(ids):
        for market_id, chosen in everyone[account_id].leverage.items():
            k = column.get(market_id)
            if k is None:
                raise UnknownMarket(f"leverage of {account_id} in unknown market {market_id!r}")
            table[i, k] = int64_scalar(valid_leverage(chosen, f"leverage of {account_id} in "
                                                      f"{market_id}"), "leverage")
    return table


def _entries_of(engine: _engine.Engine, first: int = 0) -> list:
    """The engine's journal records from ``first`` as the reference's journal entries."""
    ids, market_ids, rules = engine.account_ids, engine.market_ids, _engine.RULE_IDS

    def name(holder: int) -> str:
        return ids[holder] if holder >= 0 else HOLDERS[-holder - 1]

    out = []
    for kind, a, b, lots, amount, price, market, rule, seq in engine.records(first):
        if kind == 0:
            out.append(Transfer(seq, name(a), name(b), amount, rules[rule]))
        else:
            out.append(Fill(seq, market_ids[market], name(a), name(b), lots, amount, price,
                            rules[rule]))
    return out


def _write_back(state: State, engine: _engine.Engine, first_record: int = 0,
               marks: bool = False) -> list:
    """Apply what the engine changed to ``state`` (accounts, holders, books, the journal from
    record ``first_record``, seq, and with ``marks`` the marks); returns the new journal entries
    and starts the engine's change tracking afresh."""
    ids, market_ids = engine.account_ids, engine.market_ids
    m = len(market_ids)
    quote, lots, cost = engine.quote, engine.lots, engine.cost
    touched = engine.touched.reshape(-1, m) if m else engine.touched
    for i in np.flatnonzero(engine.account_touched):
        account = state.accounts.get(ids[i])
        if account is None:  # a row open_account added: the new account, appended as the
            # reference appends it
            isolated = int(engine.isolated[i])
            account = Account(ids[i], isolated_market=market_ids[isolated] if isolated >= 0
                              else None, role=_ROLE_NAMES[int(engine.role[i])])
            state.accounts[ids[i]] = account
        account.quote = int(quote[i])
        for k in np.flatnonzero(touched[i]):
            market_id = market_ids[k]
            if lots[i, k] == 0:
                account.positions.pop(market_id, None)
                account.cost_quote.pop(market_id, None)
            else:
                account.positions[market_id] = int(lots[i, k])
                account.cost_quote[market_id] = int(cost[i, k])
    for holder, balance in zip(HOLDERS, engine.holders, strict=True):
        state.holders[holder] = int(balance)
    for k in np.flatnonzero(engine.book_touched):
        bids = [[int(engine.bid_price[k, j]), int(engine.bid_lots[k, j])]
                for j in range(engine.bid_head[k], engine.bid_end[k])]
        asks = [[int(engine.ask_price[k, j]), int(engine.ask_lots[k, j])]
                for j in range(engine.ask_head[k], engine.ask_end[k])]
        book = state.books.get(market_ids[k])
        if book is None:
            state.books[market_ids[k]] = Book(ids[engine.book_account[k]], bids, asks)
        else:
            book.account_id = ids[engine.book_account[k]] if engine.book_account[k] >= 0 else \
                book.account_id
            book.bids, book.asks = bids, asks
    if marks:
        for k, market_id in enumerate(market_ids):
            state.marks[market_id] = int(engine.marks[k])
    entries = _entries_of(engine, first_record)
    state.journal.extend(entries)
    state.seq = engine.seq
    engine.clear_touched()
    return entries


_ROLE_NAMES = {code: name for name, code in _engine.ROLES.items()}

_DOMAIN = {ResultCode.OVERFLOW: Overflow, ResultCode.INVALID_SIZE: InvalidSize,
           ResultCode.INVALID_PRICE: InvalidPrice, ResultCode.INVALID_AMOUNT: InvalidAmount,
           ResultCode.UNKNOWN_ACCOUNT: UnknownAccount}


def _error_for(code: int, operation: str) -> Exception:
    """The reference's typed error for an engine result code."""
    if code == _engine.C_ZERO_DIVISION_CODE:
        return ZeroDivisionError("denominators are positive by construction")
    result = ResultCode(code)
    message = f"{operation}: {result.name.lower().replace('_', ' ')} (liqspec.fast)"
    if result in _DOMAIN:
        return _DOMAIN[result](message)
    return Rejection(result, message)


def _run(state: State, operation: str, *args, engine: _engine.Engine | None = None,
         own_seq: bool = False, marks: bool = False) -> Receipt:
    """Run ``operation`` on an engine packed from ``state`` (or on ``engine``); the engine's
    set_mark and replace_book stamp their own seq (``own_seq``), the others take it from
    ``begin()``. On success the outcome is written back (``marks``: the marks too)."""
    engine = _engine_for(state) if engine is None else engine
    if not own_seq:
        engine.begin()
    code, amounts = getattr(engine, operation)(*args)
    if code != ResultCode.OK:
        raise _error_for(code, operation)
    entries = _write_back(state, engine, marks=marks)
    return Receipt(ResultCode.OK, state.seq, tuple(entries), amounts)


def _row(state: State, account_id: str) -> int:
    return sorted(state.accounts).index(account_id)


def _rows_in_state_order(state: State) -> np.ndarray:
    """Every account's engine row (sorted-id order), listed in the state's account order."""
    row = {a: i for i, a in enumerate(sorted(state.accounts))}
    return np.array([row[a] for a in state.accounts], dtype=np.int64)


def _column(state: State, market_id: str) -> int:
    return tables_for(state.profile).column(market_id)


# -- the operations ------------------------------------------------------------------------------

def open_account(state: State, account_id: str, isolated_market: str | None = None,
                 role: str = TRADER) -> Receipt:
    """LIQ-ACCOUNT-1 (reference: collateral.open_account): the reference's own checks
    (``check_open_account``), then the engine gets the new account as an extra row and the
    write-back appends it to the state, as the reference does."""
    check_open_account(state, account_id, isolated_market, role)
    new = Account(account_id, isolated_market=isolated_market, role=role)
    engine = _engine_for(state, new_account=new, marks_read=())
    return _run(state, "open_account", engine.account_ids.index(account_id), engine=engine)


def set_leverage(state: State, account_id: str, market_id: str, leverage: int) -> Receipt:
    """LIQ-LEVERAGE-4 (reference: leverage.set_leverage): the reference's own pure checks
    (``check_set_leverage``), then the requirement before and after and the equity in the
    engine; on success the leverage is written to the account."""
    check_set_leverage(state, account_id, market_id, leverage)
    engine = _engine_for(state, leverage=True)
    receipt = _run(state, "set_leverage", _row(state, account_id), _column(state, market_id),
                   leverage, engine=engine)
    account = state.account(account_id)
    account.leverage[market_id] = int(engine.leverage[_row(state, account_id),
                                                      _column(state, market_id)])
    return receipt


def deposit(state: State, account_id: str, amount_quote: int) -> Receipt:
    """LIQ-DEPOSIT-1 (reference: collateral.deposit)."""
    check_deposit(state, account_id, amount_quote)
    return _run(state, "deposit", _row(state, account_id), amount_quote,
                engine=_engine_for(state, marks_read=()))


def withdraw(state: State, account_id: str, amount_quote: int) -> Receipt:
    """LIQ-WITHDRAW-1/2 (reference: collateral.withdraw)."""
    check_withdraw(state, account_id, amount_quote)
    return _run(state, "withdraw", _row(state, account_id), amount_quote,
                _rows_in_state_order(state))


def trade(state: State, buyer_id: str, seller_id: str, market_id: str, lots: int,
          price_ticks: int) -> Receipt:
    """LIQ-TRADE-1/2 (reference: trading.trade): the fill and both traders' margin checks run in
    the engine."""
    check_trade(state, buyer_id, seller_id, market_id, lots, price_ticks)
    return _run(state, "trade", _row(state, buyer_id), _row(state, seller_id),
                _column(state, market_id), lots, price_ticks)


def set_mark(state: State, market_id: str, price_ticks: int) -> Receipt:
    """LIQ-MARK-1 (reference: marks.set_mark)."""
    check_set_mark(state, market_id, price_ticks)
    return _run(state, "set_mark", _column(state, market_id), price_ticks, own_seq=True,
                marks=True, engine=_engine_for(state, marks_read=()))


def replace_book(state: State, market_id: str, shape: BookShape, account_id: str) -> None:
    """LIQ-BOOK-1 (reference: cascade.replace_book): the market's book rebuilt around its mark
    by the engine, owned by a liquidity account. Returns None, as the reference does."""
    check_replace_book(state, market_id, account_id)
    engine = _engine_for(state, book_levels=shape.levels, marks_read=(market_id,))
    code, _ = engine.replace_book(_column(state, market_id), shape.levels, shape.spacing_ppm,
                                  shape.lots_per_level, _row(state, account_id))
    if code != ResultCode.OK:
        raise _error_for(code, "replace_book")
    if market_id in state.books:  # a new Book object, as the reference stores one (the old one
        # is left as it was); the write-back fills it in
        state.books[market_id] = Book(account_id)
    _write_back(state, engine)


def liquidate(state: State, account_id: str, market_id: str, counterparty_id: str,
              fill_price_ticks: int, lots: int | None = None) -> Receipt:
    """LIQ-EXEC-2 (reference: liquidation.liquidate)."""
    check_liquidate(state, account_id, market_id, counterparty_id, fill_price_ticks, lots)
    return _run(state, "liquidate", _row(state, account_id), _column(state, market_id),
                _row(state, counterparty_id), fill_price_ticks, -1 if lots is None else lots, True)


def market_liquidate(state: State, account_id: str, market_id: str) -> Receipt:
    """LIQ-BOOK-2 (reference: book.market_liquidate)."""
    check_market_liquidate(state, account_id, market_id)
    return _run(state, "market_liquidate", _row(state, account_id), _column(state, market_id))


def backstop_liquidate(state: State, account_id: str, vault_id: str) -> Receipt:
    """LIQ-BACKSTOP-1 (reference: liquidation.backstop_liquidate)."""
    check_backstop_liquidate(state, account_id, vault_id)
    return _run(state, "backstop_liquidate", _row(state, account_id), _row(state, vault_id))


def share_liquidate(state: State, account_id: str, vault_id: str) -> Receipt:
    """LIQ-SHARE-2 (reference: share_liquidation.share_liquidate)."""
    check_share_liquidate(state, account_id, vault_id)
    return _run(state, "share_liquidate", _row(state, account_id), _row(state, vault_id))


def deleverage(state: State, account_id: str, market_id: str,
               fund_peak_quote: int = 0) -> Receipt:
    """LIQ-ADL-1/3/5 (reference: deleveraging.deleverage)."""
    check_deleverage(state, account_id, market_id, fund_peak_quote)
    return _run(state, "deleverage", _row(state, account_id), _column(state, market_id),
                fund_peak_quote)


def socialize_loss(state: State, market_id: str, side: int,
                   amount_quote: int | None = None) -> Receipt:
    """LIQ-SOCIAL-2 (reference: socialization.socialize_loss)."""
    check_socialize_loss(state, market_id, side, amount_quote)
    # 0: all of it; a part is below the recorded debt, at most 2^63, so it fits the engine's int64
    whole = amount_quote is None or amount_quote == -state.holders[SOCIALIZED_LOSS]
    return _run(state, "socialize_loss", _column(state, market_id), side,
                0 if whole else amount_quote)


def apply_funding(state: State, market_id: str, rate_ppm: int) -> Receipt:
    """LIQ-FUNDING-1/2 (reference: funding.apply_funding). The engine takes the model's rate: an
    inverse market's venue rate negated (LIQ-INVERSE-2), at this boundary, as the reference's."""
    check_apply_funding(state, market_id, rate_ppm)
    model_rate = model_funding_rate(state.market(market_id), rate_ppm)
    return _run(state, "apply_funding", _column(state, market_id), model_rate,
                engine=_engine_for(state, marks_read=(market_id,)))


def fund_insurance(state: State, amount_quote: int) -> Receipt:
    """LIQ-INSURANCE-2 (reference: insurance.fund_insurance)."""
    check_fund_insurance(state, amount_quote)
    return _run(state, "fund_insurance", amount_quote, engine=_engine_for(state, marks_read=()))

