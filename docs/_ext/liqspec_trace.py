"""Traceability data: every spec rule joined to its reference functions, its tests and its theorems.

Everything here is read from the repository and the installed package at build time, never
written by hand: the rules from ``spec/*.rst`` (the ``.. rule::`` lines), the functions from
``liqspec.reference.rules.REGISTRY`` and each rule's ``Reference`` field, the tests from
``tests/*.py`` (any ``LIQ-AREA-n`` or ``LIQ_AREA_n`` in a test's source), and the theorems from
``liqspec.proofs.theorems.REGISTRY`` when that exists.

A rule is *traced* when it has a reference function and at least one test cites it; the docs
build fails on any rule that is not (:func:`problems`). This module imports no Sphinx, so the
test suite can use it too.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

#: the same patterns as tests/test_traceability.py
SPEC_RULE = re.compile(r"^\.\. rule:: (LIQ-[A-Z]+-\d+)\s*$", re.MULTILINE)
TEST_CITATION = re.compile(r"LIQ[-_]([A-Z]+)[-_](\d+)")
RULE_ID = re.compile(r"\bLIQ-[A-Z]+-\d+\b")
HEADING = re.compile(r"^(LIQ-[A-Z]+-\d+): (.+)$")
FIELD = re.compile(r"^:([A-Za-z ]+):")
REFERENCE_PATH = re.compile(r"``(liqspec\.[A-Za-z_][\w.]*)``")


@dataclass(frozen=True)
class Rule:
    """One rule of the spec, as its source file states it."""

    rule_id: str
    title: str
    page: str  # the spec file's stem: "margin" for spec/margin.rst
    reference_paths: tuple[str, ...]  # the ``Reference`` field's dotted names
    has_doctest: bool  # the ``Example`` field holds a ``>>>`` example

    @property
    def label(self) -> str:
        """The rule's reST label (``.. _LIQ-MARGIN-1:``), lowercased as Sphinx stores it."""
        return self.rule_id.lower()

    @property
    def matrix_label(self) -> str:
        return f"trace-{self.rule_id.lower()}"


#: how a test source cites a rule (:meth:`TestSource.kind`)
CHECKS, FAST_PATH, MENTIONS = "checks", "fast path", "mentions"
FAST_PATH_PREFIX = "test_fast_"
#: test modules about the proofs, the docs and the project rather than the reference's rules
NOT_ABOUT_THE_REFERENCE = ("test_proofs", "test_mutation", "test_docs", "test_traceability",
                           "test_project")


def _docstring(source: str) -> str:
    """The docstring of the one function or class in ``source`` ("" if none)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ""
    node = body[0] if body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return ast.get_docstring(node) or ""
    return ""


@dataclass(frozen=True)
class TestSource:
    """A top-level test function or class (or a helper) whose source cites rules."""

    path: str  # relative to the repository: "tests/test_margin.py"
    name: str  # "test_x", "TestY", or "" for citations outside any function or class
    lineno: int
    source: str
    rule_ids: tuple[str, ...]

    @property
    def is_test(self) -> bool:
        return self.name.startswith(("test", "Test"))

    @property
    def display(self) -> str:
        file_name = Path(self.path).name
        return f"{file_name}::{self.name}" if self.name else f"{file_name} (module text)"

    @property
    def label(self) -> str:
        stem = Path(self.path).stem
        return f"test-{stem}-{self.name or 'module'}".lower().replace("_", "-")

    def kind(self, rule_id: str) -> str:
        """How this source cites ``rule_id``: ``CHECKS`` (a test of the reference that names the
        rule in its name or docstring), ``FAST_PATH`` (a test of liqspec.fast against the
        reference) or ``MENTIONS`` (module text, a helper, a test of the proofs or the tooling,
        or a test that cites the rule only in its body, say as a journal entry's rule ID)."""
        stem = Path(self.path).stem
        if stem.startswith(FAST_PATH_PREFIX):
            return FAST_PATH
        if not self.is_test or stem in NOT_ABOUT_THE_REFERENCE:
            return MENTIONS
        return CHECKS if rule_id in _cited(f"{self.name}\n{_docstring(self.source)}") else MENTIONS


@dataclass(frozen=True)
class Theorem:
    theorem_id: str
    statement: str
    rule_ids: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"theorem-{self.theorem_id.lower()}"


@dataclass
class Trace:
    rules: list[Rule]
    #: rule ID -> qualified names of the reference functions (REGISTRY first, then the spec's field)
    functions: dict[str, list[str]]
    #: rule ID -> installed reference modules whose source cites it (comments and docstrings too)
    cited_in_reference: dict[str, list[str]]
    #: rule ID -> the test sources citing it
    tests: dict[str, list[TestSource]]
    #: every test source that cites a rule, in file and line order
    test_sources: list[TestSource]
    #: the theorems, or None when liqspec.proofs has no registry yet (see ``theorems_missing``)
    theorems: list[Theorem] | None
    theorems_missing: str = ""
    #: qualified names in the REGISTRY or a Reference field that do not import
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    #: rule IDs the REGISTRY implements but spec/ does not define
    registry_orphans: list[str] = field(default_factory=list)
    duplicate_rules: list[str] = field(default_factory=list)

    def tests_of_kind(self, rule_id: str, kind: str) -> list[TestSource]:
        return [t for t in self.tests.get(rule_id, []) if t.kind(rule_id) == kind]

    def theorems_for(self, rule_id: str) -> list[Theorem]:
        return [t for t in self.theorems or [] if rule_id in t.rule_ids]

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.rule_id == rule_id)


