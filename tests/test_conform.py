"""``liqspec conform`` (liqspec.conformance.harness) against real engine subprocesses: the
reference and liqspec.fast pass; deliberately wrong engines (tests/conform_engines/) are each
caught with the right rule named and a shrunk case that replays; a crashing, a hanging and a
malformed engine are reported as such with the request that caused it; transcripts replay.

Rules named: LIQ-FEE-1, LIQ-TIER-1, LIQ-INSURANCE-1, LIQ-ADL-2 (the wrong engines' bugs).
"""

import json
import shlex
import sys
from pathlib import Path

import pytest

from liqspec.cli import main
from liqspec.conformance.catalogue import CATALOGUE, OPERATION
from liqspec.conformance.schema import validate

pytestmark = pytest.mark.reference_only  # the implementations are the engines under test

ENGINES = Path(__file__).parent / "conform_engines"
PYTHON = shlex.quote(sys.executable)


def engine(name: str) -> str:
    return f"{PYTHON} {shlex.quote(str(ENGINES / name))}.py"


def conform(capsys, *args: str) -> tuple[int, str]:
    status = main(["conform", *args])
    return status, capsys.readouterr().out


@pytest.fixture(scope="module")
def some_vectors(tmp_path_factory):
    """A small vectors folder: the shipped cases of one venue (for the fast tests)."""
    from liqspec.conformance.vectors import VectorSource, dumps, files_of
    out = tmp_path_factory.mktemp("vectors")
    source = VectorSource()
    for folder in source.folders():
        if "/hyperliquid/" in folder or "/liquidation_fee/" in folder:
            vector = source.load(folder)
            target = out / vector.folder
            target.mkdir(parents=True)
            for name, doc in files_of(vector).items():
                (target / name).write_text(dumps(doc))
    return out


def test_the_reference_engine_passes_every_vector_and_a_campaign(capsys, tmp_path):
    status, out = conform(capsys, "--engine", f"{PYTHON} -m liqspec.conformance.reference_engine",
                          "--examples", "40", "--seed", "3", "--out", str(tmp_path))
    assert status == 0, out
    assert "PASS:" in out and " 0 failed, 0 skipped" in out


def test_the_fast_adapter_passes_every_vector_with_nothing_skipped(capsys, tmp_path):
    status, out = conform(capsys, "--engine", f"{PYTHON} -m liqspec.fast.conform",
                          "--examples", "40", "--out", str(tmp_path))
    assert status == 0, out
    assert "PASS:" in out and " 0 failed, 0 skipped" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    for name in CATALOGUE:  # every request of the catalogue ran on the engine, and passed
        assert int(rows[name][1]) > 0 and rows[name][2:4] == ["0", "0"], name


def test_the_fast_adapter_claims_only_compiled_functions():
    """Never the reference under a claimed name: every function it declares is liqspec.fast's."""
    from liqspec.fast import operations
    from liqspec.fast.conform import implementation
    impl, supported = implementation()
    for name in supported:
        assert getattr(impl, name).__module__.startswith("liqspec.fast"), name
    compiled = {n for n, e in CATALOGUE.items() if e.kind == OPERATION and hasattr(operations, n)}
    assert compiled <= set(supported)
    assert {n for n in supported if CATALOGUE[n].kind == OPERATION} == compiled
    assert set(supported) == set(CATALOGUE)


@pytest.mark.parametrize("bug, rule, name", [
    ("fee_rounded_down", "LIQ-FEE-1", "liquidation_fee"),
    ("tier_off_by_one", "LIQ-TIER-1", "*_requirement"),
    ("fund_below_zero", "LIQ-INSURANCE-1", "liquidate"),
    ("adl_reversed", "LIQ-ADL-2", "adl_allocation"),
])
def test_a_wrong_engine_is_caught_with_its_rule_and_a_shrunk_case(capsys, tmp_path, bug, rule,
                                                                   name):
    status, out = conform(capsys, "--engine", engine(bug), "--examples", "0",
                          "--max-shrink", "1", "--out", str(tmp_path))
    assert status == 1, out
    rules = {line.split()[1] for line in out.splitlines() if line.startswith("DIVERGENCE ")}
    assert rule in rules
    table = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    assert table[rule][-1] == "FAIL"
    # the shrunk case: a vector of the named operation, smaller than the case it came from,
    # that the wrong engine still fails and the reference passes
    shrunk = sorted(tmp_path.glob(f"*/{name}/shrunk/*/meta.json"))
    assert shrunk, out
    folder = shrunk[0].parent
    for file in folder.iterdir():
        assert validate(json.loads(file.read_text()), file.stem) == []
    original = json.loads(shrunk[0].read_text())["description"].split(":")[0]
    assert original.startswith("shrunk from ")
    assert f"--vectors {tmp_path}" in out  # the replay command
    line = next(x for x in out.splitlines() if x.strip().startswith("shrunk to"))
    kept, total = (int(w) for w in line.split()[2:5:2])
    assert kept < total  # accounts the divergence does not need are gone
    one = tmp_path / "one"
    (one / folder.relative_to(tmp_path)).mkdir(parents=True)
    for file in folder.iterdir():
        (one / folder.relative_to(tmp_path) / file.name).write_text(file.read_text())
    again, out = conform(capsys, "--engine", engine(bug), "--vectors", str(one),
                         "--examples", "0", "--max-shrink", "0", "--out", str(tmp_path / "x"))
    assert again == 1 and f"DIVERGENCE {rule}" in out
    fine, out = conform(capsys, "--engine", f"{PYTHON} -m liqspec.conformance.reference_engine",
                        "--vectors", str(one), "--examples", "0")
    assert fine == 0 and "1 passed" in out


