"""Units, the value domain and named rounding (LIQ-UNIT-*, LIQ-DOMAIN-1, LIQ-ROUND-1/2)."""

from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqspec.reference import (INT64_MAX, INT64_MIN, InexactDecimal, MalformedState, Overflow,
                               checked, div_ceil, div_floor)
from liqspec.reference.arithmetic import mul_ppm_ceil, mul_ppm_floor, require_int
from liqspec.reference.errors import NotAnInteger
from liqspec.reference.units import from_units, quote_per_lot_tick, to_units


def test_value_per_lot_tick_is_a_power_of_ten_LIQ_UNIT_1():
    # 0.001 BTC lots, 0.1 USDT ticks, 1e-6 USDT quantums: 0.001 * 0.1 / 1e-6 = 100 quantums
    assert quote_per_lot_tick(6, 3, 1) == 100
    assert quote_per_lot_tick(6, 5, 1) == 1


def test_value_per_lot_tick_rejects_inexact_notional_LIQ_UNIT_1():
    with pytest.raises(MalformedState, match="exact integer"):
        quote_per_lot_tick(3, 3, 1)


@pytest.mark.parametrize("text, decimals, units", [
    ("50000.5", 1, 500_005), ("0.001", 3, 1), ("-2.50", 2, -250), ("7", 0, 7), ("1e3", 2, 100_000),
])
def test_to_units_exact_LIQ_UNIT_2(text, decimals, units):
    assert to_units(text, decimals) == units


@pytest.mark.parametrize("text", ["0.0001", "abc", "", "nan", "inf", "1.23456789"])
def test_to_units_refuses_to_round_LIQ_UNIT_2(text):
    with pytest.raises(InexactDecimal):
        to_units(text, 3)


@given(st.integers(min_value=-10**30, max_value=10**30), st.integers(min_value=0, max_value=18))
def test_from_units_round_trips_LIQ_UNIT_2(units, decimals):
    assert to_units(from_units(units, decimals), decimals) == units


def test_checked_accepts_exactly_int64_LIQ_DOMAIN_1():
    assert checked(INT64_MAX, "x") == INT64_MAX
    assert checked(INT64_MIN, "x") == INT64_MIN
    for outside in (INT64_MAX + 1, INT64_MIN - 1):
        with pytest.raises(Overflow):
            checked(outside, "x")


def test_require_int_rejects_bools_and_floats_LIQ_DOMAIN_1():
    for value in (True, 1.0, "1", None):
        with pytest.raises(NotAnInteger):
            require_int(value, "x")


@given(st.integers(-10**40, 10**40), st.integers(1, 10**20))
def test_div_ceil_and_floor_bracket_the_exact_quotient_LIQ_ROUND_1_LIQ_ROUND_2(n, d):
    exact = Fraction(n, d)
    assert div_ceil(n, d) == ceil(exact)
    assert div_floor(n, d) == floor(exact)
    assert div_floor(n, d) <= exact <= div_ceil(n, d)


def test_ppm_rounding_directions_LIQ_ROUND_1_LIQ_ROUND_2():
    # 1 quantum at 0.4% owes ceil(0.004) = 1 quantum, but is paid floor(0.004) = 0
    assert mul_ppm_ceil(1, 4_000) == 1
    assert mul_ppm_floor(1, 4_000) == 0
    # negatives round toward +inf / -inf as well: -0.004 -> 0 up, -1 down
    assert mul_ppm_ceil(-1, 4_000) == 0
    assert mul_ppm_floor(-1, 4_000) == -1
