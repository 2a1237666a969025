"""Run the theorems: fidelity, vacuity, proof, counterexample; each verdict decided by z3's
deterministic resource limit, never by wall-clock time.

For every theorem, domain and obligation: first the assumptions alone must be satisfiable (else
the theorem is VACUOUS, a failure: it would prove anything); then z3 looks for a model of the
assumptions and the negated goal. None (``unsat``) is PROVED; a model is a COUNTEREXAMPLE, turned
into a scenario that replays in the reference; ``unknown`` (the resource limit spent) is UNKNOWN,
a failure too. A theorem's verdict is the worst over its domains and obligations.

Determinism. A verdict must be one an auditor can cite: the same commit and z3 version give the
same verdict on any machine under any load, since no limit is in seconds. So:

* every check runs under z3's ``rlimit`` (a count of solver steps, not seconds), the theorem's
  calibrated :attr:`~.theorems.Theorem.rlimit` (its measured use with a margin, stored beside it);
* every obligation is translated into a fresh ``z3.Context`` of its own, so the solver sees the
  same terms with the same internal numbering whatever the process built before (z3's search
  depends on that numbering), and the context's resource counter starts at zero;
* the schedule is fixed (:data:`SCHEDULE`): the vacuity check, then the proof in the solver that
  satisfied the assumptions (its learnt state helps some proofs), then, only if that spent its
  limit, once more in a fresh context (its preprocessing helps others); fixed seeds throughout.
  A theorem may fix the other order (:attr:`~.theorems.Theorem.schedule`; T-SHARE, whose
  incremental attempt spent its whole limit in about one process in eight).

A wall-clock guard (:data:`DEFAULT_GUARD_S` per check) only stops a hung process: a check that
hits it is an ERROR, never a verdict, since where it stops depends on the machine.

Resource counts are reproducible, run after run and under load, for every obligation over a venue
profile's (numeric) parameters. On some obligations over symbolic (generic) parameters, whose
arithmetic is nonlinear, z3 5.4.1 itself varies from process to process, from the very same
SMT-LIB text and seed. Measured over three whole runs: 30 of the 196 obligations vary, all of
them a liquidation step over generic parameters (T-LIQ, T-NO-FALSE-LIQ, T-PROGRESS, T-FEE-CAP),
by up to 4x (T-PROGRESS's "liquidate vs lp" 2.5M to 10.3M units; T-LIQ's 0.7M to 8.2M); every
venue-profile obligation used the same count each time. A later fresh run saw 20.2M (T-PROGRESS)
and 20.8M (T-LIQ), so those four theorems run at 84M, about four times the largest use seen; the
suite asserts at least twice. z3's search also depends on
the limit's value, so a limit is measured at the value it runs with.

Before a theorem counts as PROVED, the encodings it is proved about are checked against the
installed reference (:mod:`.fidelity`, a seeded campaign aimed at the boundaries, the operations
named by :attr:`~.theorems.Theorem.fidelity`); a difference makes the theorem DRIFTED, with the
case that shows it, and its obligations are not attempted: a proof about encodings that no longer
compute what the installed code computes says nothing about that code.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

# fidelity is imported with this module, never lazily: prove_all's pool forks workers while its
# result thread unpickles fidelity results, and a first import of it in either would leave a
# forked worker holding the import lock (a hang)
from . import counterexamples, fidelity
from .theorems import (DEFAULT_RLIMIT, DEFAULT_SCHEDULE, REGISTRY, Obligation, Theorem,
                       domains_for)

PROVED = "PROVED"
COUNTEREXAMPLE = "COUNTEREXAMPLE"
DRIFTED = "DRIFTED"
UNKNOWN = "UNKNOWN"
VACUOUS = "VACUOUS"
#: not a verdict: the wall-clock guard stopped a check (a hung or starved process)
ERROR = "ERROR"
#: worst first: the verdict a theorem reports when its obligations disagree
SEVERITY = (COUNTEREXAMPLE, DRIFTED, VACUOUS, UNKNOWN, ERROR, PROVED)

#: seconds a single check may run before the guard stops it (an ERROR, not a verdict); generous:
#: every calibrated check ends far sooner on an idle machine
DEFAULT_GUARD_S = 900.0
#: the seed of every check (z3's ``random_seed``)
SEED = 0
#: the proof attempts, in order, each with the theorem's rlimit: in the solver that satisfied
#: the assumptions (``incremental``), then in a fresh context (``fresh``); a theorem may put the
#: fresh context first (:attr:`~.theorems.Theorem.schedule`)
SCHEDULE = DEFAULT_SCHEDULE
#: counterexamples and witnesses are searched again with every constant within this bound
SMALL_BOUND = 10**5
#: the least rlimit of a witness search (a test device, not a verdict)
WITNESS_RLIMIT = 100_000_000
#: fidelity cases per encoded operation that ``liqspec prove`` runs before a verdict
DEFAULT_FIDELITY_EXAMPLES = 60
DEFAULT_FIDELITY_SEED = 0


@dataclass
class ObligationResult:
    theorem_id: str
    domain: str
    label: str
    verdict: str
    seconds: float
    detail: str = ""
    scenario: dict | None = None
    #: the rlimit of each check, and the resources all checks of this obligation used
    rlimit: int = 0
    rlimit_used: int = 0
    #: which attempt of the schedule answered (the latest, over split goals; empty if none did)
    attempt: str = ""
    #: the most any single check of this obligation used
    rlimit_peak: int = 0


@dataclass
class FidelityResult:
    """The fidelity check of a theorem's encodings against the installed reference."""

    operations: tuple[str, ...] = ()
    cases: int = 0
    drift: str = ""  # the first drifting operation, its problems and the case, or ""


