"""Positions files in bulk: columns (pyarrow, read in batches) to the compiled engine's arrays.

The same files, the same rules and the same errors as :mod:`liqspec.positions`, for books of
10^5-10^7 rows. :mod:`liqspec.positions` reads a row at a time and builds the state through the
reference's operations (a journal entry and an undo-log copy for every deposit and fill); this
module checks whole columns at once and computes the arrays those operations would leave, so that

    ``build_book(profile, marks, read_columns(path, profile), ...).cascade_kwargs()``

equals, bit for bit, ``liqspec.fast.arrays_of(build_state(profile, marks, load_positions(path,
profile), ...))`` (tested), at a few hundred nanoseconds a row.

How the errors stay the same
----------------------------
The loader's checks are of two kinds, and each is done in two passes:

* a vectorized *screen* flags every row that might break a rule: a value that is not a plain
  decimal within the digits of its unit (``^-?[0-9]{1,K}(\\.[0-9]{0,D}0*)?$``), text that is
  blank or has a character other than printable ASCII at either end, an unknown market, an
  isolated market that is not the row's own; then, on the values so read, a wallet or margin
  mode that differs from the account's first row, and an account that holds a market twice;
* every flagged row, in row order, is read again by the small loader's own functions
  (:func:`liqspec.positions.parse_row`, and ``_parse_rows`` over the row with the earlier rows it
  is compared with), which either accept it (an unusual but valid spelling: ``" 5"``, ``"1e3"``,
  a non-ASCII account name) or raise the error the small loader raises, with its row, line and
  column. Only the first failing row matters: nothing is built from a file with a bad row.

The screen may flag a good row (it is then read exactly), never miss a bad one. The arrays the
reference's operations build are computed with exact integers in int64 once a bound in floating
point (with a factor of two to spare) shows no sum can leave int64; a book that comes that close
to the int64 limits (LIQ-DOMAIN-1), or whose domain check fails, is built by the reference's own
:func:`~liqspec.positions.build_state`, which reports the error it finds, as it always does.

A CSV file is parsed by pyarrow with standard quoting (RFC 4180, quoted newlines allowed); a file
pyarrow cannot parse (a row with the wrong number of fields, text that is not UTF-8) is read by
the small loader, which names the line at fault.
"""

from __future__ import annotations

import csv
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liqspec.reference.errors import LiqspecError
from liqspec.reference.inverse import face_numerator
from liqspec.reference.profile import MarketKind, Profile
from liqspec.reference.state import BACKSTOP, HOLDERS, INSURANCE_FUND, LIQUIDITY, OUTSIDE

from .positions import (COLUMNS, PositionRow, PositionsError, _check_header, _parse_rows,
                        build_state, check_parquet_schema, csv_records, load_positions, parse_row,
                        positions_format, reserved_error, reserved_names)

__all__ = ["PositionColumns", "BookArrays", "read_columns", "columns_of_rows", "build_book",
           "load_book", "BATCH_ROWS"]

#: rows per batch read from a file
BATCH_ROWS = 1 << 20
#: a float bound below this shows an int64 sum cannot overflow (a factor of two to spare)
_SAFE = float(2 ** 62)
#: the ASCII characters str.strip removes: text the screen passes is ASCII, not empty, and
#: does not start or end with one (anything else is read exactly)
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
#: a field str.strip might leave empty: ASCII whitespace (Python's, \x1c-\x1f included) or any
#: non-ASCII character (checked exactly)
_MAYBE_BLANK = r"^[\t\n\x0b\x0c\r\x1c-\x1f \x{80}-\x{10FFFF}]*$"


def _number_pattern(decimals: int, signed: bool) -> str:
    """A plain decimal whose value in units of 10^-decimals has at most 18 digits (so it fits
    int64 by construction) and no digit below the unit."""
    whole = max(1, 18 - decimals)
    fraction = rf"(\.[0-9]{{0,{decimals}}})?" if decimals else r"\.?"
    return rf"^{'-?' if signed else ''}[0-9]{{1,{whole}}}{fraction}$"


