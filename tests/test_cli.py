"""The ``liqspec`` command and ``liqspec explain`` (liqspec.cli, liqspec.explain).

Expected numbers are worked by hand from the embedded example (liqspec/data/example_state.json),
in USDT; one quote quantum is 10^-6 USDT, a BTC tick 0.1 USDT, an ETH tick 0.01 USDT:

* marks: BTC 60,000, ETH 3,000. BTC tiers: [0, 50k) 0.4% / 1%; [50k, 250k) 0.5% - 50 / 2% - 500.
  ETH tiers: [0, 10k) 0.5% / 1%; [10k, 100k) 0.65% - 15 / 2% - 100.
* alice (cross, wallet 20,000): long 0.5 BTC from 58,000, short 4 ETH from 3,100.
* bob (isolated BTC, wallet 3,000): long 2 BTC from 61,000.
* carol (cross, wallet 3,150): long 10 ETH from 3,300.
* dave (cross, wallet 10,000): short 1 BTC from 55,000.
* erin (cross, wallet 500): flat.
"""

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from liqspec.cli import main, render_profiles
from liqspec.explain import explain_loaded, explain_state, render_text
from liqspec.statefile import example_text, load_example
from liqspec.testing import open_long, usdt, venue
from liqspec.reference.profiles import get_profile

USDT = 10**6
EXAMPLE = json.loads(example_text())


def liqspec_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m liqspec``."""
    script = Path(sys.executable).with_name("liqspec")
    found = str(script) if script.exists() else shutil.which("liqspec")
    return [found] if found else [sys.executable, "-m", "liqspec"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(liqspec_command() + list(args), capture_output=True, text=True,
                          input=stdin, timeout=60, env={**os.environ, "COLUMNS": "100"})


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liqspec", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def report() -> dict:
    """``liqspec explain --json`` on the default example, run as a real process."""
    result = run("explain", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def text() -> str:
    result = run("explain")
    assert result.returncode == 0, result.stderr
    return result.stdout


def account(report: dict, account_id: str) -> dict:
    (found,) = [a for a in report["accounts"] if a["id"] == account_id]
    return found


def position(report: dict, account_id: str, market_id: str) -> dict:
    (found,) = [p for p in account(report, account_id)["positions"] if p["market"] == market_id]
    return found


def block(text: str, account_id: str) -> str:
    """The lines of one account's block in the text output."""
    start = text.index(f"account {account_id} ")
    end = text.find("\naccount ", start + 1)
    return text[start:end if end != -1 else len(text)]


def line(block_text: str, label: str, indent: int = 2) -> str:
    """The one line of a block whose label, at this indent (2: account, 4: position), is
    ``label``."""
    prefix = " " * indent + label + "  "
    (found,) = [ln for ln in block_text.splitlines() if ln.startswith(prefix)]
    return found


# -- the command ----------------------------------------------------------------------------------

def test_help_lists_the_commands():
    for result in (run("--help"), run_module("--help")):
        assert result.returncode == 0
        for command in ("explain", "profiles", "example"):
            assert command in result.stdout
    no_command = run()
    assert no_command.returncode == 0 and "explain" in no_command.stdout


def test_explain_help_lists_its_options():
    result = run("explain", "--help")
    assert result.returncode == 0
    for option in ("STATE", "--account", "--json"):
        assert option in result.stdout


def test_example_command_prints_the_embedded_file():
    result = run("example")
    assert result.returncode == 0
    assert json.loads(result.stdout) == EXAMPLE


# -- explain: numbers agree with hand arithmetic ------------------------------------------------

def test_explain_prints_every_trader_account_with_rule_ids(text):
    for account_id in ("alice", "bob", "carol", "dave", "erin"):
        assert f"account {account_id} " in text
    for rule_id in ("LIQ-MARGIN-2", "LIQ-MARGIN-3", "LIQ-MARGIN-5", "LIQ-TIER-1", "LIQ-TIER-2",
                    "LIQ-TIER-3", "LIQ-TIER-5", "LIQ-PRICE-1", "LIQ-PRICE-2", "LIQ-PRICE-3",
                    "LIQ-TRIGGER-1", "LIQ-TRIGGER-2"):
        assert rule_id in text
    # the opening counterparty is a backstop account: named, not explained
    assert "account opening-counterparty" not in text
    assert "not shown" in text and "opening-counterparty" in text


def test_every_number_line_carries_a_rule_id(text):
    """Every indented line (a number, a status or a position) carries a [LIQ-...] tag; only
    the accounts' free-text descriptions do not."""
    descriptions = {f"  {a['description']}" for a in EXAMPLE["accounts"]}
    indented = [ln for ln in text.splitlines() if ln.startswith("  ") and ln not in descriptions]
    assert len(indented) > 50
    for ln in indented:
        assert "[LIQ-" in ln, ln


