"""liqspec.trace_stream formats the text files a slice of rows at a time: the bytes must not
depend on where the slices fall (rows whose fields need quoting included)."""

import pyarrow as pa

from liqspec import bulk
from liqspec.trace_stream import csv_chunk, jsonl_chunk, write_trace


def _batches():
    crash = bulk.run(bulk.default_bulk_scenario())
    return list(crash.event_batches(chunk_events=1000)), crash.plain_text()


def test_text_files_are_the_same_bytes_for_any_slice_size(tmp_path):
    batches, plain = _batches()
    rows = sum(b.num_rows for b in batches)
    assert rows > 2000 and len(batches) > 2
    table = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    for plain_text in (plain, False):  # pyarrow's CSV writer, and the quoting path
        whole_csv = csv_chunk(table, plain_text)
        whole_jsonl = jsonl_chunk(table, plain_text)
        for text_rows in (7, 999, 1 << 16):
            csv_path, jsonl_path = tmp_path / f"{text_rows}.csv", tmp_path / f"{text_rows}.jsonl"
            assert write_trace(iter(batches), bulk.EVENT_SCHEMA, csv=csv_path, jsonl=jsonl_path,
                               plain=plain_text, text_rows=text_rows) == rows
            header = (",".join(bulk.EVENT_SCHEMA.names) + "\n").encode()
            assert csv_path.read_bytes() == header + whole_csv, text_rows
            assert jsonl_path.read_bytes() == whole_jsonl, text_rows
