"""A wrong engine: the reference with a notional exactly on a tier floor kept in the tier below
(LIQ-TIER-1: the floor belongs to the tier it starts)."""

import liqspec.reference as ref
import liqspec.reference.margin as margin
from liqspec.conformance.reference_engine import main

right = margin.tier_for


def tier_for(market, notional, lots=None):
    if market.tier_basis != "notional":  # the bug is LIQ-TIER-1's; tiers by size stay right
        return right(market, notional, lots)
    chosen = market.tiers[0]
    for tier in market.tiers:
        if tier.floor_notional_quote < notional:  # the bug: < where the rule says <=
            chosen = tier
    return chosen


margin.tier_for = ref.tier_for = tier_for

raise SystemExit(main(name="tier-off-by-one"))
