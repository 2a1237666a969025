"""``liqspec conform``: check an engine against the reference. ::

    liqspec conform --engine "CMD ARGS" [--vectors DIR|ZIP] [--examples N] [--seed S]
                    [--timeout T] [--out DIR] [--transcript FILE] [--max-shrink N]
    liqspec conform --replay FILE [--engine "CMD ARGS"]

The engine runs as a subprocess speaking the JSON-lines protocol of
:mod:`~liqspec.conformance.protocol`. Every vector (the shipped compact set by default) is
sent to it, then ``--examples`` generated requests (:mod:`~liqspec.conformance.campaign`);
each answer is compared with the reference's. The report gives pass / fail / skip per rule ID and
per operation: a vector whose operation or profile the engine's hello does not list, or that it
answers ``unsupported``, is skipped, never passed. Each divergence is blamed on one rule (the
rule ID of the first differing journal entry or trace event, else the operation's own rule),
shrunk (:mod:`~liqspec.conformance.shrink`), written as a vector under ``--out`` and printed with
the command that replays it. A crash, a hang longer than ``--timeout`` seconds or a malformed
answer stops the run and is reported with the request that caused it.

``--transcript`` saves every request and answer as JSON lines; ``--replay`` judges a saved
transcript again (against the engine's fresh answers when ``--engine`` is given).

Exit status: 0 every judged case passed, 1 a divergence, 2 a usage or engine error.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from liqspec.codec import FORMAT_VERSION
from liqspec.reference.errors import LiqspecError

from . import campaign, schema
from .catalogue import CATALOGUE
from .protocol import EngineFailure, EngineProcess
from .shrink import reference_answer, shrink
from .vectors import Vector, VectorSource, dumps, files_of, in_domain, rules_of


class ConformInputError(LiqspecError):
    """Bad input to ``liqspec conform`` (a missing vectors folder or transcript, no engine)."""


# -- judging one answer -----------------------------------------------------------------------

def first_difference(a: Any, b: Any, path: tuple = ()) -> tuple[tuple, Any, Any] | None:
    """The first place two JSON values differ: (path, a's value, b's value), else None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                return first_difference(a.get(key, "<absent>"), b.get(key, "<absent>"),
                                        path + (key,))
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, path + (i,))
        if len(a) != len(b):
            return path + ("length",), len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def _rule_at(body: Any, path: tuple) -> str | None:
    """The rule ID of the journal entry or trace event a difference lies in."""
    node = body
    found = None
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("rule_id"), str) and node["rule_id"]:
            found = node["rule_id"]
    return found


def _at(body: Any, path: tuple) -> Any:
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def judge(name: str, expected: dict[str, Any], got: dict[str, Any]) -> dict[str, Any] | None:
    """None when the answer conforms, else the divergence: the blamed rule and the difference."""
    primary = CATALOGUE[name].rules[0]
    if "ok" in expected and "ok" in got:
        if first_difference(expected["ok"], got["ok"]) is None:
            return None
        # the journal and the trace first: their entries name the rule that moved the money
        for part in (("receipt", "entries"), ("events",), ()):
            found = first_difference(_at(expected["ok"], part), _at(got["ok"], part), part)
            if found is not None:
                break
        # the whole answers differ (first_difference above), so the empty path finds a difference
        assert found is not None
        path, want, have = found
        rule = _rule_at(expected["ok"], path) or _rule_at(got["ok"], path) or primary
        where = ".".join(map(str, path)) or "."
        return {"rule": rule, "difference": f"{where}: reference {want!r}, engine {have!r}"}
    if "error" in expected and "error" in got:
        if expected["error"].get("code") == got["error"].get("code"):
            return None
        return {"rule": primary, "difference": f"result code: reference "
                                               f"{expected['error'].get('code')}, engine "
                                               f"{got['error'].get('code')}"}
    want = f"rejects with {expected['error']['code']}" if "error" in expected else "accepts"
    have = f"rejects with {got['error'].get('code')}" if "error" in got else "accepts"
    return {"rule": primary, "difference": f"the reference {want}, the engine {have}"}


