"""``liqspec difftest`` (liqspec.fast.difftest): the campaign, shrinking and replay.

The campaign's examples take turns over three kinds: per-account queries, sequences of
state-changing operations, and small cascades. A planted bug in each (the fast liquidation price
one tick off; a fast market order that pays the insurance fund one quantum too much; a fast
cascade that counts one round too many) must be found, shrunk to a minimal case, printed as JSON
and reported again by ``--replay``; the real fast path must show no divergence, and a shrunk case
replayed on it must agree. Rules: LIQ-PRICE-3 (the planted tick), LIQ-RESULT-1 and LIQ-BOOK-2
(receipts, result codes and resulting states of an operation), LIQ-CASCADE-2 and LIQ-CASCADE-5
(the whole run: trace, step records, summary, final state).
"""

import collections
import json
from dataclasses import replace as dc_replace
from types import SimpleNamespace

import pytest

import liqspec.fast.difftest as difftest
from liqspec.fast.compare import FAST, REFERENCE, run_cascade_case, run_operations
from liqspec import codec
from liqspec.testing.cases import (OPERATION_NAMES, Case, random_cascade, random_operations,
                                    case_from_json, case_to_json)
from liqspec.reference import Account, Market, Profile, Tier
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import CascadeConfig, PricePath
from liqspec.reference import account_maintenance_margin_quote, equity_quote
from liqspec.reference.state import INSURANCE_FUND


def plant(monkeypatch, **replaced) -> None:
    """A planted bug: liqspec difftest's fast side with the named operations replaced."""
    monkeypatch.setattr(difftest, "FAST", SimpleNamespace(**{**vars(FAST), **replaced}))


def first_divergence(tmp_path, examples: int, kinds: str) -> dict:
    """Run ``examples`` examples of ``kinds`` until the first divergence (exit status 1) and
    return the case it printed."""
    out = tmp_path / "divergences.jsonl"
    assert difftest.main(["--examples", str(examples), "--kinds", kinds, "--quiet",
                          "--max-divergences", "1", "--out", str(out)]) == 1
    return json.loads(out.read_text().splitlines()[0])


def test_a_short_campaign_finds_no_divergence(capsys):
    assert difftest.main(["--examples", "20", "--quiet"]) == 0
    assert capsys.readouterr().out == "no divergence\n"


def test_a_planted_bug_is_found_shrunk_and_replayed_LIQ_PRICE_3(monkeypatch, tmp_path, capsys):
    def off_by_one(*args):
        threshold = FAST.liquidation_price(*args)
        return dc_replace(threshold, ticks=threshold.ticks + 1)

    plant(monkeypatch, liquidation_price=off_by_one)
    out = tmp_path / "divergences.jsonl"
    assert difftest.main(["--examples", "200", "--quiet", "--out", str(out)]) == 1
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert cases and all(c["op"] == "liquidation_price" for c in cases)
    first = cases[0]
    assert len(first["scenario"]["state"]["accounts"]) == 1  # shrunk to the one account that matters
    assert first["fast"]["ok"]["ticks"] == first["reference"]["ok"]["ticks"] + 1
    capsys.readouterr()
    assert difftest.main(["--replay", str(out)]) == 1
    assert capsys.readouterr().out.startswith("DIVERGES liquidation_price")


# -- the campaign covers every kind, and each kind is not vacuous ----------------------------

def test_examples_take_turns_over_every_kind(capsys):
    """The summary counts each kind; 40 examples are 10 of each (kinds go by seed)."""
    assert difftest.main(["--examples", "40", "--seed", "7"]) == 0
    err = capsys.readouterr().err
    assert "40 examples" in err
    assert "10 query scenarios" in err and "10 operation sequences" in err
    assert "10 cascades" in err and "10 deleveraging cascades" in err
    assert "0 divergences" in err
    assert [difftest.kind_of(s) for s in range(4)] == ["queries", "operations", "cascade", "adl"]


