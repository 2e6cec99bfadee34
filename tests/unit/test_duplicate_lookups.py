"""How the duplicate search picks the words it looks cases up by (services.routing.duplicates.lookup), without
a database: rare words anchor a lookup, everyday words pair only across clauses, nested words never pair."""

from __future__ import annotations

from services.routing.duplicates.frequencies import WordFrequencies
from services.routing.duplicates.lookup import chosen_words, clause_groups, lookups
from services.routing.duplicates.terms import text_words

MILLION = 1_000_000


def _freqs(**shares: float) -> WordFrequencies:
    return WordFrequencies(known=shares, unknown=0.0001, rows=MILLION)


def test_a_word_inside_a_rarer_one_takes_no_part() -> None:
    freqs = _freqs(活动=0.04, 中心=0.04, 活动中心=0.02, 楼下=0.2, 噪声=0.01)
    chosen = chosen_words(["活动", "中心", "活动中心", "噪声", "楼下"], freqs)
    assert chosen[:2] == ["噪声", "活动中心"]
    assert "活动" not in chosen and "中心" not in chosen


def test_common_words_only_fill_up_to_three() -> None:
    freqs = _freqs(小区=0.3, 物业=0.2, 不作为=0.03, 门口=0.25)
    assert chosen_words(["小区", "物业", "不作为", "门口"], freqs) == ["不作为", "物业", "门口"]


def _lookups(text: str, freqs: WordFrequencies, title: str | None = None) -> list[str]:
    return lookups(text_words(title, text, None), clause_groups(title, text), freqs)


def test_rare_anchors_pair_with_any_other_word() -> None:
    # 锦涧 is not in the statistics: rarer than any word there. 松动: in 2,000 cases of a million.
    freqs = _freqs(花园=0.06, 门口=0.04, 井盖=0.02, 松动=0.002, 车辆=0.03, 经过=0.03)
    assert _lookups("锦涧花园门口，井盖松动，车辆经过", freqs) == [
        "'锦涧' & ('松动' | '井盖' | '车辆' | '经过' | '门口')",
        "'松动' & ('锦涧' | '井盖' | '车辆' | '经过' | '门口')",
    ]


def test_everyday_anchors_pair_only_with_other_clauses() -> None:
    freqs = _freqs(平江=0.05, 菜场=0.03, 门口=0.04, 井盖=0.02, 松动=0.02, 车辆=0.03, 经过=0.03, 哐当=0.01)
    # 井盖 and 松动 come together (the title says it again): paired, they would find that phrase anywhere.
    assert _lookups("平江路菜场门口，井盖松动，车辆经过哐当响", freqs, title="井盖松动") == [
        "'哐当' & '井盖'"
    ]
    # Without 哐当, 井盖 and 松动 are the rarest: each paired with the rarest word of another clause, the place.
    assert _lookups("平江路菜场门口，井盖松动", freqs, title="井盖松动") == [
        "'井盖' & '菜场'",
        "'松动' & '菜场'",
    ]


def test_one_clause_of_everyday_words_needs_three_of_them() -> None:
    freqs = _freqs(物业=0.04, 服务=0.04, 态度=0.03, 恶劣=0.02, 态度恶劣=0.015)
    # 态度 and 恶劣 are inside 态度恶劣: they take no part.
    assert _lookups("物业服务态度恶劣", freqs) == ["'态度恶劣' & '物业' & ('服务')"]
    assert _lookups("物业服务", freqs) == []


def test_a_lone_word_is_looked_up_only_when_rare() -> None:
    assert lookups(["锦涧"], {}, _freqs()) == ["'锦涧'"]
    assert lookups(["路灯"], {}, _freqs(路灯=0.02)) == []


def test_words_reach_the_tsquery_quoted() -> None:
    assert lookups(["a'b", "c\\d"], {}, _freqs()) == ["'a\\'b' & ('c\\\\d')", "'c\\\\d' & ('a\\'b')"]
