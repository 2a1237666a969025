"""Mutation (CI-sized): every catalogued bug in the reference is caught by the proofs' fidelity
campaign or the targeted test subset, and the harness itself is sound (the unmutated reference
passes, a mutant that changes nothing survives, an edit that no longer applies fails loudly).

Rules: LIQ-ROUND-1, LIQ-ROUND-2, LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-TRIGGER-1, LIQ-ADL-2,
LIQ-FUNDING-2, LIQ-LEDGER-1, LIQ-INV-9, LIQ-PRICE-2, LIQ-BOOK-2, LIQ-MARK-2, LIQ-CASCADE-3,
LIQ-CASCADE-4, LIQ-CASCADE-5, LIQ-CASCADE-6, LIQ-ADL-3, LIQ-MARGIN-4, LIQ-DOMAIN-3 (the rules the
catalogue breaks).
"""

from pathlib import Path

import pytest

from liqspec.proofs import mutation
from liqspec.proofs.cli import mutate_main

TESTS = Path(__file__).resolve().parent


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
                   "insurance", "ledger", "liquidation", "margin", "prices", "socialization",
                   "state", "trading", "validation"):
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


def test_every_catalogued_mutant_is_caught(capsys):
    """The CI-sized run: the unmutated baseline passes, then all mutants, two at a time."""
    status = mutate_main(["--tests", str(TESTS), "--quiet", "--jobs", "2"])
    out = capsys.readouterr().out
    print(out)  # the table, in the test log
    assert status == 0, out
    assert f"{len(mutation.CATALOGUE)} of {len(mutation.CATALOGUE)} mutants caught" in out
