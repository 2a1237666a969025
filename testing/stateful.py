"""A random-operation state machine over several accounts and markets, every invariant after every
step (LIQ-INV-1..9), across venue policy variants, on either implementation (hypothesis'
stateful testing; needs the ``test`` extra).

Per-operation invariants are checked where the operation happens: a rejected operation changes
nothing (LIQ-INV-9); a liquidation only ever hits an account below maintenance (LIQ-INV-5),
strictly shrinks its position (LIQ-INV-6) and never charges more than the surplus (LIQ-INV-7).
A failure prints the operation sequence as a runnable program (hypothesis' stateful reports).

:func:`venue_machine` gives the machine on one implementation (tests/test_stateful.py runs it on
each); tests/test_fast_lockstep.py subclasses it to drive both at once.
"""

from collections import Counter
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)

from liqspec.reference import BACKSTOP, TRADER, LiqspecError
from liqspec.reference.book import BookShape
from liqspec.reference.invariants import (all_violations, fee_cap_violations,
                                          progress_violations)
from liqspec.reference.state import LIQUIDITY
from liqspec.testing import implementation, example_profile, usdt, venue

#: the implementation the machine runs on unless :func:`venue_machine` names another
REFERENCE_IMPLEMENTATION = implementation("reference")

TRADERS = ("t0", "t1", "t2", "t3", "t4")
MARKETS = ("BTC", "ETH")
VARIANTS = (
    {},
    # second: a derandomized run draws the first variants most, and shares need their own
    {"liquidation_size": "account_share", "fee_policy": "maintenance_share",
     "portion_ppm": 200_000, "share_target_ppm": 900_000, "bad_debt_policy": "socialize"},
    {"liquidation_size": "portion", "portion_ppm": 200_000,
     "portion_threshold_quote": usdt("20000"), "backstop_ratio": (2, 3),
     "adl_ranking": "price_ratio_leverage"},
    {"liquidation_size": "tier_step", "fee_policy": "all_surplus", "bad_debt_policy": "socialize"},
    {"adl_ranking": "seeded", "adl_seed": 11, "adl_price": "mark", "backstop_ratio": (1, 2)},
    {"adl_ranking": "pro_rata", "fee_policy": "all_surplus", "bad_debt_policy": "socialize",
     "backstop_ratio": (2, 3)},
    {"bad_debt_policy": "socialize_both_sides"},
    # Drift v2's liquidation to cover the shortage, with its two fees (LIQ-SHORTAGE-1)
    {"liquidation_size": "cover_shortage", "fee_policy": "liquidator_and_fund",
     "liquidation_buffer_ppm": 20_000, "liquidator_fee_ppm": 10_000,
     "bad_debt_policy": "socialize_both_sides"},
    {"adl_ranking": "pnl_margin_ratio", "liquidation_size": "tier_step"},
    # OKX's two tiers a step from the third tier (LIQ-EXEC-3), at equality (LIQ-TRIGGER-3)
    {"liquidation_size": "two_tier_step", "trigger": "at_or_below"},
    # ... with its deleveraging at the mark while the fund is 30% below its peak (LIQ-ADL-5)
    {"liquidation_size": "two_tier_step", "trigger": "at_or_below", "adl_drawdown_ppm": 300_000,
     "adl_drawdown_window_s": 28_800},
    {"fee_policy": "per_fill", "liquidation_size": "portion", "portion_ppm": 250_000,
     "portion_threshold_quote": 0, "adl_ranking": "seeded"},
)

#: successful operations per kind, over every machine run in this process (for the coverage test)
SUCCESSES: Counter = Counter()


