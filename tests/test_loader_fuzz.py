"""Malformed corpus files: fuzzed and hand-made. Each is loaded or skipped with a reason;
nothing executes; ingest of the other files completes."""

import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import ArticleError
from rag.index.corpus import load_corpus, parse_article
from rag.pipeline import ingest
from tests.fakes import HashEmbedder

EXT = (".md", ".markdown", ".txt")


def parse_or_reason(raw: bytes):
    try:
        return parse_article("f.md", raw)
    except ArticleError as exc:
        assert str(exc)
        return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_load_or_are_refused_with_a_reason(raw):
    article = parse_or_reason(raw)
    if article is not None:
        assert article.body.strip() and article.title


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(data=yaml_values, body=st.text(min_size=1, max_size=200))
def test_any_yaml_front_matter_loads_or_is_refused(data, body):
    import yaml

    raw = ("---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n" + body).encode("utf-8", "replace")
    article = parse_or_reason(raw)
    if article is not None:
        assert isinstance(article.title, str) and article.title


@settings(max_examples=200, deadline=None)
@given(front=st.text(max_size=300), body=st.text(max_size=300), bom=st.booleans(), closed=st.booleans())
def test_front_matter_shaped_text_never_crashes(front, body, bom, closed):
    text = "---\n" + front + ("\n---\n" if closed else "\n") + body
    parse_or_reason((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "replace"))


def test_python_tags_do_not_execute(tmp_path):
    marker = tmp_path / "pwned"
    raw = f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\n正文。\n".encode()
    assert parse_or_reason(raw) is None
    assert not marker.exists()


def test_yaml_alias_bomb_is_cheap(tmp_path):
    levels = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        levels.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    raw = ("---\n" + "\n".join(levels) + "\ntitle: *i\ntags: *i\n---\n正文。\n").encode()
    t0 = time.perf_counter()
    article = parse_or_reason(raw)
    assert time.perf_counter() - t0 < 5
    assert article is not None and article.title == "正文" and article.title_derived and article.tags == ()


def test_bad_files_are_skipped_and_the_rest_ingested(make_cfg, corpus_dir, tmp_path):
    (corpus_dir / "bom.md").write_bytes(b"\xef\xbb\xbf" + "---\ntitle: BOM\n---\n带BOM的文章。\n".encode())
    (corpus_dir / "unclosed.md").write_text("---\ntitle: x\n正文。\n", encoding="utf-8")
    (corpus_dir / "list.md").write_text("---\n- a\n---\n正文。\n", encoding="utf-8")
    (corpus_dir / "scalar.md").write_text("---\nhello\n---\n正文。\n", encoding="utf-8")
    (corpus_dir / "empty.md").write_bytes(b"")
    (corpus_dir / "blank.md").write_text(" \n\t\n", encoding="utf-8")
    (corpus_dir / "binary.md").write_bytes(bytes(range(256)) * 4)
    (corpus_dir / "latin1.txt").write_bytes("Café résumé".encode("latin-1"))
    with open(corpus_dir / "huge.md", "wb") as f:  # 50 MB
        f.truncate(50 * 1024 * 1024)
    secret = tmp_path / "outside.md"
    secret.write_text("---\ntitle: secret\n---\n机密。\n", encoding="utf-8")
    os.symlink(secret, corpus_dir / "link.md")
    (corpus_dir / "copy.txt").write_bytes((corpus_dir / "001_8dbdee58fc56f9ec.txt").read_bytes())
    report = ingest(make_cfg(), embedder=HashEmbedder(), progress=False)
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == {"unclosed.md", "list.md", "scalar.md", "empty.md", "blank.md", "binary.md",
                            "latin1.txt", "huge.md", "link.md", "copy.txt"}
    assert "over the" in reasons["huge.md"] and "outside" in reasons["link.md"]
    assert "same content" in reasons["copy.txt"] or "same content" in reasons.get("001_8dbdee58fc56f9ec.txt", "")
    assert set(report.added) == {"000_8378715d027410b1.txt", "001_8dbdee58fc56f9ec.txt",
                                 "002_f48170bfe59e2718.txt", "003_f37bc0b3fb1d0fae.txt", "bom.md"}
    assert not any("机密" in c for c in map(str, report.chunks_per_article))
    articles, _ = load_corpus(corpus_dir, EXT, 5_000_000)
    assert next(a for a in articles if a.id == "bom.md").title == "BOM"
