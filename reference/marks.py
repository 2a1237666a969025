"""Mark prices: the price every margin rule values positions at (LIQ-MARK-1), and how a cascade's
fills move it (LIQ-MARK-2)."""

from __future__ import annotations

from dataclasses import dataclass

from .arithmetic import PPM, div_ceil, div_floor, require_int
from .errors import MalformedState
from .profile import Policy
from .receipts import Receipt, receipt
from .rules import implements
from .state import State, atomic
from .validation import valid_price


@implements("LIQ-MARK-1")
def check_set_mark(state: State, market_id: str, price_ticks: int) -> None:
    """The checks of :func:`set_mark`, in its order (the market, the price); pure."""
    state.market(market_id)
    valid_price(price_ticks, "mark price")


@implements("LIQ-MARK-1")
def set_mark(state: State, market_id: str, price_ticks: int) -> Receipt:
    """Move a market's mark to ``price_ticks`` (a positive tick count). No quote moves: equity and
    requirements are derived from the mark, never stored."""
    check_set_mark(state, market_id, price_ticks)
    first = len(state.journal)
    with atomic(state):
        state.save_mark(market_id)
        state.marks[market_id] = price_ticks
    return receipt(state, first)


class MarkKind(Policy):
    """How a cascade's fills move the mark (LIQ-MARK-2); see :class:`MarkRule`."""

    INDEX_BAND = "index_band"
    LAST_FILL = "last_fill"


@dataclass(frozen=True)
class MarkRule:
    """How fills move the mark (LIQ-MARK-2).

    ``index_band``: the mark is the last fill price of the round clamped to within ``band_ppm`` of
    the index (index-coupled, as Binance's and Bybit's marks are); with no fill it stays, and at a
    new step its basis (mark less index) carries over to the new index, clamped to the band. A
    band of 0 pins the mark to the index (dYdX's oracle price). ``last_fill``: the last
    fill price itself; at a new step it opens at the index, where the rebuilt book is centred.
    """

    kind: str = MarkKind.INDEX_BAND
    band_ppm: int = 5_000

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in tuple(MarkKind):
            raise MalformedState(f"unknown mark rule {self.kind!r}; "
                                 f"known: {', '.join(MarkKind)}")
        if not 0 <= require_int(self.band_ppm, "band_ppm") < PPM:
            raise MalformedState("mark band_ppm must be in 0..999_999")


def _band(rule: MarkRule, index_ticks: int) -> tuple[int, int]:
    """The band around the index, its bounds rounded toward the index."""
    return (div_ceil(index_ticks * (PPM - rule.band_ppm), PPM),
            div_floor(index_ticks * (PPM + rule.band_ppm), PPM))


@implements("LIQ-MARK-2")
def next_mark(rule: MarkRule, index_ticks: int, last_fill_ticks: int | None,
              mark_ticks: int) -> int:
    """The mark after a round: unchanged without a fill; else the last fill, clamped for
    ``index_band`` to the band around the index (bounds rounded toward the index)."""
    if last_fill_ticks is None:
        return mark_ticks
    if rule.kind == MarkKind.LAST_FILL:
        return last_fill_ticks
    low, high = _band(rule, index_ticks)
    return min(max(last_fill_ticks, low), high)


@implements("LIQ-MARK-2")
def opening_mark(rule: MarkRule, index_ticks: int, previous_index_ticks: int,
                 previous_mark_ticks: int) -> int:
    """The mark at the start of a step: ``index_band`` carries the previous step's basis (mark
    less index) over to the new index, clamped to its band; ``last_fill`` opens at the index."""
    if rule.kind == MarkKind.LAST_FILL:
        return index_ticks
    low, high = _band(rule, index_ticks)
    return min(max(index_ticks + previous_mark_ticks - previous_index_ticks, low), high)
