"""The ``liqspec vectors`` and ``liqspec conform`` subcommands."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from . import harness, schema
from .harness import ConformInputError
from .vectors import COMPACT_RANDOM_CASES, COMPACT_SEED, archive_bytes, generate, write_tree

__all__ = ["configure_conform", "configure_vectors", "ConformInputError"]


def configure_vectors(vectors: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec vectors`` parser: description, options, handler and usage error."""
    vectors.description = ("Write conformance vectors (<profile>/<operation>/<suite>/<case>/ with "
                           "meta.json, pre.json, op.json and post.json or error.json) and the JSON "
                           "Schemas of every file kind. Without --seed or --cases: the compact set "
                           "shipped in the package.")
    vectors.add_argument("--out", required=True,
                         help="a new or empty folder to write into (with --archive: the file)")
    vectors.add_argument("--seed", type=harness._count, default=COMPACT_SEED,
                         help=f"the random suite's seed (default {COMPACT_SEED})")
    vectors.add_argument("--cases", type=harness._count, default=COMPACT_RANDOM_CASES,
                         help=f"random cases per profile (default {COMPACT_RANDOM_CASES})")
    vectors.add_argument("--archive", choices=("zip", "tar.gz"),
                         help="write one archive file (--out names it) instead of a tree")
    vectors.set_defaults(run=_run_vectors, usage_errors=(ConformInputError,))


def configure_conform(conform: argparse.ArgumentParser) -> None:
    """Fill the ``liqspec conform`` parser (its options: :func:`.harness.configure_parser`)."""
    harness.configure_parser(conform)
    conform.set_defaults(run=_run_conform, usage_errors=(ConformInputError,))


def _run_vectors(args: argparse.Namespace) -> str:
    made = generate(args.seed, args.cases)
    out = Path(args.out)
    try:
        if args.archive:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive_bytes(made, args.archive))
            return f"{len(made)} vectors in {out}\n"
        if out.exists() and any(out.iterdir()):
            # a case left from an earlier, larger set would be read as part of this one
            raise ConformInputError(f"--out {out}: the folder is not empty; give a new one")
        count = write_tree(made, out)
        schema.write(out / "schemas")
    except OSError as error:
        raise ConformInputError(f"--out {out}: cannot write: {error.strerror or error}") \
            from None
    return f"{len(made)} vectors ({count} files) and {len(schema.SCHEMAS)} schemas in {out}\n"


def _run_conform(args: argparse.Namespace) -> str:
    stream = io.StringIO()
    args.exit_status = harness.run(args, stream)
    return stream.getvalue()
