"""The project keeps its promises: two set-up commands, CI runs the README's test command, tests
import the installed build, the CI profile runs the stateful machine at least 200 times, and the
engine and the proofs stand on the reference alone, never on the command's package."""

import ast
import os
import re
from pathlib import Path

import liqspec
import liqspec.reference
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert "pip install ." in commands[0] and "liqspec" in commands[0].split("&&")[-1]
    assert commands[1] == "./scripts/test"
    script = (ROOT / "scripts" / "test").read_text()
    assert 'pip install --quiet ".[test]"' in script and "exec .venv/bin/pytest" in script
    assert "apt-get install" in script and "chromium" in script  # the docs test's browser


def test_ci_runs_the_readme_test_command():
    assert setup_commands()[1] in (ROOT / ".ci" / "run").read_text()


def test_tests_import_the_installed_build_not_the_source_tree():
    for module in (liqspec, liqspec.reference):
        assert "site-packages" in Path(module.__file__).parts, module.__file__


def test_ci_profile_runs_at_least_200_stateful_sequences():
    ci = settings.get_profile("ci")
    assert ci.max_examples >= 200 and ci.derandomize
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        assert settings.default.max_examples == ci.max_examples
        assert settings.default.derandomize


#: the parts that must not depend on the ``liqspec`` command's package (src/liqspec)
BELOW_THE_COMMAND = ("fast", "proofs")


#: packages under src/liqspec that are not the command: the conformance kit (its protocol and
#: operation catalogue), which liqspec.fast serves as the kit's first engine (fast/conform.py)
NOT_THE_COMMAND = ("conformance",)


def command_modules() -> set[str]:
    """The modules and subpackages of the command's package (src/liqspec), by name."""
    return {path.stem if path.is_file() else path.name
            for path in (ROOT / "src" / "liqspec").iterdir()
            if (path.suffix == ".py" and path.stem != "__init__")
            or (path.is_dir() and (path / "__init__.py").exists()
                and path.name not in NOT_THE_COMMAND)}


def imported_liqspec_modules(path: Path) -> set[str]:
    """Every ``liqspec.X`` a source file imports (at module level or inside a function), as X;
    ``from liqspec import X, Y`` counts X and Y. Cython files are read by pattern."""
    text = path.read_text()
    found: set[str] = set()
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = ([f"{node.module}.{alias.name}" for alias in node.names]
                         if node.module == "liqspec" else [node.module])
            else:
                continue
            found |= {name.split(".")[1] for name in names
                      if name.startswith("liqspec.") and name.count(".") >= 1}
    else:
        found |= set(re.findall(r"^\s*(?:from|c?import)\s+liqspec\.(\w+)", text, re.M))
        for group in re.findall(r"^\s*from\s+liqspec\s+c?import\s+\(?([\w, ]+)", text, re.M):
            found |= {name.strip() for name in group.split(",") if name.strip()}
    return found


def test_the_engine_and_the_proofs_do_not_import_the_command_package():
    """fast/ and proofs/ depend on the reference (and on liqspec.codec and liqspec.testing,
    which live beside it), never on a module of src/liqspec: the house is drawn with the
    command on top. (``import liqspec`` itself, for the installed location, is the namespace.)"""
    command = command_modules()
    assert {"cli", "simulate", "statefile", "scenario"} <= command  # the scan sees the package
    assert not {"codec", "testing"} & command  # they live beside the reference
    offenders = {}
    for part in BELOW_THE_COMMAND:
        for path in sorted((ROOT / part).rglob("*")):
            if path.suffix in (".py", ".pyx", ".pxd", ".pxi"):
                bad = imported_liqspec_modules(path) & command
                if bad:
                    offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_import_scan_sees_every_form_of_import(tmp_path):
    """The scan above is not vacuous: each form of import of a command module is found."""
    source = tmp_path / "m.py"
    source.write_text("import liqspec.cli\nfrom liqspec import statefile, codec\n"
                      "def f():\n    from liqspec.scenario import parse_toml\n")
    assert imported_liqspec_modules(source) == {"cli", "statefile", "codec", "scenario"}
    cython = tmp_path / "m.pyx"
    cython.write_text("from liqspec.simulate import x\nfrom liqspec import (plots, reference)\n")
    assert imported_liqspec_modules(cython) == {"simulate", "plots", "reference"}
