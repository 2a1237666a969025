"""What a conformance case can ask an engine: every read query, state-changing operation and
the cascade, with its arguments, the rules it exercises, and how it runs on an implementation.

An *implementation* is any object with the reference's function names and signatures
(:data:`REFERENCE` is the reference itself; ``liqspec.fast.conform`` builds one over the compiled
engine). :func:`execute` runs one request ``{"kind", "name", "args"}`` on a state and returns the
response body in the integer JSON of :mod:`liqspec.codec`:

* an operation: ``{"ok": {"state": ..., "receipt": ...}}``;
* a query: ``{"ok": {"result": ...}}``;
* a cascade: ``{"ok": {"state", "events", "steps", "summary"}}``;
* a refusal: ``{"error": {"code": "NOT_LIQUIDATABLE", "number": "28"}}`` (the state unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import liqspec.codec as codec
import liqspec.reference as ref
from liqspec.codec import CodecError, dec
from liqspec.reference.book import BookShape, market_liquidate
from liqspec.reference.cascade import CascadeConfig, replace_book, run_cascade
from liqspec.reference.errors import LiqspecError
from liqspec.reference.funding import check_apply_funding
from liqspec.reference.state import State

QUERY, OPERATION, CASCADE = "query", "operation", "cascade"

#: argument kinds: an account or market ID (a string), an integer (a decimal string), an optional
#: integer (or null), a book shape and a cascade configuration (objects of decimal strings)
ID, INT, OPT_INT, SHAPE, CONFIG, OPT_ID = "id", "int", "int?", "shape", "config", "id?"


@dataclass(frozen=True)
class Entry:
    """One thing a request can name."""

    name: str
    kind: str
    args: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]
    call: Callable[[Any, State, dict[str, Any]], Any]
    description: str


def _account(state: State, args: Mapping) -> ref.Account:
    return state.account(args["account_id"])


def _open_interest(impl: Any, state: State, account: ref.Account) -> dict[str, int]:
    return {m: impl.open_interest_quote(state, m) for m in account.positions}


# -- queries the reference has no single function for ------------------------------------------

def maintenance_requirement(state: State, market_id: str, notional_quote: int) -> dict[str, int]:
    """LIQ-TIER-1/2: the tier (its index from 0) and the maintenance requirement of a notional."""
    market = state.market(market_id)
    tier = ref.tier_for(market, notional_quote)
    return {"tier": market.tiers.index(tier),
            "maint_margin_quote": ref.maintenance_margin_quote(market, notional_quote)}


def initial_requirement(state: State, market_id: str, notional_quote: int,
                        open_interest_quote: int) -> dict[str, int]:
    """LIQ-TIER-1/3/4: the tier and the initial requirement of a notional at an open interest."""
    market = state.market(market_id)
    tier = ref.tier_for(market, notional_quote)
    return {"tier": market.tiers.index(tier),
            "init_margin_quote": ref.initial_margin_quote(market, notional_quote,
                                                          open_interest_quote)}


def liquidation_fee(state: State, market_id: str, side: int, lots: int, fill_price_ticks: int,
                    bankruptcy_num: int, bankruptcy_den: int, surplus_quote: int) -> int:
    """LIQ-FEE-1 for a step closing ``lots`` of a position on ``side`` at ``fill_price_ticks``."""
    if bankruptcy_den <= 0:
        raise ref.MalformedState("the bankruptcy price's denominator must be positive")
    return ref.liquidation_fee_quote(state, market_id, side, lots, fill_price_ticks,
                                     Fraction(bankruptcy_num, bankruptcy_den), surplus_quote)


def _q(name: str, args: tuple, rules: tuple, call: Callable, description: str) -> Entry:
    return Entry(name, QUERY, args, rules, call, description)


def _op(name: str, args: tuple, rules: tuple, description: str) -> Entry:
    names = [a for a, _ in args]
    return Entry(name, OPERATION, args, rules,
                 lambda impl, state, a: getattr(impl, name)(state, *(a[n] for n in names)),
                 description)


A, M = ("account_id", ID), ("market_id", ID)
ENTRIES: tuple[Entry, ...] = (
    _q("equity_quote", (A,), ("LIQ-MARGIN-2",),
       lambda impl, s, a: impl.equity_quote(_account(s, a), s.marks, s.profile),
       "an account's equity: quote plus every position's value at the mark"),
    _q("account_maintenance_margin_quote", (A,), ("LIQ-TIER-5", "LIQ-TIER-2"),
       lambda impl, s, a: impl.account_maintenance_margin_quote(_account(s, a), s.marks,
                                                                s.profile),
       "an account's maintenance requirement over its positions"),
    _q("account_initial_margin_quote", (A,), ("LIQ-TIER-5", "LIQ-TIER-3", "LIQ-TIER-4"),
       lambda impl, s, a: impl.account_initial_margin_quote(
           _account(s, a), s.marks, s.profile, _open_interest(impl, s, _account(s, a))),
       "an account's initial requirement at the markets' open interest"),
    _q("maintenance_requirement", (M, ("notional_quote", INT)), ("LIQ-TIER-1", "LIQ-TIER-2"),
       lambda impl, s, a: impl.maintenance_requirement(s, a["market_id"], a["notional_quote"]),
       "the tier and maintenance requirement of one notional"),
    _q("initial_requirement", (M, ("notional_quote", INT), ("open_interest_quote", INT)),
       ("LIQ-TIER-1", "LIQ-TIER-3", "LIQ-TIER-4"),
       lambda impl, s, a: impl.initial_requirement(s, a["market_id"], a["notional_quote"],
                                                   a["open_interest_quote"]),
       "the tier and initial requirement of one notional at an open interest"),
    _q("open_interest_quote", (M,), ("LIQ-TIER-4",),
       lambda impl, s, a: impl.open_interest_quote(s, a["market_id"]),
       "a market's open interest: the long lots' value at the mark"),
    _q("free_collateral_quote", (A,), ("LIQ-MARGIN-5",),
       lambda impl, s, a: impl.free_collateral_quote(s, _account(s, a)),
       "equity less the initial requirement"),
    _q("is_liquidatable", (A,), ("LIQ-TRIGGER-1",),
       lambda impl, s, a: impl.is_liquidatable(_account(s, a), s),
       "equity below a positive maintenance requirement"),
    _q("is_below_backstop", (A,), ("LIQ-TRIGGER-2",),
       lambda impl, s, a: impl.is_below_backstop(_account(s, a), s),
       "equity below the backstop fraction of maintenance"),
    _q("bankruptcy_price", (A, M), ("LIQ-PRICE-1", "LIQ-PRICE-3"),
       lambda impl, s, a: impl.bankruptcy_price(_account(s, a), a["market_id"], s.marks,
                                                s.profile),
       "the mark at which equity is zero: exact, and in ticks rounded toward the venue"),
    _q("liquidation_price", (A, M), ("LIQ-PRICE-2", "LIQ-PRICE-3"),
       lambda impl, s, a: impl.liquidation_price(_account(s, a), a["market_id"], s.marks,
                                                 s.profile),
       "the mark at which equity meets maintenance, with tier switching, in ticks"),
    _q("liquidation_size_lots", (A, M), ("LIQ-EXEC-1",),
       lambda impl, s, a: impl.liquidation_size_lots(_account(s, a), a["market_id"], s),
       "how many lots one liquidation step may close"),
    _q("liquidation_fee", (M, ("side", INT), ("lots", INT), ("fill_price_ticks", INT),
                           ("bankruptcy_num", INT), ("bankruptcy_den", INT),
                           ("surplus_quote", INT)), ("LIQ-FEE-1",),
       lambda impl, s, a: impl.liquidation_fee(s, a["market_id"], a["side"], a["lots"],
                                               a["fill_price_ticks"], a["bankruptcy_num"],
                                               a["bankruptcy_den"], a["surplus_quote"]),
       "the liquidation fee of one step, capped by the surplus"),
    _q("adl_allocation", (A, M), ("LIQ-ADL-2",),
       lambda impl, s, a: impl.adl_allocation(s, _account(s, a), a["market_id"]),
       "the deleveraging ranking: who takes how many lots, in execution order"),
    _q("adl_receive_quote", (A, M, ("lots", INT), ("fund_peak_quote", INT)),
       ("LIQ-ADL-4", "LIQ-ADL-5"),
       lambda impl, s, a: impl.adl_receive_quote(_account(s, a), a["market_id"], a["lots"], s,
                                                 a["fund_peak_quote"]),
       "the quote a bankrupt account receives for closing lots by deleveraging, at the mark "
       "where the fund is in drawdown from its peak"),
    _q("funding_owed", (M, ("rate_ppm", INT)), ("LIQ-FUNDING-1",),
       lambda impl, s, a: impl.funding_owed(s, a["market_id"], a["rate_ppm"]),
       "what each position owes (+) or is owed (-) for one funding interval"),
    _op("open_account", (A, ("isolated_market", OPT_ID)), ("LIQ-ACCOUNT-1",),
        "open an empty trader account, cross or isolated"),
    _op("deposit", (A, ("amount_quote", INT)), ("LIQ-DEPOSIT-1",), "deposit quote"),
    _op("withdraw", (A, ("amount_quote", INT)), ("LIQ-WITHDRAW-1", "LIQ-WITHDRAW-2"),
        "withdraw quote, gated by initial margin and outstanding bad debt"),
    _op("trade", (("buyer_id", ID), ("seller_id", ID), M, ("lots", INT), ("price_ticks", INT)),
        ("LIQ-TRADE-1", "LIQ-TRADE-2"), "a trade with the initial-margin check"),
    _op("set_mark", (M, ("price_ticks", INT)), ("LIQ-MARK-1",), "set a market's mark price"),
    _op("replace_book", (M, ("shape", SHAPE), A), ("LIQ-BOOK-1",),
        "rebuild a market's book around its mark"),
    _op("liquidate", (A, M, ("counterparty_id", ID), ("fill_price_ticks", INT), ("lots", OPT_INT)),
        ("LIQ-EXEC-2", "LIQ-EXEC-1", "LIQ-FEE-1", "LIQ-INSURANCE-1"),
        "one liquidation step against a counterparty at a price"),
    _op("market_liquidate", (A, M), ("LIQ-BOOK-2", "LIQ-BOOK-3", "LIQ-FEE-1"),
        "one liquidation step filled against the market's book"),
    _op("backstop_liquidate", (A, ("vault_id", ID)), ("LIQ-BACKSTOP-1",),
        "a backstop vault takes over the whole account"),
    _op("share_liquidate", (A, ("vault_id", ID)), ("LIQ-SHARE-2", "LIQ-SHARE-1"),
        "a backstop vault takes one share of every position, with its penalty (Paradex)"),
    _op("deleverage", (A, M, ("fund_peak_quote", INT)),
        ("LIQ-ADL-1", "LIQ-ADL-2", "LIQ-ADL-3", "LIQ-ADL-4", "LIQ-ADL-5"),
        "close a bankrupt position against ranked opposite traders (the fund's peak within "
        "the profile's window: 0 for none)"),
    _op("socialize_loss", (M, ("side", INT), ("amount_quote", OPT_INT)), ("LIQ-SOCIAL-2",),
        "spread recorded bad debt, or a part of it, over one side of a market"),
    _op("apply_funding", (M, ("rate_ppm", INT)), ("LIQ-FUNDING-1", "LIQ-FUNDING-2"),
        "exchange one funding interval"),
    _op("fund_insurance", (("amount_quote", INT),), ("LIQ-INSURANCE-2",),
        "top up the insurance fund"),
    Entry("run_cascade", CASCADE, (("config", CONFIG),),
          ("LIQ-CASCADE-1", "LIQ-CASCADE-2", "LIQ-CASCADE-3", "LIQ-CASCADE-5", "LIQ-MARK-2"),
          lambda impl, s, a: impl.run_cascade(s, a["config"]),
          "a whole cascade over a price path: trace, step records, summary, final state"),
)
CATALOGUE: dict[str, Entry] = {e.name: e for e in ENTRIES}
QUERIES = tuple(e.name for e in ENTRIES if e.kind == QUERY)
OPERATIONS = tuple(e.name for e in ENTRIES if e.kind == OPERATION)

#: the reference as an implementation
REFERENCE = SimpleNamespace(
    **{name: getattr(ref, name) for name in (
        "equity_quote", "account_maintenance_margin_quote", "account_initial_margin_quote",
        "open_interest_quote", "free_collateral_quote", "is_liquidatable", "is_below_backstop",
        "bankruptcy_price", "liquidation_price", "liquidation_size_lots", "adl_allocation",
        "adl_receive_quote", "open_account", "deposit", "withdraw", "trade", "set_mark",
        "liquidate", "backstop_liquidate", "share_liquidate", "deleverage", "socialize_loss",
        "apply_funding", "fund_insurance")},
    funding_owed=check_apply_funding, maintenance_requirement=maintenance_requirement,
    initial_requirement=initial_requirement, liquidation_fee=liquidation_fee,
    market_liquidate=market_liquidate, replace_book=replace_book, run_cascade=run_cascade)


def decode_args(entry: Entry, data: Any) -> dict[str, Any]:
    """A request's arguments as Python values (IDs stay strings; integers are decoded)."""
    if not isinstance(data, Mapping):
        raise CodecError(f"{entry.name}: args must be an object")
    out: dict[str, Any] = {}
    for name, kind in entry.args:
        if name not in data:
            raise CodecError(f"{entry.name}: missing argument {name!r}")
        value = data[name]
        if kind == INT:
            out[name] = dec(value, f"{entry.name}.{name}")
        elif kind == OPT_INT:
            out[name] = codec.dec_or_none(value, f"{entry.name}.{name}")
        elif kind == SHAPE:
            out[name] = codec.shape_from_json(value)
        elif kind == CONFIG:
            out[name] = codec.cascade_config_from_json(value)
        else:  # an ID is taken as given: an unknown one is the operation's own error
            out[name] = value
    return out


