"""The reference served over the conformance protocol: ``python -m
liqspec.conformance.reference_engine``. It passes every vector by construction; it is the base
of the deliberately wrong engines in the tests and the model of a Python adapter."""

from __future__ import annotations

import sys
from typing import Any

from .catalogue import CATALOGUE, REFERENCE, execute
from .protocol import serve


def handler(implementation: Any = REFERENCE):
    """A protocol handler running requests on ``implementation`` (the reference's names)."""
    return lambda profile, state, op: execute(implementation, profile, state, op)


def main(implementation: Any = REFERENCE, name: str = "liqspec-reference") -> int:
    return serve(handler(implementation), name, sorted(CATALOGUE))


if __name__ == "__main__":
    sys.exit(main())