@dataclass
class TheoremResult:
    theorem: Theorem
    results: list[ObligationResult] = field(default_factory=list)
    fidelity: FidelityResult | None = None

    @property
    def verdict(self) -> str:
        verdicts = {r.verdict for r in self.results}
        if self.fidelity is not None and self.fidelity.drift:
            verdicts.add(DRIFTED)
        return next((v for v in SEVERITY if v in verdicts), PROVED)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)

    @property
    def rlimit_used(self) -> int:
        return sum(r.rlimit_used for r in self.results)

    @property
    def failures(self) -> list[ObligationResult]:
        return [r for r in self.results if r.verdict != PROVED]


# -- deterministic checks ------------------------------------------------------------------------

class GuardExpired(Exception):
    """The wall-clock guard stopped a check."""


@dataclass
class Check:
    """One solver call: its answer and the resources it used."""

    answer: z3.CheckSatResult
    used: int
    reason: str = ""


def _rlimit_count(solver: z3.Solver) -> int:
    stats = solver.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0


def _check(solver: z3.Solver, rlimit: int, guard_s: float, seed: int = SEED) -> Check:
    """``solver.check()`` under ``rlimit`` (steps, relative to now) and the guard (seconds)."""
    solver.set("rlimit", rlimit)
    solver.set("random_seed", seed)
    solver.set("timeout", max(1, int(guard_s * 1000)))
    before = _rlimit_count(solver)
    answer = solver.check()
    used = _rlimit_count(solver) - before
    if answer != z3.unknown:
        return Check(answer, used)
    reason = solver.reason_unknown()
    if used < rlimit and ("timeout" in reason or "canceled" in reason):
        raise GuardExpired(f"stopped by the wall-clock guard of {guard_s:g} s after {used} of "
                           f"{rlimit} resources ({reason})")
    return Check(answer, used, reason)


def _translate(exprs: Sequence[z3.ExprRef], ctx: z3.Context) -> list[z3.ExprRef]:
    return [e.translate(ctx) for e in exprs]


