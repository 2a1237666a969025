"""Every array entry point of liqspec.fast checks dtype, range and shape and raises liqspec's
typed errors (LIQ-DOMAIN-1, LIQ-DOMAIN-3): nothing is wrapped, truncated or rounded.

Before these checks a uint64 array holding 2^64 - 1 was read as -1, a float array was
truncated, a Python int of 2^63 raised a bare ``OverflowError`` and a wrong dtype a bare
``ValueError``. Each kernel, :class:`~liqspec.fast.pack.MarketTables` and
:func:`~liqspec.fast.cascade_arrays` is fed every bad kind of input here; an int64 C-contiguous
array goes through uncopied.

Example venue (liqspec.testing): BTC and ETH, a lot at a tick worth 100 quote quantums.
"""

import numpy as np
import pytest
from dataclasses import replace

from liqspec import fast
from liqspec.fast import domain, pack
from liqspec.reference import LiqspecError
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.errors import InvalidPrice, MalformedState, NotAnInteger, Overflow
from liqspec.testing import example_profile

PROFILE = example_profile()
TABLES = fast.tables_for(PROFILE)
QUOTE = np.array([10**9, 5, -7], dtype=np.int64)
LOTS = np.array([[1, 0], [0, -2], [3, 4]], dtype=np.int64)
MARKS = np.array([500_000, 300_000], dtype=np.int64)
OI = np.array([0, 10**9], dtype=np.int64)
COLUMN = LOTS[:, 0].copy()

#: each public kernel: its arguments, and which of them are arrays (with their good value) or
#: integers
KERNELS = {
    "position_values_quote": dict(lots=COLUMN, price_ticks=500_000, value_per_lot_tick=100),
    "equity_quotes": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES),
    "maintenance_margin_quotes": dict(lots=LOTS, marks=MARKS, tables=TABLES),
    "initial_margin_quotes": dict(lots=LOTS, marks=MARKS, tables=TABLES, open_interest_quote=OI),
    "free_collateral_quotes": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES,
                                   open_interest_quote=OI),
    "open_interest_quotes": dict(lots=LOTS, marks=MARKS, tables=TABLES),
    "health": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES),
    "liquidatable_flags": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES),
    "below_backstop_flags": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES),
    "funding_owed_quotes": dict(lots=COLUMN, mark_ticks=500_000, value_per_lot_tick=100,
                                rate_ppm=100),
    "bankruptcy_prices": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES, market=0),
    "liquidation_prices": dict(quote=QUOTE, lots=LOTS, marks=MARKS, tables=TABLES, market=1),
}

ARRAY_ARGS = [(k, a) for k, args in KERNELS.items() for a, v in args.items()
              if isinstance(v, np.ndarray)]
INT_ARGS = [(k, a) for k, args in KERNELS.items() for a, v in args.items() if isinstance(v, int)]


def call(kernel: str, **changes):
    return getattr(fast, kernel)(**{**KERNELS[kernel], **changes})


