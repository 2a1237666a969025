"""Positions files (CSV and Parquet) and the state a book of positions builds, exactly.

A positions file is a table with one row per position::

    account,wallet,market,size,entry_price,isolated
    alice,1000,BTCUSDT,0.5,58000,
    alice,1000,ETHUSDT,-4,3100,
    bob,3000,BTCUSDT,2,61000,BTCUSDT
    carol,500,BTCUSDT,0,60000,

Columns (the header names them; their order is free; ``isolated`` may be left out):

* ``account``: the account ID (non-empty text);
* ``wallet``: the account's wallet balance in quote units, a non-negative decimal (``"1000.5"``):
  collateral before the entry cost of its positions, so that equity = wallet + unrealized PnL, as
  in a JSON state file (:mod:`liqspec.statefile`). Every row of one account repeats it, and the
  rows must agree (compared in quote quantums, so ``1000`` and ``1000.0`` agree);
* ``market``: a market ID of the venue profile;
* ``size``: the signed position in base units (negative for a short; ``0`` books the wallet only);
* ``entry_price``: the average entry price, a positive decimal in quote per base;
* ``isolated``: blank for a cross-margin account, or the market the account is bound to
  (LIQ-ACCOUNT-2); every row of the account must agree, and an isolated account holds no other
  market.

An inverse market (LIQ-INVERSE-1: BitMEX XBTUSD, Binance COIN-M, Bybit inverse) is written in the
venue's terms, as a JSON state file writes it: ``size`` in the venue's lots (positive: long
contracts) and ``entry_price`` the venue's price (USD, at its venue decimals); the row holds the
model's position, the opposite, at a lot's coin value at that price. ``wallet`` is in the coin.

Every value converts exactly into the venue's integer units (LIQ-UNIT-2): a digit below the unit
(``"0.0001"`` BTC on a venue of 0.001 BTC lots) is an error, never rounded away. In a CSV file the
values are text. In a Parquet file a column is text, an integer type or a decimal type; a
floating-point column is rejected whole, because a binary float is not the decimal it prints as.
One account may not hold the same market on two rows.

Every error is a :class:`PositionsError` naming the file, the data row (1 is the first row under
the header; a CSV error also gives the physical line) and the column, e.g. ``book.csv: row 2
(line 3), column size: '0.0001' has more than 3 decimal places``.

How the state is built (:func:`build_state`), through the reference's own operations, as the JSON
state loader does: the insurance fund and every wallet are deposited from the ``outside`` holder
(LIQ-INSURANCE-2, LIQ-DEPOSIT-1); every position is one fill at its entry price (LIQ-LEDGER-2)
against the order book's liquidity account (role ``liquidity``, outside the margin system), which
therefore holds the net opposite of the whole book. Base then sums to zero in every market and
quote over all holders to zero, each replayable from the journal, so every invariant holds on the
built state with nothing exempted (LIQ-INV-1, LIQ-INV-2).
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.invariants import all_violations
from liqspec.reference.profile import Profile
from liqspec.reference.state import BACKSTOP, HOLDERS, LIQUIDITY, State
# The JSON state loader's exact converters: one definition of "a human decimal in integer units".
from liqspec.statefile import (Opening, OpeningFill, StateFileError, build_venue,
                               check_value_domain, field_model_lots, field_model_price,
                               field_quote, open_interest_too_large)

#: the columns of a positions file, in the documented order
COLUMNS = ("account", "wallet", "market", "size", "entry_price", "isolated")
REQUIRED_COLUMNS = COLUMNS[:5]


class PositionsError(LiqspecError):
    """A positions file (or a book of rows) is malformed.

    ``file`` is the file's name as given (or a description such as ``synthetic BTCUSDT``), ``row``
    the 1-based data row (None for the whole file), ``line`` the physical CSV line (None for
    Parquet), ``column`` the column's name (None for a whole row), ``reason`` the bare message and
    ``code`` the reference's result code for the underlying problem.
    """

    def __init__(self, file: str, row: int | None, column: str | None, reason: str,
                 code: ResultCode = ResultCode.MALFORMED_STATE, line: int | None = None):
        where = file
        if row is not None:
            where += f": row {row}" + (f" (line {line})" if line is not None else "")
        if column is not None:
            where += f", column {column}" if row is not None else f": column {column}"
        super().__init__(f"{where}: {reason}", code)
        self.file = file
        self.row = row
        self.line = line
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class PositionRow:
    """One position of one account, in the venue's integer units.

    ``size_lots`` is signed (negative for a short) and may be 0 (the row books the wallet only).
    ``file``, ``row`` and ``line`` say where the row came from, for error messages; they take no
    part in comparisons, so a CSV and a Parquet file of the same book give equal rows.
    """

    account_id: str
    wallet_quote: int
    market_id: str
    size_lots: int
    entry_price_ticks: int
    isolated_market: str | None = None
    file: str = field(default="", compare=False)
    row: int | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    def error(self, column: str | None, reason: str,
              code: ResultCode = ResultCode.MALFORMED_STATE) -> PositionsError:
        return PositionsError(self.file, self.row, column, reason, code, self.line)


# -- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cell:
    """One raw value and where it sits."""

    value: object
    file: str
    row: int
    line: int | None
    column: str

    def error(self, reason: str, code: ResultCode = ResultCode.MALFORMED_STATE) -> PositionsError:
        return PositionsError(self.file, self.row, self.column, reason, code, self.line)


def _check_header(names: Sequence[str], file: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise PositionsError(file, None, name, "the column appears more than once")
        seen.add(name)
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = (f" (did you mean {close[0]!r}?)" if close
                    else f" (columns: {', '.join(COLUMNS)})")
            raise PositionsError(file, None, name or "''", f"unknown column{hint}")
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise PositionsError(file, None, name, "required column is missing")


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _units(cell: _Cell, convert, *args) -> int:
    """Convert a cell with one of the state loader's exact converters, re-labelled by cell."""
    if _is_blank(cell.value):
        raise cell.error("a value is required")
    if isinstance(cell.value, bool) or not isinstance(cell.value, (str, int, Decimal)):
        raise cell.error(f"expected a decimal number, got {type(cell.value).__name__} "
                         f"{cell.value!r}")
    try:
        return convert(cell.value, *args, cell.column)
    except StateFileError as error:
        raise cell.error(error.reason, error.code) from None


