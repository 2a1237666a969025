"""The typed API: ``py.typed`` and the stubs of the compiled modules, checked by mypy.

Scope (the ``[tool.mypy]`` section of ``pyproject.toml``): mypy runs over the INSTALLED package's
``liqspec.reference``, ``liqspec.fast`` (every Python module, and ``_engine`` and ``_kernels``
through their ``.pyi`` stubs), ``liqspec.proofs``, ``liqspec.conformance`` and the command's
modules (``liqspec.cli``, ``explain``, ``simulate``, ``plots``, ``bulk``, the sweeps and the rest:
:data:`CHECKED_MODULES`), and must report no error; the modules these import (``statefile``,
``positions``, ``codec``) are checked with them. Configured out, by name, until they
are clean (their errors are not reported; their signatures are still what callers are checked
against): ``liqspec.fast.operations`` and ``liqspec.fast.cascade`` (the State <-> engine glue,
being restructured: it indexes tuples of IDs with numpy integers), ``liqspec.testing.cases`` (the
random-case generators mix value types in argument lists), ``liqspec.reference.cascade`` (it
reads an event's optional market where the event's kind guarantees one),
``liqspec.proofs.encodings`` (being split into checks and effects; it reuses one loop variable
for the journal's string and pair keys), ``liqspec.codec`` (it reads the profile's backstop ratio
as a tuple of any length) and ``liqspec.scenario`` (its loaders' default parser does not match
their generic parameter). ``liqspec.__main__`` is not named (it only calls ``cli.main``).
``tqdm``, ``z3`` and ``pyarrow`` have no type information and are imported untyped (their
values are ``Any``).

The stubs are compared with the built modules by introspection: every public name the compiled
module defines is in its stub and every name the stub declares exists, with the same parameter
names for each function and method, so a stub cannot drift from the ``.pyx`` unnoticed.
"""

from __future__ import annotations

import ast
import importlib
import importlib.resources
import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
COMPILED = ("liqspec.fast._engine", "liqspec.fast._kernels")
#: what mypy checks (the module docstring says what is configured out, and why)
CHECKED_PACKAGES = ("liqspec.reference", "liqspec.fast", "liqspec.proofs", "liqspec.conformance")
CHECKED_MODULES = tuple(f"liqspec.{name}" for name in (
    "explain", "cli", "usage", "display", "simulate", "plots", "bulk", "positions_bulk",
    "trace_stream", "synthetic", "sweep", "sweep_config", "sweep_exec", "sweep_paths",
    "sweep_plots", "sweep_store"))


def _stub(module_name: str) -> ast.Module:
    package, _, leaf = module_name.rpartition(".")
    text = importlib.resources.files(package).joinpath(f"{leaf}.pyi").read_text(encoding="utf-8")
    return ast.parse(text)


def _declared(body: list[ast.stmt]) -> dict[str, ast.AST]:
    """The names a stub body declares (functions, classes, annotated or assigned names), minus
    the stub's own type aliases (annotated ``TypeAlias``)."""
    out: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not (isinstance(node.annotation, ast.Name) and node.annotation.id == "TypeAlias"):
                out[node.target.id] = node
        elif isinstance(node, ast.Assign):
            out.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
    return out


def _public_of_module(module: types.ModuleType) -> set[str]:
    """The public names the compiled module itself defines (not those it imports)."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if getattr(value, "__module__", module.__name__) != module.__name__ \
                and not isinstance(value, (int, str, tuple, dict)):
            continue  # imported: ResultCode, the domain checks, the typed errors
        names.add(name)
    return names


def _parameters(node: ast.FunctionDef) -> list[str]:
    args = node.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
            if a.arg != "self"]


def _runtime_parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def test_the_installed_package_is_typed():
    """PEP 561: the marker and both stubs are installed with the package (package data)."""
    assert importlib.resources.files("liqspec").joinpath("py.typed").is_file()
    for module_name in COMPILED:
        assert _stub(module_name).body, module_name


@pytest.mark.parametrize("module_name", COMPILED)
def test_stub_declares_every_public_name_of_the_compiled_module(module_name):
    module = importlib.import_module(module_name)
    declared = _declared(_stub(module_name).body)
    public_declared = {n for n in declared if not n.startswith("_")}
    assert _public_of_module(module) == public_declared
    for name, node in declared.items():  # private ones too (the event buffer)
        assert hasattr(module, name), f"the stub declares {name}, the module has none"
        if isinstance(node, ast.FunctionDef):
            assert _parameters(node) == _runtime_parameters(getattr(module, name)), name


def test_engine_stub_matches_the_engine_class():
    """Every public method, property and attribute of Engine is in the stub with the same
    parameter names, and the stub declares nothing Engine lacks."""
    from liqspec.fast import _engine

    classes = {n.name: n for n in _stub("liqspec.fast._engine").body
               if isinstance(n, ast.ClassDef)}
    assert set(classes) == {"Engine", "_EventBuffer"}
    for name, node in classes.items():
        runtime = getattr(_engine, name)
        members = _declared(node.body)
        assert {n for n in dir(runtime) if not n.startswith("_")} == set(members), name
        for member, definition in members.items():
            if isinstance(definition, ast.FunctionDef) and not definition.decorator_list:
                assert _parameters(definition) == _runtime_parameters(
                    getattr(runtime, member)), f"{name}.{member}"
    # the stub's properties are the read-only descriptors, its attributes the writable ones
    engine = _engine.Engine()
    descriptors = {n for n in dir(_engine.Engine)
                   if isinstance(getattr(_engine.Engine, n), types.GetSetDescriptorType)}
    read_only = set()
    for name in descriptors:
        try:
            setattr(engine, name, None)
        except AttributeError:
            read_only.add(name)
    body = classes["Engine"].body
    assert read_only == {n.name for n in body if isinstance(n, ast.FunctionDef) and any(
        isinstance(d, ast.Name) and d.id == "property" for d in n.decorator_list)}
    assert descriptors - read_only == {n.target.id for n in body if isinstance(n, ast.AnnAssign)
                                       and isinstance(n.target, ast.Name)}


def test_mypy_reports_no_error_on_the_public_surface(tmp_path):
    """mypy over the installed packages and modules named above, with the repository's
    configuration (scope in this module's docstring); run where the source tree is not, so the
    installed package and its stubs are what is checked."""
    command = [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT),
               "--cache-dir", str(tmp_path / "cache"),
               *(arg for name in CHECKED_PACKAGES for arg in ("-p", name)),
               *(arg for name in CHECKED_MODULES for arg in ("-m", name))]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
    installed = Path(importlib.import_module("liqspec.fast").__file__).parent
    assert installed.resolve() != (PYPROJECT.parent / "fast").resolve()  # not the source tree


def test_mypy_reads_the_stubs(tmp_path):
    """A caller's misuse of the compiled modules is a type error: the stubs are what mypy sees
    (without them every name of a compiled module would be Any and nothing would be caught)."""
    client = tmp_path / "client.py"
    client.write_text("from liqspec.fast import _engine, _kernels\n"
                      "engine = _engine.Engine()\n"
                      "engine.deposit(0)\n"
                      "flags: str = _kernels.liquidatable_flags([], [[]], [], None)\n"
                      "modes: int = _engine.ORDER_MODES\n", encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT),
               "--cache-dir", str(tmp_path / "cache"), str(client)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Missing positional argument "amount" in call to "deposit"' in result.stdout
    assert 'incompatible type "None"; expected "MarketTables"' in result.stdout
    assert "client.py:4: error: Incompatible types in assignment" in result.stdout
    assert "client.py:5: error: Incompatible types in assignment" in result.stdout
