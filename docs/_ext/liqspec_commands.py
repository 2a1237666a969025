"""``.. liqspec-output:: explain --account bob``: run a ``liqspec`` command while the site is built
and show what it printed, so the tutorial's output is always the installed version's own.

The command runs as ``python -m liqspec ARGS`` in a fresh temporary folder (files it writes are
thrown away). A failing command fails the build, except with ``:optional:`` when the installed
``liqspec`` does not have that command yet: the page then says so. ``:lines: 1-20`` keeps only
those lines of the output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective


def _line_range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last)


class LiqspecOutput(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True
    has_content = False
    option_spec = {"optional": directives.flag, "lines": _line_range}

    def run(self) -> list[nodes.Node]:
        command = self.arguments[0]
        with tempfile.TemporaryDirectory() as folder:
            result = subprocess.run(
                [sys.executable, "-m", "liqspec", *shlex.split(command)], cwd=folder,
                capture_output=True, text=True, timeout=600,
                env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})
        if result.returncode != 0:
            name = shlex.split(command)[0]
            if "optional" in self.options and "invalid choice" in result.stderr:
                note = nodes.paragraph()
                note += nodes.strong("", "Not there yet: ")
                note += nodes.Text(f"the installed liqspec has no '{name}' command, so this build "
                                   "cannot show its output.")
                return [note]
            raise self.error(f"'liqspec {command}' exited with {result.returncode}:\n"
                             f"{result.stderr[-2000:]}")
        lines = result.stdout.rstrip("\n").splitlines()
        if "lines" in self.options:
            first, last = self.options["lines"]
            kept = lines[first - 1:last]
            lines = kept + (["..."] if last < len(lines) else [])
        text = "\n".join([f"$ liqspec {command}", *lines])
        block = nodes.literal_block(text, text, language="console")
        block["classes"].append("liqspec-output")
        self.set_source_info(block)
        return [block]


def setup(app) -> dict:
    app.add_directive("liqspec-output", LiqspecOutput)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
