"""The collection seen whole, at any size: its date span, every article's text and profile
vector in one place (`ArchiveView`, built once per index and swapped with it), and the
articles on a topic within the question's dates (`on_topic`), found by scanning every
admitted article rather than by the top passages retrieval returns, so "8月关于台风的报道有
哪些" lists and counts all of them in an archive of 10,000.

An article is on a topic by a logistic model (`on_topic`, Tuning.topic_weights) over what it
shows of each of the topic's words, or a word standing for it (`topic_groups`: a typhoon's
name for 台风, the archive's Chinese word for an English one): named in its title or summary,
said twice or once, how often, and how near its meaning is: a passing mention is not a report. Which words stand for a topic is learned from the archive itself (companions) and
a dictionary (rag.retrieve.bridge), checked by the embedding model.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import numpy as np

from rag.index.catalog import profile_text
from rag.index.sentences import embed_text
from rag.retrieve.bridge import _without_possessive, longest_runs, name_lookup, names_in
from rag.text import terms
from rag.tuned import TOPIC_FEATURES
from rag.types import ArticleRecord


class ArchiveView:
    """Every article of one index: its record, its searchable text (title, summary, body;
    normalised, lower case) and its unit profile vector."""

    def __init__(self, records: list[ArticleRecord], texts: list[str], heads: list[str],
                 profiles: np.ndarray | None, sentences=None, sentence_rows: list[np.ndarray] | None = None,
                 titles: list[str] | None = None, head_terms: Callable[[int], list[str]] | None = None):
        self.records = records
        # title and original title: where a report says what it is about (its summary may name
        # in passing what the report only lists: 冰雹 in a weather forecast); the heads if none
        self.titles = titles if titles is not None else heads
        self.sentences = sentences  # the index's SentenceIndex (rag.index.sentences), or None
        self.sentence_rows = sentence_rows or []  # per article: the rows of its sentences' vectors
        self.texts = texts
        self.heads = heads  # title, original title and summary: where a report names its subject
        self.profiles = profiles
        self.position = {r.id: i for i, r in enumerate(records)}
        self.companions: dict[str, list[str]] = {}  # companions(), per topic word
        self.head_terms = head_terms  # per position, terms of the head (saved at ingest); None: cut them
        self._head_words: dict[int, list[str]] = {}
        self.beside: dict[str, list[str]] = {}  # _written_beside(), per English word

    @classmethod
    def build(cls, lexical, semantics=None, embedder=None) -> ArchiveView:
        records = list(lexical.articles)
        scanned = lexical.scan_texts()  # saved at ingest: making them here took over a second
        titles = [s.titles for s in scanned]
        heads = [s.head for s in scanned]
        texts = [s.text for s in scanned]
        index = semantics.sentences if semantics is not None else None
        rows: list[np.ndarray] = []
        if index is not None:
            per_article: dict[str, list[np.ndarray]] = {}
            for c in lexical.chunks:
                per_article.setdefault(c.article_id, []).append(index.chunk_rows(c))
            empty = np.zeros(0, dtype=np.int64)
            rows = [np.concatenate(per_article[r.id]) if r.id in per_article else empty for r in records]
        profiles = profile_vectors(records, semantics, embedder.embed_documents) if embedder is not None else None
        return cls(records, texts, heads, profiles, index, rows, titles, lexical.head_terms)

    def head_words(self, position: int) -> list[str]:
        """topic_words of the head of the article at `position`."""
        words = self._head_words.get(position)
        if words is None:
            words = self._head_words[position] = (
                key_words(self.head_terms(position)) if self.head_terms is not None
                else topic_words(self.heads[position]))
        return words


def profile_vectors(records: list[ArticleRecord], semantics, embed_documents) -> np.ndarray | None:
    """Unit profile vectors of `records`, in order: those ingest stored beside the sentence
    vectors, any missing (an index made before them) embedded by `embed_documents`. None for
    no records."""
    if not records:
        return None
    index = semantics.sentences if semantics is not None else None
    texts = [embed_text(profile_text(r)) for r in records]  # as ingest embeds them
    # one gather for the stored rows: a lookup per record (cleaning each text twice) took
    # 0.33 s of a cold archive question at 10,000 articles
    rows = index.rows_of(texts) if index is not None else [None] * len(texts)
    known = [r for r in rows if r is not None]
    stored = iter(index.row_vectors(known)) if index is not None and known else iter(())
    missing = [t for t, r in zip(texts, rows) if r is None]
    fresh = iter(embed_documents(missing)) if missing else iter(())
    vs = np.asarray([next(stored) if r is not None else next(fresh) for r in rows], dtype=np.float32)
    return vs / np.maximum(np.linalg.norm(vs, axis=1, keepdims=True), 1e-12)


_LOCK = threading.Lock()


def archive_view(pipeline) -> ArchiveView:
    """The pipeline's view of its current index, built on first use and again after a reload."""
    lexical = pipeline.lexical
    held = getattr(pipeline, "_archive_view", None)
    if held is not None and held[0] is lexical:
        return held[1]
    with _LOCK:
        held = getattr(pipeline, "_archive_view", None)
        if held is not None and held[0] is lexical:
            return held[1]
        view = ArchiveView.build(lexical, getattr(pipeline, "semantics", None), pipeline.retriever.embedder)
        pipeline._archive_view = (lexical, view)
        return view