def _units_of(text: pa.Array, decimals: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values int64, plain bool): each plain decimal in ``text`` in units of 10^-decimals; a
    row that is not plain gets 0 and False (it is read exactly later). The digits without the
    point, times 10 to the digits the fraction lacks: exact, as the pattern bounds the digits."""
    plain = pc.fill_null(pc.match_substring_regex(text, _number_pattern(decimals, signed)), False)
    text = pc.if_else(plain, text, "0")
    dot = pc.find_substring(text, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    length = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
    fraction_digits = np.where(dot >= 0, length - dot - 1, 0)
    digits = pc.cast(pc.replace_substring(text, ".", ""), pa.int64()).to_numpy(
        zero_copy_only=False)
    scale = 10 ** np.arange(decimals + 1, dtype=np.int64)
    return digits * scale[decimals - fraction_digits], plain.to_numpy(zero_copy_only=False)


def _lot_values(numerator: int, venue_ticks: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """LIQ-INVERSE-1 over a column: a lot's coin value floor(K / p + 1/2) at each positive
    plain venue price ``p`` (0 elsewhere, and where it is below one quantum: the row is then
    read exactly, which names the error). ``K / p`` rounds up when twice its remainder reaches
    ``p``, so nothing leaves int64."""
    prices = np.where(plain & (venue_ticks > 0), venue_ticks, 1)
    quotient, remainder = np.divmod(np.int64(numerator), prices)
    values = quotient + (remainder >= prices - remainder)
    return np.where(plain & (venue_ticks > 0), values, 0)


def _as_text(column: pa.Array) -> pa.Array:
    """A column as text (integers and decimals exactly; a dictionary by its values)."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _is_text(column: pa.Array) -> bool:
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


@dataclass(eq=False)
class PositionColumns:
    """A positions file as checked columns, one entry per data row, in file order.

    ``account`` (pyarrow strings, stripped), ``wallet_quote``, ``market`` (the market's column
    in ``profile.markets`` order), ``size_lots``, ``entry_price_ticks`` and ``isolated`` (the
    bound market's column, -1 for cross margin) as numpy int64 arrays. ``record(row)`` gives a
    data row's ``(line, raw record)`` and ``rows()`` the small loader's rows (both for errors
    and for the exact fallback only)."""

    file: str
    profile: Profile
    account: pa.Array
    wallet_quote: np.ndarray
    market: np.ndarray
    size_lots: np.ndarray
    entry_price_ticks: np.ndarray
    isolated: np.ndarray
    record: Callable[[int], tuple[int | None, Mapping[str, object]]] = field(repr=False)
    rows: Callable[[], list[PositionRow]] = field(repr=False)
    _accounts: "_Accounts | None" = field(default=None, repr=False)

    def accounts(self) -> "_Accounts":
        """The rows grouped by account (computed once)."""
        if self._accounts is None:
            self._accounts = _Accounts.of(self.account)
        return self._accounts

    def __len__(self) -> int:
        return len(self.wallet_quote)

    def position_row(self, index: int) -> PositionRow:
        """Data row ``index`` (0-based) as the small loader's row, with its file, row and line."""
        markets = list(self.profile.markets)
        line, _ = self.record(index + 1)
        isolated = int(self.isolated[index])
        return PositionRow(self.account[index].as_py(), int(self.wallet_quote[index]),
                           markets[int(self.market[index])], int(self.size_lots[index]),
                           int(self.entry_price_ticks[index]),
                           markets[isolated] if isolated >= 0 else None, self.file, index + 1,
                           line)


