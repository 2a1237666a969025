"""Price-path generators for sweeps: a deterministic shock, geometric Brownian motion, Merton's
jump-diffusion and a block bootstrap of a historical price series.

A generator gives the *relative* level of the index at every step, ``level[0] = 1`` at the start;
every market of the scenario follows that one level from its own start price (one common factor:
in a crash the markets of a venue move together). The random draws are *inputs*: they come from
``numpy.random.default_rng`` seeded from the run's path key (the generator's parameters and the
seed, :func:`path_rng`), in a documented order, and they become integers at one edge,
:func:`index_ticks`, with named rounding; everything the engine decides is integer arithmetic.

Models (``dt = step_seconds / SECONDS_PER_YEAR``, a 365-day year: crypto venues never close;
drift, volatility and jump intensity are annual):

``shock``
    The scenario's own crash schedule, :func:`liqspec.reference.cascade.shock_path`: a linear fall
    of ``drop`` over ``steps`` steps, then ``hold_steps`` steps at the bottom; exact integers, no
    draws, so it ignores the seed.
``gbm``
    ``ln level`` moves by ``(drift - volatility^2 / 2) dt + volatility sqrt(dt) z`` each step.
    Draws: ``steps`` standard normals ``z``. With ``volatility = 0`` the path is
    ``exp(drift * t)`` exactly as floats compute it.
``merton``
    GBM plus jumps: each step adds ``n * jump_mean + sqrt(n) * jump_std * z2`` to ``ln level``,
    ``n`` Poisson with mean ``jump_intensity * dt``, and the drift is compensated by
    ``- jump_intensity * k * dt``, ``k = exp(jump_mean + jump_std^2 / 2) - 1``, so that the
    expected level is ``exp(drift * t)`` as in GBM. Draws, in order: ``steps`` normals ``z``,
    ``steps`` Poisson counts ``n``, ``steps`` normals ``z2``.
``bootstrap``
    A moving-block bootstrap of the log returns of a historical price series (a CSV column):
    blocks of ``block`` consecutive returns, each starting at a uniformly drawn return, are laid
    end to end until ``steps`` returns are drawn. Draws: ``ceil(steps / block)`` integers.

From level to ticks (:func:`index_ticks`)
-----------------------------------------
``factor_ppm = floor(level * 10^6)`` (ROUND_DOWN to a part per million, from the float), then
``ticks = floor(start_ticks * factor_ppm / 10^6)`` (ROUND_DOWN to a tick, exact integers), and at
least one tick (a price is positive, LIQ-DOMAIN-1). Rounding down makes a falling path fall at
least as far as the model says: the stress side. A level that is not finite, or a price beyond
the int64 domain, raises :class:`PathError`, which the run records as its error.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from liqspec.reference.arithmetic import INT64_MAX, PPM, div_floor
from liqspec.reference.cascade import PricePath, shock_path
from liqspec.reference.errors import LiqspecError, ResultCode

#: seconds in the year that annual drift, volatility and jump intensity refer to (365 days)
SECONDS_PER_YEAR = 365 * 24 * 60 * 60

SHOCK, GBM, MERTON, BOOTSTRAP = "shock", "gbm", "merton", "bootstrap"
KINDS = (SHOCK, GBM, MERTON, BOOTSTRAP)
#: generators that draw random numbers (and so run once per seed)
RANDOM_KINDS = (GBM, MERTON, BOOTSTRAP)


class PathError(LiqspecError):
    """A generated path left the price domain (a level that is not finite, or above int64;
    ``OVERFLOW``), or a path generator was asked for what it does not make
    (``MALFORMED_STATE``)."""

    def __init__(self, message: str, code: ResultCode = ResultCode.OVERFLOW):
        super().__init__(message, code)


@dataclass(frozen=True)
class PathSpec:
    """One concrete path generator: ``kind``, its length, and its parameters.

    ``raw`` holds each parameter as the sweep file wrote it (the table's columns and the run key
    read it); ``numbers`` the same parameters parsed (``drop_ppm`` an integer; the model's drift,
    volatility and jump terms floats, since they are inputs to random draws, never state).
    ``history`` is the bootstrap's log returns, ``history_sha256`` the digest of the CSV file they
    came from (part of the run key, so an edited file is a new sweep).
    """

    name: str
    kind: str
    steps: int
    step_seconds: int
    raw: Mapping[str, object]
    numbers: Mapping[str, float | int] = field(default_factory=dict)
    history: np.ndarray | None = field(default=None, compare=False, repr=False)
    history_sha256: str | None = None

    @property
    def is_random(self) -> bool:
        return self.kind in RANDOM_KINDS

    def key_data(self) -> dict:
        """What identifies the path in a run key: name, kind, length and the raw parameters."""
        data = {"name": self.name, "kind": self.kind, "steps": self.steps,
                "step_seconds": self.step_seconds,
                "params": {k: _plain(v) for k, v in sorted(self.raw.items())}}
        if self.history_sha256 is not None:
            data["history_sha256"] = self.history_sha256
        return data


def _plain(value: object) -> object:
    return value if isinstance(value, (int, str)) else str(value)


def canonical_json(data: object) -> str:
    """Sorted keys, no spaces: the bytes a key's hash is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def path_rng(spec: PathSpec, seed: int | None) -> np.random.Generator:
    """The generator's random stream for ``seed``: seeded from SHA-256 of the path's key data and
    the seed, so one seed gives the same path in every run of the sweep whatever its other
    parameters (common random numbers: a fund size is compared on the same paths)."""
    digest = hashlib.sha256(canonical_json({"path": spec.key_data(), "seed": seed})
                            .encode("ascii")).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest[:16], "big")))