def _fresh_solver(exprs: Sequence[z3.ExprRef]) -> z3.Solver:
    """A solver in a context of its own holding ``exprs`` (see the module docstring)."""
    ctx = z3.Context()
    solver = z3.Solver(ctx=ctx)
    solver.add(*_translate(exprs, ctx))
    return solver


def _main_model(solver: z3.Solver) -> z3.ModelRef:
    """The solver's model, in the context the obligation's terms live in."""
    return solver.model().translate(z3.main_ctx())


def check_obligation(theorem_id: str, params, obligation: Obligation, rlimit: int,
                     guard_s: float = DEFAULT_GUARD_S,
                     schedule: tuple[str, ...] = SCHEDULE) -> ObligationResult:
    """The vacuity check, then the proof (the attempts of ``schedule`` in turn, until one
    answers), each check under ``rlimit``. An
    obligation with ``split_goals`` proves each named goal by its own check (the conjunction is
    proved when every conjunct is): the same theorem, in smaller steps."""
    domain = params.name if params is not None else "none"
    start = time.perf_counter()
    used = peak = 0

    def result(verdict: str, detail: str = "", scenario: dict | None = None,
               attempt: str = "") -> ObligationResult:
        return ObligationResult(theorem_id, domain, obligation.label, verdict,
                                time.perf_counter() - start, detail, scenario, rlimit, used,
                                attempt, peak)

    def count(check: Check) -> Check:
        nonlocal used, peak
        used, peak = used + check.used, max(peak, check.used)
        return check

    goals = list(obligation.goals.items()) if obligation.split_goals else \
        [("", obligation.goal)]
    try:
        satisfied = _fresh_solver(obligation.assumptions)
        vacuity = count(_check(satisfied, rlimit, guard_s))
        if vacuity.answer == z3.unsat:
            return result(VACUOUS, "the assumptions are unsatisfiable")
        if vacuity.answer == z3.unknown:
            return result(UNKNOWN, f"vacuity check: {vacuity.reason} (rlimit {rlimit})")
        attempts = []
        for goal_name, goal in goals:
            negated = z3.Not(goal)
            for attempt in schedule:
                if attempt == "incremental":
                    solver = satisfied
                    solver.push()
                    solver.add(negated.translate(solver.ctx))
                else:
                    solver = _fresh_solver([*obligation.assumptions, negated])
                proof = count(_check(solver, rlimit, guard_s))
                if proof.answer == z3.unsat and attempt == "incremental":
                    solver.pop()
                if proof.answer != z3.unknown:
                    break
                if attempt == "incremental":
                    solver.pop()
            attempts.append(attempt)
            where = f" (goal {goal_name!r})" if goal_name else ""
            if proof.answer == z3.unknown:
                return result(UNKNOWN, f"{proof.reason}{where} (rlimit {rlimit} per attempt)")
            if proof.answer == z3.sat:
                model = _main_model(solver)
                small = _small_model(obligation, negated, rlimit, guard_s)
                break
        else:
            return result(PROVED, attempt=max(attempts, key=schedule.index))
    except GuardExpired as error:
        return result(ERROR, str(error))
    if small is not None:  # the same counterexample family, with values the reference can run
        model = small
    failed = [name for name, goal in obligation.goals.items()
              if z3.is_false(model.eval(goal, model_completion=True))]
    scenario = counterexamples.counterexample_from_model(theorem_id, params, obligation, model, failed)
    return result(COUNTEREXAMPLE, "fails: " + "; ".join(failed), scenario, attempt)


def _constants(exprs) -> list[z3.ExprRef]:
    """The integer constants (free variables) of some z3 expressions, by name."""
    found: dict[str, z3.ExprRef] = {}
    seen: set = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED and z3.is_int(e):
            found[e.decl().name()] = e
        stack.extend(e.children())
    return [found[name] for name in sorted(found)]


