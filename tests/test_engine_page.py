"""docs/engine.rst names code and tests: every name it gives must exist, so the page cannot
drift from the engine unnoticed.

* Its rule table: each reference function is registered (``@implements``) under a rule of its
  row and every rule of the row has one, each compiled function is defined in a ``fast/*.pyx``,
  ``fast/*.pxd`` or ``fast/engine/*.pxi`` file (by name, not by file, so that the engine can be
  split without the page lying about what exists),
  and each entry point imports.
* Every test it cites (``tests/test_x.py::test_name``, or a bare ``test_name``) is a test
  function of ``tests/``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import liqspec.reference
from liqspec.reference.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "engine.rst"
RULE = re.compile(r"LIQ-[A-Z]+-\d+")
ROLE = re.compile(r":(?:func|mod|class):`(?:~|[^`<]*<)?([\w.]+)>?`")
LITERAL = re.compile(r"``(\w+)``")


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def rule_table() -> list[list[str]]:
    """The rows of the "Rule by rule" list-table: four cells each (rules, reference, compiled
    functions, entry point), header row dropped."""
    text = page_text()
    start = text.index("Rule by rule\n")
    table = text[text.index(".. list-table::", start):]
    table = table[:re.search(r"\n\n(?=\S)", table).start()]  # up to the next unindented line
    rows = [[cell.strip() for cell in re.split(r"\n     - ?", chunk)]
            for chunk in table.split("\n   * - ")[1:]]
    assert rows[0][0] == "Rules", rows[0]
    return rows[1:]


def compiled_names() -> set[str]:
    names = set()
    for path in [*ROOT.glob("fast/*.pyx"), *ROOT.glob("fast/*.pxd"),
                 *ROOT.glob("fast/engine/*.pxi")]:
        source = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"^(?:cdef|cpdef|def)\b[^(\n]*?\b(\w+)\s*\(", source, re.M))
        # the C helpers of the cdef extern blocks: static inline int eng_fits(...), static int
        # liq_tiers64_rows(...), the type on a line of its own or an attribute before it
        names |= set(re.findall(r"static (?:inline )?(?:__attribute__\(\([^)]*\)\) )?\w+\s+(\w+)\(",
                                source))
    return names


def test_the_rule_table_names_registered_reference_functions():
    for module in pkgutil.iter_modules(liqspec.reference.__path__):  # each fills REGISTRY
        importlib.import_module(f"liqspec.reference.{module.name}")
    rows = rule_table()
    assert len(rows) > 40
    for cells in rows:
        assert len(cells) == 4, cells
        rules = RULE.findall(cells[0])
        assert rules, cells
        functions = ROLE.findall(cells[1])
        assert functions, cells
        covered = set()
        for function in functions:  # each registered under a rule of its row
            registered = {rule for rule, names in REGISTRY.items() if function in names}
            assert registered & set(rules), (function, rules, registered)
            covered |= registered
        assert set(rules) <= covered, (rules, covered)  # and every rule of the row has one


def test_the_rule_table_names_compiled_functions_that_exist():
    defined = compiled_names()
    missing = [(cells[0], name) for cells in rule_table()
               for name in LITERAL.findall(cells[2]) if name not in defined]
    assert missing == []


def test_the_rule_table_entry_points_import():
    for cells in rule_table():
        for dotted in ROLE.findall(cells[3]):
            module, _, name = dotted.rpartition(".")
            try:
                imported = importlib.import_module(dotted)
            except ImportError:
                imported = getattr(importlib.import_module(module), name)
            assert imported is not None, dotted


def test_every_test_the_page_cites_exists():
    tests = {}
    for path in ROOT.glob("tests/test_*.py"):
        for name in re.findall(r"^(?:    )?def (test_\w+)\(", path.read_text(encoding="utf-8"),
                               re.M):
            tests.setdefault(name, set()).add(path.name)
    text = page_text()
    cited = re.findall(r"``(?:tests/(test_\w+\.py)::)?(test_\w+)``", text)
    assert len(cited) > 20
    for path, name in cited:
        assert name in tests, name
        if path:
            assert path in tests[name], (path, name)
    for path in re.findall(r"``tests/(test_\w+\.py)``", text):
        assert (ROOT / "tests" / path).is_file(), path