def same(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a.dtype == b.dtype and np.array_equal(a, b)


def raises(error_type, kernel, **changes) -> LiqspecError:
    with pytest.raises(error_type) as caught:
        call(kernel, **changes)
    assert isinstance(caught.value, LiqspecError)  # a typed error with a result code
    return caught.value


def test_every_public_kernel_is_covered():
    assert set(KERNELS) == set(fast.KERNELS)


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
def test_uint64_beyond_int64_is_overflow_not_a_wrap_LIQ_DOMAIN_1(kernel, arg):
    good = KERNELS[kernel][arg]
    bad = np.abs(good).astype(np.uint64)
    bad.flat[-1] = np.uint64(2**64 - 1)  # was read as -1
    error = raises(Overflow, kernel, **{arg: bad})
    assert arg in str(error) and str(2**64 - 1) in str(error)


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
def test_other_integer_dtypes_in_range_convert_exactly(kernel, arg):
    good = KERNELS[kernel][arg]
    want = call(kernel)
    for dtype in (np.int32, np.int16) if (np.abs(good) < 2**15).all() else (np.int32,):
        if (np.abs(good) < np.iinfo(dtype).max).all():
            assert same(call(kernel, **{arg: good.astype(dtype)}), want)
    if (good >= 0).all():
        assert same(call(kernel, **{arg: good.astype(np.uint64)}), want)
    # a big-endian int64 array is converted, not misread
    assert same(call(kernel, **{arg: good.astype(">i8")}), want)


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
def test_float_bool_and_object_arrays_are_not_integers_LIQ_DOMAIN_3(kernel, arg):
    good = KERNELS[kernel][arg]
    raises(NotAnInteger, kernel, **{arg: good.astype(np.float64) + 0.5})  # was truncated
    raises(NotAnInteger, kernel, **{arg: good.astype(np.float64)})  # integral floats too
    raises(NotAnInteger, kernel, **{arg: good != 0})
    text = good.astype(object)
    text.flat[0] = "1"
    raises(NotAnInteger, kernel, **{arg: text})
    huge = good.astype(object)
    huge.flat[0] = 2**63
    raises(Overflow, kernel, **{arg: huge})
    # an object array of Python ints within int64 is read exactly
    assert same(call(kernel, **{arg: good.astype(object)}), call(kernel))


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
def test_wrong_shapes_are_malformed(kernel, arg):
    good = KERNELS[kernel][arg]
    raises(MalformedState, kernel, **{arg: good.reshape(*good.shape, 1)})
    raises(MalformedState, kernel, **{arg: good[..., :1] if good.ndim > 1 else
                                     good.reshape(1, -1)})
    if arg != "lots":  # the accounts' count comes from lots; every other array must follow it
        raises(MalformedState, kernel, **{arg: np.append(good, good[:1], axis=0)})


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
def test_non_contiguous_arrays_give_the_same_result(kernel, arg):
    good = KERNELS[kernel][arg]
    strided = np.repeat(good, 2, axis=0)[::2]
    assert not strided.flags.c_contiguous and np.array_equal(strided, good)
    assert same(call(kernel, **{arg: strided}), call(kernel))
    if good.ndim == 2:
        assert same(call(kernel, **{arg: np.asfortranarray(good)}), call(kernel))


@pytest.mark.parametrize("kernel,arg", INT_ARGS)
def test_integer_arguments_outside_int64_are_overflow_LIQ_DOMAIN_1(kernel, arg):
    raises(Overflow, kernel, **{arg: 2**63})  # was a bare OverflowError
    raises(Overflow, kernel, **{arg: INT64_MIN - 1})
    raises(NotAnInteger, kernel, **{arg: 1.0})
    raises(NotAnInteger, kernel, **{arg: True})
    raises(NotAnInteger, kernel, **{arg: "1"})
    assert same(call(kernel, **{arg: np.int64(KERNELS[kernel][arg])}), call(kernel))


def test_the_wanted_mask_of_open_interest_is_checked():
    """``wanted`` (one flag per market): bools, or integers that are 0 or 1."""
    only_eth = call("open_interest_quotes", wanted=np.array([False, True]))
    assert only_eth.tolist() == [0, 4 * 300_000 * 100]  # 4 long ETH lots at 3,000.00
    assert same(call("open_interest_quotes", wanted=[0, 1]), only_eth)
    raises(NotAnInteger, "open_interest_quotes", wanted=np.array([0.0, 1.0]))
    raises(MalformedState, "open_interest_quotes", wanted=np.array([0, 2]))
    raises(MalformedState, "open_interest_quotes", wanted=np.array([True]))
    raises(Overflow, "open_interest_quotes", wanted=np.array([0, 2**64 - 1], dtype=np.uint64))


def test_market_column_outside_the_tables_is_malformed():
    for kernel in ("bankruptcy_prices", "liquidation_prices"):
        raises(MalformedState, kernel, market=2)
        raises(MalformedState, kernel, market=-1)


def test_int64_c_contiguous_arrays_are_not_copied():
    """The one check every entry point calls hands an int64 C-contiguous array back as the same
    object, for the kernels (account_arrays) and the single arrays alike."""
    quote, lots, marks = pack.account_arrays(QUOTE, LOTS, MARKS, TABLES)
    assert quote is QUOTE and lots is LOTS and marks is MARKS
    assert domain.int64_array(COLUMN, "lots", (None,), contiguous=False) is COLUMN
    column_view = LOTS[:, 0]  # strided, read in place by the 1-D kernels
    assert np.shares_memory(domain.int64_array(column_view, "lots", (None,), contiguous=False),
                            LOTS)
    # the tables keep the arrays they were given
    rebuilt = replace(TABLES)
    assert rebuilt.tier_floor_quote is TABLES.tier_floor_quote
    # a conversion is a copy, never a view that could be misread
    assert not np.shares_memory(domain.int64_array(QUOTE.astype(np.int32), "quote", (3,)), QUOTE)


def test_results_are_those_of_the_reference_arithmetic():
    """The checked entry points still compute: hand values on the example venue. Account 0 holds 1
    BTC lot at 500,000 ticks (50,000 qq) on 10^9 qq; account 1 is short 2 ETH lots at 300,000
    (-60,000,000 qq) on 5 qq."""
    equity = call("equity_quotes")
    assert equity.tolist() == [10**9 + 50_000_000, 5 - 60_000_000,
                               -7 + 3 * 50_000_000 + 4 * 30_000_000]
    assert call("position_values_quote").tolist() == [50_000_000, 0, 150_000_000]


# -- the tables -----------------------------------------------------------------------------------

def test_tables_must_be_market_tables():
    raises(MalformedState, "health", tables="toy")
    raises(MalformedState, "health", tables=None)


def test_hand_built_tables_are_checked():
    with pytest.raises(NotAnInteger):
        replace(TABLES, maint_margin_ppm=TABLES.maint_margin_ppm.astype(np.float64))
    with pytest.raises(Overflow):
        replace(TABLES, value_per_lot_tick=np.array([2**64 - 1, 100], dtype=np.uint64))
    with pytest.raises(MalformedState):
        replace(TABLES, n_tiers=np.array([0, 3], dtype=np.int64))  # no tier to read
    with pytest.raises(MalformedState):
        replace(TABLES, n_tiers=TABLES.n_tiers + 1)  # beyond the padded width
    with pytest.raises(MalformedState):
        replace(TABLES, init_margin_ppm=TABLES.init_margin_ppm[:, :1])
    with pytest.raises(Overflow):
        replace(TABLES, backstop_num=2**63, backstop_den=2**64)
    with pytest.raises(MalformedState):
        replace(TABLES, backstop_num=3, backstop_den=2)
    # a lot worth nothing, or less, at every tick: no profile has one (LIQ-UNIT-1), and the
    # kernels' overflow tests take it to be at least 1 (health answered 0 where the others raise)
    for value in (0, -1):
        with pytest.raises(MalformedState, match="value_per_lot_tick"):
            replace(TABLES, value_per_lot_tick=np.array([value, 100], dtype=np.int64))


# -- cascade_arrays --------------------------------------------------------------------------------

def _cascade_inputs():
    from liqspec.reference import open_account
    from liqspec.reference.book import BookShape
    from liqspec.reference.cascade import CascadeConfig, PricePath
    from liqspec.reference.state import LIQUIDITY
    from liqspec.testing import open_long, usdt, venue
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("100000")}, insurance_quote=10)
    open_long(state, "alice", "bob", "BTC", 1000)  # 1 BTC at 50,000 on 1,000 USDT: 50x
    open_account(state, "book", role=LIQUIDITY)
    config = CascadeConfig(PricePath(60, {"BTC": (500_000, 480_000)}),
                           {"BTC": BookShape(3, 1000, 500)}, book_account="book")
    return state, config


