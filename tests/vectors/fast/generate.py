"""Regenerate the fast-path vectors from the reference: ``python tests/vectors/fast/generate.py``.

Each vector is pre / op / post: a scenario (profile, marks, accounts, funding rate, open
interest), an operation with its arguments, and the reference's outcome (a result, or an error
type and result code). ``tests/test_fast_vectors.py`` replays every one on liqspec.fast. The seeds
are fixed, so the file is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path

from liqspec.fast.compare import REFERENCE, operations, run
from liqspec.testing.cases import Case, random_case, case_to_json
from liqspec.testing import EXAMPLE_MARKS, example_profile
from liqspec.reference import Account
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN

SEEDS = range(1, 81)
OUT = Path(__file__).with_name("margin_and_prices.json")


def boundary_cases() -> list[Case]:
    """Hand-placed boundaries on the example venue: int64 limits, a tier floor, half-way rounding."""
    profile = example_profile(backstop_ratio=(2, 3))
    top = INT64_MAX // 100  # one BTC lot at this many ticks is worth INT64_MAX - 7 quantums
    cases = [
        (dict(EXAMPLE_MARKS), [Account("floor", -49_800_000_000, {"BTC": 1000}),   # equity == MM
                           Account("under", -49_800_000_001, {"BTC": 1000}),   # MM - 1
                           Account("short", 51_000_000_000, {"BTC": -1000})]),
        ({"BTC": top, "ETH": 1}, [Account("max", 7, {"BTC": 1}), Account("past", 8, {"BTC": 1}),
                                  Account("min", -8, {"BTC": -1}),
                                  Account("below", -9, {"BTC": -1})]),
        ({"BTC": 1, "ETH": 3}, [Account("half", 0, {"ETH": 1}), Account("halfs", 0, {"ETH": -1}),
                                Account("extreme", INT64_MIN, {"ETH": INT64_MAX})]),
    ]
    return [Case(0, profile, marks, accounts, rate, {"BTC": 0, "ETH": 0})
            for (marks, accounts), rate in zip(cases, (100, -1_000_000, 5_000), strict=True)]


def main() -> None:
    venues = boundary_cases() + [random_case(seed, n_accounts=3) for seed in SEEDS]
    vectors = []
    for case in venues:
        cases = [{"op": op, "args": list(args), "post": run(REFERENCE, case, op, args)}
                 for op, args in operations(case)]
        vectors.append({"pre": case_to_json(case), "cases": cases})
    OUT.write_text(json.dumps({"generator": "tests/vectors/fast/generate.py",
                               "vectors": vectors}, sort_keys=True, indent=0) + "\n")
    print(f"{OUT}: {len(vectors)} venues, {sum(len(v['cases']) for v in vectors)} cases")


if __name__ == "__main__":
    main()
