"""Liquidation cascades (LIQ-CASCADE-*, LIQ-MARK-2): an exogenous index path, books that forced
orders consume, a mark that follows the fills, and rounds to a fixed point at every step.

At each step of the path (LIQ-CASCADE-4) every market's book is rebuilt around the new index
(LIQ-BOOK-1) and its mark opened from the index (LIQ-MARK-2). Then rounds run (LIQ-CASCADE-2): all
liquidatable traders, most distressed first (LIQ-CASCADE-1), are processed (LIQ-CASCADE-3); under
a socializing policy the deficits they wrote off are charged to the markets' holders, one charge
per market and side; the fills of the round move each mark by the profile's mark rule; another
round starts, until no trader is liquidatable or a round changes nothing. Every round strictly
shrinks the traders' total open lots, so the rounds of a step end. What happens is recorded as
events and summarized (LIQ-CASCADE-5).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from .arithmetic import INT64_MAX, PPM, div_floor, require_int
from .book import BookShape, build_book, market_liquidate
from .deleveraging import deleverage, fund_in_drawdown
from .errors import MalformedState, Rejection, ResultCode
from .journal import Fill, Transfer
from .liquidation import backstop_liquidate, is_below_backstop, is_liquidatable
from .margin import account_maintenance_margin_quote, equity_quote, notional_quote
from .marks import MarkRule, next_mark, opening_mark, set_mark
from .prices import liquidation_price
from .profile import SOCIALIZING, BadDebtPolicy, LiquidationSize, Profile
from .receipts import Receipt
from .rules import implements
from .share_liquidation import share_liquidate
from .socialization import socialize_loss
from .state import (BACKSTOP, FEE_SINK, INSURANCE_FUND, LIQUIDITY, SOCIALIZED_LOSS, TRADER, State,
                    atomic)

@dataclass(frozen=True)
class PricePath:
    """The exogenous index of every market at every step (LIQ-CASCADE-4)."""

    step_seconds: int
    index_ticks: Mapping[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        if require_int(self.step_seconds, "step_seconds") <= 0:
            raise MalformedState("step_seconds must be positive")
        lengths = {len(v) for v in self.index_ticks.values()}
        if not self.index_ticks or len(lengths) != 1 or 0 in lengths:
            raise MalformedState("every market's index path needs the same, positive length")
        for market_id, path in self.index_ticks.items():
            for i, price in enumerate(path):
                if require_int(price, f"index of {market_id} at step {i}") <= 0:
                    raise MalformedState(f"index of {market_id} at step {i} must be positive")

    @property
    def steps(self) -> int:
        return len(next(iter(self.index_ticks.values())))


@implements("LIQ-CASCADE-4")
def shock_path(start_ticks: Mapping[str, int], drop_ppm: int, steps: int, step_seconds: int,
               hold_steps: int = 0) -> PricePath:
    """A crash schedule: each index falls linearly from its start to ``start * (1 - drop)`` over
    ``steps`` steps (each rounded down to a tick), then holds there for ``hold_steps`` steps."""
    if not 0 < require_int(drop_ppm, "drop_ppm") < PPM:
        raise MalformedState("drop_ppm must be in 1..999_999")
    if require_int(steps, "steps") <= 0 or require_int(hold_steps, "hold_steps") < 0:
        raise MalformedState("steps must be positive and hold_steps non-negative")
    paths = {}
    for market_id, start in start_ticks.items():
        path = [div_floor(start * (PPM * steps - drop_ppm * k), PPM * steps)
                for k in range(steps + 1)]
        paths[market_id] = tuple(path + [path[-1]] * hold_steps)
    return PricePath(step_seconds, paths)


@dataclass(frozen=True)
class CascadeConfig:
    """Everything a cascade needs besides the initial state."""

    path: PricePath
    books: Mapping[str, BookShape]
    book_account: str = "book"
    backstop_vault: str | None = None
    # a factory, not a shared default: a MarkRule instance as a class attribute of this module
    # would make the API docs' source links of reference/marks.py point here
    mark_rule: MarkRule = field(default_factory=MarkRule)
    #: LIQ-ADL-5: the insurance fund's balances before the run, ``(seconds_before, balance)``
    #: oldest first (seconds strictly decreasing, each >= 1), sampled into the fund's window
    #: before the first step; empty: the window starts with the run
    fund_history: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Event:
    """One line of the trace (LIQ-CASCADE-5). Amounts are integers in the state's units."""

    step: int
    time_s: int
    round: int
    kind: str
    account: str | None = None
    market: str | None = None
    lots: int = 0
    price_ticks: int | None = None
    quote: int = 0
    rule_id: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


