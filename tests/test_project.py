"""The project keeps its promises: two set-up commands, CI runs the README's test command, tests
import the installed build, and the CI profile runs the stateful machine at least 200 times."""

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
