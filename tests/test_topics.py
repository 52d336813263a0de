"""The topic map (rag.index.topics): groups by meaning, labels by distinctive words, sizes that
add up, the article nearest each centre; saved with the index and read back; none for a small
collection; a damaged file is one clear error."""

import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.index.topics import MIN_ARTICLES, TOPICS_FILE, build_topics, load_topics, save_topics, topic_count
from rag.types import ArticleRecord


def record(aid: str, title: str, summary: str) -> ArticleRecord:
    return ArticleRecord(aid, title, None, "2023-08-01", None, (), (), summary, "lead", (), None, None, "h")


SUBJECTS = {  # subject -> (title words, summary)
    "typhoon": ("台风登陆沿海", "台风带来强降雨，防汛部门发布预警。"),
    "market": ("股市收涨券商", "沪指收涨，券商板块走强，成交额放大。"),
    "sport": ("大运会金牌", "运动员夺得金牌，游泳项目表现出色。"),
}


def archive(n_each: int = 30, seed: int = 3):
    rng = np.random.default_rng(seed)
    centres = {s: rng.normal(size=32) for s in SUBJECTS}
    records, vectors = [], []
    for s, (title, summary) in SUBJECTS.items():
        for i in range(n_each):
            records.append(record(f"{s}-{i:02d}", f"{title}第{i}报", summary))
            vectors.append(centres[s] + 0.3 * rng.normal(size=32))
    return records, np.asarray(vectors, dtype=np.float32)


def test_groups_follow_meaning_with_distinctive_labels_and_a_central_example():
    records, vectors = archive()
    topics = build_topics(records, vectors)
    assert len(topics) == topic_count(90) == 3 and sum(t.articles for t in topics) == 90
    by_subject = {t.representative.split("-")[0]: t for t in topics}
    assert set(by_subject) == set(SUBJECTS) and all(t.articles == 30 for t in topics)
    for subject, (title, summary) in SUBJECTS.items():  # each label is its own group's words
        assert by_subject[subject].words and all(w in title + summary for w in by_subject[subject].words)
    assert by_subject["sport"].label == "、".join(by_subject["sport"].words)
    assert not any("报" == w or w.isdigit() for t in topics for w in t.words)


def test_a_small_collection_has_no_map_and_the_map_is_saved_and_read_back(tmp_path):
    records, vectors = archive(n_each=(MIN_ARTICLES - 1) // 3)
    assert build_topics(records, vectors) == []
    topics = build_topics(*archive())
    save_topics(tmp_path, topics)
    assert load_topics(tmp_path) == topics
    assert load_topics(tmp_path / "elsewhere") == []
    (tmp_path / TOPICS_FILE).write_text('[{"label": "x"}]', encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="topic map .* is damaged"):
        load_topics(tmp_path)


def test_articles_of_a_window_are_grouped_by_the_saved_centres(tmp_path):
    """"7月的新闻主要讲了什么": the window's articles go to the nearest saved centre, as ingest
    grouped them; a map saved before centres were has none to go to."""
    from dataclasses import replace

    from rag.index.topics import nearest_topics

    records, vectors = archive()
    topics = build_topics(records, vectors)
    save_topics(tmp_path, topics)
    loaded = load_topics(tmp_path)
    assert all(len(t.centre) == 32 and abs(np.linalg.norm(t.centre) - 1) < 1e-3 for t in loaded)
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    groups = nearest_topics(loaded, units)
    for r, g in zip(records, groups):  # every article to its own subject's group
        assert loaded[g].representative.split("-")[0] == r.id.split("-")[0]
    assert nearest_topics([replace(t, centre=()) for t in loaded], units) is None