# Words of how a question is put, not what it is about ("瓦格纳集团有什么动向" is about 瓦格纳集团):
# left out of a topic. Tested in tests/test_archive.py.
PHRASING_WORDS = frozenset(
    "相关 有关 动向 进展 活动 方面 消息 情况 怎么样 怎样 如何 那次 那场 那起 那个 这家 这次 那些 这些 一共 总共 资料库 "
    "几天 前后 之间 期间 哪里 有没有 大概 主要 报道 新闻 文章 事情 事件 "
    "any anything about reported report reports coverage covered news articles article stories story archive "
    "between during what which there were was is are the of in on and to so-called".split())


# a date left in the topic (七八月份, 那两天, 27号) or a pointer (那起, 这边, 哪里): not a subject
_DATE_OR_POINTER = re.compile(r"(^\d+(\.\d+)?$|^[那这哪]|[月日号天]份?$|^[一二三四五六七八九十两]+[月日号天]|^[一二三四五六七八九十两]+$)")


def topic_words(topic: str) -> list[str]:
    """The topic's key words: jieba words of two or more characters and Latin words, without
    the parts jieba's search mode also gives (人民币汇率 -> 人民币, 汇率; not 人民), numbers
    (dates are the filter) or PHRASING_WORDS."""
    return key_words(terms(topic))


def key_words(found: list[str]) -> list[str]:
    """topic_words of a text whose terms (rag.text.terms) are `found`."""
    words = list(dict.fromkeys(t for t in found if (len(t) > 1 or (t.isascii() and len(t) > 2))
                               and t not in PHRASING_WORDS and not _DATE_OR_POINTER.search(t)))
    return outermost(words)


def outermost(words: list[str]) -> list[str]:
    """The distinct `words` not inside another of them (人民币 goes beside 人民币汇率). A word
    inside another occurs twice in them all joined: one count in C, not a test of every pair
    (60 words a summary made that 0.85 ms an article, 8.5 s over a 10,000-article archive)."""
    joined = "\0".join(words)
    return [w for w in words if joined.count(w) < 2]


