"""What a question asks for: its key terms with weights, its kind, and follow-up handling."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from rag import tuned
from rag.text import CJK_CHAR, GUESSED_NAME_TAG, normalize, terms

_CJK = CJK_CHAR
# Words that point back at an earlier turn: "这个组织", "它", "they", ...
_DEICTIC = re.compile(
    r"(这个|那个|这家|那家|这项|该|它|他们|她们|它们|其|此|上述|前面|刚才|这些|那些|这位|那位|对方"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b)",
    re.IGNORECASE,
)
_LIST = re.compile(r"(哪些|哪几|哪[一二两三四五六七八九十\d]+[个项家大类方]|有几[个项]|列举|分别|包括什么|\bwhich\b.*\bare\b|\bwhat are\b|\blist\b)", re.I)
_NUMBER = re.compile(r"(多少|几[个年月天项家]|多大|多久|比例|百分之|how (many|much)|what (share|percent))", re.I)
# asks for a sum of money: the answer must name an amount in a currency, not just any number
_MONEY = re.compile(r"(多少钱|多少(美元|英镑|欧元|人民币|资金|经费)|金额|值多少|"
                    r"(花|投|付|捐|融|赚|出资|支付|投资|捐赠|融资)了?多少(?![个名人位家项次年天月周])|"
                    r"how much (money|funding)|how much\b.{0,40}\b(pay|paid|spend|spent|invest|donate|raise|cost|fund)|"
                    r"what (amount|sum))", re.I)
_WHEN = re.compile(r"(何时|什么时候|啥时候|哪一?年|哪一?天|几月|几号|哪个?月|日期|\bwhen\b|what (date|year|month|day))", re.I)


@dataclass(frozen=True)
class QueryTerms:
    """Key terms of a question with weights (IDF times a part-of-speech factor).

    `absent` lists noun and name terms that no retrieved passage mentions ("日本", "CEO",
    "欧元"): a Chinese question about something the evidence never mentions is one the
    answerer must abstain on, however well the rest of the question matches.
    """

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    absent: tuple[str, ...] = ()
    absent_names: tuple[str, ...] = ()  # the subset of `absent` tagged as names (日本, CEO, 欧元)
    borrowed: tuple[str, ...] = ()  # terms a follow-up borrowed from earlier turns
    # weight of what the question asks that no term carries ("为期几年？" is all meaning):
    # it counts in the total, so borrowed words alone cannot make a sentence look complete
    implicit_weight: float = 0.0
    # the attribute the question asks for ("总部在哪里" -> 总部, "什么职务" -> 职务) when no
    # retrieved passage mentions it: typical of a near miss about a real entity
    asked_absent: tuple[str, ...] = ()
    is_list: bool = False
    wants_number: bool = False
    wants_money: bool = False
    wants_date: bool = False
    chinese: bool = True
    unknown_share: float = 0.0  # share of a non-Chinese question's terms the evidence lacks

    @property
    def total(self) -> float:
        return sum(self.weights) + self.implicit_weight

    def own(self) -> QueryTerms:
        """The question's own terms lead: what an answer sentence must address. Borrowed
        terms place a follow-up in its conversation; in sentences they only break ties."""
        if not self.borrowed:
            return self
        borrowed = set(self.borrowed)
        weights = tuple(w * tuned.BORROWED_IN_SENTENCE if t in borrowed else w
                        for t, w in zip(self.terms, self.weights))
        implicit = sum(self.weights) if len(borrowed) == len(self.terms) else 0.0
        return dataclasses.replace(self, weights=weights, borrowed=(), implicit_weight=implicit)

    def share_of(self, words: tuple[str, ...]) -> float:
        """Share of the key-term weight carried by `words`."""
        if not words or not self.total:
            return 0.0
        chosen = set(words)
        return sum(w for t, w in zip(self.terms, self.weights) if t in chosen) / self.total

    def coverage(self, text: str) -> float:
        """Share of the key-term weight that appears in `text` (case- and width-folded)."""
        if not self.terms or not self.total:
            return 0.0
        hay = normalize(text).lower()
        return sum(w for t, w in zip(self.terms, self.weights) if t in hay) / self.total

    def matched(self, text: str) -> set[str]:
        hay = normalize(text).lower()
        return {t for t in self.terms if t in hay}


# jieba part-of-speech tags: names and nouns carry the question; verbs and adjectives less;
# pronouns, adverbs, particles, prepositions, measure words and localisers not at all.
PROPER_NAME_TAGS = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg"})  # jieba: people, places, organisations, other names
# and Latin words, numbers and names jieba's HMM guessed (rag.text.GUESSED_NAME_TAG): what a
# question names
_NAME_TAGS = PROPER_NAME_TAGS | {"eng", "m", GUESSED_NAME_TAG}
_NOUN_TAGS = {"n", "vn", "an", "ng", "nl", "l", "i", "j", "s", "t"}
_DROP_TAGS = {"r", "d", "c", "p", "u", "uj", "ul", "uz", "ud", "ug", "uv", "y", "e", "o", "q",
              "x", "mq", "f", "zg", "df", "dg", "rr", "rz", "k", "h"}
# Nouns that name the shape of an answer, not a fact ("什么程度", "哪方面", "哪些内容"): the
# passages need not use them. A specific attribute ("总部", "价格", "所长") must be there.
_SHAPE_NOUNS = frozenset({"方面", "内容", "程度", "类型", "种类", "情况", "方式", "形式", "样子",
                          "时候", "问题", "东西", "事情"})
# Time words relative to the asker ("现在" where the article says "如今"): phrasing, like verbs
_RELATIVE_TIME = frozenset({"现在", "目前", "如今", "当前", "眼下", "最近", "近来", "以前", "之前",
                            "过去", "将来", "未来", "以后", "今后"})
_WH = re.compile(r"^(什么|哪|多少|几|谁|何|怎样|如何)")
_LATIN_WORD = re.compile(r"[a-z0-9]")


def tagged_tokens(question: str) -> list[tuple[str, str]]:
    """(token, tag) with Latin names kept whole ("example.org", "501(c)(4)")."""
    from rag.text import latin_terms, script_runs, tagged_words_with_names

    out: list[tuple[str, str]] = []
    for chinese, run in script_runs(normalize(question)):
        if chinese:
            out.extend(tagged_words_with_names(run))
        else:
            out.extend((w, "eng") for w in latin_terms(run))
    return out


def _part_in_evidence(term: str, in_evidence) -> bool:
    """A compound noun the passages use a part of ("商业利益" where they say "利益") is the
    asker's wording, not something the passages lack."""
    from rag.text import _jieba

    parts = _jieba().cut_for_search(term, HMM=False)
    return any(len(p) >= 2 and p != term and in_evidence(p) for p in parts)


