"""The per-article catalog: what ingest records, that every quotable piece is exact, and that
it is saved and loaded with the index."""

import json
from pathlib import Path

import pytest

from rag.index.catalog import by_date, catalog_for, quote_matches, record_for, source_text
from rag.index.corpus import load_corpus, parse_article
from rag.index.lexical import CATALOG_FILE, LexicalIndex, read_catalog
from rag.types import Citation
from tests.conftest import SHIPPED_CORPUS

GOV, DOE, RWANDA, DONATION = (
    "000_8378715d027410b1.txt", "001_8dbdee58fc56f9ec.txt", "002_f48170bfe59e2718.txt", "003_f37bc0b3fb1d0fae.txt")


@pytest.fixture(scope="module")
def shipped():
    return {a.id: a for a in load_corpus(SHIPPED_CORPUS, (".txt",), 10**7)[0]}


def spans_of(record):
    return [s for s in (*record.summary_spans, record.title_span, record.date_span) if s is not None]


def test_shipped_records(shipped):
    records = {a.id: record_for(a) for a in shipped.values()}
    assert records[GOV].summary_from == "front_matter" and records[GOV].date == "2026-01-27"
    assert records[GOV].summary.startswith("Anthropic与英国科学、创新与技术部合作")
    assert records[GOV].tags[:2] == ("AI助手", "政府合作") and records[GOV].categories == ("政策监管",)
    assert records[GOV].title_original.startswith("Anthropic partners with the UK Government")
    # Rwanda has no summary field and no date: its own 「一句话摘要」 section, and undated
    rw = records[RWANDA]
    assert rw.summary_from == "section" and rw.date is None and rw.date_span is None
    assert rw.summary.startswith("卢旺达政府与Anthropic签署了为期三年的谅解备忘录")
    assert [s.field for s in rw.summary_spans] == ["body"]
    assert rw.url == "https://www.anthropic.com/news/anthropic-rwanda-mou"
    for r in records.values():
        article = shipped[r.id]
        for span in spans_of(r):
            assert source_text(article, span.field)[span.start : span.end] == span.text
        assert r.title_span is not None and r.title_span.text == r.title


def test_front_matter_offsets_index_the_file_text(shipped):
    article = shipped[DOE]
    text = (SHIPPED_CORPUS / DOE).read_text(encoding="utf-8")
    assert article.head + article.body == text
    r = record_for(article)
    assert text[r.date_span.start : r.date_span.end] == "2025-12-18"
    first = r.summary_spans[0]
    assert first.field == "summary" and text[first.start : first.end] == first.text
    c = Citation(1, DOE, r.title, r.url, r.date, first.text, "", first.start, first.end, "summary")
    assert quote_matches(article, c)
    assert not quote_matches(article, Citation(1, DOE, "", None, None, first.text, "", first.start, first.end))


def article(text: str, name: str = "a.md"):
    return parse_article(name, text.encode("utf-8"))


def test_folded_and_quoted_values_are_located_or_left_out():
    a = article("---\ntitle: 'It''s a title'\ndate: 2026-03-05\nsummary: >\n  第一句很长。\n  第二句。\n---\n\n正文第一段，足够长的一段话，讲了一些事情。\n")
    r = record_for(a)
    # a folded scalar: each sentence still sits verbatim on its own line
    assert [s.text for s in r.summary_spans] == ["第一句很长。", "第二句。"]
    for s in spans_of(r):
        assert source_text(a, s.field)[s.start : s.end] == s.text
    assert r.date == "2026-03-05" and r.date_span.text == "2026-03-05"
    assert r.title == "It's a title" and r.title_span is None  # '' escape: not verbatim, not quoted


def test_summary_falls_back_to_the_lead_and_title_to_the_heading():
    a = article("# 标题在这里\n\n> 编者按：不算导语。\n\n短。\n\n这是第一段正文，它是导语。第二句话。第三句话。第四句话。\n")
    r = record_for(a)
    assert r.summary_from == "lead" and r.date is None
    assert [s.text for s in r.summary_spans] == ["这是第一段正文，它是导语。", "第二句话。", "第三句话。"]
    assert r.title == "标题在这里" and r.title_span.field == "body"
    for s in spans_of(r):
        assert source_text(a, s.field)[s.start : s.end] == s.text