#: event kinds, in the order they are explained in the spec
EVENT_KINDS = ("step", "mark", "liquidation_fill", "fee", "insurance_payout", "write_off",
               "adl_fill", "backstop", "socialize", "unresolved")


@dataclass(frozen=True)
class StepRecord:
    """The state of the run after each step: what the plots are drawn from."""

    step: int
    time_s: int
    index_ticks: Mapping[str, int]
    mark_ticks: Mapping[str, int]
    rounds: int
    liquidated_notional_quote: int
    insurance_fund_quote: int
    adl_lots: int
    written_off_quote: int


@dataclass(frozen=True)
class Summary:
    """What a risk analyst asks first (LIQ-CASCADE-5)."""

    steps: int
    rounds: int
    accounts_liquidated: int
    liquidation_fills: int
    notional_liquidated_quote: int
    lowest_mark_ticks: Mapping[str, int]
    insurance_fund_start_quote: int
    insurance_fund_min_quote: int
    insurance_fund_end_quote: int
    adl_lots: int
    adl_notional_quote: int
    bad_debt_quote: int
    socialized_quote: int
    unresolved_accounts: int


@dataclass
class CascadeResult:
    state: State
    events: list[Event] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    summary: Summary | None = None


@implements("LIQ-CASCADE-1")
def processing_order(state: State) -> list[str]:
    """The liquidatable traders of a round, most distressed first: ascending equity over
    maintenance (compared exactly), ties by account ID."""
    due = []
    for account in state.accounts.values():
        if account.role == TRADER and account.positions and is_liquidatable(account, state):
            maintenance = account_maintenance_margin_quote(account, state.marks, state.profile)
            due.append((Fraction(equity_quote(account, state.marks, state.profile), maintenance),
                        account.account_id))
    return [account_id for _, account_id in sorted(due)]


@implements("LIQ-BOOK-1")
def check_replace_book(state: State, market_id: str, account_id: str) -> None:
    """The checks of :func:`replace_book`, in its order (the market, the account, its role);
    pure."""
    state.market(market_id)
    if state.account(account_id).role != LIQUIDITY:
        raise MalformedState(f"book account {account_id!r} must have the liquidity role")


@implements("LIQ-BOOK-1")
def replace_book(state: State, market_id: str, shape: BookShape, account_id: str) -> None:
    """Rebuild a market's book around its index (every step starts with fresh liquidity)."""
    check_replace_book(state, market_id, account_id)
    with atomic(state):
        state.save_book(market_id)
        state.books[market_id] = build_book(shape, state.marks[market_id], account_id)