def companions(view: ArchiveView, word: str, tuning) -> list[str]:
    """Words that stand for `word` in this archive: named beside it in the titles and
    summaries of at least `Tuning.companion_min_share` of the articles that name it there
    (and `companion_min_articles`), and nearly all of whose articles (`companion_share`) say
    `word` too: a typhoon's name (杜苏芮) for 台风. A report that names only its typhoon is
    then a typhoon report; 卡努 is not one while 卡努汽车 is news too."""
    from collections import Counter

    cached = view.companions.get(word)
    if cached is not None:
        return cached
    named = [p for p, h in enumerate(view.heads) if word in h]
    # topic_words is each word once, in order: a set here ordered ties by the process's string
    # hash, so the candidates cut at companion_candidates changed from run to run
    counts = Counter(t for p in named for t in view.head_words(p) if word not in t and not t.isascii())
    least = max(tuning.companion_min_articles, tuning.companion_min_share * len(named))
    out = []
    share = tuning.companion_share
    with_word: list[str] | None = None
    without_word: list[str] | None = None
    for term, n in counts.most_common(tuning.companion_candidates):
        if n < least:
            break
        if with_word is None or without_word is None:
            with_word, without_word = [], []
            for t in view.texts:
                (with_word if word in t else without_word).append(t)
        # at least `share` of the articles that say `term` say `word` too: counted inside
        # first, then outside until the share fails (most candidates fail after a few
        # articles; scanning every text for each of 20 candidates took 0.2-0.3 s)
        inside = sum(1 for t in with_word if term in t)
        outside = 0
        for t in without_word:
            if term in t:
                outside += 1
                if inside < share * (inside + outside):
                    break
        if inside >= share * (inside + outside):
            out.append(term)
    view.companions[word] = out
    return out


def _named_kind_alone(groups: list[list[str]]) -> list[list[str]]:
    """A topic that names one of a word's stand-ins beside it (「卡努台风」: 卡努 is one of
    台风's companions) asks for that one: the word keeps no other stand-in, so a report on
    another typhoon (杜苏芮) is not on it, while a report on 卡努 still says 台风 (nearly every
    one does: that is what made it a companion) and 卡努汽车 does not."""
    heads = {g[0] for g in groups}
    return [[g[0]] if heads & set(g[1:]) else g for g in groups]


def topic_groups(view: ArchiveView, topic: str, tuning, embedder=None) -> list[list[str]]:
    """The topic as groups of words, each group one of its words with the words that stand
    for it here: an article on the topic has a word of every group. A Chinese word brings its
    companions; an English word or phrase no title uses brings the Chinese words a
    dictionary glosses it with (rag.retrieve.bridge) that the archive uses, the ones the
    embedding model puts nearest it ("typhoon" -> 台风; "flood" -> 洪水, 洪涝, not 刷屏)."""
    whole = _whole_names(view, topic)
    # a jieba word across the cut of a whole name (大都 of 恒大都) is not a word of the topic
    pieces = [w for w in (_as_written(view, w) for w in topic_words(topic))
              if not any(w in run and w not in name for name, run in whole)]
    words = [name for name, _ in whole] + pieces
    words = outermost(list(dict.fromkeys(words)))
    latin = [w for w in words if w.isascii()]
    groups = _named_kind_alone([[w, *companions(view, w, tuning)] for w in words if not w.isascii()])
    least = tuning.companion_min_articles  # titles that use a Latin word for it to be the archive's own
    if not latin or all(sum(w in h for h in view.heads) >= least for w in latin):
        return groups + [_written_beside(view, w, embedder, tuning) or [w] for w in latin]
    # the longest runs of the English words a dictionary glosses first: "Lai Ching-te",
    # "stock exchange", then word by word
    named = _names_in_topic(topic)  # as the asker capitalised them
    glossed: list[tuple[list[str], bool]] = []  # (Chinese words, from a name)

    def gloss(run: list[str]) -> tuple[list[str], bool] | None:
        is_name = all(w in named for w in run)
        g = _glossed(view, " ".join(run), embedder, tuning, name=is_name)
        return (g, is_name) if g else None

    runs: list[tuple[list[str], bool]] = []  # per glossed entry: its English words, a name's own
    for run, found in longest_runs(latin, gloss):
        word = run[0]
        if found:
            glossed.append(found)
            runs.append((run, bool(name_lookup(run))))
        elif beside := _written_beside(view, word, embedder, tuning):
            glossed.append((beside, True))
            runs.append((run, True))
        elif sum(word in h for h in view.heads) >= least:
            groups.append([word])
        # else: a word the archive never writes and no dictionary glosses: not matched by
        # words; the meaning carries it
    glossed = _without_literal_names(view, topic, glossed, runs, least)
    # A name is the topic's anchor and keeps every spelling the archive uses (特朗普, 川普); a
    # common word's gloss keeps the senses said beside the topic's other words, or goes
    # ("Lai Ching-te stopover": 停靠站 goes)
    kept_glosses: list[list[str]] = []
    for g, is_name in glossed:
        others = groups + [o for o, _ in glossed if o is not g]
        kept = g if is_name or not others else _senses_for(view, g, others)
        if kept:
            kept_glosses.append(kept)
    return groups + [k + companions(view, k[0], tuning) for k in kept_glosses]