def test_an_answer_outside_the_integer_json_is_a_divergence(capsys, tmp_path, some_vectors):
    status, out = conform(capsys, "--engine", engine("json_numbers"), "--vectors",
                          str(some_vectors), "--examples", "0", "--max-shrink", "0")
    assert status == 1
    assert "the answer breaks the response schema: $.ok.result: expected string or" in out


@pytest.mark.slow
def test_a_long_campaign_on_the_fast_adapter(capsys, tmp_path):
    status, out = conform(capsys, "--engine", f"{PYTHON} -m liqspec.fast.conform",
                          "--examples", "5000", "--seed", "2026", "--out", str(tmp_path))
    assert status == 0, out


@pytest.mark.parametrize("bug, kind", [("crashing", "crash"), ("hanging", "timeout"),
                                       ("malformed", "malformed")])
def test_a_broken_engine_is_reported_with_the_request_that_broke_it(capsys, tmp_path, bug,
                                                                    kind):
    status, out = conform(capsys, "--engine", engine(bug), "--timeout", "2", "--examples", "0",
                          "--out", str(tmp_path))
    assert status == 2, out
    assert f"ENGINE FAILURE ({kind})" in out
    assert 'request: type "run"' in out and '"name": "equity_quote"' in out  # the request
    saved = json.loads((tmp_path / "engine-failure-request.json").read_text())
    assert saved["op"]["name"] == "equity_quote" and saved["state"]["accounts"]
    if bug == "crashing":
        assert "segmentation fault (simulated)" in out  # the engine's stderr


def test_an_engine_that_cannot_start_is_a_usage_error(capsys):
    status, out = conform(capsys, "--engine", "/no/such/engine", "--examples", "0")
    assert status == 2 and "ENGINE FAILURE (crash)" in out


def test_a_transcript_saves_every_exchange_and_replays(capsys, tmp_path, some_vectors):
    transcript = tmp_path / "run.jsonl"
    status, out = conform(capsys, "--engine", f"{PYTHON} -m liqspec.fast.conform",
                          "--vectors", str(some_vectors), "--examples", "6",
                          "--transcript", str(transcript))
    assert status == 0, out
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert records[0]["request"]["type"] == "hello"
    runs = [r for r in records if r["request"]["type"] == "run"]
    assert runs and all(validate(r["request"], "request") == [] for r in runs)
    assert all(validate(r["response"], "response") == [] for r in runs)
    passed = out.split("PASS: ")[1].split(" passed")[0]
    again, replayed = conform(capsys, "--replay", str(transcript))
    assert again == 0 and f"PASS: {passed} passed" in replayed
    fresh, replayed = conform(capsys, "--replay", str(transcript), "--engine",
                              f"{PYTHON} -m liqspec.fast.conform")
    assert fresh == 0 and "0 answers differ from the transcript" in replayed
    # a tampered answer is judged a divergence
    for record in runs:
        if "ok" in record["response"] and "receipt" in record["response"]["ok"]:
            record["response"]["ok"]["state"]["holders"]["insurance_fund"] = "-1"
            break
    else:
        pytest.fail("no operation in the transcript")
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    bad, replayed = conform(capsys, "--replay", str(transcript))
    assert bad == 1 and "DIVERGENCE" in replayed


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["conform", "--examples", "0"]) == 2
    assert main(["conform", "--engine", "x", "--vectors", str(tmp_path / "none")]) == 2
    assert "no such vectors folder" in capsys.readouterr().err