class _Recorder:
    """Turns receipts into trace events, keeping the step's running totals."""

    FILL_KINDS = {"LIQ-EXEC-2": "liquidation_fill", "LIQ-ADL-3": "adl_fill",
                  "LIQ-BACKSTOP-1": "backstop", "LIQ-SHARE-2": "liquidation_fill"}
    TRANSFER_KINDS = {"LIQ-FEE-1": "fee", "LIQ-SHARE-1": "fee", "LIQ-FEE-4": "fee",
                      "LIQ-INSURANCE-1": "insurance_payout",
                      "LIQ-SOCIAL-1": "write_off", "LIQ-SOCIAL-2": "socialize",
                      "LIQ-ROUND-3": "socialize", "LIQ-BACKSTOP-1": "backstop"}

    def __init__(self, state: State, time_per_step: int):
        self.state = state
        self.step_seconds = time_per_step
        self.events: list[Event] = []
        self.step = 0
        self.round = 0
        self.liquidated: set[str] = set()
        self.fills = 0

    def event(self, kind: str, **fields: object) -> None:
        self.events.append(Event(self.step, self.step * self.step_seconds, self.round, kind,
                                 **fields))  # type: ignore[arg-type]

    def receipt(self, subject: str, receipt: Receipt) -> None:
        entries = receipt.entries
        for i, entry in enumerate(entries):
            if isinstance(entry, Fill):
                kind = self.FILL_KINDS.get(entry.rule_id, "fill")
                counterparty = entry.buyer if entry.seller == subject else entry.seller
                lots = entry.lots if entry.buyer == subject else -entry.lots
                self.event(kind, account=subject, market=entry.market_id, lots=lots,
                           price_ticks=entry.price_ticks, quote=entry.quote_amount,
                           rule_id=entry.rule_id, detail=f"counterparty {counterparty}")
                self.liquidated.add(subject)
                self.fills += kind == "liquidation_fill"
            elif isinstance(entry, Transfer):
                following = entries[i + 1] if i + 1 < len(entries) else None
                if isinstance(following, Fill) and following.rule_id == entry.rule_id:
                    continue  # the cash leg of the fill that follows
                kind = self.TRANSFER_KINDS.get(entry.rule_id, "transfer")
                account = entry.destination if entry.source in (INSURANCE_FUND,
                                                                SOCIALIZED_LOSS) else entry.source
                self.event(kind, account=account, quote=entry.amount_quote, rule_id=entry.rule_id,
                           detail=f"{entry.source} -> {entry.destination}")


def _trader_lots(state: State) -> int:
    return sum(abs(lots) for a in state.accounts.values() if a.role == TRADER
               for lots in a.positions.values())


@implements("LIQ-ADL-5")
class FundWindow:
    """The insurance fund's balances a cascade has seen, for LIQ-ADL-5's peak: sampled when a
    step opens and after each round, at the step's time; the peak at a time ``t`` is the largest
    sample taken at ``t - window`` or later (0 before any). Kept as a deque of decreasing
    balances (a sample at least as large as the newest ones replaces them), so each sample is
    added and dropped once."""

    def __init__(self, window_s: int):
        self.window_s = window_s
        self.samples: deque[tuple[int, int]] = deque()  # (time_s, balance), balances decreasing

    def sample(self, time_s: int, balance_quote: int) -> None:
        while self.samples and self.samples[-1][1] <= balance_quote:
            self.samples.pop()
        self.samples.append((time_s, balance_quote))

    def peak(self, time_s: int) -> int:
        while self.samples and self.samples[0][0] < time_s - self.window_s:
            self.samples.popleft()
        return self.samples[0][1] if self.samples else 0


def _deleverage_if_allowed(state: State, account_id: str, market_id: str, fund_peak_quote: int,
                           recorder: _Recorder) -> bool:
    """Deleverage the account's position in the market if LIQ-ADL-1 allows it; whether it did."""
    try:
        recorder.receipt(account_id, deleverage(state, account_id, market_id, fund_peak_quote))
    except Rejection as refused:
        # LIQ-ADL-1 does not allow it: the fund can cover, the other side is too thin, or (a
        # market with no book in this scenario) the account is not bankrupt
        if refused.code not in (ResultCode.FUND_CAN_COVER, ResultCode.NOT_BANKRUPT,
                                ResultCode.INSUFFICIENT_ADL_LIQUIDITY):
            raise
        return False
    return True