def _names_in_topic(topic: str) -> set[str]:
    """names_in, with the topic's first word a name too when the dictionary's table of names
    has it: a topic is cut from a question and starts no sentence ("Trump" of "How many
    stories about Trump were there?"), though not a month or a weekday ("May")."""
    named = names_in(topic)
    first = re.match(r"\W*([A-Z][A-Za-z'’.\-]*)", topic)
    if first:
        word = _without_possessive(first.group(1)).lower()
        if word not in _CALENDAR_WORDS and name_lookup([word]):
            named.add(word)
    return named


_CAPITALISED_RUN = re.compile(r"[A-Z][\w'’.\-]*(?:\s+[A-Z][\w'’.\-]*)*")


def _without_literal_names(view: ArchiveView, topic: str, glossed: list[tuple[list[str], bool]],
                           runs: list[tuple[list[str], bool]], least: int) -> list[tuple[list[str], bool]]:
    """A name of capitalised words glossed word by word ("Country Garden": 国家, 花园; "World
    Aquatics Championships Fukuoka": 世界, 水上, 锦标赛 beside 福冈) is not how the archive
    writes it when its glosses are named together in fewer than `least` titles and summaries
    (碧桂园, 游泳世锦赛): those words' glosses go, and the meaning carries the name, beside
    what of it is a name the dictionary or the archive has (福冈, 瓦格纳 of "Wagner Group")."""
    drop: set[int] = set()
    for phrase in _CAPITALISED_RUN.findall(topic):
        words = {w.lower().removesuffix("'s").removesuffix("’s") for w in phrase.split()}
        inside = [i for i, (run, _) in enumerate(runs) if set(run) <= words]
        literal = [i for i in inside if not runs[i][1]]
        if len(inside) < 2 or not literal:
            continue
        together = sum(all(any(z in h for z in glossed[i][0]) for i in inside) for h in view.heads)
        if together < least:
            drop.update(literal)
    return [g for i, g in enumerate(glossed) if i not in drop]


def _written_beside(view: ArchiveView, word: str, embedder, tuning) -> list[str]:
    """The archive's own Chinese name for an English word no dictionary glosses: where a report
    writes the word, it writes its Chinese name beside it (台风“卡努”（Khanun）). Of the Chinese
    words most common in the titles and summaries of the articles saying `word`, the one the
    embedding model puts nearest it, when it stands out from the next by `Tuning.name_margin`
    and is in nearly all of them (`Tuning.companion_share`): 卡努 for Khanun; none for CPI,
    whose nearest, 数据, is as near as 标题, nor for iPhone, whose 苹果 is in half. The word
    itself stays in the group."""
    if embedder is None:
        return []
    cached = view.beside.get(word)
    if cached is None:
        cached = view.beside[word] = _find_written_beside(view, word, embedder, tuning)
    return cached


