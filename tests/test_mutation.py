"""Mutation: catalogued bugs in the reference are caught by the proofs' fidelity campaign or the
targeted test subset, and ``liqspec prove`` alone fails on every mutant a theorem covers; the
harness itself is sound (the unmutated reference passes, a mutant that changes nothing survives,
an edit that no longer applies fails loudly).

The default run judges a representative subset (:data:`SUBSET`: one mutant per kind of module,
and the issue's three bugs under ``liqspec prove`` alone); the whole catalogue is explicit
(``pytest -m slow tests/test_mutation.py``, or ``liqspec mutate`` and ``liqspec mutate
--by-proofs``), since it runs the test subset or a whole proof run once per mutant.

Rules: LIQ-ROUND-1, LIQ-ROUND-2, LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-TRIGGER-1, LIQ-ADL-2,
LIQ-FUNDING-2, LIQ-LEDGER-1, LIQ-INV-9, LIQ-PRICE-2, LIQ-BOOK-2, LIQ-MARK-2, LIQ-CASCADE-3,
LIQ-CASCADE-4, LIQ-CASCADE-5, LIQ-CASCADE-6, LIQ-ADL-3, LIQ-ADL-5, LIQ-MARGIN-4, LIQ-DOMAIN-3 (the
rules the catalogue breaks).
"""

import json
from pathlib import Path

import pytest

from liqspec.proofs import mutation, theorems
from liqspec.proofs.cli import mutate_main

TESTS = Path(__file__).resolve().parent

#: one mutant per kind of module: arithmetic, the trigger, the insurance fund, the book walk,
#: the cascade, rollback
SUBSET = ("ppm-ceil-to-floor", "trigger-at-equality", "fund-pays-one-more",
          "walk-affordable-ceil", "mark-first-fill", "rollback-keeps-journal")
#: the issue's bugs that `liqspec prove` used to call PROVED
PROVE_MUST_CATCH = ("fee-cap-before-fill", "fund-pays-one-more", "write-off-to-fee-sink")


def test_every_catalogued_edit_applies_exactly_once_to_the_installed_reference():
    package = mutation.package_dir()
    for mutant in mutation.CATALOGUE:
        assert (package / mutant.module).read_text().count(mutant.old) == 1, mutant.name
        assert mutant.old != mutant.new


def test_catalogue_covers_the_issues_bug_classes():
    names = {m.name for m in mutation.CATALOGUE}
    for required in ("ppm-ceil-to-floor", "fee-uncapped", "fund-below-zero", "trigger-at-equality",
                     "adl-wrong-side", "funding-residual-dropped", "journal-transfer-skipped"):
        assert required in names


def test_catalogue_reaches_every_module_that_decides_state():
    """Modules the fidelity campaign cannot see (books, cascades, prices, ADL rankings) are
    mutated too: only the targeted tests judge them."""
    modules = {m.module for m in mutation.CATALOGUE}
    for module in ("arithmetic", "book", "cascade", "collateral", "deleveraging", "funding",
                   "insurance", "ledger", "liquidation", "margin", "prices", "share_liquidation",
                   "shortage",
                   "socialization", "state", "trading", "validation"):
        assert f"reference/{module}.py" in modules, module


def test_catalogue_names_are_unique():
    names = [m.name for m in mutation.CATALOGUE]
    assert len(names) == len(set(names))


def test_an_edit_that_no_longer_applies_fails_loudly(tmp_path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "x.py").write_text("a = 1\n")
    with pytest.raises(ValueError, match="found it 0 times"):
        mutation.apply(tmp_path, mutation.Mutant("gone", "", "reference/x.py", "b = 2", "b = 3"))


def test_a_mutant_that_changes_nothing_survives():
    """The harness reports survival: a comment-only edit is caught by nothing."""
    noop = mutation.Mutant("comment-only", "nothing", "reference/arithmetic.py",
                           "#: parts per million", "#: parts per million (edited)")
    result = mutation.run_mutant(noop, TESTS, examples=20)
    assert (result.fidelity, result.tests) == ("passed", "passed")
    assert not result.caught


def test_a_representative_subset_of_mutants_is_caught(capsys):
    """The default run: the subset, two at a time (the unmutated baseline is judged by
    test_a_mutant_that_changes_nothing_survives, so it is not run twice)."""
    modules = {m.module for m in mutation.select(SUBSET)}
    assert len(modules) >= 5  # different modules, not one module's mutants
    argv = ["--tests", str(TESTS), "--quiet", "--jobs", "2", "--no-baseline"]
    for name in SUBSET:
        argv += ["--mutant", name]
    status = mutate_main(argv)
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    assert f"{len(SUBSET)} of {len(SUBSET)} mutants caught" in out


def test_the_issues_bugs_are_in_the_catalogue_and_covered_by_proofs():
    for name in PROVE_MUST_CATCH:
        (mutant,) = mutation.select([name])
        assert mutant.covered_by, name
        assert not mutant.not_covered_by_proofs


@pytest.mark.parametrize("name", PROVE_MUST_CATCH)
def test_prove_alone_fails_on_the_issues_bugs(name):
    """`liqspec prove` alone, no test suite: with the bug installed, the theorems about the
    encodings it breaks are DRIFTED and the command exits 1. (Only the covering theorems run
    here; `liqspec mutate --by-proofs` runs every theorem on every mutant.)"""
    (mutant,) = mutation.select([name])
    run = mutation.run_prove(mutant, theorems=mutant.covered_by)
    assert run.status == 1, run.output
    assert run.not_proved == {t: "DRIFTED" for t in mutant.covered_by}, run.output
    assert "drifts from the installed reference" in run.output


def test_every_mutant_is_covered_by_a_theorem_or_says_why_not():
    """The data the docs site lists: covering theorems, or the reason no theorem covers it."""
    known = {t.id for t in theorems.REGISTRY}
    rows = mutation.proof_coverage()
    assert [r["mutant"] for r in rows] == [m.name for m in mutation.CATALOGUE]
    for row in rows:
        assert bool(row["covered_by"]) != bool(row["not_covered_by_proofs"]), row
        assert set(row["covered_by"]) <= known, row
    assert json.loads(json.dumps(rows)) == rows


def test_mutate_coverage_prints_the_coverage_as_json(capsys):
    assert mutate_main(["--coverage"]) == 0
    assert json.loads(capsys.readouterr().out) == mutation.proof_coverage()


def test_mutate_refuses_an_unknown_mutant_on_stderr(capsys):
    assert mutate_main(["--mutant", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "unknown mutant(s) nope" in captured.err


@pytest.mark.slow
def test_prove_alone_fails_exactly_where_the_catalogue_says(capsys):
    """The whole catalogue under `liqspec prove` alone (a proof run per mutant: explicit)."""
    status = mutate_main(["--by-proofs", "--quiet", "--jobs", "2"])
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out


@pytest.mark.slow
def test_every_catalogued_mutant_is_caught(capsys):
    """The whole catalogue (explicit): the unmutated baseline passes, then all mutants, two at
    a time."""
    status = mutate_main(["--tests", str(TESTS), "--quiet", "--jobs", "2"])
    out = capsys.readouterr().out
    print(out)  # the table, in the test log
    assert status == 0, out
    assert f"{len(mutation.CATALOGUE)} of {len(mutation.CATALOGUE)} mutants caught" in out