def _names_as_written(question: str, chosen: dict[str, float], idf, in_evidence) -> None:
    """Replaces, in `chosen`, the words of each name of the question the dictionary has by
    its Chinese name the evidence uses (the most specific one), when it uses one."""
    from rag.retrieve.bridge import name_runs

    if not _CAPITAL.search(question):
        return
    for words, found in name_runs(question):
        present = [z for z in found if in_evidence(z)]
        if present and any(w in chosen for w in words):
            for w in words:
                chosen.pop(w, None)
            zh = max(present, key=idf)
            chosen[zh] = max(idf(zh), chosen.get(zh, 0.0))


def _bridge(tokens: list[tuple[str, str]], unknown: list[str], idf,
            in_evidence, names: set[str]) -> tuple[dict[str, float], set[str]]:
    """Chinese words the passages use for the question's English words ("civil servants" ->
    公务员, "malaria" -> 疟疾): of a word's dictionary glosses, the most specific (highest
    IDF) one the retrieved passages contain. Two-word phrases are looked up first. Returns
    those words with their weights, and the unknown words left without one."""
    from rag.retrieve.bridge import chinese_for

    # `names`: names_in(question), as asked ("Moody's" is 穆迪, "moody" is not): tokens are lower case
    words = [w.lower() for w, tag in tokens if tag == "eng"]
    todo = set(unknown)
    found: dict[str, float] = {}
    for phrase in [(a, b) for a, b in zip(words, words[1:])] + [(w,) for w in words]:
        if not todo.issuperset(phrase):
            continue
        name = all(w in names for w in phrase)
        present = [z for z in chinese_for(" ".join(phrase), name=name) if in_evidence(z)]
        if present:
            zh = max(present, key=idf)
            found[zh] = idf(zh)
            todo.difference_update(phrase)
    return found, todo


