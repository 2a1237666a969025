"""Builders for tests and examples: small exact venues and states (needs no test extras).

The example venue is the specification's EX (spec/index.rst, "Worked examples"), the one venue of
the spec's examples and the tests: USDT with 6 decimals, BTC in lots of 0.001 BTC priced in ticks
of 0.1 USDT (one lot at one tick is worth 100 quote quantums) on the Binance USD-M BTCUSDT brackets
of 2021-03-18, and ETH in lots of 0.01 ETH priced in ticks of 0.01 USDT (worth 100 quantums too) on
one tier, so that hand arithmetic stays readable.

The builders run the reference's operations, or with ``impl`` those of another implementation
with the same names (``liqspec.fast``), so a differential test can build each side's venue with
that side's own code. :func:`implementation` names each implementation's operations and queries
for the tests that run on both (the suite's ``impl`` fixture); :mod:`liqspec.testing.stateful`
is the random-operation state machine they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType, SimpleNamespace

from liqspec.reference import (BACKSTOP, Account, Market, Profile, State, Tier, deposit,
                               fund_insurance, liquidation_size_lots, new_state, open_account,
                               trade)
from liqspec.reference.margin import initial_margin_quote, notional_quote, open_interest_quote
from liqspec.reference.profiles import continuity_deductions
from liqspec.reference.units import to_units

USDT = 10**6  # quote quantums per USDT in the example venue


def usdt(text: str | int) -> int:
    """Human USDT to quote quantums, exactly."""
    return to_units(text, 6, "USDT")


def ppm(text: str) -> int:
    """A human rate such as "0.004" (0.4%) to parts per million, exactly."""
    return to_units(text, 6, "rate")


def tiers(*rows: tuple[str, str, str]) -> tuple[Tier, ...]:
    """Tiers from (floor notional USDT, maintenance rate, initial rate) rows; the deductions are
    the venues' continuity recursion (:func:`liqspec.reference.profiles.continuity_deductions`),
    so each requirement is continuous at every floor (LIQ-TIER-2)."""
    floors = [usdt(floor) for floor, _, _ in rows]
    maint = [ppm(rate) for _, rate, _ in rows]
    init = [ppm(rate) for _, _, rate in rows]
    return tuple(Tier(*tier) for tier in zip(floors, maint, continuity_deductions(floors, maint),
                                             init, continuity_deductions(floors, init),
                                             strict=True))


#: Binance USD-M BTCUSDT, 2021-03-18: maintenance 0.40/0.50/1.00/2.50%, initial 0.80/1.00/2.00/5.00%
#: (125x, 100x, 50x, 20x) from notional 0, 50,000, 250,000 and 1,000,000 USDT
BTC_TIERS = tiers(("0", "0.004", "0.008"), ("50000", "0.005", "0.01"), ("250000", "0.01", "0.02"),
                  ("1000000", "0.025", "0.05"))
ETH_TIERS = tiers(("0", "0.005", "0.01"))


def example_profile(liquidator_fee_ppm: int = 0, **policies: object) -> Profile:
    """The example venue EX of the specification, two markets; keyword arguments override the
    profile's policies, and ``liquidator_fee_ppm`` sets both markets' (LIQ-FEE-3)."""
    markets = {
        "BTC": Market("BTC", base_decimals=3, price_decimals=1, tiers=BTC_TIERS,
                      liquidation_fee_ppm=ppm("0.0125"), liquidator_fee_ppm=liquidator_fee_ppm),
        "ETH": Market("ETH", base_decimals=2, price_decimals=2, tiers=ETH_TIERS,
                      liquidation_fee_ppm=ppm("0.001"), liquidator_fee_ppm=liquidator_fee_ppm),
    }
    fields: dict[str, object] = {"name": "EX", "quote_decimals": 6, "quote_asset": "USDT",
                                 "markets": markets}
    fields.update(policies)
    return Profile(**fields)  # type: ignore[arg-type]


EXAMPLE_MARKS = {"BTC": 500_000, "ETH": 300_000}  # 50,000.0 USDT/BTC and 3,000.00 USDT/ETH


def step_lots(account: Account, market_id: str, state: State) -> int:
    """The lots of one liquidation step (LIQ-EXEC-1), for a generator sizing one: the whole
    position where the profile has no step of one market (account_share, LIQ-SHARE-2)."""
    if state.profile.liquidation_size == "account_share":
        return abs(account.position(market_id))
    return liquidation_size_lots(account, market_id, state)


#: an implementation of the operations: a module or namespace with the reference's names
Implementation = ModuleType | SimpleNamespace

#: the implementations by name
IMPLEMENTATION_NAMES = ("reference", "fast")


def implementation(name: str) -> SimpleNamespace:
    """One implementation's operations and queries, by the reference's names: ``"reference"``
    (liqspec.reference's functions) or ``"fast"`` (the compiled engine's), as
    ``liqspec.fast.compare.IMPLEMENTATIONS`` pairs them; ``.name`` says which."""
    if name not in IMPLEMENTATION_NAMES:
        raise ValueError(f"unknown implementation {name!r}: one of {IMPLEMENTATION_NAMES}")
    from liqspec.fast.compare import IMPLEMENTATIONS  # the compiled engine, only when asked

    return IMPLEMENTATIONS[name]


def venue(profile: Profile | None = None, marks: Mapping[str, int] | None = None,
          deposits: Mapping[str, int] | None = None, insurance_quote: int = 0,
          backstop_vault: str | None = None, impl: Implementation | None = None) -> State:
    """A state with the given accounts funded, an optional insurance fund and backstop vault,
    built by ``impl``'s operations (default: the reference's)."""
    if impl is None:
        impl = SimpleNamespace(open_account=open_account, deposit=deposit,
                               fund_insurance=fund_insurance)
    state = new_state(profile or example_profile(), dict(marks or EXAMPLE_MARKS))
    for account_id, amount in (deposits or {}).items():
        impl.open_account(state, account_id)
        if amount:
            impl.deposit(state, account_id, amount)
    if backstop_vault:
        impl.open_account(state, backstop_vault, role=BACKSTOP)
    if insurance_quote:
        impl.fund_insurance(state, insurance_quote)
    return state


def open_long(state: State, long_id: str, short_id: str, market_id: str, lots: int,
              price_ticks: int | None = None, impl: Implementation | None = None) -> None:
    """``long_id`` buys ``lots`` from ``short_id`` at ``price_ticks`` (default: the mark), by
    ``impl``'s trade (default: the reference's)."""
    (trade if impl is None else impl.trade)(state, long_id, short_id, market_id, lots,
                                            price_ticks or state.marks[market_id])


def open_at_leverage(state: State, account_id: str, counterparty_id: str, market_id: str,
                     lots: int, leverage: int, impl: Implementation | None = None) -> None:
    """Deposit margin for ``lots`` (signed: > 0 long, < 0 short) at the mark and open them against
    ``counterparty_id`` (book liquidity or a vault, outside the margin system).

    The deposit is ``notional // leverage`` plus one USDT, raised to the position's own initial
    requirement (LIQ-TIER-3) where the leverage asked for is above what its tier allows, so a
    generator built on it never meets an INSUFFICIENT_INITIAL_MARGIN rejection. The requirement is
    taken at the open interest after the trade at the latest (an upper bound: the scaled rate of
    LIQ-TIER-4 only rises with open interest).
    """
    market = state.market(market_id)
    notional = notional_quote(lots, state.marks[market_id], market)
    open_interest_bound = open_interest_quote(state, market_id) + notional
    required = initial_margin_quote(market, notional, open_interest_bound, lots)
    (deposit if impl is None else impl.deposit)(state, account_id,
                                                max(notional // leverage + USDT, required + USDT))
    if lots > 0:
        open_long(state, account_id, counterparty_id, market_id, lots, impl=impl)
    else:
        open_long(state, counterparty_id, account_id, market_id, -lots, impl=impl)


__all__ = ["BTC_TIERS", "ETH_TIERS", "EXAMPLE_MARKS", "IMPLEMENTATION_NAMES", "USDT",
           "example_profile", "implementation", "open_at_leverage", "open_long", "ppm",
           "step_lots", "tiers", "usdt", "venue"]
