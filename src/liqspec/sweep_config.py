"""Sweep files: a base scenario, parameter overrides over a grid and a list of points, price-path
generators and seeds, loaded and checked before any run starts, then expanded into runs.

A complete example, every key shown (optional keys carry their default)::

    name = "fund-vs-depth"               # required: a short name for reports
    description = "..."                  # optional, ""
    scenario = "default"                 # optional, "default": the embedded default scenario;
                                         # or a scenario file (liqspec.scenario), relative to
                                         # this file; or an inline [scenario] table (its [path]
                                         # may be left out: the sweep's paths replace it)
    seeds = 16                           # optional, 1: seeds 0..15; or a list, [3, 17, 99]

    [grid]                               # optional: every combination of these lists
    insurance_fund = ["5000", "20000", "80000"]
    book_lots_per_level = [150, 300, 600]

    [[points]]                           # optional: explicit combinations, each crossed with
    leverage_max = "20"                  # the grid (a parameter is in one or the other)
    [[points]]
    leverage_max = "100"

    [paths.crash]                        # one or more generators (liqspec.sweep_paths);
    kind = "shock"                       # a parameter given as a list is swept too
    drop = ["0.04", "0.08", "0.12"]      # shock: fraction in (0, 1)
    steps = 120                          # every kind: integer >= 1
    step_seconds = 5                     # every kind: integer >= 1
    hold_steps = 12                      # shock, optional, 0

    [paths.regime]
    kind = "merton"                      # or "gbm" (no jump_* keys)
    steps = 360
    step_seconds = 5
    drift = "0"                          # optional, "0": annual drift of ln price
    volatility = "1.2"                   # annual volatility, >= 0
    jump_intensity = "8760"              # merton: jumps per year, >= 0
    jump_mean = "-0.03"                  # merton: mean jump of ln price
    jump_std = "0.02"                    # merton: its standard deviation, >= 0

    [paths.replay]
    kind = "bootstrap"
    file = "btc_5s.csv"                  # a CSV with a header, relative to this file
    column = "price"                     # optional, "price": the column of prices
    block = 12                           # optional, 1: block length in steps
    steps = 360
    step_seconds = 5

    [plots]
    heatmap = ["insurance_fund", "book_lots_per_level"]   # optional: two swept parameters;
                                         # default: the first two grid parameters

The parameters (:data:`PARAMETERS`): ``profile`` (a venue; the scenario's markets map to the
new venue's by position), ``insurance_fund`` (quote), ``maintenance_scale`` (every maintenance
rate times this, rounded up to a ppm; deductions recomputed so requirements stay continuous),
``book_levels``, ``book_spacing``, ``book_lots_per_level`` (every market's book),
``leverage_min``, ``leverage_max``, ``leverage_distribution``, ``long_fraction`` (the synthetic
book), ``mark_rule``, ``mark_band`` (ignored where the rule is ``last_fill``),
``bad_debt_policy`` (``adl``, ``socialize`` or ``socialize_both_sides``), ``adl_ranking`` and
``adl_price``. Values are written as in a scenario: decimals as strings, counts as integers,
never TOML floats.

Runs and keys
-------------
The runs are: each point (or one empty point) x each grid combination x each generator's
parameter combinations x each seed (a shock draws nothing: it runs once, with no seed). A run's
key is the first 16 hex digits of SHA-256 over the base scenario's fingerprint, its parameters,
its path and its seed (:func:`run_key`): the same run has the same key in every sweep, which is
what resumption and the table's order rest on.

Errors
------
Every problem is a :class:`SweepError` naming the field (``paths.regime.volatility``,
``grid.insurance_fund``, ``grid.book_level`` with a "did you mean"), found before any run starts:
each combination of scenario parameters is built once, on a one-account book, with the scenario's
own checks, and an error there names the sweep field whose value caused it.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import itertools
import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from liqspec.reference.arithmetic import INT64_MAX, PPM, div_ceil
from liqspec.reference.errors import LiqspecError, ResultCode
from liqspec.reference.profile import (AdlPrice, AdlRanking, BadDebtPolicy, LiquidationSize,
                                      MarketKind, Profile, Tier)
from liqspec.reference.profiles import PROFILES
from liqspec.reference.state import INSURANCE_FUND
from liqspec.scenario import (PPM_DECIMALS, Scenario, ScenarioError, default_text,
                              parse_scenario, parse_toml, read_text, resolve_file)
# the scenario loader's typed readers: a sweep file's fields are checked by the same code
from liqspec.scenario import _decimal as scenario_decimal
from liqspec.scenario import _decimal_text as scenario_decimal_text
from liqspec.scenario import _integer as scenario_integer
from liqspec.scenario import _kind as scenario_kind
from liqspec.scenario import _string as scenario_string
from liqspec.scenario import _table as scenario_table
from liqspec.scenario import _unknown as scenario_unknown
from liqspec.statefile import field_units
from liqspec.synthetic import LEVERAGE_DISTRIBUTIONS

from .sweep_paths import BOOTSTRAP, GBM, KINDS, MERTON, SHOCK, PathSpec, canonical_json, \
    log_returns

#: the embedded default sweep, inside the installed package
DEFAULT_SWEEP_RESOURCE = "data/default_sweep.toml"
#: the version of the run-key recipe: a change of what a run means changes it
KEY_FORMAT = 1
MAX_SEEDS = 1_000_000
MAX_RUNS = 10_000_000


class SweepError(ScenarioError):
    """A sweep file is malformed; ``path`` names the field (``paths.regime.volatility``)."""


@dataclass(frozen=True)
class Parameter:
    """An override a sweep may vary: its value type and what it changes."""

    name: str
    kind: str  # "decimal", "integer" or "choice"
    target: str  # "book" (rebuilds the accounts), "scenario" or "profile"
    choices: tuple[str, ...] = ()
    help: str = ""


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("profile", "choice", "book", tuple(PROFILES), "venue profile"),
    Parameter("insurance_fund", "decimal", "scenario", help="insurance fund at the start, quote"),
    Parameter("maintenance_scale", "decimal", "profile", help="factor on maintenance rates"),
    Parameter("book_levels", "integer", "scenario", help="book levels per side"),
    Parameter("book_spacing", "decimal", "scenario", help="book level spacing, a fraction"),
    Parameter("book_lots_per_level", "integer", "scenario", help="book depth: lots per level"),
    Parameter("leverage_min", "decimal", "book", help="synthetic book: lowest leverage"),
    Parameter("leverage_max", "decimal", "book", help="synthetic book: highest leverage"),
    Parameter("leverage_distribution", "choice", "book", LEVERAGE_DISTRIBUTIONS,
              "synthetic book: leverage distribution"),
    Parameter("long_fraction", "decimal", "book", help="synthetic book: share of longs"),
    Parameter("mark_rule", "choice", "scenario", ("index_band", "last_fill"), "mark rule"),
    Parameter("mark_band", "decimal", "scenario", help="index band of the mark, a fraction"),
    Parameter("bad_debt_policy", "choice", "profile", tuple(BadDebtPolicy), "deleveraging policy"),
    Parameter("adl_ranking", "choice", "profile", tuple(AdlRanking), "ADL ranking"),
    Parameter("adl_price", "choice", "profile", (AdlPrice.BANKRUPTCY, AdlPrice.MARK), "ADL price"),
)}

_BOOK_KEYS = {"book_levels": "levels", "book_spacing": "spacing",
              "book_lots_per_level": "lots_per_level"}
_SYNTHETIC_PARAMS = ("leverage_min", "leverage_max", "leverage_distribution", "long_fraction")

#: each generator kind's keys: required, then optional with defaults
_PATH_KEYS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    SHOCK: (("drop", "steps", "step_seconds"), {"hold_steps": 0}),
    GBM: (("volatility", "steps", "step_seconds"), {"drift": "0"}),
    MERTON: (("volatility", "jump_intensity", "jump_mean", "jump_std", "steps", "step_seconds"),
             {"drift": "0"}),
    BOOTSTRAP: (("file", "steps", "step_seconds"), {"column": "price", "block": 1}),
}
#: path keys that take one value (not swept as a list)
_PATH_SCALAR_KEYS = ("kind", "file", "column")
#: the path table's parameter columns, in this order, with their value type
PATH_COLUMNS: dict[str, str] = {
    "steps": "integer", "step_seconds": "integer", "drop": "decimal", "hold_steps": "integer",
    "drift": "decimal", "volatility": "decimal", "jump_intensity": "decimal",
    "jump_mean": "decimal", "jump_std": "decimal", "file": "choice", "column": "choice",
    "block": "integer",
}
_MAX_PATH_STEPS = 1_000_000

# A placeholder path for a base scenario that has none: the sweep's generators replace it.
_PLACEHOLDER_PATH = {"kind": "shock", "drop": "0.01", "steps": 1, "step_seconds": 1}


# -- the loaded sweep -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BaseScenario:
    """The base scenario as a TOML document, with everything a worker needs to build it anywhere:
    a positions file travels as its bytes (``files``: SHA-256 -> (suffix, bytes)) and the
    document names it as ``sha256:<digest>``."""

    document: Mapping
    files: Mapping[str, tuple[str, bytes]]
    fingerprint: str

    @property
    def synthetic(self) -> bool:
        return "synthetic" in self.document


@dataclass(frozen=True)
class Override:
    """One value of one parameter, and where in the sweep file it was written."""

    name: str
    value: object
    origin: str  # "grid.insurance_fund[2]", "points[0].leverage_max"


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep (see the module docstring)."""

    name: str
    description: str
    base: BaseScenario
    grid: Mapping[str, tuple[Override, ...]]
    points: tuple[tuple[Override, ...], ...]
    paths: tuple[PathSpec, ...]
    seeds: tuple[int, ...]
    heatmap: tuple[str, ...]
    source: str = "<sweep>"

    @property
    def parameters(self) -> tuple[str, ...]:
        """The swept parameters, in :data:`PARAMETERS` order (the table's columns)."""
        used = set(self.grid) | {o.name for point in self.points for o in point}
        return tuple(name for name in PARAMETERS if name in used)

    @property
    def path_columns(self) -> tuple[str, ...]:
        used = {k for spec in self.paths for k in spec.raw}
        return tuple(k for k in PATH_COLUMNS if k in used)