@dataclass(frozen=True, eq=False)
class _Accounts:
    """Rows grouped by account. Accounts are numbered (``code``) in order of first appearance,
    the order build_state opens them in; ``first_row[code]`` is the account's first row,
    ``sorted_ids`` the IDs in sorted order (the engine's row order) and ``code_of_sorted[j]`` the
    code of ``sorted_ids[j]``."""

    codes: np.ndarray
    first_row: np.ndarray
    sorted_ids: pa.Array
    code_of_sorted: np.ndarray

    @staticmethod
    def of(account: pa.Array) -> "_Accounts":
        n = len(account)
        order = pc.sort_indices(account).to_numpy(zero_copy_only=False)  # a stable sort
        ordered = account.take(pa.array(order))
        new = np.ones(n, dtype=bool)
        if n > 1:
            new[1:] = ~pc.equal(ordered.slice(1), ordered.slice(0, n - 1)).to_numpy(
                zero_copy_only=False)
        group = np.cumsum(new) - 1  # groups in ID order
        first_of_group = order[new]  # stable: the account's first row
        code_of_group = np.empty(len(first_of_group), dtype=np.int64)
        code_of_group[np.argsort(first_of_group, kind="stable")] = np.arange(len(first_of_group))
        codes = np.empty(n, dtype=np.int64)
        codes[order] = code_of_group[group]
        return _Accounts(codes, np.sort(first_of_group), ordered.filter(pa.array(new)),
                         code_of_group)

    def __len__(self) -> int:
        return len(self.first_row)


# -- reading --------------------------------------------------------------------------------------

@dataclass
class _Batch:
    """One batch's screened columns."""

    account: pa.Array
    wallet: np.ndarray
    market: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    isolated: np.ndarray
    suspect: np.ndarray  # bool: read this row exactly


def _screen(batch: pa.RecordBatch | pa.Table, profile: Profile) -> _Batch:
    """The vectorized screen of one batch (see the module docstring)."""
    names = list(batch.schema.names)
    n = batch.num_rows
    market_ids = list(profile.markets)

    def column(name: str) -> pa.Array:
        value = batch.column(names.index(name))
        return value.combine_chunks() if isinstance(value, pa.ChunkedArray) else value

    suspect = np.zeros(n, dtype=bool)

    def text_screen(raw: pa.Array, plain_only: bool) -> pa.Array:
        nonlocal suspect
        if not _is_text(raw):  # the small loader wants text: its first row says why not
            suspect[:] = True
            return pa.nulls(n, pa.string())
        text = _as_text(raw)
        if plain_only:
            plain = pc.and_(pc.string_is_ascii(text), pc.and_(
                pc.equal(pc.ascii_trim(text, _ASCII_SPACE), text),
                pc.greater(pc.binary_length(text), 0)))
            suspect |= ~pc.fill_null(plain, False).to_numpy(zero_copy_only=False)
        return text

    account = text_screen(column("account"), True)
    market_text = text_screen(column("market"), False)  # an exact market ID, or flagged below
    market_index = pc.index_in(market_text, value_set=pa.array(market_ids, pa.string()))
    market = pc.fill_null(market_index, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    suspect |= market_index.is_null().to_numpy(zero_copy_only=False)

    wallet, plain = _units_of(_as_text(column("wallet")), profile.quote_decimals, signed=False)
    suspect |= ~plain
    size = np.zeros(n, dtype=np.int64)
    entry = np.zeros(n, dtype=np.int64)
    size_text, entry_text = _as_text(column("size")), _as_text(column("entry_price"))
    read: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}  # by units, not by market

    def units(name: str, text: pa.Array, decimals: int, signed: bool):
        if (name, decimals) not in read:
            read[name, decimals] = _units_of(text, decimals, signed)
        return read[name, decimals]

    for k, market_id in enumerate(market_ids):  # each market's own units
        spec = profile.markets[market_id]
        here = market == k
        if not here.any():
            continue
        values, plain = units("size", size_text, spec.base_decimals, True)
        inverse = spec.kind == MarketKind.INVERSE
        # an inverse market's size is the venue's lots: the model's position is the opposite
        size[here] = -values[here] if inverse else values[here]
        suspect |= here & ~plain
        decimals = spec.venue_price_decimals if inverse else spec.price_decimals
        values, plain = units("entry", entry_text, decimals, False)
        if inverse:  # the venue's price, as a lot's coin value (LIQ-INVERSE-1)
            values = _lot_values(face_numerator(profile, market_id), values, plain)
        entry[here] = values[here]
        suspect |= here & (~plain | (values <= 0))

    isolated = np.full(n, -1, dtype=np.int64)
    if "isolated" in names:
        raw = column("isolated")
        if not _is_text(raw):
            suspect |= ~raw.is_null().to_numpy(zero_copy_only=False)
        else:
            text = _as_text(raw)
            blank = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
            own = pc.fill_null(pc.equal(text, market_text), False).to_numpy(zero_copy_only=False)
            isolated = np.where(own & ~blank, market, -1)
            suspect |= ~blank & ~own
    return _Batch(account, wallet, market, size, entry, isolated, suspect)