def _text(cell: _Cell) -> str:
    if _is_blank(cell.value):
        raise cell.error("a value is required")
    if not isinstance(cell.value, str):
        raise cell.error(f"expected text, got {type(cell.value).__name__} {cell.value!r}")
    return cell.value.strip()


def parse_row(row_number: int, line: int | None, record: Mapping[str, object], file: str,
              profile: Profile) -> PositionRow:
    """One raw record ``{column: value}`` as a checked row: every check of a single row, in the
    order the loader makes them (the checks across rows are :func:`_parse_rows`')."""
    def cell(column: str) -> _Cell:
        return _Cell(record.get(column), file, row_number, line, column)

    account_id = _text(cell("account"))
    market_id = _text(cell("market"))
    if market_id not in profile.markets:
        raise cell("market").error(f"unknown market {market_id!r} (markets: "
                                   f"{', '.join(profile.markets)})", ResultCode.UNKNOWN_MARKET)
    wallet = _units(cell("wallet"), field_quote, profile.quote_decimals)
    # an inverse market's in the venue's lots and price, as a state file's (LIQ-INVERSE-1)
    lots = _units(cell("size"), field_model_lots, profile, market_id)
    entry = _units(cell("entry_price"), field_model_price, profile, market_id)
    isolated = None
    if not _is_blank(record.get("isolated")):
        isolated = _text(cell("isolated"))
        if isolated not in profile.markets:
            raise cell("isolated").error(
                f"unknown market {isolated!r} (markets: {', '.join(profile.markets)})",
                ResultCode.UNKNOWN_MARKET)
        if isolated != market_id:
            raise cell("market").error(
                f"account {account_id!r} is isolated to {isolated} and cannot hold "
                f"{market_id} (LIQ-ACCOUNT-2)", ResultCode.ISOLATED_MARKET_MISMATCH)
    return PositionRow(account_id, wallet, market_id, lots, entry, isolated, file, row_number,
                       line)


