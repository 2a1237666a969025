"""Where a sweep's rows go: the table's schema, Parquet part files streamed as runs finish, and an
output folder that a reader never sees half-written.

The output folder ``DIR`` is built beside itself, in ``.DIR.partial/`` (:class:`OutputFolder`):

* ``runs/part-*.parquet``: rows as runs finish, a part every ``flush_rows`` rows or
  ``flush_seconds`` seconds, each written to a hidden temporary name then renamed, so a part is
  whole or absent. A sweep killed at any point leaves its finished rows there; the same sweep
  into the same ``DIR`` reads them back (and those of ``DIR/runs/`` from an earlier complete
  sweep) and runs only the keys it does not find.
* at the end, ``runs.parquet`` and ``runs.csv`` (every row of this sweep, sorted by run key),
  ``summary.json`` and the plots are written there, the parts are merged into one, and the
  folder replaces ``DIR`` by two renames: a reader of ``DIR`` sees the previous complete set or
  the new one, never a mix.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from liqspec.reference.errors import LiqspecError

from .sweep_config import PARAMETERS, PATH_COLUMNS, Plan, RunSpec
from .sweep_exec import METRICS

#: what summary.json says it is: a folder holding it can be replaced by the next sweep
FOLDER_KIND = "liqspec-sweep"
PARTS = "runs"
PART_GLOB = "part-*.parquet"
MERGED_PART = "part-merged.parquet"

_ARROW = {"int64": pa.int64(), "bool": pa.bool_(), "string": pa.string(),
          "list<int64>": pa.list_(pa.int64())}


def schema(plan: Plan) -> pa.Schema:
    """The table's columns: key and outcome, the seed and path, every swept parameter, every
    path parameter (``path_*``), the metrics."""
    config = plan.config
    fields = [pa.field("run_key", pa.string(), nullable=False),
              pa.field("status", pa.string(), nullable=False), pa.field("error", pa.string()),
              pa.field("seed", pa.int64()), pa.field("path", pa.string()),
              pa.field("path_kind", pa.string())]
    for name in config.parameters:
        fields.append(pa.field(name, pa.int64() if PARAMETERS[name].kind == "integer"
                               else pa.string()))
    for key in config.path_columns:
        fields.append(pa.field(f"path_{key}", pa.int64() if PATH_COLUMNS[key] == "integer"
                               else pa.string()))
    fields += [pa.field(name, _ARROW[kind]) for name, kind in METRICS.items()]
    return pa.schema(fields)


def row(plan: Plan, spec: RunSpec, outcome: dict) -> dict:
    """One row of the table: the run's parameters (as the sweep file wrote them) and outcome."""
    config = plan.config
    variant = plan.variants[spec.variant_index]
    path = config.paths[spec.path_index]
    values = {o.name: o.value for o in variant.overrides}
    data = {"run_key": spec.run_key, "status": outcome.get("status", "error"),
            "error": outcome.get("error", ""), "seed": spec.seed, "path": path.name,
            "path_kind": path.kind}
    for name in config.parameters:
        data[name] = values.get(name)
    for key in config.path_columns:
        value = path.raw.get(key)
        data[f"path_{key}"] = None if value is None else (
            value if PATH_COLUMNS[key] == "integer" else str(value))
    for name in METRICS:
        data[name] = outcome.get(name)
    return data


def to_table(rows: list[dict], table_schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=table_schema)


class PartWriter:
    """Rows to ``runs/part-*.parquet``, one whole part at a time."""

    def __init__(self, folder: Path, table_schema: pa.Schema, flush_rows: int = 64,
                 flush_seconds: float = 5.0):
        self.folder = folder
        self.schema = table_schema
        self.flush_rows = max(1, flush_rows)
        self.flush_seconds = flush_seconds
        self.buffer: list[dict] = []
        self.token = uuid.uuid4().hex[:8]
        self.count = 0
        self.last = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, data: dict) -> None:
        self.buffer.append(data)
        if (len(self.buffer) >= self.flush_rows
                or time.monotonic() - self.last >= self.flush_seconds):
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.buffer:
            return
        self.count += 1
        name = f"part-{self.token}-{self.count:06d}.parquet"
        write_parquet(to_table(self.buffer, self.schema), self.folder / name)
        self.buffer = []