# -- the spec --------------------------------------------------------------------------------------

def parse_spec(spec_dir: Path) -> list[Rule]:
    """Every ``.. rule::`` of ``spec_dir/*.rst``, in page order then file order."""
    rules = []
    for path in sorted(spec_dir.glob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = SPEC_RULE.match(line)
            if not match:
                continue
            rule_id = match.group(1)
            rules.append(Rule(rule_id, _title(lines, index, rule_id), path.stem,
                              *_fields(lines, index + 1)))
    return rules


def _title(lines: list[str], rule_line: int, rule_id: str) -> str:
    """The ``LIQ-AREA-n: title`` heading just above the rule line."""
    for line in reversed(lines[max(0, rule_line - 4):rule_line]):
        match = HEADING.match(line)
        if match and match.group(1) == rule_id:
            return match.group(2).strip()
    return ""


def _fields(lines: list[str], start: int) -> tuple[tuple[str, ...], bool]:
    """The Reference paths and whether the Example holds a doctest, from the field list that
    follows a rule line (it ends at the first unindented line that is not a field)."""
    current = None
    text: dict[str, list[str]] = {}
    for line in lines[start:]:
        match = FIELD.match(line)
        if match:
            current = match.group(1)
            text[current] = [line[match.end():]]
        elif current and (not line.strip() or line[0].isspace()):
            text[current].append(line)
        elif current:
            break
    reference = tuple(dict.fromkeys(REFERENCE_PATH.findall("\n".join(text.get("Reference", [])))))
    has_doctest = any(line.lstrip().startswith(">>> ") for line in text.get("Example", []))
    return reference, has_doctest


# -- the reference ---------------------------------------------------------------------------------

def import_reference() -> dict[str, list[str]]:
    """Import every module of liqspec.reference (each registers its rules); the REGISTRY."""
    import liqspec.reference as reference
    from liqspec.reference.rules import REGISTRY

    for module in pkgutil.iter_modules(reference.__path__):
        importlib.import_module(f"liqspec.reference.{module.name}")
    return REGISTRY


def resolve(qualified: str) -> object | None:
    """The object a dotted name names (module path, then attributes), or None."""
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                target = getattr(target, attribute)
        except AttributeError:
            return None
        return target
    return None


def reference_citations() -> dict[str, list[str]]:
    """Rule ID -> the installed reference modules whose text cites it."""
    import liqspec.reference as reference

    cited: dict[str, list[str]] = {}
    for path in sorted(Path(reference.__file__).parent.glob("*.py")):
        for rule_id in sorted(set(RULE_ID.findall(path.read_text(encoding="utf-8")))):
            cited.setdefault(rule_id, []).append(f"liqspec.reference.{path.stem}")
    return cited


# -- the tests -------------------------------------------------------------------------------------

def _cited(text: str) -> tuple[str, ...]:
    return tuple(sorted({f"LIQ-{area}-{n}" for area, n in TEST_CITATION.findall(text)},
                        key=_rule_sort_key))


def _rule_sort_key(rule_id: str) -> tuple[str, int]:
    area, _, number = rule_id[len("LIQ-"):].rpartition("-")
    return area, int(number)


def scan_tests(root: Path) -> list[TestSource]:
    """Every top-level function or class of ``tests/**/*.py`` whose source cites a rule, and for
    each file the citations outside them (module docstring, comments, shared tables)."""
    found = []
    for path in sorted((root / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        relative = path.relative_to(root).as_posix()
        covered = [False] * len(lines)
        for node in ast.parse(text).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            source = "\n".join(lines[first - 1:node.end_lineno])
            for i in range(first - 1, node.end_lineno):
                covered[i] = True
            cited = _cited(source)
            if cited:
                found.append(TestSource(relative, node.name, first, source, cited))
        outside = [(number, line) for number, (line, inside) in enumerate(zip(lines, covered), 1)
                   if not inside and TEST_CITATION.search(line)]
        cited = _cited("\n".join(line for _, line in outside))
        if cited:  # shown as the citing lines, each with its line number
            listing = "\n".join(f"{number:>4}  {line}" for number, line in outside)
            found.append(TestSource(relative, "", outside[0][0], listing, cited))
    return found


# -- the proofs ------------------------------------------------------------------------------------

def load_theorems() -> tuple[list[Theorem] | None, str]:
    """The theorem registry of liqspec.proofs, or None and the reason it is not there.

    Expected interface: ``liqspec.proofs.theorems.REGISTRY``, a sequence of objects with ``id``
    (str), ``statement`` (str) and ``rule_ids`` (tuple of rule IDs)."""
    try:
        module = importlib.import_module("liqspec.proofs.theorems")
    except ImportError as error:
        return None, f"liqspec.proofs.theorems does not import ({error})"
    registry = getattr(module, "REGISTRY", None)
    if registry is None:
        return None, "liqspec.proofs.theorems has no REGISTRY"
    return [Theorem(t.id, t.statement, tuple(t.rule_ids)) for t in registry], ""


# -- all together ----------------------------------------------------------------------------------

def collect(root: Path) -> Trace:
    rules = parse_spec(root / "spec")
    registry = import_reference()
    spec_ids = [r.rule_id for r in rules]
    functions: dict[str, list[str]] = {}
    unresolved: dict[str, list[str]] = {}
    for rule in rules:
        names = list(dict.fromkeys(registry.get(rule.rule_id, []) + list(rule.reference_paths)))
        functions[rule.rule_id] = [n for n in names if resolve(n) is not None]
        missing = [n for n in names if resolve(n) is None]
        if missing:
            unresolved[rule.rule_id] = missing
    test_sources = scan_tests(root)
    tests: dict[str, list[TestSource]] = {rule_id: [] for rule_id in spec_ids}
    for source in test_sources:
        for rule_id in source.rule_ids:
            tests.setdefault(rule_id, []).append(source)
    theorems, missing_reason = load_theorems()
    return Trace(
        rules=rules,
        functions=functions,
        cited_in_reference=reference_citations(),
        tests=tests,
        test_sources=test_sources,
        theorems=theorems,
        theorems_missing=missing_reason,
        unresolved=unresolved,
        registry_orphans=sorted(set(registry) - set(spec_ids), key=_rule_sort_key),
        duplicate_rules=sorted({r for r in spec_ids if spec_ids.count(r) > 1}),
    )


def problems(trace: Trace) -> list[str]:
    """Why the build must fail: untraced rules and references that point nowhere. Empty when
    every rule has a reference function the installed reference cites, and a test."""
    spec_ids = {r.rule_id for r in trace.rules}
    found = []
    if not trace.rules:
        found.append("no '.. rule::' lines found under spec/")
    for rule_id in trace.duplicate_rules:
        found.append(f"{rule_id} is defined more than once in spec/")
    for rule in trace.rules:
        rule_id = rule.rule_id
        if not trace.functions[rule_id]:
            found.append(f"{rule_id} is untraced: no reference function implements it "
                         "(none in liqspec.reference.rules.REGISTRY, none in its Reference field)")
        elif rule_id not in trace.cited_in_reference:
            found.append(f"{rule_id} is untraced: the installed liqspec.reference never cites it")
        if not trace.tests.get(rule_id):
            found.append(f"{rule_id} is untraced: no test in tests/ cites it")
    for rule_id, names in trace.unresolved.items():
        found.append(f"{rule_id} names reference objects that do not exist: {', '.join(names)}")
    for rule_id in trace.registry_orphans:
        found.append(f"liqspec.reference implements {rule_id}, which spec/ does not define")
    for theorem in trace.theorems or []:
        orphans = [r for r in theorem.rule_ids if r not in spec_ids]
        if orphans:
            found.append(f"theorem {theorem.theorem_id} covers rules spec/ does not define: "
                         f"{', '.join(orphans)}")
    return found
