"""``.. python-api:: liqspec.reference``: the API reference of a package, one section per module.

The module list is read from the installed package at build time, so a new module appears
without editing the docs. A private function that a rule names as its reference (for example
``liqspec.reference.ledger._move_base``) is documented too, so every rule's Reference field
and source link has a target.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import liqspec_docs


def _private_names(module_name: str) -> list[str]:
    """Private names of ``module_name`` that some rule names as a reference function."""
    names = set()
    for functions in liqspec_docs.trace().functions.values():
        for qualified in functions:
            module, qualname, _ = liqspec_docs.canonical(qualified)
            if module == module_name and qualname.startswith("_"):
                names.add(qualname)
    return sorted(names)


class PythonApi(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        package_name = self.arguments[0]
        package = importlib.import_module(package_name)
        submodules = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                            if not m.name.startswith("_"))
        documented_elsewhere = {f"{package_name}.{name}" for name in submodules}
        # the package's own public names that no public submodule documents (compiled kernels)
        own = [name for name in getattr(package, "__all__", [])
               if getattr(getattr(package, name), "__module__", package_name)
               not in documented_elsewhere]
        lines = [f".. automodule:: {package_name}"]
        if own:
            lines += [f"   :members: {', '.join(own)}", "   :undoc-members:"]
        else:
            lines += ["   :no-members:"]
        lines.append("")
        for name in submodules:
            module_name = f"{package_name}.{name}"
            title = f"``{module_name}``"
            lines += [title, "-" * len(title), "", f".. automodule:: {module_name}",
                      "   :members:", "   :undoc-members:", "   :show-inheritance:"]
            private = _private_names(module_name)
            if private:
                lines.append(f"   :private-members: {', '.join(private)}")
            lines.append("")
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="python-api"), node)
        return node.children


# a top-level Cython or Python function definition: def, cpdef (with a return type) or cdef
CYTHON_DEF = re.compile(r"^(?:def|cpdef|cdef)\s+(?:[\w\[\]:, *]+\s+)?(\w+)\s*\(")


def cython_source(app, modname: str) -> tuple[str, dict] | None:
    """sphinx.ext.viewcode cannot read a compiled module: give it the Cython source the module
    was built from (installed beside it as package data), with the functions' line ranges."""
    try:
        module = importlib.import_module(modname)
    except ImportError:
        return None
    compiled = Path(getattr(module, "__file__", None) or "")
    if compiled.suffix not in (".so", ".pyd"):
        return None
    pyx = compiled.with_name(compiled.name.split(".")[0] + ".pyx")
    if not pyx.is_file():
        return None
    code = pyx.read_text(encoding="utf-8")
    lines = code.splitlines()
    top_level = [number for number, line in enumerate(lines, 1)
                 if line.strip() and not line[0].isspace() and not line.startswith("#")]
    tags = {}
    for number, line in enumerate(lines, 1):
        match = CYTHON_DEF.match(line)
        if match:
            end = next((t - 1 for t in top_level if t > number), len(lines))
            tags[match.group(1)] = ("def", number, end)
    return code, tags


def setup(app) -> dict:
    app.setup_extension("liqspec_docs")
    app.add_directive("python-api", PythonApi)
    app.connect("viewcode-find-source", cython_source)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