def encode_args(entry: Entry, args: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in entry.args:
        value = args.get(name)
        if kind in (INT, OPT_INT):
            out[name] = None if value is None else codec.enc(value)
        elif kind == SHAPE:
            out[name] = codec.shape_to_json(value) \
                if isinstance(value, (BookShape, list, tuple)) else value
        elif kind == CONFIG:
            out[name] = codec.cascade_config_to_json(value) if isinstance(value, CascadeConfig) \
                else value
        else:
            out[name] = value
    return out


def request_op(name: str, **args: Any) -> dict[str, Any]:
    """The ``op`` part of a request, from Python values."""
    entry = CATALOGUE[name]
    return {"kind": entry.kind, "name": name, "args": encode_args(entry, args)}


def execute(impl: Any, profile_json: Any, state_json: Any, op: Any) -> dict[str, Any]:
    """Run one request on an implementation; the response body (see the module docstring).
    A request this function cannot read raises :class:`~liqspec.codec.CodecError`."""
    if not isinstance(op, Mapping) or op.get("name") not in CATALOGUE:
        raise CodecError(f"unknown operation {op.get('name') if isinstance(op, Mapping) else op!r}")
    entry = CATALOGUE[op["name"]]
    profile = codec.profile_from_json(profile_json)
    state = codec.state_from_json(profile, state_json)
    try:
        args = decode_args(entry, op.get("args", {}))
        result = entry.call(impl, state, args)
    except CodecError:
        raise
    except LiqspecError as error:
        return {"error": error_json(error)}
    return {"ok": ok_json(entry, state, result)}


def error_json(error: LiqspecError) -> dict[str, Any]:
    return {"code": error.code.name, "number": codec.enc(int(error.code))}


def ok_json(entry: Entry, state: State, result: Any) -> dict[str, Any]:
    if entry.kind == QUERY:
        return {"result": codec.value_to_json(result)}
    if entry.kind == CASCADE:
        return {"state": codec.state_to_json(result.state, journal=False),
                "events": [codec.plain(e) for e in result.events],
                "steps": [codec.plain(s) for s in result.steps],
                "summary": None if result.summary is None else codec.plain(result.summary)}
    body: dict[str, Any] = {"state": codec.state_to_json(state, journal=False)}
    body["receipt"] = codec.receipt_to_json(result) if isinstance(result, ref.Receipt) else None
    return body