@pytest.fixture(scope="module")
def cascade():
    state, config = _cascade_inputs()
    kwargs = fast.arrays_of(state)
    return kwargs, config, fast.cascade_arrays(config=config, **kwargs)


def _run(cascade, **changes):
    kwargs, config, _ = cascade
    return fast.cascade_arrays(config=config, **{**kwargs, **changes})


def test_cascade_arrays_uint64_float_and_big_ints_are_typed_errors_LIQ_DOMAIN_1(cascade):
    kwargs, config, want = cascade
    quote = kwargs["quote"].astype(np.uint64)
    quote[0] = np.uint64(2**64 - 1)  # was read as -1
    with pytest.raises(Overflow):
        _run(cascade, quote=quote)
    with pytest.raises(NotAnInteger):  # was truncated
        _run(cascade, lots=kwargs["lots"].astype(np.float64) + 0.5)
    with pytest.raises(NotAnInteger):
        _run(cascade, cost=kwargs["cost"] != 0)
    with pytest.raises(NotAnInteger):
        _run(cascade, role=kwargs["role"].astype(np.float64))
    with pytest.raises(Overflow):  # was a bare OverflowError
        _run(cascade, holders={**kwargs["holders"], "insurance_fund": 2**63})
    with pytest.raises(Overflow):
        _run(cascade, seq=2**63)
    with pytest.raises(InvalidPrice):
        _run(cascade, marks={**kwargs["marks"], "BTC": 0})
    with pytest.raises(NotAnInteger):
        _run(cascade, marks={**kwargs["marks"], "BTC": 500_000.0})


