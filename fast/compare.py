"""Running one operation on both implementations and comparing outcomes (results, result codes
and exception types), for the ``impl`` fixture, the differential tests, the vectors and
``liqspec difftest``.

An outcome is JSON-able: ``{"ok": value}`` or ``{"error": "Overflow", "code": "OVERFLOW"}``.

Outcomes and resulting states are compared as they are (both implementations keep every stored
quantity in int64 and reject, with ``Overflow``, the operation that would take one out of it, at
the same point: LIQ-DOMAIN-1), except where :func:`expected_fast` applies the one documented
difference of an outcome: a liquidation or bankruptcy price (LIQ-PRICE-1/2) whose ticks, or
reduced numerator or denominator, leave int64 is ``Overflow`` on the fast path. That difference,
the inputs outside the comparison (hand-built values, profile parameters and marks outside the
domain, memory exhaustion) and the 128-bit guards that cannot fire are listed in the
"Divergences" section of :doc:`/engine` (``docs/engine.rst``), each with the test that pins it
or the argument for it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import liqspec.reference as ref
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.funding import check_apply_funding
from liqspec.reference.prices import Threshold

from liqspec.reference.book import market_liquidate as _reference_market_liquidate
from liqspec.reference.cascade import replace_book as _reference_replace_book
from liqspec.reference.cascade import run_cascade as _reference_run_cascade
from liqspec.reference.receipts import Receipt
from liqspec.reference.journal import Fill, Transfer

from . import accounts as fast_accounts
from . import operations as fast_operations
from .cascade import run_cascade as _fast_run_cascade
from liqspec.testing.cases import Case, call_arguments, cascade_config_from_json


NAMES = ("equity_quote", "account_maintenance_margin_quote", "account_initial_margin_quote",
         "open_interest_quote", "free_collateral_quote", "is_liquidatable", "is_below_backstop",
         "bankruptcy_price", "liquidation_price", "funding_owed")

#: state-changing operations (LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2, LIQ-TRADE-1/2, LIQ-MARK-1,
#: LIQ-ACCOUNT-1, LIQ-BOOK-1, LIQ-EXEC-2, LIQ-BOOK-2, LIQ-BACKSTOP-1, LIQ-SHARE-2, LIQ-ADL-1/3,
#: LIQ-SOCIAL-2, LIQ-FUNDING-1/2, LIQ-INSURANCE-2, LIQ-LEVERAGE-4): same signatures, receipts,
#: errors and resulting states
OPERATIONS = fast_operations.OPERATIONS

#: the reference's operations that its package does not export by name
_REFERENCE_ELSEWHERE = {"market_liquidate": _reference_market_liquidate,
                        "replace_book": _reference_replace_book}

REFERENCE = SimpleNamespace(name="reference", funding_owed=check_apply_funding,
                            **{n: getattr(ref, n) for n in NAMES if n != "funding_owed"},
                            **{n: _REFERENCE_ELSEWHERE.get(n) or getattr(ref, n)
                               for n in OPERATIONS},
                            run_cascade=_reference_run_cascade)
FAST = SimpleNamespace(name="fast", **{n: getattr(fast_accounts, n) for n in NAMES},
                       **{n: getattr(fast_operations, n) for n in OPERATIONS},
                       run_cascade=_fast_run_cascade)
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
    """The fast outcome the reference's implies (see the module docstring): the same, except a
    price whose ticks or exact terms leave int64."""
    value = reference_outcome.get("ok")
    if op in ("bankruptcy_price", "liquidation_price") and value is not None:
        if not all(_fits(value[k]) for k in ("ticks", "num", "den")):
            return {"error": "Overflow", "code": ResultCode.OVERFLOW.name}
    return reference_outcome


def operations(case: Case) -> list[tuple[str, tuple]]:
    """Every operation of a case: each account-level function for each account, each price
    for each (account, market), funding and open interest for each market."""
    ops: list[tuple[str, tuple]] = []
    for account in case.accounts:
        a = account.account_id
        ops += [("equity_quote", (a,)), ("account_maintenance_margin_quote", (a,)),
                ("account_initial_margin_quote", (a,)), ("is_liquidatable", (a,)),
                ("is_below_backstop", (a,)), ("free_collateral_quote", (a,))]
        for market_id in case.profile.markets:
            ops += [("bankruptcy_price", (a, market_id)), ("liquidation_price", (a, market_id))]
    for market_id in case.profile.markets:
        ops += [("funding_owed", (market_id,)), ("open_interest_quote", (market_id,))]
    return ops


def run(impl: SimpleNamespace, case: Case, op: str, args: tuple,
        state: ref.State | None = None) -> dict[str, Any]:
    """One operation on one implementation, on a fresh state built from the case (or on
    ``state``, built from it: the queries change nothing, so one state serves them all)."""
    state = case.state() if state is None else state
    marks, profile = state.marks, state.profile
    if op in ("funding_owed",):
        return outcome(lambda: impl.funding_owed(state, args[0], case.rate_ppm))
    if op == "open_interest_quote":
        return outcome(lambda: impl.open_interest_quote(state, args[0]))
    account = state.accounts[args[0]]
    call = {
        "equity_quote": lambda: impl.equity_quote(account, marks, profile),
        "account_maintenance_margin_quote":
            lambda: impl.account_maintenance_margin_quote(account, marks, profile),
        "account_initial_margin_quote":
            lambda: impl.account_initial_margin_quote(account, marks, profile,
                                                      case.open_interest),
        "is_liquidatable": lambda: impl.is_liquidatable(account, state),
        "is_below_backstop": lambda: impl.is_below_backstop(account, state),
        "free_collateral_quote": lambda: impl.free_collateral_quote(state, account),
        "bankruptcy_price": lambda: impl.bankruptcy_price(account, args[1], marks, profile),
        "liquidation_price": lambda: impl.liquidation_price(account, args[1], marks, profile),
    }[op]
    return outcome(call)


def divergences(case: Case) -> list[dict[str, Any]]:
    """Every operation where the fast outcome differs from what the reference implies."""
    found = []
    for op, args in operations(case):
        want = expected_fast(op, run(REFERENCE, case, op, args))
        got = run(FAST, case, op, args)
        if got != want:
            found.append({"op": op, "args": list(args), "reference": want, "fast": got})
    return found


# -- sequences of state-changing operations, and cascades ------------------------------------------

def _error(error: BaseException) -> tuple:
    """An exception as (type name, result code name or None): any exception type, so that a
    crash on one side (a ZeroDivisionError, an AssertionError) is a divergence too."""
    code = getattr(error, "code", None)
    return ("error", type(error).__name__, code.name if code is not None else None)


def run_operations(impl: SimpleNamespace, case: Case, calls: list) -> list[tuple]:
    """Run ``calls`` ([op, args] pairs) one after the other on a fresh state built from the
    case, each on ``impl``'s own implementation; after each, the outcome (``("ok",
    Receipt)`` or the error) and the state's snapshot (LIQ-RESULT-1: a failed operation must
    leave it unchanged)."""
    state = case.state()
    steps = []
    for op, args in calls:
        try:
            result: tuple = ("ok", getattr(impl, op)(state, *call_arguments(op, args)))
        except Exception as error:  # noqa: BLE001  every exception type is compared
            result = _error(error)
        steps.append((result, state.snapshot()))
    return steps


def first_operation_divergence(reference: list[tuple], fast: list[tuple]) -> int | None:
    """The index of the first call whose outcome or resulting state differs, else None."""
    for i, (want, got) in enumerate(zip(reference, fast, strict=True)):
        if want != got:
            return i
    return None


def run_cascade_case(impl: SimpleNamespace, case: Case, config: dict) -> tuple:
    """One cascade on one implementation: ``("ok", events, steps, summary, final snapshot)``
    or the error. The configuration is decoded first, outside the comparison: a case the codec
    cannot read is the harness's error, never two equal outcomes."""
    cascade_config = cascade_config_from_json(config)
    state = case.state()
    try:
        result = impl.run_cascade(state, cascade_config)
    except Exception as error:  # noqa: BLE001
        return _error(error)
    return ("ok", result.events, result.steps, result.summary, result.state.snapshot())


