"""Running a sweep's runs: one run on the compiled cascade (:func:`execute_run`, what a worker
calls), and the loop over runs in this process or on ``dask.distributed``.

A worker receives the sweep's payload once (scattered to every worker: the book documents by key,
the resolved variants, the path generators) and then only ``(variant, path, seed)`` per run. It
builds each distinct book once (:func:`liqspec.scenario.parse_scenario`, then the engine's arrays,
:func:`liqspec.fast.arrays_of`) and keeps the last few in memory; a run then costs one
:func:`liqspec.fast.cascade_arrays` call on copies of those arrays. A run that raises returns its
error as a value: it never stops the sweep.

Metrics of a run (:data:`METRICS`; integers in the venue's units, the "primary" market being the
scenario's first):

* the cascade's summary (LIQ-CASCADE-5): ``steps``, ``rounds``, ``accounts_liquidated``,
  ``liquidation_fills``, ``notional_liquidated_quote``, ``insurance_fund_start_quote``,
  ``insurance_fund_min_quote``, ``insurance_fund_end_quote``, ``adl_lots``,
  ``adl_notional_quote``, ``bad_debt_quote``, ``socialized_quote``, ``unresolved_accounts``;
* prices of the primary market: ``start_price_ticks``, ``lowest_index_ticks`` (the exogenous
  shock), ``lowest_mark_ticks``, ``lowest_fill_ticks`` (the lowest liquidation fill, null
  without one);
* moves in ppm of the start, ROUND_DOWN: ``index_drop_ppm`` (the initial shock) and
  ``final_move_ppm`` (to the lower of the lowest mark and the lowest liquidation fill: how far
  the cascade took the price);
* ``fund_exhausted``: the fund could not cover every loss (auto-deleveraging filled, which it
  does only where the fund cannot pay, LIQ-ADL-1; or a deficit was written off as bad debt or
  socialized; or the fund reached zero), and ``deleveraged``: auto-deleveraging filled at least
  one lot. Under a socialization policy the two part: losses beyond the fund are shared, never
  deleveraged;
* ``fund_path_quote``: the insurance fund after every step.
"""

from __future__ import annotations

import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from liqspec.reference.arithmetic import PPM
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig
from liqspec.reference.marks import MarkRule
from liqspec.reference.errors import LiqspecError
from liqspec.reference.state import INSURANCE_FUND, OUTSIDE

from .sweep_config import RunSpec, Variant, adjust_profile, materialize
from .sweep_paths import index_path

#: summary metrics, in table order, with their Arrow type name
METRICS: dict[str, str] = {
    "steps": "int64", "rounds": "int64", "accounts_liquidated": "int64",
    "liquidation_fills": "int64", "notional_liquidated_quote": "int64",
    "start_price_ticks": "int64", "lowest_index_ticks": "int64", "lowest_mark_ticks": "int64",
    "lowest_fill_ticks": "int64", "index_drop_ppm": "int64", "final_move_ppm": "int64",
    "insurance_fund_start_quote": "int64", "insurance_fund_min_quote": "int64",
    "insurance_fund_end_quote": "int64", "adl_lots": "int64", "adl_notional_quote": "int64",
    "bad_debt_quote": "int64", "socialized_quote": "int64", "unresolved_accounts": "int64",
    "fund_exhausted": "bool", "deleveraged": "bool", "fund_path_quote": "list<int64>",
}
OK, ERROR = "ok", "error"

#: books a worker keeps built (each a few MB for 10^4 accounts)
BOOK_CACHE_SIZE = 8

_BOOKS: OrderedDict[str, dict] = OrderedDict()
_PROFILES: dict[tuple, Any] = {}