def _csv_blank_rows(batch: pa.RecordBatch) -> np.ndarray:
    """Rows every field of which is blank (the small loader skips them: they are not rows)."""
    # a blank row has a blank account: ASCII whitespace, or non-ASCII characters (which
    # str.strip may remove); such rows are checked exactly
    maybe = pc.match_substring_regex(batch.column(batch.schema.names.index("account")),
                                     _MAYBE_BLANK).to_numpy(zero_copy_only=False)
    if not maybe.any():
        return maybe
    where = np.flatnonzero(maybe)
    rows = batch.take(pa.array(where)).to_pylist()
    for at, values in zip(where, rows):
        maybe[at] = all(not str(v).strip() for v in values.values())
    return maybe


def _csv_batches(path: Path, file: str, profile: Profile):
    """pyarrow's CSV batches of every column as text, blank rows dropped; None when pyarrow
    cannot read the file (the small loader then reports why)."""
    import pyarrow.csv as pacsv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if header is None:
        return None
    names = [name.strip() for name in header]
    _check_header(names, file)
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=64 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={raw: pa.string() for raw in header},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        if len(reader.schema.names) != len(names):
            return None
        out = []
        for batch in reader:
            batch = pa.RecordBatch.from_arrays(batch.columns, names=names)
            blank = _csv_blank_rows(batch)
            out.append(batch.filter(pa.array(~blank)) if blank.any() else batch)
        return out
    except (pa.ArrowInvalid, pa.ArrowException, OSError):
        return None


def _parquet_batches(path: Path, file: str):
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        check_parquet_schema(source.schema_arrow, file)
        return list(source.iter_batches(batch_size=BATCH_ROWS)), source.schema_arrow
    except PositionsError:
        raise
    except (OSError, pa.ArrowException) as error:
        raise PositionsError(file, None, None, f"cannot read as Parquet: {error}") from None


class _Records:
    """Raw records of a file by data row, fetched on demand (flagged rows and errors only): a
    CSV by the small loader's reader (which knows the physical line), a Parquet file by its
    rows. ``iterate`` reads many in one pass."""

    def __init__(self, path: Path, file: str, kind: str):
        self.path, self.file, self.kind = path, file, kind
        self._table = None

    def iterate(self, numbers: Sequence[int]):
        """``(number, line, record)`` for the data rows ``numbers`` (ascending), lazily."""
        numbers = list(numbers)
        if not numbers:
            return
        if self.kind == "csv":
            want = iter(numbers)
            target: int | None = next(want)
            for number, line, record in csv_records(self.path, self.file):
                if number == target:
                    yield number, line, record
                    target = next(want, None)
                    if target is None:
                        return
        else:
            table = self._table
            if table is None:  # read once, on the first request
                import pyarrow.parquet as pq
                table = self._table = pq.read_table(self.path)
            for number in numbers:
                yield number, None, table.slice(number - 1, 1).to_pylist()[0]

    def fetch(self, wanted: Sequence[int]) -> dict[int, tuple[int | None, Mapping[str, object]]]:
        return {number: (line, record)
                for number, line, record in self.iterate(sorted(set(wanted)))}

    def __call__(self, number: int) -> tuple[int | None, Mapping[str, object]]:
        return self.fetch([number])[number]


def read_columns(path: str | Path, profile: Profile) -> PositionColumns:
    """Read a positions file (``.csv`` or ``.parquet``) in batches into checked columns: the
    rows :func:`liqspec.positions.load_positions` would give, or the PositionsError it would
    raise (same message, row, line, column and code)."""
    path = Path(path)
    file = str(path)
    kind = positions_format(path)
    records = _Records(path, file, kind)
    if kind == "csv":
        batches = _csv_batches(path, file, profile)
        if batches is None:  # pyarrow cannot parse it: the small loader says why (or reads it)
            return columns_of_rows(load_positions(path, profile), profile, file)
    else:
        batches, _ = _parquet_batches(path, file)
    if not batches:  # a header and no rows
        batches = [pa.RecordBatch.from_pylist(
            [], schema=pa.schema([(name, pa.string()) for name in COLUMNS]))]
    screened = [_screen(batch, profile) for batch in batches]
    columns = _join(screened, file, profile, records,
                    lambda: load_positions(path, profile))
    return columns


