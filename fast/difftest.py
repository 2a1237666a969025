"""``liqspec difftest``: a long differential campaign of liqspec.fast against the reference. ::

    liqspec difftest [--examples N | --seconds T] [--seed S] [--jobs J] [--kinds K,...]
                     [--max-divergences N] [--out FILE] [--quiet]
    liqspec difftest --replay FILE

Each example is one of four kinds, by its seed: ``queries`` (a generated venue and accounts,
:func:`~liqspec.testing.cases.random_case`, with random tier tables, decimals, minimums,
open-interest scaling, backstop ratios, marks and balances up to the int64 limits; every
per-account query runs on both implementations), ``operations`` (a whole venue state with
policies, roles, books and holders, and a sequence of state-changing operations,
:func:`~liqspec.testing.cases.random_operations`; after every call the receipts or error types
and result codes, and the resulting states, must be equal), ``cascade`` (a small book, a price
path, book shapes, a mark rule and a vault, :func:`~liqspec.testing.cases.random_cascade`; the
whole CascadeResult, trace, step records, summary and final state, must be equal) and ``adl``
(the same comparison on a deleveraging-heavy cascade,
:func:`~liqspec.testing.cases.random_adl_cascade`: thin books, an empty or small fund, many
traders on both sides, cross accounts over two markets and marks moving between the calls, under
each ranking policy, so the engine's deleveraging index meets re-keyed accounts and rebuilt
rankings). One cascade or deleveraging example in ``VERIFY_EVERY`` (by seed, :func:`order_of`)
runs the engine in its ``verify`` mode: every round's processing order from the candidate index,
and every deleveraging allocation from the ranking index, is checked against a full scan, and a
mismatch is a divergence (the case records ``"order": "verify"``); the others run in the default
``index`` mode, the one users run. The queries and operations kinds also give some traders a
chosen leverage (LIQ-LEVERAGE-1/2) and insert ``set_leverage`` calls (LIQ-LEVERAGE-4), drawn
from a generator of their own. A divergence is shrunk to a minimal case (fewer calls, accounts, positions, markets,
steps and levels, smaller numbers) and printed as JSON (``liqspec.codec``'s integer JSON: every
integer a decimal string) that ``--replay`` runs again. ``--jobs`` runs the examples in worker
processes. The exit status is 1 when a divergence was found, else 0; bad input (a budget that is
not positive, a replay file that is missing or holds no difftest case, an ``--out`` that cannot be
written, checked before any work) is a :class:`DifftestInputError`, exit status 2. ``--out`` is
replaced whole each time it is written (a new file beside it, renamed over it), so it never holds
half a line.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from types import SimpleNamespace
from typing import Any

import liqspec.codec as codec
from liqspec.reference import Account, LiqspecError, Profile

from ._engine import ORDER_MODES
from .compare import (FAST, NAMES, OPERATIONS, REFERENCE, cascade_divergence, cascade_json,
                      expected_fast, first_difference, first_operation_divergence, operations,
                      result_json, run, run_cascade_case, run_operations, snapshot_json)
from liqspec.testing.cases import (Case, cascade_config_from_json, dumps, random_adl_cascade,
                                   random_cascade, random_operations, random_case,
                                   case_from_json, case_to_json, well_formed)

KINDS = ("queries", "operations", "cascade", "adl")
CASCADE_KINDS = ("cascade", "adl")
#: one turn of the kinds in this many runs its cascades in the engine's ``verify`` mode
VERIFY_EVERY = 4
_INTEGER = re.compile(r"-?[1-9][0-9]*")


class DifftestInputError(LiqspecError):
    """Bad input to ``liqspec difftest``: a replay file that cannot be read or holds something
    other than difftest cases, or an ``--out`` path that cannot be written. Nothing was run."""


def kind_of(seed: int, kinds: Sequence[str] = KINDS) -> str:
    """The kind of the example with this seed (the kinds take turns)."""
    return kinds[seed % len(kinds)]


def order_of(seed: int, kinds: Sequence[str] = KINDS) -> str:
    """How the engine finds each round's processing order and deleveraging allocations in a
    cascade example: ``verify`` (the indexes checked against a full scan every round) on the
    first turn of the kinds in every ``VERIFY_EVERY``, else ``index``."""
    return "verify" if (seed // len(kinds)) % VERIFY_EVERY == 0 else "index"


def fast_for(case: dict[str, Any]) -> SimpleNamespace:
    """The fast implementation a cascade case runs on: ``FAST``, its cascade in the case's
    ``order`` (``index`` when the case names none, as cases written before the orders did)."""
    order = case.get("order", "index")
    if order == "index":
        return FAST
    return SimpleNamespace(**{**vars(FAST), "name": f"fast ({order})",
                              "run_cascade": partial(FAST.run_cascade, order=order)})


# -- queries (the per-account kernels) --------------------------------------------------------

def _diverges(scenario: Case, op: str, args: tuple, states: tuple | None = None) -> bool:
    try:
        reference_state, fast_state = states or (None, None)
        want = expected_fast(op, run(REFERENCE, scenario, op, args, reference_state))
        return run(FAST, scenario, op, args, fast_state) != want
    except Exception:  # noqa: BLE001  a shrink step that breaks the scenario is not a candidate
        return False


def divergences(scenario: Case) -> list[dict[str, Any]]:
    """Every operation of the scenario whose fast outcome differs from the reference's (the
    queries change nothing: one state per implementation serves them all)."""
    try:
        states = (scenario.state(), scenario.state())
    except Exception:  # noqa: BLE001  each query then reports the building error itself
        states = None
    return [{"op": op, "args": list(args)} for op, args in operations(scenario)
            if _diverges(scenario, op, args, states)]


def _candidates(scenario: Case, op: str, args: tuple):
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


def _with_account(scenario: Case, index: int, account: Account) -> Case:
    accounts = list(scenario.accounts)
    accounts[index] = account
    return replace(scenario, accounts=accounts)


def shrink(scenario: Case, op: str, args: tuple, budget: int = 2_000) -> Case:
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


def report(scenario: Case, found: dict[str, Any]) -> dict[str, Any]:
    op, args = found["op"], tuple(found["args"])
    small = shrink(scenario, op, args)
    return {"op": op, "args": list(args), "scenario": case_to_json(small),
            "reference": expected_fast(op, run(REFERENCE, small, op, args)),
            "fast": run(FAST, small, op, args)}


# -- sequences of operations and cascades ----------------------------------------------------

def _operations_divergence(case: dict[str, Any]) -> int | None:
    """The index of the first diverging call of an operations case, else None."""
    scenario = case_from_json(case["scenario"])
    calls = calls_from_json(case["calls"])
    return first_operation_divergence(run_operations(REFERENCE, scenario, calls),
                                      run_operations(FAST, scenario, calls))


def _cascade_divergence(case: dict[str, Any]) -> tuple[str, str, str] | None:
    """Which part of a cascade case's outcome diverges, with each side's outcome class ("ok" or
    the error type, so that shrinking a crash cannot wander into another), else None."""
    scenario = case_from_json(case["scenario"])
    want = run_cascade_case(REFERENCE, scenario, case["config"])
    got = run_cascade_case(fast_for(case), scenario, case["config"])
    part = cascade_divergence(want, got, case["config"], scenario)
    return None if part is None else (part, _class(want), _class(got))


def _signature(case: dict[str, Any]) -> Any:
    """What a divergence of a case is (kept while shrinking): the diverging operation's name, or
    the diverging part of a cascade, with each side's outcome class; None when the case agrees
    or cannot be built."""
    try:
        if not well_formed(case_from_json(case["scenario"])):
            return None
        if case["kind"] == "operations":
            scenario = case_from_json(case["scenario"])
            want = run_operations(REFERENCE, scenario, calls_from_json(case["calls"]))
            got = run_operations(FAST, scenario, calls_from_json(case["calls"]))
            index = first_operation_divergence(want, got)
            if index is None:
                return None
            # the operation, and each side's outcome class ("ok" or the error type)
            return (case["calls"][index][0], _class(want[index][0]), _class(got[index][0]))
        return _cascade_divergence(case)
    except Exception:  # noqa: BLE001  a shrink step that breaks the case is not a candidate
        return None


def _signatures() -> dict:
    """Each operation's ``(name, kind)`` arguments: the conformance catalogue's, and
    ``set_leverage`` (LIQ-LEVERAGE-4), which the catalogue does not hold yet."""
    from liqspec.conformance.catalogue import CATALOGUE, ID, INT
    signatures = {op: entry.args for op, entry in CATALOGUE.items()}
    signatures["set_leverage"] = (("account_id", ID), ("market_id", ID), ("leverage", INT))
    return signatures


def calls_to_json(calls: list) -> list:
    """A call sequence in the integer JSON: each ``[operation, [arguments]]`` with its integer
    arguments (by the operation's signature, ``liqspec.conformance.catalogue``) as decimal
    strings."""
    from liqspec.conformance.catalogue import INT, OPT_INT, SHAPE
    signatures = _signatures()

    def encoded(value: Any, kind: str) -> Any:
        if kind in (INT, OPT_INT) and value is not None:
            return codec.enc(value)
        return codec.shape_to_json(value) if kind == SHAPE else value
    return [[op, [encoded(v, kind) for v, (_, kind) in zip(args, signatures[op])]]
            for op, args in calls]


def calls_from_json(data: list) -> list:
    """The calls of :func:`calls_to_json`, integers decoded (a malformed one raises CodecError)."""
    from liqspec.conformance.catalogue import INT, OPT_INT, SHAPE
    signatures = _signatures()

    def decoded(op: str, value: Any, name: str, kind: str) -> Any:
        if kind in (INT, OPT_INT) and value is not None:
            return codec.dec(value, f"{op} argument {name}")
        # a shape stays three integers: the operation itself refuses one outside the domain
        return codec.shape_values_from_json(value) if kind == SHAPE else value
    return [[op, [decoded(op, v, name, kind) for v, (name, kind) in zip(args, signatures[op])]]
            for op, args in data]


def _class(result: tuple) -> str:
    return "ok" if result[0] == "ok" else result[1]


_DELETE = object()


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) of a JSON tree, containers before their contents."""
    yield path, value
    if isinstance(value, dict):
        for key in list(value):
            yield from _paths(value[key], path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, path + (i,))


def _edit(doc: dict[str, Any], path: tuple, new: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def _json_candidates(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Smaller cases, structural reductions first: drop a call, an account, a market (from the
    profile, the marks, the positions and chosen leverages, and a cascade's path and books at
    once), a cascade step, a position, a chosen leverage or any other list element or key; then every integer made smaller (0, half, one closer to 0).
    Candidates that no longer build are rejected by the caller."""
    if doc["kind"] in ("cascade", "adl"):
        config = doc["config"]
        steps = len(next(iter(config["path"].values()), []))
        for j in range(steps if steps > 1 else 0):  # a step of the path, in every market
            yield _edit(doc, ("config", "path"), {m: p[:j] + p[j + 1:]
                                                  for m, p in config["path"].items()})
        for market_id in list(config["path"]) if len(config["path"]) > 1 else []:
            smaller = _edit(doc, ("config", "path", market_id), _DELETE)
            yield _edit(smaller, ("config", "books", market_id), _DELETE)
    scenario = doc["scenario"]
    state = scenario["state"]
    markets = scenario["profile"]["markets"]
    for i, market in enumerate(markets if len(markets) > 1 else []):
        market_id = market["market_id"]
        smaller = _edit(doc, ("scenario", "profile", "markets", i), _DELETE)
        if market_id in scenario.get("open_interest", {}):
            smaller = _edit(smaller, ("scenario", "open_interest", market_id), _DELETE)
        for key in ("marks", "books"):
            if market_id in state.get(key, {}):
                smaller = _edit(smaller, ("scenario", "state", key, market_id), _DELETE)
        for k, account in enumerate(state["accounts"]):
            for key in ("positions", "cost_quote", "leverage"):
                if market_id in account.get(key, {}):
                    smaller = _edit(smaller, ("scenario", "state", "accounts", k, key,
                                              market_id), _DELETE)
        yield smaller
    structural, numbers = [], []
    for path, value in _paths(doc):
        if not path or path[0] == "seed" or path[-1] in ("kind", "seed", "format"):
            continue
        if isinstance(value, (dict, list)) or len(path) >= 2:
            structural.append(path)
        number = _number(path, value)
        if number:
            numbers.append((path, number))
    for path in structural:
        if isinstance(path[-1], int) or path[-2:-1] in (("positions",), ("cost_quote",),
                                                        ("holders",), ("books",),
                                                        ("leverage",)) \
                or path[-1] in ("backstop_ratio", "oi_scaling", "holders", "books", "leverage"):
            yield _edit(doc, path, _DELETE)
    for path, number in numbers:
        for less in _smaller(number):
            # the codec's integers are decimal strings; a call's arguments are plain integers
            yield _edit(doc, path, str(less) if isinstance(_at(doc, path), str) else less)


_NAMES = ("account_id", "market_id", "isolated_market", "name", "book_account",
          "backstop_vault", "buyer", "seller", "source", "destination", "role", "kind")


def _number(path: tuple, value: Any) -> int:
    """The non-zero integer at ``path`` (a plain integer, or one of the codec's decimal strings
    where no name is), else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and path and path[-1] not in _NAMES \
            and _INTEGER.fullmatch(value) and value != "0":
        return int(value)
    return 0


def _at(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def shrink_case(case: dict[str, Any], budget: int = 3_000) -> dict[str, Any]:
    """Greedy shrinking of an operations or cascade case: take each smaller candidate that still
    diverges the same way, pass after pass, until a pass changes nothing or the budget is spent."""
    signature = _signature(case)
    if signature is None:
        return case
    if case["kind"] == "operations":  # nothing after the first diverging call matters
        index = _operations_divergence(case)
        assert index is not None, "a case with a signature diverges"
        case = dict(case, calls=case["calls"][:index + 1])
    progress = True
    while progress and budget > 0:
        progress = False
        for candidate in _json_candidates(case):
            budget -= 1
            if _signature(candidate) == signature:
                case, progress = candidate, True
                break
            if budget <= 0:
                break
    return case


def describe(case: dict[str, Any]) -> dict[str, Any]:
    """A case with both implementations' outcomes at its divergence and where they differ."""
    scenario = case_from_json(case["scenario"])
    # the case itself, without what an earlier report said about it
    out: dict[str, Any] = {k: case[k] for k in ("kind", "seed", "order", "scenario", "calls",
                                                "config") if k in case}
    if case["kind"] == "operations":
        want = run_operations(REFERENCE, scenario, calls_from_json(case["calls"]))
        got = run_operations(FAST, scenario, calls_from_json(case["calls"]))
        index = first_operation_divergence(want, got)
        if index is None:
            return out
        reference = {"result": result_json(want[index][0]), "state": snapshot_json(want[index][1])}
        fast = {"result": result_json(got[index][0]), "state": snapshot_json(got[index][1])}
        out.update(call=index, op=case["calls"][index][0], reference=reference["result"],
                   fast=fast["result"], difference=first_difference(reference, fast))
        return out
    want_cascade = run_cascade_case(REFERENCE, scenario, case["config"])
    got_cascade = run_cascade_case(fast_for(case), scenario, case["config"])
    part = cascade_divergence(want_cascade, got_cascade, case["config"], scenario)
    if part is None:
        return out
    a, b = cascade_json(want_cascade), cascade_json(got_cascade)
    brief = lambda c: c.get("summary") if "summary" in c else c  # noqa: E731
    out.update(part=part, reference=brief(a), fast=brief(b), difference=first_difference(a, b))
    return out


# -- one example, a chunk of examples, the campaign ---------------------------------------------

def check_example(seed: int, kinds: Sequence[str] = KINDS) -> tuple[str, int, dict | None]:
    """Run the example of this seed: its kind, the number of checks it made (operations
    compared, calls run, cascades run) and a shrunk, described divergence or None."""
    kind = kind_of(seed, kinds)
    if kind == "queries":
        scenario = random_case(seed, leverage=True)
        checks = len(scenario.accounts) * (6 + 2 * len(scenario.profile.markets)) + \
            2 * len(scenario.profile.markets)
        found = divergences(scenario)
        return kind, checks, (report(scenario, found[0]) if found else None)
    if kind == "operations":
        scenario, calls = random_operations(seed, leverage=True)
        case = {"kind": kind, "seed": seed, "scenario": case_to_json(scenario),
                "calls": calls_to_json(calls)}
        want = run_operations(REFERENCE, scenario, calls)
        got = run_operations(FAST, scenario, calls)
        if first_operation_divergence(want, got) is None:
            return kind, len(calls), None
        return kind, len(calls), describe(shrink_case(case))
    scenario, config = random_adl_cascade(seed) if kind == "adl" else random_cascade(seed)
    case = {"kind": kind, "seed": seed, "order": order_of(seed, kinds),
            "scenario": case_to_json(scenario), "config": config}
    if cascade_divergence(run_cascade_case(REFERENCE, scenario, config),
                          run_cascade_case(fast_for(case), scenario, config), config,
                          scenario) is None:
        return kind, 1, None
    return kind, 1, describe(shrink_case(case))


def run_chunk(first: int, count: int, kinds: Sequence[str], deadline: float | None,
              max_failures: int) -> dict[str, Any]:
    """Examples ``first .. first + count - 1`` (seeds), stopping at the wall-clock ``deadline``
    or after ``max_failures`` divergences."""
    done = {k: 0 for k in KINDS}
    checks = {k: 0 for k in KINDS}
    verified = 0
    failures = []
    for seed in range(first, first + count):
        if deadline is not None and time.time() >= deadline:
            break
        kind, n, failure = check_example(seed, kinds)
        done[kind] += 1
        checks[kind] += n
        verified += kind in CASCADE_KINDS and order_of(seed, kinds) == "verify"
        if failure is not None:
            failures.append(failure)
            if len(failures) >= max_failures:
                break
    return {"done": done, "checks": checks, "verified": verified, "failures": failures}


def campaign(examples: int | None, seconds: float | None, seed: int, quiet: bool,
             max_failures: int = 5, jobs: int = 1, kinds: Sequence[str] = KINDS,
             chunk: int = 100, out: str | None = None) -> list[dict[str, Any]]:
    """Run examples ``seed, seed + 1, ...`` until ``examples`` are done or ``seconds`` have
    passed (or ``max_failures`` divergences were found), on ``jobs`` processes; shows a
    progress bar unless ``quiet`` and ends with a summary on stderr."""
    from tqdm import tqdm

    start = time.time()
    deadline = start + seconds if seconds else None
    bar = tqdm(total=examples if deadline is None else None, unit="ex", disable=quiet,
               file=sys.stderr, desc="difftest", smoothing=0.05, mininterval=1.0)
    done = {k: 0 for k in KINDS}
    checks = {k: 0 for k in KINDS}
    verified = 0
    failures: list[dict[str, Any]] = []

    def chunks() -> Iterator[tuple[int, int]]:
        first, end = seed, None if examples is None else seed + examples
        while end is None or first < end:
            count = chunk if end is None else min(chunk, end - first)
            yield first, count
            first += count

    def absorb(result: dict[str, Any]) -> None:
        nonlocal verified
        verified += result["verified"]
        for k in KINDS:
            done[k] += result["done"][k]
            checks[k] += result["checks"][k]
        failures.extend(result["failures"])
        bar.update(sum(result["done"].values()))
        if result["failures"]:
            bar.set_postfix(divergences=len(failures))
            if out:  # as they are found: a long run interrupted keeps what it found
                write_lines(out, [dumps(f) for f in failures])
            for f in result["failures"] if not quiet else ():
                where = f.get("op") or f.get("part")
                bar.write(f"difftest: divergence in a {f.get('kind', 'queries')} example, seed "
                          f"{f.get('seed', f['scenario'].get('seed'))} ({where})", file=sys.stderr)

    def finished() -> bool:
        return len(failures) >= max_failures or (deadline is not None
                                                 and time.time() >= deadline)

    if jobs <= 1:
        for first, count in chunks():
            absorb(run_chunk(first, count, kinds, deadline, max_failures - len(failures)))
            if finished():
                break
    else:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        # fork: the workers share the parent's modules (and any implementation under test)
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            pending: set[Future[dict[str, Any]]] = set()
            source = chunks()
            while True:
                while len(pending) < 3 * jobs and not finished():
                    item = next(source, None)
                    if item is None:
                        break
                    pending.add(pool.submit(run_chunk, *item, kinds, deadline, max_failures))
                if not pending:
                    break
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in ready:
                    absorb(future.result())
                if finished():
                    for future in pending:
                        future.cancel()
                    for future in pending:
                        if not future.cancelled():
                            absorb(future.result())
                    break
    bar.close()
    wall = time.time() - start
    if not quiet:
        print(summary(done, checks, seed, len(failures), wall, jobs, verified), file=sys.stderr)
    failures.sort(key=lambda f: f.get("seed", f.get("scenario", {}).get("seed", 0)))
    return failures[:max_failures]


def summary(done: dict[str, int], checks: dict[str, int], seed: int, divergences_: int,
            wall: float, jobs: int, verified: int) -> str:
    total = sum(done.values())
    return (f"difftest: {total} examples in {wall:.1f} s ({total / max(wall, 1e-9):.0f}/s on "
            f"{jobs} job{'s' if jobs != 1 else ''}), seeds from {seed}: "
            f"{done['queries']} query scenarios ({checks['queries']} queries), "
            f"{done['operations']} operation sequences ({checks['operations']} calls), "
            f"{done['cascade']} cascades, {done['adl']} deleveraging cascades, {verified} of "
            f"these in verify mode (the engine's indexes checked against a full scan every "
            f"round); "
            f"{divergences_} divergences")


# -- replay ---------------------------------------------------------------------------------

def replay(case: dict[str, Any]) -> tuple[bool, str]:
    """Run a printed case again: whether it still diverges, and a one-paragraph account."""
    kind = case.get("kind", "queries")
    if kind == "queries":
        scenario = case_from_json(case["scenario"])
        op, args = case["op"], tuple(case["args"])
        want = expected_fast(op, run(REFERENCE, scenario, op, args))
        got = run(FAST, scenario, op, args)
        text = f"{op}{args}\n  reference (expected fast): {dumps(want)}\n  fast: {dumps(got)}\n"
        return got != want, text
    out = describe(dict(case, kind=kind))
    if kind == "operations":
        if "difference" not in out:
            return False, (f"operations {[c[0] for c in case['calls']]}: "
                           f"{_agreement(kind, case)}\n")
        return True, (f"operations call {out['call']} {out['op']}"
                      f"{tuple(case['calls'][out['call']][1])}\n"
                      f"  reference: {dumps(out['reference'])}\n  fast: {dumps(out['fast'])}\n"
                      f"  first difference: {out['difference']}\n")
    if "difference" not in out:
        return False, f"cascade: {_agreement(kind, case)}\n"
    order = case.get("order", "index")
    mode = f" in the engine's {order} mode" if order != "index" else ""
    return True, (f"cascade ({out['part']} differ){mode}\n"
                  f"  first difference: {out['difference']}\n")


def _agreement(kind: str, case: dict[str, Any]) -> str:
    """How a case that does not diverge agrees (the outcomes are equal: LIQ-DOMAIN-1 makes both
    implementations reject a value leaving int64 at the same point)."""
    if kind == "operations":
        return "equal receipts or errors, and states, after every call"
    return "equal trace, step records, summary and final state"


# -- the command ----------------------------------------------------------------------------

def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec difftest`` parser. The handler is set as ``run`` (returns the text to
    print; ``args.exit_status`` is 1 after a divergence), its usage error as ``usage_errors``."""
    parser.description = __doc__.split("\n\n")[2].replace("\n", " ")
    _arguments(parser)
    parser.set_defaults(run=run_command, usage_errors=(DifftestInputError,))


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"kinds are {', '.join(KINDS)}; got {text!r}")
    return kinds


def _arguments(parser: argparse.ArgumentParser) -> None:
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--examples", type=_positive_int, metavar="N",
                        help="number of examples (default 1000 unless --seconds is given)")
    budget.add_argument("--seconds", type=_seconds, metavar="T", help="a time budget instead")
    parser.add_argument("--seed", type=int, default=0, help="first example seed (default 0)")
    parser.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="J",
                        help="worker processes (default 1; 0: one per CPU)")
    parser.add_argument("--kinds", type=_kinds, default=KINDS, metavar="K,...",
                        help="example kinds, taking turns by seed (default: "
                             f"{','.join(KINDS)})")
    parser.add_argument("--max-divergences", type=_positive_int, default=5, metavar="N",
                        help="stop after N divergences (default 5)")
    parser.add_argument("--out", metavar="FILE",
                        help="also write the divergences (replayable JSON lines) to FILE")
    parser.add_argument("--replay", metavar="FILE",
                        help="replay divergences printed by an earlier run (JSON or JSON lines)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar and no summary")


def whole_number_at_least(minimum: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (``meaning`` says what the
    smallest value stands for, as "0 (one per CPU)"), else a usage error naming the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be {meaning or minimum} or more, got {value}")
        return value
    return parse


_positive_int = whole_number_at_least(1)
_jobs = whole_number_at_least(0, "0 (one per CPU)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def write_lines(path: str, lines: Sequence[str]) -> None:
    """Replace the file at ``path`` with ``lines`` whole: written to a new file beside it, then
    renamed over it, so a reader (or a run killed midway) never sees half of it."""
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.new-{secrets.token_hex(4)}")
    try:
        with open(temporary, "x", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _check_out(path: str) -> None:
    """Check before any work that ``--out`` can be written (by writing it: empty for now)."""
    if not path.strip():
        raise DifftestInputError("--out: the path is empty")
    if os.path.isdir(path):
        raise DifftestInputError(f"--out: {path!r} is a folder; give a file name")
    try:
        write_lines(path, [])
    except OSError as error:
        raise DifftestInputError(f"--out: cannot write {path!r}: "
                                 f"{error.strerror or error}") from None


#: the keys a replayable case of each kind needs (a queries case may omit its kind)
_CASE_KEYS = {"queries": ("scenario", "op", "args"), "operations": ("scenario", "calls"),
              "cascade": ("scenario", "config"), "adl": ("scenario", "config")}


def _check_case(case: Any, where: str) -> None:
    """Refuse what is not a case ``difftest`` printed or wrote, naming where it is."""
    if not isinstance(case, dict):
        raise DifftestInputError(f"{where}: expected a difftest case (a JSON object), got "
                                 f"{type(case).__name__}")
    kind = case.get("kind", "queries")
    if kind not in KINDS:
        raise DifftestInputError(f"{where}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    missing = [key for key in _CASE_KEYS[kind] if key not in case]
    if missing:
        raise DifftestInputError(f"{where}: not a difftest case: a {kind} case needs "
                                 f"{', '.join(_CASE_KEYS[kind])}; missing {', '.join(missing)}")
    try:
        state = case_from_json(case["scenario"]).state()  # every replay starts from it
        if kind == "queries":
            op, args = case["op"], case["args"]
            if op not in NAMES or not isinstance(args, list):
                raise ValueError(f"op must be one of {', '.join(NAMES)} with a list of args")
            market_first = op in ("funding_owed", "open_interest_quote")
            if len(args) != (1 if market_first else 2 if op.endswith("_price") else 1):
                raise ValueError(f"wrong number of args for {op}: {args!r}")
            if not market_first and args[0] not in state.accounts:
                raise ValueError(f"args[0]: no account {args[0]!r} in the scenario")
        elif kind == "operations":
            if not isinstance(case["calls"], list) or not all(
                    isinstance(c, list) and len(c) == 2 and c[0] in OPERATIONS
                    and isinstance(c[1], list) for c in case["calls"]):
                raise ValueError("calls must be [operation, [arguments]] pairs")
            calls_from_json(case["calls"])
        else:
            cascade_config_from_json(case["config"])
            if case.get("order", "index") not in ORDER_MODES:
                raise ValueError(f"order must be one of {', '.join(ORDER_MODES)}, got "
                                 f"{case['order']!r}")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, LiqspecError) as error:
        what = f"missing key {error}" if isinstance(error, KeyError) else str(error)
        raise DifftestInputError(f"{where}: not a replayable difftest case: {what}") from None


def read_cases(path: str) -> list[dict[str, Any]]:
    """The cases of a replay file: one JSON document, or JSON lines as ``--out`` writes them."""
    if os.path.isdir(path):
        raise DifftestInputError(f"--replay: {path!r} is a folder, not a file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise DifftestInputError(f"--replay: cannot read {path!r}: "
                                 f"{error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError as error:
        raise DifftestInputError(f"--replay: {path!r} is not UTF-8 text: {error.reason}") from None
    if not text:
        raise DifftestInputError(f"--replay: {path!r} is empty: expected difftest cases "
                                 f"(JSON lines, as --out writes them)")
    try:
        documents = [(path, json.loads(text))]
    except (json.JSONDecodeError, RecursionError):
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}: line {number}"
            try:
                documents.append((where, json.loads(line)))
            except json.JSONDecodeError as error:
                raise DifftestInputError(f"--replay: {where}: not JSON: {error.msg} at column "
                                         f"{error.colno}") from None
            except (ValueError, RecursionError) as error:
                raise DifftestInputError(f"--replay: {where}: not JSON: {error}") from None
    except ValueError as error:  # e.g. an integer past Python's digit limit
        raise DifftestInputError(f"--replay: {path!r}: not JSON: {error}") from None
    for where, case in documents:
        _check_case(case, f"--replay: {where}")
    return [case for _, case in documents]


def run_command(args: argparse.Namespace) -> str:
    if args.replay:
        cases = read_cases(args.replay)
        out, status = [], 0
        for case in cases:
            diverged, summary_ = replay(case)
            status |= diverged
            out.append(("DIVERGES " if diverged else "agrees   ") + summary_)
        args.exit_status = status
        return "".join(out)
    examples = args.examples if args.examples or args.seconds else 1000
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    if args.out is not None:
        _check_out(args.out)  # before any work; the file is then filled as divergences are found
    failures = campaign(examples, args.seconds, args.seed, args.quiet,
                        max_failures=max(1, args.max_divergences), jobs=jobs, kinds=args.kinds,
                        out=args.out)
    if args.out:  # rewritten in seed order, at most --max-divergences of them
        write_lines(args.out, [dumps(f) for f in failures])
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
    try:
        sys.stdout.write(run_command(args))
    except DifftestInputError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    return args.exit_status


if __name__ == "__main__":
    raise SystemExit(main())
