"""The stateful machine of liqspec.testing.stateful driving both implementations in lockstep.

Two copies of the same venue, each built by its own implementation's operations
(``liqspec.testing.venue``'s ``impl``): every operation the machine draws runs on the reference
(on ``state``) and on liqspec.fast (on ``fast_state``); after each one the outcomes (the receipt, or
the error's type and result code) and the two states (balances, positions, cost bases,
holders, journal, sequence number, books) must be equal, and a rejection must have changed
neither (LIQ-RESULT-1, LIQ-INV-9). Every operation the machine draws has a compiled
counterpart, which runs on the fast copy: none is the reference applied to both copies. The
machine's own invariant checks (every state invariant after every step, LIQ-INV-1..9) keep
running on the reference's copy, and its queries (whom to pick, how much to open) are the
reference's.
"""

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, run_state_machine_as_test

import liqspec.fast
from liqspec.reference import LiqspecError, all_violations
from liqspec.testing import implementation, usdt
from liqspec.testing import stateful
from liqspec.testing.stateful import VARIANTS, VenueMachine

REFERENCE, FAST = implementation("reference"), implementation("fast")

#: operations that reached the fast path and succeeded, over every run in this process
FAST_SUCCESSES: Counter = Counter()


def outcome(operation, state, args):
    try:
        return ("ok", operation(state, *args))
    except LiqspecError as error:
        return ("error", type(error).__name__, error.code)  # messages are prose, not compared


class LockstepMachine(VenueMachine):
    impl = REFERENCE  # the machine's queries, and the operations on the reference's copy

    @initialize(variant=st.sampled_from(VARIANTS),
                deposits=st.lists(st.integers(usdt("50"), usdt("20000")), min_size=5, max_size=5),
                insurance=st.integers(0, usdt("200")))
    def open_venue(self, variant, deposits, insurance):
        """Each copy of the venue is built by its own implementation's operations."""
        VenueMachine.open_venue(self, variant, deposits, insurance)
        self.fast_state = self.build_venue(variant, deposits, insurance, impl=liqspec.fast)
        assert self.fast_state.snapshot() == self.state.snapshot()

    def attempt(self, name, operation, *args):
        """``operation`` (a name) on both copies, each by its own implementation."""
        before = self.state.snapshot()
        expected = outcome(getattr(REFERENCE, operation), self.state, args)
        got = outcome(getattr(FAST, operation), self.fast_state, args)
        assert got == expected, f"{name}{args}: fast {got} != reference {expected}"
        assert self.fast_state.snapshot() == self.state.snapshot(), f"{name}{args}: states differ"
        if expected[0] == "error":
            assert self.state.snapshot() == before, f"rejected {name} changed the state"
            return None
        stateful.SUCCESSES[name] += 1
        FAST_SUCCESSES[name] += 1
        return expected[1]

    @invariant()
    def both_copies_are_equal(self):
        assert self.fast_state.snapshot() == self.state.snapshot()
        assert all_violations(self.fast_state) == []


def test_every_operation_the_machine_draws_is_compiled_on_the_fast_copy():
    """The fast copy's operations are liqspec.fast's own (none is the reference's on both)."""
    drawn = ("deposit", "withdraw", "trade", "set_mark", "open_account", "replace_book",
             "apply_funding", "fund_insurance", "liquidate", "backstop_liquidate",
             "share_liquidate", "deleverage", "socialize_loss")
    for name in drawn:
        assert getattr(FAST, name) is not getattr(REFERENCE, name), name
        assert getattr(FAST, name).__module__.startswith("liqspec.fast"), name
    assert {FAST.liquidate, FAST.deposit, FAST.trade, FAST.replace_book} == {
        liqspec.fast.liquidate, liqspec.fast.deposit, liqspec.fast.trade, liqspec.fast.replace_book}


def test_both_implementations_in_lockstep_LIQ_RESULT_1():
    run_state_machine_as_test(LockstepMachine, settings=settings(settings(),
                                                                 stateful_step_count=40))


def test_lockstep_reaches_every_fast_operation():
    """Not vacuous: a fixed run reaches every state-changing operation the machine draws
    (deposits, withdrawals, trades, marks, new accounts, book rebuilds, liquidation, backstop,
    share liquidation, deleveraging, socialization, funding, fund top-ups) with success on both
    sides."""
    wanted = ("deposit", "withdraw", "trade", "mark", "open_account", "book", "liquidate",
              "backstop", "share", "deleverage", "socialize", "funding", "insurance")
    FAST_SUCCESSES.clear()
    stateful.covering_runs(LockstepMachine, lambda: all(FAST_SUCCESSES[name] > 0
                                                        for name in wanted))
    for name in wanted:
        assert FAST_SUCCESSES[name] > 0, f"no successful fast {name}: {dict(FAST_SUCCESSES)}"