@implements("LIQ-CASCADE-3", "LIQ-ADL-5")
def process_account(state: State, account_id: str, config: CascadeConfig,
                    recorder: _Recorder, noted: dict[tuple[str, int], int],
                    fund_peak_quote: int = 0) -> bool:
    """Liquidate one account: the backstop vault takes it whole when it is below the backstop
    threshold; under ``account_share`` the vault takes one share of every position
    (LIQ-SHARE-2); otherwise, market by market in ID order, liquidation orders against the book
    until it is healthy or the book cannot take more, then auto-deleveraging of what is left
    (``adl``). While the fund is in drawdown from ``fund_peak_quote`` (LIQ-ADL-5) a market's
    position goes to deleveraging first, the book only if deleveraging is refused. Under
    ``socialize`` or ``socialize_both_sides`` a deficit written off is noted in ``noted`` against
    the side that bears it (:func:`bearing_side`), to be charged when the round ends
    (:func:`socialize_round`). Returns whether anything changed."""
    account = state.account(account_id)
    if not is_liquidatable(account, state):
        return False  # an earlier account's ADL may have reduced this one's position
    if config.backstop_vault is not None and is_below_backstop(account, state):
        recorder.receipt(account_id, backstop_liquidate(state, account_id, config.backstop_vault))
        return True
    progressed = False
    recorded_before = state.holders[SOCIALIZED_LOSS]
    sides = {m: (1 if lots > 0 else -1) for m, lots in account.positions.items()}
    by_book = sorted(account.positions)  # the markets to liquidate one step at a time
    if state.profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
        assert config.backstop_vault is not None  # _check_config
        recorder.receipt(account_id, share_liquidate(state, account_id, config.backstop_vault))
        progressed, by_book = True, []
    for market_id in by_book:
        if (account.position(market_id) and is_liquidatable(account, state)
                and fund_in_drawdown(state, fund_peak_quote)
                and _deleverage_if_allowed(state, account_id, market_id, fund_peak_quote,
                                           recorder)):
            progressed = True
            continue
        while account.position(market_id) and is_liquidatable(account, state):
            try:
                recorder.receipt(account_id, market_liquidate(state, account_id, market_id))
            except Rejection as refused:
                if refused.code != ResultCode.NO_BOOK_LIQUIDITY:
                    raise
                break
            progressed = True
        if (account.position(market_id) and is_liquidatable(account, state)
                and state.profile.bad_debt_policy not in SOCIALIZING):
            progressed |= _deleverage_if_allowed(state, account_id, market_id, fund_peak_quote,
                                                 recorder)
    written_off = recorded_before - state.holders[SOCIALIZED_LOSS]
    if state.profile.bad_debt_policy in SOCIALIZING and written_off > 0:
        bearer = bearing_side(state.profile, sides)
        noted[bearer] = noted.get(bearer, 0) + written_off
    return progressed


@implements("LIQ-CASCADE-3")
def bearing_side(profile: Profile, sides: Mapping[str, int]) -> tuple[str, int]:
    """Who bears an account's written-off deficit, from its positions' sides when its processing
    began: the first of its markets in ID order, and there the side opposite the account's
    (``socialize``: the side that profited from its loss) or both sides (``socialize_both_sides``:
    side 0)."""
    market_id = min(sides)
    both = profile.bad_debt_policy == BadDebtPolicy.SOCIALIZE_BOTH_SIDES
    return market_id, 0 if both else -sides[market_id]


def charge_detail(side: int, payers: int) -> str:
    """The detail of a round's charge in the trace: who paid it."""
    held = {1: "longs", -1: "shorts", 0: "longs and shorts"}[side]
    return f"{payers} payers ({held})"


@implements("LIQ-CASCADE-2", "LIQ-SOCIAL-2")
def socialize_round(state: State, noted: Mapping[tuple[str, int], int],
                    recorder: _Recorder) -> None:
    """At the end of a round, the deficits its accounts wrote off, one charge per market and side
    in that order (market ID, then side -1, 0, +1), each of the amount noted against it
    (LIQ-SOCIAL-2); where nobody holds that side the loss stays recorded. Each charge is one
    trace event for all its payers (and one for its rounding residual): the charges themselves
    are in the journal."""
    for (market_id, side), amount in sorted(noted.items()):
        try:
            receipt = socialize_loss(state, market_id, side, amount)
        except Rejection as refused:
            if refused.code != ResultCode.NO_SOCIALIZATION_BASE:
                raise
            continue
        payers = [e for e in receipt.entries if e.rule_id == "LIQ-SOCIAL-2"]
        recorder.event("socialize", market=market_id, quote=receipt.amounts["charged"],
                       rule_id="LIQ-SOCIAL-2", detail=charge_detail(side, len(payers)))
        if receipt.amounts["residual"]:
            recorder.event("socialize", market=market_id, quote=receipt.amounts["residual"],
                           rule_id="LIQ-ROUND-3", detail=f"{SOCIALIZED_LOSS} -> {FEE_SINK}")