# -- the run ----------------------------------------------------------------------------------

@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass
class Report:
    rules: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    operations: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    divergences: list[dict[str, Any]] = field(default_factory=list)
    failure: EngineFailure | None = None
    failure_case: str = ""
    failure_file: str = ""
    cases: int = 0
    unusable: int = 0  # campaign examples the reference could not run (not judged)

    def count(self, vector: Vector, outcome: str, blamed: str | None = None) -> None:
        self.cases += 1
        op = self.operations[vector.name]
        setattr(op, outcome, getattr(op, outcome) + 1)
        if outcome == "failed":
            self.rules[blamed or CATALOGUE[vector.name].rules[0]].failed += 1
            return
        for rule in vector.rules:
            tally = self.rules[rule]
            setattr(tally, outcome, getattr(tally, outcome) + 1)

    @property
    def status(self) -> int:
        if self.failure is not None:
            return 2
        return 1 if self.divergences else 0


class Conform:
    """One run of the harness against one engine."""

    def __init__(self, engine: EngineProcess, out: Path, max_shrink: int, command: str,
                 stream: TextIO):
        self.engine = engine
        self.out = out
        self.max_shrink = max_shrink
        self.command = command
        self.stream = stream
        self.report = Report()
        self.shrunk_keys: set[tuple[str, str]] = set()
        hello = engine.hello
        self.operations = set(hello.get("operations", []))
        self.profiles = hello.get("profiles", "any")

    def supports(self, vector: Vector) -> bool:
        return vector.name in self.operations and (
            self.profiles == "any" or vector.profile in self.profiles
            or vector.pre["profile"].get("name") in self.profiles)

    def check(self, vector: Vector, where: str) -> None:
        """Judge one case (an EngineFailure, here or while shrinking, ends the run)."""
        if not self.supports(vector):
            self.report.count(vector, "skipped")
            return
        self.report.failure_case = where
        got = self.engine.run(vector.pre["profile"], vector.pre["state"], vector.op)
        if "unsupported" in got:
            self.report.count(vector, "skipped")
            return
        broken = schema.validate({"format": FORMAT_VERSION, "id": "0", **got}, "response")
        found = judge(vector.name, vector.expected, got) if not broken else {
            "rule": CATALOGUE[vector.name].rules[0],
            "difference": f"the answer breaks the response schema: {'; '.join(broken[:3])}"}
        if found is None:
            self.report.count(vector, "passed")
            return
        self.report.count(vector, "failed", found["rule"])
        found.update(case=where, name=vector.name)
        key = (found["rule"], vector.name)
        if len(self.shrunk_keys) < self.max_shrink and key not in self.shrunk_keys:
            self.shrunk_keys.add(key)  # one minimal case per rule and operation
            self.report.failure_case = f"{where}, while shrinking"
            found.update(self.shrunk(vector, found["rule"]))
        self.report.divergences.append(found)

    def shrunk(self, vector: Vector, rule: str) -> dict[str, Any]:
        """The divergence's minimal case, written as a vector; where and how to replay it."""
        def signature(request: dict[str, Any], expected: dict[str, Any] | None) -> Any:
            if expected is None:
                return None
            got = self.engine.run(request["profile"], request["state"], request["op"])
            if "unsupported" in got:
                return None
            found = judge(vector.name, expected, got)
            return None if found is None else found["rule"]

        small, asked = shrink(vector.request(), signature)
        expected = reference_answer(small)
        # the original is a vector the reference answered, and shrink keeps only answered candidates
        assert expected is not None
        minimal = Vector(vector.profile, vector.name, "shrunk",
                         f"{vector.suite}_{vector.case}", f"shrunk from {vector.folder}: "
                         f"{vector.description}", {"profile": small["profile"],
                                                   "state": small["state"]},
                         small["op"], expected, rules_of(vector.name, expected))
        folder = self.out / minimal.folder
        folder.mkdir(parents=True, exist_ok=True)
        for name, doc in files_of(minimal).items():
            (folder / name).write_text(dumps(doc))
        return {"shrunk": str(folder), "accounts": [len(vector.pre["state"]["accounts"]),
                                                     len(small["state"]["accounts"])],
                "asked": asked,
                "replay": f"liqspec conform --engine {shlex.quote(self.command)} "
                          f"--vectors {shlex.quote(str(self.out))} --examples 0"}