class VenueMachine(RuleBasedStateMachine):
    """The machine on one implementation (:attr:`impl`; :func:`venue_machine` makes the class
    for each): every operation and query it draws is ``impl``'s, the venue is built by the
    reference's builders, the invariants are the reference's checks."""

    impl = REFERENCE_IMPLEMENTATION
    @initialize(variant=st.sampled_from(VARIANTS),
                deposits=st.lists(st.integers(usdt("50"), usdt("20000")), min_size=5, max_size=5),
                insurance=st.integers(0, usdt("200")))
    def open_venue(self, variant, deposits, insurance):
        self.state = self.build_venue(variant, deposits, insurance)

    @staticmethod
    def build_venue(variant, deposits, insurance, impl=None):
        """The machine's venue, built by ``impl``'s operations (default: the reference's)."""
        return venue(example_profile(**variant),
                     deposits=dict(zip(TRADERS, deposits), lp=usdt("100000000")),
                     insurance_quote=insurance, backstop_vault="vault", impl=impl)

    def attempt(self, name, operation, *args):
        """Run ``impl``'s operation of that name; a rejection must leave the state exactly as it
        was (LIQ-INV-9)."""
        before = self.state.snapshot()
        try:
            receipt = getattr(self.impl, operation)(self.state, *args)
        except LiqspecError:
            assert self.state.snapshot() == before, f"rejected {name} changed the state"
            return None
        SUCCESSES[name] += 1
        return receipt

    def price_near(self, market_id, permille):
        return max(1, self.state.marks[market_id] * (1000 + permille) // 1000)

    @rule(account=st.sampled_from(TRADERS), amount=st.integers(1, usdt("5000")))
    def deposit(self, account, amount):
        self.attempt("deposit", "deposit", account, amount)

    @rule(account=st.sampled_from(TRADERS), amount=st.integers(1, usdt("5000")))
    def withdraw(self, account, amount):
        self.attempt("withdraw", "withdraw", account, amount)

    @rule(buyer=st.sampled_from(TRADERS + ("lp",)), seller=st.sampled_from(TRADERS + ("lp",)),
          market=st.sampled_from(MARKETS), lots=st.integers(1, 4000),
          permille=st.integers(-20, 20))
    def trade(self, buyer, seller, market, lots, permille):
        self.attempt("trade", "trade", buyer, seller, market, lots,
                     self.price_near(market, permille))

    @rule(account=st.sampled_from(TRADERS), market=st.sampled_from(MARKETS),
          side=st.sampled_from((1, -1)), leverage=st.integers(5, 95))
    def lever_up(self, account, market, side, leverage):
        """Open a position of about ``leverage`` times the account's equity against lp, so marks
        moves of a few percent make accounts liquidatable and larger ones bankrupt."""
        state = self.state
        equity = self.impl.equity_quote(state.account(account), state.marks, state.profile)
        lot_value = state.marks[market] * state.market(market).value_per_lot_tick
        lots = min(max(equity, 0) * leverage // lot_value, 200_000)
        if lots > 0:
            buyer, seller = (account, "lp") if side > 0 else ("lp", account)
            self.attempt("trade", "trade", buyer, seller, market, lots, state.marks[market])

    @rule(market=st.sampled_from(MARKETS), permille=st.integers(-100, 60))
    def move_mark(self, market, permille):
        self.attempt("mark", "set_mark", market, self.price_near(market, permille))

    @rule(account=st.sampled_from(("book", "n0", "t0", "", "outside")),
          isolated=st.sampled_from((None, None, "BTC", "DOGE")),
          role=st.sampled_from((LIQUIDITY, TRADER, BACKSTOP, "maker")))
    def open_new_account(self, account, isolated, role):
        """New accounts, clashing ones and bad roles included; a liquidity account named book
        can then own books (an empty new trader joins nothing else)."""
        self.attempt("open_account", "open_account", account, isolated, role)

    @rule(market=st.sampled_from(MARKETS), levels=st.integers(1, 5),
          spacing_ppm=st.integers(100, 20_000), lots=st.integers(1, 5000),
          owner=st.sampled_from(("book", "lp")))
    def rebuild_book(self, market, levels, spacing_ppm, lots, owner):
        self.attempt("book", "replace_book", market, BookShape(levels, spacing_ppm, lots), owner)

    @rule(market=st.sampled_from(MARKETS), rate_ppm=st.integers(-3000, 3000))
    def funding(self, market, rate_ppm):
        self.attempt("funding", "apply_funding", market, rate_ppm)

    @rule(amount=st.integers(1, usdt("50")))
    def top_up_fund(self, amount):
        self.attempt("insurance", "fund_insurance", amount)

    def pick(self, data, predicate):
        """Prefer an account for which ``predicate`` holds, so the interesting paths are reached."""
        eligible = [a for a in TRADERS if predicate(self.state.account(a))]
        return data.draw(st.sampled_from(eligible or list(TRADERS)))

    @rule(data=st.data(), market=st.sampled_from(MARKETS),
          counterparty=st.sampled_from(("lp", "vault", "t0")), permille=st.integers(-60, 10),
          partial=st.booleans())
    def liquidate(self, data, market, counterparty, permille, partial):
        account = self.pick(data, lambda a: self.impl.is_liquidatable(a, self.state))
        was_liquidatable = self.impl.is_liquidatable(self.state.account(account), self.state)
        before = self.state.copy()
        lots = None
        if partial and self.state.account(account).position(market):
            lots = data.draw(st.integers(1, abs(self.state.account(account).position(market))))
        receipt = self.attempt("liquidate", "liquidate", account, market, counterparty,
                               self.price_near(market, permille), lots)
        if receipt is not None:
            assert was_liquidatable  # LIQ-INV-5
            assert progress_violations(before, self.state, account) == []  # LIQ-INV-6
            assert fee_cap_violations(receipt.amounts["fee"], receipt.amounts["surplus"],
                                      receipt.amounts.get("fund_delta"),
                                      self.impl.equity_quote(before.account(account),
                                                             before.marks, before.profile)) == []

    @rule(market=st.sampled_from(MARKETS), drop_permille=st.integers(20, 150),
          slippage_permille=st.integers(0, 80), counterparty=st.sampled_from(("lp", "vault")))
    def shock(self, market, drop_permille, slippage_permille, counterparty):
        """A sharp move, then one liquidation step for every liquidatable account holding the
        market, each filled below the mark by the slippage (often below bankruptcy)."""
        self.attempt("mark", "set_mark", market, self.price_near(market, -drop_permille))
        for account in TRADERS:
            acct = self.state.account(account)
            if acct.position(market) and self.impl.is_liquidatable(acct, self.state):
                side = 1 if acct.position(market) > 0 else -1
                before = self.state.copy()
                receipt = self.attempt("liquidate", "liquidate", account, market, counterparty,
                                       self.price_near(market, -side * slippage_permille))
                if receipt is not None:
                    assert progress_violations(before, self.state, account) == []
                    assert fee_cap_violations(
                        receipt.amounts["fee"], receipt.amounts["surplus"],
                        receipt.amounts.get("fund_delta"),
                        self.impl.equity_quote(before.account(account), before.marks,
                                               before.profile)) == []

    @rule(data=st.data())
    def backstop(self, data):
        account = self.pick(data, lambda a: self.impl.is_liquidatable(a, self.state))
        self.attempt("backstop", "backstop_liquidate", account, "vault")

    @rule(data=st.data())
    def share(self, data):
        """LIQ-SHARE-2 (refused POLICY_FORBIDS but under account_share)."""
        account = self.pick(data, lambda a: self.impl.is_liquidatable(a, self.state))
        self.attempt("share", "share_liquidate", account, "vault")

    @rule(data=st.data(), market=st.sampled_from(MARKETS),
          peak_over_fund_ppm=st.sampled_from((0, 0, 1_000_000, 1_428_571, 1_428_572, 3_000_000)))
    def deleverage(self, data, market, peak_over_fund_ppm):
        """With no fund peak, or a peak that many ppm of the fund (around LIQ-ADL-5's edge of
        a 30% fall, and past it)."""
        account = self.pick(data, lambda a: self.impl.equity_quote(a, self.state.marks,
                                                                   self.state.profile) < 0)
        peak = self.state.holders["insurance_fund"] * peak_over_fund_ppm // 1_000_000
        self.attempt("deleverage", "deleverage", account, market, peak)

    @rule(market=st.sampled_from(MARKETS), side=st.sampled_from((1, -1, 0)),
          amount=st.sampled_from((None, None, 1, 10**6, 10**10, 0)))
    def socialize(self, market, side, amount):
        """The whole recorded debt, or a part of it (maybe more than is recorded)."""
        self.attempt("socialize", "socialize_loss", market, side, amount)

    @invariant()
    def every_state_invariant_holds(self):
        assert all_violations(self.state) == []



def pinned(machine: type[VenueMachine], variant: dict) -> type[VenueMachine]:
    """``machine`` with its venue always of one variant: a coverage check runs the variants one
    by one where a run over all of them (which draws the first most) missed an operation."""
    class Pinned(machine):  # type: ignore[valid-type, misc]
        @initialize(variant=st.just(variant),
                    deposits=st.lists(st.integers(usdt("50"), usdt("20000")), min_size=5,
                                      max_size=5),
                    insurance=st.integers(0, usdt("200")))
        def open_venue(self, variant, deposits, insurance):
            machine.open_venue(self, variant, deposits, insurance)

    Pinned.__name__ = f"{machine.__name__}_pinned"
    return Pinned


def covering_runs(machine: type[VenueMachine], covered: Callable[[], bool]) -> None:
    """Fixed (derandomized) runs of ``machine`` until ``covered()``: one over every variant, then
    one per variant alone. A derandomized run is not fixed across processes (inside a full suite
    run it drew other examples than when its file runs alone) and draws the first variants most,
    so a kind of operation that only one variant allows (a share, under account_share) can be
    missed by any one run over all of them; the per-variant runs give each its own draws."""
    for variant in (None, *VARIANTS):
        run_state_machine_as_test(
            machine if variant is None else pinned(machine, variant),
            settings=settings(max_examples=150 if variant is None else 25,
                              stateful_step_count=60, derandomize=True, database=None,
                              deadline=None))
        if covered():
            return


def venue_machine(impl: SimpleNamespace) -> type[VenueMachine]:
    """The machine class whose operations and queries are ``impl``'s (one class per
    implementation)."""
    return _machine(impl.name)


@cache
def _machine(name: str) -> type[VenueMachine]:
    return type(f"VenueMachine_{name}", (VenueMachine,), {"impl": implementation(name)})
