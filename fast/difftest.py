"""``liqspec difftest``: a long differential campaign of liqspec.fast against the reference.

    liqspec difftest [--examples N | --seconds T] [--seed S] [--out FILE] [--quiet]
    liqspec difftest --replay FILE

Each example is a generated scenario (:mod:`liqspec.fast.scenarios`: random tier tables,
decimals, minimums, open-interest scaling, backstop ratios, marks and accounts by magnitude
bucket up to the int64 limits); every ported operation runs on both implementations and the
outcomes (result, or error type and result code) are compared (:mod:`liqspec.fast.compare`).
A divergence is shrunk to a minimal scenario (fewer accounts, positions, markets, smaller
numbers) and printed as JSON that ``--replay`` runs again. The exit status is 1 when a divergence
was found, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from liqspec.reference import Account, Profile

from .compare import FAST, REFERENCE, expected_fast, operations, run
from .scenarios import Scenario, dumps, random_scenario, scenario_from_json, scenario_to_json


def _diverges(scenario: Scenario, op: str, args: tuple) -> bool:
    try:
        want = expected_fast(op, run(REFERENCE, scenario, op, args))
        return run(FAST, scenario, op, args) != want
    except Exception:  # noqa: BLE001  a shrink step that breaks the scenario is not a candidate
        return False


def divergences(scenario: Scenario) -> list[dict[str, Any]]:
    """Every operation of the scenario whose fast outcome differs from the reference's."""
    return [{"op": op, "args": list(args)} for op, args in operations(scenario)
            if _diverges(scenario, op, args)]


def _candidates(scenario: Scenario, op: str, args: tuple):
    """Smaller scenarios, most reduction first."""
    used = {m for a in scenario.accounts for m in a.positions} | set(args[1:2])
    if op in ("funding_owed", "open_interest_quote"):
        used.add(args[0])
    unused = [m for m in scenario.profile.markets if m not in used]
    if unused and len(unused) < len(scenario.profile.markets):  # drop the markets nobody holds
        markets = {m: v for m, v in scenario.profile.markets.items() if m in used}
        profile = Profile(name=scenario.profile.name, quote_decimals=scenario.profile.quote_decimals,
                          markets=markets, backstop_ratio=scenario.profile.backstop_ratio)
        yield replace(scenario, profile=profile, marks={m: scenario.marks[m] for m in markets},
                      open_interest={m: scenario.open_interest[m] for m in markets})
    keep = set(args[:1]) if op not in ("funding_owed", "open_interest_quote") else set()
    for account in scenario.accounts:  # drop an account
        if account.account_id not in keep:
            yield replace(scenario, accounts=[a for a in scenario.accounts if a is not account])
    for i, account in enumerate(scenario.accounts):
        for market_id in list(account.positions):  # drop a position
            if len(args) > 1 and market_id == args[1] and account.account_id == args[0]:
                continue
            positions = {m: n for m, n in account.positions.items() if m != market_id}
            yield _with_account(scenario, i, replace(account, positions=positions))
        for smaller in _smaller(account.quote):  # a smaller balance
            yield _with_account(scenario, i, replace(account, quote=smaller))
        for market_id, lots in account.positions.items():  # a smaller position
            for smaller in _smaller(lots):
                if smaller:
                    positions = dict(account.positions, **{market_id: smaller})
                    yield _with_account(scenario, i, replace(account, positions=positions))