def render(report: Report, stream: TextIO) -> None:
    """The report: per operation, per rule, then each divergence and any engine failure."""
    def table(title: str, rows: dict[str, Tally]) -> None:
        print(f"\n{title:<36} {'pass':>6} {'fail':>6} {'skip':>6}", file=stream)
        for key in sorted(rows):
            t = rows[key]
            mark = "FAIL" if t.failed else ("skip" if not t.passed else "ok")
            print(f"  {key:<34} {t.passed:>6} {t.failed:>6} {t.skipped:>6}  {mark}", file=stream)
    table("operation", report.operations)
    table("rule", report.rules)
    for d in report.divergences:
        print(f"\nDIVERGENCE {d['rule']} in {d['name']} ({d['case']})\n  {d['difference']}",
              file=stream)
        if "shrunk" in d:
            print(f"  shrunk to {d['accounts'][1]} of {d['accounts'][0]} accounts: "
                  f"{d['shrunk']}\n  replay: {d['replay']}", file=stream)
    if report.failure is not None:
        request = report.failure.request or {}
        op = (request.get("op") or {}).get("name", request.get("type"))
        state = request.get("state") or {}
        print(f"\nENGINE FAILURE ({report.failure.kind}) at {report.failure_case or op}: "
              f"{report.failure}\n  request: type {json.dumps(request.get('type'))}, id "
              f"{json.dumps(request.get('id'))}, op {json.dumps(request.get('op'), sort_keys=True)}"
              f", {len(state.get('accounts', []))} accounts"
              + (f"\n  whole request: {report.failure_file}" if report.failure_file else ""),
              file=stream)
    totals = Tally()
    for t in report.operations.values():
        totals.passed += t.passed
        totals.failed += t.failed
        totals.skipped += t.skipped
    if report.unusable:
        print(f"\n{report.unusable} generated examples were not judged: the reference raised an "
              f"error that is not a result code on them (a reference bug: please report it)",
              file=stream)
    verdict = {0: "PASS", 1: "DIVERGENCES", 2: "ENGINE ERROR"}[report.status]
    print(f"\n{verdict}: {totals.passed} passed, {totals.failed} failed, {totals.skipped} "
          f"skipped ({len(report.divergences)} divergences)", file=stream)


def _recorder(path: str | None):
    if path is None:
        return None, None
    handle = open(path, "w")  # noqa: SIM115  closed by the caller

    def record(request: dict, answer: dict | None) -> None:
        handle.write(json.dumps({"request": request, "response": answer}, sort_keys=True) + "\n")
        handle.flush()
    return record, handle


def run(args: argparse.Namespace, stream: TextIO = sys.stdout) -> int:
    if args.replay:
        return replay(args, stream)
    if not args.engine:
        raise ConformInputError("give --engine \"CMD ARGS\" (or --replay FILE)")
    source = _source(args.vectors)
    record, handle = _recorder(args.transcript)
    try:
        try:
            engine = EngineProcess(args.engine, args.timeout, record)
        except EngineFailure as failure:
            report = Report(failure=failure, failure_case="start")
            render(report, stream)
            return 2
        conform = Conform(engine, Path(args.out), args.max_shrink, args.engine, stream)
        try:
            for folder in source.folders():
                conform.check(source.load(folder), folder)
            for vector in campaign.examples(args.seed, args.examples):
                if vector is None:  # the reference itself could not run it: not a case
                    conform.report.unusable += 1
                elif in_domain(vector):
                    conform.check(vector, f"campaign seed {args.seed} example {vector.case}")
        except EngineFailure as failure:
            conform.report.failure = failure
            conform.report.failure_file = _save_request(failure, Path(args.out))
        finally:
            engine.close()
        render(conform.report, stream)
        return conform.report.status
    finally:
        if handle is not None:
            handle.close()


