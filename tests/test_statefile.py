"""Loading a JSON state file (liqspec.statefile): exact units, invariants, errors naming the field.

The embedded example is checked against hand arithmetic. Its venue: USDT with 6 decimals; BTCUSDT
in lots of 0.001 BTC and ticks of 0.1 USDT; ETHUSDT in lots of 0.01 ETH and ticks of 0.01 USDT; one
lot at one tick is worth 10^(6-3-1) = 10^(6-2-2) = 100 quote quantums in both (LIQ-UNIT-1).
"""

import copy
import json

import pytest

from liqspec.reference import BACKSTOP, OUTSIDE, ResultCode, all_violations
from liqspec.statefile import (OPENING_COUNTERPARTY, StateFileError, example_text, load,
                               load_example, loads, parse_state)

USDT = 10**6  # quote quantums per USDT

EXAMPLE = json.loads(example_text())


def example():
    """A deep copy of the embedded example as a Python document, to mutate in a test."""
    return copy.deepcopy(EXAMPLE)


def small(accounts, marks=None, **venue_policies):
    """A one-market BTC venue (the example's BTC tiers) with the given accounts."""
    venue = {"name": "small", "quote_decimals": 6,
             "markets": {"BTCUSDT": copy.deepcopy(EXAMPLE["venue"]["markets"]["BTCUSDT"])}}
    venue.update(venue_policies)
    return {"venue": venue, "marks": marks or {"BTCUSDT": "60000"}, "accounts": accounts}


def error_of(document: dict) -> StateFileError:
    """The error parsing ``document`` raises, after a JSON round trip (as from a file)."""
    with pytest.raises(StateFileError) as caught:
        loads(json.dumps(document))
    return caught.value


# -- the example ----------------------------------------------------------------------------------

def test_example_loads_and_every_invariant_holds_LIQ_INV_1_LIQ_INV_2():
    """Rule: LIQ-INV-1, LIQ-INV-2 (conservation and zero-sum hold on a loaded state, with
    nothing exempted: the opening balances are booked against outside and the positions against
    the opening counterparty)."""
    loaded = load_example()
    state = loaded.state
    assert all_violations(state) == []
    assert loaded.quote_asset == "USDT"
    assert loaded.counterparty_id == OPENING_COUNTERPARTY
    assert state.account(OPENING_COUNTERPARTY).role == BACKSTOP
    # outside paid in every wallet and the fund: 20000 + 3000 + 3150 + 10000 + 500 + 250000
    assert state.holders[OUTSIDE] == -286_650 * USDT
    assert state.holders["insurance_fund"] == 250_000 * USDT
    # the counterparty holds the other side: BTC 500 + 2000 - 1000 lots, ETH -400 + 1000 lots
    assert state.account(OPENING_COUNTERPARTY).positions == {"BTCUSDT": -1500, "ETHUSDT": -600}


def test_quote_is_the_wallet_before_entry_cost_LIQ_MARGIN_4(impl):
    """Rule: LIQ-MARGIN-4. The file's "quote" is the wallet balance; the loader deducts the entry
    cost (signed lots * entry ticks * 100) and keeps it as the cost basis."""
    state = load_example().state
    alice = state.account("alice")
    # BTC: 500 lots * 580000 ticks * 100 = 29,000 USDT; ETH: -400 lots * 310000 ticks * 100
    assert alice.cost_quote == {"BTCUSDT": 29_000 * USDT, "ETHUSDT": -12_400 * USDT}
    assert alice.quote == (20_000 - 29_000 + 12_400) * USDT  # 3,400
    dave = state.account("dave")  # a short receives its entry notional: 10,000 + 55,000
    assert dave.quote == 65_000 * USDT and dave.cost_quote == {"BTCUSDT": -55_000 * USDT}
    # equity = wallet + unrealized PnL: bob 3,000 + 2 * (60,000 - 61,000) = 1,000
    assert impl.equity_quote(state.account("bob"), state.marks, state.profile) == 1_000 * USDT
    assert state.account("bob").isolated_market == "BTCUSDT"
    assert state.account("erin").positions == {} and state.account("erin").quote == 500 * USDT


def test_venue_converts_rates_and_deductions_exactly_LIQ_UNIT_2():
    """Rule: LIQ-UNIT-2. "0.005" is 5,000 ppm; "1300" USDT is 1.3e9 quantums; marks in ticks."""
    state = load_example().state
    btc = state.market("BTCUSDT")
    assert [t.maint_margin_ppm for t in btc.tiers] == [4_000, 5_000, 10_000]
    assert [t.init_deduction_quote for t in btc.tiers] == [0, 500 * USDT, 8_000 * USDT]
    assert btc.tiers[2].maint_deduction_quote == 1_300 * USDT
    assert btc.value_per_lot_tick == 100 and btc.liquidation_fee_ppm == 10_000
    assert state.marks == {"BTCUSDT": 600_000, "ETHUSDT": 300_000}
    assert state.profile.backstop_ratio == (2, 3)


