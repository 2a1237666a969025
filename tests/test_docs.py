"""The auditor's site (docs/): the spec's worked examples run as doctests, the site builds offline
with warnings as errors, a real headless browser shows typeset math, a traceability matrix
holding every rule and rule blocks that fit their frame at 1280 px, searching a rule ID finds its
definition first, the proof page says what each theorem is about and what is not proved, every
internal link lands, and an untraced rule stops the build.

The site is built once for this module, with a proof report of two quick theorems proved for it
(tests/test_proofs.py proves them all).

Needs the docs extra (Sphinx, sphinx-mathjax-offline) and Chromium (Debian's ``chromium``);
``.ci/run`` installs both. A missing Sphinx or Chromium fails these tests, it does not skip them.
``LIQSPEC_DOCS_HTML=path`` tests an already built site instead of building one;
``LIQSPEC_DOCS_ARTIFACTS=dir`` keeps the browser's screenshots there.
"""

from __future__ import annotations

import dataclasses
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


def load_ext_module(name: str):
    """A module of docs/_ext, the code the site is built with."""
    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def load_trace_module():
    """docs/_ext/liqspec_trace.py: the traceability data the site is built from."""
    return load_ext_module("liqspec_trace")


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


#: the theorems the site's proof report holds: two quick ones, so the docs tests do not wait for
#: every theorem (tests/test_proofs.py proves them all); the rest show "not in the report"
REPORTED_THEOREMS = ("T-CEIL-LEMMA", "T-MM-POSITIVE")


@pytest.fixture(scope="module")
def docs_proof_report(tmp_path_factory) -> Path:
    """A real proof report, as ``liqspec prove T-CEIL-LEMMA T-MM-POSITIVE --report FILE`` writes
    it."""
    from liqspec.proofs import prover, report

    results = prover.prove_all(prover.select(list(REPORTED_THEOREMS)))
    built = report.build(results, sum(r.seconds for r in results), jobs=1)
    return report.write(built, tmp_path_factory.mktemp("proofs") / "report.json")


@pytest.fixture(scope="module")
def site(tmp_path_factory, docs_proof_report) -> Path:
    """The built site, once for the module: ``sphinx-build -W -n -b html docs <tmp>/html``,
    offline, showing a proof report (``LIQSPEC_PROOF_REPORT``, as ``liqspec prove --report``
    writes it)."""
    given = os.environ.get("LIQSPEC_DOCS_HTML")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("docs") / "html"
    result = sphinx_build(DOCS, out, {"LIQSPEC_PROOF_REPORT": str(docs_proof_report)})
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
    # every profile's parameters with their basis, sources and read date
    assert profiles.count("Where each parameter comes from") == len(PROFILES)
    assert profiles.count('class="liqspec-provenance') == len(PROFILES)
    assert "<td><p>ETHUSDT.tiers</p></td>\n<td><p>assumption</p></td>" in profiles
    fast = (site / "api" / "fast.html").read_text(encoding="utf-8")
    assert 'id="liqspec.fast.position_values_quote"' in fast
    reference = (site / "api" / "reference.html").read_text(encoding="utf-8")
    for module in ("margin", "prices", "liquidation", "deleveraging", "cascade", "profiles"):
        assert f'id="module-liqspec.reference.{module}"' in reference, module


