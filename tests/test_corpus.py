import os

import pytest

from rag.errors import ArticleError, ConfigError, CorpusError
from rag.index.corpus import load_corpus, parse_article

EXT = (".md", ".markdown", ".txt")


def load(folder, cap=5_000_000):
    return load_corpus(folder, EXT, cap)


def test_shipped_corpus_loads_titles_urls_and_dates(corpus_dir):
    articles, skipped = load(corpus_dir)
    assert skipped == []
    by_id = {a.id: a for a in articles}
    assert sorted(by_id) == [
        "000_8378715d027410b1.txt", "001_8dbdee58fc56f9ec.txt",
        "002_f48170bfe59e2718.txt", "003_f37bc0b3fb1d0fae.txt",
    ]
    gov = by_id["000_8378715d027410b1.txt"]
    assert gov.title == "Anthropic与英国政府合作，为GOV.UK引入AI助手"
    assert gov.url == "https://www.anthropic.com/news/gov-UK-partnership"
    assert gov.date == "2026-01-27"
    assert gov.tags[:2] == ("AI助手", "政府合作") and gov.categories == ("政策监管",)
    assert by_id["001_8dbdee58fc56f9ec.txt"].date == "2025-12-18"
    rwanda = by_id["002_f48170bfe59e2718.txt"]  # uses `来源` for its url and gives no date
    assert rwanda.url == "https://www.anthropic.com/news/anthropic-rwanda-mou"
    assert rwanda.date is None
    assert rwanda.title.startswith("Anthropic与卢旺达达成三年期合作")
    donation = by_id["003_f37bc0b3fb1d0fae.txt"]
    assert donation.title == "Anthropic捐赠2000万美元支持AI政策倡导组织"
    assert donation.date == "2026-02-12"
    assert donation.body.lstrip().startswith("# Anthropic向Public First Action捐赠2000万美元")


def test_file_without_front_matter_takes_title_from_heading_or_text():
    a = parse_article("x.md", "intro\n\n## 标题一\n\n正文。".encode())
    assert a.title == "标题一" and a.url is None and a.date is None
    b = parse_article("plain-note.md", "只有正文。".encode())
    assert b.title == "只有正文" and b.title_derived  # made from the text, and marked so


def test_bom_and_crlf_are_fine():
    a = parse_article("b.md", "\ufeff---\r\ntitle: T\r\n---\r\n正文。\r\n".encode())
    assert a.title == "T" and a.body == "正文。\n"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"\xff\xfe\x00bad", "binary"),
        ("正文".encode("gbk") + b"\xff", "not UTF-8"),
        (b"---\ntitle: x\nno closing line\n", "not closed"),
        (b"---\n- a\n- b\n---\nbody\n", "must be a mapping"),
        (b"---\njust a scalar\n---\nbody\n", "must be a mapping"),
        (b"---\ntitle: [unclosed\n---\nbody\n", "not valid YAML"),
        (b"---\nx: !!python/object/apply:os.system ['echo hi']\n---\nbody\n", "not valid YAML"),
        (b"---\ntitle: t\n---\n   \n", "no body"),
    ],
)
def test_malformed_files_raise_a_reason(raw, reason):
    with pytest.raises(ArticleError, match=reason):
        parse_article("bad.md", raw)


def test_bad_files_are_skipped_with_reasons_and_the_rest_load(corpus_dir, tmp_path):
    (corpus_dir / "empty.md").write_bytes(b"")
    (corpus_dir / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    (corpus_dir / "broken.md").write_text("---\ntitle: [x\n---\nbody", encoding="utf-8")
    (corpus_dir / "big.md").write_text("大" * 3000, encoding="utf-8")
    (corpus_dir / "dup.md").write_bytes((corpus_dir / "000_8378715d027410b1.txt").read_bytes())
    outside = tmp_path / "secret.md"
    outside.write_text("secret", encoding="utf-8")
    os.symlink(outside, corpus_dir / "link.md")
    (corpus_dir / "image.png").write_bytes(b"\x89PNG")  # not an article extension: ignored
    articles, skipped = load(corpus_dir, cap=8000)
    reasons = {s.path: s.reason for s in skipped}
    assert len(articles) == 4
    assert "empty" in reasons["empty.md"]
    assert "UTF-8" in reasons["latin1.md"]
    assert "YAML" in reasons["broken.md"]
    assert "cap" in reasons["big.md"]
    assert "same content as 000_8378715d027410b1.txt" in reasons["dup.md"]
    assert "outside" in reasons["link.md"]
    assert "image.png" not in reasons


def test_a_folders_readme_is_skipped_by_default_and_indexed_when_asked(make_cfg, fake_embedder, corpus_dir):
    """An exported archive often carries a README describing it: its notes, not an article
    (asked "What did the archive say about X", the 10k archive's README answered)."""
    from rag.index.ingest import lexical_dir
    from rag.index.lexical import LexicalIndex
    from rag.pipeline import ingest

    (corpus_dir / "README.md").write_text("# My archive\n\nNews of July and August, one file each.\n", encoding="utf-8")
    (corpus_dir / "readme-2023-08.md").write_text("---\ntitle: 读者来信\n---\n\n八月的读者来信摘登。\n", encoding="utf-8")
    (corpus_dir / "notes").mkdir()
    (corpus_dir / "notes" / "license.txt").write_text("CC BY 4.0 for the texts.", encoding="utf-8")
    every = make_cfg(corpus={"path": str(corpus_dir), "exclude": []})
    ingest(every, embedder=fake_embedder, progress=False)
    assert "README.md" in {r.id for r in LexicalIndex.load(lexical_dir(every)).articles}
    report = ingest(make_cfg(), embedder=fake_embedder, progress=False)  # the default: the notes go
    reasons = {s.path: s.reason for s in report.skipped}
    assert "corpus.exclude 'README.*'" in reasons["README.md"] and "not an article" in reasons["README.md"]
    assert "corpus.exclude 'LICENSE.*'" in reasons["notes/license.txt"]
    assert "readme-2023-08.md" not in reasons  # an article whose name starts with the word
    assert set(report.removed) == {"README.md", "notes/license.txt"}  # not kept as a file that failed to load
    ids = {r.id for r in LexicalIndex.load(lexical_dir(make_cfg())).articles}
    assert "README.md" not in ids and "readme-2023-08.md" in ids and len(ids) == 5
    with pytest.raises(ConfigError, match="corpus.exclude"):
        make_cfg(corpus={"path": str(corpus_dir), "exclude": [""]})


def test_missing_corpus_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load(tmp_path / "nope")
