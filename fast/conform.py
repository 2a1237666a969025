"""liqspec.fast over the conformance protocol: ``python -m liqspec.fast.conform``, so that
``liqspec conform --engine "python -m liqspec.fast.conform"`` checks the compiled engine.

The adapter declares, in its hello, only what is compiled: the per-account queries with a
kernel (:mod:`liqspec.fast.accounts`), the queries over the engine's own cdef functions
(:mod:`liqspec.fast.queries`: the tier and requirements of a notional, the liquidation size and
fee, the deleveraging allocation and its price), the state-changing operations that
:mod:`liqspec.fast.operations` has (each looked up by name, so a request is declared once it is
compiled, and reported skipped until then; never run on the reference in its place), and the
cascade (:func:`liqspec.fast.cascade.run_cascade`). Today that is every request of the catalogue.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from liqspec.conformance.catalogue import CATALOGUE, OPERATION, QUERY, execute
from liqspec.conformance.protocol import serve

from . import accounts, operations, queries
from .cascade import run_cascade

#: the queries liqspec.fast has kernels for (liqspec.fast.accounts)
KERNEL_QUERIES = ("equity_quote", "account_maintenance_margin_quote",
                  "account_initial_margin_quote", "open_interest_quote", "free_collateral_quote",
                  "is_liquidatable", "is_below_backstop", "bankruptcy_price", "liquidation_price",
                  "funding_owed")


def implementation() -> tuple[SimpleNamespace, list[str]]:
    """The fast implementation under the reference's names, and the requests it can answer."""
    functions = {name: getattr(accounts, name) for name in KERNEL_QUERIES}
    for kind, module in ((QUERY, queries), (OPERATION, operations)):
        functions.update({name: getattr(module, name) for name, entry in CATALOGUE.items()
                          if entry.kind == kind and name not in functions
                          and callable(getattr(module, name, None))})
    functions["run_cascade"] = run_cascade
    supported = [name for name in CATALOGUE if name in functions]
    return SimpleNamespace(**functions), sorted(supported)


def main() -> int:
    impl, supported = implementation()
    return serve(lambda profile, state, op: execute(impl, profile, state, op), "liqspec.fast",
                 supported)


if __name__ == "__main__":
    sys.exit(main())
