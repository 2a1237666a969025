"""The bulk positions path (liqspec.positions_bulk) against the small loader (liqspec.positions).

For every kind of bad row the small loader reports, the bulk loader reports the same error
(message, row, line, column, result code), in CSV and in Parquet; on good files the two give the
same engine input bit for bit (``liqspec.fast.arrays_of`` of the small loader's state) and the
same cascade.

Venue: binance_usdm, BTCUSDT and ETHUSDT: USDT with 6 decimals, lots of 0.001 (base_decimals 3),
ticks of 0.01 (price_decimals 2).
"""

import csv
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liqspec.fast as fast
import liqspec.positions as small
import liqspec.positions_bulk as bulk
from liqspec.reference.errors import ResultCode
from liqspec.reference.profiles import get_profile

PROFILE = get_profile("binance_usdm")
MARKS = {"BTCUSDT": 6_000_000, "ETHUSDT": 300_000}  # 60,000 and 3,000 USDT
COLUMNS = ("account", "wallet", "market", "size", "entry_price", "isolated")


def good_records(n: int = 40) -> list[dict]:
    """A cross and isolated book over two markets: account i holds BTC, every third also ETH."""
    records = []
    for i in range(n):
        name = f"acct-{i:04d}"
        wallet = f"{1000 + 7 * i}.{i % 10}"
        isolated = "BTCUSDT" if i % 5 == 1 else ""
        side = "-" if i % 3 == 0 else ""
        records.append({"account": name, "wallet": wallet, "market": "BTCUSDT",
                        "size": f"{side}0.{(i % 9) + 1}", "entry_price": f"{59000 + 13 * i}.5",
                        "isolated": isolated})
        if i % 3 == 2 and not isolated:
            records.append({"account": name, "wallet": wallet, "market": "ETHUSDT",
                            "size": f"-{i % 4 + 1}", "entry_price": "3100.25", "isolated": ""})
    return records


def csv_text(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def write(tmp_path, records: list[dict], kind: str, name: str = "book"):
    path = tmp_path / f"{name}.{kind}"
    if kind == "csv":
        path.write_text(csv_text(records), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    return path


def small_arrays(path, **kwargs) -> dict:
    state = small.build_state(PROFILE, MARKS, small.load_positions(path, PROFILE), **kwargs)
    return fast.arrays_of(state)


def bulk_arrays(path, **kwargs) -> dict:
    return bulk.load_book(path, PROFILE, MARKS, **kwargs).cascade_kwargs()


def assert_same_input(want: dict, got: dict) -> None:
    assert list(want) == list(got)
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            assert got[key].dtype == value.dtype, key
            assert np.array_equal(got[key], value), key
        elif key == "account_ids":
            assert list(got[key]) == list(value)
        else:
            assert got[key] == value, key


def error(load, path, **kwargs) -> small.PositionsError:
    with pytest.raises(small.PositionsError) as caught:
        load(path, **kwargs)
    return caught.value


def same_error(path, **kwargs) -> small.PositionsError:
    """The small and the bulk loader fail alike on ``path``; returns the error."""
    want = error(small_arrays, path, **kwargs)
    got = error(bulk_arrays, path, **kwargs)
    assert (str(got), got.row, got.line, got.column, got.code) == (
        str(want), want.row, want.line, want.column, want.code)
    return got


# -- good files: the same engine input --------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_good_file_gives_the_small_loaders_engine_input_bit_for_bit(tmp_path, kind):
    path = write(tmp_path, good_records(), kind)
    want = small_arrays(path, insurance_fund_quote=123, backstop_vault="vault")
    got = bulk_arrays(path, insurance_fund_quote=123, backstop_vault="vault")
    assert_same_input(want, got)
    assert got["seq"] > 0 and got["lots"].any() and got["cost"].any()


def test_unusual_but_valid_spellings_are_read_exactly(tmp_path):
    records = good_records(12)
    records[1]["size"] = " 0.2 "  # stripped by the small loader
    records[2]["wallet"] = "1.014e3"  # an exponent: 1014
    records[3]["account"] = "\u00e9l\u00e8ve"  # non-ASCII name
    records[4]["account"] = "zed\u00a0"  # a no-break space str.strip removes
    records[5]["entry_price"] = "59065.50000"  # zeros below the tick
    records[6]["isolated"] = " "  # blank: cross
    path = write(tmp_path, records, "csv")
    assert_same_input(small_arrays(path), bulk_arrays(path))


def test_blank_csv_rows_are_not_rows(tmp_path):
    text = csv_text(good_records(6))
    lines = text.splitlines(keepends=True)
    text = "".join(lines[:3] + ["\n", ",,,,,\n", " ,\t,,,,\n"] + lines[3:])
    path = tmp_path / "book.csv"
    path.write_text(text, encoding="utf-8")
    assert_same_input(small_arrays(path), bulk_arrays(path))


def _decimal(units: int, decimals: int, spelling: int) -> str:
    """``units`` of 10^-decimals as text: plain, with trailing zeros, or with an exponent."""
    sign, digits = ("-" if units < 0 else ""), f"{abs(units):0{decimals + 1}d}"
    plain = f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
    return (plain, plain + "00", f"{units}e-{decimals}")[spelling]


@st.composite
def books(draw):
    """A random valid book: cross accounts over one or both markets, isolated ones, zero sizes,
    values spelled three ways."""
    records = []
    for i in range(draw(st.integers(1, 25))):
        isolated = draw(st.sampled_from(["", "", "BTCUSDT", "ETHUSDT"]))
        markets = [isolated] if isolated else draw(st.lists(
            st.sampled_from(["BTCUSDT", "ETHUSDT"]), min_size=1, max_size=2, unique=True))
        wallet = _decimal(draw(st.integers(0, 10**12)), 6, draw(st.integers(0, 2)))
        for market in markets:
            records.append({"account": f"a{i}", "wallet": wallet, "market": market,
                            "size": _decimal(draw(st.integers(-10**6, 10**6)), 3,
                                             draw(st.integers(0, 2))),
                            "entry_price": _decimal(draw(st.integers(1, 10**8)), 2,
                                                    draw(st.integers(0, 2))),
                            "isolated": isolated})
    return draw(st.permutations(records))


@settings(max_examples=40)
@given(books(), st.sampled_from(["csv", "parquet"]))
def test_random_good_books_give_the_same_engine_input(tmp_path_factory, records, kind):
    tmp_path = tmp_path_factory.mktemp("book")
    path = write(tmp_path, records, kind)
    assert_same_input(small_arrays(path, insurance_fund_quote=5),
                      bulk_arrays(path, insurance_fund_quote=5))


@pytest.mark.rule("LIQ-MARGIN-4")
@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(1, 10**9)), max_size=30))
def test_the_book_accounts_replay_is_the_ledgers_cost_rule(fills):
    """The bulk loader's book account takes every opening fill in row order through the
    engine's LIQ-MARGIN-4 (``_engine.replay_position``): adds, reductions (the average entry
    kept, floored), flips and returns to flat give the reference ledger's lots and cost basis."""
    from liqspec.reference import Account
    from liqspec.reference.ledger import _move_base
    from liqspec.testing import venue
    state = venue()
    state.accounts["b"] = Account("b", quote=0)
    delta = [lots for lots, _ in fills]
    traded = [lots * price for lots, price in fills]  # what was paid for the lots, signed
    for lots, paid in zip(delta, traded):
        if lots:
            _move_base(state, "b", "BTC", lots, -paid)
    account = state.account("b")
    assert fast._engine.replay_position(np.array(delta, dtype=np.int64),
                                        np.array(traded, dtype=np.int64)) == (
        account.position("BTC"), account.cost_quote.get("BTC", 0))