def _unsaid_names(unmatched: set[str], asked: set[str], in_evidence) -> list[str]:
    """The Chinese names (the dictionary's first) of the question's capitalised words among
    `unmatched` that the dictionary's table of names has ("French": 法国; not "Series" or
    "CEO", common words capitalised) and no passage says, nor their stem (非洲 of 非洲人 for
    "African"). `asked`: names_in(question)."""
    from rag.retrieve.bridge import name_lookup

    out = []
    for w in sorted(unmatched & asked):
        glosses = name_lookup([w])
        stems = [g[:-1] for g in glosses if len(g) >= 3 and g[-1] in "人语籍的"]
        if glosses and not any(in_evidence(z) for z in (*glosses, *stems)):
            out.append(glosses[0])
    return list(dict.fromkeys(out))


def key_terms(question: str, idf, in_evidence=None, context: str | None = None) -> QueryTerms:
    """`idf(term)` weighs terms; `in_evidence(term)` tells whether the evidence contains it.
    `context` (earlier turns of a follow-up) adds its terms at half weight."""
    chosen: dict[str, float] = {}
    strict: list[str] = []
    names: set[str] = set()
    tokens = tagged_tokens(question)
    answer_type = _answer_type_positions(tokens)
    for i, (word, tag) in enumerate(tokens):
        w = word.lower()
        if i in answer_type:
            # "什么职务": the answer is a 职务, the word itself need not appear
            chosen.setdefault(w, tuned.ANSWER_TYPE_FACTOR * idf(w))
            continue
        if not _is_content(w, tag):
            continue
        if tag == GUESSED_NAME_TAG and in_evidence is not None and not in_evidence(w):
            # a guessed name the passages never write is no sign they lack it: the guess may
            # be wrong, or the passages spell the name otherwise (dev fold of ../shared/qa:
            # counted missing, 21 answerable questions more abstained for 14 unanswerable)
            continue
        if (tag in _NAME_TAGS or tag in _NOUN_TAGS) and w not in _RELATIVE_TIME:
            factor, is_strict = 1.0, True
        else:
            # Verbs and adjectives are often just phrasing: they count only when the
            # evidence uses them ("达到多少" should not sink "年化收入达140亿美元").
            if in_evidence is not None and not in_evidence(w):
                continue
            factor, is_strict = 0.5, False
        if w not in chosen:
            chosen[w] = idf(w) * factor
            if is_strict:
                strict.append(w)
            if tag in _NAME_TAGS and tag != "m":
                names.add(w)
    asked = [tokens[i][0].lower() for i in answer_type | _attribute_before_wh(tokens) | _unit_after_quantity(tokens)]
    asked_absent = tuple(w for w in asked if len(w) > 1 and w not in _SHAPE_NOUNS
                         and in_evidence is not None and not in_evidence(w))
    borrowed: list[str] = []
    if context:
        for w, weight in zip(*_plain_terms(context, idf)):
            if w not in chosen:
                chosen[w] = weight * tuned.CONTEXT_TERM_WEIGHT
                borrowed.append(w)
    chinese = is_chinese(question)
    money = bool(_MONEY.search(question))
    absent: tuple[str, ...] = ()
    unknown_share = 0.0
    if in_evidence is not None and chinese:
        absent = tuple(t for t in strict if not in_evidence(t)
                       and (t in names or not _part_in_evidence(t, in_evidence)))
    elif in_evidence is not None and chosen:
        # A name is checked as the passages write it, even where an English passage has its
        # words: "New York" is 纽约, and "new" in "Tujia New Year" is not it
        _names_as_written(question, chosen, idf, in_evidence)
        # A question in another language than the corpus: words the corpus never uses
        # cannot be checked, so they are left out of coverage and counted instead.
        unknown = [t for t in chosen if not in_evidence(t)]
        from rag.retrieve.bridge import names_in

        capitalised = names_in(question)  # the words the asker capitalised, read once for both
        bridged, unmatched = _bridge(tokens, unknown, idf, in_evidence, capitalised)
        unknown_share = len(unmatched) / len(chosen)
        for t in unknown:
            del chosen[t]
        for zh, weight in bridged.items():
            chosen[zh] = max(weight, chosen.get(zh, 0.0))
        # a name the asker wrote ("French", "Moody's") that the dictionary writes in Chinese
        # and no retrieved passage says, under either name: absent, as a Chinese name would be
        missing = _unsaid_names(unmatched, capitalised, in_evidence)
        for zh in missing:
            chosen[zh] = idf(zh)
            names.add(zh)
        absent = tuple(missing)
    return QueryTerms(
        terms=tuple(chosen),
        weights=tuple(chosen.values()),
        absent=absent,
        absent_names=tuple(t for t in absent if t in names),
        borrowed=tuple(t for t in borrowed if t in chosen),
        asked_absent=asked_absent if chinese else (),
        is_list=bool(_LIST.search(question)),
        wants_number=money or bool(_NUMBER.search(question)),
        wants_money=money,
        wants_date=bool(_WHEN.search(question)),
        chinese=chinese,
        unknown_share=unknown_share,
    )