def _join(screened: list[_Batch], file: str, profile: Profile, records: _Records,
          rows: Callable[[], list[PositionRow]]) -> PositionColumns:
    """Concatenate the screened batches, read the flagged rows exactly, check across rows."""
    accounts = pa.concat_arrays([b.account for b in screened]) if screened else pa.array(
        [], pa.string())
    wallet = np.concatenate([b.wallet for b in screened])
    market = np.concatenate([b.market for b in screened])
    size = np.concatenate([b.size for b in screened])
    entry = np.concatenate([b.entry for b in screened])
    isolated = np.concatenate([b.isolated for b in screened])
    suspect = np.concatenate([b.suspect for b in screened])
    market_ids = list(profile.markets)
    n = len(wallet)

    # 1. flagged rows, exactly, in order, until one fails (then only earlier rows count)
    first_bad = n
    fixed_accounts: dict[int, str] = {}
    for number, line, record in records.iterate((np.flatnonzero(suspect) + 1).tolist()):
        at = number - 1
        try:
            row = parse_row(number, line, record, file, profile)
        except PositionsError:
            first_bad = at
            break
        fixed_accounts[at] = row.account_id
        wallet[at], size[at], entry[at] = row.wallet_quote, row.size_lots, row.entry_price_ticks
        market[at] = market_ids.index(row.market_id)
        isolated[at] = -1 if row.isolated_market is None else market_ids.index(
            row.isolated_market)
    if fixed_accounts:
        values = accounts.to_pylist()
        for at, account_id in fixed_accounts.items():
            values[at] = account_id
        accounts = pa.array(values, pa.string())

    # 2. across rows, on the rows before the first bad one
    limit = first_bad
    grouped = _Accounts.of(accounts.slice(0, limit))
    codes = grouped.codes
    first = grouped.first_row[codes]
    bad = (wallet[:limit] != wallet[first]) | (isolated[:limit] != isolated[first])
    key = codes * len(market_ids) + market[:limit]
    order = np.argsort(key, kind="stable")
    repeat = np.zeros(limit, dtype=bool)
    repeat[order[1:]] = key[order[1:]] == key[order[:-1]]
    bad |= repeat
    if bad.any():
        at = int(np.argmax(bad))
        earlier = {int(first[at]) + 1}
        if repeat[at]:
            same = np.flatnonzero(key[:at] == key[at])
            earlier.add(int(same[0]) + 1)
        wanted = sorted(earlier | {at + 1})
        fetched = records.fetch(wanted)
        _parse_rows(((number, *fetched[number]) for number in wanted), file, profile)
        raise AssertionError(f"row {at + 1} of {file} was flagged but the small loader accepts it")
    if first_bad < n:
        number = first_bad + 1
        line, record = records(number)
        parse_row(number, line, record, file, profile)  # raises the row's error
        raise AssertionError(f"row {number} of {file} failed once and passed once")
    return PositionColumns(file, profile, accounts, wallet, market, size, entry, isolated,
                           records, rows, grouped if limit == n else None)


def columns_of_rows(rows: Sequence[PositionRow], profile: Profile,
                    file: str = "") -> PositionColumns:
    """Rows already checked (the small loader's, or :func:`liqspec.synthetic.generate_book`'s) as
    columns, for :func:`build_book`."""
    index = {m: k for k, m in enumerate(profile.markets)}
    rows = list(rows)

    def record(number: int) -> tuple[int | None, Mapping[str, object]]:
        row = rows[number - 1]
        return row.line, {}

    return PositionColumns(
        file or (rows[0].file if rows else ""), profile,
        pa.array([r.account_id for r in rows], pa.string()),
        np.array([r.wallet_quote for r in rows], dtype=np.int64),
        np.array([index[r.market_id] for r in rows], dtype=np.int64),
        np.array([r.size_lots for r in rows], dtype=np.int64),
        np.array([r.entry_price_ticks for r in rows], dtype=np.int64),
        np.array([-1 if r.isolated_market is None else index[r.isolated_market] for r in rows],
                 dtype=np.int64),
        record, lambda: rows)