@dataclass(frozen=True)
class Variant:
    """One combination of scenario parameters, resolved to integers by the scenario's loader."""

    overrides: tuple[Override, ...]
    book_key: str
    fund_quote: int
    mark_kind: str
    mark_band_ppm: int
    books: tuple[tuple[str, int, int, int], ...]  # (market, levels, spacing_ppm, lots_per_level)
    profile_changes: tuple[tuple[str, object], ...]  # (parameter, value), applied in order


@dataclass(frozen=True)
class RunSpec:
    """One run: a variant, a path generator, a seed, and its key."""

    run_key: str
    variant_index: int  # into Plan.variants
    path_index: int  # into SweepConfig.paths
    seed: int | None


@dataclass
class Plan:
    """Everything a sweep will run: the runs in key order and the payload the workers share
    (the book documents by key, the variants, the path generators)."""

    config: SweepConfig
    runs: list[RunSpec]
    variants: list[Variant]
    books: dict[str, tuple[Mapping, Mapping[str, tuple[str, bytes]]]] = field(default_factory=dict)

    def payload(self) -> dict:
        return {"books": self.books, "variants": self.variants, "paths": list(self.config.paths)}


# -- small typed readers --------------------------------------------------------------------------

T = TypeVar("T")


def _checked(reader: Callable[..., T], *args: object) -> T:
    """Call one of the scenario loader's readers (each check written once), re-raising its error
    as a SweepError on the same field."""
    try:
        return reader(*args)
    except SweepError:
        raise
    except ScenarioError as error:
        raise _as_sweep_error(error) from None


