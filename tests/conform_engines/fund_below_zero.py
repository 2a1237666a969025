"""A wrong engine: the reference with the insurance fund paying a whole deficit even when it
goes below zero (LIQ-INSURANCE-1: the fund pays at most what it holds)."""

import liqspec.reference.deleveraging as deleveraging
import liqspec.reference.liquidation as liquidation
from liqspec.conformance.reference_engine import main
from liqspec.reference.ledger import transfer
from liqspec.reference.state import INSURANCE_FUND


def settle_deficit(state, account):
    deficit = -account.quote
    transfer(state, INSURANCE_FUND, account.account_id, deficit, "LIQ-INSURANCE-1")  # the bug
    return {"fund_paid": deficit, "written_off": 0}


liquidation.settle_deficit = deleveraging.settle_deficit = settle_deficit

raise SystemExit(main(name="fund-below-zero"))
