"""Double entry, atomicity and determinism (LIQ-LEDGER-1/2, LIQ-INV-1/2/3/4/8/9/10,
LIQ-RESULT-1, LIQ-MARK-1)."""

import pytest

from liqspec.reference import (INT64_MAX, OUTSIDE, SOCIALIZED_LOSS, Fill, InvalidAmount,
                               InvalidSize, Overflow, Transfer)
from liqspec.reference.invariants import (conservation_violations, fund_solvency_violations,
                                          resolution_violations, rounding_violations,
                                          state_digest, zero_sum_violations)
from liqspec.reference.ledger import fill, transfer
from liqspec.reference.state import atomic
from liqspec.testing import usdt, venue


def test_transfer_is_double_entry_LIQ_LEDGER_1_LIQ_INV_1():
    state = venue(deposits={"alice": usdt("10")})
    with atomic(state):
        transfer(state, "alice", "fee_sink", usdt("3"), "LIQ-TEST")
    assert state.account("alice").quote == usdt("7") and state.holders["fee_sink"] == usdt("3")
    assert state.journal[-1] == Transfer(state.seq, "alice", "fee_sink", usdt("3"), "LIQ-TEST")
    assert conservation_violations(state) == []
    for bad in (0, -1):
        with pytest.raises(InvalidAmount):
            transfer(state, "alice", "fee_sink", bad, "LIQ-TEST")


def test_fill_moves_base_between_two_accounts_LIQ_LEDGER_2_LIQ_INV_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    impl.trade(state, "alice", "bob", "BTC", 7, 500_000)
    fills = [e for e in state.journal if isinstance(e, Fill)]
    assert fills == [Fill(state.seq, "BTC", "alice", "bob", 7, 350_000_000, 500_000,
                          "LIQ-TRADE-1")]
    assert zero_sum_violations(state) == []
    with pytest.raises(InvalidSize):
        fill(state, "BTC", "alice", "bob", 0, 0, 1, "LIQ-TEST")


def test_checkers_detect_broken_states_LIQ_INV_1_LIQ_INV_2_LIQ_INV_3_LIQ_INV_4_LIQ_INV_8():
    """The invariant checkers are not vacuous: each reports a state that breaks it."""
    state = venue(deposits={"alice": usdt("10")})
    state.account("alice").quote += 1  # money from nowhere
    assert conservation_violations(state)
    state = venue(deposits={"alice": usdt("10")})
    state.account("alice").positions["BTC"] = 5  # base from nowhere
    assert zero_sum_violations(state)
    state.holders["insurance_fund"] = -1
    assert fund_solvency_violations(state)
    state = venue(deposits={"alice": 0})
    state.account("alice").quote = -1  # a flat account in deficit
    assert resolution_violations(state)
    state.holders["funding_pool"] = 1
    assert rounding_violations(state)


def test_failed_operation_rolls_back_every_partial_change_LIQ_INV_9_LIQ_RESULT_1(impl):
    state = venue(deposits={"alice": usdt("1")})
    state.account("alice").quote = INT64_MAX - 5  # the credit leg will overflow
    # the offsetting balance sits with the socialized-loss holder, so that the debit leg from
    # outside (0 - 10) succeeds and changes a holder before alice's credit overflows
    state.holders[OUTSIDE] = 0
    state.holders[SOCIALIZED_LOSS] = -(INT64_MAX - 5)
    before = state.snapshot()
    with pytest.raises(Overflow):
        impl.deposit(state, "alice", 10)  # outside is debited first, then alice overflows
    assert state.holders[OUTSIDE] == 0  # the debited holder is restored too
    assert state.snapshot() == before
    # the same with an account as the debited side: bob's debit is undone when alice's credit
    # overflows inside the same operation
    state = venue(deposits={"alice": usdt("1"), "bob": usdt("50")})
    state.account("alice").quote = INT64_MAX - 5
    before = state.snapshot()
    with pytest.raises(Overflow):
        with atomic(state):
            transfer(state, "bob", "alice", 10, "LIQ-LEDGER-1")
    assert state.account("bob").quote == usdt("50") and state.snapshot() == before


def test_same_inputs_same_digest_LIQ_INV_10(impl):
    def run():
        state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
        impl.trade(state, "alice", "bob", "BTC", 10, 500_000)
        impl.set_mark(state, "BTC", 500_123)
        impl.apply_funding(state, "BTC", 37)
        return state_digest(state)
    assert run() == run()
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    impl.trade(state, "alice", "bob", "BTC", 11, 500_000)
    assert state_digest(state) != run()


def test_set_mark_changes_only_the_mark_LIQ_MARK_1(impl):
    state = venue(deposits={"alice": usdt("1000")})
    journal = list(state.journal)
    impl.set_mark(state, "ETH", 123_456)
    assert state.marks["ETH"] == 123_456 and state.journal == journal
