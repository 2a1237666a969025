"""Sphinx extension for the liqspec site: rule blocks, the traceability matrix, the tests and
proof pages, and the venue profiles, all generated from the code at build time.

* ``.. rule:: LIQ-AREA-n`` renders the field list that follows it as a rule block: its ID, the
  fields, links from the Reference field to the API, the reference source, the tests that cite
  the rule, the theorems that cover it, and its row in the traceability matrix.
* ``.. traceability-matrix::``, ``.. test-sources::``, ``.. proof-report::`` and
  ``.. venue-profiles::`` write those pages from :mod:`liqspec_trace`,
  :mod:`liqspec_proofs_report` and ``liqspec.reference.profiles.profile_summary``.

The build fails (``ExtensionError``) when a rule is untraced: no reference function, or no test.
Every link is a cross-reference Sphinx resolves, so with ``-n -W`` a dangling one fails it too.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

import liqspec_proof_scope
import liqspec_proofs_report
import liqspec_trace

logger = logging.getLogger(__name__)

DOTTED = re.compile(r"^liqspec\.[A-Za-z_][\w.]*$")
VERDICT_CLASS = {"PROVED": "proved"}  # every other verdict is a failure

# Built once per build in builder-inited; directives and transforms read it (forked parallel
# readers inherit it).
_TRACE: liqspec_trace.Trace | None = None
_REPORT: dict | None = None
_REPORT_SOURCE = ""
_SCOPES: list[liqspec_proof_scope.Scope] = []


def trace() -> liqspec_trace.Trace:
    assert _TRACE is not None, "liqspec_docs: builder-inited did not run"
    return _TRACE


# -- small node builders ------------------------------------------------------------------------

def ref(label: str, text: str, literal: bool = False) -> addnodes.pending_xref:
    """A :ref: to ``label`` with explicit text (resolved, or warned about, by Sphinx)."""
    node = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=label.lower(),
                                 refexplicit=True, refwarn=True)
    node += nodes.literal(text, text) if literal else nodes.inline(text, text)
    return node


def compact_list(items: list[nodes.Node]) -> nodes.bullet_list:
    """One item per line, for long lists in table cells."""
    listing = nodes.bullet_list(classes=["simple", "liqspec-compact"])
    for item in items:
        listing += nodes.list_item("", nodes.paragraph("", "", item))
    return listing


def api_ref(qualified: str, text: str) -> addnodes.pending_xref:
    """A link to the API entry of a Python object."""
    node = addnodes.pending_xref("", refdomain="py", reftype="obj", reftarget=qualified,
                                 refexplicit=True, refwarn=True)
    node += nodes.literal(text, text, classes=["xref", "py", "py-obj"])
    return node


def canonical(qualified: str) -> tuple[str, str, str]:
    """(module, qualname, canonical dotted name) of the object a dotted name resolves to."""
    target = liqspec_trace.resolve(qualified)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not module or not qualname:
        module, _, qualname = qualified.rpartition(".")
    return module, qualname, f"{module}.{qualname}"


SOURCE_LINK = "liqspec-source"


def make_source_link(qualified: str) -> addnodes.pending_xref:
    """A link to a function on sphinx.ext.viewcode's highlighted page of its module, resolved by
    :func:`resolve_source_link` (viewcode gives that page an anchor per documented object)."""
    module, qualname, _ = canonical(qualified)
    text = f"{module.rpartition('.')[2]}.py: {qualname}"
    node = addnodes.pending_xref("", refdomain="", reftype=SOURCE_LINK, refexplicit=True,
                                 refwarn=True, reftarget="_modules/" + module.replace(".", "/"),
                                 refanchor=qualname)
    node += nodes.literal(text, text)
    return node


def resolve_source_link(app: Sphinx, env, node: addnodes.pending_xref,
                        contnode: nodes.Element) -> nodes.Element | None:
    if node["reftype"] != SOURCE_LINK:
        return None
    if app.builder.format != "html":  # no highlighted source off HTML: the name alone
        return contnode
    return make_refnode(app.builder, node["refdoc"], node["reftarget"], node["refanchor"],
                        contnode)


def join(items: list[nodes.Node], separator: str = ", ") -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for index, item in enumerate(items):
        if index:
            out.append(nodes.Text(separator))
        out.append(item)
    return out


def field(name: str, *body: nodes.Node) -> nodes.field:
    return nodes.field("", nodes.field_name(name, name), nodes.field_body("", *body))


def verdict_node(verdict: str) -> nodes.Node:
    return nodes.inline(verdict, verdict,
                        classes=["liqspec-verdict", VERDICT_CLASS.get(verdict, "failed")])


def theorem_verdicts() -> dict[str, str]:
    return {t["id"]: t["verdict"] for t in (_REPORT or {}).get("theorems", [])}


def table(header: list[str], rows: list[list[list[nodes.Node] | str]], widths: list[int],
          classes: tuple[str, ...] = ()) -> nodes.table:
    tbl = nodes.table(classes=["colwidths-given", *classes])
    group = nodes.tgroup(cols=len(header))
    tbl += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for title in header:
        row += nodes.entry("", nodes.paragraph(title, title))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            if isinstance(cell, nodes.Body):  # a block (a list), as it is
                row += nodes.entry("", cell)
                continue
            content = [nodes.Text(cell)] if isinstance(cell, str) else cell
            row += nodes.entry("", nodes.paragraph("", "", *content))
        body += row
    return tbl


def target(document: nodes.document, label: str) -> nodes.target:
    """An explicit hyperlink target that :ref: can reach (with an explicit title)."""
    node = nodes.target("", "", ids=[label], names=[label])
    document.note_explicit_target(node)
    return node


# -- the rule block -----------------------------------------------------------------------------

class pending_rule(nodes.Element):
    """Where a ``.. rule::`` stood; :class:`RuleBlocks` replaces it before writing."""


class RuleDirective(SphinxDirective):
    """``.. rule:: LIQ-AREA-n``: the marker before a rule's field list."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        rule_id = self.arguments[0]
        if not liqspec_trace.RULE_ID.fullmatch(rule_id):
            raise self.error(f"malformed rule ID {rule_id!r}")
        node = pending_rule(rule_id=rule_id)
        self.set_source_info(node)
        return [node]


