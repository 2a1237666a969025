"""Socialized loss (LIQ-SOCIAL-*), the alternative to auto-deleveraging (Drift, Mango, Paradex).

Bad debt that the insurance fund could not pay is first recorded as a negative balance of the
socialized-loss holder (LIQ-SOCIAL-1, in :mod:`.insurance`). Socializing it charges every trader on
one side of a market, or on both (side 0), in proportion to its lots, as a funding-index step
would, each charge rounded up; the rounding surplus goes to the fee sink (LIQ-ROUND-3). Charging
the whole recorded loss leaves the holder at exactly zero; charging part of it (``amount_quote``,
as a cascade does with each round's write-offs, LIQ-CASCADE-2) raises the holder by exactly that
part.
"""

from __future__ import annotations

from .arithmetic import div_ceil, require_int, sign
from .errors import InvalidSize, Rejection, ResultCode
from .ledger import transfer
from .profile import SOCIALIZING
from .receipts import Receipt, receipt
from .rules import implements
from .state import FEE_SINK, SOCIALIZED_LOSS, TRADER, Account, State, atomic


@implements("LIQ-SOCIAL-2")
def check_socialize_loss(state: State, market_id: str, side: int,
                         amount_quote: int | None = None) -> list[Account]:
    """The checks of :func:`socialize_loss`, in its order (the market, the side, the amount, the
    policy, the recorded loss, the payers); pure. Returns the payers in account-ID order."""
    state.market(market_id)
    if require_int(side, "side") not in (1, -1, 0):
        raise InvalidSize(f"side must be +1 (longs), -1 (shorts) or 0 (both), got {side}")
    if amount_quote is not None and require_int(amount_quote, "amount_quote") <= 0:
        raise InvalidSize(f"the amount to socialize must be positive, got {amount_quote}")
    if state.profile.bad_debt_policy not in SOCIALIZING:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} deleverages instead of socializing losses")
    recorded = -state.holders[SOCIALIZED_LOSS]
    if recorded <= 0:
        raise Rejection(ResultCode.NOTHING_TO_SOCIALIZE, "there is no recorded bad debt")
    if amount_quote is not None and amount_quote > recorded:
        raise Rejection(ResultCode.NOTHING_TO_SOCIALIZE,
                        f"only {recorded} of bad debt is recorded, not {amount_quote}")
    payers = sorted((a for a in state.accounts.values()
                     if a.role == TRADER and a.position(market_id)
                     and side in (0, sign(a.position(market_id)))),
                    key=lambda a: a.account_id)
    total_lots = sum(abs(a.position(market_id)) for a in payers)
    if total_lots == 0:
        raise Rejection(ResultCode.NO_SOCIALIZATION_BASE, f"nobody holds that side of {market_id}")
    return payers


@implements("LIQ-SOCIAL-2")
def socialize_loss(state: State, market_id: str, side: int,
                   amount_quote: int | None = None) -> Receipt:
    """Charge the recorded bad debt, or ``amount_quote`` of it, to the traders holding ``side``
    (+1 longs, -1 shorts, 0 both) of ``market_id``, pro rata to their lots."""
    payers = check_socialize_loss(state, market_id, side, amount_quote)
    loss = -state.holders[SOCIALIZED_LOSS] if amount_quote is None else amount_quote
    total_lots = sum(abs(a.position(market_id)) for a in payers)
    first = len(state.journal)
    charged = 0
    with atomic(state):
        for payer in payers:
            charge = div_ceil(loss * abs(payer.position(market_id)), total_lots)
            transfer(state, payer.account_id, SOCIALIZED_LOSS, charge, "LIQ-SOCIAL-2")
            charged += charge
        if charged > loss:  # the rounding surplus, at most one quantum per payer
            transfer(state, SOCIALIZED_LOSS, FEE_SINK, charged - loss, "LIQ-ROUND-3")
    return receipt(state, first, loss=loss, charged=charged, residual=charged - loss)
