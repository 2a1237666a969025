"""A divergence reduced to a minimal case by delta debugging over the request's JSON.

Candidates, most reduction first: drop an account the operation does not name, a book, a
position (with its cost basis), a book level, a cascade step; then make a number smaller (0,
half, one closer to 0). A candidate is kept when the reference still answers it (a result or a
result code, never a crash) and the engine still diverges from that answer in the same way (the
same blamed rule). The engine is asked at most ``budget`` times.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from liqspec.codec import CodecError

from .catalogue import CATALOGUE, ID, OPT_ID, REFERENCE, execute

Request = dict[str, Any]  # {"profile", "state", "op"}


def _named_ids(request: Request) -> set[str]:
    entry = CATALOGUE[request["op"]["name"]]
    args = request["op"]["args"]
    named = {args[n] for n, kind in entry.args if kind in (ID, OPT_ID) and args.get(n)}
    config = args.get("config") or {}
    named |= {config.get("book_account"), config.get("backstop_vault")} - {None}
    return named | {b["account_id"] for b in request["state"].get("books", {}).values()}


def _smaller(text: str) -> list[str]:
    value = int(text)
    out = []
    for v in (0, value // 2 if value > 0 else -((-value) // 2), value - (1 if value > 0 else -1)):
        if abs(v) < abs(value) and str(v) not in out:
            out.append(str(v))
    return out


def candidates(request: Request) -> Iterator[Request]:
    state = request["state"]
    named = _named_ids(request)
    for i, account in enumerate(state["accounts"]):
        if account["account_id"] not in named:
            out = copy.deepcopy(request)
            del out["state"]["accounts"][i]
            yield out
    for market_id in list(state.get("books", {})):
        out = copy.deepcopy(request)
        del out["state"]["books"][market_id]
        yield out
    config = request["op"]["args"].get("config")
    if config:
        steps = len(next(iter(config["path"].values())))
        for j in range(steps if steps > 1 else 0):
            out = copy.deepcopy(request)
            out["op"]["args"]["config"]["path"] = {m: p[:j] + p[j + 1:]
                                                   for m, p in config["path"].items()}
            yield out
    for i, account in enumerate(state["accounts"]):
        for market_id in list(account.get("positions", {})):
            out = copy.deepcopy(request)
            target = out["state"]["accounts"][i]
            del target["positions"][market_id]
            target.get("cost_quote", {}).pop(market_id, None)
            yield out
    for market_id, book in state.get("books", {}).items():
        for side in ("bids", "asks"):
            for j in range(len(book[side])):
                out = copy.deepcopy(request)
                del out["state"]["books"][market_id][side][j]
                yield out
    for i, account in enumerate(state["accounts"]):
        for smaller in _smaller(account["quote"]):
            out = copy.deepcopy(request)
            out["state"]["accounts"][i]["quote"] = smaller
            yield out
        for key in ("positions", "cost_quote"):
            for market_id, value in account.get(key, {}).items():
                for smaller in _smaller(value):
                    if key == "positions" and smaller == "0":
                        continue
                    out = copy.deepcopy(request)
                    out["state"]["accounts"][i][key][market_id] = smaller
                    yield out
    for holder, value in state.get("holders", {}).items():
        for smaller in _smaller(value):
            out = copy.deepcopy(request)
            out["state"]["holders"][holder] = smaller
            yield out


def reference_answer(request: Request) -> dict[str, Any] | None:
    """The reference's answer, or None where the request does not build or crashes it."""
    try:
        return execute(REFERENCE, request["profile"], request["state"], request["op"])
    except (CodecError, ArithmeticError, AssertionError, KeyError, TypeError, ValueError):
        return None


def shrink(request: Request, signature: Callable[[Request, dict[str, Any] | None], Any],
           budget: int = 150) -> tuple[Request, int]:
    """The smallest request found that keeps ``signature(request, reference answer)`` (not None,
    equal to the original's); returns it and the number of engine questions asked."""
    want = signature(request, reference_answer(request))
    asked = 0
    progress = True
    while progress and asked < budget:
        progress = False
        for candidate in candidates(request):
            expected = reference_answer(candidate)
            if expected is None:
                continue
            asked += 1
            if signature(candidate, expected) == want:
                request, progress = candidate, True
                break
            if asked >= budget:
                break
    return request, asked
