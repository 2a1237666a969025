"""Positions files (liqspec.positions): CSV and Parquet read exactly into the venue's units, errors
name the file, row and column, and the built state holds every invariant.

Venue: binance_usdm BTCUSDT: USDT with 6 decimals, lots of 0.001 BTC (base_decimals 3), ticks of
0.01 USDT (price_decimals 2), so one lot at one tick is 10^(6-3-2) = 10 quote quantums
(LIQ-UNIT-1). ETHUSDT has the same decimals.
"""

from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liqspec.positions import (PositionRow, PositionsError, build_state, load_positions)
from liqspec.reference import OUTSIDE, ResultCode, all_violations, get_profile
from liqspec.reference.state import BACKSTOP, INSURANCE_FUND, LIQUIDITY, TRADER

PROFILE = get_profile("binance_usdm")
USDT = 10**6
MARKS = {"BTCUSDT": 6_000_000, "ETHUSDT": 300_000}  # 60,000 and 3,000 USDT in ticks

HEADER = "account,wallet,market,size,entry_price,isolated\n"
GOOD_CSV = HEADER + (
    "alice,1000,BTCUSDT,0.5,58000,\n"
    "alice,1000.0,ETHUSDT,-4,3100.25,\n"
    "bob,3000,BTCUSDT,-0.25,61000,BTCUSDT\n"
    "carol,500.5,BTCUSDT,0,60000,\n"
)

# The same book, by hand: size 0.5 BTC = 500 lots; 58000 USDT = 5,800,000 ticks; -4 ETH = -4000
# lots at 310,025 ticks; 1000.0 USDT equals 1000 USDT = 1,000,000,000 quantums.
GOOD_ROWS = [
    PositionRow("alice", 1_000 * USDT, "BTCUSDT", 500, 5_800_000, None),
    PositionRow("alice", 1_000 * USDT, "ETHUSDT", -4_000, 310_025, None),
    PositionRow("bob", 3_000 * USDT, "BTCUSDT", -250, 6_100_000, "BTCUSDT"),
    PositionRow("carol", 500_500_000, "BTCUSDT", 0, 6_000_000, None),
]