def test_healthy_cross_account_LIQ_MARGIN_2_LIQ_TIER_5(report, text):
    """Rules: LIQ-MARGIN-2, LIQ-MARGIN-3, LIQ-TIER-2, LIQ-TIER-3, LIQ-TIER-5, LIQ-MARGIN-5.

    BTC: notional 0.5 * 60,000 = 30,000 (tier 1): MM 30,000 * 0.4% = 120, IM 30,000 * 1% = 300,
         PnL 0.5 * (60,000 - 58,000) = +1,000.
    ETH: notional 4 * 3,000 = 12,000 (tier 2): MM 12,000 * 0.65% - 15 = 63,
         IM 12,000 * 2% - 100 = 140, PnL 4 * (3,100 - 3,000) = +400.
    Equity 20,000 + 1,400 = 21,400; MM 183; IM 440; free 21,400 - 440 = 20,960;
    margin ratio 183 / 21,400 = 0.855...% shown rounded up as 0.86%; backstop 2/3 * 183 = 122.
    """
    alice = account(report, "alice")
    assert alice["status"]["value"] == "healthy"
    assert alice["wallet"]["value"] == 20_000 * USDT
    assert alice["unrealized_pnl"]["value"] == 1_400 * USDT
    assert alice["equity"]["value"] == 21_400 * USDT
    assert alice["maintenance_margin"]["value"] == 183 * USDT
    assert alice["initial_margin"]["value"] == 440 * USDT
    assert alice["free_collateral"]["value"] == 20_960 * USDT
    assert (alice["margin_ratio"]["numerator"], alice["margin_ratio"]["denominator"]) == (
        183 * USDT, 21_400 * USDT)
    assert alice["margin_ratio"]["percent"] == "0.86"
    assert alice["backstop_threshold"]["value"] == 122 * USDT
    btc, eth = position(report, "alice", "BTCUSDT"), position(report, "alice", "ETHUSDT")
    assert (btc["tier"]["value"], eth["tier"]["value"]) == (1, 2)
    assert (btc["maintenance_margin"]["value"], eth["maintenance_margin"]["value"]) == (
        120 * USDT, 63 * USDT)
    assert (btc["initial_margin"]["value"], eth["initial_margin"]["value"]) == (
        300 * USDT, 140 * USDT)
    assert (btc["unrealized_pnl"]["value"], eth["unrealized_pnl"]["value"]) == (
        1_000 * USDT, 400 * USDT)
    assert (btc["side"], eth["side"], eth["size"]["value"]) == ("long", "short", -400)
    # the same numbers, human and with their rules, in the text
    alice_text = block(text, "alice")
    assert "183.00 USDT" in line(alice_text, "maintenance margin")
    assert "[LIQ-TIER-5]" in line(alice_text, "maintenance margin")
    assert "21400.00 USDT" in line(alice_text, "equity") and "[LIQ-MARGIN-2]" in line(
        alice_text, "equity")
    assert "20960.00 USDT" in line(alice_text, "free collateral")
    assert "0.86%" in line(alice_text, "margin ratio")


def test_cross_liquidation_price_holds_other_marks_fixed_LIQ_PRICE_2(report):
    """Rule: LIQ-PRICE-2. alice's BTC, ETH fixed: quote balance 20,000 - 29,000 + 12,400 = 3,400,
    plus the ETH value -4 * 3,000 = -12,000, gives C = -8,600; ETH maintenance 63.
    Tier 1 (0.5 P < 50,000): -8,600 + 0.5 P = 63 + 0.5 P * 0.4%  =>  0.498 P = 8,663
    =>  P = 8,663 / 0.498 = 17,395.58...  ->  ticks rounded up for a long: 17,395.6.
    Bankruptcy: -8,600 + 0.5 P = 0  =>  P = 17,200."""
    btc = position(report, "alice", "BTCUSDT")
    exact_usdt = Fraction(8_663) / Fraction("0.498")
    liq = btc["liquidation_price"]
    assert Fraction(liq["exact"]["numerator"], liq["exact"]["denominator"]) == exact_usdt * 10
    assert liq["value"] == 173_956 and liq["human"] == "17395.6"
    assert btc["bankruptcy_price"]["value"] == 172_000