def text_of(page: str) -> str:
    """A page's text: tags dropped, entities decoded, white space collapsed."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def proof_row(proofs: str, theorem_id: str) -> str:
    row = re.search(rf'id="theorem-{theorem_id.lower()}".*?</tr>', proofs, re.S)
    assert row, theorem_id
    return row.group(0)


def test_proof_page_shows_the_verdicts_of_the_report_it_was_built_with(site,
                                                                        docs_proof_report):
    """The proof table's verdicts are the saved report's (``liqspec prove --report``), per
    theorem, a theorem the report lacks says so, and the report is published beside the page."""
    from liqspec.proofs import report
    from liqspec.proofs.theorems import REGISTRY

    saved = report.load(docs_proof_report)
    assert {t["id"] for t in saved["theorems"]} == set(REPORTED_THEOREMS)
    proofs = (site / "proofs.html").read_text(encoding="utf-8")
    assert "Verdicts from the saved report report.json" in proofs
    for theorem in saved["theorems"]:
        assert f'>{theorem["verdict"]}<' in proof_row(proofs, theorem["id"]), theorem["id"]
    for theorem in REGISTRY:
        if theorem.id not in REPORTED_THEOREMS:
            assert "not in the report" in proof_row(proofs, theorem.id), theorem.id
    page = text_of(proofs)
    for key, value in saved.items():  # what the run records (source, commit, z3 version, ...)
        if isinstance(value, str) and value:
            assert f"{key.replace('_', ' ')}: {value}" in page, key
        elif isinstance(value, int) and not isinstance(value, bool):
            assert f"{key.replace('_', ' ')}: {value:,}" in page, key
    assert report.load(site / "proof-report.json") == saved


def test_proof_page_says_what_each_theorem_is_about(site):
    """Each theorem's row names every parameter domain the prover runs it over (as
    ``domains_for`` chooses them), its kind, what it assumes, and links to its source, which
    the page shows; the bounded cascade check says it is bounded."""
    import html

    from liqspec.proofs.theorems import REGISTRY, domains_for

    proofs = (site / "proofs.html").read_text(encoding="utf-8")
    for theorem in REGISTRY:
        row = html.unescape(proof_row(proofs, theorem.id))
        for params in domains_for(theorem):
            if params is not None:
                assert params.name.removeprefix("generic") in row, (theorem.id, params.name)
        assert "Assumes:" in row, theorem.id
        label = f"source-theorem-{theorem.id.lower()}"
        assert f'href="#{label}"' in row, theorem.id
        source = re.search(rf'id="{label}".*?</pre>', proofs, re.S)
        assert source and f"def {theorem.build.__name__}(" in html.unescape(
            re.sub(r"<[^>]+>", "", source.group(0))), theorem.id
    assert "bounded model check" in proof_row(proofs, "T-CASCADE-BMC")
    assert "inductive step" in proof_row(proofs, "T-DEPOSIT")
    assert "1 generic policy mix" in proof_row(proofs, "T-SOCIALIZE")


def test_proof_page_and_tutorial_say_what_is_not_proved(site):
    """The page states that verdicts are about encodings tied by fidelity checks, lists what no
    theorem proves, and lists every rule no theorem covers; the tutorial no longer claims the
    proofs run over the reference's own arithmetic."""
    trace = load_trace_module().collect(ROOT)
    proofs = re.sub(r"\s+", " ", (site / "proofs.html").read_text(encoding="utf-8"))
    for phrase in ("encodings", "fidelity check", "What is not proved", "int64",
                   "Isolated accounts", "ranking scores", "book walk", "Tier switching",
                   "Mutants no theorem catches"):
        assert phrase in proofs, phrase
    gaps = text_of(proofs[proofs.index("What is not proved"):])
    for rule in trace.rules:
        if not trace.theorems_for(rule.rule_id):
            assert f"{rule.rule_id} {rule.title}" in gaps, rule.rule_id
    tutorial = (site / "tutorial.html").read_text(encoding="utf-8")
    assert "reference’s own arithmetic" not in tutorial
    assert "reference's own arithmetic" not in (DOCS / "tutorial.rst").read_text()
    assert "encodings" in tutorial


def test_proof_scope_stops_the_build_on_a_theorem_without_stated_assumptions():
    scope_module = load_ext_module("liqspec_proof_scope")
    scopes, why = scope_module.collect()
    assert why == "" and scope_module.problems(scopes) == []
    unstated = dataclasses.replace(scopes[0], assumes="")
    assert scope_module.problems([unstated, *scopes[1:]]) == [
        f"theorem {unstated.theorem_id}: the proof page does not say what it assumes (add it to "
        "ASSUMES in docs/_ext/liqspec_proof_scope.py)"]
    gone = [s for s in scopes if s.theorem_id != "T-DEPOSIT"]
    assert scope_module.problems(gone) == [
        "ASSUMES in docs/_ext/liqspec_proof_scope.py names T-DEPOSIT, which is no theorem"]


def test_the_proof_page_shows_the_plain_fields_a_report_records():
    """Whatever the prover records (a commit, the z3 version, a resource limit and its use, a
    fidelity campaign), the page shows as ``name: value``; nested records are left to the
    table."""
    for name in ("liqspec_trace", "liqspec_proof_scope", "liqspec_proofs_report"):
        load_ext_module(name)
    docs = load_ext_module("liqspec_docs")
    entry = {"id": "T-X", "verdict": "PROVED", "commit": None, "z3_version": "4.13.0",
             "rlimit": 20_000_000, "fidelity": {"operations": ["deposit"], "cases": 60,
                                                "drift": ""},
             "schedule": ["incremental", "fresh"], "obligations": [{"domain": "binance_usdm"}],
             "theorems": [{"id": "T-X"}], "detail": ""}
    assert docs._scalar_items(entry, {"id", "verdict", "obligations"}) == [
        ("commit", "none"), ("z3_version", "4.13.0"), ("rlimit", "20,000,000"),
        ("fidelity.operations", "deposit"), ("fidelity.cases", "60"),
        ("schedule", "incremental, fresh")]