def write(tmp_path, text, name="book.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path, text, name="book.csv") -> PositionsError:
    with pytest.raises(PositionsError) as caught:
        load_positions(write(tmp_path, text, name), PROFILE)
    return caught.value


def parquet(tmp_path, columns: dict, name="book.parquet"):
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


# -- reading ----------------------------------------------------------------------------------

def test_csv_rows_convert_exactly_LIQ_UNIT_2(tmp_path):
    """Rule: LIQ-UNIT-2 (every value converts exactly into integer units)."""
    rows = load_positions(write(tmp_path, GOOD_CSV), PROFILE)
    assert rows == GOOD_ROWS
    # where each row came from: row 1 is the first data row, on line 2 under the header
    assert [(r.row, r.line) for r in rows] == [(1, 2), (2, 3), (3, 4), (4, 5)]


def test_csv_columns_in_any_order_and_isolated_optional(tmp_path):
    text = ("size,entry_price,market,wallet,account\n"
            "0.5,58000,BTCUSDT,1000,alice\n")
    assert load_positions(write(tmp_path, text), PROFILE) == [GOOD_ROWS[0]]


def test_csv_blank_lines_are_not_rows(tmp_path):
    rows = load_positions(write(tmp_path, GOOD_CSV.replace("\nbob", "\n\nbob")), PROFILE)
    assert rows == GOOD_ROWS
    assert rows[2].row == 3 and rows[2].line == 5  # the blank line counts as a line, not a row


def test_parquet_string_columns_give_the_same_rows_as_csv(tmp_path):
    path = parquet(tmp_path, {
        "account": ["alice", "alice", "bob", "carol"],
        "wallet": ["1000", "1000.0", "3000", "500.5"],
        "market": ["BTCUSDT", "ETHUSDT", "BTCUSDT", "BTCUSDT"],
        "size": ["0.5", "-4", "-0.25", "0"],
        "entry_price": ["58000", "3100.25", "61000", "60000"],
        "isolated": [None, "", "BTCUSDT", None],
    })
    rows = load_positions(path, PROFILE)
    assert rows == GOOD_ROWS
    assert [r.row for r in rows] == [1, 2, 3, 4] and rows[0].line is None


def test_parquet_decimal_and_integer_columns_are_exact(tmp_path):
    path = parquet(tmp_path, {
        "account": ["alice", "alice", "bob", "carol"],
        "wallet": pa.array([Decimal("1000"), Decimal("1000.000"), Decimal("3000"),
                            Decimal("500.5")], pa.decimal128(12, 3)),
        "market": ["BTCUSDT", "ETHUSDT", "BTCUSDT", "BTCUSDT"],
        "size": pa.array([Decimal("0.5"), Decimal("-4"), Decimal("-0.25"), Decimal("0")],
                         pa.decimal128(10, 3)),
        "entry_price": pa.array([Decimal("58000"), Decimal("3100.25"), Decimal("61000"),
                                 Decimal("60000")], pa.decimal128(12, 2)),
        "isolated": [None, None, "BTCUSDT", None],
    })
    assert load_positions(path, PROFILE) == GOOD_ROWS
    ints = parquet(tmp_path, {"account": ["alice"], "wallet": pa.array([1000], pa.int64()),
                              "market": ["BTCUSDT"], "size": pa.array([2], pa.int32()),
                              "entry_price": pa.array([58000], pa.int64())}, "ints.parquet")
    assert load_positions(ints, PROFILE) == [
        PositionRow("alice", 1_000 * USDT, "BTCUSDT", 2_000, 5_800_000, None)]


def test_parquet_float_column_is_rejected_naming_the_column(tmp_path):
    path = parquet(tmp_path, {"account": ["alice"], "wallet": ["1000"], "market": ["BTCUSDT"],
                              "size": pa.array([0.5], pa.float64()),
                              "entry_price": ["58000"]})
    with pytest.raises(PositionsError) as caught:
        load_positions(path, PROFILE)
    error = caught.value
    assert error.column == "size" and error.row is None
    assert str(error).startswith(f"{path}: column size: ")
    assert "binary floats" in error.reason


def test_csv_and_parquet_build_the_same_state_LIQ_INV_10(tmp_path):
    """Rule: LIQ-INV-10 (the same inputs give the same state, byte for byte)."""
    csv_rows = load_positions(write(tmp_path, GOOD_CSV), PROFILE)
    parquet_rows = load_positions(parquet(tmp_path, {
        "account": [r.account_id for r in GOOD_ROWS],
        "wallet": ["1000", "1000", "3000", "500.5"],
        "market": [r.market_id for r in GOOD_ROWS],
        "size": ["0.5", "-4", "-0.25", "0"],
        "entry_price": ["58000", "3100.25", "61000", "60000"],
        "isolated": ["", "", "BTCUSDT", ""],
    }), PROFILE)
    a = build_state(PROFILE, MARKS, csv_rows, insurance_fund_quote=5 * USDT)
    b = build_state(PROFILE, MARKS, parquet_rows, insurance_fund_quote=5 * USDT)
    assert a.snapshot() == b.snapshot()


# -- errors name the file, the row and the column ---------------------------------------------

BAD_CSV = [
    # (a data row replacing bob's, column, code, what the reason says)
    ("bob,3000,BTCUSDT,-0.0001,61000,", "size", ResultCode.INEXACT_DECIMAL,
     "'-0.0001' has more than 3 decimal places"),
    ("bob,3000,BTCUSDT,-0.25,61000.001,", "entry_price", ResultCode.INEXACT_DECIMAL,
     "more than 2 decimal places"),
    ("bob,3000,BTCUSDT,-0.25,0,", "entry_price", ResultCode.INVALID_PRICE,
     "a price must be positive"),
    ("bob,-3000,BTCUSDT,-0.25,61000,", "wallet", ResultCode.INVALID_AMOUNT,
     "must not be negative"),
    ("bob,lots,BTCUSDT,-0.25,61000,", "wallet", ResultCode.INEXACT_DECIMAL,
     "'lots' is not a decimal number"),
    ("bob,3000,BTCUSD,-0.25,61000,", "market", ResultCode.UNKNOWN_MARKET,
     "unknown market 'BTCUSD'"),
    ("bob,3000,BTCUSDT,,61000,", "size", ResultCode.MALFORMED_STATE, "a value is required"),
    (",3000,BTCUSDT,-0.25,61000,", "account", ResultCode.MALFORMED_STATE, "a value is required"),
    ("bob,3000,BTCUSDT,-0.25,61000,XBT", "isolated", ResultCode.UNKNOWN_MARKET,
     "unknown market 'XBT'"),
    ("bob,3000,BTCUSDT,-0.25,61000,ETHUSDT", "market", ResultCode.ISOLATED_MARKET_MISMATCH,
     "isolated to ETHUSDT and cannot hold BTCUSDT"),
    ("alice,999,BTCUSDT,-0.25,61000,", "wallet", ResultCode.MALFORMED_STATE,
     "different wallet on row 1"),
    ("alice,1000,ETHUSDT,1,3000,", "market", ResultCode.MALFORMED_STATE,
     "already holds ETHUSDT"),
    ("alice,1000,BTCUSDT,1,3000,BTCUSDT", "isolated", ResultCode.MALFORMED_STATE,
     "isolated to BTCUSDT here but cross margin on row 1"),
    ("bob,99999999999999999999,BTCUSDT,-0.25,61000,", "wallet", ResultCode.OVERFLOW,
     "outside the signed 64-bit domain"),
]


@pytest.mark.parametrize("line,column,code,reason", BAD_CSV)
def test_csv_error_names_file_row_line_and_column_LIQ_UNIT_2(tmp_path, line, column, code,
                                                             reason):
    """Rule: LIQ-UNIT-2 (inexact decimals are errors), LIQ-ACCOUNT-2 (isolation)."""
    text = GOOD_CSV.replace("bob,3000,BTCUSDT,-0.25,61000,BTCUSDT", line)
    error = error_of(tmp_path, text)
    assert (error.row, error.line, error.column, error.code) == (3, 4, column, code)
    assert reason in error.reason
    assert str(error).startswith(f"{tmp_path / 'book.csv'}: row 3 (line 4), column {column}: ")


def test_parquet_error_names_the_row_and_column(tmp_path):
    path = parquet(tmp_path, {"account": ["alice", "bob"], "wallet": ["1000", "3000"],
                              "market": ["BTCUSDT", "BTCUSDT"], "size": ["0.5", "0.0005"],
                              "entry_price": ["58000", "61000"]})
    with pytest.raises(PositionsError) as caught:
        load_positions(path, PROFILE)
    assert (caught.value.row, caught.value.line, caught.value.column) == (2, None, "size")
    assert str(caught.value) == (f"{path}: row 2, column size: '0.0005' has more than 3 "
                                 f"decimal places")


@pytest.mark.parametrize("header,column,reason", [
    ("account,wallet,market,sise,entry_price", "sise", "unknown column (did you mean 'size'?)"),
    ("account,wallet,market,entry_price", "size", "required column is missing"),
    ("account,wallet,market,size,size,entry_price", "size", "appears more than once"),
])
def test_bad_header_names_the_column(tmp_path, header, column, reason):
    error = error_of(tmp_path, header + "\n")
    assert (error.row, error.column) == (None, column)
    assert reason in error.reason


def test_row_with_wrong_field_count_and_empty_file(tmp_path):
    error = error_of(tmp_path, HEADER + "alice,1000,BTCUSDT,0.5\n")
    assert (error.row, error.line, error.column) == (1, 2, None)
    assert "expected 6 fields, got 4" in error.reason
    assert "the file is empty" in error_of(tmp_path, "").reason


def test_missing_file_and_unknown_file_type(tmp_path):
    with pytest.raises(PositionsError, match="no such file"):
        load_positions(tmp_path / "absent.csv", PROFILE)
    assert "expected .csv or .parquet" in error_of(tmp_path, GOOD_CSV, "book.txt").reason
    assert "cannot read as Parquet" in error_of(tmp_path, GOOD_CSV, "book.parquet").reason


# -- building the state -------------------------------------------------------------------------

def test_built_state_books_wallets_and_entries_against_the_book_LIQ_INV_1_LIQ_INV_2(tmp_path):
    """Rule: LIQ-INV-1 and LIQ-INV-2 hold with the book's liquidity account as the opening
    counterparty; LIQ-MARGIN-4 (quote = wallet - entry cost; cost basis = entry cost)."""
    state = build_state(PROFILE, MARKS, GOOD_ROWS, book_account="book",
                        insurance_fund_quote=250 * USDT, backstop_vault="vault")
    assert all_violations(state) == []
    alice, bob, carol = (state.account(a) for a in ("alice", "bob", "carol"))
    # alice: 1000 USDT - 500 lots x 5,800,000 ticks x 10 (29,000 USDT) + 4000 x 310,025 x 10
    # (12,401 USDT) = -15,599 USDT
    assert alice.quote == (1_000 - 29_000 + 12_401) * USDT
    assert alice.positions == {"BTCUSDT": 500, "ETHUSDT": -4_000}
    assert alice.cost_quote == {"BTCUSDT": 29_000 * USDT, "ETHUSDT": -12_401 * USDT}
    # bob: short 250 lots at 61,000: receives 250 x 6,100,000 x 10 = 15,250 USDT
    assert (bob.quote, bob.positions, bob.isolated_market) == (18_250 * USDT, {"BTCUSDT": -250},
                                                               "BTCUSDT")
    assert (carol.quote, carol.positions, carol.role) == (500_500_000, {}, TRADER)
    book = state.account("book")
    assert book.role == LIQUIDITY
    assert book.positions == {"BTCUSDT": -250, "ETHUSDT": 4_000}  # the net opposite
    assert book.quote == (29_000 - 12_401 - 15_250) * USDT
    vault = state.account("vault")
    assert (vault.role, vault.quote, vault.positions) == (BACKSTOP, 0, {})
    assert state.holders[INSURANCE_FUND] == 250 * USDT
    assert state.holders[OUTSIDE] == -(1_000 + 3_000 + 250) * USDT - 500_500_000
    assert state.marks == MARKS


@pytest.mark.parametrize("name", ["book", "vault", "insurance_fund", "outside"])
def test_reserved_account_names_are_refused_naming_the_row(name):
    rows = [GOOD_ROWS[0], PositionRow(name, USDT, "BTCUSDT", 1, 6_000_000, None, "f.csv", 2, 3)]
    with pytest.raises(PositionsError) as caught:
        build_state(PROFILE, MARKS, rows, backstop_vault="vault")
    assert (caught.value.file, caught.value.row, caught.value.column) == ("f.csv", 2, "account")
    assert "reserved" in caught.value.reason


def test_entry_cost_overflow_names_the_row_LIQ_DOMAIN_1():
    """Rule: LIQ-DOMAIN-1 (an entry cost outside int64 is an error, never a silent big int)."""
    rows = [PositionRow("whale", USDT, "BTCUSDT", 10**12, 10**9, None, "f.csv", 1, 2)]
    with pytest.raises(PositionsError) as caught:
        build_state(PROFILE, MARKS, rows)
    assert (caught.value.row, caught.value.column, caught.value.code) == (1, "size",
                                                                          ResultCode.OVERFLOW)


def test_a_directory_is_not_reported_as_a_missing_file(tmp_path):
    """A folder named like a positions file was reported as "no such file"."""
    (tmp_path / "book.csv").mkdir()
    with pytest.raises(PositionsError) as caught:
        load_positions(tmp_path / "book.csv", PROFILE)
    assert caught.value.reason == "is a directory, not a file"


def test_open_interest_outside_int64_is_a_positions_error_LIQ_DOMAIN_1():
    """Rule: LIQ-DOMAIN-1, LIQ-TIER-4. Each row's entry cost fits and the book's liquidity
    account nets to zero, but the long side of BTCUSDT at the mark, 3 x 60,000,000 BTC x 60,000
    USDT = 1.08e13 USDT = 1.08e19 quantums, leaves int64: the check raised a bare Overflow
    (with a traceback) because the open interest was computed outside its try."""
    rows = []
    for i in range(3):
        rows += [PositionRow(f"long{i}", USDT, "BTCUSDT", 6 * 10**10, 6_000_000, None, "f.csv",
                             2 * i + 1, 2 * i + 2),
                 PositionRow(f"short{i}", USDT, "BTCUSDT", -6 * 10**10, 6_000_000, None,
                             "f.csv", 2 * i + 2, 2 * i + 3)]
    with pytest.raises(PositionsError) as caught:
        build_state(PROFILE, MARKS, rows)
    error = caught.value
    assert (error.file, error.row, error.column, error.code) == ("f.csv", None, "size",
                                                                 ResultCode.OVERFLOW)
    assert "open interest of BTCUSDT" in error.reason