def test_isolated_long_near_liquidation_LIQ_PRICE_2_LIQ_PRICE_3(report, text):
    """Rules: LIQ-PRICE-1, LIQ-PRICE-2, LIQ-PRICE-3. bob: quote balance 3,000 - 2 * 61,000 =
    -119,000; notional at 60,000 is 120,000 (tier 2): MM 120,000 * 0.5% - 50 = 550; equity
    3,000 - 2,000 = 1,000, healthy but close (ratio 550 / 1,000 = 55%).
    Liquidation (tier 2): -119,000 + 2 P = 2 P * 0.5% - 50  =>  1.99 P = 118,950
    =>  P = 11,895,000 / 199 USDT = 118,950,000 / 199 ticks = 597,738.69...  ->  597,739 (up).
    Bankruptcy: 2 P = 119,000  =>  P = 59,500."""
    bob = account(report, "bob")
    assert (bob["margin_mode"], bob["isolated_market"]) == ("isolated", "BTCUSDT")
    assert bob["status"]["value"] == "healthy"
    assert bob["equity"]["value"] == 1_000 * USDT
    assert bob["maintenance_margin"]["value"] == 550 * USDT
    assert bob["initial_margin"]["value"] == 1_900 * USDT  # 120,000 * 2% - 500
    assert bob["free_collateral"]["value"] == -900 * USDT
    assert bob["margin_ratio"]["percent"] == "55.00"
    btc = position(report, "bob", "BTCUSDT")
    liq = btc["liquidation_price"]
    assert (liq["exact"]["numerator"], liq["exact"]["denominator"]) == (118_950_000, 199)
    assert liq["value"] == 597_739 and liq["human"] == "59773.9"
    assert liq["rules"] == ["LIQ-PRICE-2", "LIQ-PRICE-3"]
    assert btc["bankruptcy_price"]["value"] == 595_000
    assert btc["bankruptcy_price"]["exact"] == {"numerator": 595_000, "denominator": 1}
    liq_line = line(block(text, "bob"), "liquidation price", indent=4)
    assert "59773.9 USDT" in liq_line and "[LIQ-PRICE-2, LIQ-PRICE-3]" in liq_line
    assert "exact 59773.869346733668" in liq_line  # 11,895,000 / 199 to 12 places
    assert "isolated BTCUSDT" in block(text, "bob")


def test_liquidatable_account_LIQ_TRIGGER_1(report, text):
    """Rule: LIQ-TRIGGER-1. carol: notional 10 * 3,000 = 30,000 (ETH tier 2): MM 30,000 * 0.65%
    - 15 = 180; equity 3,150 + 10 * (3,000 - 3,300) = 150 < 180: liquidatable; 150 >= 2/3 * 180
    = 120, so not below the backstop. Ratio 180 / 150 = 120%.
    Liquidation: -29,850 + 10 P = 10 P * 0.65% - 15  =>  9.935 P = 29,835  =>  P = 3,003.0196...
    ->  ticks of 0.01 rounded up: 3,003.02."""
    carol = account(report, "carol")
    assert carol["status"]["value"] == "liquidatable"
    assert carol["status"]["rules"] == ["LIQ-TRIGGER-1"]
    assert (carol["equity"]["value"], carol["maintenance_margin"]["value"]) == (
        150 * USDT, 180 * USDT)
    assert carol["margin_ratio"]["percent"] == "120.00"
    assert carol["backstop_threshold"]["value"] == 120 * USDT
    liq = position(report, "carol", "ETHUSDT")["liquidation_price"]
    assert Fraction(liq["exact"]["numerator"], liq["exact"]["denominator"]) == \
        Fraction(29_835) / Fraction("9.935") * 100
    assert liq["value"] == 300_302
    assert "LIQUIDATABLE" in block(text, "carol")
    assert "equity 150.00 < maintenance 180.00" in block(text, "carol")


def test_short_rounds_its_prices_down_LIQ_PRICE_3(report):
    """Rule: LIQ-PRICE-3. dave: quote balance 10,000 + 55,000 = 65,000; short 1 BTC.
    Liquidation (tier 2): 65,000 - P = P * 0.5% - 50  =>  1.005 P = 65,050  =>  P = 64,726.368...
    ->  a short rounds down: 64,726.3. Bankruptcy: 65,000 - P = 0  =>  65,000. Equity 5,000;
    MM 60,000 * 0.5% - 50 = 250; IM 60,000 * 2% - 500 = 700; PnL 55,000 - 60,000 = -5,000."""
    dave = account(report, "dave")
    btc = position(report, "dave", "BTCUSDT")
    assert btc["side"] == "short" and btc["size"]["value"] == -1000
    assert btc["liquidation_price"]["value"] == 647_263
    exact = btc["liquidation_price"]["exact"]
    assert Fraction(exact["numerator"], exact["denominator"]) == Fraction(65_050) / Fraction(
        "1.005") * 10
    assert btc["bankruptcy_price"]["value"] == 650_000
    assert "mark > 64726.3" in btc["liquidation_price"]["meaning"]
    assert (dave["equity"]["value"], dave["maintenance_margin"]["value"],
            dave["initial_margin"]["value"]) == (5_000 * USDT, 250 * USDT, 700 * USDT)
    assert btc["unrealized_pnl"]["value"] == -5_000 * USDT
    assert dave["status"]["value"] == "healthy"