def test_operation_sequences_reach_every_operation_and_outcome_LIQ_RESULT_1():
    """Generated sequences run every operation to success and to rejection, hit Overflow
    (int64 limits) and unknown accounts; the two implementations agree on each step. A
    deleverage that succeeds needs a bankrupt trader, the adl policy, a fund short of the loss
    and opposite positions: about one seed in 200, so the seeds are many (each costs ~2 ms)."""
    outcomes = collections.Counter()
    for seed in range(2000):
        scenario, calls = random_operations(seed)
        want = run_operations(REFERENCE, scenario, calls)
        assert run_operations(FAST, scenario, calls) == want
        for (op, _), (result, _) in zip(calls, want):
            outcomes[op, result[0] if result[0] == "ok" else result[2]] += 1
    for op in OPERATION_NAMES:
        assert outcomes[op, "ok"] > 0, op
    codes = {code for _, code in outcomes}
    assert {"OVERFLOW", "UNKNOWN_ACCOUNT", "NOT_LIQUIDATABLE", "NO_BOOK_LIQUIDITY",
            "POLICY_FORBIDS", "FUND_CAN_COVER", "NOTHING_TO_SOCIALIZE"} <= codes


def test_generated_venues_sit_on_boundaries_LIQ_MARGIN_3():
    """Boundary bias: some traders have equity exactly at maintenance (not liquidatable), one
    quantum below it, or exactly zero."""
    seen = collections.Counter()
    for seed in range(300):
        scenario, _ = random_operations(seed)
        state = scenario.state()
        for account in state.accounts.values():
            if account.role != "trader" or not account.positions:
                continue
            try:
                equity = equity_quote(account, state.marks, state.profile)
                maintenance = account_maintenance_margin_quote(account, state.marks,
                                                               state.profile)
            except Exception:  # noqa: BLE001  an int64-edge account
                seen["overflow"] += 1
                continue
            seen["at maintenance"] += equity == maintenance
            seen["one below"] += equity == maintenance - 1
            seen["zero equity"] += equity == 0
    assert seen["at maintenance"] and seen["one below"] and seen["zero equity"]
    assert seen["overflow"]


def test_generators_reach_the_entry_maintenance_basis_LIQ_TIER_6():
    """The query, operation and cascade generators give isolated accounts with cost bases under
    the ``entry`` basis, so the campaign compares the compiled entry-basis requirement, trigger,
    liquidation price and tier-step size (and the cascade index's linear triggers) with the
    reference's."""
    from liqspec.testing.cases import random_case
    queries = operations = cascades = 0
    for seed in range(200):
        scenario = random_case(seed)
        queries += scenario.profile.maintenance_basis == "entry" and any(
            a.isolated_market and a.cost_quote for a in scenario.accounts)
        for venue, counter in ((random_operations(seed)[0], "operations"),
                               (random_cascade(seed)[0], "cascades")):
            hit = venue.profile.maintenance_basis == "entry" and any(
                a.isolated_market and a.positions for a in venue.accounts)
            if counter == "operations":
                operations += hit
            else:
                cascades += hit
    assert queries >= 40 and operations >= 5 and cascades >= 5, (queries, operations, cascades)


def test_generators_reach_rates_that_are_fractions_LIQ_TIER_7():
    """Markets of rate_scale > 1 (rates in ppm / scale, deductions in quantums / scale) in the
    query, operation and cascade generators, so the campaign compares the compiled scaled
    requirement, liquidation price and trigger estimate with the reference's exact fractions."""
    from liqspec.testing.cases import random_case
    counts = collections.Counter()
    for seed in range(200):
        for kind, venue in (("queries", random_case(seed)),
                            ("operations", random_operations(seed)[0]),
                            ("cascades", random_cascade(seed)[0])):
            counts[kind] += any(m.rate_scale > 1 for m in venue.profile.markets.values())
    assert counts["queries"] >= 40 and counts["operations"] >= 20 and counts["cascades"] >= 4, \
        counts


def test_cascades_reach_every_path_LIQ_CASCADE_3():
    """Generated cascades produce book fills, fees, ADL, write-offs and socialization, backstop
    takeovers, insurance payouts, mark moves and unresolved accounts, and errors too; both
    implementations give the same result for each."""
    kinds, errors = collections.Counter(), collections.Counter()
    for seed in range(450):
        scenario, config = random_cascade(seed)
        want = run_cascade_case(REFERENCE, scenario, config)
        assert run_cascade_case(FAST, scenario, config) == want, seed
        if want[0] == "ok":
            kinds.update(e.kind for e in want[1])
        else:
            errors[want[1]] += 1
    assert {"liquidation_fill", "fee", "adl_fill", "write_off", "socialize", "backstop",
            "insurance_payout", "mark", "unresolved"} <= set(kinds)
    assert errors["Overflow"] > 0