def test_cascade_arrays_shapes_roles_and_names_are_checked(cascade):
    kwargs, config, want = cascade
    with pytest.raises(MalformedState):
        _run(cascade, lots=kwargs["lots"][:, :1])
    with pytest.raises(MalformedState):
        _run(cascade, quote=kwargs["quote"][:-1])
    with pytest.raises(MalformedState):
        _run(cascade, role=np.full(len(kwargs["role"]), 9, dtype=np.int8))
    with pytest.raises(MalformedState):
        _run(cascade, isolated=np.full(len(kwargs["role"]), 2))  # the example venue has columns 0 and 1
    with pytest.raises(MalformedState):
        _run(cascade, holders={"treasury": 1})
    with pytest.raises(LiqspecError) as caught:
        _run(cascade, marks={**kwargs["marks"], "DOGE": 1})
    assert caught.value.code.name == "UNKNOWN_MARKET"


def test_cascade_arrays_accepts_equal_arrays_of_any_layout_and_never_changes_them(cascade):
    kwargs, config, want = cascade
    lots = np.asfortranarray(kwargs["lots"])
    quote = kwargs["quote"].astype(np.int32) if (np.abs(kwargs["quote"]) < 2**31).all() else \
        np.repeat(kwargs["quote"], 2)[::2]
    before = (lots.copy(), quote.copy())
    got = _run(cascade, lots=lots, quote=quote)
    assert got.summary == want.summary and got.steps == want.steps
    assert np.array_equal(got.quote, want.quote) and np.array_equal(got.lots, want.lots)
    assert np.array_equal(lots, before[0]) and np.array_equal(quote, before[1])
    # the engine works on its own copy: the caller's int64 arrays stay untouched
    fresh = fast.arrays_of(_cascade_inputs()[0])
    result = fast.cascade_arrays(config=config, **fresh)
    assert not np.shares_memory(result.quote, fresh["quote"])
    assert not np.shares_memory(result.lots, fresh["lots"])



def _outputs(rows: int = 3):
    return (np.full(rows, 11, np.int64), np.full(rows, 12, np.int64), np.ones(rows, np.bool_))


def _read_only():
    out = _outputs()
    out[0].flags.writeable = False
    return out


def _shared():
    equity = np.zeros(3, np.int64)
    return (equity, equity, np.zeros(3, np.bool_))


#: each a bad ``out=`` for health, and the quote passed beside it ("an input" writes into quote)
BAD_HEALTH_OUTPUTS = {
    "not arrays": lambda quote: "not arrays",
    "two arrays": lambda quote: _outputs()[:2],
    "int32 equity": lambda quote: (np.zeros(3, np.int32), *_outputs()[1:]),
    "int64 flags": lambda quote: (*_outputs()[:2], np.zeros(3, np.int64)),
    "four rows": lambda quote: (np.zeros(4, np.int64), *_outputs()[1:]),
    "not contiguous": lambda quote: (np.zeros((3, 2), np.int64)[:, 0], *_outputs()[1:]),
    "read-only": lambda quote: _read_only(),
    "shared": lambda quote: _shared(),
    "an input": lambda quote: (quote, np.zeros(3, np.int64), np.zeros(3, np.bool_)),
}


@pytest.mark.parametrize("case", sorted(BAD_HEALTH_OUTPUTS))
def test_health_out_is_checked_before_anything_is_written_LIQ_DOMAIN_1(case):
    """``health(..., out=)`` writes into the caller's arrays only when they are three writable,
    C-contiguous, non-overlapping arrays of the right dtypes and length; anything else is
    MalformedState, and every array given keeps its contents."""
    quote = QUOTE.copy()
    out = BAD_HEALTH_OUTPUTS[case](quote)
    arrays = [a for a in out if isinstance(a, np.ndarray)] if isinstance(out, tuple) else []
    before = [a.copy() for a in arrays] + [quote.copy()]
    with pytest.raises(MalformedState):
        fast.health(quote, LOTS, MARKS, TABLES, out=out)
    for array, kept in zip(arrays + [quote], before, strict=True):
        assert np.array_equal(array, kept)