# -- building the engine's arrays -----------------------------------------------------------------

@dataclass(eq=False)
class BookArrays:
    """The venue :func:`liqspec.positions.build_state` builds, as the arrays the compiled
    engine takes (:func:`liqspec.fast.cascade_arrays`): rows sorted by account ID, columns in
    ``profile.markets`` order. ``cascade_kwargs()`` is what :func:`liqspec.fast.arrays_of` gives
    for that state."""

    profile: Profile
    marks: dict
    account_ids: tuple
    quote: np.ndarray
    lots: np.ndarray
    cost: np.ndarray
    role: np.ndarray
    isolated: np.ndarray
    holders: dict
    seq: int

    def cascade_kwargs(self) -> dict:
        return {"profile": self.profile, "marks": dict(self.marks),
                "account_ids": self.account_ids, "quote": self.quote, "lots": self.lots,
                "cost": self.cost, "role": self.role, "isolated": self.isolated,
                "holders": dict(self.holders), "seq": self.seq}

    @property
    def traders(self) -> np.ndarray:
        """Row indices of the trader accounts."""
        from liqspec.fast import _engine
        return np.flatnonzero(self.role == _engine.ROLES["trader"])


def _exact_book(columns: PositionColumns, marks: Mapping[str, int], book_account: str,
                insurance_fund_quote: int, backstop_vault: str | None) -> BookArrays:
    """The reference's own build (for books near the int64 limits): its arrays, or its error."""
    from liqspec.fast import arrays_of

    state = build_state(columns.profile, marks, columns.rows(), book_account=book_account,
                        insurance_fund_quote=insurance_fund_quote, backstop_vault=backstop_vault)
    kwargs = arrays_of(state)
    del kwargs["profile"]
    return BookArrays(columns.profile, kwargs.pop("marks"), tuple(kwargs.pop("account_ids")),
                      **kwargs)