# -- planted bugs in operations and cascades: found, shrunk, replayed ---------------------------

def _replays(tmp_path, capsys, case, expect_status):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    capsys.readouterr()
    assert difftest.main(["--replay", str(path)]) == expect_status
    return capsys.readouterr().out


def test_a_planted_operation_bug_is_found_shrunk_and_replayed_LIQ_BOOK_2_LIQ_RESULT_1(
        monkeypatch, tmp_path, capsys):
    """The fast market order pays the insurance fund one extra quantum whenever it sells more
    than one lot: the receipt is right, the resulting state is not."""
    def overpaying(state, *args):
        receipt = FAST.market_liquidate(state, *args)
        if receipt.amounts["lots"] > 1:
            state.holders[INSURANCE_FUND] += 1
        return receipt

    plant(monkeypatch, market_liquidate=overpaying)
    case = first_divergence(tmp_path, 600, "operations")
    assert case["kind"] == "operations" and case["op"] == "market_liquidate"
    # shrunk: the one diverging call, its subject and the book account, one market
    assert len(case["calls"]) == 1
    assert len(case["scenario"]["state"]["accounts"]) <= 2
    assert len(case["scenario"]["profile"]["markets"]) == 1
    assert case["difference"].startswith(".state.holders.insurance_fund")
    assert "DIVERGES operations call 0 market_liquidate" in _replays(tmp_path, capsys, case, 1)
    monkeypatch.setattr(difftest, "FAST", FAST)  # the real fast path agrees on the shrunk case
    assert _replays(tmp_path, capsys, case, 0).startswith("agrees")


def test_a_planted_cascade_bug_is_found_shrunk_and_replayed_LIQ_CASCADE_5(
        monkeypatch, tmp_path, capsys):
    """The fast cascade reports one round too many once it has made two liquidation fills."""
    def miscounting(state, config, **kwargs):
        result = FAST.run_cascade(state, config, **kwargs)
        if result.summary.liquidation_fills >= 2:
            result.summary = dc_replace(result.summary, rounds=result.summary.rounds + 1)
        return result

    plant(monkeypatch, run_cascade=miscounting)
    case = first_divergence(tmp_path, 300, "cascade")
    assert case["kind"] == "cascade" and case["part"] == "summary"
    assert case["fast"]["rounds"] == case["reference"]["rounds"] + 1
    assert case["difference"].startswith(".summary.rounds")
    # shrunk: one step of the path, no more than two fills' worth of traders
    assert [len(p) for p in case["config"]["path"].values()] == [1] * len(case["config"]["path"])
    assert sum(a.get("role", "trader") == "trader"
               for a in case["scenario"]["state"]["accounts"]) <= 2
    assert "DIVERGES cascade (summary differ)" in _replays(tmp_path, capsys, case, 1)
    monkeypatch.setattr(difftest, "FAST", FAST)
    assert _replays(tmp_path, capsys, case, 0).startswith("agrees")


# -- the engine's verify mode ------------------------------------------------------------------

def test_a_share_of_the_cascades_runs_the_engines_verify_mode_LIQ_CASCADE_1(monkeypatch, capsys):
    """One turn of the kinds in VERIFY_EVERY (4) runs its cascades with ``order="verify"`` (the
    candidate and ranking indexes checked against a full scan every round), the rest in the
    default ``index`` mode: with the kinds cascade,adl, seeds 0, 1, 8, 9, 16, 17, 24, 25 of
    0..31. The calls go to the real engine (the recorder only notes the order)."""
    orders = []

    def recording(state, config, **kwargs):
        orders.append(kwargs.get("order", "index"))
        return FAST.run_cascade(state, config, **kwargs)

    plant(monkeypatch, run_cascade=recording)
    assert difftest.main(["--examples", "32", "--kinds", "cascade,adl"]) == 0
    assert collections.Counter(orders) == {"verify": 8, "index": 24}
    assert [difftest.order_of(s, ("cascade", "adl")) == "verify" for s in range(10)] == \
        [True, True, False, False, False, False, False, False, True, True]
    assert "16 cascades, 16 deleveraging cascades, 8 of these in verify mode" in \
        capsys.readouterr().err