def test_summary_section_heading():
    a = article("---\ntitle: T\n---\n## 摘要\n\n这是摘要的第一句。这是第二句。\n\n## 正文\n\n正文很长很长很长很长很长的一段。\n")
    r = record_for(a)
    assert r.summary_from == "section" and r.summary == "这是摘要的第一句。这是第二句。"


def test_by_date_puts_undated_last(shipped):
    records = [record_for(a) for a in shipped.values()]
    assert [r.id for r in by_date(records)] == [DONATION, GOV, DOE, RWANDA]
    assert [r.id for r in by_date(records, newest_first=False)] == [DOE, GOV, DONATION, RWANDA]


def test_catalog_keeps_the_last_good_record_of_a_file_that_stopped_loading(shipped):
    old = [record_for(a) for a in shipped.values()]
    now = [a for a in shipped.values() if a.id != GOV]  # GOV failed to load this time
    catalog = catalog_for(now, [*shipped], old)
    assert [r.id for r in catalog] == sorted(shipped)
    assert catalog_for(now, [a.id for a in now], old) == [r for r in catalog if r.id != GOV]


def test_catalog_is_saved_and_loaded_with_the_lexical_index(tmp_path, shipped):
    from rag.index.chunking import chunk_article

    chunks = [c for a in shipped.values() for c in chunk_article(a, 400, 80)]
    records = [record_for(a) for a in shipped.values()]
    LexicalIndex.build(chunks, {"embedding_model": "x"}, records).save(tmp_path / "lex")
    assert (tmp_path / "lex" / CATALOG_FILE).exists()
    assert LexicalIndex.load(tmp_path / "lex").articles == records
    assert read_catalog(tmp_path / "nowhere") == []


def test_ingest_writes_the_catalog_and_adds_it_to_an_older_index(make_cfg, fake_embedder):
    from rag.index.ingest import lexical_dir
    from rag.pipeline import ingest

    cfg = make_cfg()
    ingest(cfg, embedder=fake_embedder, progress=False)
    folder = Path(lexical_dir(cfg))
    ids = [json.loads(line)["id"] for line in (folder / CATALOG_FILE).read_text(encoding="utf-8").splitlines()]
    assert ids == [GOV, DOE, RWANDA, DONATION]
    # an index written before the catalog existed (and before meta recorded file sizes)
    (folder / CATALOG_FILE).unlink()
    meta = json.loads((folder / "meta.json").read_text())
    del meta["files"]
    (folder / "meta.json").write_text(json.dumps(meta))
    assert LexicalIndex.load(folder).articles == []
    report = ingest(cfg, embedder=fake_embedder, progress=False)
    assert report.chunks_embedded == 0 and len(LexicalIndex.load(folder).articles) == 4


def test_the_text_a_topic_scan_reads_is_saved_at_ingest_and_made_again_when_unreadable(make_cfg, fake_embedder):
    """An archive question reads every article (rag.collection.archive): the normalised text
    is saved with the lexical index, read back as it was made, and made from the chunks when
    the file is missing, damaged or from another format."""
    from rag.index.catalog import scan_text
    from rag.index.ingest import lexical_dir
    from rag.index.lexical import SCAN_TEXTS_FILE
    from rag.pipeline import ingest

    cfg = make_cfg()
    ingest(cfg, embedder=fake_embedder, progress=False)
    folder = Path(lexical_dir(cfg))
    index = LexicalIndex.load(folder)
    saved = index.scan_texts()
    assert (folder / SCAN_TEXTS_FILE).exists() and index._saved_scan_texts() == saved
    bodies = {r.id: [c.text for c in index.chunks if c.article_id == r.id] for r in index.articles}
    assert saved == [scan_text(r, bodies[r.id]) for r in index.articles]
    donation = saved[[r.id for r in index.articles].index(DONATION)]
    assert donation.titles.startswith("anthropic捐赠2000万美元") and donation.head.startswith(donation.titles)
    assert "public first action" in donation.text and donation.text.startswith(donation.head + "\n")
    for damage in ("", '[1, 2, "x"]\n', "not json\n", None):
        if damage is None:
            (folder / SCAN_TEXTS_FILE).unlink()
        else:
            (folder / SCAN_TEXTS_FILE).write_text(damage)
        assert LexicalIndex.load(folder).scan_texts() == saved


