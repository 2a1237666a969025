"""The conformance vectors shipped in the package (liqspec.conformance.vectors): every one runs
on the reference and on liqspec.fast directly, every file is read, every file matches its JSON
Schema, the set is what the generator makes, and it covers every query, operation, profile and
result code. And the one integer JSON codec (liqspec.codec) they are written in.

Rules: LIQ-RESULT-1 (result codes), LIQ-DOMAIN-1 (int64 limits), and every rule a vector names.
"""

import json
from collections import Counter
from dataclasses import replace

import pytest

from liqspec import codec
from liqspec.conformance import schema
from liqspec.conformance.catalogue import CATALOGUE, QUERY, REFERENCE, execute
from liqspec.conformance.vectors import (SUITES, VectorSource, _random, archive_bytes,
                                         compact, socialize_profile, venue_state)
from liqspec.fast.conform import implementation
from liqspec.reference.errors import ResultCode
from liqspec.reference.profiles import PROFILES

pytestmark = pytest.mark.reference_only  # each test names the implementations it runs


@pytest.fixture(scope="module")
def shipped():
    source = VectorSource()
    return source, [source.load(folder) for folder in source.folders()]


def test_every_shipped_vector_replays_on_both_implementations_and_every_file_is_read(shipped):
    source, vectors = shipped
    fast, fast_names = implementation()
    failures, on_fast = [], Counter()
    for vector in vectors:
        request = (vector.pre["profile"], vector.pre["state"], vector.op)
        if execute(REFERENCE, *request) != vector.expected:
            failures.append(("reference", vector.folder))
        if vector.name in fast_names:
            on_fast[vector.name] += 1
            if execute(fast, *request) != vector.expected:
                failures.append(("fast", vector.folder))
    assert failures == []
    assert source.read == set(source.files), "some vector files were never read"
    assert len(vectors) > 1500
    # the fast path declares every request of the catalogue and ran every shipped vector:
    # nothing is skipped
    assert set(fast_names) == set(CATALOGUE)
    assert sum(on_fast.values()) == len(vectors)
    assert set(on_fast) == {vector.name for vector in vectors} == set(CATALOGUE)


def test_every_file_matches_its_schema(shipped):
    source, _ = shipped
    problems = []
    for name in source.files:
        kind = schema.FILE_SCHEMA[name.rsplit("/", 1)[1]]
        problems += [f"{name}: {p}" for p in schema.validate(json.loads(
            source._text(name)), kind)]
    assert problems == []


def test_the_validator_catches_a_number_written_as_a_json_number():
    pre = {"format": 1, "profile": codec.profile_to_json(PROFILES["bybit"]),
           "state": codec.state_to_json(venue_state(PROFILES["bybit"]))}
    assert schema.validate(pre, "pre") == []
    pre["state"]["accounts"][0]["quote"] = 5  # not a decimal string
    pre["state"]["marks"]["BTCUSDT"] = "007"
    found = schema.validate(pre, "pre")
    assert any("accounts[0].quote" in p for p in found)
    assert any("marks.BTCUSDT" in p for p in found)


def test_the_shipped_set_is_what_the_generator_makes():
    """Deterministic in its seed, and up to date with the reference (regenerate with
    ``liqspec vectors --out DIR --archive tar.gz`` into liqspec/conformance/data/)."""
    from importlib import resources
    shipped_bytes = resources.files("liqspec.conformance").joinpath(
        "data/vectors.tar.gz").read_bytes()
    assert archive_bytes(compact()) == shipped_bytes


def test_every_query_and_operation_has_vectors_for_every_profile_and_every_code(shipped):
    _, vectors = shipped
    names = {(v.profile, v.name) for v in vectors}
    profiles = set(PROFILES) | {socialize_profile().name}
    missing = {(p, n) for p in profiles for n in CATALOGUE} - names
    assert missing == set()
    assert {v.suite for v in vectors} == set(SUITES)
    codes = {v.expected["error"]["code"] for v in vectors if "error" in v.expected}
    # NOT_AN_INTEGER cannot be written in integer JSON; INEXACT_DECIMAL is a loader's code;
    # the leverage operations (LIQ-LEVERAGE-*, LIQ-ACCOUNT-3) are not in the conformance
    # catalogue yet, so their two codes have no vectors
    wanted = {c.name for c in ResultCode} - {"OK", "NOT_AN_INTEGER", "INEXACT_DECIMAL",
                                             "INVALID_LEVERAGE", "LEVERAGE_ABOVE_TIER_MAX"}
    assert wanted - codes == set()
    # every operation has an accepted case on some profile
    accepted = {v.name for v in vectors if "ok" in v.expected}
    assert accepted == set(CATALOGUE)


