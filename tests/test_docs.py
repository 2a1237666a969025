"""The auditor's site (docs/): the spec's worked examples run as doctests, the site builds offline
with warnings as errors, a real headless browser shows typeset math and a traceability matrix
holding every rule, every internal link lands, and an untraced rule stops the build.

Needs the docs extra (Sphinx, sphinx-mathjax-offline) and Chromium (Debian's ``chromium``);
``.ci/run`` installs both. A missing Sphinx or Chromium fails these tests, it does not skip them.
``LIQSPEC_DOCS_HTML=path`` tests an already built site instead of building one;
``LIQSPEC_DOCS_ARTIFACTS=dir`` keeps the browser's screenshots there.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
DOCS = ROOT / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
SPEC_PAGES = sorted(p.name for p in SPEC.glob("*.rst") if p.name != "index.rst")
# Python-level network access from the build goes to a closed local port: the build is offline.
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}


def load_trace_module():
    """docs/_ext/liqspec_trace.py: the traceability data the site is built from."""
    path = DOCS / "_ext" / "liqspec_trace.py"
    spec = importlib.util.spec_from_file_location("liqspec_trace", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("liqspec_trace", module)
    spec.loader.exec_module(module)
    return module


def spec_rule_ids() -> list[str]:
    return [rule.rule_id for rule in load_trace_module().parse_spec(SPEC)]


# -- the worked examples ------------------------------------------------------------------------

def run_doctests(path: Path, globs: dict) -> tuple[doctest.DocTestRunner, str, dict]:
    test = doctest.DocTestParser().get_doctest(path.read_text(encoding="utf-8"), globs,
                                               path.relative_to(ROOT).as_posix(), str(path), 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=report.append, clear_globs=False)
    return runner, "".join(report), test.globs


@pytest.fixture(scope="module")
def example_globals() -> dict:
    """The names spec/index.rst defines for every example (the example venue EX and helpers)."""
    runner, report, globs = run_doctests(SPEC / "index.rst", {})
    assert runner.tries > 0 and runner.failures == 0, report
    return globs


@pytest.mark.parametrize("page", SPEC_PAGES)
def test_spec_examples_compute_what_they_say(page, example_globals):
    """Every ``>>>`` line of the page gives what the reference computes: the numbers in the
    examples were worked by hand from the venues' sources and the rules' formulas."""
    runner, report, _ = run_doctests(SPEC / page, dict(example_globals))
    assert runner.tries > 0, f"spec/{page} has no doctest"
    assert runner.failures == 0, report


def test_tutorial_examples_run():
    runner, report, _ = run_doctests(DOCS / "tutorial.rst", {})
    assert runner.tries > 10
    assert runner.failures == 0, report


def test_every_rule_example_is_a_doctest():
    rules = load_trace_module().parse_spec(SPEC)
    assert len(rules) > 50
    assert [r.rule_id for r in rules if not r.has_doctest] == []


# -- building the site --------------------------------------------------------------------------

def sphinx_build(source: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("sphinx") is None:
        pytest.fail("Sphinx is not installed: the docs tests need the docs extra "
                    "(pip install '.[docs]'); .ci/run installs it")
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "-q", "-b", "html",
         "-d", str(out.parent / "doctrees"), str(source), str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **OFFLINE, **(env or {})})


@pytest.fixture(scope="module")
def site(tmp_path_factory, proof_run) -> Path:
    """The built site: ``sphinx-build -W -n -b html docs <tmp>/html``, offline, showing the
    suite's proof report (``LIQSPEC_PROOF_REPORT``, as ``liqspec prove --report`` writes it)."""
    given = os.environ.get("LIQSPEC_DOCS_HTML")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("docs") / "html"
    result = sphinx_build(DOCS, out, {"LIQSPEC_PROOF_REPORT": str(proof_run.report_path)})
    assert result.returncode == 0, f"the docs build failed:\n{result.stdout}\n{result.stderr}"
    return out