def _find_written_beside(view: ArchiveView, word: str, embedder, tuning) -> list[str]:
    from collections import Counter

    as_word = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")  # not "art" in "start"
    saying = [p for p, t in enumerate(view.texts) if word in t and as_word.search(t)]
    if not saying or len(saying) > tuning.name_beside_max_articles:
        return []  # a word many reports write is the archive's own word (CPI, AI)
    counts = Counter(t for p in saying for t in view.head_words(p) if not t.isascii())  # in order (companions)
    if len(counts) < 2 or counts.most_common(1)[0][1] < tuning.companion_share * len(saying):
        return []  # no word in nearly all of them (and nothing to embed)
    # the most common words only: a name said in hundreds of reports has thousands of title
    # words, each an embedding to compute
    ranked = _nearest(embedder, word, [t for t, _ in counts.most_common(tuning.companion_candidates)])
    if len(ranked) < 2 or ranked[0][1] - ranked[1][1] < tuning.name_margin or counts[ranked[0][0]] < tuning.companion_share * len(saying):
        return []
    return [ranked[0][0], word]


def _senses_for(view: ArchiveView, gloss: list[str], others: list[list[str]]) -> list[str]:
    """A dictionary's senses of a word are not all this topic's: of the gloss's words, those
    some article says beside the most of the topic's other groups ("ratings" beside 穆迪,
    美国, 银行 is 评级, not 收视率); none when no article says any of them beside another group
    ("stopover" beside 赖清德: the archive writes 过境)."""
    def beside(z: str) -> int:
        return max((sum(any(x in t for x in o) for o in others) for t in view.texts if z in t), default=0)

    counts = {z: beside(z) for z in gloss}
    best = max(counts.values())
    return [z for z in gloss if counts[z] == best] if best else []


_TRAILING_FUNCTION = re.compile(r"[都也的了呢吗吧呀啊么又还]+$")


def _whole_names(view: ArchiveView, topic: str) -> list[tuple[str, str]]:
    """(name, run) for Chinese runs of the topic that titles use whole once a trailing function
    character is cut ("恒大都" -> 恒大, which jieba splits as 恒 / 大都): kept as one word."""
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]{2,}", topic):
        name = _TRAILING_FUNCTION.sub("", run)
        if name != run and len(name) >= 2 and sum(name in h for h in view.heads) >= 3:
            out.append((name, run))
    return out


def _as_written(view: ArchiveView, word: str) -> str:
    """A Chinese word as the archive writes it: jieba joins a function character to a name now
    and then (恒大都 in "恒大都有哪些新闻"); a word no article has, whose part without its
    first or last character articles have, is that part."""
    if word.isascii() or len(word) < 3 or any(word in t for t in view.texts):
        return word
    for part in (word[:-1], word[1:]):
        if any(part in t for t in view.texts):
            return part
    return word


# Glosses that never stand for a topic: "US" is looked up as "us" (我们) beside 美国
_PRONOUNS = frozenset("我 你 他 她 它 我们 你们 他们 她们 它们 咱们 自己 大家 这个 那个 这些 那些".split())


def _glossed(view: ArchiveView, english: str, embedder, tuning, name: bool = False) -> list[str]:
    from rag.retrieve.bridge import chinese_for, chinese_for_compound

    glosses = chinese_for(english, name=name) or chinese_for_compound(english)  # "heatwaves": heat wave
    used = [z for z in glosses if z not in _PRONOUNS and any(z in h for h in view.heads)]
    if len(used) <= 1 or embedder is None:
        return used
    ranked = _nearest(embedder, english, used)
    return [z for z, s in ranked if s >= ranked[0][1] - tuning.gloss_within]