class RuleBlocks(SphinxTransform):
    """Wrap each rule's field list in a rule block and add its code, tests and proofs."""

    default_priority = 400

    def apply(self, **kwargs: object) -> None:
        for marker in list(self.document.findall(pending_rule)):
            rule_id = marker["rule_id"]
            parent = marker.parent
            index = parent.index(marker)
            fields = parent[index + 1] if index + 1 < len(parent) else None
            if not isinstance(fields, nodes.field_list):
                logger.warning("rule %s: a field list must follow '.. rule::'", rule_id,
                               location=marker)
                parent.remove(marker)
                continue
            parent.remove(fields)
            box = nodes.container(classes=["liqspec-rule"])
            index_entry = rule_index_entry(marker)
            if index_entry is not None:
                box += index_entry
            header = nodes.paragraph(classes=["liqspec-rule-id"])
            header += ref(rule_id, rule_id)
            box += header
            link_reference_field(fields)
            fields.extend(traceability_fields(rule_id))
            box += fields
            marker.replace_self(box)


def rule_index_entry(marker: pending_rule) -> addnodes.index | None:
    """The rule's entry in the general index, pointing at its own definition: its ID, with its
    title as the sub-entry, marked as the main entry. The search page ranks a main index entry
    that the query matches exactly above every page that merely mentions the ID."""
    rule_id = marker["rule_id"]
    section = marker.parent
    while section is not None and not isinstance(section, nodes.section):
        section = section.parent
    if section is None or not section["ids"]:
        logger.warning("rule %s: a rule must stand in its own section", rule_id, location=marker)
        return None
    anchor = rule_id.lower() if rule_id.lower() in section["ids"] else section["ids"][0]
    title = next((r.title for r in (_TRACE.rules if _TRACE else []) if r.rule_id == rule_id), "")
    text = f"{rule_id}; {title}" if title else rule_id
    return addnodes.index(entries=[("single", text, anchor, "main", None)], inline=False)


class RuleIdLinks(SphinxTransform):
    """Link every rule ID in running text (spec prose, docstrings, pages) to its rule."""

    default_priority = 410
    SKIP = (nodes.literal, nodes.literal_block, nodes.doctest_block, nodes.title,
            nodes.reference, nodes.target, nodes.raw, nodes.comment, nodes.math,
            nodes.math_block, nodes.field_name, addnodes.pending_xref, addnodes.desc_signature)

    def apply(self, **kwargs: object) -> None:
        if _TRACE is None:
            return
        known = {rule.rule_id for rule in _TRACE.rules}
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or any(isinstance(a, self.SKIP) for a in _ancestors(text)):
                continue
            value = str(text)
            pieces: list[nodes.Node] = []
            last = 0
            for match in liqspec_trace.RULE_ID.finditer(value):
                if match.group(0) not in known:
                    continue
                pieces.append(nodes.Text(value[last:match.start()]))
                pieces.append(ref(match.group(0), match.group(0)))
                last = match.end()
            if pieces:
                pieces.append(nodes.Text(value[last:]))
                parent.replace(text, [p for p in pieces if not (isinstance(p, nodes.Text)
                                                               and not str(p))])