@dataclass
class _Tally:
    """The running totals of a run, for its step records and summary (LIQ-CASCADE-5)."""

    fund_start: int
    fund_min: int
    lowest: dict[str, int]  # the lowest mark of each market on the path
    rounds: int = 0
    liquidated_notional: int = 0
    adl_lots: int = 0
    adl_notional: int = 0
    written_off: int = 0
    socialized: int = 0
    # this step's share of the totals above
    step_notional: int = 0
    step_adl: int = 0
    step_written_off: int = 0

    def count_round(self, events: list[Event], state: State) -> None:
        """Add a round's events, at the marks the round's fills were made at."""
        for event in events:
            if event.kind in ("liquidation_fill", "backstop") and event.price_ticks:
                self.step_notional += abs(event.quote)
            elif event.kind == "adl_fill":
                self.step_adl += abs(event.lots)
                self.adl_notional += notional_quote(event.lots, state.marks[event.market],
                                                    state.market(event.market))
            elif event.kind == "write_off":
                self.step_written_off += event.quote
            elif event.kind == "socialize" and event.rule_id == "LIQ-SOCIAL-2":
                self.socialized += event.quote

    def lower(self, market_id: str, mark_ticks: int) -> None:
        self.lowest[market_id] = min(self.lowest[market_id], mark_ticks)


@implements("LIQ-CASCADE-4", "LIQ-MARK-2", "LIQ-BOOK-1")
def open_step(state: State, config: CascadeConfig, index: Mapping[str, int],
              previous_index: Mapping[str, int], recorder: _Recorder, tally: _Tally) -> None:
    """Start a step, market by market in ID order: open the mark from the step's index
    (LIQ-MARK-2) and rebuild the book around it (LIQ-BOOK-1)."""
    for market_id in sorted(index):
        # the first step has no basis yet: its mark opens at the index
        opening = opening_mark(config.mark_rule, index[market_id],
                               previous_index.get(market_id, state.marks[market_id]),
                               state.marks[market_id])
        set_mark(state, market_id, opening)
        tally.lower(market_id, opening)
        replace_book(state, market_id, config.books[market_id], config.book_account)
        recorder.event("step", market=market_id, price_ticks=index[market_id],
                       rule_id="LIQ-CASCADE-4")


@implements("LIQ-MARK-2")
def move_marks(state: State, rule: MarkRule, index: Mapping[str, int], round_events: list[Event],
               recorder: _Recorder, tally: _Tally) -> None:
    """After a round, market by market in ID order: the round's last liquidation fill moves the
    mark by the mark rule; a market without fills keeps its mark."""
    for market_id in sorted(index):
        fills = [e.price_ticks for e in round_events
                 if e.kind == "liquidation_fill" and e.market == market_id]
        mark = next_mark(rule, index[market_id], fills[-1] if fills else None,
                         state.marks[market_id])
        if mark != state.marks[market_id]:
            set_mark(state, market_id, mark)
            recorder.event("mark", market=market_id, price_ticks=mark, rule_id="LIQ-MARK-2")
            tally.lower(market_id, mark)


@implements("LIQ-CASCADE-2", "LIQ-ADL-5")
def run_rounds(state: State, config: CascadeConfig, index: Mapping[str, int], step: int,
               recorder: _Recorder, tally: _Tally,
               after_round: Callable[[State, int, int], None] | None = None,
               fund_window: FundWindow | None = None) -> int:
    """The rounds of a step, to a fixed point: each processes every liquidatable trader, most
    distressed first (LIQ-CASCADE-1, LIQ-CASCADE-3), socializes what they wrote off
    (:func:`socialize_round`), then moves the marks by its fills (LIQ-MARK-2); they stop when
    nobody is liquidatable or a round changes nothing. Under LIQ-ADL-5 each round's accounts
    are processed with the fund's peak as the window had it when the round began, and the fund
    is sampled after the round. Returns the number of rounds."""
    rounds = 0
    lots_before_round = _trader_lots(state)
    now = step * config.path.step_seconds
    while due := processing_order(state):
        rounds += 1
        recorder.round = rounds
        first_event = len(recorder.events)
        progressed = False
        noted: dict[tuple[str, int], int] = {}
        peak = fund_window.peak(now) if fund_window is not None else 0
        for account_id in due:
            progressed |= process_account(state, account_id, config, recorder, noted, peak)
        socialize_round(state, noted, recorder)
        if fund_window is not None:
            fund_window.sample(now, state.holders[INSURANCE_FUND])
        round_events = recorder.events[first_event:]
        tally.count_round(round_events, state)
        move_marks(state, config.mark_rule, index, round_events, recorder, tally)
        lots_after_round = _trader_lots(state)
        if after_round is not None:
            after_round(state, step, rounds)
        if not progressed:
            break  # a fixed point: nobody left can be liquidated further this step
        # every progressing round closes trader lots, so the rounds of a step end
        assert lots_after_round < lots_before_round, "a progressing round must close lots"
        lots_before_round = lots_after_round
    return rounds


