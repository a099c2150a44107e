"""A complaint's terms (services/metrics/hotspots/terms.py): the register's
and the taxonomy's names stay whole words, stopwords go, places are counted
under one normal form."""

from __future__ import annotations

import subprocess
import sys

from tousu.services.metrics.hotspots.terms import (
    MAX_TERMS,
    Segmenter,
    Stopwords,
    dictionary_words,
    load_stopwords,
    location_key,
    segmenter,
    without_place,
)
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.taxonomy import Taxonomy


def test_register_and_taxonomy_names_are_whole_words() -> None:
    words = dictionary_words(CommitmentRegister.load(), Taxonomy.load())
    # A service item's name, a subcategory's name, a keyword; 以权谋私/收受贿赂 split.
    assert {"户籍办理", "服务态度", "吃拿卡要", "以权谋私", "收受贿赂"} <= set(words)
    assert all(len(w) >= 2 for w in words)
    terms = segmenter().terms("户籍办理窗口的工作人员服务态度恶劣，吃拿卡要")
    assert "户籍办理" in terms and "服务态度" in terms and "吃拿卡要" in terms
    # jieba alone cuts the item's name in two.
    plain = Segmenter([], Stopwords(version=1, tags=frozenset()))
    assert "户籍办理" not in plain.terms("户籍办理窗口")


def test_stopwords_numbers_and_empty_single_characters_are_left_out() -> None:
    terms = segmenter().terms(
        "投诉：我反映的问题一直没有解决，3月12日至今已经3次了，希望相关部门尽快处理",
        "小区门口停水，水质浑浊",
    )
    for dropped in ("投诉", "反映", "问题", "解决", "希望", "相关部门", "尽快", "处理", "门口"):
        assert dropped not in terms
    assert not {"3", "3月", "12日", "的", "了"} & set(terms)
    assert {"小区", "停水", "水质", "浑浊"} <= set(terms)
    assert len(terms) == len(set(terms))


def test_a_meaningful_single_character_stays() -> None:
    stop = load_stopwords()
    assert "水" in stop.single_characters
    assert "水" in Segmenter([], stop).terms("没 水")


def test_terms_are_capped_and_english_is_cut_by_words() -> None:
    long = "，".join(f"词{i:03d}甲乙" for i in range(200))
    assert len(segmenter().terms(long)) <= MAX_TERMS
    assert segmenter().terms("The bus driver was rude to me, bus 12 late") == [
        "bus",
        "driver",
        "rude",
        "late",
    ]


def test_a_place_written_two_ways_is_one_key() -> None:
    assert location_key("  幸福路３２号　 东门 ") == location_key("幸福路32号 东门")
    assert location_key("幸福路32号 东门") == "幸福路32号 东门"
    assert location_key("   ") is None and location_key(None) is None
    assert len(location_key("路" * 500) or "") == 200


def test_the_words_of_the_place_are_not_terms() -> None:
    place = location_key("幸福路32号")
    terms = segmenter().terms("幸福路32号门前路灯不亮")
    assert "幸福" in terms
    assert without_place(terms, place) == [t for t in terms if t != "幸福"]
    assert "路灯" in without_place(terms, place)
    assert without_place(terms, None) == terms


def test_the_segmenter_loads_only_when_first_used() -> None:
    """Importing rjieba loads its dictionary (0.2 s); the gateway and every
    CLI command import the projections without ever segmenting."""
    code = (
        "import sys, tousu.cli as cli; cli._load_commands(); "
        "import tousu.services.gateway.app; "
        "sys.exit('rjieba' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
