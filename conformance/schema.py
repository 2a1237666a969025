"""JSON Schemas (draft 2020-12 subset) of every conformance file and protocol message, and a
small validator for that subset (``type``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``enum``, ``const``, ``pattern``, ``anyOf``, ``$ref`` to
``#/$defs``, ``minItems``), so checking a vector needs no extra dependency.

``liqspec vectors --out DIR`` writes them to ``DIR/schemas/<kind>.schema.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from liqspec.codec import FORMAT_VERSION
from liqspec.reference.errors import ResultCode
from liqspec.reference.profile import POLICY_FIELDS, MarketKind, TierBasis

from .catalogue import CATALOGUE

_INT = {"type": "string", "pattern": "^-?(0|[1-9][0-9]*)$"}
_DEFS: dict[str, Any] = {
    "int": _INT,
    "int_or_null": {"anyOf": [_INT, {"type": "null"}]},
    "int_map": {"type": "object", "additionalProperties": {"$ref": "#/$defs/int"}},
    "format": {"const": FORMAT_VERSION},
    "tier": {"type": "object", "required": ["floor_notional_quote", "maint_margin_ppm",
                                            "maint_deduction_quote", "init_margin_ppm",
                                            "init_deduction_quote"],
             "additionalProperties": {"$ref": "#/$defs/int"}},
    "market": {"type": "object",
               "required": ["market_id", "base_decimals", "price_decimals", "tiers"],
               "properties": {"market_id": {"type": "string"},
                              "base_decimals": {"$ref": "#/$defs/int"},
                              "price_decimals": {"$ref": "#/$defs/int"},
                              "value_per_lot_tick": {"$ref": "#/$defs/int"},
                              "liquidation_fee_ppm": {"$ref": "#/$defs/int"},
                              "min_maint_margin_quote": {"$ref": "#/$defs/int"},
                              "rate_scale": {"$ref": "#/$defs/int"},
                              "liquidator_fee_ppm": {"$ref": "#/$defs/int"},
                              "tier_basis": {"enum": list(TierBasis)},
                              "kind": {"enum": list(MarketKind)},
                              "face_per_lot": {"$ref": "#/$defs/int"},
                              "venue_price_decimals": {"$ref": "#/$defs/int"},
                              "order_tick": {"$ref": "#/$defs/int"},
                              "oi_scaling": {"anyOf": [{"type": "null"}, {
                                  "type": "object", "required": ["lower_cap_quote",
                                                                 "upper_cap_quote"],
                                  "additionalProperties": {"$ref": "#/$defs/int"}}]},
                              "tiers": {"type": "array", "minItems": 1,
                                        "items": {"$ref": "#/$defs/tier"}}},
               "additionalProperties": False},
    "profile": {"type": "object", "required": ["name", "quote_decimals", "markets"],
                "properties": {"name": {"type": "string"},
                               "quote_decimals": {"$ref": "#/$defs/int"},
                               "quote_asset": {"type": "string"},
                               "markets": {"type": "array", "minItems": 1,
                                           "items": {"$ref": "#/$defs/market"}},
                               "portion_ppm": {"$ref": "#/$defs/int"},
                               "portion_threshold_quote": {"$ref": "#/$defs/int"},
                               "share_target_ppm": {"$ref": "#/$defs/int"},
                               "liquidation_buffer_ppm": {"$ref": "#/$defs/int"},
                               "adl_seed": {"$ref": "#/$defs/int"},
                               "adl_drawdown_ppm": {"$ref": "#/$defs/int"},
                               "adl_drawdown_window_s": {"$ref": "#/$defs/int"},
                               "backstop_ratio": {"anyOf": [
                                   {"type": "null"},
                                   {"type": "array", "items": {"$ref": "#/$defs/int"},
                                    "minItems": 2, "maxItems": 2}]},
                               **{name: {"enum": [str(v) for v in policy]}
                                  for name, policy in POLICY_FIELDS.items()}},
                "additionalProperties": False},
    "account": {"type": "object", "required": ["account_id", "quote"],
                "properties": {"account_id": {"type": "string"},
                               "role": {"enum": ["trader", "backstop", "liquidity"]},
                               "quote": {"$ref": "#/$defs/int"},
                               "positions": {"$ref": "#/$defs/int_map"},
                               "cost_quote": {"$ref": "#/$defs/int_map"},
                               "isolated_market": {"type": ["string", "null"]},
                               "leverage": {"$ref": "#/$defs/int_map"}},
                "additionalProperties": False},
    "level": {"type": "array", "items": {"$ref": "#/$defs/int"}, "minItems": 2, "maxItems": 2},
    "book": {"type": "object", "required": ["account_id", "bids", "asks"],
             "properties": {"account_id": {"type": "string"},
                            "bids": {"type": "array", "items": {"$ref": "#/$defs/level"}},
                            "asks": {"type": "array", "items": {"$ref": "#/$defs/level"}}},
             "additionalProperties": False},
    "entry": {"type": "object", "required": ["kind", "seq", "rule_id"],
              "properties": {"kind": {"enum": ["transfer", "fill"]}, "seq": {"$ref": "#/$defs/int"},
                             "rule_id": {"type": "string"}, "source": {"type": "string"},
                             "destination": {"type": "string"},
                             "amount_quote": {"$ref": "#/$defs/int"},
                             "market_id": {"type": "string"}, "buyer": {"type": "string"},
                             "seller": {"type": "string"}, "lots": {"$ref": "#/$defs/int"},
                             "quote_amount": {"$ref": "#/$defs/int"},
                             "price_ticks": {"$ref": "#/$defs/int_or_null"}},
              "additionalProperties": False},
    "state": {"type": "object", "required": ["marks", "accounts"],
              "properties": {"marks": {"$ref": "#/$defs/int_map"},
                             "accounts": {"type": "array", "items": {"$ref": "#/$defs/account"}},
                             "holders": {"$ref": "#/$defs/int_map"},
                             "books": {"type": "object",
                                       "additionalProperties": {"$ref": "#/$defs/book"}},
                             "seq": {"$ref": "#/$defs/int"},
                             "journal": {"type": "array", "items": {"$ref": "#/$defs/entry"}}},
              "additionalProperties": False},
    "receipt": {"type": "object", "required": ["code", "seq", "entries", "amounts"],
                "properties": {"code": {"const": "OK"}, "seq": {"$ref": "#/$defs/int"},
                               "entries": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
                               "amounts": {"$ref": "#/$defs/int_map"}},
                "additionalProperties": False},
    "op": {"type": "object", "required": ["kind", "name", "args"],
           "properties": {"kind": {"enum": ["query", "operation", "cascade"]},
                          "name": {"enum": sorted(CATALOGUE)},
                          "args": {"type": "object"}},
           "additionalProperties": False},
    "result_code": {"enum": [c.name for c in ResultCode if c != ResultCode.OK]},
    "error": {"type": "object", "required": ["code"],
              "properties": {"code": {"$ref": "#/$defs/result_code"},
                             "number": {"$ref": "#/$defs/int"}},
              "additionalProperties": False},
    "ok": {"type": "object",
           "properties": {"state": {"$ref": "#/$defs/state"},
                          "receipt": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/receipt"}]},
                          # integers are decimal strings: a JSON number is never a result
                          "result": {"type": ["string", "boolean", "object", "array", "null"]},
                          "events": {"type": "array"}, "steps": {"type": "array"},
                          "summary": {"type": ["object", "null"]}},
           "additionalProperties": False},
}


def _document(title: str, body: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://liqspec.example/schemas/{title}.schema.json", "title": title,
            "type": "object", "required": ["format", *required],
            "properties": {"format": {"$ref": "#/$defs/format"}, **body},
            "additionalProperties": False, "$defs": _DEFS}


SCHEMAS: dict[str, dict[str, Any]] = {
    "meta": _document("meta", {
        "profile": {"type": "string"}, "name": {"enum": sorted(CATALOGUE)},
        "kind": {"enum": ["query", "operation", "cascade"]},
        "suite": {"enum": ["boundary", "reject", "random", "shrunk"]}, "case": {"type": "string"},
        "rules": {"type": "array", "items": {"type": "string", "pattern": "^LIQ-[A-Z]+-[0-9]+$"}},
        "description": {"type": "string"}, "units": {"type": "object"}},
        ["profile", "name", "kind", "suite", "case", "rules", "description", "units"]),
    "pre": _document("pre", {"profile": {"$ref": "#/$defs/profile"},
                             "state": {"$ref": "#/$defs/state"}}, ["profile", "state"]),
    "op": _document("op", {"kind": {"enum": ["query", "operation", "cascade"]},
                           "name": {"enum": sorted(CATALOGUE)}, "args": {"type": "object"}},
                    ["kind", "name", "args"]),
    "post": _document("post", _DEFS["ok"]["properties"], []),
    "error": _document("error", _DEFS["error"]["properties"], ["code"]),
    # the protocol's messages (docs/conformance.rst)
    "hello": _document("hello", {"type": {"const": "hello"}, "name": {"type": "string"},
                                 "profiles": {"anyOf": [{"const": "any"}, {
                                     "type": "array", "items": {"type": "string"}}]},
                                 "operations": {"type": "array",
                                                "items": {"enum": sorted(CATALOGUE)}}},
                         ["type", "profiles", "operations"]),
    "request": _document("request", {"type": {"const": "run"}, "id": {"$ref": "#/$defs/int"},
                                     "profile": {"$ref": "#/$defs/profile"},
                                     "state": {"$ref": "#/$defs/state"},
                                     "op": {"$ref": "#/$defs/op"}},
                         ["type", "id", "profile", "state", "op"]),
    "response": _document("response", {"id": {"$ref": "#/$defs/int"},
                                       "ok": {"$ref": "#/$defs/ok"},
                                       "error": {"$ref": "#/$defs/error"},
                                       "unsupported": {"type": "string"}}, ["id"]),
}
#: the vector file of each schema
FILE_SCHEMA = {"meta.json": "meta", "pre.json": "pre", "op.json": "op", "post.json": "post",
               "error.json": "error"}

_TYPES: dict[str, type] = {"object": dict, "array": list, "string": str, "null": type(None),
                           "boolean": bool}


def errors(document: Any, schema: dict[str, Any], root: dict[str, Any] | None = None,
           path: str = "$") -> list[str]:
    """Where ``document`` breaks ``schema`` (empty: it conforms)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return errors(document, root["$defs"][name], root, path)
    found: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(isinstance(document, _TYPES[k]) and not (k != "boolean" and
                                                            isinstance(document, bool))
                   for k in kinds if k in _TYPES) and not (
                "integer" in kinds and isinstance(document, int)):
            return [f"{path}: expected {' or '.join(kinds)}, got {type(document).__name__}"]
    if "const" in schema and document != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}, got {document!r}")
    if "enum" in schema and document not in schema["enum"]:
        found.append(f"{path}: {document!r} is not one of {schema['enum'][:8]}")
    if "pattern" in schema and isinstance(document, str) and \
            not re.search(schema["pattern"], document):
        found.append(f"{path}: {document!r} does not match {schema['pattern']}")
    if "anyOf" in schema and all(errors(document, s, root, path) for s in schema["anyOf"]):
        found.append(f"{path}: matches none of the allowed forms")
    if isinstance(document, dict):
        for key in schema.get("required", []):
            if key not in document:
                found.append(f"{path}: missing {key!r}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in document.items():
            if key in properties:
                found += errors(value, properties[key], root, f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}: unexpected {key!r}")
            elif isinstance(extra, dict):
                found += errors(value, extra, root, f"{path}.{key}")
    if isinstance(document, list):
        if len(document) < schema.get("minItems", 0):
            found.append(f"{path}: fewer than {schema['minItems']} items")
        if len(document) > schema.get("maxItems", len(document)):
            found.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(document):
                found += errors(item, schema["items"], root, f"{path}[{i}]")
    return found


def validate(document: Any, kind: str) -> list[str]:
    """Where a document of one kind (``meta``, ``pre``, ``op``, ``post``, ``error``, ``hello``,
    ``request``, ``response``) breaks its schema."""
    return errors(document, SCHEMAS[kind])


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, schema in SCHEMAS.items():
        path = folder / f"{kind}.schema.json"
        path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        paths.append(path)
    return paths