def test_json_numbers_are_read_as_exact_decimals_not_floats_LIQ_UNIT_2():
    """0.1 + 0.2 as floats is 0.30000000000000004; read as decimals it is exactly 0.3, so a JSON
    number 0.3 is exactly 300,000 quantums, and a rate 0.004 exactly 4,000 ppm."""
    text = json.dumps(small([{"id": "a", "quote": "0.3"}]))
    text = text.replace('"quote": "0.3"', '"quote": 0.3')
    text = text.replace('"maint_margin_rate": "0.004"', '"maint_margin_rate": 0.004')
    assert '"quote": 0.3' in text and '"maint_margin_rate": 0.004' in text
    state = loads(text).state
    assert state.account("a").quote == 300_000
    assert state.market("BTCUSDT").tiers[0].maint_margin_ppm == 4_000


def test_no_positions_means_no_counterparty_and_zero_size_is_flat():
    doc = small([{"id": "a", "quote": "10", "positions": {"BTCUSDT": {"size": "0",
                                                                       "entry_price": "1"}}}])
    loaded = loads(json.dumps(doc))
    assert loaded.counterparty_id is None
    assert list(loaded.state.accounts) == ["a"]
    assert loaded.state.account("a").positions == {}


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(example_text())
    assert load(path).state.snapshot() == load_example().state.snapshot()


# -- errors name the field ------------------------------------------------------------------------

