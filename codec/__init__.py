"""The one integer JSON of liqspec: profiles, states, operations, receipts and results.

Every integer is written as a decimal string (``"-9223372036854775808"``), so no JSON reader
rounds it through a double; every other value is a JSON string, boolean, null, list or object.
Readers are strict: a number where a decimal string belongs, a leading zero or a ``+`` is a
:class:`CodecError` naming the field. The conformance vectors, the ``liqspec conform`` protocol,
the difftest cases and the proof counterexamples all use this form; :data:`FORMAT_VERSION` is
stamped on each document that carries one.

The reference's rules never import this module: it is the edge between the model and files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, is_dataclass, replace
from fractions import Fraction
from typing import Any

from liqspec.reference.arithmetic import PPM
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.errors import LiqspecError
from liqspec.reference.journal import Fill, Transfer
from liqspec.reference.prices import Threshold
from liqspec.reference.profile import (POLICY_FIELDS, Market, MarketKind, OpenInterestScaling,
                                       Profile, Tier, TierBasis)
from liqspec.reference.receipts import Receipt
from liqspec.reference.state import HOLDERS, TRADER, Account, Book, State

#: the version of the JSON forms below; readers refuse a document of another version
FORMAT_VERSION = 1

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


class CodecError(LiqspecError):
    """A JSON document that is not in liqspec's integer JSON form (the field is named)."""


# -- integers ---------------------------------------------------------------------------------