@implements("LIQ-CASCADE-5")
def close_step(state: State, step: int, step_seconds: int, index: Mapping[str, int], rounds: int,
               tally: _Tally) -> StepRecord:
    """The record of a finished step; its share is added to the run's totals."""
    for market_id in index:
        tally.lower(market_id, state.marks[market_id])
    tally.rounds += rounds
    tally.liquidated_notional += tally.step_notional
    tally.adl_lots += tally.step_adl
    tally.written_off += tally.step_written_off
    tally.fund_min = min(tally.fund_min, state.holders[INSURANCE_FUND])
    record = StepRecord(step, step * step_seconds, dict(index), dict(state.marks), rounds,
                        tally.step_notional, state.holders[INSURANCE_FUND], tally.step_adl,
                        tally.step_written_off)
    tally.step_notional = tally.step_adl = tally.step_written_off = 0
    return record


@implements("LIQ-CASCADE-2")
def report_unresolved(state: State, recorder: _Recorder) -> int:
    """An event for each trader still liquidatable at the end of the path; returns how many."""
    recorder.round = 0
    unresolved = processing_order(state)
    for account_id in unresolved:
        recorder.event("unresolved", account=account_id, rule_id="LIQ-CASCADE-2",
                       detail="liquidatable at the end of the path: the book could not take it")
    return len(unresolved)


@implements("LIQ-CASCADE-5")
def summarize(state: State, steps: int, recorder: _Recorder, tally: _Tally,
              unresolved: int) -> Summary:
    """The run's summary from its totals."""
    return Summary(
        steps=steps, rounds=tally.rounds, accounts_liquidated=len(recorder.liquidated),
        liquidation_fills=recorder.fills, notional_liquidated_quote=tally.liquidated_notional,
        lowest_mark_ticks=tally.lowest, insurance_fund_start_quote=tally.fund_start,
        insurance_fund_min_quote=tally.fund_min,
        insurance_fund_end_quote=state.holders[INSURANCE_FUND], adl_lots=tally.adl_lots,
        adl_notional_quote=tally.adl_notional, bad_debt_quote=tally.written_off,
        socialized_quote=tally.socialized, unresolved_accounts=unresolved)


@implements("LIQ-CASCADE-2")
def run_cascade(initial: State, config: CascadeConfig,
                progress: Callable[[int, int], None] | None = None,
                after_round: Callable[[State, int, int], None] | None = None) -> CascadeResult:
    """Run the price path over a copy of ``initial``; the input state is left untouched.

    Each step opens the marks and books (:func:`open_step`), runs rounds to a fixed point
    (:func:`run_rounds`) and is recorded (:func:`close_step`); at the end, the traders still
    liquidatable are reported (:func:`report_unresolved`) and the run summarized
    (:func:`summarize`). ``progress(done_steps, total_steps)`` is called after each step;
    ``after_round(state, step, round)`` after each round (the invariant tests check every
    invariant there)."""
    state = initial.copy()
    _check_config(state, config)
    recorder = _Recorder(state, config.path.step_seconds)
    fund_start = state.holders[INSURANCE_FUND]
    tally = _Tally(fund_start, fund_start, {m: state.marks[m] for m in config.path.index_ticks})
    result = CascadeResult(state)
    total_steps = config.path.steps
    previous_index: dict[str, int] = {}
    window = state.profile.adl_drawdown_window_s
    fund_window = FundWindow(window) if window else None  # LIQ-ADL-5
    if fund_window is not None:  # the fund before the run (a history needs the rule: checked)
        for seconds_before, balance in config.fund_history:
            fund_window.sample(-seconds_before, balance)
    for step in range(total_steps):
        recorder.step, recorder.round = step, 0
        index = {m: path[step] for m, path in config.path.index_ticks.items()}
        open_step(state, config, index, previous_index, recorder, tally)
        if fund_window is not None:
            fund_window.sample(step * config.path.step_seconds, state.holders[INSURANCE_FUND])
        rounds = run_rounds(state, config, index, step, recorder, tally, after_round,
                            fund_window)
        result.steps.append(close_step(state, step, config.path.step_seconds, index, rounds,
                                       tally))
        previous_index = index
        if progress is not None:
            progress(step + 1, total_steps)
    unresolved = report_unresolved(state, recorder)
    result.events = recorder.events
    result.summary = summarize(state, total_steps, recorder, tally, unresolved)
    return result


