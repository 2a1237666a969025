"""Cascade scenario files (liqspec.scenario): every field lands in the state and the cascade
config as the exact integer computed by hand, every error names its field, and the embedded default
loads into a state that holds every invariant.

binance_usdm BTCUSDT: USDT with 6 decimals, lots of 0.001 BTC, ticks of 0.01 USDT: one lot at one
tick is 10 quote quantums (LIQ-UNIT-1). Fractions are parts per million.
"""

import pytest

from liqspec.positions import build_state
from liqspec.reference import OUTSIDE, ResultCode, all_violations
from liqspec.reference.book import BookShape
from liqspec.reference.cascade import PricePath
from liqspec.reference.marks import MarkRule
from liqspec.reference.state import BACKSTOP, INSURANCE_FUND, LIQUIDITY, TRADER
from liqspec.scenario import (Scenario, ScenarioError, default_scenario, default_text,
                              load_scenario, loads_scenario)
from liqspec.synthetic import generate_book
from liqspec.testing import implementation

#: the reference's operations, for the tests that are about it alone
REFERENCE = implementation("reference")

USDT = 10**6

SCENARIO = """\
name = "small"
description = "two accounts"
profile = "binance_usdm"
insurance_fund = "1234.5"
book_account = "makers"

[mark]
rule = "index_band"
band = "0.0025"

[markets.BTCUSDT]
start_price = "60000.5"
book = { levels = 10, spacing = "0.001", lots_per_level = 7 }

[path]
kind = "shock"
drop = "0.1"
steps = 4
step_seconds = 5
hold_steps = 2

[positions]
file = "book.csv"
"""