def test_the_vectors_command_writes_the_tree_and_the_schemas(capsys, tmp_path):
    assert main(["vectors", "--out", str(tmp_path / "v"), "--cases", "1", "--seed", "5"]) == 0
    written = capsys.readouterr().out
    assert "schemas" in written
    assert (tmp_path / "v" / "schemas" / "pre.schema.json").exists()
    metas = list((tmp_path / "v").glob("*/*/*/*/meta.json"))
    assert len(metas) > 1000
    profiles = {p.relative_to(tmp_path / "v").parts[0] for p in metas}
    assert {"binance_usdm", "bitmex", "bybit", "dydx_v4", "hyperliquid"} <= profiles
    # a folder that holds files already is refused (an earlier set's cases would be read too)
    assert main(["vectors", "--out", str(tmp_path / "v")]) == 2
    assert "not empty" in capsys.readouterr().err


# -- judging and shrinking, without an engine ----------------------------------------------------

def test_a_divergence_is_blamed_on_the_first_differing_journal_entry_else_the_operation():
    from liqspec.conformance.harness import judge
    entries = [{"kind": "fill", "seq": "1", "rule_id": "LIQ-EXEC-2", "lots": "3"},
               {"kind": "transfer", "seq": "1", "rule_id": "LIQ-FEE-1", "amount_quote": "5"}]
    expected = {"ok": {"state": {"holders": {"insurance_fund": "5"}},
                       "receipt": {"code": "OK", "seq": "1", "amounts": {"fee": "5"},
                                   "entries": entries}}}
    got = json.loads(json.dumps(expected))
    got["ok"]["receipt"]["entries"][1]["amount_quote"] = "4"
    got["ok"]["receipt"]["amounts"]["fee"] = "4"
    got["ok"]["state"]["holders"]["insurance_fund"] = "4"
    found = judge("liquidate", expected, got)
    assert found["rule"] == "LIQ-FEE-1"  # not the holders' key, which sorts first
    assert found["difference"] == "receipt.entries.1.amount_quote: reference '5', engine '4'"
    assert judge("liquidate", expected, json.loads(json.dumps(expected))) is None
    tier = judge("maintenance_requirement", {"ok": {"result": {"tier": "1"}}},
                 {"ok": {"result": {"tier": "0"}}})
    assert tier["rule"] == "LIQ-TIER-1"
    gated = judge("withdraw", {"error": {"code": "WITHDRAWALS_GATED"}}, expected)
    assert gated == {"rule": "LIQ-WITHDRAW-1", "difference":
                     "the reference rejects with WITHDRAWALS_GATED, the engine accepts"}
    # the code is the contract; the number is informative
    assert judge("withdraw", {"error": {"code": "WITHDRAWALS_GATED", "number": "23"}},
                 {"error": {"code": "WITHDRAWALS_GATED"}}) is None


def test_shrinking_keeps_only_what_the_divergence_needs():
    """Delta debugging on a venue: a divergence that needs ``flat`` to hold at least 10
    quantums shrinks to that one account holding exactly 10, nothing else."""
    from liqspec import codec
    from liqspec.conformance.catalogue import request_op
    from liqspec.conformance.shrink import shrink
    from liqspec.conformance.vectors import venue_state
    from liqspec.reference.profiles import PROFILES

    state = venue_state(PROFILES["bybit"], stressed=True)
    request = {"profile": codec.profile_to_json(state.profile),
               "state": codec.state_to_json(state, journal=False),
               "op": request_op("equity_quote", account_id="flat")}

    def signature(candidate, expected):
        flat = [a for a in candidate["state"]["accounts"] if a["account_id"] == "flat"]
        return "diverges" if expected and flat and int(flat[0]["quote"]) >= 10 else None

    small, asked = shrink(request, signature, budget=2_000)
    assert [a["account_id"] for a in small["state"]["accounts"]] == ["flat"]
    assert small["state"]["accounts"][0]["quote"] == "10"
    assert small["state"]["books"] == {} and 0 < asked < 2_000


def test_every_campaign_example_is_built_by_the_reference():
    """The campaign replays each generated call sequence on the reference to reach the state
    the chosen call meets; a generated book rebuild carries its shape as three integers, which
    the replay must turn into a BookShape (it raised AttributeError at seed 3 before)."""
    from liqspec.conformance.campaign import examples
    built = list(examples(3, 1500))
    assert all(v is not None for v in built)
    assert any(v.op["name"] == "replace_book" for v in built)