def test_matrix_separates_checks_fast_path_tests_and_mentions(site):
    """A test of the reference that names a rule is in the first test column, a test of
    liqspec.fast in the second, a test that cites the rule only in its body in the third."""
    trace = load_trace_module()
    data = trace.collect(ROOT)
    matrix = (site / "traceability.html").read_text(encoding="utf-8")
    for header in ("Tests that check it on the reference", "Fast-path tests", "Mentions"):
        assert f"<p>{header}</p>" in matrix, header
    for rule in data.rules:
        row = re.search(rf'id="trace-{rule.rule_id.lower()}".*?</tr>', matrix, re.S).group(0)
        cells = re.findall(r"<td.*?</td>", row, re.S)  # after the rule's own cell
        assert len(cells) == 6, rule.rule_id
        for column, kind in ((1, trace.CHECKS), (2, trace.FAST_PATH), (3, trace.MENTIONS)):
            for test in data.tests_of_kind(rule.rule_id, kind):
                assert f'href="tests.html#{test.label}"' in cells[column], (rule.rule_id, test)


# -- navigation --------------------------------------------------------------------------------

def spec_chapters() -> list[str]:
    """The chapters spec/index.rst's toctree lists, in order."""
    text = (SPEC / "index.rst").read_text(encoding="utf-8")
    block = text[text.index(".. toctree::"):]
    return re.findall(r"^   (\w+)$", block, re.M)


def test_every_page_lists_the_spec_chapters_in_its_sidebar_and_the_home_page_too(site):
    chapters = spec_chapters()
    assert sorted(chapters) == sorted(p.removesuffix(".rst") for p in SPEC_PAGES)
    for page in ("index.html", "proofs.html", "tutorial.html", "spec/margin.html",
                 "api/reference.html"):
        text = (site / page).read_text(encoding="utf-8")
        sidebar = text[text.index('<div class="sphinxsidebar"'):]
        prefix = "../" if "/" in page else ""
        hrefs = re.findall(r'href="([^"#]+)"', sidebar)
        listed = [h for h in hrefs if h.startswith(f"{prefix}spec/") or
                  (page.startswith("spec/") and re.fullmatch(r"\w+\.html", h))]
        names = [Path(h).stem for h in listed] + [Path(page).stem]  # its own: href="#"
        assert [c for c in chapters if c not in names] == [], page
    home = (site / "index.html").read_text(encoding="utf-8")
    body = home[home.index('<div class="body"'):home.index('<div class="sphinxsidebar"')]
    assert [c for c in chapters if f'href="spec/{c}.html"' not in body] == []


def test_long_chapters_have_an_in_page_contents(site):
    """A chapter of four sections or more, or over 300 lines, opens with a local contents."""
    for page in SPEC_PAGES:
        source = (SPEC / page).read_text(encoding="utf-8")
        sections = len(re.findall(r"^(-{3,}|={3,})$", source, re.M))
        if sections < 4 and source.count("\n") <= 300:
            continue
        html = (site / "spec" / page.replace(".rst", ".html")).read_text(encoding="utf-8")
        assert re.search(r'class="contents local[^"]*"', html), page


def test_every_rule_id_is_in_the_general_index_pointing_at_its_definition(site):
    """The general index lists every rule ID once, as a main entry, linked to the rule's own
    section (searching the ID then ranks that definition first: see the browser test)."""
    import html

    index = (site / "genindex.html").read_text(encoding="utf-8")
    for rule in load_trace_module().parse_spec(SPEC):
        entry = re.search(rf"<li>\s*{rule.rule_id}\s*<ul>\s*<li><a href=\"([^\"]+)\">"
                          rf"<strong>([^<]+)</strong>", index)
        assert entry, rule.rule_id
        assert entry.group(1) == f"spec/{rule.page}.html#{rule.rule_id.lower()}"
        assert html.unescape(entry.group(2)) == rule.title


