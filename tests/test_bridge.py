"""English words of a question to the Chinese words the passages use (CC-CEDICT, offline)."""

from rag.retrieve.bridge import chinese_for
from rag.retrieve.query import key_terms


def flat_idf(term: str) -> float:
    return 1.0


def test_dictionary_glosses_in_any_inflection_and_british_spelling():
    assert "疟疾" in chinese_for("malaria")
    assert "培训" in chinese_for("trained") and "培训" in chinese_for("training")
    assert "国家" in chinese_for("countries")
    assert "许可证" in chinese_for("licences") and chinese_for("licences") == chinese_for("licenses")
    assert "证券交易所" in chinese_for("stock exchange")  # a two-word gloss
    assert all(len(w) >= 2 for w in chinese_for("interest"))  # no 利: one character is too loose
    assert chinese_for("qwzx") == () and chinese_for("") == ()


def test_english_question_is_checked_against_chinese_passages():
    passages = "医疗健康目标：支持减少疟疾和孕产妇死亡率的工作。为公务员提供ai素养培训。"
    q = key_terms("malaria", flat_idf, lambda t: t in passages)
    assert q.terms == ("疟疾",) and q.unknown_share == 0.0
    assert q.coverage("支持减少疟疾的工作") == 1.0 and q.coverage("消除宫颈癌") == 0.0
    # of several glosses, the one the passages use; a word with none stays unmatched
    q = key_terms("What training do malaria nurses get?", flat_idf, lambda t: t in passages)
    assert set(q.terms) == {"培训", "疟疾"} and 0 < q.unknown_share < 1
    assert key_terms("Which article mentions tuberculosis?", flat_idf, lambda t: t in passages).terms == ()


def test_names_are_glossed_by_the_dictionarys_english_names_and_pinyin():
    assert "成都" in chinese_for("chengdu")  # a place: its pinyin is its English name
    assert "大运" in chinese_for("universiade")  # 'World University Games (formerly "Universiade")'
    assert "穆迪" in chinese_for("moody")  # "Moody's, company specializing in ..." ('s cut as a question's is)
    assert "惠誉" in chinese_for("fitch")
    assert chinese_for("lai ching-te") == ("赖清德",)  # "William Lai Ching-te (1959-), ..."
    assert "特朗普" in chinese_for("trump")  # a person by the last words of the name
    # a proper noun's pinyin never joins an English word's glosses
    assert "亚们" not in chinese_for("yamen") and "衙门" in chinese_for("yamen")
