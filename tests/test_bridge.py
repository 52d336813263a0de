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


def test_a_closed_compound_is_glossed_as_the_dictionary_writes_it_open():
    from rag.retrieve.bridge import chinese_for_compound

    # "heatwaves" found nothing where "heat waves" found 热浪: an archive topic hung on a spelling
    assert chinese_for_compound("heatwaves") == chinese_for_compound("heatwave") == chinese_for("heat wave")
    assert chinese_for("heatwaves") == ()  # the bridge itself is unchanged: names_in still reads it as no word
    assert chinese_for_compound("football") == ()  # a word the dictionary has whole is not split
    assert chinese_for_compound("turnout") == () and chinese_for_compound("qwzxqwzx") == ()


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
    from rag.retrieve.bridge import names_in

    def name(word):
        return chinese_for(word, name=True)

    assert "成都" in name("Chengdu")  # a place: its pinyin is its English name
    assert "大运" in name("Universiade")  # 'World University Games (formerly "Universiade")'
    assert name("Moody's") == ("穆迪",) and name("Fitch") == ("惠誉",)  # "Moody's, company ..."
    assert name("Lai Ching-te") == ("赖清德",)  # "William Lai Ching-te (1959-), ..."
    assert "特朗普" in name("Trump") and "将牌" not in name("Trump")  # a person by the last words
    assert name("Anthropic") == chinese_for("Anthropic")  # no name: the plain glosses
    # only for words the asker capitalised: a common word keeps its own glosses
    assert "穆迪" not in chinese_for("moody") and "特朗普" not in chinese_for("trump")
    for word, proper in (("dynasty", "明朝"), ("guiding", "贵定"), ("emperor", "乾隆"), ("yamen", "亚们")):
        assert proper not in chinese_for(word), word
    assert names_in("Any reports on Moody's cutting US bank ratings?") == {"moody", "us"}
    # a sentence's first word is a name when possessive or no English word
    assert names_in("Stopover of Lai Ching-te") == {"lai", "ching-te"}
    assert names_in("Chengdu Universiade news. Typhoon Khanun?") == {"chengdu", "universiade", "khanun"}


def test_an_english_questions_names_are_searched_for_as_the_articles_write_them():
    from rag.retrieve.bridge import chinese_names
    from rag.retrieve.query import condense

    assert chinese_names("What did Lai Ching-te do in New York?") == ["赖清德", "纽约"]
    assert chinese_names("What did Anthropic announce? Typhoon news") == []  # no name the dictionary has
    search = condense("What did Lai Ching-te do in New York?", None, 3)
    assert {"赖清德", "纽约"} <= set(search.lexical_terms) and "new" in search.lexical_terms
    # a Chinese question is searched by its own words only
    assert "纽约" not in condense("赖清德在New York做了什么？", None, 3).lexical_terms


def test_a_name_is_checked_as_the_passages_write_it_even_where_an_english_passage_has_its_words():
    passages = "赖清德“过境”纽约。Tujia New Year is celebrated one day earlier."
    q = key_terms("What did Lai Ching-te do in New York?", flat_idf, lambda t: t in passages.lower())
    assert {"赖清德", "纽约"} <= set(q.terms) and "new" not in q.terms and "york" not in q.terms
    assert q.coverage("Tujia New Year is celebrated one day earlier.") < q.coverage("赖清德“过境”纽约。")


def test_an_english_name_the_dictionary_writes_in_chinese_is_absent_when_no_passage_says_it():
    passages = "Anthropic与英国政府合作。Anthropic在非洲推出学习伙伴。"
    q = key_terms("Does Anthropic work with the French government?", flat_idf, lambda t: t in passages.lower())
    assert q.absent_names == ("法国",) and q.share_of(q.absent_names) > 0
    # said under another of its names, or as the stem of the dictionary's (非洲 of 非洲人): present
    q = key_terms("In how many African countries will it roll out?", flat_idf, lambda t: t in passages.lower())
    assert q.absent_names == ()
    # a common word capitalised ("Series", "CEO") is no name the table has: left to the gate's other signals
    assert key_terms("What was the Series G valuation?", flat_idf, lambda t: t in passages.lower()).absent_names == ()


def test_a_name_is_found_by_its_short_forms_the_dictionary_gives():
    # "US Federal Reserve (Fed)", "BYD Company", "American Federal Reserve"
    assert "美联储" in chinese_for("Fed", name=True) and "美联储" in chinese_for("Federal Reserve", name=True)
    assert chinese_for("BYD", name=True) == ("比亚迪",)
    assert chinese_for("PRC", name=True) == ()  # a region note after a ministry's name is no name of it
    # not initials, not another country's word, not a company word that leaves an English word
    assert chinese_for("Ana", name=True) == () and chinese_for("Dom", name=True) == ()
    assert "国共内战" not in chinese_for("Civil War", name=True)
    assert "夏普" not in chinese_for("Sharp", name=True)