def test_an_index_that_contradicts_the_scan_is_found_in_verify_mode_and_replayed(
        monkeypatch, tmp_path, capsys):
    """Planted: the engine's verify mode reports that its index disagrees with the full scan
    (as fast.cascade does, with an AssertionError) once a cascade has made a liquidation fill.
    Only the verify-mode examples can see it; the case says so and replays in that mode."""
    def contradicting(state, config, **kwargs):
        result = FAST.run_cascade(state, config, **kwargs)
        if kwargs.get("order") == "verify" and result.summary.liquidation_fills:
            raise AssertionError("the index's processing order differs from the scan's")
        return result

    plant(monkeypatch, run_cascade=contradicting)
    case = first_divergence(tmp_path, 200, "cascade")
    assert (case["kind"], case["order"], case["part"]) == ("cascade", "verify", "outcome")
    assert difftest.order_of(case["seed"], ("cascade",)) == "verify"
    assert "AssertionError" in json.dumps(case["fast"])
    assert "in the engine's verify mode" in _replays(tmp_path, capsys, case, 1)
    monkeypatch.setattr(difftest, "FAST", FAST)
    assert _replays(tmp_path, capsys, case, 0).startswith("agrees")
    index_case = dict(case, order="index")  # the same case in the default mode never saw it
    plant(monkeypatch, run_cascade=contradicting)
    assert _replays(tmp_path, capsys, index_case, 0).startswith("agrees")


def test_a_replayed_case_names_a_known_order(tmp_path):
    case = {"kind": "cascade", "order": "sideways", "scenario": {}, "config": {}}
    path = tmp_path / "case.json"
    scenario, config = random_cascade(3)
    case.update(scenario=difftest.case_to_json(scenario), config=config)
    path.write_text(json.dumps(case))
    with pytest.raises(difftest.DifftestInputError, match="order must be one of index, scan, "
                                                          "verify, got 'sideways'"):
        difftest.read_cases(str(path))


# -- JSON round trips, processes and the time budget ------------------------------------------

@pytest.mark.parametrize("seed", range(0, 60, 7))
def test_cases_round_trip_through_json(seed):
    """A printed case rebuilds the very same state (policies, roles, isolation, cost bases,
    holders, books, seq) and the same cascade configuration."""
    for scenario in (random_operations(seed)[0], random_cascade(seed)[0]):
        text = json.dumps(case_to_json(scenario))
        again = case_from_json(json.loads(text))
        assert again.state().snapshot() == scenario.state().snapshot()
        assert again.profile == scenario.profile
        assert json.dumps(case_to_json(again)) == text


