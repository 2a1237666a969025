"""Running one operation on both implementations and comparing outcomes (results, result codes
and exception types), for the ``impl`` fixture, the differential tests, the vectors and
``liqspec difftest``.

An outcome is JSON-able: ``{"ok": value}`` or ``{"error": "Overflow", "code": "OVERFLOW"}``.
The one documented difference: a price the reference reports whose ticks, or exact reduced
numerator or denominator, leave int64 is an ``Overflow`` in the fast path (prices are int64 there;
such a price can never be a mark), and so is a funding amount outside int64 (only a value of
-2^63 at -100%). :func:`expected_fast` maps a reference outcome to the fast outcome it implies.

The state-changing operations (:data:`OPERATIONS`, :mod:`.operations`) and the cascade
(:mod:`liqspec.fast.cascade`) carry int64 state with checked 128-bit intermediates. Where the reference's
unbounded intermediates cannot be carried exactly they raise ``Overflow`` instead (none is reached
by a state built through the reference's own operations at realistic sizes; no generator here
reaches them, so :func:`expected_fast` does not map them):

* a transfer or fill amount outside int64 (only an ADL bankruptcy value near 2^64, or a funding
  amount of 2^63);
* the book walk's projected equity (LIQ-BOOK-2) leaving 128 bits;
* a Binance ADL score (LIQ-ADL-2) whose denominator, wallet x equity, leaves 128 bits (more than
  two markets at the int64 limits);
* packing a state with a balance, position, cost basis, holder balance or book level outside
  int64 (the reference raises only when it touches that value).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from liqspec import reference as ref
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.prices import Threshold
from liqspec.reference.validation import valid_rate

from liqspec.reference.book import market_liquidate as _reference_market_liquidate

from . import accounts as fast_accounts
from . import operations as fast_operations
from .scenarios import Scenario


def _reference_funding_owed(state: ref.State, market_id: str, rate_ppm: int) -> dict[str, int]:
    """What reference.apply_funding moves per account, in its order of checks."""
    market = state.market(market_id)
    valid_rate(rate_ppm, "funding rate")
    mark = state.marks[market_id]
    return {a: ref.funding_owed_quote(ref.position_value_quote(acct.position(market_id), mark,
                                                               market), rate_ppm)
            for a, acct in sorted(state.accounts.items()) if acct.position(market_id) != 0}


NAMES = ("equity_quote", "account_maintenance_margin_quote", "account_initial_margin_quote",
         "open_interest_quote", "free_collateral_quote", "is_liquidatable", "is_below_backstop",
         "bankruptcy_price", "liquidation_price", "funding_owed")

#: state-changing operations (LIQ-EXEC-2, LIQ-BOOK-2, LIQ-BACKSTOP-1, LIQ-ADL-1/3, LIQ-SOCIAL-2,
#: LIQ-FUNDING-1/2, LIQ-INSURANCE-2): same signatures, receipts, errors and resulting states
OPERATIONS = fast_operations.OPERATIONS

REFERENCE = SimpleNamespace(name="reference", funding_owed=_reference_funding_owed,
                            market_liquidate=_reference_market_liquidate,
                            **{n: getattr(ref, n) for n in NAMES if n != "funding_owed"},
                            **{n: getattr(ref, n) for n in OPERATIONS if n != "market_liquidate"})
FAST = SimpleNamespace(name="fast", **{n: getattr(fast_accounts, n) for n in NAMES},
                       **{n: getattr(fast_operations, n) for n in OPERATIONS})
IMPLEMENTATIONS = {"reference": REFERENCE, "fast": FAST}


def _plain(value: Any) -> Any:
    if isinstance(value, Threshold):
        return {"ticks": value.ticks, "num": value.exact.numerator, "den": value.exact.denominator}
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return dict(value)
    return int(value)


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": _plain(call())}
    except LiqspecError as error:
        return {"error": type(error).__name__, "code": error.code.name}


def _fits(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def expected_fast(op: str, reference_outcome: dict[str, Any]) -> dict[str, Any]:
    """The fast outcome the reference's implies (see the module docstring)."""
    value = reference_outcome.get("ok")
    overflow = {"error": "Overflow", "code": ResultCode.OVERFLOW.name}
    if op in ("bankruptcy_price", "liquidation_price") and value is not None:
        if not all(_fits(value[k]) for k in ("ticks", "num", "den")):
            return overflow
    if op == "funding_owed" and value is not None and not all(map(_fits, value.values())):
        return overflow
    return reference_outcome


def operations(scenario: Scenario) -> list[tuple[str, tuple]]:
    """Every operation of a scenario: each account-level function for each account, each price
    for each (account, market), funding and open interest for each market."""
    ops: list[tuple[str, tuple]] = []
    for account in scenario.accounts:
        a = account.account_id
        ops += [("equity_quote", (a,)), ("account_maintenance_margin_quote", (a,)),
                ("account_initial_margin_quote", (a,)), ("is_liquidatable", (a,)),
                ("is_below_backstop", (a,)), ("free_collateral_quote", (a,))]
        for market_id in scenario.profile.markets:
            ops += [("bankruptcy_price", (a, market_id)), ("liquidation_price", (a, market_id))]
    for market_id in scenario.profile.markets:
        ops += [("funding_owed", (market_id,)), ("open_interest_quote", (market_id,))]
    return ops


def run(impl: SimpleNamespace, scenario: Scenario, op: str, args: tuple) -> dict[str, Any]:
    """One operation on one implementation, on a fresh state built from the scenario."""
    state = scenario.state()
    marks, profile = state.marks, state.profile
    if op in ("funding_owed",):
        return outcome(lambda: impl.funding_owed(state, args[0], scenario.rate_ppm))
    if op == "open_interest_quote":
        return outcome(lambda: impl.open_interest_quote(state, args[0]))
    account = state.accounts[args[0]]
    call = {
        "equity_quote": lambda: impl.equity_quote(account, marks, profile),
        "account_maintenance_margin_quote":
            lambda: impl.account_maintenance_margin_quote(account, marks, profile),
        "account_initial_margin_quote":
            lambda: impl.account_initial_margin_quote(account, marks, profile,
                                                      scenario.open_interest),
        "is_liquidatable": lambda: impl.is_liquidatable(account, state),
        "is_below_backstop": lambda: impl.is_below_backstop(account, state),
        "free_collateral_quote": lambda: impl.free_collateral_quote(state, account),
        "bankruptcy_price": lambda: impl.bankruptcy_price(account, args[1], marks, profile),
        "liquidation_price": lambda: impl.liquidation_price(account, args[1], marks, profile),
    }[op]
    return outcome(call)


def divergences(scenario: Scenario) -> list[dict[str, Any]]:
    """Every operation where the fast outcome differs from what the reference implies."""
    found = []
    for op, args in operations(scenario):
        want = expected_fast(op, run(REFERENCE, scenario, op, args))
        got = run(FAST, scenario, op, args)
        if got != want:
            found.append({"op": op, "args": list(args), "reference": want, "fast": got})
    return found