def build_book(profile: Profile, marks: Mapping[str, int], columns: PositionColumns, *,
               book_account: str = "book", insurance_fund_quote: int = 0,
               backstop_vault: str | None = None) -> BookArrays:
    """The arrays :func:`liqspec.positions.build_state` would leave (see the module docstring),
    or the PositionsError it would raise."""
    from liqspec.fast import _engine, _kernels
    from liqspec.fast.pack import tables_for

    market_ids = list(profile.markets)
    m = len(market_ids)
    n_rows = len(columns)
    reserved = reserved_names(book_account, backstop_vault)
    hit = pc.is_in(columns.account, value_set=pa.array(sorted(reserved), pa.string()))
    hit = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
    if hit.any():
        raise reserved_error(columns.position_row(int(np.argmax(hit))))

    grouped = columns.accounts()
    codes, k, first = grouped.codes, len(grouped), grouped.first_row
    by_account = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[by_account], np.arange(k))
    wallet = columns.wallet_quote[first]
    size, entry, market = columns.size_lots, columns.entry_price_ticks, columns.market
    vpl = tables_for(profile).value_per_lot_tick
    # bounds, in floating point with room to spare: beyond them the reference builds it
    cost_f = np.abs(size).astype(np.float64) * entry.astype(np.float64) * vpl[market]
    wallets_f = float(wallet.astype(np.float64).sum()) + float(insurance_fund_quote)
    if (wallets_f >= _SAFE or (n_rows and cost_f.sum() + float(wallet.max()) >= _SAFE)
            or np.abs(size).astype(np.float64).sum() >= _SAFE):
        return _exact_book(columns, marks, book_account, insurance_fund_quote, backstop_vault)
    exact_total = insurance_fund_quote + int(wallet.sum())  # below 2^62: no int64 wrap

    cost = np.abs(size) * entry * vpl[market]  # exact: each below 2^62
    signed_cost = np.sign(size) * cost  # the trader's cost basis: what it paid for its lots
    quote = wallet.copy()
    if n_rows:
        quote -= np.add.reduceat(signed_cost[by_account], starts)
    lots = np.zeros((k, m), dtype=np.int64)
    basis = np.zeros((k, m), dtype=np.int64)
    lots[codes, market] = size
    basis[codes, market] = signed_cost
    isolated = columns.isolated[first]

    book_lots = np.zeros(m, dtype=np.int64)
    book_basis = np.zeros(m, dtype=np.int64)
    opened = size != 0
    for column in range(m):
        here = opened & (market == column)
        # LIQ-MARGIN-4 fill by fill, as ledger._move_base applies it (the engine's rule, in C)
        book_lots[column], book_basis[column] = _engine.replay_position(-size[here],
                                                                        -signed_cost[here])
    book_quote = int(signed_cost.sum())

    role = np.full(k, _engine.ROLES["trader"], dtype=np.int8)
    # LIQ-DOMAIN-1 at the start marks (statefile.check_value_domain): beyond it, the reference
    # says which account and why
    mark_values = np.array([marks.get(mid, 1) for mid in market_ids], dtype=np.int64)
    tables = tables_for(profile)
    try:
        everyone = np.vstack([lots, book_lots])  # the vault holds nothing
        oi = _kernels.open_interest_quotes(everyone, mark_values, tables, np.ones(m, dtype=bool))
        equity = _kernels.equity_quotes(quote, lots, mark_values, tables)
        # LIQ-TIER-6: isolated rows of an entry-basis profile are checked on their cost bases
        _kernels.maintenance_margin_quotes(lots, mark_values, tables, cost=basis,
                                           at_entry=(isolated != -1) & tables.maintenance_at_entry)
        initial = _kernels.initial_margin_quotes(lots, mark_values, tables, oi)
    except LiqspecError:
        return _exact_book(columns, marks, book_account, insurance_fund_quote, backstop_vault)
    free = equity - initial  # wraps where it leaves int64: the signs tell
    if np.any(((equity ^ initial) & (equity ^ free)) < 0):
        return _exact_book(columns, marks, book_account, insurance_fund_quote, backstop_vault)

    # rows in the engine's order: traders by ID, the book (and vault) put in their places
    order = grouped.code_of_sorted
    ids = grouped.sorted_ids.to_pylist()
    quote, lots, basis, role, isolated = (quote[order], lots[order], basis[order], role[order],
                                          isolated[order])
    extra = [(book_account, book_quote, book_lots, book_basis, _engine.ROLES[LIQUIDITY])]
    if backstop_vault:
        extra.append((backstop_vault, 0, np.zeros(m, dtype=np.int64),
                      np.zeros(m, dtype=np.int64), _engine.ROLES[BACKSTOP]))
    for name, account_quote, account_lots, account_basis, account_role in extra:
        at = bisect_left(ids, name)
        ids.insert(at, name)
        quote = np.insert(quote, at, account_quote)
        lots = np.insert(lots, at, account_lots, axis=0)
        basis = np.insert(basis, at, account_basis, axis=0)
        role = np.insert(role, at, account_role)
        isolated = np.insert(isolated, at, -1)
    holders = dict.fromkeys(HOLDERS, 0)
    holders[OUTSIDE] = -exact_total
    holders[INSURANCE_FUND] = insurance_fund_quote
    seq = ((1 if insurance_fund_quote else 0) + 1 + (1 if backstop_vault else 0) + k
           + int(np.count_nonzero(wallet)) + int(np.count_nonzero(opened)))
    return BookArrays(profile, dict(marks), tuple(ids), quote, np.ascontiguousarray(lots),
                      np.ascontiguousarray(basis), role, isolated, holders, seq)


def load_book(path: str | Path, profile: Profile, marks: Mapping[str, int], *,
              book_account: str = "book", insurance_fund_quote: int = 0,
              backstop_vault: str | None = None) -> BookArrays:
    """:func:`read_columns` then :func:`build_book`: a positions file as the engine's arrays."""
    return build_book(profile, marks, read_columns(path, profile), book_account=book_account,
                      insurance_fund_quote=insurance_fund_quote, backstop_vault=backstop_vault)