def test_boundary_vectors_sit_on_the_boundaries(shipped):
    """Exact maintenance is not liquidatable (LIQ-TRIGGER-1) but for a venue that liquidates at
    equality (LIQ-TRIGGER-3), one quantum below is; a tier floor
    belongs to the tier it starts (LIQ-TIER-1); the int64 limits give OVERFLOW (LIQ-DOMAIN-1)."""
    _, vectors = shipped
    by = {v.folder: v for v in vectors}
    for profile in PROFILES:
        liq = by[f"{profile}/is_liquidatable/boundary/venue_at_mm"].expected["ok"]["result"]
        below = by[f"{profile}/is_liquidatable/boundary/venue_below_mm"].expected["ok"]["result"]
        assert (liq, below) == (PROFILES[profile].trigger == "at_or_below", True)
        overflow = by[f"{profile}/deposit/reject/overflow"].expected["error"]["code"]
        assert overflow == "OVERFLOW"
        market = PROFILES[profile].markets[next(iter(PROFILES[profile].markets))]
        if market.tier_basis == "size":  # a notional alone has no tier there (LIQ-TIER-8)
            reject = by[f"{profile}/maintenance_requirement/reject/{market.market_id}_n0"]
            assert reject.expected["error"]["code"] == "MALFORMED_STATE"
            continue
        for k, tier in enumerate(market.tiers[1:], start=1):
            floor = tier.floor_notional_quote
            at = by[f"{profile}/maintenance_requirement/boundary/{market.market_id}_n{floor}"]
            under = by[f"{profile}/maintenance_requirement/boundary/"
                       f"{market.market_id}_n{floor - 1}"]
            assert (at.expected["ok"]["result"]["tier"], under.expected["ok"]["result"]["tier"]) \
                == (str(k), str(k - 1))


# -- the codec ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_and_state_round_trip_through_the_codec(name):
    profile = PROFILES[name]
    # everything that decides state; the prose and the sources stay with the venue's profile
    assert codec.profile_from_json(codec.profile_to_json(profile)) == \
        replace(profile, description="", sources=())
    state = venue_state(profile, stressed=True)
    data = codec.state_to_json(state)
    back = codec.state_from_json(profile, json.loads(json.dumps(data)))
    assert back.snapshot() == state.snapshot()
    assert all(isinstance(v, str) for v in data["marks"].values())


def test_the_codec_keeps_a_free_value_per_lot_tick():
    """A proof's generic market has a value per lot per tick that no decimals give."""
    data = codec.profile_to_json(PROFILES["bybit"])
    data["markets"][0]["value_per_lot_tick"] = "7"
    profile = codec.profile_from_json(data)
    assert profile.markets["BTCUSDT"].value_per_lot_tick == 7
    assert profile.markets["ETHUSDT"].value_per_lot_tick == 100


@pytest.mark.parametrize("text", [5, "05", "+5", "-0", "1e3", "", None, True, " 5"])
def test_the_codec_reads_integers_strictly(text):
    with pytest.raises(codec.CodecError):
        codec.dec(text, "x")


def test_the_codec_reads_int64_limits_and_beyond_exactly():
    for value in (2**63 - 1, -2**63, 2**64 + 3, -(10**30)):
        assert codec.dec(codec.enc(value)) == value


def test_query_results_are_integer_json():
    state = venue_state(PROFILES["hyperliquid"], stressed=True)
    profile_json = codec.profile_to_json(state.profile)
    state_json = codec.state_to_json(state)
    price = execute(REFERENCE, profile_json, state_json,
                    {"kind": QUERY, "name": "liquidation_price",
                     "args": {"account_id": "below_mm", "market_id": "BTC"}})
    assert set(price["ok"]["result"]) == {"ticks", "num", "den"}
    assert all(isinstance(x, str) for x in price["ok"]["result"].values())
    with pytest.raises(codec.CodecError):
        execute(REFERENCE, profile_json, state_json, {"kind": QUERY, "name": "no_such_query",
                                                      "args": {}})


def test_the_random_suite_is_deterministic_in_its_seed():
    def drawn(seed):
        return [(codec.state_to_json(state), op)
                for state, op, _, _ in _random(PROFILES["bybit"], seed, 4)]
    assert drawn(7) == drawn(7)
    assert drawn(7) != drawn(8)