def levels(spec: PathSpec, seed: int | None) -> np.ndarray:
    """The relative index level at steps ``0..steps`` (``levels[0] == 1``) of a random
    generator, as float64. (A shock is exact integers: see :func:`index_path`.)"""
    if spec.kind == SHOCK:
        raise PathError("a shock path is built in integers by index_path, not from levels",
                        ResultCode.MALFORMED_STATE)
    rng = path_rng(spec, seed)
    steps = spec.steps
    # the models' rates are annual, as risk teams quote them: a step is a fraction of a year
    step_years = spec.step_seconds / SECONDS_PER_YEAR
    n = spec.numbers
    if spec.kind in (GBM, MERTON):
        drift_per_year, volatility_per_sqrt_year = float(n["drift"]), float(n["volatility"])
        z = rng.standard_normal(steps)
        increments = ((drift_per_year - 0.5 * volatility_per_sqrt_year ** 2) * step_years
                      + volatility_per_sqrt_year * math.sqrt(step_years) * z)
        if spec.kind == MERTON:
            jumps_per_year, jump_mean, jump_std = (float(n["jump_intensity"]),
                                                   float(n["jump_mean"]), float(n["jump_std"]))
            counts = rng.poisson(jumps_per_year * step_years, steps)
            z2 = rng.standard_normal(steps)
            # the compensator keeps the expected level at the drift path's (jumps add no drift)
            compensator_per_year = jumps_per_year * (
                math.exp(jump_mean + 0.5 * jump_std * jump_std) - 1.0)
            increments = (increments - compensator_per_year * step_years + counts * jump_mean
                          + np.sqrt(counts) * jump_std * z2)
    elif spec.kind == BOOTSTRAP:
        history = spec.history
        assert history is not None and len(history) >= 1
        block = min(int(n["block"]), len(history))
        starts = rng.integers(0, len(history) - block + 1, size=-(-steps // block))
        increments = np.concatenate([history[s:s + block] for s in starts])[:steps]
    else:
        raise PathError(f"unknown path kind {spec.kind!r}", ResultCode.MALFORMED_STATE)
    log_level = np.concatenate(([0.0], np.cumsum(increments)))
    with np.errstate(over="ignore"):
        return np.exp(log_level)


def to_ticks(start_ticks: int, path_levels: np.ndarray, market_id: str = "") -> tuple[int, ...]:
    """Levels to integer prices: ROUND_DOWN to a ppm, then ROUND_DOWN to a tick, at least one
    tick; a level that is not finite or a price above int64 raises :class:`PathError`."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.floor(path_levels * PPM)
    out = []
    for step, value in enumerate(scaled.tolist()):
        if not math.isfinite(value):
            raise PathError(f"the index of {market_id or 'the market'} is not finite at step "
                            f"{step}: the model's level overflowed")
        factor_ppm = int(value)  # exact: a float that is already whole
        ticks = max(1, div_floor(start_ticks * factor_ppm, PPM))
        if ticks > INT64_MAX:
            raise PathError(f"the index of {market_id or 'the market'} leaves the int64 price "
                            f"domain at step {step} (LIQ-DOMAIN-1)")
        out.append(ticks)
    return tuple(out)


def index_path(spec: PathSpec, seed: int | None, start_ticks: Mapping[str, int]) -> PricePath:
    """The exogenous index of every market (from its start price) for this generator and seed."""
    if spec.kind == SHOCK:
        return shock_path(start_ticks, int(spec.numbers["drop_ppm"]), spec.steps,
                          spec.step_seconds, int(spec.numbers.get("hold_steps", 0)))
    relative = levels(spec, seed)
    return PricePath(spec.step_seconds, {market_id: to_ticks(start, relative, market_id)
                                         for market_id, start in start_ticks.items()})


def log_returns(prices: list[float]) -> np.ndarray:
    """Consecutive log returns of a positive price series (the bootstrap's history)."""
    values = np.asarray(prices, dtype=np.float64)
    return np.diff(np.log(values))