POSITIONS = """\
account,wallet,market,size,entry_price,isolated
alice,1000,BTCUSDT,0.5,58000,
bob,3000,BTCUSDT,-0.25,61000,BTCUSDT
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "book.csv").write_text(POSITIONS)
    (tmp_path / "crash.toml").write_text(SCENARIO)
    return tmp_path


def load_text(folder, text) -> Scenario:
    path = folder / "crash.toml"
    path.write_text(text)
    return load_scenario(path)


def error_of(folder, text) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_text(folder, text)
    return caught.value


# -- the happy path -------------------------------------------------------------------------------

def test_every_field_lands_as_the_exact_integer_LIQ_UNIT_2_LIQ_CASCADE_4(folder):
    """Rule: LIQ-UNIT-2 (exact conversion), LIQ-CASCADE-4 (the shock path), LIQ-BOOK-1 (the
    book's shape), LIQ-MARK-2 (the mark rule)."""
    scenario = load_scenario(folder / "crash.toml")
    assert (scenario.name, scenario.description, scenario.seed) == ("small", "two accounts", None)
    state, config = scenario.state, scenario.config
    assert list(state.profile.markets) == ["BTCUSDT"]  # narrowed to the scenario's markets
    assert state.profile.name == "binance_usdm"
    assert state.marks == {"BTCUSDT": 6_000_050}  # 60000.5 USDT in 0.01 ticks
    assert state.holders[INSURANCE_FUND] == 1_234_500_000
    assert config.books == {"BTCUSDT": BookShape(levels=10, spacing_ppm=1_000, lots_per_level=7)}
    assert config.mark_rule == MarkRule("index_band", 2_500)
    assert (config.book_account, config.backstop_vault) == ("makers", None)
    # index k = floor(6,000,050 x (1 - 0.1 x k / 4)) for k = 0..4, then held twice:
    # 6,000,050 x 0.975 = 5,850,048.75; x 0.95 = 5,700,047.5; x 0.925 = 5,550,046.25; x 0.9 =
    # 5,400,045
    assert config.path == PricePath(5, {"BTCUSDT": (6_000_050, 5_850_048, 5_700_047, 5_550_046,
                                                    5_400_045, 5_400_045, 5_400_045)})
    alice, bob, makers = (state.account(a) for a in ("alice", "bob", "makers"))
    # alice: wallet 1000 USDT, long 500 lots at 5,800,000 ticks: pays 500 x 5,800,000 x 10
    assert (alice.quote, alice.positions, alice.isolated_market) == (
        1_000 * USDT - 29_000 * USDT, {"BTCUSDT": 500}, None)
    # bob: wallet 3000 USDT, short 250 lots at 6,100,000: receives 250 x 6,100,000 x 10
    assert (bob.quote, bob.positions, bob.isolated_market) == (
        3_000 * USDT + 15_250 * USDT, {"BTCUSDT": -250}, "BTCUSDT")
    assert (makers.role, makers.positions) == (LIQUIDITY, {"BTCUSDT": -250})
    assert state.holders[OUTSIDE] == -(1_000 + 3_000) * USDT - 1_234_500_000
    assert all_violations(state) == []


def test_explicit_path_and_last_fill_mark(folder):
    text = SCENARIO.replace(
        'kind = "shock"\ndrop = "0.1"\nsteps = 4\nstep_seconds = 5\nhold_steps = 2\n',
        'kind = "explicit"\nstep_seconds = 60\n[path.prices]\n'
        'BTCUSDT = ["60000", "59000.25", 58000]\n').replace(
        'rule = "index_band"\nband = "0.0025"', 'rule = "last_fill"')
    scenario = load_text(folder, text)
    assert scenario.config.path == PricePath(60, {"BTCUSDT": (6_000_000, 5_900_025, 5_800_000)})
    assert scenario.config.mark_rule.kind == "last_fill"


def test_defaults_mark_fund_book_account_and_hold(folder):
    text = (SCENARIO.replace('insurance_fund = "1234.5"\n', "")
            .replace('book_account = "makers"\n', "")
            .replace('[mark]\nrule = "index_band"\nband = "0.0025"\n', "")
            .replace("hold_steps = 2\n", ""))
    scenario = load_text(folder, text)
    assert scenario.state.holders[INSURANCE_FUND] == 0
    assert scenario.config.book_account == "book"
    assert scenario.state.account("book").role == LIQUIDITY
    assert scenario.config.mark_rule == MarkRule("index_band", 5_000)
    assert scenario.config.path.steps == 5  # 4 steps of the fall and its start, no hold


def test_two_markets_and_a_backstop_vault_LIQ_BACKSTOP_1(folder):
    """Rule: LIQ-BACKSTOP-1 (the vault exists with the backstop role, unfunded)."""
    text = """\
name = "hl"
profile = "hyperliquid"
backstop_vault = "vault"
[markets.BTC]
start_price = "60000"
book = { levels = 5, spacing = "0.01", lots_per_level = 100 }
[markets.ETH]
start_price = "3000.5"
book = { levels = 5, spacing = "0.01", lots_per_level = 100 }
[path]
kind = "shock"
drop = "0.5"
steps = 2
step_seconds = 1
[synthetic]
seed = 3
accounts = 4
notional_median = "1000"
"""
    scenario = load_text(folder, text)
    state = scenario.state
    assert scenario.seed == 3 and scenario.config.backstop_vault == "vault"
    vault = state.account("vault")
    assert (vault.role, vault.quote, vault.positions) == (BACKSTOP, 0, {})
    # hyperliquid BTC: 1 decimal in price; ETH: 2 decimals
    assert state.marks == {"BTC": 600_000, "ETH": 300_050}
    # 60,000 x (1 - 0.5 x k / 2) for k = 0, 1, 2
    assert scenario.config.path.index_ticks == {"BTC": (600_000, 450_000, 300_000),
                                                "ETH": (300_050, 225_037, 150_025)}
    traders = sorted(a for a, acc in state.accounts.items() if acc.role == TRADER)
    assert traders == ["btc-1", "btc-2", "btc-3", "btc-4", "eth-1", "eth-2", "eth-3", "eth-4"]
    assert all_violations(state) == []
    # market k is seeded (seed, k): independent draws per market, in the order of [markets]
    profile = state.profile
    rows = (generate_book(profile, "BTC", 600_000, (3, 0), accounts=4,
                          notional_median_quote=1_000 * USDT)
            + generate_book(profile, "ETH", 300_050, (3, 1), accounts=4,
                            notional_median_quote=1_000 * USDT))
    expected = build_state(profile, state.marks, rows, backstop_vault="vault")
    assert state.snapshot() == expected.snapshot()


def test_synthetic_parameters_reach_the_generator_exactly(folder):
    """The [synthetic] keys convert into the generator's integer parameters: the state equals
    one built from generate_book called with the values computed by hand."""
    text = SCENARIO.replace('[positions]\nfile = "book.csv"\n', """\
[synthetic]
seed = 11
accounts = 40
long_fraction = "0.6"
leverage_min = "1.5"
leverage_max = "20"
leverage_distribution = "uniform"
notional_median = "2500.5"
notional_sigma = "0.75"
notional_min = "100"
notional_max = "40000"
entry_spread = "0.01"
isolated_fraction = "0.25"
""")
    scenario = load_text(folder, text)
    profile = scenario.state.profile
    rows = generate_book(profile, "BTCUSDT", 6_000_050, (11, 0), accounts=40,
                         long_fraction_ppm=600_000, leverage_min_ppm=1_500_000,
                         leverage_max_ppm=20_000_000, leverage_distribution="uniform",
                         notional_median_quote=2_500_500_000, notional_sigma_ppm=750_000,
                         notional_min_quote=100 * USDT, notional_max_quote=40_000 * USDT,
                         entry_spread_ppm=10_000, isolated_fraction_ppm=250_000)
    expected = build_state(profile, {"BTCUSDT": 6_000_050}, rows, book_account="makers",
                           insurance_fund_quote=1_234_500_000)
    assert scenario.seed == 11
    assert scenario.state.snapshot() == expected.snapshot()


# -- errors name the field ------------------------------------------------------------------------

def replace(old, new):
    assert old in SCENARIO, old
    return SCENARIO.replace(old, new)


ERRORS = [
    # (scenario text, the field path, the code, what the reason says)
    (replace('drop = "0.1"', 'drop = "1.5"'), "path.drop", ResultCode.INVALID_RATE,
     "'1.5' must be a fraction in (0, 1)"),
    (replace('drop = "0.1"', 'drop = "0"'), "path.drop", ResultCode.INVALID_RATE,
     "'0' must be a fraction in (0, 1)"),
    (replace('drop = "0.1"', "drop = 0.1"), "path.drop", ResultCode.INEXACT_DECIMAL,
     "TOML float"),
    (replace('drop = "0.1"', 'drop = "0.1234567"'), "path.drop", ResultCode.INEXACT_DECIMAL,
     "more than 6 decimal places"),
    (SCENARIO.replace('"60000.5"', '"0.01"').replace('drop = "0.1"', 'drop = "0.5"'),
     "path.drop", ResultCode.INVALID_PRICE, "takes BTCUSDT below one tick of its price"),
    (replace("levels = 10", 'levels = "10"'), "markets.BTCUSDT.book.levels",
     ResultCode.NOT_AN_INTEGER, "expected an integer, got a string"),
    (replace("levels = 10", "levels = 0"), "markets.BTCUSDT.book.levels",
     ResultCode.MALFORMED_STATE, "must be in 1..100,000"),
    (replace("levels = 10,", "levels = 10, depth = 3,"), "markets.BTCUSDT.book.depth",
     ResultCode.MALFORMED_STATE, "unknown key"),
    (replace('spacing = "0.001"', 'spacing = "0.2"'), "markets.BTCUSDT.book",
     ResultCode.MALFORMED_STATE, "the deepest bid must stay above zero"),
    (replace("steps = 4", "stepz = 4"), "path.stepz", ResultCode.MALFORMED_STATE,
     "unknown key (did you mean 'steps'?)"),
    (replace("step_seconds = 5\n", ""), "path.step_seconds", ResultCode.MALFORMED_STATE,
     "required key is missing"),
    (replace('kind = "shock"', 'kind = "crash"'), "path.kind", ResultCode.MALFORMED_STATE,
     "'crash' is not one of shock, explicit"),
    (replace('name = "small"\n', ""), "name", ResultCode.MALFORMED_STATE,
     "required key is missing"),
    (replace('name = "small"', "name = 5"), "name", ResultCode.MALFORMED_STATE,
     "expected a string, got an integer"),
    (replace('name = "small"', 'name = "small"\nseed = 5'), "seed", ResultCode.MALFORMED_STATE,
     "unknown key"),
    (replace('profile = "binance_usdm"', 'profile = "binance"'), "profile",
     ResultCode.MALFORMED_STATE, "unknown profile 'binance' (did you mean 'binance_usdm'?"),
    (replace("[markets.BTCUSDT]", "[markets.BTCUSD]"), "markets.BTCUSD",
     ResultCode.UNKNOWN_MARKET, "unknown market 'BTCUSD' in profile binance_usdm (did you mean "
                                "'BTCUSDT'?"),
    (replace('start_price = "60000.5"', 'start_price = "60000.005"'),
     "markets.BTCUSDT.start_price", ResultCode.INEXACT_DECIMAL, "more than 2 decimal places"),
    (replace('start_price = "60000.5"', 'start_price = "-1"'), "markets.BTCUSDT.start_price",
     ResultCode.INVALID_PRICE, "a price must be positive"),
    (replace('insurance_fund = "1234.5"', 'insurance_fund = "0.0000001"'), "insurance_fund",
     ResultCode.INEXACT_DECIMAL, "more than 6 decimal places"),
    (replace('insurance_fund = "1234.5"', 'insurance_fund = "-5"'), "insurance_fund",
     ResultCode.INVALID_AMOUNT, "must not be negative"),
    (replace('band = "0.0025"', 'band = "1"'), "mark.band", ResultCode.INVALID_RATE,
     "'1' must be a fraction in [0, 1)"),
    (replace('rule = "index_band"', 'rule = "last_fill"'), "mark.band",
     ResultCode.MALFORMED_STATE, "a band applies only to rule = \"index_band\""),
    (replace('book_account = "makers"', 'book_account = "insurance_fund"'), "book_account",
     ResultCode.MALFORMED_STATE, "reserved"),
    (replace('book_account = "makers"', 'backstop_vault = "vault"'), "backstop_vault",
     ResultCode.MALFORMED_STATE, "profile binance_usdm has no backstop ratio"),
    (replace('file = "book.csv"', 'file = "absent.csv"'), "positions.file",
     ResultCode.MALFORMED_STATE, "no such file"),
    (replace('[positions]\nfile = "book.csv"\n', ""), "synthetic", ResultCode.MALFORMED_STATE,
     "give exactly one of [positions] (a file) or [synthetic]"),
    (replace('[positions]\n', '[synthetic]\nseed = 1\naccounts = 1\nnotional_median = "1"\n'
                              '[positions]\n'), "positions", ResultCode.MALFORMED_STATE,
     "give exactly one of [positions] (a file) or [synthetic]"),
    (replace('[positions]\nfile = "book.csv"\n',
             '[synthetic]\nseed = 1\naccounts = 1\nnotional_median = "1"\n'
             'leverage_min = "10"\nleverage_max = "5"\n'), "synthetic.leverage_max",
     ResultCode.MALFORMED_STATE, "must be at least leverage_min (10), got 5"),
    (replace('[positions]\nfile = "book.csv"\n',
             '[synthetic]\nseed = 1\naccounts = 1\nnotional_median = "1"\n'
             'notional_max = "10"\n'), "synthetic.notional_max",
     ResultCode.MALFORMED_STATE, "at least one lot"),
    (replace('[positions]\nfile = "book.csv"\n',
             '[synthetic]\nseed = 1\naccounts = 1\nnotional_median = "1"\nleverage = "5"\n'),
     "synthetic.leverage", ResultCode.MALFORMED_STATE,
     "unknown key (did you mean 'leverage_min'?)"),
    (replace('[positions]\nfile = "book.csv"\n', '[synthetic]\nseed = -1\naccounts = 1\n'
                                                 'notional_median = "1"\n'),
     "synthetic.seed", ResultCode.MALFORMED_STATE, "must be in 0.."),
    (replace('kind = "shock"\ndrop = "0.1"\nsteps = 4\nstep_seconds = 5\nhold_steps = 2\n',
             'kind = "explicit"\nstep_seconds = 5\n[path.prices]\nBTCUSDT = ["60000", "0"]\n'),
     "path.prices.BTCUSDT[1]", ResultCode.INVALID_PRICE, "a price must be positive"),
    (replace('kind = "shock"\ndrop = "0.1"\nsteps = 4\nstep_seconds = 5\nhold_steps = 2\n',
             'kind = "explicit"\nstep_seconds = 5\n[path.prices]\nETHUSDT = ["3000"]\n'),
     "path.prices.ETHUSDT", ResultCode.MALFORMED_STATE, "unknown key"),
    (replace('kind = "shock"\ndrop = "0.1"\nsteps = 4\nstep_seconds = 5\nhold_steps = 2\n',
             'kind = "explicit"\nstep_seconds = 5\n[path.prices]\nBTCUSDT = []\n'),
     "path.prices.BTCUSDT", ResultCode.MALFORMED_STATE, "non-empty array"),
]


@pytest.mark.parametrize("text,path,code,reason", ERRORS)
def test_error_names_the_field_path(folder, text, path, code, reason):
    error = error_of(folder, text)
    assert (error.path, error.code) == (path, code), str(error)
    assert reason in error.reason
    assert str(error) == f"{path}: {error.reason}"
    assert error.file == str(folder / "crash.toml")


def test_bad_positions_row_names_the_file_row_and_column(folder):
    (folder / "book.csv").write_text(POSITIONS.replace("-0.25", "-0.0001"))
    error = error_of(folder, SCENARIO)
    assert error.path == "positions.file" and error.code == ResultCode.INEXACT_DECIMAL
    assert str(error) == (f"positions.file: {folder / 'book.csv'}: row 2 (line 3), column size: "
                          f"'-0.0001' has more than 3 decimal places")


def test_positions_file_relative_to_the_scenario_not_the_cwd(folder, monkeypatch, tmp_path_factory):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert load_scenario(folder / "crash.toml").state.account("alice").positions == {
        "BTCUSDT": 500}
    with pytest.raises(ScenarioError, match="no such file"):
        loads_scenario(SCENARIO)  # relative to the current directory, where it is not
    assert loads_scenario(SCENARIO, base_dir=folder).state.account("bob").quote == 18_250 * USDT


def test_toml_syntax_error_gives_line_and_column(folder):
    error = error_of(folder, SCENARIO.replace("steps = 4", "steps = = 4"))
    assert (error.path, error.line) == ("", 18)
    assert error.column is not None
    assert str(error).startswith("invalid TOML at line 18, column ")


def test_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")


# -- the embedded default -------------------------------------------------------------------------

def test_default_scenario_loads_and_every_invariant_holds_LIQ_INV_1_LIQ_INV_2():
    """Rule: LIQ-INV-1, LIQ-INV-2 on the default's state; the values its file states."""
    scenario = default_scenario()
    state, config = scenario.state, scenario.config
    assert all_violations(state) == []
    assert state.profile.name == "binance_usdm" and list(state.profile.markets) == ["BTCUSDT"]
    assert scenario.seed == 7
    traders = [a for a in state.accounts.values() if a.role == TRADER]
    assert len(traders) == 3_000
    longs = sum(1 for a in traders if a.position("BTCUSDT") > 0)
    assert 0.65 * 3_000 < longs < 0.75 * 3_000  # ~70% long
    assert state.marks == {"BTCUSDT": 6_000_000}
    # a 12% drop over 120 steps of 5 s (ten minutes) then 12 steps held: 133 index values, the
    # last 60,000 x 0.88 = 52,800 USDT
    path = config.path.index_ticks["BTCUSDT"]
    assert (config.path.step_seconds, len(path), path[0], path[120], path[-1]) == (
        5, 133, 6_000_000, 5_280_000, 5_280_000)
    assert state.account(config.book_account).role == LIQUIDITY


@pytest.mark.reference_only  # about the data; fast free collateral packs the book per call
def test_default_scenario_accounts_are_healthy_before_the_shock_LIQ_TRIGGER_1():
    """Rule: LIQ-TRIGGER-1, LIQ-MARGIN-5: the cascade is caused by the shock, not by the data."""
    state = default_scenario().state
    for account in state.accounts.values():
        if account.role == TRADER:
            assert REFERENCE.free_collateral_quote(state, account) >= 0
            assert not REFERENCE.is_liquidatable(account, state)


def test_default_scenario_is_deterministic_LIQ_INV_10():
    """Rule: LIQ-INV-10."""
    assert default_scenario().state.snapshot() == default_scenario().state.snapshot()
    assert "seed = 7" in default_text()


def test_default_scenario_cascade_liquidates_a_share_and_uses_the_fund_LIQ_CASCADE_5(impl):
    """Rule: LIQ-CASCADE-5. What the default is tuned to show: the crash liquidates tens of
    percent of the longs but not all of them, and the insurance fund pays deficits (its lowest
    balance is below its start)."""
    scenario = default_scenario()
    summary = impl.run_cascade(scenario.state, scenario.config).summary
    longs = sum(1 for a in scenario.state.accounts.values()
                if a.role == TRADER and a.position("BTCUSDT") > 0)
    assert 0.1 * longs < summary.accounts_liquidated < 0.9 * longs
    assert summary.insurance_fund_min_quote < summary.insurance_fund_start_quote


# -- hostile input: each was a traceback or a misleading message ---------------------------------

def test_a_byte_order_mark_before_the_toml_is_ignored(folder):
    """A scenario saved with a BOM was "invalid TOML at line 1, column 1: Invalid statement"."""
    path = folder / "crash.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SCENARIO.encode())
    assert load_scenario(path).name == "small"
    assert loads_scenario("\ufeff" + SCENARIO, base_dir=folder).name == "small"
    path.write_bytes(SCENARIO.replace("two accounts", "caf\xe9").encode("latin-1"))
    with pytest.raises(ScenarioError, match="is not UTF-8 text"):
        load_scenario(path)


def test_a_directory_as_positions_file_is_not_a_missing_file(folder):
    """A folder named like the positions file was reported as "no such file"."""
    (folder / "book.csv").unlink()
    (folder / "book.csv").mkdir()
    error = error_of(folder, SCENARIO)
    assert error.path == "positions.file"
    assert error.reason.startswith("is a directory, not a file")


def test_an_insurance_fund_at_the_int64_limit_is_blamed_on_the_fund_LIQ_DOMAIN_1(folder):
    """Rule: LIQ-DOMAIN-1. The fund (2^63-1 quantums) fits alone, but with the wallets (4,000
    USDT) the outside holder would supply more than int64 holds: the error blamed row 1 of the
    positions file, whose wallet is fine."""
    error = error_of(folder, SCENARIO.replace('"1234.5"', '"9223372036854.775807"'))
    assert (error.path, error.code) == ("insurance_fund", ResultCode.OVERFLOW)
    assert "with the wallets (4000)" in error.reason


def test_a_book_whose_open_interest_leaves_int64_is_a_scenario_error_LIQ_DOMAIN_1(folder):
    """Rule: LIQ-DOMAIN-1. Longs and shorts of 6e7 BTC at 60,000: every entry cost fits and the
    book nets to zero, but open interest (1.08e19 quantums) does not: a bare Overflow."""
    rows = "".join(f"l{i},1000,BTCUSDT,60000000,60000,\ns{i},1000,BTCUSDT,-60000000,60000,\n"
                   for i in range(3))
    (folder / "book.csv").write_text("account,wallet,market,size,entry_price,isolated\n" + rows)
    error = error_of(folder, SCENARIO)
    assert (error.path, error.code) == ("positions.file", ResultCode.OVERFLOW)
    assert "open interest of BTCUSDT" in error.reason


@pytest.mark.rule("LIQ-ADL-5")
def test_a_scenario_gives_the_funds_history_before_the_run_LIQ_ADL_5():
    """``insurance_fund_history``: the fund's balances before the run, oldest first, in quote
    units, into the cascade configuration for a profile with the drawdown rule (okx); refused,
    naming the key, where the profile has none or the samples are not oldest first."""
    okx = SCENARIO.replace('profile = "binance_usdm"', 'profile = "okx"').replace(
        "[markets.BTCUSDT]", "[markets.BTC-USDT-SWAP]").replace(
        'insurance_fund = "1234.5"', 'insurance_fund = "1234.5"\ninsurance_fund_history = '
        '[{ seconds_before = 7200, balance = "2000" }, { seconds_before = 60, balance = 1800 }]')
    okx = okx.split("[positions]")[0] + """[synthetic]
seed = 1
accounts = 20
notional_median = "1000"
"""
    scenario = loads_scenario(okx)
    assert scenario.config.fund_history == ((7200, 2_000_000_000), (60, 1_800_000_000))
    with pytest.raises(ScenarioError, match="no drawdown rule") as error:
        loads_scenario(okx.replace('profile = "okx"', 'profile = "bybit"').replace(
            "BTC-USDT-SWAP", "BTCUSDT"))
    assert error.value.path == "insurance_fund_history"
    with pytest.raises(ScenarioError, match="must decrease"):
        loads_scenario(okx.replace("seconds_before = 60", "seconds_before = 7200"))