def write_parquet(table: pa.Table, target: Path) -> None:
    """Write whole or not at all: a hidden temporary name, then a rename."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, target)


def read_parts(folders: list[Path], table_schema: pa.Schema,
               keys: set[str] | None = None) -> pa.Table:
    """The rows of every part in ``folders`` (rows of runs not in ``keys`` dropped, one row per
    key), in the sweep's schema."""
    tables = []
    for folder in folders:
        for part in sorted(folder.glob(PART_GLOB)):
            try:
                table = pq.read_table(part)
            except (OSError, pa.ArrowInvalid):
                continue  # not a part this package wrote whole: ignored, its runs run again
            if not set(table_schema.names) <= set(table.column_names):
                continue  # a part of another sweep's columns: its runs run again
            tables.append(table.select(table_schema.names).cast(table_schema))
    if not tables:
        return table_schema.empty_table()
    table = pa.concat_tables(tables)
    seen: set[str] = set()
    keep = []
    for i, key in enumerate(table.column("run_key").to_pylist()):
        if key not in seen and (keys is None or key in keys):
            seen.add(key)
            keep.append(i)
    return table.take(pa.array(keep, type=pa.int64()))


def sorted_by_key(table: pa.Table) -> pa.Table:
    return table.sort_by([("run_key", "ascending")])


def write_csv(table: pa.Table, target: Path) -> None:
    """runs.csv: the table without the fund path (a list per row), empty cells for nulls."""
    columns = [name for name in table.column_names if name != "fund_path_quote"]
    data = {name: table.column(name).to_pylist() for name in columns}
    with open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for i in range(table.num_rows):
            writer.writerow(["" if data[c][i] is None else _cell(data[c][i]) for c in columns])


def _cell(value: object) -> object:
    return ("true" if value else "false") if isinstance(value, bool) else value


class OutputFolderError(LiqspecError):
    """The output folder cannot be used (it holds something that is not a sweep's output)."""


class OutputFolder:
    """``DIR``, built in ``.DIR.partial`` beside it and swapped in at the end."""

    def __init__(self, target: Path):
        self.target = Path(target)
        self.work = self.target.parent / f".{self.target.name}.partial"
        self._check()

    def _check(self) -> None:
        target = self.target
        if target.exists() and not target.is_dir():
            raise OutputFolderError(f"{target} exists and is not a folder")
        if target.is_dir() and any(target.iterdir()) and not self._is_sweep(target):
            raise OutputFolderError(f"{target} holds files that are not a liqspec sweep's output;"
                                    f" choose an empty or new folder")

    @staticmethod
    def _is_sweep(folder: Path) -> bool:
        try:
            return json.loads((folder / "summary.json").read_text(encoding="utf-8")).get(
                "kind") == FOLDER_KIND
        except (OSError, ValueError, AttributeError):
            return False

    @property
    def parts(self) -> Path:
        return self.work / PARTS

    def part_folders(self) -> list[Path]:
        """Where finished rows may be: this build's parts, then a complete earlier sweep's."""
        return [self.parts, self.target / PARTS]

    def open(self) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)

    def compact(self, table: pa.Table) -> None:
        """Replace the parts by one part holding ``table`` (written first, then the others
        removed: a crash in between leaves duplicates, which reading drops)."""
        merged = self.parts / MERGED_PART
        old = [part for part in self.parts.glob(PART_GLOB) if part != merged]
        write_parquet(table, merged)
        for part in old:
            part.unlink(missing_ok=True)

    def commit(self) -> None:
        """Swap the finished folder into place (two renames), then drop the previous one."""
        previous = None
        if self.target.exists():
            previous = self.target.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.target, previous)
        os.replace(self.work, self.target)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
