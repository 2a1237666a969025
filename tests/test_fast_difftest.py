"""``liqspec difftest`` (liqspec.fast.difftest): the campaign, shrinking and replay.

A planted bug (the fast liquidation price one tick off) must be found, shrunk to a scenario with
a single account, printed as JSON, and reported again by ``--replay``; the real fast path must
show no divergence. Rule: LIQ-PRICE-3 (the planted bug breaks its tick rounding).
"""

import json
from dataclasses import replace as dc_replace
from types import SimpleNamespace

import liqspec.fast.difftest as difftest
from liqspec.fast.compare import FAST


def test_a_short_campaign_finds_no_divergence(capsys):
    assert difftest.main(["--examples", "20", "--quiet"]) == 0
    assert capsys.readouterr().out == "no divergence\n"


def test_a_planted_bug_is_found_shrunk_and_replayed_LIQ_PRICE_3(monkeypatch, tmp_path, capsys):
    def off_by_one(*args):
        threshold = FAST.liquidation_price(*args)
        return dc_replace(threshold, ticks=threshold.ticks + 1)

    monkeypatch.setattr(difftest, "FAST", SimpleNamespace(**{**vars(FAST),
                                                             "liquidation_price": off_by_one}))
    out = tmp_path / "divergences.jsonl"
    assert difftest.main(["--examples", "200", "--quiet", "--out", str(out)]) == 1
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert cases and all(c["op"] == "liquidation_price" for c in cases)
    first = cases[0]
    assert len(first["scenario"]["accounts"]) == 1  # shrunk to the one account that matters
    assert first["fast"]["ok"]["ticks"] == first["reference"]["ok"]["ticks"] + 1
    capsys.readouterr()
    assert difftest.main(["--replay", str(out)]) == 1
    assert capsys.readouterr().out.startswith("DIVERGES liquidation_price")
