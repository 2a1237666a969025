"""What each theorem of liqspec.proofs is about: its kind, its parameter domains, its assumptions
and its source, and what no theorem proves. The proof page shows this beside the verdicts.

Read from the installed package when the site is built: the domains from
``liqspec.proofs.theorems.domains_for`` (the prover's own choice), the kind from the obligations
each theorem builds (how many operations a case runs, whether the invariants are its goal, whether
terms were abstracted), the source from the theorem's build function. Only what z3 is told to
assume is written here in words (:data:`ASSUMES`), one entry per registered theorem: a theorem
without one, or an entry for a theorem that does not exist, stops the build (:func:`problems`).
This module imports no Sphinx, so the tests can use it too.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

#: What each theorem assumes, besides its parameter domain (listed beside it). "Inv" is every
#: state invariant (LIQ-INV-1 to LIQ-INV-4 and LIQ-INV-8, positive marks), as
#: ``encodings.state_invariants`` states it; "the operation succeeds" is its result code OK.
ASSUMES: dict[str, str] = {
    "T-DEPOSIT": "Inv before; the deposit succeeds.",
    "T-WITHDRAW": "Inv before; the withdrawal succeeds.",
    "T-WITHDRAW-MARGIN": "Inv before; the withdrawal succeeds.",
    "T-TOPUP": "Inv before; the top-up succeeds.",
    "T-MARK": "Inv before; the mark change succeeds.",
    "T-TRADE": "Inv before; the trade succeeds (trader against trader, and the book's liquidity "
               "account against a trader).",
    "T-TRADE-HEALTH": "Inv before; the trade succeeds; each trader's requirements and equity "
                      "before and after are replaced by free constants that keep only IM >= MM "
                      "after the trade and MM > 0 before it for an open position (the facts "
                      "T-MM-POSITIVE proves).",
    "T-LIQ": "Inv before; the liquidation step succeeds, with a caller-chosen size from 1 to the "
             "policy's size, against the book's liquidity account or a trader.",
    "T-NO-FALSE-LIQ": "Inv before; the step succeeds (policy size, against the book); for the "
                      "equality case: equity equals maintenance and the fill price is in range.",
    "T-PROGRESS": "Inv before; the step succeeds against the book, at the policy's size or a "
                  "chosen one.",
    "T-SIZE": "Inv before; the account holds a position in the market.",
    "T-FEE-CAP": "Inv before; the step succeeds with a chosen size, against the book.",
    "T-FUND-PAYOUT": "Inv before, except LIQ-INV-4 for the settled account, which is flat with "
                     "a negative quote balance (the moment before settlement); no other trader "
                     "needs settling.",
    "T-BACKSTOP": "Inv before; the takeover by the backstop vault succeeds.",
    "T-SHARE": "Inv before; the share liquidation by the backstop vault succeeds; one obligation "
               "per share the rule may choose, each assuming that share's own test (its kept "
               "requirement below the target share of equity less its penalty; none for 100%).",
    "T-ADL": "Inv before; deleveraging succeeds, for each of the two orders in which the ranking "
             "can put the two other traders (the book's account last), from any fund peak "
             "(LIQ-ADL-5).",
    "T-ADL-SIDE": "As T-ADL.",
    "T-ADL-ZERO": "Positive marks; the account's only position is in the first market and is "
                  "closed whole; a fund peak in 0..2^63-1 the fund is not in drawdown from "
                  "(LIQ-ADL-5).",
    "T-ADL-DRAWDOWN": "Inv before; a fund peak in 0..2^63-1 the fund is in drawdown from "
                      "(LIQ-ADL-5). For 'not refused': the account holds a position, has "
                      "negative equity and the opposite side can take it whole, any fund "
                      "balance. For 'at the mark': deleveraging succeeds, in each of the two "
                      "ranking orders.",
    "T-PRO-RATA": "Inv before; the bankrupt account holds a position.",
    "T-SOCIALIZE": "Inv before; socialization succeeds, charging the long side or the short side.",
    "T-FUNDING": "Inv before; the funding payment succeeds.",
    "T-ROUNDING": "Positive marks and price, a non-zero position, a rate within +-100%.",
    "T-MM-POSITIVE": "Positive marks and price, a non-zero position, a non-negative open "
                     "interest; in each of the two markets.",
    "T-CEIL-LEMMA": "ceil(y) and floor(y) as integers c, f with c - 1 < y <= c and "
                    "f <= y < f + 1, for a rational y; nothing else.",
    "T-INVERSE-PRICE": "A face numerator K >= 1 and venue prices p, p2 >= 1, integers of any "
                       "size; each floor as its definition (b*q <= a < b*(q + 1)); nothing "
                       "about a state: the closed forms of LIQ-INVERSE-3 and the monotone lot "
                       "value of LIQ-INVERSE-1.",
    "T-LIQ-PRICE": "Positive marks; the account's only position is in the first market, in "
                   "its first tier at the mark, with no minimum requirement.",
    "T-CASCADE-BMC": "Inv before (without cost basis); every trader flat in the second market; "
                     "a book of two price levels a side; each round liquidates; the margin "
                     "decisions of each step (trigger, allowed size, wanted fee, surplus, cash "
                     "of the fill) are free values within the bounds T-SIZE and LIQ-FEE-1 give, "
                     "so no parameter is read and the parameter constraints are left out.",
}

INDUCTIVE = "inductive step"
ONE_STEP = "one operation, from any state satisfying Inv"
LEMMA = "lemma"
BOUNDED = "bounded model check"

KIND_MEANING = {
    INDUCTIVE: "Inv and the operation imply Inv after it, for every state satisfying Inv: by "
               "induction, the property holds in every state reachable by that operation, with "
               "no bound on the number of operations.",
    ONE_STEP: "a property of one operation from every state satisfying Inv (hence from every "
              "reachable one), with no bound on the number of operations before it.",
    LEMMA: "a property of the arithmetic or of one function, for every value of its inputs "
           "within the stated assumptions.",
    BOUNDED: "every run of at most the stated number of steps, and only those: a bounded model "
             "check proves nothing about longer runs.",
}


@dataclass(frozen=True)
class Scope:
    theorem_id: str
    kind: str
    kind_detail: str  # e.g. "21 steps: 3 rounds x 3 traders x 2 levels, then a mark move"
    venue_domains: tuple[str, ...]
    generic_domains: tuple[str, ...]
    parameter_free: bool
    obligation_labels: tuple[str, ...]  # of the first domain
    abstracted: bool
    assumes: str
    #: the fidelity check liqspec prove runs before a verdict (operations), and the theorem's
    #: resource limit per check, when the prover has them
    fidelity: tuple[str, ...]
    rlimit: int | None
    source_path: str  # "proofs/theorems.py"
    source_line: int
    source: str


def _kind(obligations, state_invariants) -> tuple[str, str]:
    steps = max((len(getattr(o, "steps", []) or []) for o in obligations), default=0)
    if steps > 1:
        labels = "; ".join(o.label for o in obligations)
        return BOUNDED, f"at most {steps} operations ({labels})"
    if steps == 0 or all(getattr(o, "state", None) is None for o in obligations):
        return LEMMA, ""
    import z3

    def assumes_inv(o) -> bool:
        if o.state is None:
            return False
        inv = state_invariants(o.state)
        return any(z3.eq(a, inv) for a in o.assumptions)

    if not all(assumes_inv(o) for o in obligations):
        return LEMMA, ""
    goals = [name for o in obligations for name in o.goals]
    return (INDUCTIVE if any(name.startswith("LIQ-INV-1") for name in goals) else ONE_STEP), ""


def collect() -> tuple[list[Scope], str]:
    """The scope of every registered theorem, or ([], why) when liqspec.proofs is not there."""
    try:
        from liqspec.proofs import encodings, theorems
        from liqspec.proofs.domains import venue_domains
    except ImportError as error:
        return [], f"liqspec.proofs does not import ({error})"
    venue_names = {p.name for p in venue_domains()}
    found = []
    for thm in theorems.REGISTRY:
        domains = theorems.domains_for(thm)
        names = [p.name for p in domains if p is not None]
        obligations = thm.build(domains[0])
        kind, detail = _kind(obligations, encodings.state_invariants)
        lines, first = inspect.getsourcelines(thm.build)
        module_file = Path(inspect.getsourcefile(thm.build))
        found.append(Scope(
            theorem_id=thm.id, kind=kind, kind_detail=detail,
            venue_domains=tuple(n for n in names if n in venue_names),
            generic_domains=tuple(n for n in names if n not in venue_names),
            parameter_free=domains == [None],
            obligation_labels=tuple(o.label for o in obligations),
            abstracted=any(getattr(o, "abstracted", False) for o in obligations),
            assumes=ASSUMES.get(thm.id, ""),
            fidelity=tuple(getattr(thm, "fidelity", ()) or ()),
            rlimit=getattr(thm, "rlimit", None),
            source_path=f"proofs/{module_file.name}", source_line=first,
            source="".join(lines).rstrip("\n")))
    return found, ""


def problems(scopes: list[Scope]) -> list[str]:
    """Why the build must stop: a theorem whose assumptions this page does not state, or a
    statement for a theorem that does not exist."""
    ids = {s.theorem_id for s in scopes}
    found = [f"theorem {s.theorem_id}: the proof page does not say what it assumes (add it to "
             "ASSUMES in docs/_ext/liqspec_proof_scope.py)" for s in scopes if not s.assumes]
    if scopes:
        found += [f"ASSUMES in docs/_ext/liqspec_proof_scope.py names {i}, which is no theorem"
                  for i in sorted(set(ASSUMES) - ids)]
    return found


def venue_markets_left_out() -> dict[str, list[str]]:
    """Profile name -> its markets that no theorem sees (the domains have two market slots)."""
    from liqspec.proofs.domains import MARKET_SLOTS
    from liqspec.reference.profiles import PROFILES

    return {name: sorted(p.markets)[len(MARKET_SLOTS):] for name, p in sorted(PROFILES.items())
            if len(p.markets) > len(MARKET_SLOTS)}


def verdicts() -> tuple[str, ...]:
    """The prover's verdicts, worst first."""
    from liqspec.proofs import prover

    return tuple(getattr(prover, "SEVERITY", ()))