def _answer_type_positions(tokens: list[tuple[str, str]]) -> set[int]:
    """Index of the head noun of the noun phrase after each question word: the last common
    noun ("哪个英国政府部门" -> 政府部门), else the last name-tagged word, since jieba tags
    some plain nouns as names ("哪个城市" -> 城市/ns)."""
    found = set()
    for i, (word, _) in enumerate(tokens):
        if not _WH.match(word):
            continue
        # After "多少"/"几" a name ("多少欧元") is content the evidence must mention.
        quantity = word.startswith(("多少", "几"))
        last = last_name = None
        for j in range(i + 1, len(tokens)):
            tag = tokens[j][1]
            if last is None:
                if tag in PROPER_NAME_TAGS:
                    last_name = j
                    continue
                if tag in ("q", "m", "mq", "uj", "x", "a", "eng") or (
                    len(tokens[j][0]) == 1 and tag != "n"
                ):
                    continue  # "多少个", "哪 三 大", "什么的", "哪所"
                if tag in ("n", "ng", "nl"):
                    last = j
                    continue
                break
            if tag in ("n", "ng", "nl"):
                last = j
            else:
                break
        if last is not None:
            found.add(last)
        elif last_name is not None and not quantity:
            found.add(last_name)
    return found


_COPULA = {"是", "在", "有", "为", "叫", "是不是"}


def _attribute_before_wh(tokens: list[tuple[str, str]]) -> set[int]:
    """"X是谁 / X在哪里 / X有多少 / X是多少": the noun X right before the question word."""
    found = set()
    for i, (word, _) in enumerate(tokens):
        if not _WH.match(word) or i == 0:
            continue
        j = i - 1
        if tokens[j][0] in _COPULA and j > 0:
            j -= 1
        if tokens[j][1] in ("n", "ng", "nl", "vn"):
            found.add(j)
    return found


def _unit_after_quantity(tokens: list[tuple[str, str]]) -> set[int]:
    """"多少欧元 / 几个办公室": the unit counted is what the answer must be stated in."""
    found = set()
    for i, (word, _) in enumerate(tokens[:-1]):
        if word.startswith(("多少", "几")):
            j = i + 1
            if tokens[j][1] in ("q", "m", "mq") and j + 1 < len(tokens):
                j += 1  # "几个办公室"
            if tokens[j][1] in _NAME_TAGS | _NOUN_TAGS and tokens[j][1] not in ("m", "eng"):
                found.add(j)
    return found


def _is_content(word: str, tag: str) -> bool:
    """Not a question word, function word, stopword or lone Chinese character."""
    from rag.text import STOPWORDS

    if _WH.match(word) or tag in _DROP_TAGS or word in STOPWORDS or not word.strip():
        return False
    return len(word) > 1 or bool(_LATIN_WORD.match(word))