# -- bad files: the same error ----------------------------------------------------------------

def _set(column, value):
    def change(records, at):
        records[at][column] = value
    return change


def _copy_from_earlier(column, value=None):
    """Row ``at`` becomes a second row of row 0's account, with ``column`` changed."""
    def change(records, at):
        records[at] = dict(records[0], **({column: value} if column else {}))
    return change


BAD_ROWS = {
    "blank account": _set("account", "  "),
    "blank market": _set("market", ""),
    "unknown market": _set("market", "DOGEUSDT"),
    "wallet not a number": _set("wallet", "12,5"),
    "wallet negative": _set("wallet", "-1"),
    "wallet below the unit": _set("wallet", "1.0000001"),
    "wallet beyond int64": _set("wallet", "99999999999999999999"),
    "size below the lot": _set("size", "0.0001"),
    "size blank": _set("size", ""),
    "size not finite": _set("size", "NaN"),
    "entry zero": _set("entry_price", "0"),
    "entry negative": _set("entry_price", "-5"),
    "entry below the tick": _set("entry_price", "60000.001"),
    "isolated unknown market": _set("isolated", "XRPUSDT"),
    "isolated to another market": _set("isolated", "ETHUSDT"),
    "wallet differs from the account's first row": _copy_from_earlier("wallet", "1.5"),
    "margin mode differs from the first row": _copy_from_earlier("isolated", "BTCUSDT"),
    "account holds a market twice": _copy_from_earlier(None),
    "reserved account name": _set("account", "book"),
    "holder name as account": _set("account", "insurance_fund"),
}
#: found when the state is built, after every row has been read (as the small loader does)
BUILT = {"reserved account name", "holder name as account"}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_gives_the_small_loaders_error_and_row(tmp_path, kind, case):
    records = good_records(40)
    at = 23
    BAD_ROWS[case](records, at)
    if case not in BUILT:  # a later bad row must not be the one reported
        records[-1]["market"] = "DOGEUSDT"
    found = same_error(write(tmp_path, records, kind))
    assert found.row == at + 1


def test_first_of_two_bad_rows_is_reported_across_kinds(tmp_path):
    records = good_records(40)
    records[30]["wallet"] = "x"  # a cell error, later
    records[12] = dict(records[0], wallet="2")  # a row-agreement error, earlier
    assert same_error(write(tmp_path, records, "csv")).row == 13