def _save_request(failure: EngineFailure, out: Path) -> str:
    """The request that broke the engine, whole, for replaying it by hand."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "engine-failure-request.json"
        path.write_text(json.dumps(failure.request, indent=1, sort_keys=True) + "\n")
        return str(path)
    except OSError:
        return ""


def _source(location: str | None) -> VectorSource:
    if location is not None and not Path(location).exists():
        raise ConformInputError(f"{location}: no such vectors folder or zip")
    return VectorSource(location)


def replay(args: argparse.Namespace, stream: TextIO) -> int:
    """Judge a saved transcript again: its recorded answers, or the engine's fresh ones."""
    path = Path(args.replay)
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        raise ConformInputError(f"{path}: not a transcript ({error})") from None
    engine = EngineProcess(args.engine, args.timeout) if args.engine else None
    report = Report()
    changed = 0
    try:
        for n, record in enumerate(records):
            request = record.get("request") or {}
            if request.get("type") != "run":
                continue
            vector = Vector("transcript", request["op"]["name"], "replay", str(n), "",
                            {"profile": request["profile"], "state": request["state"]},
                            request["op"], reference_answer(request) or {})
            vector.rules = rules_of(vector.name, vector.expected)
            if record.get("response") is None and engine is None:
                report.failure = EngineFailure("crash", "the recorded engine gave no answer",
                                               request)
                break
            got = record.get("response") or {}
            if engine is not None:
                fresh = engine.run(request["profile"], request["state"], request["op"])
                changed += fresh != {k: got[k] for k in ("ok", "error", "unsupported")
                                     if k in got}
                got = fresh
            if "unsupported" in got:
                report.count(vector, "skipped")
                continue
            found = judge(vector.name, vector.expected, got)
            if found is None:
                report.count(vector, "passed")
            else:
                report.count(vector, "failed", found["rule"])
                report.divergences.append({**found, "case": f"transcript line {n + 1}",
                                           "name": vector.name})
    except EngineFailure as failure:
        report.failure = failure
    finally:
        if engine is not None:
            engine.close()
    render(report, stream)
    if engine is not None:
        print(f"{changed} answers differ from the transcript", file=stream)
    return report.status


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Fill a parser with ``conform``'s description and options (handler: ``run``)."""
    parser.description = ("Run an engine (a subprocess speaking the JSON-lines protocol of "
                          "docs/conformance.rst) over every conformance vector and a generated "
                          "campaign; report pass / fail / skip per rule ID and per operation, and "
                          "shrink each divergence into a vector that replays it. Exit status: 0 "
                          "all pass, 1 divergences, 2 usage or engine errors.")
    parser.add_argument("--engine", help="the engine's command line (quoted as one argument)")
    parser.add_argument("--vectors", help="a vectors folder, .zip or .tar.gz (default: the shipped set)")
    parser.add_argument("--examples", type=_count, default=200,
                        help="generated requests after the vectors (default 200)")
    parser.add_argument("--seed", type=_count, default=0, help="the campaign's seed")
    parser.add_argument("--timeout", type=_seconds, default=10.0,
                        help="seconds the engine may take per answer (default 10)")
    parser.add_argument("--out", default="liqspec-conform",
                        help="where shrunk divergences are written as vectors")
    parser.add_argument("--max-shrink", type=_count, default=5,
                        help="divergences to shrink, one per rule and operation (default 5)")
    parser.add_argument("--transcript", help="save every request and answer (JSON lines)")
    parser.add_argument("--replay", help="judge a saved transcript again")
    parser.set_defaults(handler=run)
    return parser


def _option(convert: Callable[[str], Any], noun: str, valid: Callable[[Any], bool],
            refusal: Callable[[str], str]) -> Callable[[str], Any]:
    """An argparse type: ``convert`` of the text, a usage error naming it when it is not
    ``noun`` or when the value is not ``valid`` (``refusal(text)`` says why)."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(refusal(text))
        return value
    return parse


_count = _option(int, "a whole number", lambda value: value >= 0,
                 lambda text: f"{text} is negative")
_seconds = _option(float, "a number of seconds", lambda value: value > 0,
                   lambda text: "the timeout must be positive")