def _nearest(embedder, word: str, candidates: list[str]) -> list[tuple[str, float]]:
    """(candidate, cosine to `word`), nearest first, both embedded as queries."""
    q = np.asarray(embedder.embed_query(word), dtype=np.float32)
    vs = np.asarray([embedder.embed_query(z) for z in candidates], dtype=np.float32)
    sims = (vs / np.linalg.norm(vs, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    return sorted(zip(candidates, sims.tolist()), key=lambda zs: -zs[1])


def topic_features(view: ArchiveView, records: list[ArticleRecord], groups: list[list[str]], idf=None,
                   query_vector=None) -> np.ndarray:
    """One row of TOPIC_FEATURES per article of `records`."""
    out = np.zeros((len(records), len(TOPIC_FEATURES)), dtype=np.float32)
    if not records:
        return out
    positions = np.fromiter((view.position[r.id] for r in records), dtype=np.int64, count=len(records))
    if groups:
        weights = np.asarray([idf(g[0]) if idf is not None else 1.0 for g in groups], dtype=np.float32)
        weights = weights / max(float(weights.sum()), 1e-12)
        # the words found, per article and group, in plain Python; the weighted sums after, in
        # one product (small arrays per article took 0.1 s of a 5,000-article window)
        found = np.zeros((len(records), 5, len(groups)), dtype=np.float32)
        counts = np.zeros((len(records), len(groups)), dtype=np.float32)
        for row, p in enumerate(positions.tolist()):
            head, text, title = view.heads[p], view.texts[p], view.titles[p]
            opening = text[len(head) + 1 : len(head) + 1 + _OPENING_CHARS]
            said = [max(text.count(x) for x in g) for g in groups]
            found[row] = (
                [any(x in head for x in g) for g in groups],
                [n >= 2 for n in said],
                [n >= 1 for n in said],
                [any(x in opening for x in g) for g in groups],
                [any(x in title for x in g) for g in groups],
            )
            counts[row] = said
        out[:, 3] = np.log1p(counts).sum(axis=1)
        weighted = found @ weights
        out[:, 0], out[:, 1], out[:, 2], out[:, 6], out[:, 8] = weighted.T
    if query_vector is None:
        return out
    q = np.asarray(query_vector, dtype=np.float32)
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    if view.profiles is not None:
        profiles = view.profiles[positions]
        out[:, 4] = _standard(profiles @ q)
        out[:, 7] = _standard(profiles @ _feedback_centre(profiles, out))
    if view.sentences is not None and view.sentence_rows:
        out[:, 5] = _standard(best_sentence_similarity(view, positions, q))
    return out


_OPENING_CHARS = 200  # the body's opening, where a report names its subject
_SEEDS = 5  # articles the topic is learned from in the archive's own words


def _feedback_centre(profiles: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The mean profile of the window's articles surest to be on the topic by their words
    (named in the title or summary and the opening, said most): what the topic looks like in
    this archive, so a report that names it otherwise (李铁 for 国足前主教练) is near it."""
    sure = x[:, 0] + x[:, 6] + x[:, 1] + 0.1 * x[:, 3]
    if not sure.any():  # no word of the topic is matched (an English name the archive writes in
        sure = np.maximum(x[:, 5], 0)  # Chinese): the articles whose sentences are nearest it
    seeds = np.argsort(-sure, kind="stable")[:_SEEDS]
    seeds = seeds[sure[seeds] > 0]
    if not len(seeds):
        return np.zeros(profiles.shape[1], dtype=np.float32)
    centre = profiles[seeds].mean(axis=0)
    return centre / max(float(np.linalg.norm(centre)), 1e-12)


def _standard(x: np.ndarray) -> np.ndarray:
    """How far each value stands above the window's typical article, in robust standard
    deviations (median and median absolute deviation): a topic common in its window (the
    typhoon in its week) does not move the baseline it is measured against."""
    median = float(np.median(x))
    spread = 1.4826 * float(np.median(np.abs(x - median)))
    # capped: where nearly every article is alike (a tiny spread) a z of 40 says nothing more
    return np.clip((x - median) / max(spread, 1e-6), -_Z_CAP, _Z_CAP)


_Z_CAP = 8.0


def best_sentence_similarity(view: ArchiveView, positions: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per article: the cosine of its sentence nearest the unit vector `q` (0 for none). The
    window's rows are read from the memory-mapped index in one gather."""
    parts = [view.sentence_rows[p] for p in positions]
    sizes = np.fromiter((len(x) for x in parts), dtype=np.int64, count=len(parts))
    best = np.zeros(len(parts), dtype=np.float32)
    if not sizes.sum():
        return best
    rows = np.concatenate(parts)
    order = np.argsort(rows, kind="stable")  # a memory map is read fastest in order
    sims = np.empty(len(rows), dtype=np.float32)
    sims[order] = view.sentences.row_vectors(rows[order]) @ q
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    has = sizes > 0
    best[has] = np.maximum.reduceat(sims, starts[has])
    return best


def named_groups(topic: str, groups: list[list[str]]) -> tuple[int, ...]:
    """The groups that stand for a name the asker wrote in English and the dictionary's table
    of names writes in Chinese ("Moody's": 穆迪, "Lai Ching-te": 赖清德): a report that never
    says it is about something else (Fitch's downgrade of US banks is no report on Moody's)."""
    from rag.retrieve.bridge import name_runs

    names = {z for words, found in name_runs(topic) if not set(words) & _CALENDAR_WORDS for z in found}
    return tuple(i for i, g in enumerate(groups) if names & set(g))


# capitalised, and in the table of names (July: 七月), but a date is the filter, not the topic
_CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split())


def on_topic(view: ArchiveView, records: list[ArticleRecord], groups: list[list[str]], tuning,
             idf=None, query_vector=None, by_meaning: bool = False,
             required: tuple[int, ...] = ()) -> list[ArticleRecord]:
    """The articles of `records` on the topic `groups` (topic_groups) describe, in the order
    given: those the topic model (a logistic model over TOPIC_FEATURES, fitted on labelled
    archive questions: Tuning.topic_weights) puts at even odds or better. Words weigh most; the
    meaning (the profile's cosine to the topic) lets in a report in other words than the
    question's (李铁 for "国足前主教练") and keeps out one that only mentions them. With no
    word to match (`groups` empty), only `by_meaning` lets the meaning features decide alone:
    for a topic whose words the archive writes otherwise (an English name), not for one that
    had no words at all. The `required` groups (named_groups) must each be said."""
    if not records or not (groups or (by_meaning and query_vector is not None)):
        return []
    x = topic_features(view, records, groups, idf, query_vector)
    w = np.asarray([tuning.topic_weights[f] for f in TOPIC_FEATURES], dtype=np.float32)
    logit = x @ w + tuning.topic_bias
    # Sure by its words alone: every group named in the title and in the opening, and said
    # twice. The model measures meaning against the window's typical article, which fails
    # where one topic fills the window (an archive of one subject); these rows were on the
    # topic 0.988 of the time on dev, 1.000 on test (python -m evals.archive_fit; with the
    # summary counted as the title: 0.857 and 0.957).
    sure = sure_by_words(x)
    if not sure.any() and float(logit.max()) < tuning.topic_floor:
        # the archive has no report on the topic: its best candidate is a near miss (a moon
        # probe for 火星探测), not a report the model is unsure of
        return []
    chosen = [r for r, z, s in zip(records, logit.tolist(), sure.tolist()) if z >= 0 or s]
    # a name the question asks about (named_groups) is said somewhere in every report on it
    return [r for r in chosen if all(any(w in view.texts[view.position[r.id]] for w in groups[i]) for i in required)]


_ALL = 0.999  # a share of the topic's weight that is all of it (float sums)
_COLUMN = {f: i for i, f in enumerate(TOPIC_FEATURES)}


def sure_by_words(x: np.ndarray) -> np.ndarray:
    """Per row of TOPIC_FEATURES: every group named in the title itself and in the opening,
    and said twice (on_topic's words-alone rule). The title, not the summary: a weather
    forecast's summary lists 冰雹 among the day's weather, its title is about the rain."""
    return ((x[:, _COLUMN["title"]] >= _ALL) & (x[:, _COLUMN["opening"]] >= _ALL)
            & (x[:, _COLUMN["said_twice"]] >= _ALL))