def _set(path, value):
    def change(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value
        return doc
    return change


def _delete(path):
    def change(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        del target[last]
        return doc
    return change


BTC_TIER = ("venue", "markets", "BTCUSDT", "tiers")

BAD = [
    # (name, change, path the message must start with, result code)
    ("inexact size", _set(("accounts", 2, "positions", "ETHUSDT", "size"), "0.001"),
     "accounts[2].positions.ETHUSDT.size: '0.001' has more than 2 decimal places",
     ResultCode.INEXACT_DECIMAL),
    ("inexact price", _set(("marks", "BTCUSDT"), "60000.05"),
     "marks.BTCUSDT: '60000.05' has more than 1 decimal places", ResultCode.INEXACT_DECIMAL),
    ("inexact rate", _set(BTC_TIER + (1, "maint_margin_rate"), "0.0050001"),
     "venue.markets.BTCUSDT.tiers[1].maint_margin_rate: '0.0050001' has more than 6 decimal "
     "places (a rate must be a whole number of parts per million, or a fraction such as "
     "\"1/30\")", ResultCode.INEXACT_DECIMAL),
    ("unknown account key", _set(("accounts", 0, "posiitons"), {}),
     "accounts[0].posiitons: unknown key (did you mean 'positions'?)", ResultCode.MALFORMED_STATE),
    ("unknown top key", _set(("insurance",), "5"),
     "insurance: unknown key (did you mean 'insurance_fund'?)", ResultCode.MALFORMED_STATE),
    ("unknown tier key", _set(BTC_TIER + (0, "maint_rate"), "0.1"),
     "venue.markets.BTCUSDT.tiers[0].maint_rate: unknown key", ResultCode.MALFORMED_STATE),
    ("unknown position key", _set(("accounts", 0, "positions", "BTCUSDT", "lever"), 10),
     "accounts[0].positions.BTCUSDT.lever: unknown key (did you mean 'leverage'?)",
     ResultCode.MALFORMED_STATE),
    ("leverage 0", _set(("accounts", 0, "positions", "BTCUSDT", "leverage"), 0),
     "accounts[0].positions.BTCUSDT.leverage: leverage must be a whole multiple in 1..1000000, "
     "got 0", ResultCode.INVALID_LEVERAGE),
    ("leverage as a string", _set(("accounts", 0, "positions", "BTCUSDT", "leverage"), "10"),
     "accounts[0].positions.BTCUSDT.leverage: expected an integer, got a string",
     ResultCode.NOT_AN_INTEGER),
    ("leverage above the tier", _set(("accounts", 0, "positions", "BTCUSDT", "leverage"), 1000),
     "accounts[0].positions.BTCUSDT.leverage: leverage 1000x in BTCUSDT is above 100x, the "
     "maximum of the tier of notional 29000000000", ResultCode.LEVERAGE_ABOVE_TIER_MAX),
    ("unknown venue key", _set(("venue", "fee"), "rate"),
     "venue.fee: unknown key", ResultCode.MALFORMED_STATE),
    ("unknown market in positions", _set(("accounts", 0, "positions", "DOGEUSDT"),
                                         {"size": "1", "entry_price": "1"}),
     "accounts[0].positions.DOGEUSDT: unknown market", ResultCode.UNKNOWN_MARKET),
    ("unknown market in marks", _set(("marks", "DOGEUSDT"), "1"),
     "marks.DOGEUSDT: unknown market", ResultCode.UNKNOWN_MARKET),
    ("unknown isolated market", _set(("accounts", 1, "isolated_market"), "DOGEUSDT"),
     "accounts[1].isolated_market: unknown market 'DOGEUSDT'", ResultCode.UNKNOWN_MARKET),
    ("negative entry price", _set(("accounts", 0, "positions", "BTCUSDT", "entry_price"), "-5"),
     "accounts[0].positions.BTCUSDT.entry_price: a price must be positive, got '-5'",
     ResultCode.INVALID_PRICE),
    ("zero mark", _set(("marks", "ETHUSDT"), "0"),
     "marks.ETHUSDT: a price must be positive", ResultCode.INVALID_PRICE),
    ("negative wallet", _set(("accounts", 4, "quote"), "-1"),
     "accounts[4].quote: must not be negative", ResultCode.INVALID_AMOUNT),
    ("negative fund", _set(("insurance_fund",), "-1"),
     "insurance_fund: must not be negative", ResultCode.INVALID_AMOUNT),
    ("missing quote", _delete(("accounts", 1, "quote")),
     "accounts[1].quote: required key is missing", ResultCode.MALFORMED_STATE),
    ("missing entry price", _delete(("accounts", 0, "positions", "BTCUSDT", "entry_price")),
     "accounts[0].positions.BTCUSDT.entry_price: required key is missing",
     ResultCode.MALFORMED_STATE),
    ("missing mark", _delete(("marks", "ETHUSDT")),
     "marks.ETHUSDT: missing: every market needs a mark price", ResultCode.INVALID_PRICE),
    ("missing tier field", _delete(BTC_TIER + (2, "init_deduction")),
     "venue.markets.BTCUSDT.tiers[2].init_deduction: required key is missing",
     ResultCode.MALFORMED_STATE),
    ("missing venue", _delete(("venue",)),
     "venue: required key is missing", ResultCode.MALFORMED_STATE),
    ("wrong type: boolean amount", _set(("accounts", 1, "quote"), True),
     "accounts[1].quote: expected a decimal number such as \"12.5\", got a boolean",
     ResultCode.MALFORMED_STATE),
    ("wrong type: list of positions", _set(("accounts", 0, "positions"), []),
     "accounts[0].positions: expected an object, got a list", ResultCode.MALFORMED_STATE),
    ("wrong type: string decimals", _set(("venue", "markets", "ETHUSDT", "base_decimals"), "2"),
     "venue.markets.ETHUSDT.base_decimals: expected an integer, got a string",
     ResultCode.NOT_AN_INTEGER),
    ("wrong type: accounts object", _set(("accounts",), {}),
     "accounts: expected a list of accounts, got an object", ResultCode.MALFORMED_STATE),
    ("wrong type: null id", _set(("accounts", 3, "id"), None),
     "accounts[3].id: expected a string, got null", ResultCode.MALFORMED_STATE),
    ("not a number", _set(("accounts", 0, "quote"), "12,5"),
     "accounts[0].quote: '12,5' is not a decimal number", ResultCode.INEXACT_DECIMAL),
    ("overflow", _set(("accounts", 0, "quote"), "1e30"),
     "accounts[0].quote: '1e30' is outside the signed 64-bit domain", ResultCode.OVERFLOW),
    ("entry cost overflow", _set(("accounts", 0, "positions", "BTCUSDT", "size"), "9000000000"),
     "accounts[0].positions.BTCUSDT: entry cost", ResultCode.OVERFLOW),
    ("tiny digit below the unit", _set(("accounts", 0, "quote"), "1e-99999999"),
     "accounts[0].quote: '1e-99999999' has more than 6 decimal places",
     ResultCode.INEXACT_DECIMAL),
    ("rate above 100%", _set(BTC_TIER + (0, "init_margin_rate"), "1.5"),
     "venue.markets.BTCUSDT.tiers[0].init_margin_rate: a rate is a fraction in 0..1",
     ResultCode.INVALID_RATE),
    # 50,000 * (0.5% - 0.4%) = 50: the only deduction that keeps tier 2 continuous (LIQ-TIER-2)
    ("discontinuous deduction", _set(BTC_TIER + (1, "maint_deduction"), "40"),
     "venue.markets.BTCUSDT.tiers[1].maint_deduction: must be 50 for the requirement to be "
     "continuous at the tier floor (LIQ-TIER-2), got 40", ResultCode.MALFORMED_STATE),
    ("first tier deduction", _set(BTC_TIER + (0, "maint_deduction"), "1"),
     "venue.markets.BTCUSDT.tiers[0].maint_deduction: the first tier has no deduction",
     ResultCode.MALFORMED_STATE),
    ("maintenance above initial", _set(BTC_TIER + (0, "init_margin_rate"), "0.003"),
     "venue.markets.BTCUSDT.tiers[0].init_margin_rate: must be at least maint_margin_rate "
     "(0.004)", ResultCode.INVALID_RATE),
    ("zero maintenance rate", _set(BTC_TIER + (0, "maint_margin_rate"), "0"),
     "venue.markets.BTCUSDT.tiers[0].maint_margin_rate: must be above 0 and below 1",
     ResultCode.INVALID_RATE),
    ("decreasing maintenance rate", _set(("venue", "markets", "ETHUSDT", "tiers", 2),
                                         {"floor_notional": "100000", "maint_margin_rate": "0.006",
                                          "maint_deduction": "65", "init_margin_rate": "0.05",
                                          "init_deduction": "3100"}),
     "venue.markets.ETHUSDT.tiers[2].maint_margin_rate: must not be below the previous tier's",
     ResultCode.MALFORMED_STATE),
    ("floors not increasing", _set(BTC_TIER + (2, "floor_notional"), "50000"),
     "venue.markets.BTCUSDT.tiers[2].floor_notional: tier floors must increase",
     ResultCode.MALFORMED_STATE),
    ("too many decimals for the quote", _set(("venue", "quote_decimals"), 3),
     "venue.markets.BTCUSDT: quote_decimals (3) must be >= base_decimals (3) + price_decimals "
     "(1)",
     ResultCode.MALFORMED_STATE),
    ("isolated account in another market", _set(("accounts", 1, "positions", "ETHUSDT"),
                                                {"size": "1", "entry_price": "3000"}),
     "accounts[1].positions.ETHUSDT: the account is isolated to BTCUSDT",
     ResultCode.ISOLATED_MARKET_MISMATCH),
    ("duplicate account", _set(("accounts", 3, "id"), "alice"),
     "accounts[3].id: duplicate account ID 'alice'", ResultCode.MALFORMED_STATE),
    ("reserved account", _set(("accounts", 3, "id"), OPENING_COUNTERPARTY),
     "accounts[3].id: 'opening-counterparty' is reserved", ResultCode.MALFORMED_STATE),
    ("holder name as account", _set(("accounts", 3, "id"), "insurance_fund"),
     "accounts[3].id: 'insurance_fund' is reserved", ResultCode.MALFORMED_STATE),
    ("bad policy", _set(("venue", "fee_policy"), "flat"),
     "venue.fee_policy: 'flat' is not one of rate, all_surplus", ResultCode.MALFORMED_STATE),
    ("bad backstop", _set(("venue", "backstop_ratio"), [3, 2]),
     "venue.backstop_ratio: need 0 < num < den", ResultCode.MALFORMED_STATE),
    ("venue and profile", _set(("profile",), "binance_usdm"),
     "profile: give either \"venue\" (inline) or \"profile\" (a name), not both",
     ResultCode.MALFORMED_STATE),
]


@pytest.mark.parametrize("name, change, message, code", BAD, ids=[b[0] for b in BAD])
def test_every_error_names_the_field_path(name, change, message, code):
    error = error_of(change(example()))
    assert str(error).startswith(message), str(error)
    assert error.path == message.split(":")[0]
    assert error.code == code


def test_json_syntax_error_reports_line_and_column():
    text = '{\n  "marks": {"BTCUSDT": "1"},\n  "accounts": [,]\n}'
    with pytest.raises(StateFileError) as caught:
        loads(text)
    # the stray comma is on line 3, column 16 (1-based, as editors count)
    assert (caught.value.line, caught.value.column) == (3, 16)
    assert "line 3, column 16" in str(caught.value)


def test_duplicate_keys_are_errors_with_their_path():
    text = json.dumps(small([{"id": "a", "quote": "1"}]))
    text = text.replace('"quote": "1"', '"quote": "1", "quote": "2"')
    with pytest.raises(StateFileError) as caught:
        loads(text)
    assert str(caught.value) == "accounts[0].quote: key appears more than once"


def test_non_finite_json_constants_are_rejected_with_their_path():
    text = json.dumps(small([{"id": "a", "quote": "1"}])).replace('"60000"', "NaN")
    with pytest.raises(StateFileError) as caught:
        loads(text)
    assert str(caught.value).startswith("marks.BTCUSDT: expected a decimal number")


def test_unreadable_file_is_a_state_file_error(tmp_path):
    with pytest.raises(StateFileError, match="cannot read"):
        load(tmp_path / "missing.json")


def test_top_level_must_be_an_object():
    with pytest.raises(StateFileError, match=r"^\(top level\): expected an object, got a list"):
        loads("[1, 2]")


# -- named profiles -------------------------------------------------------------------------------

def test_unknown_profile_name_is_a_field_error():
    doc = {"profile": "no_such_venue", "marks": {}, "accounts": []}
    with pytest.raises(StateFileError, match=r"^profile: "):
        parse_state(doc)


def test_named_profile_loads():
    from liqspec.reference.profiles import get_profile

    profile = get_profile("binance_usdm")
    market_id, market = next(iter(profile.markets.items()))
    marks = {m: "1" for m in profile.markets}  # price 1 is exact at any price_decimals
    doc = {"profile": "binance_usdm", "marks": marks,
           "accounts": [{"id": "a", "quote": "100"}]}
    loaded = parse_state(doc)
    assert loaded.state.profile is profile or loaded.state.profile == profile
    assert loaded.state.marks[market_id] == 10**market.price_decimals
    assert all_violations(loaded.state) == []


@pytest.mark.parametrize("text, path", [
    ('{"id": "\\ud800", "quote": "1"}', "accounts[0].id"),
    ('{"id": "a\\udfffb", "quote": "1", "description": "x"}', "accounts[0].id"),
    ('{"id": "a", "quote": "1", "description": "\\udc80"}', "accounts[0].description"),
    ('{"id": "a", "quote": "1", "positions": {"\\ud83d": {"size": "1", "entry_price": "1"}}}',
     "accounts[0].positions"),
])
def test_a_lone_surrogate_escape_is_refused_naming_its_path(text, path):
    """JSON lets ``\\ud800`` through as a lone surrogate, which is not a character: it loaded,
    and explain then crashed printing it. A pair that makes one character (an emoji) is fine."""
    document = json.dumps(small([{"id": "x", "quote": "1"}])).replace(
        '{"id": "x", "quote": "1"}', text)
    with pytest.raises(StateFileError) as caught:
        loads(document)
    assert caught.value.path == path
    assert "lone surrogate" in caught.value.reason
    pair = json.dumps(small([{"id": "x", "quote": "1"}])).replace('"x"', '"\\ud83d\\ude00"')
    assert "\U0001F600" in loads(pair).state.accounts


def test_a_byte_order_mark_is_ignored_and_other_bytes_must_be_utf8(tmp_path):
    """A file saved with a BOM (as Windows editors do) was "invalid JSON at line 1"."""
    from liqspec.statefile import decode_text

    text = json.dumps(small([{"id": "a", "quote": "1"}]))
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert "a" in load(tmp_path / "bom.json").state.accounts
    assert "a" in loads("\ufeff" + text).state.accounts
    (tmp_path / "latin1.json").write_bytes(text.replace('"a"', '"\xe9"').encode("latin-1"))
    with pytest.raises(StateFileError, match="is not UTF-8 text: invalid continuation byte"):
        load(tmp_path / "latin1.json")
    with pytest.raises(StateFileError, match="^standard input is not UTF-8 text"):
        decode_text(b"\xff", "standard input")


def test_an_insurance_fund_that_leaves_int64_with_the_wallets_is_blamed_on_the_fund():
    """Rule: LIQ-DOMAIN-1, LIQ-INSURANCE-2. The fund at 2^63-1 quantums fits, but with a wallet
    of 1 USDT the outside holder would supply more than int64 holds: the error named
    accounts[0].quote, which is fine on its own."""
    document = small([{"id": "a", "quote": "1"}])
    document["insurance_fund"] = "9223372036854.775807"
    error = error_of(document)
    assert (error.path, error.code) == ("insurance_fund", ResultCode.OVERFLOW)
    assert "with the wallets (1)" in error.reason
    document["insurance_fund"] = "9223372036853.775808"  # 2^63 quantums with the wallet: fits
    assert loads(json.dumps(document)).state.holders["outside"] == -(2**63)


# -- the value domain of a loaded state (LIQ-DOMAIN-1) --------------------------------------------

def test_an_open_interest_beyond_int64_is_an_error_about_the_accounts_LIQ_DOMAIN_1():
    """Rule: LIQ-DOMAIN-1, LIQ-TIER-4. Two longs of 83,333,333 BTC bought at 1 USDT: at 60,000
    each is worth 5 x 10^18 quantums (it fits), their open interest 10^19 does not. The error is
    about the book, not about either account."""
    position = {"BTCUSDT": {"size": "83333333", "entry_price": "1"}}
    error = error_of(small([{"id": "a", "quote": "1", "positions": position},
                            {"id": "b", "quote": "1", "positions": position}]))
    assert (error.path, error.code) == ("accounts", ResultCode.OVERFLOW)
    assert error.reason.startswith("at these marks, the open interest of BTCUSDT (its long side "
                                   "at the mark, LIQ-TIER-4) is too large")


def test_a_free_collateral_beyond_int64_names_the_account_LIQ_DOMAIN_1():
    """Rule: LIQ-DOMAIN-1. A short of 150,000,000 BTC sold at 0.1 USDT: at 60,000 its value is
    -9 x 10^18 quantums and its equity about -8.99998 x 10^18 (both fit), its initial
    requirement 5% of 9 x 10^18 less 8,000 USDT (third tier), and equity less that is below
    -2^63: explaining the account would overflow, so the load refuses it, naming it."""
    error = error_of(small([{"id": "a", "quote": "1", "positions": {
        "BTCUSDT": {"size": "-150000000", "entry_price": "0.1"}}}]))
    assert (error.path, error.code) == ("accounts[0]", ResultCode.OVERFLOW)
    assert error.reason.startswith("at these marks, ") and "free collateral of a" in error.reason


def test_the_domain_check_computes_open_interest_once_per_market(monkeypatch):
    """Open interest is the same for every account: the load computes it once per market (it
    once computed it for every account, through free collateral: quadratic in the accounts)."""
    import liqspec.reference.margin as margin
    import liqspec.statefile as statefile
    calls = []
    real = margin.open_interest_quote

    def counted(state, market_id):
        calls.append(market_id)
        return real(state, market_id)

    monkeypatch.setattr(margin, "open_interest_quote", counted)
    monkeypatch.setattr(statefile, "open_interest_quote", counted)
    accounts = [{"id": f"a{i:02d}", "quote": "1000", "positions": {
        "BTCUSDT": {"size": "0.01", "entry_price": "60000"}}} for i in range(40)]
    loads(json.dumps(small(accounts)))
    assert calls == ["BTCUSDT"]


# -- rates that are fractions (LIQ-TIER-7) ---------------------------------------------------------

def _hyperliquid_eth(maint_deduction="4000000/3"):
    """Hyperliquid's ETH table as a state file writes it: 25x from 0 (1/50 and 1/25), 15x from
    100,000,000 USDC (1/30 and 1/15), the deductions 100,000,000 x (1/30 - 1/50) = 4,000,000/3
    and 100,000,000 x (1/15 - 1/25) = 8,000,000/3 USDC."""
    return {"venue": {"name": "hl", "quote_decimals": 6, "quote_asset": "USDC", "markets": {
        "ETH": {"base_decimals": 4, "price_decimals": 2, "tiers": [
            {"floor_notional": "0", "maint_margin_rate": "1/50", "maint_deduction": "0",
             "init_margin_rate": "1/25", "init_deduction": "0"},
            {"floor_notional": "100000000", "maint_margin_rate": "1/30",
             "maint_deduction": maint_deduction, "init_margin_rate": "1/15",
             "init_deduction": "8000000/3"}]}}},
        "marks": {"ETH": "4000"},
        "accounts": [{"id": "whale", "quote": "20000000",
                      "positions": {"ETH": {"size": "-50000", "entry_price": "4000"}}}]}


def test_a_venue_with_fractional_rates_loads_exactly_LIQ_TIER_7():
    """Rule: LIQ-TIER-7. The table loads in rate_scale 3, tier for tier the hyperliquid profile's
    ETH market, and the whale's 200,000,000 USDC short requires 5,333,333.333334 USDC."""
    from liqspec.reference import account_maintenance_margin_quote, get_profile
    loaded = loads(json.dumps(_hyperliquid_eth()))
    eth = loaded.state.profile.market("ETH")
    assert eth.rate_scale == 3
    assert eth.tiers == get_profile("hyperliquid").market("ETH").tiers
    whale = loaded.state.account("whale")
    assert account_maintenance_margin_quote(whale, loaded.state.marks,
                                            loaded.state.profile) == 5_333_333_333_334


@pytest.mark.parametrize("value, message, code", [
    ("1333333.33", "venue.markets.ETH.tiers[1].maint_deduction: must be 4000000/3 for the "
                   "requirement to be continuous at the tier floor (LIQ-TIER-2), got 1333333.33",
     ResultCode.MALFORMED_STATE),
    ("4000000/0", "venue.markets.ETH.tiers[1].maint_deduction: '4000000/0': a fraction's "
                  "denominator must be positive", ResultCode.INEXACT_DECIMAL),
    ("4000000/x", "venue.markets.ETH.tiers[1].maint_deduction: 'x' is not a decimal number",
     ResultCode.INEXACT_DECIMAL),
    ("-4000000/3", "venue.markets.ETH.tiers[1].maint_deduction: must not be negative",
     ResultCode.INVALID_AMOUNT),
    ("1/7000001", "venue.markets.ETH.tiers: the rates and deductions need a rate_scale of",
     ResultCode.INVALID_RATE),
])
def test_a_bad_fractional_deduction_names_its_path_LIQ_TIER_7(value, message, code):
    """Rule: LIQ-TIER-7. The deduction that keeps the requirement continuous is named as the
    fraction it is; a zero denominator, a term that is no number, a negative value and a scale
    above 10^6 are refused, each naming the field."""
    error = error_of(_hyperliquid_eth(value))
    assert str(error).startswith(message) and error.code == code, str(error)


# -- liquidation by account share (LIQ-SHARE-1) ---------------------------------------------------

def _share_venue(**policies):
    """Paradex's published example as a state file: the venue's share policies (a 50% fee, as
    the page's table), Alice with 1,000 USDC and her positions at their entries, at the
    example's marks."""
    venue = {"name": "px", "quote_decimals": 6, "quote_asset": "USDC", "markets": {
        m: {"base_decimals": 5, "price_decimals": 1, "liquidation_fee_ppm": 500_000, "tiers": [
            {"floor_notional": "0", "maint_margin_rate": "0.01", "maint_deduction": "0",
             "init_margin_rate": "0.02", "init_deduction": "0"}]} for m in ("BTC", "ETH")}}
    venue.update(policies)
    return {"venue": venue, "marks": {"BTC": "54800", "ETH": "3400"},
            "accounts": [{"id": "alice", "quote": "1000", "positions": {
                "BTC": {"size": "0.1", "entry_price": "60000"},
                "ETH": {"size": "-1", "entry_price": "3000"}}}]}


def test_a_venue_liquidating_by_account_share_loads_LIQ_SHARE_1():
    """Rule: LIQ-SHARE-1. The share step is portion_rate, the target share_target_ratio; the
    loaded venue chooses the published example's 40%."""
    from liqspec.reference import liquidation_share
    loaded = loads(json.dumps(_share_venue(liquidation_size="account_share",
                                           fee_policy="maintenance_share", portion_rate="0.2",
                                           share_target_ratio="0.9")))
    profile = loaded.state.profile
    assert (profile.portion_ppm, profile.share_target_ppm) == (200_000, 900_000)
    plan = liquidation_share(loaded.state.account("alice"), loaded.state)
    assert (plan.share_ppm, plan.penalty_quote) == (400_000, 17_760_000)


@pytest.mark.parametrize("policies, where", [
    ({"liquidation_size": "account_share"}, "account_share and fee_policy maintenance_share"),
    ({"fee_policy": "maintenance_share"}, "account_share and fee_policy maintenance_share"),
    ({"liquidation_size": "account_share", "fee_policy": "maintenance_share",
      "share_target_ratio": "0"}, "venue.share_target_ratio: must be above 0"),
    ({"liquidation_size": "account_share", "fee_policy": "maintenance_share",
      "share_target_ratio": "1.5"}, "venue.share_target_ratio"),
])
def test_a_share_venue_with_a_bad_policy_is_refused_LIQ_SHARE_1(policies, where):
    """Rule: LIQ-SHARE-1. The sizing and the fee go together; the target is a ratio in (0, 1]."""
    with pytest.raises(StateFileError, match=where) as refused:
        loads(json.dumps(_share_venue(**policies)))
    assert refused.value.code in (ResultCode.MALFORMED_STATE, ResultCode.INVALID_RATE)


# -- liquidation to cover the margin shortage (LIQ-SHORTAGE-1) -----------------------------------

def _drift_venue(**policies):
    """Drift's ``successful_liquidation_to_cover_margin_shortage`` as a state file: a market of
    0.01 lots at 100, maintenance 5%, fees 1% and 1%; the user long 2 from 100 with 5 USDC."""
    venue = {"name": "drift_like", "quote_decimals": 6, "quote_asset": "USDC", "markets": {
        "PERP": {"base_decimals": 2, "price_decimals": 4, "liquidation_fee_ppm": 10_000,
                 "liquidator_fee_ppm": 10_000, "tiers": [
                     {"floor_notional": "0", "maint_margin_rate": "0.05", "maint_deduction": "0",
                      "init_margin_rate": "0.1", "init_deduction": "0"}]}}}
    venue.update(policies)
    return {"venue": venue, "marks": {"PERP": "100"},
            "accounts": [{"id": "user", "quote": "5", "positions": {
                "PERP": {"size": "2", "entry_price": "100"}}}]}


def test_a_venue_covering_the_shortage_loads_LIQ_SHORTAGE_1():
    """Rules: LIQ-SHORTAGE-1, LIQ-FEE-3. The buffer is liquidation_buffer_ratio, the liquidator's
    fee each market's liquidator_fee_ppm; the loaded venue sizes Drift's 1.8 (180 lots)."""
    from liqspec.reference import liquidation_size_lots, margin_shortage_quote
    loaded = loads(json.dumps(_drift_venue(liquidation_size="cover_shortage",
                                           fee_policy="liquidator_and_fund",
                                           liquidation_buffer_ratio="0.02")))
    state = loaded.state
    assert state.profile.liquidation_buffer_ppm == 20_000
    assert state.profile.market("PERP").liquidator_fee_ppm == 10_000
    user = state.account("user")
    assert margin_shortage_quote(user, state) == 9_000_000
    assert liquidation_size_lots(user, "PERP", state) == 180


@pytest.mark.parametrize("policies, where", [
    ({"liquidation_size": "cover_shortage"}, "cover_shortage and fee_policy liquidator_and_fund"),
    ({"fee_policy": "liquidator_and_fund"}, "cover_shortage and fee_policy liquidator_and_fund"),
    ({"liquidation_size": "cover_shortage", "fee_policy": "liquidator_and_fund",
      "liquidation_buffer_ratio": "1.5"}, "venue.liquidation_buffer_ratio"),
    ({"liquidation_size": "cover_shortage", "fee_policy": "liquidator_and_fund",
      "liquidation_buffer_ratio": "1/3"}, "liquidation_buffer_ppm"),
])
def test_a_shortage_venue_with_a_bad_policy_is_refused_LIQ_SHORTAGE_1(policies, where):
    """Rule: LIQ-SHORTAGE-1. The sizing and the fees go together; the buffer is a ratio in 0..1
    of whole ppm."""
    with pytest.raises(StateFileError, match=where) as refused:
        loads(json.dumps(_drift_venue(**policies)))
    assert refused.value.code in (ResultCode.MALFORMED_STATE, ResultCode.INVALID_RATE,
                                  ResultCode.NOT_AN_INTEGER)


def test_a_bad_liquidator_fee_names_its_market_LIQ_FEE_3():
    """Rule: LIQ-FEE-3. The liquidator's fee is an integer ppm in 0..10^6, its path named."""
    document = _drift_venue(liquidation_size="cover_shortage", fee_policy="liquidator_and_fund")
    document["venue"]["markets"]["PERP"]["liquidator_fee_ppm"] = 1_000_001
    with pytest.raises(StateFileError, match="venue.markets.PERP.liquidator_fee_ppm"):
        loads(json.dumps(document))


# -- deleveraging on the fund's drawdown (LIQ-ADL-5) ---------------------------------------------

def test_a_venue_deleveraging_on_the_funds_drawdown_loads_LIQ_ADL_5():
    """Rule: LIQ-ADL-5. adl_drawdown_ratio is a fraction of the peak, adl_drawdown_window_s
    seconds: OKX's 30% within 8 hours."""
    loaded = loads(json.dumps(_drift_venue(adl_drawdown_ratio="0.3",
                                           adl_drawdown_window_s=28_800)))
    profile = loaded.state.profile
    assert (profile.adl_drawdown_ppm, profile.adl_drawdown_window_s) == (300_000, 28_800)


@pytest.mark.parametrize("policies, where", [
    ({"adl_drawdown_ratio": "0.3"}, "both positive"),
    ({"adl_drawdown_window_s": 3600}, "both positive"),
    ({"adl_drawdown_ratio": "1.5", "adl_drawdown_window_s": 3600}, "venue.adl_drawdown_ratio"),
    ({"adl_drawdown_ratio": "0.3", "adl_drawdown_window_s": 0}, "venue.adl_drawdown_window_s"),
    ({"adl_drawdown_ratio": "0.3", "adl_drawdown_window_s": 3600,
      "bad_debt_policy": "socialize"}, "needs bad_debt_policy adl"),
])
def test_a_drawdown_venue_with_a_bad_policy_is_refused_LIQ_ADL_5(policies, where):
    """Rule: LIQ-ADL-5. Both parameters or neither, a ratio in 0..1, a positive window, and only
    where losses are deleveraged."""
    with pytest.raises(StateFileError, match=where) as refused:
        loads(json.dumps(_drift_venue(**policies)))
    assert refused.value.code in (ResultCode.MALFORMED_STATE, ResultCode.INVALID_RATE)