def enc(value: int) -> str:
    """An integer as its decimal string."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CodecError(f"not an integer: {value!r}")
    return str(value)


def dec(text: Any, what: str = "value") -> int:
    """A decimal string as an integer (strict: no number, no leading zero, no sign but ``-``)."""
    if not isinstance(text, str) or not _INTEGER.fullmatch(text) or text == "-0":
        raise CodecError(f"{what}: expected an integer as a decimal string, got {text!r}")
    return int(text)


def dec_or_none(text: Any, what: str) -> int | None:
    return None if text is None else dec(text, what)


def _int_map(data: Any, what: str) -> dict[str, int]:
    if not isinstance(data, Mapping):
        raise CodecError(f"{what}: expected an object")
    return {key: dec(value, f"{what}.{key}") for key, value in data.items()}


def _enc_map(data: Mapping[str, int]) -> dict[str, str]:
    return {key: enc(value) for key, value in sorted(data.items())}


def _field(data: Mapping, key: str, what: str) -> Any:
    try:
        return data[key]
    except (KeyError, TypeError):
        raise CodecError(f"{what}: missing field {key!r}") from None


def value_to_json(value: Any) -> Any:
    """Any result the reference returns, with its integers as decimal strings: an int, a bool, a
    string, None, a :class:`Threshold` (``ticks`` and the exact ``num``/``den``), a Fraction, a
    dataclass (by its fields), and lists, tuples and mappings of these."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Threshold):
        return {"ticks": enc(value.ticks), "num": enc(value.exact.numerator),
                "den": enc(value.exact.denominator)}
    if isinstance(value, Fraction):
        return {"num": enc(value.numerator), "den": enc(value.denominator)}
    if isinstance(value, Mapping):
        return {str(k): value_to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [value_to_json(v) for v in value]
    if is_dataclass(value):
        return {f.name: value_to_json(getattr(value, f.name)) for f in fields(value)}
    raise CodecError(f"no JSON form for {type(value).__name__}")


# -- profiles ---------------------------------------------------------------------------------

_TIER_FIELDS = ("floor_notional_quote", "maint_margin_ppm", "maint_deduction_quote",
                "init_margin_ppm", "init_deduction_quote")


def market_to_json(market: Market) -> dict[str, Any]:
    oi = market.oi_scaling
    by_size = market.tier_basis == TierBasis.SIZE
    return {
        "market_id": market.market_id,
        "base_decimals": enc(market.base_decimals), "price_decimals": enc(market.price_decimals),
        "value_per_lot_tick": enc(market.value_per_lot_tick),
        "liquidation_fee_ppm": enc(market.liquidation_fee_ppm),
        "min_maint_margin_quote": enc(market.min_maint_margin_quote),
        "oi_scaling": None if oi is None else {"lower_cap_quote": enc(oi.lower_cap_quote),
                                               "upper_cap_quote": enc(oi.upper_cap_quote)},
        "tiers": [{name: enc(getattr(t, name)) for name in _TIER_FIELDS
                   + (("floor_lots",) if by_size else ())} for t in market.tiers],
        # LIQ-TIER-8; written only for a market keyed by size, with each tier's floor_lots
        **({"tier_basis": market.tier_basis} if by_size else {}),
        # LIQ-TIER-7; written only where it is not 1, so decimal-rate documents read as before
        **({"rate_scale": enc(market.rate_scale)} if market.rate_scale != 1 else {}),
        # LIQ-FEE-3; likewise written only where it is set
        **({"liquidator_fee_ppm": enc(market.liquidator_fee_ppm)}
           if market.liquidator_fee_ppm else {}),
        # LIQ-INVERSE-1; written only for an inverse market, with its face and venue decimals
        **({"kind": market.kind, "face_per_lot": enc(market.face_per_lot),
            "venue_price_decimals": enc(market.venue_price_decimals)}
           if market.kind == MarketKind.INVERSE else {}),
        # LIQ-INVERSE-3; written only where it is not 1
        **({"order_tick": enc(market.order_tick)} if market.order_tick != 1 else {}),
    }


def profile_to_json(profile: Profile) -> dict[str, Any]:
    """A profile: its name, quote decimals, markets with tiers, and every policy."""
    data: dict[str, Any] = {
        "name": profile.name, "quote_decimals": enc(profile.quote_decimals),
        "quote_asset": profile.quote_asset,
        "markets": [market_to_json(m) for m in profile.markets.values()],
        "portion_ppm": enc(profile.portion_ppm),
        "portion_threshold_quote": enc(profile.portion_threshold_quote),
        "adl_seed": enc(profile.adl_seed),
        "backstop_ratio": (None if profile.backstop_ratio is None
                           else [enc(x) for x in profile.backstop_ratio]),
        # only where it is not the default, as rate_scale (documents of other profiles unchanged)
        **({"share_target_ppm": enc(profile.share_target_ppm)}
           if profile.share_target_ppm != PPM else {}),
        **({"liquidation_buffer_ppm": enc(profile.liquidation_buffer_ppm)}
           if profile.liquidation_buffer_ppm else {}),
        # LIQ-ADL-5, only where the profile has the rule (as the two fields above)
        **({"adl_drawdown_ppm": enc(profile.adl_drawdown_ppm),
            "adl_drawdown_window_s": enc(profile.adl_drawdown_window_s)}
           if profile.adl_drawdown_ppm else {}),
    }
    data.update({name: getattr(profile, name) for name in POLICY_FIELDS})
    return data


def profile_from_json(data: Any) -> Profile:
    """The profile of :func:`profile_to_json`. A market's ``value_per_lot_tick`` is normally the
    one its decimals give (LIQ-UNIT-1); a different value (a proof's free parameter) is kept."""
    what = "profile"
    markets, values = {}, {}
    for i, m in enumerate(_field(data, "markets", what)):
        where = f"{what}.markets[{i}]"
        market_id = _field(m, "market_id", where)
        oi = m.get("oi_scaling")
        tiers = tuple(Tier(*(dec(_field(t, name, f"{where}.tiers[{k}]"),
                                 f"{where}.tiers[{k}].{name}") for name in _TIER_FIELDS),
                           floor_lots=dec(t.get("floor_lots", "0"),
                                          f"{where}.tiers[{k}].floor_lots"))
                      for k, t in enumerate(_field(m, "tiers", where)))
        markets[market_id] = Market(
            market_id, dec(_field(m, "base_decimals", where), f"{where}.base_decimals"),
            dec(_field(m, "price_decimals", where), f"{where}.price_decimals"), tiers,
            liquidation_fee_ppm=dec(m.get("liquidation_fee_ppm", "0"), f"{where}.fee"),
            min_maint_margin_quote=dec(m.get("min_maint_margin_quote", "0"), f"{where}.min"),
            oi_scaling=None if oi is None else OpenInterestScaling(
                dec(_field(oi, "lower_cap_quote", where), f"{where}.oi_scaling"),
                dec(_field(oi, "upper_cap_quote", where), f"{where}.oi_scaling")),
            rate_scale=dec(m.get("rate_scale", "1"), f"{where}.rate_scale"),
            liquidator_fee_ppm=dec(m.get("liquidator_fee_ppm", "0"), f"{where}.liquidator_fee"),
            tier_basis=m.get("tier_basis", TierBasis.NOTIONAL),
            kind=m.get("kind", MarketKind.LINEAR),
            face_per_lot=dec(m.get("face_per_lot", "0"), f"{where}.face_per_lot"),
            venue_price_decimals=dec(m.get("venue_price_decimals", "0"),
                                     f"{where}.venue_price_decimals"),
            order_tick=dec(m.get("order_tick", "1"), f"{where}.order_tick"))
        if m.get("value_per_lot_tick") is not None:
            values[market_id] = dec(m["value_per_lot_tick"], f"{where}.value_per_lot_tick")
    ratio = data.get("backstop_ratio")
    policies = {name: data[name] for name in POLICY_FIELDS if name in data}
    profile = Profile(
        name=data.get("name", "generated"),
        quote_decimals=dec(_field(data, "quote_decimals", what), "profile.quote_decimals"),
        markets=markets, quote_asset=data.get("quote_asset", "quote"),
        portion_ppm=dec(data.get("portion_ppm", "1000000"), "profile.portion_ppm"),
        portion_threshold_quote=dec(data.get("portion_threshold_quote", "0"),
                                    "profile.portion_threshold_quote"),
        share_target_ppm=dec(data.get("share_target_ppm", str(PPM)), "profile.share_target_ppm"),
        liquidation_buffer_ppm=dec(data.get("liquidation_buffer_ppm", "0"),
                                   "profile.liquidation_buffer_ppm"),
        adl_seed=dec(data.get("adl_seed", "0"), "profile.adl_seed"),
        adl_drawdown_ppm=dec(data.get("adl_drawdown_ppm", "0"), "profile.adl_drawdown_ppm"),
        adl_drawdown_window_s=dec(data.get("adl_drawdown_window_s", "0"),
                                  "profile.adl_drawdown_window_s"),
        backstop_ratio=None if ratio is None else tuple(dec(x, "profile.backstop_ratio")
                                                        for x in ratio),
        **policies)
    if any(profile.markets[m].value_per_lot_tick != v for m, v in values.items()):
        object.__setattr__(profile, "markets", {
            m: replace(market, value_per_lot_tick=values.get(m, market.value_per_lot_tick))
            for m, market in profile.markets.items()})
    return profile


# -- states -----------------------------------------------------------------------------------

def account_to_json(account: Account) -> dict[str, Any]:
    """An account; ``leverage`` (LIQ-LEVERAGE-1) is written only when one is chosen, so a state
    without any reads and writes as it always has."""
    data = {"account_id": account.account_id, "role": account.role,
            "quote": enc(account.quote), "positions": _enc_map(account.positions),
            "cost_quote": _enc_map(account.cost_quote),
            "isolated_market": account.isolated_market}
    if account.leverage:
        data["leverage"] = _enc_map(account.leverage)
    return data


def account_from_json(data: Any, what: str = "account") -> Account:
    account_id = _field(data, "account_id", what)
    what = f"account {account_id!r}"
    return Account(account_id, quote=dec(_field(data, "quote", what), f"{what}.quote"),
                   positions=_int_map(data.get("positions", {}), f"{what}.positions"),
                   cost_quote=_int_map(data.get("cost_quote", {}), f"{what}.cost_quote"),
                   isolated_market=data.get("isolated_market"),
                   role=data.get("role", TRADER),
                   leverage=_int_map(data.get("leverage", {}), f"{what}.leverage"))


def entry_to_json(entry: Transfer | Fill) -> dict[str, Any]:
    if isinstance(entry, Transfer):
        return {"kind": "transfer", "seq": enc(entry.seq), "source": entry.source,
                "destination": entry.destination, "amount_quote": enc(entry.amount_quote),
                "rule_id": entry.rule_id}
    return {"kind": "fill", "seq": enc(entry.seq), "market_id": entry.market_id,
            "buyer": entry.buyer, "seller": entry.seller, "lots": enc(entry.lots),
            "quote_amount": enc(entry.quote_amount),
            "price_ticks": None if entry.price_ticks is None else enc(entry.price_ticks),
            "rule_id": entry.rule_id}


def entry_from_json(data: Any, what: str = "entry") -> Transfer | Fill:
    kind = _field(data, "kind", what)
    seq = dec(_field(data, "seq", what), f"{what}.seq")
    if kind == "transfer":
        return Transfer(seq, data["source"], data["destination"],
                        dec(_field(data, "amount_quote", what), f"{what}.amount_quote"),
                        data["rule_id"])
    if kind == "fill":
        return Fill(seq, data["market_id"], data["buyer"], data["seller"],
                    dec(_field(data, "lots", what), f"{what}.lots"),
                    dec(_field(data, "quote_amount", what), f"{what}.quote_amount"),
                    dec_or_none(data.get("price_ticks"), f"{what}.price_ticks"), data["rule_id"])
    raise CodecError(f"{what}: unknown entry kind {kind!r}")


def book_to_json(book: Book) -> dict[str, Any]:
    return {"account_id": book.account_id,
            "bids": [[enc(p), enc(n)] for p, n in book.bids],
            "asks": [[enc(p), enc(n)] for p, n in book.asks]}


def book_from_json(data: Any, what: str = "book") -> Book:
    def levels(side: str) -> list[list[int]]:
        return [[dec(p, f"{what}.{side}"), dec(n, f"{what}.{side}")]
                for p, n in data.get(side, [])]
    return Book(_field(data, "account_id", what), levels("bids"), levels("asks"))


def state_to_json(state: State, journal: bool = True) -> dict[str, Any]:
    """A state: marks, accounts (sorted by ID), holders, books, seq and, by default, the
    journal. The profile is written apart (:func:`profile_to_json`)."""
    data = {"marks": _enc_map(state.marks),
            "accounts": [account_to_json(state.accounts[a]) for a in sorted(state.accounts)],
            "holders": {h: enc(state.holders[h]) for h in HOLDERS},
            "books": {m: book_to_json(b) for m, b in sorted(state.books.items())},
            "seq": enc(state.seq)}
    if journal:
        data["journal"] = [entry_to_json(e) for e in state.journal]
    return data


def state_from_json(profile: Profile, data: Any) -> State:
    """The state of :func:`state_to_json` on ``profile``. Values are taken as written (the
    operations check their own domain), so a state outside it can be described and refused."""
    holders = {h: 0 for h in HOLDERS}
    holders.update(_int_map(data.get("holders", {}), "state.holders"))
    state = State(profile=profile, marks=_int_map(_field(data, "marks", "state"), "state.marks"),
                  holders=holders, seq=dec(data.get("seq", "0"), "state.seq"))
    for i, a in enumerate(_field(data, "accounts", "state")):
        account = account_from_json(a, f"state.accounts[{i}]")
        if account.account_id in state.accounts:
            raise CodecError(f"state: account {account.account_id!r} appears twice")
        state.accounts[account.account_id] = account
    state.books = {m: book_from_json(b, f"state.books.{m}")
                   for m, b in data.get("books", {}).items()}
    state.journal = [entry_from_json(e, f"state.journal[{i}]")
                     for i, e in enumerate(data.get("journal", []))]
    return state


# -- receipts and errors ----------------------------------------------------------------------

def receipt_to_json(receipt: Receipt) -> dict[str, Any]:
    return {"code": receipt.code.name, "seq": enc(receipt.seq),
            "entries": [entry_to_json(e) for e in receipt.entries],
            "amounts": _enc_map(receipt.amounts)}


def error_to_json(error: LiqspecError) -> dict[str, Any]:
    """A rejection as its result code's name and number (the message is not part of the
    contract)."""
    return {"code": error.code.name, "number": int(error.code)}


# -- cascade configurations -------------------------------------------------------------------

def cascade_config_from_json(data: Any) -> CascadeConfig:
    """A cascade configuration from its JSON: ``step_seconds``, ``path`` (market -> index ticks
    per step), ``books`` (market -> {levels, spacing_ppm, lots_per_level}), ``book_account``,
    ``backstop_vault`` (or null), ``mark_rule`` ({kind, band_ppm}) and, where the run has one,
    ``fund_history`` ([[seconds_before, balance], ...], oldest first: LIQ-ADL-5)."""
    try:
        path = PricePath(dec(data["step_seconds"], "config.step_seconds"),
                         {m: tuple(dec(p, f"config.path.{m}") for p in prices)
                          for m, prices in data["path"].items()})
        books = {m: shape_from_json(s) for m, s in data["books"].items()}
        rule = data.get("mark_rule") or {"kind": "index_band", "band_ppm": "5000"}
        return CascadeConfig(path, books, book_account=data.get("book_account", "book"),
                             backstop_vault=data.get("backstop_vault"),
                             mark_rule=MarkRule(rule["kind"], dec(rule["band_ppm"], "band_ppm")),
                             fund_history=tuple(
                                 (dec(seconds, "config.fund_history"),
                                  dec(balance, "config.fund_history"))
                                 for seconds, balance in data.get("fund_history", ())))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise CodecError(f"config: {error!r}") from None


def cascade_config_to_json(config: CascadeConfig) -> dict[str, Any]:
    return {"step_seconds": enc(config.path.step_seconds),
            "path": {m: [enc(p) for p in prices]
                     for m, prices in config.path.index_ticks.items()},
            "books": {m: shape_to_json(s) for m, s in config.books.items()},
            "book_account": config.book_account, "backstop_vault": config.backstop_vault,
            "mark_rule": {"kind": config.mark_rule.kind,
                          "band_ppm": enc(config.mark_rule.band_ppm)},
            # LIQ-ADL-5; written only where the run has one
            **({"fund_history": [[enc(seconds), enc(balance)]
                                 for seconds, balance in config.fund_history]}
               if config.fund_history else {})}


def shape_values_from_json(data: Any) -> list[int]:
    """A book shape's three integers ``[levels, spacing_ppm, lots_per_level]``, not yet checked
    against the book's domain (a generated call may carry a shape the operation must refuse)."""
    if not isinstance(data, Mapping):
        raise CodecError(f"shape: expected an object, got {data!r}")
    return [dec(data.get("levels"), "shape.levels"), dec(data.get("spacing_ppm"), "shape.spacing"),
            dec(data.get("lots_per_level"), "shape.lots_per_level")]


def shape_from_json(data: Any) -> BookShape:
    """A book shape; one outside the domain raises the reference's MalformedState."""
    return BookShape(*shape_values_from_json(data))


def shape_to_json(shape: BookShape | Sequence[int]) -> dict[str, str]:
    """A BookShape, or its three integers ``[levels, spacing_ppm, lots_per_level]``."""
    levels, spacing_ppm, lots_per_level = (
        (shape.levels, shape.spacing_ppm, shape.lots_per_level) if isinstance(shape, BookShape)
        else shape)
    return {"levels": enc(levels), "spacing_ppm": enc(spacing_ppm),
            "lots_per_level": enc(lots_per_level)}


def document(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level document: the format version, its kind, then its fields."""
    return {"format": FORMAT_VERSION, "kind": kind, **body}


def check_format(data: Any, what: str) -> None:
    version = data.get("format") if isinstance(data, Mapping) else None
    if version != FORMAT_VERSION:
        raise CodecError(f"{what}: format {version!r}, this liqspec reads format "
                         f"{FORMAT_VERSION}")


def plain(value: Any) -> Any:
    """A dataclass tree as plain data (for events and summaries)."""
    return value_to_json(asdict(value) if is_dataclass(value) else value)