class Links(HTMLParser):
    """The ids a page defines and the links and scripts it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_site_builds_with_math_served_from_the_site_itself(site):
    page = site / "spec" / "margin.html"
    scripts = parse(page).scripts
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax, "no MathJax script on a page full of formulas"
    for src in mathjax:
        assert not urlsplit(src).scheme, f"MathJax from the network: {src}"
        assert (page.parent / urlsplit(src).path).resolve().is_file(), src
    for html in site.rglob("*.html"):
        remote = [s for s in parse(html).scripts if urlsplit(s).scheme]
        assert remote == [], f"{html.relative_to(site)} loads scripts from the network: {remote}"


def test_every_internal_link_lands(site):
    """Rule blocks, the matrix, the tests page and the API link to each other and to the
    highlighted source: every such link must reach an existing page and anchor."""
    pages = {html.resolve(): parse(html) for html in site.rglob("*.html")}
    broken = []
    for page, links in pages.items():
        for href in links.hrefs:
            parts = urlsplit(href)
            if parts.scheme or href.startswith("mailto:"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.suffix != ".html":
                continue
            if target not in pages:
                broken.append(f"{page.relative_to(site.resolve())}: {href} (no page)")
            elif parts.fragment and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{page.relative_to(site.resolve())}: {href} (no anchor)")
    assert broken == [], "\n".join(broken[:20])


def test_each_rule_block_shows_its_code_tests_and_proofs(site):
    text = "".join((site / "spec" / page.replace(".rst", ".html")).read_text(encoding="utf-8")
                   for page in SPEC_PAGES)
    blocks = re.findall(r'<div class="[^"]*(?<![\w-])liqspec-rule(?![\w-])[^"]*"', text)
    assert len(blocks) == len(spec_rule_ids())
    for field in ("Reference source", "Tests", "Proofs", "Traceability"):
        assert text.count(f">{field}<") == len(spec_rule_ids()), field
    assert text.count('href="../_modules/liqspec/reference/') >= len(spec_rule_ids())


def test_proof_profile_and_api_pages_are_generated_from_the_code(site):
    from liqspec.proofs.theorems import REGISTRY
    from liqspec.reference.profiles import PROFILES

    proofs = (site / "proofs.html").read_text(encoding="utf-8")
    for theorem in REGISTRY:
        assert f'id="theorem-{theorem.id.lower()}"' in proofs, theorem.id
    profiles = (site / "profiles.html").read_text(encoding="utf-8")
    for name in PROFILES:
        assert f'id="profile-{name.replace("_", "-")}"' in profiles, name
    fast = (site / "api" / "fast.html").read_text(encoding="utf-8")
    assert 'id="liqspec.fast.position_values_quote"' in fast
    reference = (site / "api" / "reference.html").read_text(encoding="utf-8")
    for module in ("margin", "prices", "liquidation", "deleveraging", "cascade", "profiles"):
        assert f'id="module-liqspec.reference.{module}"' in reference, module


def test_proof_page_shows_the_verdicts_of_the_report_it_was_built_with(site, proof_run):
    """The proof table's verdicts are the saved report's (``liqspec prove --report``), per
    theorem, and the report itself is published beside the page."""
    import re

    from liqspec.proofs import report

    saved = report.load(proof_run.report_path)
    proofs = (site / "proofs.html").read_text(encoding="utf-8")
    assert "Verdicts from the saved report report.json" in proofs
    for theorem in saved["theorems"]:
        row = re.search(rf'id="theorem-{theorem["id"].lower()}".*?</tr>', proofs, re.S)
        assert row, theorem["id"]
        assert f'>{theorem["verdict"]}<' in row.group(0), theorem["id"]
    assert report.load(site / "proof-report.json") == saved


# -- in a real browser ----------------------------------------------------------------------------

def chromium() -> str:
    for name in (os.environ.get("LIQSPEC_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed: the docs test opens the site in a real headless "
                "browser. Install it with `apt-get install -y chromium` (.ci/run does).")


def browse(tmp_path: Path, url: str, *action: str) -> subprocess.CompletedProcess:
    """Chromium, headless, with every host name unresolvable: the page gets no network."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000",
               *action, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def keep(screenshot: Path) -> Path:
    artifacts = os.environ.get("LIQSPEC_DOCS_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / screenshot.name)
    return screenshot


def test_math_is_typeset_in_a_headless_browser_without_network(site, tmp_path):
    page = site / "spec" / "margin.html"
    formulas = page.read_text(encoding="utf-8").count('class="math')
    assert formulas > 10
    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    # MathJax replaces each formula's TeX with an <mjx-container>; a TeX error is an <mjx-merror>
    assert dom.count("<mjx-container") == formulas
    assert "<mjx-merror" not in dom
    shot = tmp_path / "spec-margin.png"
    browse(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1400,2000")
    assert keep(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    print(f"screenshot: {shot}")


def test_traceability_page_loads_with_every_rule_in_a_headless_browser(site, tmp_path):
    page = site / "traceability.html"
    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    assert "<title>Traceability matrix" in dom
    missing = [r for r in spec_rule_ids() if f'id="trace-{r.lower()}"' not in dom]
    assert missing == []
    shot = tmp_path / "traceability.png"
    browse(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1400,1600")
    assert keep(shot).stat().st_size > 50_000
    print(f"screenshot: {shot}")


# -- the build refuses an untraced rule ------------------------------------------------------------

def test_an_untraced_rule_stops_the_build(tmp_path):
    """A rule no reference function implements and no test cites must fail the docs build."""
    copy = tmp_path / "repo"
    shutil.copytree(DOCS, copy / "docs", symlinks=True, ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(SPEC, copy / "spec")
    shutil.copytree(ROOT / "tests", copy / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    orphan = "-".join(("LIQ", "UNTRACED", "1"))  # assembled, so this file does not cite it
    with open(copy / "spec" / "units.rst", "a", encoding="utf-8") as page:
        page.write(f"\n.. _{orphan}:\n\n{orphan}: Nothing implements this\n"
                   f"{'-' * (len(orphan) + 25)}\n\n.. rule:: {orphan}\n\n"
                   ":Statement: Nothing.\n")
    result = sphinx_build(copy / "docs", tmp_path / "out" / "html")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{orphan} is untraced: no reference function" in output, output[-2000:]
    assert f"{orphan} is untraced: no test" in output, output[-2000:]