def _plain_terms(text: str, idf) -> tuple[list[str], list[float]]:
    words = list(dict.fromkeys(w.lower() for w, tag in tagged_tokens(text) if _is_content(w.lower(), tag)))
    return words, [idf(w) for w in words]


# A determiner or pronoun that points at one thing ("这个公司", "该组织", "它", "this company").
_POINTER = re.compile(
    r"(这个|那个|这家|那家|这位|那位|这项|那项|该|它|他|她|此人|对方"
    r"|\b(it|its|this (company|organi[sz]ation|person|partnership|deal|agreement)|he|she|they)\b)",
    re.IGNORECASE,
)
_COLLECTION_WORDS = re.compile(r"(这些|那些|这篇|那篇|这几篇|该篇|这份|本文|文章|资料|报道|新闻|articles?)", re.I)


def points_at_nothing(question: str) -> bool:
    """The question points at one particular thing without naming anything: asked with no
    conversation before it, "这个公司的创始人是谁？" has no answer to give, only a guess.
    Questions about the articles themselves ("这些文章…") are not pointers."""
    pointer = _POINTER.search(question)
    if not pointer or pointer.start() > 0 or _COLLECTION_WORDS.search(question):
        return False  # "…不再使用它": a pointer after its own antecedent is resolved in place
    return not any(tag in _NAME_TAGS and tag != "m" for _, tag in tagged_tokens(question))


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class SearchQuery:
    """The question as retrieval sees it. For a follow-up, the earlier user turns add their
    terms once while the question's own terms count twice, so the new question still leads;
    `subject` is what the conversation is about: the text of the latest answer, whose
    article retrieval prefers when the question only points back at it."""

    question: str
    text: str  # for the dense retriever
    lexical_terms: tuple[str, ...]
    is_followup: bool
    context: str = ""  # the earlier user turns a follow-up borrows from
    subject: str = ""  # the latest non-abstaining assistant answer, markers removed
    in_conversation: bool = False  # earlier user turns exist (a pointer may refer to them)


_MARKERS = re.compile(r"\[\d{1,3}\]")
_CAPITAL = re.compile(r"[A-Z]")


def _chinese_name_terms(text: str) -> list[str]:
    """The search terms of the names a text not in Chinese writes, as the Chinese articles
    write them ("Lai Ching-te in New York": 赖清德, 纽约); none for a Chinese text."""
    if is_chinese(text) or not _CAPITAL.search(text):
        return []
    from rag.retrieve.bridge import chinese_names

    return [t for name in chinese_names(text) for t in terms(name)]


def condense(question: str, history: list[dict] | None, max_turns: int,
             abstain_messages: tuple[str, ...] = ()) -> SearchQuery:
    own = terms(question) + _chinese_name_terms(question)
    turns = [m for m in (history or []) if isinstance(m.get("content"), str) and m["content"].strip()]
    earlier = [m["content"] for m in turns if m.get("role") == "user"][-max_turns:] if max_turns else []
    content_terms = [t for t in own if not (len(t) == 1 and _CJK.match(t))]
    followup = bool(earlier) and (bool(_DEICTIC.search(question)) or len(set(content_terms)) <= 2)
    if not followup:
        return SearchQuery(question, question, tuple(own), False, in_conversation=bool(earlier))
    answers = [m["content"] for m in turns if m.get("role") == "assistant"
               and m["content"].strip() not in abstain_messages]
    subject = _MARKERS.sub("", answers[-1]) if answers else ""
    # the latest turn counts most: it is what "那…呢？" continues
    carried = [t for i, e in enumerate(earlier) for t in terms(e) * (2 if i == len(earlier) - 1 else 1)]
    # an earlier turn in English names its subject as the Chinese articles write it too
    # ("Tell me about the Hawaii wildfire." then "How many people died?": 夏威夷)
    carried += [t for e in earlier for t in _chinese_name_terms(e)]
    return SearchQuery(question, " ".join([*earlier, question]), tuple(own + own + carried), True,
                       " ".join(earlier), subject, True)