def test_flat_account_has_nothing_to_maintain(report):
    erin = account(report, "erin")
    assert erin["positions"] == []
    assert erin["status"]["value"] == "healthy"
    assert (erin["equity"]["value"], erin["maintenance_margin"]["value"],
            erin["free_collateral"]["value"]) == (500 * USDT, 0, 500 * USDT)


def test_json_records_hold_integer_human_and_rules(report):
    """Every amount record: an int in venue units, its exact human rendering, its rule IDs."""
    alice = account(report, "alice")
    for key in ("wallet", "quote_balance", "unrealized_pnl", "equity", "maintenance_margin",
                "initial_margin", "free_collateral"):
        record = alice[key]
        assert isinstance(record["value"], int)
        assert record["rules"] and all(r.startswith("LIQ-") for r in record["rules"])
        # human is the exact decimal of the integer: value / 10^6
        assert Fraction(record["human"]) == Fraction(record["value"], USDT)
    assert report["marks"]["BTCUSDT"] == {"value": 600_000, "unit": "tick", "human": "60000.0",
                                          "rules": ["LIQ-MARK-1"]}


def test_text_and_json_show_the_same_numbers(report, text):
    for acc in report["accounts"]:
        acc_text = block(text, acc["id"])
        for key, label in (("equity", "equity"), ("maintenance_margin", "maintenance margin"),
                           ("free_collateral", "free collateral")):
            assert f" {acc[key]['human']} USDT" in line(acc_text, label)
        for pos in acc["positions"]:
            assert pos["liquidation_price"]["human"] in acc_text


def test_account_option_selects_one_account():
    result = run("explain", "--account", "bob", "--json")
    assert result.returncode == 0
    assert [a["id"] for a in json.loads(result.stdout)["accounts"]] == ["bob"]
    counterparty = run("explain", "--account", "opening-counterparty")
    assert counterparty.returncode == 0
    assert "backstop role" in counterparty.stdout


def test_state_file_argument_and_stdin(tmp_path):
    doc = json.loads(example_text())
    doc["accounts"] = [doc["accounts"][1]]  # bob only
    path = tmp_path / "bob.json"
    path.write_text(json.dumps(doc))
    from_file = run("explain", str(path), "--json")
    from_stdin = run("explain", "-", "--json", stdin=json.dumps(doc))
    assert from_file.returncode == from_stdin.returncode == 0
    assert json.loads(from_file.stdout) == json.loads(from_stdin.stdout)
    assert [a["id"] for a in json.loads(from_file.stdout)["accounts"]] == ["bob"]


# -- statuses beyond the example ----------------------------------------------------------------

def _carol_with_wallet(wallet: str, **venue_changes) -> dict:
    doc = json.loads(example_text())
    doc["accounts"] = [dict(doc["accounts"][2], quote=wallet)]
    doc["venue"].update(venue_changes)
    return doc


def _explain_doc(doc: dict, tmp_path) -> dict:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(doc))
    assert main(["explain", str(path), "--json"]) == 0
    return path


def test_below_backstop_LIQ_TRIGGER_2(tmp_path, capsys):
    """Rule: LIQ-TRIGGER-2. carol with wallet 3,100: equity 3,100 - 3,000 = 100, below
    2/3 * 180 = 120."""
    _explain_doc(_carol_with_wallet("3100"), tmp_path)
    carol = json.loads(capsys.readouterr().out)["accounts"][0]
    assert carol["status"]["value"] == "below backstop"
    assert carol["status"]["rules"] == ["LIQ-TRIGGER-2"]
    assert carol["equity"]["value"] == 100 * USDT


def test_no_backstop_policy_means_liquidatable_not_below_backstop(tmp_path, capsys):
    """The same account on a venue without a backstop is only liquidatable (LIQ-TRIGGER-1)."""
    _explain_doc(_carol_with_wallet("3100", backstop_ratio=None), tmp_path)
    carol = json.loads(capsys.readouterr().out)["accounts"][0]
    assert carol["status"]["value"] == "liquidatable"
    assert "backstop_threshold" not in carol


def test_bankrupt_LIQ_PRICE_1(tmp_path, capsys):
    """Rule: LIQ-PRICE-1. carol with wallet 2,900: equity 2,900 - 3,000 = -100 < 0; her
    bankruptcy price (quote balance 2,900 - 33,000 = -30,100; 10 P = 30,100 => P = 3,010) lies
    above the mark of 3,000. The margin ratio is undefined at negative equity."""
    _explain_doc(_carol_with_wallet("2900"), tmp_path)
    carol = json.loads(capsys.readouterr().out)["accounts"][0]
    assert carol["status"]["value"] == "bankrupt"
    assert carol["equity"]["value"] == -100 * USDT
    assert carol["margin_ratio"]["percent"] is None
    assert position({"accounts": [carol]}, "carol", "ETHUSDT")["bankruptcy_price"]["value"] == \
        301_000


