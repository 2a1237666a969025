"""A wrong engine: the reference with the deleveraging ranking reversed, the lowest score first
(LIQ-ADL-2: the highest-ranked opposite position is deleveraged first)."""

import liqspec.reference.deleveraging as deleveraging
from liqspec.conformance.reference_engine import main


def _reversed(score):
    return lambda account, market_id, state: -score(account, market_id, state)


for policy, score in list(deleveraging.RANKINGS.items()):
    deleveraging.RANKINGS[policy] = _reversed(score)  # the bug

raise SystemExit(main(name="adl-reversed"))