def _built_book(payload: dict, book_key: str) -> dict:
    """The book's engine arrays and the scenario's cascade settings, built once per worker."""
    hit = _BOOKS.get(book_key)
    if hit is not None:
        _BOOKS.move_to_end(book_key)
        return hit
    from liqspec.fast import arrays_of
    from liqspec.scenario import parse_scenario

    document, files = payload["books"][book_key]
    scenario = parse_scenario(materialize(document, files))
    built = {"arrays": arrays_of(scenario.state), "book_account": scenario.config.book_account,
             "backstop_vault": scenario.config.backstop_vault,
             "markets": list(scenario.config.books)}
    _BOOKS[book_key] = built
    while len(_BOOKS) > BOOK_CACHE_SIZE:
        evicted, _ = _BOOKS.popitem(last=False)
        for key in [k for k in _PROFILES if k[0] == evicted]:
            del _PROFILES[key]
    return built


def _profile(book_key: str, built: dict, variant: Variant):
    """The variant's profile, one object per (book, changes): liqspec.fast memoizes its packed
    tables per profile object."""
    key = (book_key, variant.profile_changes)
    if key not in _PROFILES:
        _PROFILES[key] = adjust_profile(built["arrays"]["profile"], variant.profile_changes)
    return _PROFILES[key]


def execute_run(payload: dict, variant_index: int, path_index: int,
                seed: int | None) -> dict:
    """One run on the compiled cascade: its metrics, or ``{"status": "error", "error": ...}``."""
    try:
        return _execute(payload, variant_index, path_index, seed)
    except Exception as error:  # noqa: BLE001  (recorded in the table, with the seed)
        return error_result(error)


def error_result(error: BaseException) -> dict:
    return {"status": ERROR, "error": f"{type(error).__name__}: {error}"}


def _execute(payload: dict, variant_index: int, path_index: int, seed: int | None) -> dict:
    from liqspec.fast import cascade_arrays
    from liqspec.fast import _engine

    variant: Variant = payload["variants"][variant_index]
    spec = payload["paths"][path_index]
    built = _built_book(payload, variant.book_key)
    arrays = built["arrays"]
    profile = _profile(variant.book_key, built, variant)
    markets = [m for m, *_ in variant.books]
    primary = markets[0]
    start = {m: arrays["marks"][m] for m in markets}
    path = index_path(spec, seed, start)
    holders = dict(arrays["holders"])
    # the sweep's fund comes from outside, as the scenario's loader books it (LIQ-INSURANCE-2)
    holders[OUTSIDE] -= variant.fund_quote - holders.get(INSURANCE_FUND, 0)
    holders[INSURANCE_FUND] = variant.fund_quote
    config = CascadeConfig(
        path=path,
        books={m: BookShape(levels, spacing, lots) for m, levels, spacing, lots in variant.books},
        book_account=built["book_account"], backstop_vault=built["backstop_vault"],
        mark_rule=MarkRule(variant.mark_kind, variant.mark_band_ppm))
    # cascade_arrays copies the arrays into the engine: the cached book is never changed
    result = cascade_arrays(
        profile, arrays["marks"], arrays["account_ids"], arrays["quote"], arrays["lots"], config,
        cost=arrays["cost"], role=arrays["role"], isolated=arrays["isolated"], holders=holders,
        seq=arrays["seq"])
    summary = result.summary
    trace = result.trace
    fills = ((trace["kind"] == _engine.EVENT_KIND_NAMES.index("liquidation_fill"))
             & (trace["market"] == list(result.market_ids).index(primary))
             & (trace["has_price"] != 0))
    lowest_fill = int(trace["price"][fills].min()) if fills.any() else None
    start_ticks = start[primary]
    lowest_index = min(path.index_ticks[primary])
    lowest_mark = summary.lowest_mark_ticks[primary]
    final_low = lowest_mark if lowest_fill is None else min(lowest_mark, lowest_fill)
    metrics = {
        "status": OK, "error": "",
        "steps": summary.steps, "rounds": summary.rounds,
        "accounts_liquidated": summary.accounts_liquidated,
        "liquidation_fills": summary.liquidation_fills,
        "notional_liquidated_quote": summary.notional_liquidated_quote,
        "start_price_ticks": start_ticks, "lowest_index_ticks": lowest_index,
        "lowest_mark_ticks": lowest_mark, "lowest_fill_ticks": lowest_fill,
        # moves: ROUND_DOWN to a ppm (a display metric, never state)
        "index_drop_ppm": max(0, start_ticks - lowest_index) * PPM // start_ticks,
        "final_move_ppm": max(0, start_ticks - final_low) * PPM // start_ticks,
        "insurance_fund_start_quote": summary.insurance_fund_start_quote,
        "insurance_fund_min_quote": summary.insurance_fund_min_quote,
        "insurance_fund_end_quote": summary.insurance_fund_end_quote,
        "adl_lots": summary.adl_lots, "adl_notional_quote": summary.adl_notional_quote,
        "bad_debt_quote": summary.bad_debt_quote, "socialized_quote": summary.socialized_quote,
        "unresolved_accounts": summary.unresolved_accounts,
        # the fund could not cover every loss: ADL took over (it fires only where the fund
        # cannot pay, LIQ-ADL-1), a deficit was written off or socialized, or it reached zero
        "fund_exhausted": (summary.adl_lots > 0 or summary.bad_debt_quote > 0
                           or summary.socialized_quote > 0
                           or summary.insurance_fund_min_quote == 0),
        "deleveraged": summary.adl_lots > 0,
        "fund_path_quote": [record.insurance_fund_quote for record in result.steps],
    }
    return metrics


