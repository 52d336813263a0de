"""The collection's topic map, made at ingest: articles grouped by meaning (k-means over their
profile vectors), each group labelled by the words its titles and summaries use more than
the rest of the collection does (class-based tf-idf), with its size and the article nearest
its centre. Saved with the lexical index (`topics.json`), so "这些文章主要讲了什么" and the
chat's welcome say what an archive of thousands covers without reading it at question time.

A collection of fewer than `MIN_ARTICLES` has no map: its overview lists the articles.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rag.types import ArticleRecord

TOPICS_FILE = "topics.json"
MIN_ARTICLES = 50  # below this, listing the articles says more than grouping them
# Ten groups at most: the archive's broad sections, on one screen (docs/archive-questions.md)
MAX_TOPICS = 10
ARTICLES_PER_TOPIC = 25  # a smaller collection gets fewer groups: N / 25, at least 2
LABEL_WORDS = 3
_MIN_WORD_ARTICLES = 3  # a label word is in at least this many of the group's articles
_HEAD_CHARS = 300  # title + summary characters a label is drawn from
# Words every kind of news uses: never a label (the tf-idf keeps most out; these slip through
# in groups of wire copy).
_NEWS_WORDS = frozenset(
    "记者 报道 表示 日电 日讯 消息 介绍 目前 今年 近日 日前 昨日 今天 昨天 获悉 据悉 了解 相关 工作 进行 开展 "
    "原标题 来源 编辑 责任编辑 通讯员 新华社 中新网 央视 本报 发布 举行 活动 情况 问题 我们 他们 一个 没有 已经 "
    "可以 通过 以及 其中 作为 同时 部分 方面 全国 全市 全省 中国 我国 国家".split())
_NUMBERISH = re.compile(r"^[\d.,%:：\-年月日号时分秒万亿个名]+$")


@dataclass(frozen=True)
class Topic:
    """One group of the map. `articles` counts its members; `representative` is the id of
    the member nearest the group's centre (cited when the overview names the group);
    `centre` the unit vector of that centre in the profile vectors' space, so the articles of
    a date window can be grouped the same way ("7月的新闻主要讲了什么"); () in a map saved
    before centres were."""

    label: str
    words: tuple[str, ...]
    articles: int
    representative: str
    centre: tuple[float, ...] = ()


def topic_count(n_articles: int) -> int:
    if n_articles < MIN_ARTICLES:
        return 0
    return max(2, min(MAX_TOPICS, n_articles // ARTICLES_PER_TOPIC))


def build_topics(records: list[ArticleRecord], profiles: np.ndarray, seed: int = 0) -> list[Topic]:
    """The topic map of `records` (profiles: one unit vector per record, same order), largest
    group first; [] for a collection too small to group."""
    from sklearn.cluster import KMeans

    k = topic_count(len(records))
    if k == 0 or len(profiles) != len(records):
        return []
    vectors = np.asarray(profiles, dtype=np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(vectors)
    groups = model.labels_
    words = [_head_words(r) for r in records]
    df = Counter(w for ws in words for w in ws)
    n = len(records)
    topics = []
    for g in range(k):
        members = np.flatnonzero(groups == g)
        if len(members) == 0:
            continue
        inside = Counter(w for i in members for w in words[i])
        scored = sorted(((c / len(members)) * math.log(n / df[w]), w) for w, c in inside.items()
                        if c >= _MIN_WORD_ARTICLES)
        label_words: list[str] = []
        for _, w in reversed(scored):
            if not any(w in o or o in w for o in label_words):
                label_words.append(w)
            if len(label_words) == LABEL_WORDS:
                break
        centre = model.cluster_centers_[g]
        nearest = members[int(np.argmax(vectors[members] @ centre))]
        unit = centre / max(float(np.linalg.norm(centre)), 1e-12)
        topics.append(Topic("、".join(label_words) or records[nearest].title, tuple(label_words), int(len(members)),
                            records[nearest].id, tuple(round(float(v), 5) for v in unit)))
    return sorted(topics, key=lambda t: (-t.articles, t.label))


def nearest_topics(topics: list[Topic], profiles: np.ndarray) -> np.ndarray | None:
    """Per row of `profiles` (unit vectors), the index in `topics` of the nearest centre, as
    ingest grouped the collection; None when the map has no centres (saved before them)."""
    if not topics or any(len(t.centre) != profiles.shape[1] for t in topics):
        return None
    centres = np.asarray([t.centre for t in topics], dtype=np.float32)
    return np.argmax(profiles @ centres.T, axis=1)


def _head_words(r: ArticleRecord) -> set[str]:
    from rag.text import terms

    head = "\n".join(p for p in (r.title, r.title_original or "", r.summary[:_HEAD_CHARS]) if p)
    return {w for w in terms(head) if len(w) > 1 and w not in _NEWS_WORDS and not _NUMBERISH.match(w)}


def save_topics(folder: Path, topics: list[Topic]) -> None:
    (folder / TOPICS_FILE).write_text(json.dumps([asdict(t) for t in topics], ensure_ascii=False, indent=1),
                                      encoding="utf-8")


def load_topics(folder: Path) -> list[Topic]:
    """The saved map; [] when the index has none (a small collection, or one made before maps)."""
    try:
        data = json.loads((Path(folder) / TOPICS_FILE).read_text(encoding="utf-8"))
        return [Topic(d["label"], tuple(d["words"]), int(d["articles"]), d["representative"],
                      tuple(float(v) for v in d.get("centre", ()))) for d in data]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        from rag.errors import IndexCorruptError

        raise IndexCorruptError(f"the topic map {Path(folder) / TOPICS_FILE} is damaged ({exc}); "
                                "`rag ingest` rebuilds it") from exc