def _smaller(value: int) -> list[int]:
    return [v for v in (0, value // 2, value - (1 if value > 0 else -1)) if abs(v) < abs(value)]


def _with_account(scenario: Scenario, index: int, account: Account) -> Scenario:
    accounts = list(scenario.accounts)
    accounts[index] = account
    return replace(scenario, accounts=accounts)


def shrink(scenario: Scenario, op: str, args: tuple, budget: int = 2_000) -> Scenario:
    """Greedy shrinking: take the first smaller scenario that still diverges, until none does."""
    progress = True
    while progress and budget > 0:
        progress = False
        for candidate in _candidates(scenario, op, args):
            budget -= 1
            if _diverges(candidate, op, args):
                scenario, progress = candidate, True
                break
            if budget <= 0:
                break
    return scenario


def report(scenario: Scenario, found: dict[str, Any]) -> dict[str, Any]:
    op, args = found["op"], tuple(found["args"])
    small = shrink(scenario, op, args)
    return {"op": op, "args": list(args), "scenario": scenario_to_json(small),
            "reference": expected_fast(op, run(REFERENCE, small, op, args)),
            "fast": run(FAST, small, op, args)}


def replay(case: dict[str, Any]) -> tuple[bool, str]:
    scenario = scenario_from_json(case["scenario"])
    op, args = case["op"], tuple(case["args"])
    want = expected_fast(op, run(REFERENCE, scenario, op, args))
    got = run(FAST, scenario, op, args)
    text = f"{op}{args}\n  reference (expected fast): {dumps(want)}\n  fast: {dumps(got)}\n"
    return got != want, text


def campaign(examples: int | None, seconds: float | None, seed: int, quiet: bool,
             max_failures: int = 5) -> list[dict[str, Any]]:
    from tqdm import tqdm

    failures: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds if seconds else None
    total = examples if deadline is None else None
    bar = tqdm(total=total, unit="scenario", disable=quiet, file=sys.stderr,
               desc="difftest")
    done, operations = 0, 0
    while (examples is None or done < examples) and (deadline is None
                                                     or time.monotonic() < deadline):
        scenario = random_scenario(seed + done)
        found = divergences(scenario)
        operations += len(scenario.accounts) * (6 + 2 * len(scenario.profile.markets)) + \
            2 * len(scenario.profile.markets)
        done += 1
        bar.update(1)
        if found:
            failures.append(report(scenario, found[0]))
            bar.set_postfix(divergences=len(failures))
            if len(failures) >= max_failures:
                break
    bar.close()
    if not quiet:
        print(f"difftest: {done} scenarios, {operations} operations, seeds {seed}.."
              f"{seed + done - 1}, {len(failures)} divergences", file=sys.stderr)
    return failures


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``difftest`` on the ``liqspec`` command's subparsers. The handler is set as
    ``run`` (returns the text to print); ``args.exit_status`` is 1 after a divergence."""
    parser = subparsers.add_parser(
        "difftest", help="a differential campaign of liqspec.fast against the reference",
        description=__doc__.split("\n\n")[2].replace("\n", " "))
    _arguments(parser)
    parser.set_defaults(run=run_command)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--examples", type=int, metavar="N",
                        help="number of scenarios (default 1000 unless --seconds is given)")
    budget.add_argument("--seconds", type=float, metavar="T", help="a time budget instead")
    parser.add_argument("--seed", type=int, default=0, help="first scenario seed (default 0)")
    parser.add_argument("--out", metavar="FILE",
                        help="also write the divergences (replayable JSON lines) to FILE")
    parser.add_argument("--replay", metavar="FILE",
                        help="replay divergences printed by an earlier run (JSON or JSON lines)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_command(args: argparse.Namespace) -> str:
    if args.replay:
        with open(args.replay, encoding="utf-8") as handle:
            text = handle.read().strip()
        try:  # one JSON document, or JSON lines as --out writes them
            cases = [json.loads(text)]
        except json.JSONDecodeError:
            cases = [json.loads(line) for line in text.splitlines() if line.strip()]
        out, status = [], 0
        for case in cases:
            diverged, summary = replay(case)
            status |= diverged
            out.append(("DIVERGES " if diverged else "agrees   ") + summary)
        args.exit_status = status
        return "".join(out)
    examples = args.examples if args.examples or args.seconds else 1000
    failures = campaign(examples, args.seconds, args.seed, args.quiet)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.writelines(dumps(f) + "\n" for f in failures)
    args.exit_status = 1 if failures else 0
    if not failures:
        return "no divergence\n"
    return "".join(f"divergence (replay with: liqspec difftest --replay FILE, FILE holding this "
                   f"line):\n{dumps(f)}\n" for f in failures)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m liqspec.fast.difftest``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="liqspec difftest",
                                     description=__doc__.split("\n\n")[2].replace("\n", " "))
    _arguments(parser)
    args = parser.parse_args(argv)
    sys.stdout.write(run_command(args))
    return args.exit_status


if __name__ == "__main__":
    raise SystemExit(main())
