"""liqspec.fast: the compiled engine, same semantics as liqspec.reference, batch API over numpy.

There is no pure-Python fallback: if the extension is missing, this import fails loudly.

* :mod:`.pack`: a profile as :class:`~.pack.MarketTables`, a state as :class:`~.pack.StateArrays`
  (glue);
* the kernels (compiled, nogil, int64 with 128-bit intermediates): :func:`health`,
  :func:`equity_quotes`, :func:`maintenance_margin_quotes`, :func:`initial_margin_quotes`,
  :func:`free_collateral_quotes`, :func:`open_interest_quotes`, :func:`liquidatable_flags`,
  :func:`below_backstop_flags`, :func:`funding_owed_quotes`, :func:`bankruptcy_prices`,
  :func:`liquidation_prices`, :func:`position_values_quote`;
* :mod:`.accounts`: the reference's per-account signatures over those kernels (for the ``impl``
  test fixture and ``liqspec difftest``);
* :mod:`.operations` (over the compiled engine, ``liqspec.fast._engine``): the state-changing
  operations with the reference's signatures, receipts and errors: ``deposit``, ``withdraw``,
  ``trade``, ``set_mark``, ``open_account``, ``replace_book``, ``liquidate``,
  ``market_liquidate``, ``backstop_liquidate``, ``deleverage``, ``socialize_loss``,
  ``apply_funding``, ``fund_insurance``, ``set_leverage``;
* :mod:`.queries` (over the same engine): the read queries with no batch kernel, with the
  reference's signatures, results and errors: ``maintenance_requirement``,
  ``initial_requirement``, ``liquidation_size_lots``, ``liquidation_fee``, ``adl_allocation``,
  ``adl_receive_quote``;
* :func:`~liqspec.fast.cascade.run_cascade` (:mod:`liqspec.fast.cascade`): the reference's cascade, compiled end to end, with an
  equal trace, step records, summary and final state; each round's processing order comes
  from trigger-price heaps (O(candidates), not O(N)); :func:`~liqspec.fast.cascade.cascade_arrays`
  runs it straight from numpy arrays (no State, Events built on demand);
* :mod:`.domain`: the one check of every array and integer a caller passes in (dtype, int64
  range, shape), with the reference's typed errors; an int64 array is used uncopied.
"""

from ._kernels import (  # noqa: F401  (an ImportError here is deliberate: no fallback)
    below_backstop_flags, bankruptcy_prices, equity_quotes, free_collateral_quotes,
    funding_owed_quotes, health, initial_margin_quotes, liquidatable_flags, liquidation_prices,
    maintenance_margin_quotes, open_interest_quotes, position_values_quote)
from . import _engine, _kernels  # noqa: F401
from .cascade import ArrayCascadeResult, arrays_of, cascade_arrays, run_cascade
from .operations import (OPERATIONS, apply_funding, backstop_liquidate, deleverage, deposit,
                         fund_insurance, liquidate, market_liquidate, open_account, replace_book,
                         set_leverage, set_mark, share_liquidate, socialize_loss, trade,
                         withdraw)
from .pack import MarketTables, StateArrays, pack_accounts, pack_profile, pack_state, tables_for
from .queries import (QUERIES, adl_allocation, adl_receive_quote, initial_requirement,
                      liquidation_fee, liquidation_size_lots, maintenance_requirement)

KERNELS = ("below_backstop_flags", "bankruptcy_prices", "equity_quotes", "free_collateral_quotes",
           "funding_owed_quotes", "health", "initial_margin_quotes", "liquidatable_flags",
           "liquidation_prices", "maintenance_margin_quotes", "open_interest_quotes",
           "position_values_quote")

__all__ = [*KERNELS, *OPERATIONS, *QUERIES, "run_cascade", "cascade_arrays", "arrays_of",
           "ArrayCascadeResult", "MarketTables", "StateArrays", "pack_accounts",
           "pack_profile", "pack_state", "tables_for"]