def _small_model(obligation: Obligation, extra: z3.BoolRef | None, rlimit: int,
                 guard_s: float = DEFAULT_GUARD_S, bound: int = SMALL_BOUND,
                 seed: int = SEED) -> z3.ModelRef | None:
    """A model of the assumptions (and ``extra``) with every integer constant in
    ``-bound..bound``, so products stay inside int64 and the reference can replay it."""
    exprs = list(obligation.assumptions) + ([extra] if extra is not None else [])
    bounds = [b for c in _constants(exprs) for b in (c >= -bound, c <= bound)]
    solver = _fresh_solver([*exprs, *bounds])
    check = _check(solver, rlimit, guard_s, seed)
    return _main_model(solver) if check.answer == z3.sat else None


#: seeds a bounded witness search tries in turn, each under :data:`WITNESS_GUARD_S`: the search
#: is a test device, not a verdict, and on nonlinear assumptions one seed was seen to run for
#: minutes without spending its resource limit where the others answer at once. The guard is
#: wide because it is wall-clock time: T-TRADE's search (about 20M units, seconds on a quiet
#: machine) was seen to pass 120 s with seven processes sharing two cores
WITNESS_SEEDS = (SEED, SEED + 1, SEED + 2)
WITNESS_GUARD_S = 400.0


def _small_witness_model(obligation: Obligation, rlimit: int,
                         guard_s: float) -> z3.ModelRef | None:
    """:func:`_small_model` under each of :data:`WITNESS_SEEDS` until one answers within its
    guard; the last guard's error if none does."""
    for seed in WITNESS_SEEDS:
        try:
            return _small_model(obligation, None, rlimit, min(guard_s, WITNESS_GUARD_S),
                                seed=seed)
        except GuardExpired as error:
            expired = error
    raise expired


def witness(theorem_id: str, params, obligation: Obligation, rlimit: int | None = None,
            guard_s: float = DEFAULT_GUARD_S) -> dict | None:
    """A small model of the assumptions alone (a concrete case the theorem is about, for
    replaying in the reference), or None if z3 finds none within ``rlimit`` (default: the
    theorem's, and at least :data:`WITNESS_RLIMIT`). z3's first model is usually small already;
    only when it is not is a bounded one searched for."""
    if rlimit is None:  # a witness is not a verdict: a wider limit for the bounded search
        rlimit = max(WITNESS_RLIMIT, next((t.rlimit for t in REGISTRY if t.id == theorem_id),
                                          DEFAULT_RLIMIT))
    solver = _fresh_solver(obligation.assumptions)
    if _check(solver, rlimit, guard_s).answer != z3.sat:
        return None
    model = _main_model(solver)
    values = [model.eval(c, model_completion=True) for c in _constants(obligation.assumptions)]
    if any(abs(v.as_long()) > SMALL_BOUND**2 for v in values if z3.is_int_value(v)):
        model = _small_witness_model(obligation, rlimit, guard_s)
        if model is None:
            return None
    return counterexamples.counterexample_from_model(theorem_id, params, obligation, model)


# -- theorems ------------------------------------------------------------------------------------

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


def domain_names() -> list[str]:
    """Every parameter domain's name (venue profiles, generic domains, ``none``)."""
    from .domains import generic_domains, venue_domains
    return [p.name for p in venue_domains()] + [p.name for p in generic_domains()] + ["none"]


def check_domains(names: Iterable[str] | None) -> None:
    """Raise KeyError naming any of ``names`` that is no parameter domain."""
    known = domain_names()
    unknown = [n for n in names or () if n not in known]
    if unknown:
        raise KeyError(f"no parameter domain named {', '.join(unknown)}; known: "
                       f"{', '.join(known)}")


def prove_theorem(thm: Theorem, rlimit: int | None = None,
                  domains: Iterable[str] | None = None,
                  timeout_s: float = DEFAULT_GUARD_S) -> TheoremResult:
    """Every obligation of ``thm`` over its domains (or those named), under ``rlimit`` (default:
    the theorem's calibrated limit) and the wall-clock guard ``timeout_s``."""
    outcome = TheoremResult(thm)
    wanted = set(domains) if domains else None
    limit = rlimit if rlimit is not None else thm.rlimit
    for params in domains_for(thm):
        name = params.name if params is not None else "none"
        if wanted is not None and params is not None and name not in wanted:
            continue
        for obligation in thm.build(params):
            outcome.results.append(check_obligation(thm.id, params, obligation, limit,
                                                    timeout_s, thm.schedule))
    return outcome


