"""The generated differential campaign of ``liqspec conform``: random states and requests, as
``liqspec difftest`` draws them, over every venue profile and generated ones.

Example ``k`` of seed ``s`` is one request, deterministic in ``(s, k)``; its kind takes turns:
a state-changing operation on a generated venue (the state before it reached by the earlier
operations of its sequence, applied by the reference), the per-account queries of a generated
venue, a small cascade, and a seeded state of a shipped venue profile (the vectors' ``random``
suite).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from liqspec.reference.errors import LiqspecError
from liqspec.reference.profiles import PROFILES

from .catalogue import CATALOGUE, REFERENCE, request_op
from .vectors import Vector, example_profiles, make, _random

KINDS = ("operations", "queries", "cascade", "venue")


def _operations(seed: int, rng: random.Random) -> tuple[Any, Any, dict]:
    from liqspec.testing.cases import call_arguments
    from liqspec.testing.cases import random_operations
    scenario, calls = random_operations(seed)
    state = scenario.state()
    upto = rng.randrange(len(calls))
    for op, args in calls[:upto]:  # the state the chosen call meets (a book shape is built
        # from its three integers, as difftest builds it)
        try:
            getattr(REFERENCE, op)(state, *call_arguments(op, args))
        except LiqspecError:
            pass
    op, args = calls[upto]
    names = [a for a, _ in CATALOGUE[op].args]
    return scenario.profile, state, request_op(op, **dict(zip(names, args)))


def _queries(seed: int, rng: random.Random) -> tuple[Any, Any, dict]:
    from liqspec.testing.cases import random_case
    scenario = random_case(seed, n_accounts=3)
    state = scenario.state()
    account = rng.choice(scenario.accounts).account_id
    market = rng.choice(list(scenario.profile.markets))
    name = rng.choice(("equity_quote", "account_maintenance_margin_quote",
                       "account_initial_margin_quote", "free_collateral_quote",
                       "is_liquidatable", "is_below_backstop", "bankruptcy_price",
                       "liquidation_price", "funding_owed", "open_interest_quote",
                       "maintenance_requirement", "liquidation_size_lots"))
    if name == "funding_owed":
        op = request_op(name, market_id=market, rate_ppm=scenario.rate_ppm)
    elif name == "open_interest_quote":
        op = request_op(name, market_id=market)
    elif name == "maintenance_requirement":
        tiers = scenario.profile.markets[market].tiers
        floor = rng.choice(tiers).floor_notional_quote
        op = request_op(name, market_id=market, notional_quote=floor + rng.choice((-1, 0, 1)))
    elif name in ("bankruptcy_price", "liquidation_price", "liquidation_size_lots"):
        op = request_op(name, account_id=account, market_id=market)
    else:
        op = request_op(name, account_id=account)
    return scenario.profile, state, op


def _cascade(seed: int, rng: random.Random) -> tuple[Any, Any, dict]:
    from liqspec.testing.cases import cascade_config_from_json, random_cascade
    scenario, config = random_cascade(seed)
    return scenario.profile, scenario.state(), request_op(
        "run_cascade", config=cascade_config_from_json(config))


def example(seed: int, k: int) -> Vector:
    """Example ``k`` of the campaign with seed ``seed``, as a vector (the reference's answer)."""
    rng = random.Random(f"conform/{seed}/{k}")
    kind = KINDS[k % len(KINDS)]
    case = f"seed{seed}_{k}"
    if kind == "venue":
        profiles = [PROFILES[n] for n in sorted(PROFILES)] + example_profiles()
        profile = profiles[(k // len(KINDS)) % len(profiles)]
        state, op, _, description = next(_random(profile, seed * 100_003 + k, 1))
        return make(profile, state, op, "random", case, description)
    build = {"operations": _operations, "queries": _queries, "cascade": _cascade}[kind]
    profile, state, op = build(rng.randrange(2**32), rng)
    return make(profile, state, op, "random", case, f"campaign: {op['name']} ({kind})",
                folder_profile="generated")


def examples(seed: int, count: int) -> Iterator[Vector | None]:
    """The campaign's examples; None for one the reference cannot run (an exception that is not
    a result code: a reference bug, reported apart, never judged against the engine)."""
    for k in range(count):
        try:
            yield example(seed, k)
        except (ArithmeticError, AssertionError, KeyError, TypeError, ValueError):
            yield None