def test_wrong_field_count_and_bad_utf8_name_the_line(tmp_path):
    text = csv_text(good_records(10))
    lines = text.splitlines(keepends=True)
    path = tmp_path / "book.csv"
    path.write_text("".join(lines[:4] + ["acct-x,1,BTCUSDT\n"] + lines[4:]), encoding="utf-8")
    assert same_error(path).line == 5
    path.write_bytes(text.encode() + b"acct-\xff,1,BTCUSDT,1,1,\n")
    assert "UTF-8" in str(same_error(path))


def test_quoted_fields_keep_their_line_numbers(tmp_path):
    records = good_records(10)
    records[2]["account"] = "two\nlines"  # a quoted newline: row 3 spans lines 4-5
    records[6]["size"] = "0.0005"
    found = same_error(write(tmp_path, records, "csv"))
    assert (found.row, found.line) == (7, 9)


def test_parquet_column_types_are_refused_alike(tmp_path):
    table = pa.Table.from_pylist(good_records(5))
    floats = table.set_column(3, "size", pa.array([0.5] * len(table)))
    pq.write_table(floats, tmp_path / "floats.parquet")
    assert same_error(tmp_path / "floats.parquet").column == "size"
    numbers = table.set_column(0, "account", pa.array(range(len(table))))
    pq.write_table(numbers, tmp_path / "numbers.parquet")
    assert same_error(tmp_path / "numbers.parquet").row == 1


def test_entry_cost_beyond_int64_is_the_reference_builds_error(tmp_path):
    records = good_records(8)
    records[5]["size"] = "900000000000"  # 9e14 lots at ~6e6 ticks: the entry cost overflows
    found = same_error(write(tmp_path, records, "csv"))
    assert found.row == 6 and found.code == ResultCode.OVERFLOW


def million_rows(tmp_path, bad: int):
    """10^6 rows generated with pyarrow, one size below the lot at data row ``bad``."""
    n = 1_000_000
    names = pa.compute.binary_join_element_wise(
        "a", pa.compute.cast(pa.array(np.arange(n)), pa.string()), "")
    sizes = np.where(np.arange(n) % 10 < 7, "0.01", "-0.01").astype(object)
    sizes[bad - 1] = "0.0001"
    table = pa.table({"account": names, "wallet": pa.array(["1000"] * n),
                      "market": pa.array(["BTCUSDT"] * n), "size": pa.array(sizes, pa.string()),
                      "entry_price": pa.array(["60000"] * n)})
    path = tmp_path / "big.parquet"
    pq.write_table(table, path)
    return path


def assert_million_row_error(tmp_path, bad: int) -> None:
    path = million_rows(tmp_path, bad)
    want = error(small.load_positions, path, profile=PROFILE)
    got = error(bulk.read_columns, path, profile=PROFILE)
    assert (str(got), got.row, got.column, got.code) == (str(want), bad, "size",
                                                         ResultCode.INEXACT_DECIMAL)


def test_bad_row_in_a_million_rows_is_found_at_the_same_row(tmp_path):
    """The small loader reads every row up to the bad one (about 50 us each): row 200,001."""
    assert_million_row_error(tmp_path, 200_001)


@pytest.mark.slow
def test_bad_row_near_the_end_of_a_million_rows(tmp_path):
    assert_million_row_error(tmp_path, 987_654)


def test_the_large_books_page_examples_run(tmp_path, monkeypatch):
    """docs/large_books.rst: its doctest loads a positions file, runs the crash and reads the
    trace as a table."""
    import doctest
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    page = Path(__file__).resolve().parents[1] / "docs" / "large_books.rst"
    result = doctest.testfile(str(page), module_relative=False, raise_on_error=False)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_header_without_rows_is_an_empty_book_as_in_the_small_loader(tmp_path, kind):
    if kind == "csv":
        path = tmp_path / "book.csv"
        path.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    else:
        path = tmp_path / "book.parquet"
        pq.write_table(pa.table({c: pa.array([], pa.string()) for c in COLUMNS}), path)
    want = small_arrays(path, insurance_fund_quote=7)
    assert_same_input(want, bulk_arrays(path, insurance_fund_quote=7))
    assert list(want["account_ids"]) == ["book"]


def test_a_free_collateral_beyond_int64_is_the_same_error_in_both_loaders(tmp_path):
    """LIQ-DOMAIN-1: row 6 (acct-0004's) shorts 150,000,000 BTC sold at 0.01 USDT. At 60,000 its value
    (-9 x 10^18 quantums), equity and requirements fit int64, equity less the initial
    requirement does not: both loaders name the row (the bulk path sees the wrapped difference
    and lets the reference say why)."""
    records = good_records(8)
    records[5].update(size="-150000000", entry_price="0.01", isolated="")
    found = same_error(write(tmp_path, records, "csv"))
    assert (found.row, found.code) == (6, ResultCode.OVERFLOW)
    assert f"free collateral of {records[5]['account']}" in str(found)