def _as_sweep_error(error: ScenarioError) -> SweepError:
    return SweepError(error.path, error.reason, error.code, error.line, error.column)


def _fail(path: str, reason: str, code: ResultCode = ResultCode.MALFORMED_STATE) -> SweepError:
    return SweepError(path, reason, code)


def _table(value: object, path: str, required: tuple[str, ...] = (),
           optional: tuple[str, ...] = ()) -> dict:
    return _checked(scenario_table, value, path, required, optional)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _integer(value: object, path: str, low: int, high: int) -> int:
    return _checked(scenario_integer, value, path, low, high)


def _string(value: object, path: str) -> str:
    return _checked(scenario_string, value, path)


def _decimal_text(value: object, path: str) -> str:
    return _checked(scenario_decimal_text, value, path)


def _model_number(value: object, path: str, low: float | None = None,
                  what: str = "must not be negative") -> float:
    """A model input (drift, volatility, jump terms) as a float, from an exact decimal."""
    text = _decimal_text(value, path)
    number = float(Decimal(text))
    if not math.isfinite(number):
        raise _fail(path, f"{text!r} is too large")
    if low is not None and number < low:
        raise _fail(path, f"{what}, got {text!r}", ResultCode.INVALID_RATE)
    return number


def _ppm(value: object, path: str) -> int:
    return _checked(scenario_decimal, value, PPM_DECIMALS, path,
                    "a fraction must be a whole number of parts per million")


