"""The JSON-lines protocol between ``liqspec conform`` and an engine (docs/conformance.rst).

One JSON object per line, on the engine's stdin and stdout::

    -> {"format": 1, "type": "hello"}
    <- {"format": 1, "type": "hello", "name": "my-engine", "profiles": "any" | [names],
        "operations": [names]}
    -> {"format": 1, "type": "run", "id": "7", "profile": {...}, "state": {...},
        "op": {"kind": "operation", "name": "liquidate", "args": {...}}}
    <- {"format": 1, "id": "7", "ok": {"state": {...}, "receipt": {...}}}
     | {"format": 1, "id": "7", "ok": {"result": ...}}            (a query)
     | {"format": 1, "id": "7", "error": {"code": "NOT_LIQUIDATABLE"}}
     | {"format": 1, "id": "7", "unsupported": "why"}            (reported as skipped)

The harness closes stdin when it is done; the engine then exits. :class:`EngineProcess` runs
the engine with a timeout on every answer and turns a crash, a hang, a malformed line or a wrong
id into an :class:`EngineFailure` naming the request; :func:`serve` is the loop a Python
adapter needs (``liqspec.fast.conform`` is one).
"""

from __future__ import annotations

import json
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TextIO

from liqspec.codec import FORMAT_VERSION, CodecError
from liqspec.reference.errors import LiqspecError


class EngineFailure(LiqspecError):
    """The engine crashed, hung, or answered something that is not a protocol message.
    ``kind`` is ``crash``, ``timeout``, ``malformed`` or ``protocol``; ``request`` is the
    message that caused it."""

    def __init__(self, kind: str, message: str, request: Mapping | None = None):
        super().__init__(f"engine {kind}: {message}")
        self.kind = kind
        self.request = request


class EngineProcess:
    """An engine subprocess: ``hello`` on start, then one answer per request."""

    def __init__(self, command: str, timeout: float = 10.0,
                 record: Callable[[dict, dict | None], None] | None = None):
        self.command = command
        self.timeout = timeout
        self.record = record
        self.hello: dict[str, Any] = {}
        self._stderr = tempfile.TemporaryFile(mode="w+")
        try:
            self._process = subprocess.Popen(
                shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, text=True, bufsize=1)
        except (OSError, ValueError) as error:
            raise EngineFailure("crash", f"cannot start {command!r}: {error}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 0
        message = {"format": FORMAT_VERSION, "type": "hello"}
        self.hello = self._exchange(message)
        if self.hello.get("type") != "hello" or not isinstance(self.hello.get("operations"),
                                                                 list):
            raise EngineFailure("protocol", f"expected a hello with its operations, got "
                                            f"{_short(self.hello)}", message)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stderr_tail(self, lines: int = 8) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return "\n".join(self._stderr.read().splitlines()[-lines:])

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(message, sort_keys=True)
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(text + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail("crash", "the engine closed its input", message)
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            self._fail("timeout", f"no answer within {self.timeout:g} s", message)
        if line is None:
            self._process.wait(timeout=5)
            self._fail("crash", f"the engine exited with status {self._process.returncode}",
                       message)
        try:
            answer = json.loads(line)
        except json.JSONDecodeError as error:
            self._fail("malformed", f"not JSON ({error}): {line[:200]!r}", message)
        if not isinstance(answer, dict):
            self._fail("malformed", f"not a JSON object: {line[:200]!r}", message)
        if self.record is not None:
            self.record(message, answer)
        return answer

    def _fail(self, kind: str, message: str, request: dict[str, Any]) -> NoReturn:
        if self.record is not None:
            self.record(request, None)
        tail = self.stderr_tail()
        self.close()
        raise EngineFailure(kind, message + (f"\nengine stderr:\n{tail}" if tail else ""),
                            request)

    def run(self, profile: Any, state: Any, op: Any) -> dict[str, Any]:
        """One request; the answer without its envelope (``ok``, ``error`` or ``unsupported``)."""
        self._next_id += 1
        request = {"format": FORMAT_VERSION, "type": "run", "id": str(self._next_id),
                   "profile": profile, "state": state, "op": op}
        answer = self._exchange(request)
        if answer.get("id") != request["id"]:
            self._fail("protocol", f"answer to id {answer.get('id')!r}, expected "
                                   f"{request['id']!r}", request)
        body: dict[str, Any] = {k: answer[k] for k in ("ok", "error", "unsupported") if k in answer}
        if len(body) != 1:
            self._fail("malformed", f"an answer needs exactly one of ok, error, unsupported: "
                                    f"{_short(answer)}", request)
        return body

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=2)
            except (subprocess.TimeoutExpired, OSError):
                process.kill()
                process.wait()


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) < 200 else text[:200] + "..."


def serve(handler: Callable[[Any, Any, Any], dict[str, Any]], name: str,
          operations: list[str], profiles: str | list[str] = "any",
          stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """The engine side of the protocol: answer ``hello``, then each request with
    ``handler(profile, state, op)`` (a body: ``{"ok": ...}``, ``{"error": ...}`` or
    ``{"unsupported": ...}``). A request the handler cannot read is answered ``unsupported``
    with the reason. Returns 0 at the end of the input."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    for line in stdin:
        message = json.loads(line)
        if message.get("type") == "hello":
            answer = {"type": "hello", "name": name, "profiles": profiles,
                      "operations": operations}
        else:
            op = message.get("op") or {}
            if op.get("name") not in operations:
                body: dict[str, Any] = {"unsupported": f"{op.get('name')!r} is not supported"}
            else:
                try:
                    body = handler(message["profile"], message["state"], op)
                except CodecError as error:
                    body = {"unsupported": str(error)}
            answer = {"id": message.get("id"), **body}
        stdout.write(json.dumps({"format": FORMAT_VERSION, **answer}, sort_keys=True) + "\n")
        stdout.flush()
    return 0


def python_command(module: str) -> str:
    """The command that runs a module with this interpreter (for the engines shipped here)."""
    return f"{shlex.quote(sys.executable)} -m {module}"