def _ancestors(node: nodes.Node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def link_reference_field(fields: nodes.field_list) -> None:
    """Turn the dotted names of the Reference field into links to their API entries."""
    for item in fields.findall(nodes.field):
        if item[0].astext() != "Reference":
            continue
        for literal in list(item[1].findall(nodes.literal)):
            text = literal.astext()
            if DOTTED.match(text):
                literal.replace_self(api_ref(canonical(text)[2], text))


def theorem_links(rule_id: str) -> list[nodes.Node] | None:
    """Links to the theorems covering a rule, each with its verdict when this build has a
    proof report; None when liqspec.proofs has no registry."""
    data = trace()
    if data.theorems is None:
        return None
    verdicts = theorem_verdicts()
    out: list[nodes.Node] = []
    for thm in data.theorems_for(rule_id):
        if out:
            out.append(nodes.Text(", "))
        out.append(ref(thm.label, thm.theorem_id, literal=True))
        if thm.theorem_id in verdicts:
            out += [nodes.Text(" "), verdict_node(verdicts[thm.theorem_id])]
    return out


def traceability_fields(rule_id: str) -> list[nodes.field]:
    data = trace()
    sources = [make_source_link(name) for name in data.functions[rule_id]]
    tests = [ref(t.label, t.display, literal=True)
             for t in data.tests_of_kind(rule_id, liqspec_trace.CHECKS)]
    others = [ref(t.label, t.display, literal=True) for t in data.tests[rule_id]
              if t.kind(rule_id) != liqspec_trace.CHECKS]
    proofs = theorem_links(rule_id)
    if proofs is None:
        proofs = [nodes.emphasis("", f"not there yet: {data.theorems_missing}")]
    elif not proofs:
        proofs = [nodes.emphasis("", "no theorem covers this rule")]
    return [
        field("Reference source", nodes.paragraph("", "", *join(sources))),
        field("Tests", nodes.paragraph("", "", *(join(tests) or [nodes.emphasis(
            "", "none names this rule; see the citations below")]))),
        *([field("Also cited by", nodes.paragraph("", "", *join(others)))] if others else []),
        field("Proofs", nodes.paragraph("", "", *proofs)),
        field("Traceability", nodes.paragraph("", "", ref(f"trace-{rule_id}",
                                                          "its row in the matrix"))),
    ]


TEST_KINDS = (liqspec_trace.CHECKS, liqspec_trace.FAST_PATH, liqspec_trace.MENTIONS)


# -- the traceability matrix and the tests page ------------------------------------------------

class TraceabilityMatrix(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        data = trace()
        rows = []
        for rule in data.rules:
            rule_id = rule.rule_id
            first = [target(self.state.document, rule.matrix_label), ref(rule_id, rule_id),
                     nodes.Text(f" {rule.title}")]
            functions = [api_ref(canonical(n)[2], canonical(n)[2].removeprefix("liqspec."))
                         for n in data.functions[rule_id]]
            tests = [compact_list([ref(t.label, t.display)
                                   for t in data.tests_of_kind(rule_id, kind)])
                     for kind in TEST_KINDS]
            theorems = theorem_links(rule_id)
            if theorems is None:
                theorems = [nodes.Text("not there yet")]
            elif not theorems:
                theorems = [nodes.Text("none")]
            example = "doctest" if rule.has_doctest else "prose only"
            rows.append([first, compact_list(functions), *tests, theorems, example])
        summary = nodes.paragraph()
        with_theorem = sum(1 for r in data.rules if data.theorems_for(r.rule_id))
        counts = {kind: sum(len(data.tests_of_kind(r.rule_id, kind)) for r in data.rules)
                  for kind in TEST_KINDS}
        unchecked = [r.rule_id for r in data.rules
                     if not data.tests_of_kind(r.rule_id, liqspec_trace.CHECKS)]
        summary += nodes.Text(
            f"{len(data.rules)} rules, every one with a reference function and at least one "
            f"test (a rule without either fails this build); "
            f"{len(data.test_sources)} test functions, classes and modules cite them. "
            f"The tests are in three columns: {counts[liqspec_trace.CHECKS]} citations by tests "
            "that check the rule on the reference (the rule's ID is in the test's name or "
            f"docstring); {counts[liqspec_trace.FAST_PATH]} by tests of liqspec.fast against "
            f"the reference; {counts[liqspec_trace.MENTIONS]} mentions (module text, helpers, "
            "tests of the proofs and the tooling, and tests that cite the rule only in their "
            "body). ")
        summary += nodes.Text(
            f"Rules no test checks by name: {', '.join(unchecked)}. " if unchecked
            else "Every rule has at least one test that checks it on the reference. ")
        if data.theorems is None:
            summary += nodes.Text(f"Theorems: not there yet ({data.theorems_missing}).")
        else:
            summary += nodes.Text(f"{len(data.theorems)} theorems cover {with_theorem} of the "
                                  "rules.")
        matrix = table(["Rule", "Reference functions", "Tests that check it on the reference",
                        "Fast-path tests", "Mentions", "Theorems", "Example"], rows,
                       [13, 19, 22, 13, 13, 12, 8], classes=("liqspec-matrix",))
        return [summary, matrix]


class TestSources(SphinxDirective):
    """Every test (function, class or module text) that cites a rule, with its source."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        current_file = None
        for source in trace().test_sources:
            if source.path != current_file:
                current_file = source.path
                heading = nodes.rubric(source.path, source.path, classes=["liqspec-test-file"])
                out.append(heading)
            item = nodes.container(classes=["liqspec-test"])
            title = nodes.paragraph(classes=["liqspec-test-name"])
            title += target(self.state.document, source.label)
            name = source.name or "module text (docstring, comments, shared tables)"
            title += nodes.literal(name, name)
            title += nodes.Text(f"  line {source.lineno}: cites " if source.name else ": cites ")
            known = {rule.rule_id for rule in trace().rules}
            title.extend(join([ref(r, r) if r in known else nodes.Text(r)
                               for r in source.rule_ids]))
            item += title
            if source.name:
                item += nodes.literal_block(source.source, source.source, language="python",
                                            linenos=True,
                                            highlight_args={"linenostart": source.lineno})
            else:  # the citing lines of the module's text, numbered
                item += nodes.literal_block(source.source, source.source, language="text")
            out.append(item)
        return out


# -- the proof report ---------------------------------------------------------------------------

VERDICT_MEANING = {
    "PROVED": "z3 showed there is no counterexample: the assumptions and the negated goal "
              "cannot hold together.",
    "COUNTEREXAMPLE": "z3 found a state and arguments that satisfy the assumptions and break "
                      "the goal; it is printed as a scenario that replays in the reference "
                      "(liqspec prove --save-counterexamples writes it as a regression vector).",
    "VACUOUS": "the assumptions cannot hold together, so the theorem would prove anything.",
    "UNKNOWN": "z3 gave no answer within the obligation's limit.",
    "DRIFTED": "the encodings the theorem uses no longer compute what the installed reference "
               "computes: the fidelity check found a case where they differ, and prints it.",
    "ERROR": "the check did not finish (a hung process stopped by the wall-clock guard, or a "
             "crash): an error, not a verdict.",
}
#: report keys the table shows in their own columns; any other is listed as it is
REPORT_KNOWN = {"id", "statement", "rules", "verdict", "seconds", "obligations"}


def scopes() -> dict[str, liqspec_proof_scope.Scope]:
    return {s.theorem_id: s for s in _SCOPES}


def _para(*content: nodes.Node | str) -> nodes.paragraph:
    return nodes.paragraph("", "", *[nodes.Text(c) if isinstance(c, str) else c
                                     for c in content])


def _shown_value(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


SCALAR = (str, int, float, bool)


def _is_plain(value: object) -> bool:
    """A scalar, or a list of scalars (not the report's theorems or obligations)."""
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, SCALAR) for v in value)
    return isinstance(value, SCALAR)


def _scalar_items(entry: dict, skip: set[str]) -> list[tuple[str, str]]:
    """A report entry's fields as (name, text), whatever the prover records (a commit, the z3
    version, a resource limit and use, a fidelity campaign's cases...): scalars and lists of
    them as they are, ``None`` as "none", a dict's plain fields as ``name.key``; empty strings
    left out."""
    items = []
    for key, value in entry.items():
        if key in skip or value == "":
            continue
        if value is None:
            items.append((key, "none"))
        elif isinstance(value, dict):
            items += [(f"{key}.{k}", _shown_value(v)) for k, v in value.items()
                      if _is_plain(v) and v != ""]
        elif _is_plain(value):
            items.append((key, _shown_value(value)))
    return items


def _resources(obligations: list[dict]) -> str:
    """The numeric fields every obligation records besides its seconds, over the theorem: a
    limit (a name with "limit" and not "used") by its largest value, any other by its sum."""
    keys = [k for k, v in (obligations[0] if obligations else {}).items()
            if isinstance(v, int) and not isinstance(v, bool) and k != "seconds"]
    shown = []
    for key in keys:
        values = [o.get(key) or 0 for o in obligations]
        if "limit" in key and "used" not in key:
            shown.append(f"{key} per check: {max(values):,}")
        else:
            shown.append(f"{key}: {sum(values):,}")
    return "; ".join(shown)


class ProofVerdicts(SphinxDirective):
    """What a verdict means, read from the installed prover: its verdicts, whether it checks the
    encodings against the reference itself, and what decides an UNKNOWN."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        listing = nodes.bullet_list()
        for verdict in liqspec_proof_scope.verdicts():
            meaning = VERDICT_MEANING.get(verdict, "a failure.")
            if verdict != "PROVED":
                meaning += " A failure."
            listing += nodes.list_item("", _para(verdict_node(verdict), " " + meaning))
        out.append(listing)
        if liqspec_proof_scope.prover_checks_fidelity():
            out.append(_para(
                "Before a theorem counts as PROVED, liqspec prove runs the fidelity check of the "
                "encodings it uses against the installed reference (a seeded campaign aimed at "
                "the rules' boundaries, liqspec.proofs.fidelity): a verdict is about the code "
                "that is installed, not only about the encodings."))
        else:
            out.append(_para(
                nodes.strong("", "This prover does not check fidelity itself. "),
                "liqspec prove proves the encodings only; the fidelity tests of the test suite "
                "(tests/test_proofs.py) and liqspec mutate are what tie them to the reference. A "
                "verdict shown here holds for the installed reference only as far as those "
                "tests pass."))
        if liqspec_proof_scope.prover_uses_resource_limit():
            out.append(_para(
                "Each check is bounded by z3's deterministic resource limit (rlimit), not by "
                "wall-clock time: the same commit and z3 version give the same verdict on any "
                "machine, under any load. A wall-clock guard only stops a hung process, and "
                "reports it as an error, never as a verdict."))
        else:
            out.append(_para(
                nodes.strong("", "Verdicts are bounded by wall-clock time. "),
                "This prover gives each check a timeout in seconds, so an UNKNOWN can depend on "
                "the machine and its load."))
        return out


class ProofReport(SphinxDirective):
    """The theorems, each with what it is about (kind, domains, assumptions, source) and its
    verdict from the report this build was given."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        data = trace()
        if data.theorems is None:
            para = nodes.paragraph()
            para += nodes.strong("", "Not there yet. ")
            para += nodes.Text(f"This build found no theorem registry: {data.theorems_missing}. "
                               "The table appears here once liqspec.proofs.theorems.REGISTRY "
                               "exists.")
            return [para]
        by_id = {t["id"]: t for t in (_REPORT or {}).get("theorems", [])}
        intro = nodes.paragraph()
        out: list[nodes.Node] = [intro]
        if _REPORT is None:
            intro += nodes.strong("", "Verdicts: not run in this build. ")
            intro += nodes.Text(
                "The table below lists every registered theorem and the rules it covers, read "
                "from liqspec.proofs.theorems.REGISTRY; no proof ran during this build, so no "
                "verdict is shown rather than an old or invented one. Build with "
                "LIQSPEC_DOCS_PROVE=1 to prove every theorem during the build, or with "
                "LIQSPEC_PROOF_REPORT=report.json to show a saved report.")
        else:
            intro += nodes.Text(f"Verdicts from {_REPORT_SOURCE}. ")
            counts: dict[str, int] = {}
            for thm in data.theorems:
                verdict = by_id.get(thm.theorem_id, {}).get("verdict", "NOT IN REPORT")
                counts[verdict] = counts.get(verdict, 0) + 1
            intro += nodes.Text(", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) + ". ")
            intro += nodes.reference("", "The report as JSON", refuri=REPORT_FILE)
            intro += nodes.Text(".")
            unknown = sorted(set(by_id) - {t.theorem_id for t in data.theorems})
            if unknown:
                intro += nodes.Text(" The report also holds theorems the registry no longer has: "
                                    f"{', '.join(unknown)}.")
            provenance = nodes.field_list()
            for key, value in _scalar_items(_REPORT, set()):
                provenance += field(key.replace("_", " "), _para(value))
            out.append(provenance)
        rows = []
        known_scopes = scopes()
        for thm in data.theorems:
            entry = by_id.get(thm.theorem_id)
            scope = known_scopes.get(thm.theorem_id)
            first: list[nodes.Node] = [target(self.state.document, thm.label),
                                       nodes.literal(thm.theorem_id, thm.theorem_id)]
            if scope is not None:
                first += [nodes.Text(" ("),
                          ref(f"source-{thm.label}", f"source, line {scope.source_line}"),
                          nodes.Text(")")]
            statement = nodes.container("", _para(thm.statement))
            if scope is not None:
                statement += _para(nodes.strong("", "Assumes: "), scope.assumes)
            statement += _para(nodes.strong("", "Rules: "), *join([ref(r, r)
                                                                  for r in thm.rule_ids]))
            over = nodes.container()
            if scope is not None:
                kind = scope.kind + (f": {scope.kind_detail}" if scope.kind_detail else "")
                if scope.abstracted:
                    kind += "; some terms abstracted (free values that keep the facts stated)"
                over += _para(nodes.emphasis("", kind))
                over += _para(domains_text(scope))
                if scope.fidelity:
                    over += _para("Fidelity checked before the verdict: "
                                  f"{', '.join(scope.fidelity)}.")
                if scope.rlimit:
                    over += _para(f"Resource limit: {scope.rlimit:,} per check.")
            if entry is None:
                verdict: list[nodes.Node] = [nodes.Text("not run" if _REPORT is None
                                                        else "not in the report")]
            else:
                obligations = entry.get("obligations", [])
                verdict = [verdict_node(entry["verdict"]),
                           nodes.Text(f" {len(obligations)} obligations, "
                                      f"{entry.get('seconds', 0):.1f} s")]
                extra_items = _scalar_items(entry, REPORT_KNOWN)
                extra = "; ".join(f"{k}: {v}" for k, v in extra_items) or _resources(obligations)
                if extra:
                    verdict.append(nodes.Text(f"; {extra}"))
            rows.append([first, statement, over, verdict])
        out.append(table(["Theorem", "Statement, assumptions, rules", "Kind and domains",
                          "Verdict"], rows, [14, 46, 26, 14], classes=("liqspec-proofs",)))
        failures = [(t["id"], o) for t in (_REPORT or {}).get("theorems", [])
                    for o in t.get("obligations", []) if o["verdict"] != "PROVED"]
        if failures:
            out.append(nodes.rubric("", "Obligations not proved"))
            out.append(table(
                ["Theorem", "Domain", "Obligation", "Verdict", "Detail"],
                [[t, o["domain"], o["label"], [verdict_node(o["verdict"])], o.get("detail", "")]
                 for t, o in failures],
                [12, 22, 20, 12, 34]))
        return out


def domains_text(scope: liqspec_proof_scope.Scope) -> str:
    if scope.parameter_free:
        return "No parameters: one obligation over the integers and rationals."
    parts = []
    if scope.venue_domains:
        parts.append(f"{len(scope.venue_domains)} venue profile"
                     f"{'s' if len(scope.venue_domains) > 1 else ''} "
                     f"({', '.join(scope.venue_domains)})")
    else:
        parts.append("no venue profile")
    if scope.generic_domains:
        parts.append(f"{len(scope.generic_domains)} generic policy mix"
                     f"{'es' if len(scope.generic_domains) > 1 else ''} "
                     f"({', '.join(d.removeprefix('generic') for d in scope.generic_domains)})")
    else:
        parts.append("no generic domain")
    return "Over " + " and ".join(parts) + "."


class ProofSources(SphinxDirective):
    """Each theorem's build function, as installed: what z3 is asked, line by line."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for scope in _SCOPES:
            label = f"source-theorem-{scope.theorem_id.lower()}"
            title = nodes.paragraph(classes=["liqspec-test-name"])
            title += target(self.state.document, label)
            title += nodes.literal(scope.theorem_id, scope.theorem_id)
            title += nodes.Text(f": {scope.source_path}, line {scope.source_line} (")
            title += ref(f"theorem-{scope.theorem_id.lower()}", "its row")
            title += nodes.Text(")")
            item = nodes.container(classes=["liqspec-test"])
            item += title
            item += nodes.literal_block(scope.source, scope.source, language="python",
                                        linenos=True,
                                        highlight_args={"linenostart": scope.source_line})
            out.append(item)
        return out


class ProofGaps(SphinxDirective):
    """The generated half of what no theorem proves: the rules no theorem covers, the venue
    markets no domain holds, the theorems proved over a single domain, and the bounded ones."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        data = trace()
        out: list[nodes.Node] = []
        uncovered = [r for r in data.rules if not data.theorems_for(r.rule_id)]
        out.append(_para(f"{len(uncovered)} of the {len(data.rules)} rules are covered by no "
                         "theorem; the tests alone check them:"))
        out.append(compact_list([nodes.inline("", "", ref(r.rule_id, r.rule_id),
                                              nodes.Text(f" {r.title}")) for r in uncovered]))
        single = [s for s in _SCOPES if not s.parameter_free
                  and len(s.venue_domains) + len(s.generic_domains) == 1]
        if single:
            out.append(_para("Proved over one parameter domain only: ", *join([
                nodes.inline("", "", ref(f"theorem-{s.theorem_id.lower()}", s.theorem_id),
                             nodes.Text(f" ({(s.venue_domains + s.generic_domains)[0]})"))
                for s in single]), "."))
        no_venue = [s for s in _SCOPES if not s.parameter_free and not s.venue_domains]
        if no_venue:
            out.append(_para("Proved over no venue profile (generic domains only): ", *join([
                ref(f"theorem-{s.theorem_id.lower()}", s.theorem_id) for s in no_venue]), "."))
        bounded = [s for s in _SCOPES if s.kind == liqspec_proof_scope.BOUNDED]
        for s in bounded:
            out.append(_para("Bounded, not inductive: ",
                             ref(f"theorem-{s.theorem_id.lower()}", s.theorem_id),
                             f" checks {s.kind_detail}; nothing about longer runs."))
        left_out = liqspec_proof_scope.venue_markets_left_out()
        if left_out:
            out.append(_para("Venue markets no theorem sees (the domains have two market "
                             "slots): " + "; ".join(f"{p}: {', '.join(m)}"
                                                    for p, m in left_out.items()) + "."))
        else:
            out.append(_para("Every market of every venue profile is in its domain (each "
                             "profile has at most two markets, the domains' two slots)."))
        return out


class ProofMutants(SphinxDirective):
    """The catalogued mutants no theorem catches, when liqspec.proofs.mutation says which;
    otherwise the whole catalogue, labelled as such."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows, fields, how = liqspec_proof_scope.uncovered_mutants()
        out: list[nodes.Node] = []
        if how == "catalogue":
            out.append(_para(
                nodes.strong("", "Not recorded yet. "),
                "liqspec.proofs.mutation does not say which of its mutants no theorem catches, "
                f"so this is its whole catalogue ({len(rows)} mutants), each caught by the "
                "fidelity campaign or the tests (liqspec mutate); which of them liqspec prove "
                "alone catches is not shown."))
        elif rows:
            out.append(_para(f"{len(rows)} catalogued mutants that liqspec prove alone does not "
                             f"catch, and why, from {how}; liqspec mutate's fidelity campaign "
                             "or tests catch each of them."))
        else:
            out.append(_para(f"Every catalogued mutant is caught by a theorem ({how})."))
            return out
        if not rows:
            return out

        def value(row, name):
            found = (row.get(name) if isinstance(row, dict)
                     else getattr(row, name, row if name == "value" else None))
            return "" if found is None else str(found)

        width = max(1, 100 // max(1, len(fields)))
        out.append(table([f.replace("_", " ") for f in fields],
                         [[value(r, f) for f in fields] for r in rows],
                         [width] * len(fields), classes=("liqspec-proofs",)))
        return out


# -- venue profiles -----------------------------------------------------------------------------

POLICY_RULES = {
    "liquidation_size": "LIQ-EXEC-1", "portion": "LIQ-EXEC-1",
    "portion_above_notional": "LIQ-EXEC-1", "share_step": "LIQ-SHARE-1",
    "share_target_margin_ratio": "LIQ-SHARE-1", "shortage_buffer": "LIQ-SHORTAGE-1",
    "closed_whole_at_or_below": "LIQ-SHORTAGE-1", "fee_policy": "LIQ-FEE-1",
    "backstop_below": "LIQ-TRIGGER-2", "bad_debt_policy": "LIQ-ADL-1",
    "adl_ranking": "LIQ-ADL-2", "adl_price": "LIQ-ADL-4",
}


def _shown(value: object) -> str:
    return "-" if value is None else str(value)


class VenueProfiles(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from liqspec.reference.profiles import PROFILES, profile_summary

        summaries = [profile_summary(p) for p in PROFILES.values()]
        names = [s["name"] for s in summaries]
        out: list[nodes.Node] = [nodes.rubric("", "Policies")]
        rows: list[list] = [["quote asset", *(f"{s['quote_asset']} ({s['quote_decimals']} "
                                             "decimals)" for s in summaries)]]
        for key, rule_id in POLICY_RULES.items():
            label = [nodes.Text(key.replace("_", " ") + " ("), ref(rule_id, rule_id),
                     nodes.Text(")")]
            rows.append([label, *(_shown(s["policies"][key]) for s in summaries)])
        rows.append(["markets", *(", ".join(s["markets"]) for s in summaries)])
        out.append(table(["", *names], rows, [22] + [15] * len(names),
                         classes=("liqspec-profiles",)))

        out.append(nodes.rubric("", "Markets"))
        market_rows = []
        for s in summaries:
            for market_id, m in s["markets"].items():
                tiers = m["tiers"]
                oi = m["open_interest_scaling"]
                market_rows.append([
                    s["name"], market_id, m["lot"], m["tick"], m["liquidation_fee"] + (
                        f"; liquidator {m['liquidator_fee']}" if m["liquidator_fee"] else ""),
                    m["min_maintenance_margin"],
                    "-" if oi is None else f"{oi['lower_cap']} to {oi['upper_cap']}",
                    str(len(tiers)),
                    f"{tiers[0]['maintenance_rate']} / {tiers[0]['initial_rate']}",
                    f"{tiers[-1]['maintenance_rate']} / {tiers[-1]['initial_rate']} from "
                    f"{tiers[-1]['floor']}"
                    + (" (size)" if m["tier_basis"] == "size" else ""),
                ])
        out.append(table(["Profile", "Market", "Lot", "Tick", "Liquidation fee",
                          "Min. maintenance", "OI scaling", "Tiers", "First tier MM / IM",
                          "Last tier MM / IM"], market_rows,
                         [10, 9, 8, 6, 8, 8, 10, 5, 12, 16], classes=("liqspec-profiles",)))

        for s in summaries:
            anchor = nodes.make_id(f"profile-{s['name']}")
            section = nodes.section(ids=[anchor], names=[anchor])
            self.state.document.note_implicit_target(section)
            section += nodes.title(s["name"], s["name"])
            section += nodes.paragraph(s["description"], s["description"])
            sources = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
            for url in s["sources"]:
                sources += nodes.list_item("", nodes.paragraph(
                    "", "", nodes.reference(url, url, refuri=url)))
            section += nodes.paragraph("", "Sources:")
            section += sources
            section += nodes.rubric("", "Where each parameter comes from")
            section += table(
                ["Parameter", "Basis", "Sources", "Read", "Note"],
                [[row["parameter"], row["basis"],
                  ", ".join(map(str, row["source_numbers"])) or "-",
                  row["read"], row["note"]] for row in s["provenance"]],
                [20, 9, 7, 11, 53], classes=("liqspec-provenance",))
            for market_id, m in s["markets"].items():
                caption = (f"{market_id}: lot {m['lot']}, tick {m['tick']}, liquidation fee "
                           f"{m['liquidation_fee']} (amounts in {s['quote_asset']})")
                section += nodes.rubric(caption, caption)
                section += table(
                    [("From size" if m["tier_basis"] == "size" else "From notional"),
                     "Maintenance rate", "Maintenance deduction",
                     "Initial rate", "Initial deduction"],
                    [[t["floor"], t["maintenance_rate"], t["maintenance_deduction"],
                      t["initial_rate"], t["initial_deduction"]] for t in m["tiers"]],
                    [20, 20, 20, 20, 20], classes=("liqspec-tiers",))
            out.append(section)
        return out


# -- docstrings ---------------------------------------------------------------------------------

# Spans left alone: roles (:func:`x`), inline literals (``x``), interpreted text and links (`x`_).
INLINE_MARKUP = re.compile(r"(:[\w:.+-]+:`[^`]*`|``[^`]*``|`[^`]*`_{0,2})")
RULE_WILDCARD = re.compile(r"\bLIQ-[A-Z]+-\*")
ABSOLUTE_VALUE = re.compile(r"(?<![\\\w])\|([^|\s][^|]*?)\|(?!\w)")


def escape_docstring(app: Sphinx, what: str, name: str, obj: object, options: object,
                     lines: list[str]) -> None:
    """Docstrings are written as plain text that happens to be reST: show a rule family
    (``LIQ-TIER-*``) as a literal rather than an unclosed emphasis, and keep ``|s|`` (an
    absolute value) from reading as a substitution. (:class:`RuleIdLinks` links the rule IDs.)"""

    def rewrite(text: str) -> str:
        text = RULE_WILDCARD.sub(lambda m: f"``{m.group(0)}``", text)
        return ABSOLUTE_VALUE.sub(lambda m: f"\\|{m.group(1)}\\|", text)

    for index, line in enumerate(lines):
        parts = INLINE_MARKUP.split(line)
        lines[index] = "".join(part if i % 2 else rewrite(part) for i, part in enumerate(parts))


# -- build wiring -------------------------------------------------------------------------------

def builder_inited(app: Sphinx) -> None:
    global _TRACE, _REPORT, _REPORT_SOURCE, _SCOPES
    root = Path(app.config.liqspec_root or Path(app.confdir).parent)
    _TRACE = liqspec_trace.collect(root)
    _SCOPES, _ = liqspec_proof_scope.collect()
    failures = liqspec_trace.problems(_TRACE) + liqspec_proof_scope.problems(_SCOPES)
    if failures:
        raise ExtensionError("traceability: the build stops on untraced rules and dangling "
                             "references:\n  " + "\n  ".join(failures))
    _REPORT, _REPORT_SOURCE = liqspec_proofs_report.load_report()


REPORT_FILE = "proof-report.json"


def write_report(app: Sphinx, exception: Exception | None) -> None:
    """Ship the proof report the page shows, beside it, for a program to read."""
    if exception is None and _REPORT is not None and app.builder.format == "html":
        Path(app.outdir, REPORT_FILE).write_text(json.dumps(_REPORT, indent=1) + "\n",
                                                 encoding="utf-8")


def fingerprint() -> str:
    text = repr((_TRACE, _REPORT, _SCOPES))
    return hashlib.sha256(text.encode()).hexdigest()


def env_get_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Re-read every page when the code, tests or proofs changed what the pages show."""
    current = fingerprint()
    if getattr(env, "liqspec_fingerprint", None) != current:
        env.liqspec_fingerprint = current
        return sorted(env.found_docs)
    return []


def setup(app: Sphinx) -> dict:
    app.add_config_value("liqspec_root", "", "env")
    app.add_node(pending_rule)
    app.add_directive("rule", RuleDirective)
    app.add_directive("traceability-matrix", TraceabilityMatrix)
    app.add_directive("test-sources", TestSources)
    app.add_directive("proof-report", ProofReport)
    app.add_directive("proof-verdicts", ProofVerdicts)
    app.add_directive("proof-sources", ProofSources)
    app.add_directive("proof-gaps", ProofGaps)
    app.add_directive("proof-mutants", ProofMutants)
    app.add_directive("venue-profiles", VenueProfiles)
    app.add_transform(RuleBlocks)
    app.add_transform(RuleIdLinks)
    app.connect("builder-inited", builder_inited)
    app.connect("env-get-outdated", env_get_outdated)
    app.connect("build-finished", write_report)
    app.connect("missing-reference", resolve_source_link)
    app.connect("autodoc-process-docstring", escape_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
