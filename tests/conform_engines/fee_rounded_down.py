"""A wrong engine: the reference with the liquidation fee rounded down instead of up (LIQ-FEE-1)."""

import liqspec.reference.liquidation as liquidation
from liqspec.conformance.reference_engine import main
from liqspec.reference.arithmetic import mul_ppm_floor

liquidation.mul_ppm_ceil = mul_ppm_floor  # the bug: the fee rounds in the account's favour

raise SystemExit(main(name="fee-rounded-down"))
