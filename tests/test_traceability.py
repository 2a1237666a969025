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
