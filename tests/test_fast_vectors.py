"""Pre / op / post vectors generated from the reference (tests/vectors/fast/generate.py), replayed
on liqspec.fast: every vector in every file is consumed, and a run that skipped one fails.

Rule: LIQ-DOMAIN-1 (the fast path's documented int64 domain for prices: expected_fast).
"""

import json
from pathlib import Path

import pytest

from liqspec.fast.compare import FAST, expected_fast, run
from liqspec.testing.cases import case_from_json

FILES = sorted((Path(__file__).parent / "vectors" / "fast").glob("*.json"))


def test_vector_files_exist():
    assert FILES, "no fast-path vectors: run tests/vectors/fast/generate.py"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_vector_replays_on_the_fast_path(path):
    data = json.loads(path.read_text())
    total = sum(len(v["cases"]) for v in data["vectors"])
    consumed, failures = 0, []
    for vector in data["vectors"]:
        scenario = case_from_json(vector["pre"])
        for case in vector["cases"]:
            want = expected_fast(case["op"], case["post"])
            got = run(FAST, scenario, case["op"], tuple(case["args"]))
            consumed += 1
            if got != want:
                failures.append((vector["pre"]["seed"], case["op"], case["args"], want, got))
    assert consumed == total and total > 1000
    assert failures == []
