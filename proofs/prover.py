"""Run the theorems: vacuity, proof, counterexample, time.

For every theorem, domain and obligation: first the assumptions alone must be satisfiable (else
the theorem is VACUOUS, a failure: it would prove anything); then z3 looks for a model of the
assumptions and the negated goal. None (``unsat``) is PROVED; a model is a COUNTEREXAMPLE, turned
into a scenario that replays in the reference; ``unknown`` (a timeout included) is UNKNOWN, a
failure too. A theorem's verdict is the worst over its domains and obligations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

from . import scenarios
from .theorems import REGISTRY, Obligation, Theorem, domains_for

PROVED = "PROVED"
COUNTEREXAMPLE = "COUNTEREXAMPLE"
UNKNOWN = "UNKNOWN"
VACUOUS = "VACUOUS"
#: worst first: the verdict a theorem reports when its obligations disagree
SEVERITY = (COUNTEREXAMPLE, VACUOUS, UNKNOWN, PROVED)

DEFAULT_TIMEOUT_S = 60.0
#: Restarts. z3's time on one of these queries is heavy-tailed: the same obligation takes 0.1 s or
#: more than 30 s depending on its random seed, on the order in which the process created its terms,
#: and on whether the negated goal is added to the solver that has just satisfied the assumptions
#: (some proofs need that solver's learnt state, others a fresh solver's preprocessing). So each
#: check is tried in rounds, seed 0 for 2 s, seed 1 for 4 s, and so on, doubling, both ways in
#: every round, until one attempt answers; the last round gets whatever is left of the time.
FIRST_ATTEMPT_S = 2.0
#: counterexamples and witnesses are searched again with every constant within this bound
SMALL_BOUND = 10**5
SMALL_MODEL_S = 5.0


@dataclass
class ObligationResult:
    theorem_id: str
    domain: str
    label: str
    verdict: str
    seconds: float
    detail: str = ""
    scenario: dict | None = None


@dataclass
class TheoremResult:
    theorem: Theorem
    results: list[ObligationResult] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        verdicts = {r.verdict for r in self.results}
        return next((v for v in SEVERITY if v in verdicts), PROVED)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)

    @property
    def failures(self) -> list[ObligationResult]:
        return [r for r in self.results if r.verdict != PROVED]


def _solver(timeout_s: float, seed: int = 0) -> z3.Solver:
    solver = z3.Solver()
    solver.set("timeout", _ms(timeout_s))
    solver.set("random_seed", seed)
    return solver


def _rounds(timeout_s: float):
    """(seed, seconds) for each round of attempts, until ``timeout_s`` (from now) is spent."""
    deadline = time.perf_counter() + timeout_s
    budget, seed = FIRST_ATTEMPT_S, 0
    while (remaining := deadline - time.perf_counter()) > 0:
        last = remaining <= 2 * budget
        yield seed, (remaining if last else budget)
        if last:
            return
        budget, seed = 2 * budget, seed + 1


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _satisfy(assumptions: Sequence[z3.BoolRef], timeout_s: float
             ) -> tuple[z3.CheckSatResult, z3.Solver]:
    """The vacuity check: are the assumptions satisfiable? (Restarts as for FIRST_ATTEMPT_S.)"""
    answer, solver = z3.unknown, _solver(timeout_s)
    for seed, seconds in _rounds(timeout_s):
        solver = _solver(seconds, seed)
        solver.add(*assumptions)
        answer = solver.check()
        if answer != z3.unknown:
            break
    return answer, solver


def _refute(satisfied: z3.Solver, assumptions: Sequence[z3.BoolRef], negated_goal: z3.BoolRef,
            timeout_s: float) -> tuple[z3.CheckSatResult, z3.Solver]:
    """Look for a model of the assumptions and the negated goal, alternating the solver that
    satisfied the assumptions (in a pushed scope) with a fresh one."""
    answer, solver = z3.unknown, satisfied
    for seed, seconds in _rounds(timeout_s):
        half = seconds / 2
        satisfied.push()
        satisfied.set("timeout", _ms(half))
        satisfied.set("random_seed", seed)
        satisfied.add(negated_goal)
        answer, solver = satisfied.check(), satisfied
        if answer != z3.unknown:
            return answer, solver  # scope left open: the model is read from it
        satisfied.pop()
        solver = _solver(half, seed)
        solver.add(*assumptions, negated_goal)
        answer = solver.check()
        if answer != z3.unknown:
            break
    return answer, solver


def check_obligation(theorem_id: str, params, obligation: Obligation,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> ObligationResult:
    """The vacuity check, then the proof, each with restarts and ``timeout_s`` of its own."""
    domain = params.name if params is not None else "none"
    start = time.perf_counter()

    def result(verdict: str, detail: str = "", scenario: dict | None = None) -> ObligationResult:
        return ObligationResult(theorem_id, domain, obligation.label, verdict,
                                time.perf_counter() - start, detail, scenario)

    vacuity, solver = _satisfy(obligation.assumptions, timeout_s)
    if vacuity == z3.unsat:
        return result(VACUOUS, "the assumptions are unsatisfiable")
    if vacuity == z3.unknown:
        return result(UNKNOWN, f"vacuity check: {solver.reason_unknown()}")
    answer, solver = _refute(solver, obligation.assumptions, z3.Not(obligation.goal), timeout_s)
    if answer == z3.unsat:
        return result(PROVED)
    if answer == z3.unknown:
        return result(UNKNOWN, solver.reason_unknown())
    model = solver.model()
    small = _small_model(obligation, z3.Not(obligation.goal), min(timeout_s, SMALL_MODEL_S))
    if small is not None:  # the same counterexample family, with values the reference can run
        model = small
    failed = [name for name, goal in obligation.goals.items()
              if z3.is_false(model.eval(goal, model_completion=True))]
    scenario = scenarios.scenario_from_model(theorem_id, params, obligation, model, failed)
    return result(COUNTEREXAMPLE, "fails: " + "; ".join(failed), scenario)


def _constants(exprs) -> set[z3.ExprRef]:
    """The integer constants (free variables) of some z3 expressions."""
    found: set = set()
    seen: set = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED and z3.is_int(e):
            found.add(e)
        stack.extend(e.children())
    return found


def _small_model(obligation: Obligation, extra: z3.BoolRef | None, timeout_s: float,
                 bound: int = SMALL_BOUND) -> z3.ModelRef | None:
    """A model of the assumptions (and ``extra``) with every integer constant in
    ``-bound..bound``, so products stay inside int64 and the reference can replay it."""
    exprs = list(obligation.assumptions) + ([extra] if extra is not None else [])
    bounds = [b for c in _constants(exprs) for b in (c >= -bound, c <= bound)]
    answer, solver = _satisfy([*exprs, *bounds], timeout_s)
    return solver.model() if answer == z3.sat else None


def witness(theorem_id: str, params, obligation: Obligation,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> dict | None:
    """A small model of the assumptions alone (a concrete case the theorem is about, for
    replaying in the reference), or None if z3 finds none in ``timeout_s`` (restarts as for
    FIRST_ATTEMPT_S). z3's first model is usually small already; only when it is not is a
    bounded one searched for, in the time left."""
    start = time.perf_counter()
    answer, solver = _satisfy(obligation.assumptions, timeout_s)
    if answer != z3.sat:
        return None
    model = solver.model()
    values = [model.eval(c, model_completion=True) for c in _constants(obligation.assumptions)]
    if any(abs(v.as_long()) > SMALL_BOUND**2 for v in values if z3.is_int_value(v)):
        model = _small_model(obligation, None, timeout_s - (time.perf_counter() - start))
        if model is None:
            return None
    return scenarios.scenario_from_model(theorem_id, params, obligation, model)


def select(ids: Sequence[str] | None = None) -> list[Theorem]:
    """The registered theorems, or those whose ID starts with one of ``ids``."""
    if not ids:
        return list(REGISTRY)
    chosen = [t for t in REGISTRY if any(t.id == i or t.id.startswith(i) for i in ids)]
    unknown = [i for i in ids if not any(t.id == i or t.id.startswith(i) for t in REGISTRY)]
    if unknown:
        raise KeyError(f"no theorem matches {', '.join(unknown)}; known: "
                       f"{', '.join(t.id for t in REGISTRY)}")
    return chosen


def prove_theorem(thm: Theorem, timeout_s: float = DEFAULT_TIMEOUT_S,
                  domains: Iterable[str] | None = None) -> TheoremResult:
    outcome = TheoremResult(thm)
    wanted = set(domains) if domains else None
    for params in domains_for(thm):
        name = params.name if params is not None else "none"
        if wanted is not None and params is not None and name not in wanted:
            continue
        for obligation in thm.build(params):
            outcome.results.append(check_obligation(thm.id, params, obligation, timeout_s))
    return outcome


def _prove_by_id(args: tuple[str, float, tuple[str, ...] | None]) -> list[ObligationResult]:
    theorem_id, timeout_s, domains = args
    (thm,) = [t for t in REGISTRY if t.id == theorem_id]
    return prove_theorem(thm, timeout_s, domains).results


def prove_all(theorems: Sequence[Theorem] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
              domains: Iterable[str] | None = None, jobs: int = 1,
              on_result=None) -> list[TheoremResult]:
    """Prove every theorem (in ``jobs`` processes); ``on_result(result)`` after each one."""
    theorems = list(theorems if theorems is not None else REGISTRY)
    domain_tuple = tuple(domains) if domains else None
    results: list[TheoremResult] = []
    if jobs <= 1:
        for thm in theorems:
            results.append(prove_theorem(thm, timeout_s, domain_tuple))
            if on_result:
                on_result(results[-1])
        return results
    import multiprocessing

    # One fresh process per theorem (forked from this one), so a theorem's terms, and with them
    # z3's search, do not depend on which theorems a worker happened to prove before it.
    with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
        work = [(t.id, timeout_s, domain_tuple) for t in theorems]
        for thm, obligation_results in zip(theorems, pool.imap(_prove_by_id, work)):
            res = TheoremResult(thm, obligation_results)
            results.append(res)
            if on_result:
                on_result(res)
    return results