# -- bad input: exit 2, the field path on stderr, never a traceback --------------------------------

def _mutated(change) -> str:
    doc = json.loads(example_text())
    change(doc)
    return json.dumps(doc)


BAD_FILES = [
    ("syntax error", '{\n  "marks": {,}\n}',
     "invalid JSON at line 2, column 13: Expecting property name enclosed in double quotes"),
    ("unknown key", _mutated(lambda d: d["accounts"][0].update(posiitons={})),
     "accounts[0].posiitons: unknown key (did you mean 'positions'?)"),
    ("inexact decimal", _mutated(lambda d: d["accounts"][1]["positions"]["BTCUSDT"].update(
        size="0.0001")), "accounts[1].positions.BTCUSDT.size: '0.0001' has more than 3 decimal "
                         "places"),
    ("unknown market", _mutated(lambda d: d["accounts"][3]["positions"].update(
        SOLUSDT={"size": "1", "entry_price": "100"})), "accounts[3].positions.SOLUSDT: unknown "
                                                       "market (markets: BTCUSDT, ETHUSDT)"),
    ("negative price", _mutated(lambda d: d["marks"].update(ETHUSDT="-3000")),
     "marks.ETHUSDT: a price must be positive, got '-3000'"),
    ("missing field", _mutated(lambda d: d["accounts"][4].pop("id")),
     "accounts[4].id: required key is missing"),
    ("wrong type", _mutated(lambda d: d["venue"].update(quote_decimals="6")),
     "venue.quote_decimals: expected an integer, got a string"),
]