def _check_config(state: State, config: CascadeConfig) -> None:
    if set(config.path.index_ticks) != set(config.books):
        raise MalformedState("the price path and the books must name the same markets")
    for market_id in config.books:
        state.market(market_id)
    if state.account(config.book_account).role != LIQUIDITY:
        raise MalformedState(f"book account {config.book_account!r} must have the liquidity role")
    if config.backstop_vault is not None and state.account(config.backstop_vault).role != BACKSTOP:
        raise MalformedState(f"backstop vault {config.backstop_vault!r} must have the backstop role")
    check_share_vault(state.profile, config.backstop_vault)
    check_fund_history(state.profile, config.fund_history)


@implements("LIQ-ADL-5")
def check_fund_history(profile: Profile, history: Sequence[tuple[int, int]]) -> None:
    """A fund history is read only under the drawdown rule: samples before the run, oldest
    first, at whole seconds 1..2^63-1 before it, strictly decreasing, balances 0..2^63-1."""
    if not history:
        return
    if not profile.adl_drawdown_window_s:
        raise MalformedState(f"{profile.name} has no drawdown rule (LIQ-ADL-5): a fund history "
                             "is read only under one")
    previous = None
    for k, sample in enumerate(history):
        if (not isinstance(sample, tuple) or len(sample) != 2
                or not all(type(v) is int for v in sample)):
            raise MalformedState(f"fund history [{k}]: expected (seconds_before, balance) "
                                 "integers")
        seconds, balance = sample
        if not 1 <= seconds <= INT64_MAX or not 0 <= balance <= INT64_MAX:
            raise MalformedState(f"fund history [{k}]: seconds_before must be in 1..2^63-1 and "
                                 f"the balance in 0..2^63-1, got {sample}")
        if previous is not None and seconds >= previous:
            raise MalformedState(f"fund history [{k}]: samples go oldest first, so "
                                 f"seconds_before must decrease ({seconds} after {previous})")
        previous = seconds


def check_share_vault(profile: Profile, backstop_vault: str | None) -> None:
    """A profile that liquidates by account share needs the vault that takes the shares."""
    if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE and backstop_vault is None:
        raise MalformedState(f"{profile.name} liquidates by account share: the cascade needs a "
                             "backstop vault to take the shares (LIQ-SHARE-2)")


@implements("LIQ-CASCADE-6")
def liquidation_map(state: State, market_id: str) -> list[tuple[int, int]]:
    """Before a shock: for every trader holding ``market_id``, its liquidation price in ticks
    (LIQ-PRICE-3) and the notional at stake there, summed by price and sorted by price. Accounts
    already past their threshold, or never reachable, are left out."""
    market = state.market(market_id)
    mark = state.marks[market_id]
    by_price: dict[int, int] = {}
    for account in state.accounts.values():
        lots = account.position(market_id)
        if account.role != TRADER or lots == 0:
            continue
        threshold = liquidation_price(account, market_id, state.marks, state.profile)
        if threshold.ticks <= 0 or threshold.crossed(mark):
            continue
        notional = notional_quote(lots, threshold.ticks, market)
        by_price[threshold.ticks] = by_price.get(threshold.ticks, 0) + notional
    return sorted(by_price.items())