def test_worker_processes_and_a_time_budget(capsys):
    """``--jobs 2`` runs the same examples in two processes; ``--seconds`` stops on time."""
    assert difftest.main(["--examples", "120", "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "120 examples" in err and "on 2 jobs" in err and "30 cascades" in err
    assert difftest.main(["--seconds", "1", "--jobs", "2", "--seed", "5000"]) == 0
    err = capsys.readouterr().err
    summary = [line for line in err.splitlines() if line.startswith("difftest: ")][-1]
    assert int(summary.split()[1]) > 0 and float(summary.split()[4]) < 10


# -- cases the campaign found: a transfer of 2^63, now refused by both (LIQ-DOMAIN-1) -----------

def _toy_markets(btc_tier, eth_tier, eth_fee):
    return [Market("BTC", 3, 1, (Tier(*btc_tier),)),
            Market("ETH", 2, 2, (Tier(*eth_tier),), liquidation_fee_ppm=eth_fee)]


def _case(seed, accounts, marks, profile, config, seq=0):
    """A cascade case as difftest writes it (liqspec.codec's integer JSON), from its values."""
    markets = profile.pop("markets")
    scenario = Case(seed, Profile(name="generated", markets={m.market_id: m for m in markets},
                                      **profile), marks, accounts, 0, {m: 0 for m in marks},
                        holders={}, seq=seq)
    return {"kind": "cascade", "seed": seed, "scenario": case_to_json(scenario),
            "config": codec.cascade_config_to_json(config)}


def _config(vault, books, path, step_seconds):
    return CascadeConfig(PricePath(step_seconds, path), books, backstop_vault=vault)


#: seed 31178, shrunk: t0 short 152,884 BTC lots at 42,400.0 (a lot at a tick is 100 quantums)
#: with quote -9,223,365,554,573,175,808: equity = quote - 152,884 x 424,000 x 100
#: = -9,223,365,554,573,175,808 - 6,482,281,600,000 = -2^63 exactly
BACKSTOP_AT_INT64_MIN = _case(
    31178, [Account("t0", -9223365554573175808, {"BTC": -152884}),
            Account("book", role="liquidity"), Account("vault", 10000000, role="backstop")],
    {"BTC": 424000, "ETH": 248700},
    {"adl_price": "mark", "adl_ranking": "pro_rata", "backstop_ratio": (1, 2),
     "bad_debt_policy": "socialize", "portion_ppm": 598669, "quote_decimals": 6,
     "markets": _toy_markets([0, 1, 0, 1], [0, 1, 0, 625], 0)},
    _config("vault", {"ETH": BookShape(5, 7390, 10000000)}, {"ETH": (232592,)}, 60))

#: seed 114326, shrunk: t1 short 9,031 BTC lots at 49,050.0 with quote -9,223,371,593,884,225,808:
#: equity = quote - 9,031 x 490,500 x 100 = ... - 442,970,550,000 = -2^63 exactly; t0 holds
#: BTC, which the path (ETH only) leaves without a book
BACKSTOP_THEN_NOT_BANKRUPT = _case(
    114326, [Account("t0", 157075880800, {"BTC": -3023, "ETH": -313}),
             Account("t1", -9223371593884225808, {"BTC": -9031}),
             Account("vault", 100000000000000, role="backstop"),
             Account("book", role="liquidity")],
    {"BTC": 490500, "ETH": 257700},
    {"adl_ranking": "seeded", "adl_seed": 17979000340108928709, "backstop_ratio": (1, 2),
     "liquidation_size": "portion", "portion_threshold_quote": 3458531633415569572,
     "quote_decimals": 6, "markets": _toy_markets([0, 3952, 0, 10000], [0, 5000, 0, 10000], 10000)},
    _config("vault", {"ETH": BookShape(7, 16531, 1)}, {"ETH": (264023,)}, 5), seq=7)


@pytest.mark.parametrize("case, bankrupt", [(BACKSTOP_AT_INT64_MIN, "t0"),
                                            (BACKSTOP_THEN_NOT_BANKRUPT, "t1")])
def test_backstop_of_an_equity_of_minus_2_63_is_overflow_on_both_LIQ_BACKSTOP_1_LIQ_DOMAIN_1(
        tmp_path, capsys, case, bankrupt):
    """Found by the campaign. A trader whose equity is exactly -2^63 is below the backstop
    threshold; the vault takes the account and pays it its negative equity: a transfer of 2^63
    quantums, one more than int64 holds (every balance stays in int64). A transfer amount is a
    stored quantity (LIQ-DOMAIN-1), so both implementations refuse the takeover with Overflow,
    which ends the run (the reference used to journal the 2^63 transfer and the fast path's
    Overflow was an accepted difference). In the second case another trader (t0) holds a market
    without a book and is not bankrupt; the run ends at the same takeover."""
    scenario = case_from_json(case["scenario"])
    want = run_cascade_case(REFERENCE, scenario, case["config"])
    got = run_cascade_case(FAST, scenario, case["config"])
    assert want == got == ("error", "Overflow", "OVERFLOW")
    assert "equal trace" in _replays(tmp_path, capsys, case, 0)
    # one quantum less of debt and the vault takes the account on both, paying 2^63 - 1
    state = scenario.state()
    state.accounts[bankrupt].quote += 1
    from liqspec.fast.compare import _fast_run_cascade, _reference_run_cascade
    from liqspec.testing.cases import cascade_config_from_json
    config = cascade_config_from_json(case["config"])
    results = [run(state, config) for run in (_reference_run_cascade, _fast_run_cascade)]
    takeover = [e for e in results[0].events if e.kind == "backstop" and e.quote == 2**63 - 1]
    assert takeover and takeover[0].detail == f"vault -> {bankrupt}"
    assert results[0].events == results[1].events and results[0].summary == results[1].summary