def test_the_terms_of_each_head_are_saved_at_ingest_and_cut_again_when_unreadable(make_cfg, fake_embedder):
    """The words a topic's reports name beside it (archive.companions) come from each
    article's head: its terms are saved with the lexical index as a question would cut them,
    read back a line at a time, and cut again when the file is missing, damaged or not the
    one saved with the index."""
    from types import SimpleNamespace

    from rag.collection.archive import archive_view, topic_words
    from rag.index.catalog import scan_head
    from rag.index.ingest import lexical_dir
    from rag.index.lexical import HEAD_TERMS_FILE
    from rag.pipeline import ingest
    from rag.text import terms

    cfg = make_cfg()
    ingest(cfg, embedder=fake_embedder, progress=False)
    folder = Path(lexical_dir(cfg))
    index = LexicalIndex.load(folder)
    cut = [terms(scan_head(r)) for r in index.articles]
    assert (folder / HEAD_TERMS_FILE).exists() and index._saved_head_lines()
    assert [index.head_terms(i) for i in range(len(index.articles))] == cut
    position = [r.id for r in index.articles].index(DONATION)
    assert "2000" in cut[position] and "anthropic" in cut[position]
    heads = [s.head for s in index.scan_texts()]
    assert [scan_head(r) for r in index.articles] == heads  # the head a topic scan reads
    saved = (folder / HEAD_TERMS_FILE).read_bytes()
    # the same size as saved, so only reading the line tells: a broken line, a number for a term
    same_size = [saved.replace(b'"2000"', b'"2000', 1).replace(b'"anthropic"', b'"anthropic""', 1),
                 saved.replace(b'"2000"', b'  2000', 1)]
    assert all(len(d) == len(saved) and d != saved for d in same_size)
    for damage in (b"", b"[1, 2]\n" * len(cut), b"not json\n" * len(cut), saved.replace(b'"2000"', b'"20001"'),
                   *same_size, None):
        if damage is None:
            (folder / HEAD_TERMS_FILE).unlink()
        else:
            (folder / HEAD_TERMS_FILE).write_bytes(damage)
        again = LexicalIndex.load(folder)
        assert [again.head_terms(i) for i in range(len(cut))] == cut
    # what an archive question reads: the head's topic words, saved or cut
    view = archive_view(SimpleNamespace(lexical=index, retriever=SimpleNamespace(embedder=None)))
    assert [view.head_words(i) for i in range(len(cut))] == [topic_words(h) for h in heads]


def test_article_profiles_are_embedded_at_ingest_and_reused(make_cfg, fake_embedder, corpus_dir):
    """Comparisons and pointers in other words ("the donation") use each article's profile
    vector: made at ingest from the sentence vectors, and reused for unchanged articles."""
    import numpy as np

    from rag.index.catalog import profile_text
    from rag.index.ingest import lexical_dir
    from rag.index.sentences import SentenceIndex, combine, profile_parts, sentence_dir
    from rag.pipeline import ingest

    cfg = make_cfg()
    ingest(cfg, embedder=fake_embedder, progress=False)
    records = LexicalIndex.load(Path(lexical_dir(cfg))).articles
    index = SentenceIndex.load(sentence_dir(cfg.data_dir))
    assert index is not None and len(records) == 4
    for r in records:  # made from the title's and the lead sentences' vectors, not embedded whole
        vector = index.vector(profile_text(r))
        title, lead = profile_parts(profile_text(r))
        assert vector is not None and title == r.title and lead
        parts = np.asarray(fake_embedder.embed_documents([title, *lead]), np.float32)
        want = combine(parts[0], list(parts[1:]), [len(t) for t in lead])
        assert np.allclose(vector, want, atol=2e-3)  # the index keeps float16
    # one article gains a sentence at its end: that sentence is embedded, nothing else
    path = next(p for p in Path(corpus_dir).iterdir() if p.name.startswith("003_"))
    path.write_text(path.read_text(encoding="utf-8") + "\n\n新增的一句话用于测试重用。\n", encoding="utf-8")
    report = ingest(cfg, embedder=fake_embedder, progress=False)
    assert report.sentences_embedded == 1
