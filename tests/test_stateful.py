"""The random-operation state machine (liqspec.testing.stateful) on each implementation: every
invariant after every step (LIQ-INV-1..9), across venue policy variants.

Per-operation invariants are checked where the operation happens: a rejected operation changes
nothing (LIQ-INV-9); a liquidation only ever hits an account below maintenance (LIQ-INV-5),
strictly shrinks its position (LIQ-INV-6) and never charges more than the surplus (LIQ-INV-7).
A failure prints the operation sequence as a runnable program (hypothesis' stateful reports).
"""

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from liqspec.testing.stateful import SUCCESSES, covering_runs, venue_machine


def test_every_invariant_after_every_step_LIQ_INV_1_LIQ_INV_9(impl):
    """The machine under the active hypothesis profile, its operations and queries ``impl``'s."""
    run_state_machine_as_test(venue_machine(impl),
                              settings=settings(settings(), stateful_step_count=40))


def test_machine_reaches_every_operation(impl):
    """The machine is not vacuous: a fixed run succeeds at every kind of operation, including
    liquidations, backstops, shares, deleveraging and socialization (checked after the fact)."""
    wanted = ("deposit", "withdraw", "trade", "mark", "funding", "liquidate", "backstop",
              "share", "deleverage", "socialize", "open_account", "book")
    SUCCESSES.clear()
    covering_runs(venue_machine(impl), lambda: all(SUCCESSES[name] > 0 for name in wanted))
    for name in wanted:
        assert SUCCESSES[name] > 0, f"no successful {name} in the runs: {dict(SUCCESSES)}"