@pytest.mark.parametrize("name, content, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_exits_2_naming_the_field(name, content, message, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("explain", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"liqspec: error: {path}: {message}\n"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name, content, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_in_process_returns_2(name, content, message, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["explain", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"liqspec: error: {path}: {message}\n"


def test_missing_file_and_unknown_account_exit_2(tmp_path):
    missing = run("explain", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = run("explain", "--account", "zoe")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("liqspec: error: --account: unknown account 'zoe'")


def test_bad_command_line_exits_2():
    result = run("explain", "--acount", "bob")
    assert result.returncode == 2 and "Traceback" not in result.stderr


# -- the explain API is plain data and reusable -------------------------------------------------

def test_explain_state_on_a_state_built_by_operations_LIQ_MARGIN_2():
    """explain works on any reference state, not only a loaded one. The example venue EX
    (liqspec.testing): alice deposits 1,000 and buys 0.1 BTC at 50,000 from bob: notional 5,000
    (tier 1, 0.4%): MM 20; equity 1,000; IM 5,000 * 0.8% = 40."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("100000")})
    open_long(state, "alice", "bob", "BTC", 100)
    data = explain_state(state, "alice", quote_asset="USDT")
    alice = data["accounts"][0]
    assert alice["equity"]["value"] == usdt("1000")
    assert alice["maintenance_margin"]["value"] == usdt("20")
    assert alice["initial_margin"]["value"] == usdt("40")
    assert json.loads(json.dumps(data)) == data  # plain data: survives a JSON round trip
    assert "account alice (cross margin): HEALTHY" in render_text(data)


def test_explain_shows_a_fractional_rate_exactly_LIQ_TIER_7():
    """Hyperliquid ETH above 100,000,000 USDC is 15x: maintenance 1/30, initial 1/15, deductions
    4,000,000/3 and 8,000,000/3 USDC (rate_scale 3). explain prints them as the fractions they
    are, with the scale beside the raw integers: a whale short 50,000 ETH at 4,000 (notional
    200,000,000) has the requirement 5,333,333.333334 USDC."""
    state = venue(get_profile("hyperliquid"), marks={"BTC": 1, "ETH": 400_000},
                  deposits={"whale": usdt("20000000"), "maker": usdt("1000000000")})
    open_long(state, "maker", "whale", "ETH", 500_000_000, price_ticks=400_000)
    data = explain_state(state, "whale", quote_asset="USDC")
    position = data["accounts"][0]["positions"][0]
    tier = position["tier"]
    assert (tier["rate_scale"], tier["maint_margin_ppm"], tier["init_margin_ppm"]) \
        == (3, 100_000, 200_000)
    assert tier["maint_deduction"]["human"] == "4000000.00/3"
    assert position["maintenance_margin"]["value"] == 5_333_333_333_334
    text = render_text(data)
    assert "maintenance 1/30 x notional - 4000000.00/3, initial 1/15 x notional" in text


def test_explain_shows_the_margin_shortage_under_cover_shortage_LIQ_SHORTAGE_1():
    """drift_v2: a user long 2 ETH from 100 with 5 USDC, at 100, is 9 USDC short of maintenance
    (10) plus the 2% buffer (4): explain shows the shortage a liquidation covers."""
    from liqspec.reference import open_account_at
    state = venue(get_profile("drift_v2"), marks={"BTC-PERP": 1, "ETH-PERP": 100_000},
                  deposits={"maker": usdt("1000000")})
    open_account_at(state, "user", usdt("5"), {"ETH-PERP": (2_000, 100_000)}, "maker")
    data = explain_state(state, "user", quote_asset="USDC")
    shortage = data["accounts"][0]["margin_shortage"]
    assert (shortage["value"], shortage["buffer_ppm"]) == (usdt("9"), 20_000)
    assert "LIQ-SHORTAGE-1" in shortage["rules"]
    assert "margin shortage" in render_text(data) and "2.00% of the notional" in render_text(data)


def test_explain_shows_the_next_liquidation_step_LIQ_EXEC_3():
    """okx: a user long 30,000 contracts (3,000,000 lots of 0.0001 BTC) from 100,000 with
    200,000 USDT is liquidatable (tier 4, 390,000 USDT) but above the first tier's 135,000:
    explain shows that the next step closes 25,000 contracts (2,500,000 lots, 250 BTC), down to
    tier 2, and cites LIQ-EXEC-3; a healthy account has no step."""
    from liqspec.reference import open_account_at
    state = venue(get_profile("okx"), marks={"BTC-USDT-SWAP": 1_000_000},
                  deposits={"maker": usdt("1000000000")})
    open_account_at(state, "user", usdt("200000"), {"BTC-USDT-SWAP": (3_000_000, 1_000_000)},
                    "maker")
    data = explain_state(state, "user", quote_asset="USDT")
    step = data["accounts"][0]["positions"][0]["liquidation_step"]
    assert (step["value"], step["human"]) == (2_500_000, "250")
    assert "LIQ-EXEC-3" in step["rules"] and "LIQ-EXEC-1" in step["rules"]
    assert "closes 2500000 of 3000000 lots now (two_tier_step)" in render_text(data)
    healthy = explain_state(state, "maker", quote_asset="USDT")["accounts"][0]["positions"][0]
    assert "liquidation_step" not in healthy


def test_in_process_explain_matches_the_subprocess(report):
    assert explain_loaded(load_example()) == report


def test_profiles_command():
    """Lists each profile side by side when liqspec.reference.profiles exists (the policy rows
    match the profiles' own fields, column by column); otherwise says so, with exit status 2."""
    result = run("profiles")
    try:
        from liqspec.reference import profiles
    except ImportError:
        assert result.returncode == 2
        assert result.stderr.startswith("liqspec: error: profiles:")
        return
    assert result.returncode == 0, result.stderr
    names = (list(profiles.profile_names()) if hasattr(profiles, "profile_names")
             else list(profiles.PROFILES))
    lines = result.stdout.splitlines()
    assert lines[0].split() == names
    for field in ("fee_policy", "liquidation_size", "bad_debt_policy"):
        (row,) = [ln for ln in lines if ln.split()[:1] == [field]]
        assert row.split()[1:] == [getattr(profiles.get_profile(n), field) for n in names]
    # each parameter's provenance, numbered sources and read date (liqspec.reference.provenance)
    assert any(line.startswith("  BTCUSDT.tiers: published (sources 2, 3, 1), read 2026-11-24: "
                               "brackets,") for line in lines)


def test_profiles_rendering_lines_markets_up_by_position():
    """Markets with different IDs line up as market 1, market 2; each keeps its own values."""
    tier = {"floor": "0", "maintenance_rate": "1%", "maintenance_deduction": "0",
            "initial_rate": "2%", "initial_deduction": "0"}
    summaries = {
        "a": {"name": "a", "description": "venue A", "fee": "rate",
              "markets": {"BTC": {"lot": "0.1", "tiers": [tier]},
                          "ETH": {"lot": "0.2", "tiers": [tier, dict(tier, floor="9")]}}},
        "b": {"name": "b", "fee": "all",
              "sources": ["https://example.org/b", "https://example.org/b2"],
              "markets": {"XBT": {"lot": "0.3", "tiers": [tier]}},
              "provenance": [{"parameter": "fee", "basis": "published", "read": "2026-11-24",
                              "sources": ["https://example.org/b2"], "source_numbers": [2],
                              "note": "all of it"}]},
    }
    lines = render_profiles(summaries).splitlines()
    assert lines[0].split() == ["a", "b"]
    assert lines[2].split() == ["fee", "rate", "all"]
    rows = [ln.split() for ln in lines[2:]]
    assert ["market", "1", "BTC", "XBT"] in rows and ["market", "2", "ETH", "-"] in rows
    assert [row for row in rows if row[:1] == ["lot"]] == [["lot", "0.1", "0.3"],
                                                            ["lot", "0.2", "-"]]
    (last,) = [ln for ln in lines if ln.split()[:1] == ["last"]]  # only ETH has two tiers
    assert last.split() == ["last", "from", "9:", "MM", "1%", "-", "0,", "IM", "2%", "-", "0", "-"]
    assert "a: venue A" in lines and "  source 1: https://example.org/b" in lines
    assert "  fee: published (source 2), read 2026-11-24: all of it" in lines
    assert not any("provenance" in line for line in lines)  # printed as prose, not a row


# -- hostile input: one line on stderr, exit 2, never a traceback --------------------------------

def _example_bytes(**replace: str) -> bytes:
    text = example_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text.encode("utf-8")


def test_non_utf8_on_stdin_is_refused_as_in_a_file(tmp_path):
    """The same bytes were rejected in a file but accepted on standard input (decoded with
    surrogate escapes, so an account ID held a lone surrogate)."""
    data = _example_bytes().replace(b'"erin"', b'"er\xffin"')
    (tmp_path / "latin.json").write_bytes(data)
    from_file = subprocess.run(liqspec_command() + ["explain", str(tmp_path / "latin.json")],
                               capture_output=True, timeout=60)
    from_stdin = subprocess.run(liqspec_command() + ["explain", "-"], input=data,
                                capture_output=True, timeout=60)
    assert from_file.returncode == from_stdin.returncode == 2
    assert from_stdin.stdout == b""
    offset = data.index(b"\xff")
    assert from_stdin.stderr.decode() == ("liqspec: error: <stdin>: standard input is not UTF-8 "
                                          f"text: invalid start byte at byte {offset}\n")
    assert b"is not UTF-8 text: invalid start byte" in from_file.stderr


def test_a_byte_order_mark_on_stdin_is_ignored():
    result = subprocess.run(liqspec_command() + ["explain", "-", "--json"],
                            input=b"\xef\xbb\xbf" + _example_bytes(), capture_output=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "erin" in [a["id"] for a in json.loads(result.stdout)["accounts"]]


def test_a_lone_surrogate_account_id_exits_2_naming_the_field(tmp_path):
    """``"id": "\\ud800"`` loaded, then explain crashed printing it (UnicodeEncodeError)."""
    path = tmp_path / "surrogate.json"
    path.write_bytes(_example_bytes(**{'"erin"': '"\\ud800"'}))
    result = run("explain", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"liqspec: error: {path}: accounts[4].id: '\\ud800' holds")
    assert len(result.stderr.splitlines()) == 1


# -- difftest: its arguments, its files ----------------------------------------------------------

@pytest.mark.parametrize("args, option", [
    (["--examples", "-5"], "--examples"), (["--examples", "0"], "--examples"),
    (["--seconds", "-1"], "--seconds"), (["--seconds", "0"], "--seconds"),
    (["--seconds", "nan"], "--seconds"), (["--seconds", "inf"], "--seconds"),
    (["--jobs", "-2"], "--jobs"), (["--max-divergences", "0"], "--max-divergences"),
])
def test_difftest_budget_that_is_not_positive_is_a_usage_error(args, option, capsys):
    """``--examples -5`` and ``--seconds -1`` ran nothing and reported "no divergence", exit 0."""
    with pytest.raises(SystemExit) as exited:
        main(["difftest", "--quiet", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}" in err and "no divergence" not in err


def _no_campaign(monkeypatch):
    from liqspec.fast import difftest

    def campaign(*args, **kwargs):
        raise AssertionError("the campaign ran")

    monkeypatch.setattr(difftest, "campaign", campaign)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.jsonl", "cannot read '{path}': No such file or directory"),
    (lambda tmp: tmp, "'{path}' is a folder, not a file"),
    (lambda tmp: (tmp / "x").write_text("hello\n") and tmp / "x", "{path}: line 1: not JSON"),
    (lambda tmp: (tmp / "x").write_text("") or tmp / "x", "'{path}' is empty"),
    (lambda tmp: (tmp / "x").write_bytes(b"\xff") and tmp / "x", "is not UTF-8 text"),
    (lambda tmp: (tmp / "x").write_text('{"a": 1}') and tmp / "x",
     "{path}: not a difftest case: a queries case needs scenario, op, args"),
    (lambda tmp: (tmp / "x").write_text('[1, 2]\n') and tmp / "x",
     "{path}: expected a difftest case (a JSON object), got list"),
    (lambda tmp: (tmp / "x").write_text('{"kind": "cascade", "scenario": {}, "config": {}}\n'
                                        '{"kind": "nope"}\n') and tmp / "x",
     "{path}: line 1: not a replayable difftest case: scenario: format None, this liqspec "
     "reads format 1"),
], ids=["missing", "folder", "not-json", "empty", "not-utf8", "not-a-case", "a-list",
        "broken-case"])
def test_difftest_replay_of_a_bad_file_exits_2_naming_it(tmp_path, capsys, make, message):
    """A missing or non-JSON-lines replay file was a traceback."""
    path = make(tmp_path)
    assert main(["difftest", "--replay", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("liqspec: error: --replay: ")
    assert message.format(path=path) in captured.err
    assert len(captured.err.splitlines()) == 1


@pytest.mark.parametrize("out, message", [
    ("{tmp}/no-such-folder/found.jsonl", "cannot write '{out}': No such file or directory"),
    ("{tmp}", "'{out}' is a folder; give a file name"),
    ("", "the path is empty"),
])
def test_difftest_out_that_cannot_be_written_exits_2_before_any_work(tmp_path, capsys,
                                                                      monkeypatch, out, message):
    """An unwritable --out crashed, and only after the whole campaign had run."""
    _no_campaign(monkeypatch)
    out = out.format(tmp=tmp_path)
    assert main(["difftest", "--examples", "100000", "--out", out]) == 2
    assert capsys.readouterr().err == f"liqspec: error: --out: {message.format(out=out)}\n"


def test_difftest_out_is_replaced_whole(tmp_path, monkeypatch):
    """--out is written beside and renamed over: an error while writing leaves the old file
    and no temporary one."""
    from liqspec.fast import difftest

    path = tmp_path / "found.jsonl"
    difftest.write_lines(str(path), ["old"])
    assert path.read_text() == "old\n"

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(difftest.os, "replace", refuse)
    with pytest.raises(OSError):
        difftest.write_lines(str(path), ["new"])
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["found.jsonl"]


@pytest.mark.parametrize("change, message", [
    ({"args": ["nobody", "M0"]}, "args[0]: no account 'nobody' in the scenario"),
    ({"args": []}, "wrong number of args for liquidation_price: []"),
    ({"op": "format_disk"}, "op must be one of"),
])
def test_difftest_replay_of_a_hand_edited_case_exits_2(tmp_path, capsys, change, message):
    """A case whose call cannot be made (an unknown account, the wrong arguments) was a
    KeyError or IndexError traceback in the middle of the replay."""
    from liqspec.testing.cases import random_case, case_to_json

    scenario = case_to_json(random_case(0))
    account = scenario["state"]["accounts"][0]["account_id"]
    case = dict({"op": "liquidation_price", "args": [account, "M0"], "scenario": scenario},
                **change)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["difftest", "--replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"liqspec: error: --replay: {path}: not a replayable difftest case: ")
    assert message in err


#: run in a fresh interpreter in which the compiled engine, z3, Dask and matplotlib cannot be
#: imported: the commands that do not need them must still work, and import none of liqspec's
#: engine or proof packages
_WITHOUT_ENGINE = """
import contextlib, io, json, sys
for blocked in ("liqspec.fast._engine", "liqspec.fast._kernels", "z3", "dask", "matplotlib"):
    sys.modules[blocked] = None
from liqspec.cli import main
statuses = {}
for command in (["explain"], ["explain", "--json"], ["example"], ["profiles"], ["--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            statuses[" ".join(command)] = main(command)
        except SystemExit as stop:
            statuses[" ".join(command)] = stop.code
loaded = sorted(m for m, module in sys.modules.items() if module is not None and m.startswith(
    ("liqspec.fast", "liqspec.proofs", "liqspec.sweep", "liqspec.conformance")))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_commands_that_need_no_engine_run_without_it():
    """``explain``, ``example``, ``profiles`` and ``--help`` import neither the compiled engine
    nor the proofs, the sweep or the conformance kit (the commands that need them import them
    when they run), so they work where the extension, z3, Dask or matplotlib cannot load."""
    done = subprocess.run([sys.executable, "-c", _WITHOUT_ENGINE], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parent)
    report = json.loads(done.stdout)
    assert set(report["statuses"].values()) == {0}, report
    assert report["loaded"] == [], report


@pytest.mark.parametrize("command", ["sweep", "difftest", "prove", "mutate", "vectors",
                                     "conform"])
def test_every_deferred_command_has_its_options_and_usage_errors(command, capsys):
    """Each deferred command is filled in when named: its --help shows its own options, and
    its usage error is reported on one line with exit status 2 (not a traceback)."""
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    usage = capsys.readouterr().out
    assert usage.startswith(f"usage: liqspec {command} [-h] ") and "--" in usage.split("\n")[0]
    bad = {"sweep": ["sweep", "--workers", "1", "/no/such/sweep.toml"],
           "difftest": ["difftest", "--replay", "/no/such/cases.jsonl"],
           "prove": ["prove", "--domain", "nope"],
           "mutate": ["mutate", "--mutant", "nope"],
           "vectors": ["vectors", "--out", "/proc/no-such-folder/v"],
           "conform": ["conform", "--engine", "true", "--vectors", "/no/such/vectors"]}[command]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("liqspec: error: ") and err.count("\n") == 1, err
