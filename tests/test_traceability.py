"""Traceability: every rule in spec/ is cited by the reference and by at least one test, and the
code cites no rule the spec does not define. The rule ID joins spec, code, proofs and tests."""

import re
from pathlib import Path

import liqspec.reference as reference
from liqspec.reference.rules import REGISTRY, RULE_ID_PATTERN

ROOT = Path(__file__).resolve().parent.parent
SPEC_RULE = re.compile(r"^\.\. rule:: (LIQ-[A-Z]+-\d+)\s*$", re.MULTILINE)
TEST_CITATION = re.compile(r"LIQ[-_]([A-Z]+)[-_](\d+)")


def spec_rules() -> list[str]:
    found = []
    for path in sorted((ROOT / "spec").glob("*.rst")):
        found += SPEC_RULE.findall(path.read_text())
    return found


def reference_citations() -> set[str]:
    source_dir = Path(reference.__file__).parent  # the installed reference, as shipped
    return {m for path in source_dir.glob("*.py") for m in RULE_ID_PATTERN.findall(path.read_text())}


def rules_cited_by_tests() -> set[str]:
    cited = set()
    for path in (ROOT / "tests").rglob("*.py"):
        cited |= {f"LIQ-{area}-{n}" for area, n in TEST_CITATION.findall(path.read_text())}
    return cited


def test_spec_defines_each_rule_once():
    rules = spec_rules()
    assert rules, "no '.. rule::' lines found under spec/"
    duplicates = sorted({r for r in rules if rules.count(r) > 1})
    assert duplicates == []


def test_every_spec_rule_is_implemented_in_the_reference():
    missing = sorted(set(spec_rules()) - reference_citations())
    assert missing == [], f"spec rules not cited by liqspec.reference: {missing}"


def test_every_spec_rule_is_tested():
    missing = sorted(set(spec_rules()) - rules_cited_by_tests())
    assert missing == [], f"spec rules no test cites: {missing}"


def test_reference_cites_only_spec_rules():
    orphans = sorted(reference_citations() - set(spec_rules()))
    assert orphans == [], f"rule IDs in the reference that spec/ does not define: {orphans}"


def test_registry_names_real_functions():
    for rule_id, functions in REGISTRY.items():
        assert RULE_ID_PATTERN.fullmatch(rule_id)
        for qualified in functions:
            module, _, name = qualified.rpartition(".")
            assert module.startswith("liqspec.reference"), qualified


# -- how a test cites a rule: the matrix's three test columns -----------------------------------

def trace_module():
    """docs/_ext/liqspec_trace.py, which the docs site builds its matrix with."""
    import importlib.util
    import sys

    path = ROOT / "docs" / "_ext" / "liqspec_trace.py"
    spec = importlib.util.spec_from_file_location("liqspec_trace", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("liqspec_trace", module)
    spec.loader.exec_module(module)
    return module


def test_a_citation_is_a_check_a_fast_path_test_or_a_mention():
    trace = trace_module()
    fee = "-".join(("LIQ", "FEE", "1"))  # assembled, so this file cites no rule by accident
    under = fee.replace("-", "_")

    def source(path, name, body):
        return trace.TestSource(path, name, 1, body, (fee,))

    named = source("tests/test_liquidation.py", f"test_fee_{under}",
                   f"def test_fee_{under}():\n    assert True\n")
    documented = source("tests/test_liquidation.py", "test_fee",
                        f'def test_fee():\n    """The fee ({fee})."""\n')
    in_body = source("tests/test_ledger.py", "test_journal",
                     f'def test_journal():\n    transfer("{fee}")\n')
    fast = source("tests/test_fast_operations.py", f"test_fee_{under}",
                  f"def test_fee_{under}():\n    pass\n")
    proofs = source("tests/test_proofs.py", f"test_theorem_{under}",
                    f"def test_theorem_{under}():\n    pass\n")
    helper = source("tests/test_liquidation.py", "fee_case", f'def fee_case():\n    "{fee}"\n')
    module = source("tests/test_liquidation.py", "", f'   1  """Fees ({fee})."""')
    kinds = {s.name + s.path: s.kind(fee) for s in (named, documented, in_body, fast, proofs,
                                                    helper, module)}
    assert list(kinds.values()) == [trace.CHECKS, trace.CHECKS, trace.MENTIONS, trace.FAST_PATH,
                                    trace.MENTIONS, trace.MENTIONS, trace.MENTIONS]
    # the kind is per rule: a test that names one rule only mentions another in its body
    assert named.kind("-".join(("LIQ", "INV", "7"))) == trace.MENTIONS


def test_every_rule_has_a_test_that_checks_it_on_the_reference():
    """The matrix's first test column is never empty: some test of the reference carries each
    rule's ID in its name or docstring."""
    trace = trace_module()
    data = trace.collect(ROOT)
    assert [r.rule_id for r in data.rules if not data.tests_of_kind(r.rule_id, trace.CHECKS)] == []
    every = {(r.rule_id, t.label) for r in data.rules for t in data.tests[r.rule_id]}
    split = {(r.rule_id, t.label) for r in data.rules
             for kind in (trace.CHECKS, trace.FAST_PATH, trace.MENTIONS)
             for t in data.tests_of_kind(r.rule_id, kind)}
    assert split == every  # each citation in exactly one column