def test_no_paragraph_of_the_spec_repeats_the_one_before():
    """A stray label pasted several times (LIQ-PRICE-2's example once read "Isolated:" four
    times in a row) is a copy slip."""
    for page in sorted(SPEC.glob("*.rst")):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", page.read_text(encoding="utf-8"))]
        repeats = [a for a, b in zip(paragraphs, paragraphs[1:]) if a and a == b]
        assert repeats == [], f"{page.name}: {repeats}"


# -- in a real browser ----------------------------------------------------------------------------

def chromium() -> str:
    for name in (os.environ.get("LIQSPEC_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed: the docs test opens the site in a real headless "
                "browser. Install it with `apt-get install -y chromium` (.ci/run does).")


def browse(tmp_path: Path, url: str, *action: str,
           budget_ms: int = 15_000) -> subprocess.CompletedProcess:
    """Chromium, headless, with every host name unresolvable: the page gets no network."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
               "--host-resolver-rules=MAP * ~NOTFOUND", f"--virtual-time-budget={budget_ms}",
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


#: measures every rule block of the spec pages framed beside it, once MathJax has typeset them
MEASURE_RULE_BLOCKS = """<script>
window.addEventListener("load", function () {
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe"));
  Promise.all(frames.map(function (frame) {
    var w = frame.contentWindow;
    return (w.MathJax && w.MathJax.startup && w.MathJax.startup.promise) || Promise.resolve();
  })).then(function () {
    var boxes = [];
    frames.forEach(function (frame) {
      var page = frame.contentDocument;
      var body = page.querySelector("div.body").getBoundingClientRect();
      page.querySelectorAll("div.liqspec-rule").forEach(function (box) {
        var id = box.querySelector("p.liqspec-rule-id");
        boxes.push({page: frame.getAttribute("src"), id: id ? id.textContent.trim() : "?",
                    scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
                    right: box.getBoundingClientRect().right, frameRight: body.right});
      });
    });
    var out = document.createElement("pre");
    out.id = "liqspec-measured";
    out.textContent = JSON.stringify(boxes);
    document.body.appendChild(out);
  });
});
</script>"""


def test_no_rule_block_overflows_its_frame_at_1280px(site, tmp_path):
    """In a 1280 px wide window every rule block fits its frame: nothing inside it is wider than
    the block (which would clip normative text), and the block ends inside the page's body. Long
    test names used to be kept on one line and pushed 55 of 71 blocks past their frame. One
    browser measures every spec page, each in a 1280 px frame of a page written beside them."""
    import html
    import json

    frames = "".join(f'<iframe src="spec/{page.replace(".rst", ".html")}" '
                     'style="width:1280px;height:900px;border:0"></iframe>'
                     for page in SPEC_PAGES)
    probe = site / "measure-rule-blocks.html"
    probe.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
                     f"<body style='margin:0'>{frames}{MEASURE_RULE_BLOCKS}</body></html>",
                     encoding="utf-8")
    try:
        dom = browse(tmp_path, probe.as_uri(), "--dump-dom", "--window-size=1300,2000",
                     "--allow-file-access-from-files", budget_ms=60_000).stdout
    finally:
        probe.unlink()
    found = re.search(r'<pre id="liqspec-measured">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    measured = json.loads(html.unescape(found.group(1)))
    assert len(measured) == len(spec_rule_ids())
    overflowing = [f"{b['page']} {b['id']}: content {b['scrollWidth']} px in "
                   f"{b['clientWidth']} px, right edge {b['right']:.0f} px, frame "
                   f"{b['frameRight']:.0f} px" for b in measured
                   if b["scrollWidth"] > b["clientWidth"] or b["right"] > b["frameRight"] + 1]
    assert overflowing == [], "\n".join(overflowing)
    shot = tmp_path / "spec-trading-1280.png"
    browse(tmp_path, (site / "spec" / "trading.html").as_uri(), f"--screenshot={shot}",
           "--window-size=1280,1800")
    assert keep(shot).stat().st_size > 50_000


def test_searching_a_rule_id_lists_its_definition_first(site, tmp_path):
    """Sphinx's own search page, in a browser: the first hit for a rule ID is the rule's
    definition, not one of the pages that mention it."""
    for rule_id, page in (("LIQ-FEE-1", "liquidation"), ("LIQ-INV-3", "invariants")):
        url = f"{(site / 'search.html').as_uri()}?q={rule_id}"
        dom = browse(tmp_path, url, "--dump-dom").stdout
        hits = re.findall(r'<li class="[^"]*"><a href="([^"]+)"', dom)
        assert hits, f"no search results for {rule_id}"
        assert hits[0] == f"spec/{page}.html#{rule_id.lower()}", hits[:3]


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