# -- the loops ------------------------------------------------------------------------------------

Outcome = tuple[RunSpec, dict]


RunTask = Callable[[dict, int, int, "int | None"], dict]


def run_in_process(payload: dict, runs: Iterable[RunSpec],
                   task: RunTask = execute_run) -> Iterator[Outcome]:
    """The plain loop: every run here, in order (the benchmark's baseline, and ``--workers 0``)."""
    for spec in runs:
        yield spec, task(payload, spec.variant_index, spec.path_index, spec.seed)


#: the error recorded for a run whose worker process ended while running it alone
WORKER_DIED = ("WorkerDied: the worker process ended while running this run alone on the "
               "cluster (an exit or a crash inside the run, not a Python exception)")


def run_on_dask(client: Any, payload: dict, runs: Iterable[RunSpec],
                in_flight: int | None = None, task: RunTask = execute_run) -> Iterator[Outcome]:
    """Every run as a task on ``client``'s cluster, yielded as it completes (in completion order;
    the caller sorts). At most ``in_flight`` tasks are submitted at once (default: 64 per
    worker thread), so memory stays bounded whatever the number of runs.

    ``task`` computes one run (default :func:`execute_run`, which returns a run's exception as
    its outcome); so a future that raises means the run's worker died (Dask's ``KilledWorker``,
    after its ``allowed-failures`` restarts) or its data was lost. Dask blames a death on every
    task the worker held, so such a run may be innocent: the suspects are run again together
    afterwards, then those that fail again one at a time, alone on the cluster, in run-key
    order, and only a run that fails alone is recorded as failed (:data:`WORKER_DIED`). The
    table does not depend on which runs shared a worker."""
    runs = iter(runs)
    if in_flight is None:
        threads = sum(client.nthreads().values()) or 1
        in_flight = 64 * threads
    suspects: list[RunSpec] = []
    for spec, outcome in _submit_all(client, payload, runs, in_flight, task):
        if outcome is None:
            suspects.append(spec)
        else:
            yield spec, outcome
    # first all together again, on a fresh copy of the payload: a lone worker's death loses
    # the payload and so fails every run after it, and most suspects are innocent
    again: list[RunSpec] = []
    retried = _submit_all(client, payload, iter(suspects), in_flight, task) if suspects else ()
    for spec, outcome in retried:
        if outcome is None:
            again.append(spec)
        else:
            yield spec, outcome
    for spec in sorted(again, key=lambda s: s.run_key):
        [(_, outcome)] = list(_submit_all(client, payload, iter([spec]), 1, task))
        yield spec, outcome if outcome is not None else {"status": ERROR, "error": WORKER_DIED}


