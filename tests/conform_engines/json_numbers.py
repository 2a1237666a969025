"""A wrong engine: the reference, answering a query's integers as JSON numbers instead of
decimal strings (the protocol's integer JSON: a reader could round them through a double)."""

import sys

from liqspec.conformance.catalogue import CATALOGUE, REFERENCE, execute
from liqspec.conformance.protocol import serve


def handler(profile, state, op):
    body = execute(REFERENCE, profile, state, op)
    result = body.get("ok", {}).get("result")
    if isinstance(result, str):
        body["ok"]["result"] = int(result)  # the bug
    return body


sys.exit(serve(handler, "json-numbers", sorted(CATALOGUE)))
