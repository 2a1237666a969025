"""The event trace written a chunk at a time, from columns: Parquet, CSV and JSON lines.

Each chunk is a pyarrow RecordBatch of :data:`liqspec.bulk.EVENT_SCHEMA` (the engine's int64
columns, named); it is formatted with pyarrow's compute functions and appended to the files, so
no Python object exists per event and the text of one chunk is the most held at once.

``events.csv`` and ``events.jsonl`` are byte for byte what :func:`liqspec.simulate.
write_events_csv` and :func:`~liqspec.simulate.write_events_jsonl` write for the same events
(tested): the CSV as Python's ``csv.writer`` quotes (a field holding a comma, a double quote or
a line feed is quoted, its quotes doubled; an absent value is empty), the JSON as ``json.dumps``
with sorted keys, no spaces and ASCII escapes (text that is printable ASCII without ``"`` or
``\\`` is written as it is, anything else through ``json.dumps`` itself). ``events.parquet`` holds
the same table with its types (absent values are nulls).
When the caller knows every text is plain (built from vocabularies it checked once: account
names, markets, kinds), no field is searched at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: the keys of an events.jsonl line, in the order json.dumps(sort_keys=True) writes them
_JSON_KEYS = ("account", "detail", "kind", "lots", "market", "price_ticks", "quote", "round",
              "rule_id", "step", "time_s")
_JSON_PLAIN = r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$"  # printable ASCII but " and \
#: rows formatted as text at a time: the text of a slice and its pieces stay small (a million-row
#: batch formatted whole builds a dozen columns of a million strings each, and costs more per row)
TEXT_ROWS = 1 << 16


def _text(column: pa.Array) -> pa.Array:
    """Integers as their digits, text as it is."""
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


#: text csv.writer writes as it is and json.dumps only puts in quotes: printable ASCII but
#: a comma, a double quote and a backslash
PLAIN_TEXT = r"^[\x20\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]*$"


def is_plain(values: pa.Array) -> bool:
    """Whether every value (a vocabulary: account names, markets, kinds) is :data:`PLAIN_TEXT`,
    so that no field built from them needs quoting or escaping."""
    return bool(pc.all(pc.fill_null(pc.match_substring_regex(values, PLAIN_TEXT), True)).as_py()
                is not False)


def csv_fields(column: pa.Array, plain: bool = False) -> pa.Array:
    """One column as csv.writer writes its fields (QUOTE_MINIMAL, line terminator "\\n");
    ``plain``: its text is known to need no quoting."""
    text = pc.fill_null(_text(column), "")
    if plain or not pa.types.is_string(column.type):
        return text
    quote = pc.or_(pc.match_substring(text, ","), pc.or_(pc.match_substring(text, '"'),
                                                          pc.match_substring(text, "\n")))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(quote, quoted, text)


def json_values(column: pa.Array, plain: bool = False) -> pa.Array:
    """One column as json.dumps(ensure_ascii=True) writes its values (null for absent);
    ``plain``: its text is known to need no escaping."""
    if not pa.types.is_string(column.type):
        return pc.fill_null(_text(column), "null")
    out = pc.binary_join_element_wise('"', column, '"', "")
    if plain:
        return pc.fill_null(out, "null")
    plain_rows = pc.fill_null(pc.match_substring_regex(column, _JSON_PLAIN), True)
    if not pc.all(plain_rows).as_py():
        where = np.flatnonzero(~plain_rows.to_numpy(zero_copy_only=False))
        encoded = [json.dumps(v, ensure_ascii=True) for v in column.take(where).to_pylist()]
        values = out.to_pylist()
        for at, text in zip(where.tolist(), encoded):
            values[at] = text
        out = pa.array(values, pa.string())
    return pc.fill_null(out, "null")


def _lines(pieces: list[pa.Array]) -> bytes:
    """The pieces joined per row, each row ended by a line feed, as one buffer (the joined
    strings' data buffer is the rows back to back)."""
    lines = pc.binary_join_element_wise(*pieces, "\n", "")
    offsets = lines.buffers()[1]
    first, last = np.frombuffer(offsets, dtype=np.int32, count=len(lines) + 1,
                                offset=lines.offset * 4)[[0, -1]]
    return bytes(memoryview(lines.buffers()[2])[first:last])


def csv_chunk(batch: pa.RecordBatch, plain: bool = False) -> bytes:
    """A batch's rows as events.csv holds them (``plain``: see :func:`is_plain`)."""
    fields = [csv_fields(column, plain) for column in batch.columns]
    pieces = []
    for k, field_text in enumerate(fields):
        pieces += [field_text] if k == 0 else [",", field_text]
    return _lines(pieces)


def jsonl_chunk(batch: pa.RecordBatch, plain: bool = False) -> bytes:
    """A batch's rows as events.jsonl holds them (``plain``: see :func:`is_plain`)."""
    names = batch.schema.names
    pieces: list = ["{"]
    for k, key in enumerate(_JSON_KEYS):
        pieces += [("," if k else "") + f'"{key}":',
                   json_values(batch.column(names.index(key)), plain)]
    pieces.append("}")
    return _lines(pieces)


def write_trace(batches: Iterable[pa.RecordBatch], schema: pa.Schema, *,
                parquet: Path | None = None, csv: Path | None = None,
                jsonl: Path | None = None, plain: bool = False,
                text_rows: int = TEXT_ROWS) -> int:
    """Write every batch to the files named (each optional); returns the number of events.
    ``plain``: every text in the batches is known to be :data:`PLAIN_TEXT` (the caller checked
    the vocabularies they are built from), so no field is searched for quoting. The text files
    are formatted ``text_rows`` rows at a time (the same bytes for any value)."""
    import pyarrow.csv as pacsv

    count = 0
    writer = pq.ParquetWriter(parquet, schema) if parquet is not None else None
    # plain text needs no quoting: pyarrow's own CSV writer then writes csv.writer's bytes
    csv_out = open(csv, "wb") if csv is not None else None
    jsonl_out = open(jsonl, "wb") if jsonl is not None else None
    csv_writer = None
    try:
        if csv_out is not None:
            csv_out.write((",".join(schema.names) + "\n").encode())
            if plain:
                csv_out.flush()
                csv_writer = pacsv.CSVWriter(csv_out, schema, write_options=pacsv.WriteOptions(
                    include_header=False, quoting_style="none"))
        for batch in batches:
            count += batch.num_rows
            if not batch.num_rows:
                continue
            if writer is not None:
                writer.write_batch(batch)
            for start in range(0, batch.num_rows, text_rows):
                rows = batch.slice(start, text_rows)
                if csv_writer is not None:
                    csv_writer.write_batch(rows)
                elif csv_out is not None:
                    csv_out.write(csv_chunk(rows, plain))
                if jsonl_out is not None:
                    jsonl_out.write(jsonl_chunk(rows, plain))
    finally:
        for handle in (writer, csv_writer, csv_out, jsonl_out):  # the CSV writer first
            if handle is not None:
                handle.close()
    return count