def _submit_all(client: Any, payload: dict, runs: Iterator[RunSpec], in_flight: int,
                task: RunTask) -> Iterator[tuple[RunSpec, dict | None]]:
    """Each run's outcome as it completes; None where the task raised (its worker died)."""
    from distributed import as_completed

    # a list of one: scatter would spread a dict's values as separate futures; scattered
    # again for every batch, as a worker's death may have taken a replica with it
    (shared,) = client.scatter([payload], broadcast=True, hash=False)
    token = uuid.uuid4().hex[:8]
    pending: dict[Any, RunSpec] = {}
    completed = as_completed()

    def submit_next() -> bool:
        spec = next(runs, None)
        if spec is None:
            return False
        future = client.submit(task, shared, spec.variant_index, spec.path_index, spec.seed,
                               key=f"liqspec-run-{spec.run_key}-{token}", pure=False)
        pending[future] = spec
        completed.add(future)
        return True

    for _ in range(in_flight):
        if not submit_next():
            break
    try:
        for future in completed:
            spec = pending.pop(future)
            try:
                outcome = future.result()
            except Exception:  # noqa: BLE001  (the worker died: the caller runs it again alone)
                outcome = None
            future.release()
            submit_next()
            yield spec, outcome
    finally:
        for future in list(pending):
            future.cancel()
        shared.release()


def local_client(workers: int) -> Any:
    """A Client on a new LocalCluster of ``workers`` worker processes, one thread each, on
    127.0.0.1 only (its HTTP server on a free port), quiet logs. The workers' statistical
    profiler is off: it samples the running task every 10 ms, and a run is a Python loop over
    compiled steps, so the sampling would take the GIL from it (a third more CPU per run, as
    measured by bench/bench_sweep.py)."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               silence_logs=logging.ERROR)
        return Client(cluster)


#: seconds to reach a scheduler and finish Dask's handshake: a busy cluster on a network answers
#: well within it, and a wrong address fails in seconds rather than after Dask's default 30 s
CONNECT_TIMEOUT_S = 5.0

#: a scheduler's port, as TCP allows
PORT_RANGE = (1, 65535)


class SchedulerError(LiqspecError):
    """The Dask scheduler at ``address`` cannot be used: the address is malformed, or nothing
    answered there within the connect timeout."""

    def __init__(self, address: str, reason: str):
        super().__init__(f"{address!r}: {reason}")
        self.address = address
        self.reason = reason


def check_address(address: str) -> None:
    """Raise :class:`SchedulerError` unless ``address`` reads as ``SCHEME://HOST:PORT`` with a
    scheme Dask knows (``tcp`` when omitted) and a port in range; nothing is contacted."""
    from distributed.comm import registry
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        registry.get_backend(scheme)
        _, port = get_address_host_port(address)
    except ValueError as error:
        raise SchedulerError(address, f"not a scheduler address (expected tcp://HOST:PORT): "
                                      f"{error}") from None
    if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
        raise SchedulerError(address, f"port {port} is outside {PORT_RANGE[0]}..{PORT_RANGE[1]}")


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A Client on an existing cluster by its scheduler address (``tcp://HOST:PORT``); a
    :class:`SchedulerError` if the address is malformed or no scheduler answers within
    ``timeout_s`` seconds."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as error:
        # OSError covers Dask's "Timed out trying to connect" and a refused connection
        raise SchedulerError(address, f"no Dask scheduler answered within {timeout_s:g} s "
                                      f"({type(error).__name__}: {error})") from None


def close_client(client: Any) -> None:
    """Close a client this package made, and its LocalCluster if it made one."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


class Progress:
    """A tqdm bar over runs on standard error (``enabled``: True on a terminal, "always", or
    False); ``tick`` after each run."""

    def __init__(self, total: int, done: int, enabled: bool | str, description: str = "sweep"):
        from tqdm import tqdm

        disable = False if enabled == "always" else (None if enabled else True)
        self.bar = tqdm(total=total, initial=done, desc=description, unit="run",
                        file=sys.stderr, disable=disable, dynamic_ncols=True, leave=False)

    def tick(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def drive(outcomes: Iterator[Outcome], on_outcome: Callable[[RunSpec, dict], None],
          progress: Progress | None = None) -> None:
    """Pass each outcome on as it arrives, advancing the bar."""
    for spec, outcome in outcomes:
        on_outcome(spec, outcome)
        if progress is not None:
            progress.tick()