def _prove_by_id(args: tuple[str, int | None, tuple[str, ...] | None, float]
                 ) -> list[ObligationResult]:
    theorem_id, rlimit, domains, timeout_s = args
    (thm,) = [t for t in REGISTRY if t.id == theorem_id]
    return prove_theorem(thm, rlimit, domains, timeout_s).results


def _fidelity_by_operation(args: tuple[str, int, int]):
    op, examples, seed = args
    return fidelity.check_operation(op, examples, seed)


def check_fidelity(theorems: Sequence[Theorem], examples: int = DEFAULT_FIDELITY_EXAMPLES,
                   seed: int = DEFAULT_FIDELITY_SEED, pool=None) -> dict[str, FidelityResult]:
    """Each theorem's fidelity check: the seeded campaign of every operation it names, run once
    per operation (in ``pool`` if given) and shared by the theorems that name it."""
    ops = sorted({op for t in theorems for op in t.fidelity})
    work = [(op, examples, seed) for op in ops]
    runs = list(pool.imap(_fidelity_by_operation, work) if pool is not None
                else map(_fidelity_by_operation, work))
    by_op = {run.op: run for run in runs}
    out = {}
    for thm in theorems:
        drift = next((by_op[op] for op in thm.fidelity if by_op[op].drift), None)
        out[thm.id] = FidelityResult(tuple(thm.fidelity),
                                     sum(by_op[op].cases for op in thm.fidelity),
                                     drift.describe() if drift is not None else "")
    return out


def prove_all(theorems: Sequence[Theorem] | None = None, timeout_s: float = DEFAULT_GUARD_S,
              domains: Iterable[str] | None = None, jobs: int = 1, on_result=None,
              rlimit: int | None = None, fidelity_examples: int = DEFAULT_FIDELITY_EXAMPLES,
              fidelity_seed: int = DEFAULT_FIDELITY_SEED) -> list[TheoremResult]:
    """Check every theorem's encodings against the installed reference, then prove those that
    have not drifted (in ``jobs`` processes); ``on_result(result)`` after each theorem.
    ``fidelity_examples=0`` skips the fidelity check (the result then records no cases)."""
    theorems = list(theorems if theorems is not None else REGISTRY)
    domain_tuple = tuple(domains) if domains else None
    results: list[TheoremResult] = []

    def finish(thm: Theorem, obligations: list[ObligationResult], fid) -> None:
        results.append(TheoremResult(thm, obligations, fid))
        if on_result:
            on_result(results[-1])

    if jobs <= 1:
        fid = check_fidelity(theorems, fidelity_examples, fidelity_seed) \
            if fidelity_examples > 0 else {}
        for thm in theorems:
            drifted = thm.id in fid and fid[thm.id].drift
            finish(thm, [] if drifted else prove_theorem(thm, rlimit, domain_tuple,
                                                         timeout_s).results, fid.get(thm.id))
        return results
    import multiprocessing

    # One fresh process per task (forked from this one); each obligation is solved in a z3
    # context of its own, so the process's history does not reach the solver either.
    with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
        fid = check_fidelity(theorems, fidelity_examples, fidelity_seed, pool) \
            if fidelity_examples > 0 else {}
        todo = [t for t in theorems if not (t.id in fid and fid[t.id].drift)]
        todo_ids = {t.id for t in todo}
        proved = pool.imap(_prove_by_id, [(t.id, rlimit, domain_tuple, timeout_s) for t in todo])
        for thm in theorems:
            finish(thm, next(proved) if thm.id in todo_ids else [], fid.get(thm.id))
    return results

