"""The rule registry: ties each spec rule ID to the reference function that implements it.

``@implements("LIQ-MARGIN-3")`` records the function under that ID and appends the ID to its
docstring, so the spec, the code, the proofs and the tests can all be joined on the rule ID.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

RULE_ID_PATTERN = re.compile(r"\bLIQ-[A-Z]+-\d+\b")

F = TypeVar("F", bound=Callable[..., object])

#: rule ID -> qualified names of the reference functions that implement it
REGISTRY: dict[str, list[str]] = {}


def implements(*rule_ids: str) -> Callable[[F], F]:
    """Mark a reference function as the implementation of one or more spec rules."""
    for rule_id in rule_ids:
        if not RULE_ID_PATTERN.fullmatch(rule_id):
            raise ValueError(f"malformed rule ID {rule_id!r}")

    def mark(function: F) -> F:
        name = f"{function.__module__}.{function.__qualname__}"
        for rule_id in rule_ids:
            REGISTRY.setdefault(rule_id, []).append(name)
        function.__rule_ids__ = tuple(rule_ids)  # type: ignore[attr-defined]
        return function

    return mark