def cascade_divergence(want: tuple, got: tuple, config: dict | None = None,
                       case: Case | None = None) -> str | None:
    """Which part of two cascade outcomes differs, else None: :func:`cascade_difference`, with
    no exception (both implementations reject a value leaving int64 at the same step).
    ``config`` and ``case`` are accepted for the callers that pass them."""
    return cascade_difference(want, got)


def cascade_difference(want: tuple, got: tuple) -> str | None:
    """Which part of two cascade outcomes differs ("outcome", "events", "steps", "summary",
    "state"), else None."""
    if want == got:
        return None
    if want[0] != "ok" or got[0] != "ok":
        return "outcome"
    for name, a, b in zip(("events", "steps", "summary", "state"), want[1:], got[1:],
                          strict=True):
        if a != b:
            return name
    return None


# -- JSON forms of outcomes (for printing divergences) ---------------------------------------------

def entry_json(entry: Any) -> list:
    if isinstance(entry, Transfer):
        return ["transfer", entry.seq, entry.source, entry.destination, entry.amount_quote,
                entry.rule_id]
    if isinstance(entry, Fill):
        return ["fill", entry.seq, entry.market_id, entry.buyer, entry.seller, entry.lots,
                entry.quote_amount, entry.price_ticks, entry.rule_id]
    return [repr(entry)]


def result_json(result: tuple) -> dict[str, Any]:
    """An operation's outcome as JSON: the receipt, or the error's type and code."""
    if result[0] == "ok":
        receipt = result[1]
        if isinstance(receipt, Receipt):
            return {"ok": {"code": receipt.code.name, "seq": receipt.seq,
                           "entries": [entry_json(e) for e in receipt.entries],
                           "amounts": dict(receipt.amounts)}}
        return {"ok": repr(receipt)}
    return {"error": result[1], "code": result[2]}


def snapshot_json(snapshot: tuple) -> dict[str, Any]:
    marks, accounts, holders, journal, seq, books = snapshot[:6]
    return {"marks": dict(marks), "holders": dict(holders), "seq": seq,
            "accounts": {a[0]: {"quote": a[1], "positions": dict(a[2]), "cost_quote": dict(a[3])}
                         for a in accounts},
            "journal": [entry_json(e) for e in journal],
            "books": {m: repr(image) for m, image in books}}


def cascade_json(outcome_: tuple) -> dict[str, Any]:
    if outcome_[0] != "ok":
        return {"error": outcome_[1], "code": outcome_[2]}
    _, events, steps, summary, snapshot = outcome_
    from dataclasses import asdict
    return {"events": [asdict(e) for e in events], "steps": [asdict(s) for s in steps],
            "summary": asdict(summary) if summary is not None else None,
            "state": snapshot_json(snapshot)}


def first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, as ``path: a != b`` (for a readable report)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                return first_difference(a.get(key, "<absent>"), b.get(key, "<absent>"),
                                        f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
    return f"{path or '.'}: {a!r} != {b!r}"