def prover_checks_fidelity() -> bool:
    """Whether ``liqspec prove`` itself checks the encodings against the installed reference
    before a theorem counts as proved (a DRIFTED verdict), rather than leaving it to the tests."""
    return "DRIFTED" in verdicts()


def prover_uses_resource_limit() -> bool:
    """Whether verdicts are decided by z3's deterministic resource limit: each theorem then
    carries its calibrated ``rlimit``."""
    import dataclasses

    from liqspec.proofs.theorems import Theorem

    return "rlimit" in {f.name for f in dataclasses.fields(Theorem)}


def uncovered_mutants():
    """(rows, fields, how): the catalogued mutants that no theorem catches, if
    ``liqspec.proofs.mutation`` says which; otherwise every mutant with every field the
    catalogue records (``how`` says which of the two it is)."""
    try:
        from liqspec.proofs import mutation
    except ImportError as error:
        return [], [], f"liqspec.proofs.mutation does not import ({error})"
    coverage = getattr(mutation, "proof_coverage", None)
    if callable(coverage):  # one dict per mutant: covered_by, or not_covered_by_proofs
        rows = [row for row in coverage() if not row.get("covered_by")]
        fields = [f for f in _fields(rows) if f != "covered_by"]
        return rows, fields, "liqspec.proofs.mutation.proof_coverage()"
    catalogue = list(getattr(mutation, "CATALOGUE", ()))
    return catalogue, _fields(catalogue), "catalogue"


def _fields(rows) -> list[str]:
    import dataclasses

    if not rows:
        return []
    first = rows[0]
    if dataclasses.is_dataclass(first):
        names = [f.name for f in dataclasses.fields(first)]
    elif isinstance(first, dict):
        names = list(first)
    else:
        return ["value"]
    return [n for n in names if n not in ("old", "new")]  # the edit itself: in the source
