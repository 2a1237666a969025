"""What a successful operation returns (LIQ-RESULT-1)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ResultCode
from .journal import Entry
from .state import State


@dataclass(frozen=True)
class Receipt:
    """``ResultCode.OK`` plus the journal entries the operation wrote, and named amounts."""

    code: ResultCode
    seq: int
    entries: tuple[Entry, ...]
    amounts: dict[str, int] = field(default_factory=dict)


def receipt(state: State, first_entry: int, **amounts: int) -> Receipt:
    return Receipt(ResultCode.OK, state.seq, tuple(state.journal[first_entry:]), dict(amounts))