def _parse_rows(records: Iterable[tuple[int, int | None, Mapping[str, object]]], file: str,
                profile: Profile) -> list[PositionRow]:
    """Convert raw records ``(row, line, {column: value})`` into checked rows."""
    rows: list[PositionRow] = []
    first_row_of: dict[str, PositionRow] = {}
    held: set[tuple[str, str]] = set()
    for row_number, line, record in records:
        row = parse_row(row_number, line, record, file, profile)
        account_id, market_id, wallet, isolated = (row.account_id, row.market_id,
                                                   row.wallet_quote, row.isolated_market)

        def cell(column: str) -> _Cell:
            return _Cell(record.get(column), file, row_number, line, column)

        first = first_row_of.setdefault(account_id, row)
        if first.wallet_quote != wallet:
            raise cell("wallet").error(
                f"account {account_id!r} has wallet {record.get('wallet')!s} here but a different "
                f"wallet on row {first.row}; every row of an account must give the same wallet")
        if first.isolated_market != isolated:
            raise cell("isolated").error(
                f"account {account_id!r} is {_margin_mode(isolated)} here but "
                f"{_margin_mode(first.isolated_market)} on row {first.row}; every row of an "
                f"account must agree")
        if (account_id, market_id) in held:
            raise cell("market").error(f"account {account_id!r} already holds {market_id} on an "
                                       f"earlier row; give one row per account and market")
        held.add((account_id, market_id))
        rows.append(row)
    return rows


def _margin_mode(isolated: str | None) -> str:
    return f"isolated to {isolated}" if isolated else "cross margin"


def csv_records(path: Path, file: str) -> Iterator[tuple[int, int, dict[str, str]]]:
    """The data records of a CSV positions file, ``(row, line, {column: text})``: the header
    checked, blank lines skipped (they are not rows), every malformed line a PositionsError."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # tolerate a spreadsheet's BOM
    except OSError as error:
        raise PositionsError(file, None, None, f"cannot read: {error.strerror or error}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise PositionsError(file, None, None, "the file is empty: expected a header "
                                                       f"row ({','.join(COLUMNS)})")
            names = [name.strip() for name in header]
            _check_header(names, file)
            number = 0
            for values in reader:
                if not values or all(not v.strip() for v in values):
                    continue  # a blank line is not a row
                number += 1
                if len(values) != len(names):
                    raise PositionsError(file, number, None,
                                         f"expected {len(names)} fields, got {len(values)}",
                                         line=reader.line_num)
                yield number, reader.line_num, dict(zip(names, values))
        except UnicodeDecodeError as error:
            raise PositionsError(file, None, None, f"not UTF-8 text: {error.reason}") from None
        except csv.Error as error:
            raise PositionsError(file, None, None,
                                 f"malformed CSV at line {reader.line_num}: {error}") from None


def _read_csv(path: Path, file: str, profile: Profile) -> list[PositionRow]:
    return _parse_rows(csv_records(path, file), file, profile)


def check_parquet_schema(schema, file: str) -> None:
    """The header and column types of a Parquet positions file: text, an integer or a decimal
    type (a float column is rejected whole: a binary float is not the decimal it prints as)."""
    import pyarrow as pa

    names = list(schema.names)
    _check_header(names, file)
    for name in names:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_floating(kind):
            raise PositionsError(file, None, name,
                                 f"a {kind} column holds binary floats, which are not the exact "
                                 f"decimals they print as; store text or a decimal type")
        exact = (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                 or pa.types.is_integer(kind) or pa.types.is_decimal(kind)
                 or pa.types.is_null(kind))
        if not exact:
            raise PositionsError(file, None, name, f"unsupported column type {kind}: store text, "
                                                   f"an integer or a decimal type")


def _read_parquet(path: Path, file: str, profile: Profile) -> list[PositionRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except OSError as error:  # missing, unreadable, or not a Parquet file
        raise PositionsError(file, None, None, f"cannot read as Parquet: {error}") from None
    except pa.ArrowException as error:
        raise PositionsError(file, None, None, f"cannot read as Parquet: {error}") from None
    check_parquet_schema(table.schema, file)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    records = ((i + 1, None, {name: values[i] for name, values in columns.items()})
               for i in range(table.num_rows))
    return _parse_rows(records, file, profile)


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file (it is missing, a directory, or not a
    regular file), or None."""
    if path.is_dir():
        return "is a directory, not a file"
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a regular file"
    return None