def _values(value: object, path: str) -> list[tuple[object, str]]:
    """A scalar or a non-empty list: (value, where it is written) pairs."""
    if isinstance(value, list):
        if not value:
            raise _fail(path, "empty grid: give at least one value")
        return [(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return [(value, path)]


def _unknown_parameter(name: str, path: str) -> SweepError:
    return _as_sweep_error(scenario_unknown(path, name, list(PARAMETERS), "parameter"))


def _override(name: str, value: object, path: str) -> Override:
    """Check a value's type for its parameter (ranges are the scenario loader's business)."""
    parameter = PARAMETERS[name]
    if parameter.kind == "integer":
        value = _integer(value, path, 1, INT64_MAX)
    elif parameter.kind == "choice":
        text = _string(value, path)
        if text not in parameter.choices:
            raise _as_sweep_error(scenario_unknown(path, text, list(parameter.choices),
                                                   parameter.help))
        value = text
    else:
        value = _decimal_text(value, path)
        if name == "maintenance_scale" and Decimal(value) <= 0:
            raise _fail(path, f"a scale must be positive, got {value!r}", ResultCode.INVALID_RATE)
    return Override(name, value, path)


# -- parsing --------------------------------------------------------------------------------------

_TOP_REQUIRED = ("name", "paths")
_TOP_OPTIONAL = ("description", "scenario", "seeds", "grid", "points", "plots")


def _file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _base(value: object, base_dir: Path | None) -> BaseScenario:
    """The base scenario's document: "default", a file, or an inline table."""
    where = "scenario"
    scenario_dir = base_dir
    if value == "default":
        document = parse_toml(default_text())
        scenario_dir = None
    elif isinstance(value, str):
        file = resolve_file(value, base_dir)
        if not file.is_file():
            raise _fail(where, f"no such scenario file: {str(file)!r} (or \"default\")")
        try:
            document = parse_toml(read_text(file))
        except ScenarioError as error:
            raise _fail(where, f"{str(file)!r}: {error.reason}") from None
        scenario_dir = file.parent
    elif isinstance(value, dict):
        document = copy.deepcopy(value)
    else:
        raise _fail(where, f"expected \"default\", a scenario file or a table, got "
                           f"{scenario_kind(value)}")
    if not isinstance(document, dict):
        raise _fail(where, "expected a table")
    document.setdefault("path", dict(_PLACEHOLDER_PATH))
    files: dict[str, tuple[str, bytes]] = {}
    positions = document.get("positions")
    if isinstance(positions, dict) and isinstance(positions.get("file"), str):
        file = resolve_file(positions["file"], scenario_dir)
        if not file.is_file():
            raise _fail("scenario.positions.file", f"no such file: {str(file)!r}")
        data = file.read_bytes()
        digest = _file_digest(data)
        files[digest] = (file.suffix, data)
        positions["file"] = f"sha256:{digest}{file.suffix}"
    try:  # the base must load as it is: its own errors name the scenario's field
        materialized = materialize(document, files)
        parse_scenario(_one_account(materialized), base_dir=None)
    except ScenarioError as error:
        raise _fail(_join(where, error.path), error.reason, error.code) from None
    fingerprint = hashlib.sha256(canonical_json({"document": document}).encode("ascii"))
    return BaseScenario(document, files, fingerprint.hexdigest())


def materialize(document: Mapping, files: Mapping[str, tuple[str, bytes]],
                folder: Path | None = None) -> dict:
    """The document with its ``sha256:`` positions file written out (once) into ``folder`` (the
    system's temporary folder by default) and named by its path there."""
    import tempfile

    result = copy.deepcopy(dict(document))
    positions = result.get("positions")
    if isinstance(positions, dict) and str(positions.get("file", "")).startswith("sha256:"):
        name = positions["file"][len("sha256:"):]
        digest = name.split(".", 1)[0]
        target = Path(folder or tempfile.gettempdir()) / f"liqspec-sweep-{name}"
        if not target.is_file():
            partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
            partial.write_bytes(files[digest][1])
            partial.replace(target)
        positions["file"] = str(target)
    return result


def _one_account(document: dict) -> dict:
    """The document with a one-account synthetic book: every check, none of the cost."""
    if "synthetic" in document and isinstance(document["synthetic"], dict):
        document = dict(document)
        document["synthetic"] = {**document["synthetic"], "accounts": 1}
    return document


def _seeds(value: object) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            raise _fail("seeds", "empty grid: give at least one seed")
        seeds = tuple(_integer(v, f"seeds[{i}]", 0, INT64_MAX) for i, v in enumerate(value))
        if len(set(seeds)) != len(seeds):
            raise _fail("seeds", "a seed appears more than once")
        return seeds
    return tuple(range(_integer(value, "seeds", 1, MAX_SEEDS)))


def _grid(value: object) -> dict[str, tuple[Override, ...]]:
    table = _table(value, "grid", optional=tuple(value) if isinstance(value, dict) else ())
    grid = {}
    for name, raw in table.items():
        where = _join("grid", name)
        if name not in PARAMETERS:
            raise _unknown_parameter(name, where)
        grid[name] = tuple(_override(name, v, w) for v, w in _values(raw, where))
    return grid


def _points(value: object, grid: Mapping[str, object]) -> tuple[tuple[Override, ...], ...]:
    if not isinstance(value, list) or not value:
        raise _fail("points", "expected a non-empty array of tables ([[points]])")
    points = []
    for i, raw in enumerate(value):
        where = f"points[{i}]"
        table = _table(raw, where, optional=tuple(raw) if isinstance(raw, dict) else ())
        point = []
        for name, v in table.items():
            if name not in PARAMETERS:
                raise _unknown_parameter(name, _join(where, name))
            if name in grid:
                raise _fail(_join(where, name), f"{name} is already swept in [grid]")
            point.append(_override(name, v, _join(where, name)))
        points.append(tuple(point))
    return tuple(points)


def _path_specs(name: str, raw: object, base_dir: Path | None) -> list[PathSpec]:
    where = _join("paths", name)
    if not isinstance(raw, dict):
        raise _fail(where, f"expected a table, got {scenario_kind(raw)}")
    if "kind" not in raw:
        raise _fail(_join(where, "kind"), f"required key is missing ({', '.join(KINDS)})")
    kind = _string(raw["kind"], _join(where, "kind"))
    if kind not in KINDS:
        raise _as_sweep_error(scenario_unknown(_join(where, "kind"), kind, list(KINDS),
                                               "generator"))
    required, defaults = _PATH_KEYS[kind]
    table = _table(raw, where, required=("kind",) + required, optional=tuple(defaults))
    merged = {**defaults, **{k: v for k, v in table.items() if k != "kind"}}
    history = digest = None
    if kind == BOOTSTRAP:
        history, digest = _history(merged, where, base_dir)
    # each key: its (raw value, parsed number) choices, a list sweeping them
    choices: dict[str, list[tuple[object, int | float | None]]] = {}
    for key, value in merged.items():
        at = _join(where, key)
        if key in _PATH_SCALAR_KEYS:
            choices[key] = [(_string(value, at), None)]
            continue
        choices[key] = [(v if not isinstance(v, str) else v.strip(), _path_number(key, v, w))
                        for v, w in _values(value, at)]
    specs = []
    keys = list(choices)
    for combo in itertools.product(*(choices[k] for k in keys)):
        raw_values = {k: c[0] for k, c in zip(keys, combo)}
        numbers = {(f"{k}_ppm" if k == "drop" else k): c[1] for k, c in zip(keys, combo)
                   if c[1] is not None}
        specs.append(PathSpec(name, kind, int(numbers["steps"]),
                              int(numbers["step_seconds"]), raw_values, numbers, history,
                              digest))
    return specs


def _path_number(key: str, value: object, path: str) -> int | float:
    if key == "steps":
        return _integer(value, path, 1, _MAX_PATH_STEPS)
    if key in ("step_seconds", "block"):
        return _integer(value, path, 1, 10**9)
    if key == "hold_steps":
        return _integer(value, path, 0, _MAX_PATH_STEPS)
    if key == "drop":
        ppm = _ppm(value, path)
        if not 0 < ppm < PPM:
            raise _fail(path, f"{value!r} must be a fraction in (0, 1)", ResultCode.INVALID_RATE)
        return ppm
    if key in ("volatility", "jump_std"):
        return _model_number(value, path, 0.0, "must not be negative")
    if key == "jump_intensity":
        return _model_number(value, path, 0.0, "a jump intensity must not be negative")
    return _model_number(value, path)  # drift, jump_mean: any sign


def _history(table: dict, where: str, base_dir: Path | None) -> tuple:
    """The bootstrap's CSV: read now, so a missing file or column is an error before any run."""
    at = _join(where, "file")
    name = _string(table["file"], at)
    file = resolve_file(name, base_dir)
    if not file.is_file():
        raise _fail(at, f"no such price CSV: {str(file)!r}")
    column = _string(table.get("column", "price"), _join(where, "column"))
    data = file.read_bytes()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise _fail(at, f"{str(file)!r} is not UTF-8 text") from None
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise _fail(_join(where, "column"), f"{str(file)!r} has no column {column!r} "
                                            f"(columns: {', '.join(reader.fieldnames or [])})")
    prices = []
    for row_number, row in enumerate(reader, start=2):
        text = (row.get(column) or "").strip()
        try:
            price = Decimal(text)
        except InvalidOperation:
            price = Decimal(0)
        if not price.is_finite() or price <= 0:
            raise _fail(at, f"{file.name} line {row_number}: {column} must be a positive "
                            f"decimal, got {text!r}")
        prices.append(float(price))
    if len(prices) < 2:
        raise _fail(at, f"{file.name}: a bootstrap needs at least 2 prices, got {len(prices)}")
    block = table.get("block", 1)
    if isinstance(block, int) and not isinstance(block, bool) and block > len(prices) - 1:
        raise _fail(_join(where, "block"), f"a block of {block} returns is longer than the "
                                           f"{len(prices) - 1} returns of {file.name}")
    return log_returns(prices), _file_digest(data)


def parse_sweep(document: dict, base_dir: str | Path | None = None,
                source: str = "<sweep>") -> SweepConfig:
    """Build a sweep from a parsed TOML document (see the module docstring)."""
    folder = Path(base_dir) if base_dir is not None else None
    top = _table(document, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)
    name = _string(top["name"], "name")
    description = _string(top.get("description", ""), "description")
    grid = _grid(top["grid"]) if "grid" in top else {}
    points = _points(top["points"], grid) if "points" in top else ((),)
    paths_table = _table(top["paths"], "paths",
                         optional=tuple(top["paths"]) if isinstance(top["paths"], dict) else ())
    if not paths_table:
        raise _fail("paths", "empty grid: a sweep needs at least one path generator")
    paths = tuple(spec for key, raw in paths_table.items()
                  for spec in _path_specs(key, raw, folder))
    seeds = _seeds(top.get("seeds", 1))
    base = _base(top.get("scenario", "default"), folder)
    for name_ in _SYNTHETIC_PARAMS:
        used = grid.get(name_) or [o for p in points for o in p if o.name == name_]
        if used and not base.synthetic:
            raise _fail(used[0].origin, f"{name_} changes a synthetic book, and the base "
                                        f"scenario reads a positions file")
    _refuse_inverse(base, grid, points)
    swept = [n for n in PARAMETERS if n in grid or any(o.name == n for p in points for o in p)]
    heatmap = _heatmap(top.get("plots", {}), grid, swept)
    return SweepConfig(name, description, base, grid, points, paths, seeds, heatmap, source)


def _refuse_inverse(base: BaseScenario, grid: Mapping[str, tuple],
                    points: tuple[tuple[Override, ...], ...]) -> None:
    """A sweep's paths are drawn and its metrics read (lowest marks, price falls) in a market's
    linear price, which for an inverse market is coin per lot and rises as the venue's price
    falls (LIQ-INVERSE-1): a venue with an inverse market is refused, where it is named."""
    named = [("scenario.profile", base.document.get("profile"))]
    named += [(o.origin, o.value) for o in grid.get("profile", ())]
    named += [(o.origin, o.value) for p in points for o in p if o.name == "profile"]
    for origin, name in named:
        profile = PROFILES.get(str(name))
        if profile is not None and any(m.kind == MarketKind.INVERSE
                                       for m in profile.markets.values()):
            raise _fail(origin, f"profile {name} has an inverse market: sweeps run linear "
                                "markets only (their paths and metrics are in the linear "
                                "price); simulate runs an inverse scenario")


def _heatmap(value: object, grid: Mapping[str, tuple], swept: list[str]) -> tuple[str, ...]:
    table = _table(value, "plots", optional=("heatmap",))
    if "heatmap" not in table:
        varied = [n for n, values in grid.items() if len(values) > 1]
        return tuple(varied[:2])
    raw = table["heatmap"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
        raise _fail("plots.heatmap", "expected one or two parameter names")
    names = tuple(_string(v, f"plots.heatmap[{i}]") for i, v in enumerate(raw))
    for i, name in enumerate(names):
        if name not in swept:
            raise _as_sweep_error(scenario_unknown(f"plots.heatmap[{i}]", name, swept,
                                                   "swept parameter"))
    if len(set(names)) != len(names):
        raise _fail("plots.heatmap", "two different parameters, please")
    return names


def loads_sweep(text: str, base_dir: str | Path | None = None,
                source: str = "<sweep>") -> SweepConfig:
    return parse_sweep(_checked(parse_toml, text), base_dir, source)


def load_sweep(path: str | os.PathLike[str]) -> SweepConfig:
    """Read and parse a sweep file; files it names are relative to its folder."""
    path = Path(path)
    return loads_sweep(_checked(read_text, path), base_dir=path.parent, source=str(path))


def default_sweep_text() -> str:
    """The embedded default sweep's TOML (``liqspec/data/default_sweep.toml``)."""
    return resources.files("liqspec").joinpath(DEFAULT_SWEEP_RESOURCE).read_text(encoding="utf-8")


def default_sweep() -> SweepConfig:
    with resources.as_file(resources.files("liqspec").joinpath("data")) as data_dir:
        return loads_sweep(default_sweep_text(), base_dir=data_dir, source="default sweep")


# -- overrides ------------------------------------------------------------------------------------

def apply_scenario_overrides(document: Mapping, overrides: tuple[Override, ...],
                             targets: tuple[str, ...] = ("book", "scenario")) -> dict:
    """The scenario document with the overrides of those targets written into it."""
    doc = copy.deepcopy(dict(document))
    values = {o.name: o.value for o in overrides if PARAMETERS[o.name].target in targets}
    if "profile" in values:
        _rename_markets(doc, str(values["profile"]))
        _vault_for(doc, PROFILES[str(values["profile"])])
    if "insurance_fund" in values:
        doc["insurance_fund"] = values["insurance_fund"]
    for name, key in _BOOK_KEYS.items():
        if name in values and isinstance(doc.get("markets"), dict):
            for market in doc["markets"].values():
                if isinstance(market, dict) and isinstance(market.get("book"), dict):
                    market["book"] = {**market["book"], key: values[name]}
    for name in _SYNTHETIC_PARAMS:
        if name in values:
            doc["synthetic"] = {**doc.get("synthetic", {}), name: values[name]}
    if "mark_rule" in values or "mark_band" in values:
        mark = dict(doc.get("mark", {}))
        if "mark_rule" in values:
            mark["rule"] = values["mark_rule"]
        if "mark_band" in values:
            mark["band"] = values["mark_band"]
        if mark.get("rule") == "last_fill":
            mark.pop("band", None)  # a band is meaningless under last_fill: ignored there
        doc["mark"] = mark
    return doc


def _vault_for(doc: dict, profile: Profile) -> None:
    """A venue that hands accounts to a vault gets one: a profile liquidating by account share
    needs it (LIQ-SHARE-2), one with a backstop ratio keeps the scenario's choice, any other
    takes none."""
    if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
        doc.setdefault("backstop_vault", "vault")
    elif profile.backstop_ratio is None:
        doc.pop("backstop_vault", None)


def _rename_markets(doc: dict, profile_name: str) -> None:
    """Point the document at another venue: its markets map to the new venue's by position
    (BTCUSDT on Binance is XBTUSDT on BitMEX, BTC-USD on dYdX, BTC on Hyperliquid)."""
    old = PROFILES.get(str(doc.get("profile")))
    new = PROFILES[profile_name]
    doc["profile"] = profile_name
    if old is None or old is new or not isinstance(doc.get("markets"), dict):
        return
    old_ids, new_ids = list(old.markets), list(new.markets)
    rename = {}
    for market_id in doc["markets"]:
        if market_id in old_ids and old_ids.index(market_id) < len(new_ids):
            rename[market_id] = new_ids[old_ids.index(market_id)]
    doc["markets"] = {rename.get(k, k): v for k, v in doc["markets"].items()}
    path = doc.get("path")
    if isinstance(path, dict) and isinstance(path.get("prices"), dict):
        path["prices"] = {rename.get(k, k): v for k, v in path["prices"].items()}


def adjust_profile(profile: Profile, changes: tuple[tuple[str, object], ...]) -> Profile:
    """The profile with the sweep's profile parameters applied (validated by Profile itself)."""
    # each value has its field's type (a market table, a policy name, an integer): Any here
    updates: dict[str, Any] = {}
    for name, value in changes:
        if name == "maintenance_scale":
            scale_ppm = field_units(str(value), 6, name,
                                    "a scale must be a whole number of parts per million")
            updates["markets"] = {m: _scaled_market(market, scale_ppm)
                                  for m, market in profile.markets.items()}
        else:
            updates[name] = value
    return dataclasses.replace(profile, **updates) if updates else profile


def _scaled_market(market, scale_ppm: int):
    """Every maintenance rate times ``scale_ppm / 10^6``, ROUND_UP to a ppm (a requirement
    rounds up, LIQ-TIER-1), each deduction recomputed from the continuity at its floor
    (LIQ-TIER-2). A rate pushed to 100% or above the initial rate is refused by the profile."""
    tiers = []
    previous: Tier | None = None
    for tier in market.tiers:
        rate = div_ceil(tier.maint_margin_ppm * scale_ppm, PPM)
        if previous is None:
            deduction = 0
        else:
            jump = tier.floor_notional_quote * (rate - previous.maint_margin_ppm)
            if jump % PPM:
                raise LiqspecError(f"{market.market_id}: scaled maintenance deduction at "
                                   f"floor {tier.floor_notional_quote} is not a whole quantum",
                                   ResultCode.INEXACT_DECIMAL)
            deduction = previous.maint_deduction_quote + jump // PPM
        new = dataclasses.replace(tier, maint_margin_ppm=rate, maint_deduction_quote=deduction)
        tiers.append(new)
        previous = new
    return dataclasses.replace(market, tiers=tuple(tiers))


# -- expansion ------------------------------------------------------------------------------------

def _combinations(config: SweepConfig) -> list[tuple[Override, ...]]:
    names = list(config.grid)
    grid = [tuple(combo) for combo in itertools.product(*(config.grid[n] for n in names))]
    combos = []
    for point in config.points:
        for combo in grid:
            merged = {o.name: o for o in point + combo}
            combos.append(tuple(merged[n] for n in PARAMETERS if n in merged))
    return combos


#: scenario error fields -> the parameter that writes them
def _parameter_for(field_path: str) -> list[str]:
    if field_path == "insurance_fund":
        return ["insurance_fund"]
    if field_path.startswith("mark.rule"):
        return ["mark_rule"]
    if field_path.startswith("mark.band"):
        return ["mark_band"]
    for name, key in _BOOK_KEYS.items():
        if field_path.endswith(f".book.{key}"):
            return [name]
    if field_path.endswith(".book"):
        return ["book_levels", "book_spacing"]
    if field_path.startswith("synthetic."):
        return [field_path.split(".", 1)[1]]
    if field_path == "profile" or field_path.startswith("markets"):
        return ["profile"]
    return []


def _variant_error(error: LiqspecError, combo: tuple[Override, ...],
                   field_path: str | None) -> SweepError:
    by_name = {o.name: o for o in combo}
    for name in _parameter_for(field_path or ""):
        if name in by_name:
            o = by_name[name]
            return _fail(o.origin, f"{o.value!r}: {error}", error.code)
    if combo:
        listed = ", ".join(f"{o.name} = {o.value!r}" for o in combo)
        return _fail(combo[0].origin, f"the combination {listed} is refused: {error}",
                     error.code)
    return _fail("scenario", str(error), error.code)


def _resolve(config: SweepConfig, combo: tuple[Override, ...],
             books: dict) -> Variant:
    base = config.base
    document = apply_scenario_overrides(base.document, combo)
    try:
        light: Scenario = parse_scenario(_one_account(materialize(document, base.files)))
    except ScenarioError as error:
        raise _variant_error(error, combo, error.path) from None
    changes = tuple((o.name, o.value) for o in combo if PARAMETERS[o.name].target == "profile")
    try:
        adjust_profile(light.state.profile, changes)
    except LiqspecError as error:
        bad = [o for o in combo if PARAMETERS[o.name].target == "profile"]
        by_word = [o for o in bad if o.name == "maintenance_scale" and "maint" in str(error)]
        raise _variant_error(error, tuple(by_word or bad), None) from None
    # the book: everything that decides the accounts, and nothing else
    book_doc = apply_scenario_overrides(base.document, combo, targets=("book",))
    book_doc.pop("insurance_fund", None)
    book_key = hashlib.sha256(canonical_json({"book": book_doc}).encode("ascii")).hexdigest()[:16]
    books.setdefault(book_key, (book_doc, base.files))
    config_ = light.config
    return Variant(
        overrides=combo, book_key=book_key,
        fund_quote=light.state.holders.get(INSURANCE_FUND, 0),
        mark_kind=config_.mark_rule.kind, mark_band_ppm=config_.mark_rule.band_ppm,
        books=tuple((m, s.levels, s.spacing_ppm, s.lots_per_level)
                    for m, s in config_.books.items()),
        profile_changes=changes)


def run_key(base: BaseScenario, combo: tuple[Override, ...], path: PathSpec,
            seed: int | None) -> str:
    """16 hex digits of SHA-256 over what defines the run (see the module docstring)."""
    data = {"format": KEY_FORMAT, "scenario": base.fingerprint,
            "params": {o.name: o.value for o in combo}, "path": path.key_data(), "seed": seed}
    return hashlib.sha256(canonical_json(data).encode("ascii")).hexdigest()[:16]


def plan(config: SweepConfig) -> Plan:
    """Every run of the sweep, each scenario combination checked (on a one-account book) before
    anything runs; runs sorted by key."""
    combos = _combinations(config)
    count = len(combos) * sum(len(config.seeds) if p.is_random else 1 for p in config.paths)
    if count > MAX_RUNS:
        raise _fail("", f"{count:,} runs is more than {MAX_RUNS:,}: split the sweep")
    books: dict = {}
    variants = [_resolve(config, combo, books) for combo in combos]
    runs = []
    for v, variant in enumerate(variants):
        for p, path in enumerate(config.paths):
            for seed in (config.seeds if path.is_random else (None,)):
                runs.append(RunSpec(run_key(config.base, variant.overrides, path, seed), v, p,
                                    seed))
    runs.sort(key=lambda r: r.run_key)
    keys = [r.run_key for r in runs]
    if len(set(keys)) != len(keys):
        raise _fail("paths", "two runs are the same run (a repeated value in a list?)")
    return Plan(config, runs, variants, books)