def positions_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"``, from the file's suffix; a PositionsError when ``path`` is not a
    readable file of either kind."""
    file = str(path)
    problem = file_problem(path)
    if problem:
        raise PositionsError(file, None, None, problem)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise PositionsError(file, None, None, f"unknown file type {path.suffix!r}: expected .csv or "
                                           f".parquet")


def load_positions(path: str | Path, profile: Profile) -> list[PositionRow]:
    """Read a positions file (``.csv`` or ``.parquet``) into checked rows in ``profile``'s units."""
    path = Path(path)
    if positions_format(path) == "csv":
        return _read_csv(path, str(path), profile)
    return _read_parquet(path, str(path), profile)


# -- building the state ---------------------------------------------------------------------------

def build_state(profile: Profile, marks: Mapping[str, int], rows: Sequence[PositionRow], *,
                book_account: str = "book", insurance_fund_quote: int = 0,
                backstop_vault: str | None = None) -> State:
    """A venue holding ``rows``: accounts funded and positions opened at their entry prices
    against ``book_account`` (role ``liquidity``), which is created here, as is ``backstop_vault``
    (role ``backstop``, unfunded) when named. Accounts are opened in order of first appearance.

    Every invariant holds on the result (asserted: a violation would be this function's bug, not
    the input's).
    """
    reserved = reserved_names(book_account, backstop_vault)
    accounts: dict[str, PositionRow] = {}
    for row in rows:
        if row.account_id in reserved:
            raise reserved_error(row)
        accounts.setdefault(row.account_id, row)

    firsts = list(accounts.values())
    booked = [row for row in rows if row.size_lots]
    blame = _RowBlame(firsts, booked)
    state = build_venue(
        profile, marks,
        [Opening(first.account_id, first.wallet_quote, first.isolated_market) for first in firsts],
        [OpeningFill(row.account_id, row.market_id, row.size_lots, row.entry_price_ticks)
         for row in booked],
        book_account, blame, insurance_fund_quote=insurance_fund_quote,
        open_first=[(book_account, LIQUIDITY)] + ([(backstop_vault, BACKSTOP)]
                                                   if backstop_vault else []))
    check_value_domain(state, accounts, blame)  # the rows' accounts, not the book's
    violations = all_violations(state)
    assert not violations, f"built state breaks invariants: {violations}"
    return state


def reserved_names(book_account: str, backstop_vault: str | None) -> set[str]:
    """The names no row's account may take: the holders, the book's account, the vault."""
    return set(HOLDERS) | {book_account} | ({backstop_vault} if backstop_vault else set())


def reserved_error(row: PositionRow) -> PositionsError:
    return row.error("account", f"{row.account_id!r} is reserved (a holder, the book's "
                                f"liquidity account or the backstop vault)")


@dataclass(frozen=True)
class _RowBlame:
    """A building error as the row at fault: the fund as it is, a wallet or a size."""

    firsts: list[PositionRow]  # each account's first row, in opening order
    booked: list[PositionRow]  # the rows with a position, in booking order

    def fund(self, error: LiqspecError) -> LiqspecError:
        return error

    def wallet(self, opening: int, error: LiqspecError) -> LiqspecError:
        return self.firsts[opening].error("wallet", str(error), error.code)

    def fill(self, fill: int, error: LiqspecError) -> LiqspecError:
        return self.booked[fill].error("size", str(error), error.code)

    def open_interest(self, market_id: str, error: LiqspecError) -> LiqspecError:
        # a book whose open interest alone leaves the domain: about the whole book, not one row
        return PositionsError(self.firsts[0].file, None, "size",
                              f"at the start marks, {open_interest_too_large(market_id)}: {error}",
                              error.code)

    def account(self, account_id: str, error: LiqspecError) -> LiqspecError:
        first = next(row for row in self.firsts if row.account_id == account_id)
        return first.error(None, f"at the start marks, {error}", error.code)
