import pytest

from rag.index.chunking import chunk_article
from rag.index.corpus import load_corpus, parse_article
from rag.text import sentence_spans, terms


@pytest.fixture(scope="module")
def articles():
    from tests.conftest import SHIPPED_CORPUS

    return load_corpus(SHIPPED_CORPUS, (".txt",), 10**7)[0]


@pytest.mark.parametrize("size, overlap", [(400, 80), (200, 0), (120, 40), (1000, 200)])
def test_offsets_reproduce_text_and_sizes_hold(articles, size, overlap):
    for a in articles:
        chunks = chunk_article(a, size, overlap)
        assert chunks, a.id
        for c in chunks:
            assert a.body[c.start : c.end] == c.text
            assert len(c.text) <= size
            assert c.chunk_count == len(chunks)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        assert len({c.id for c in chunks}) == len(chunks)


def test_chunks_start_and_end_on_sentence_boundaries(articles):
    for a in articles:
        spans = sentence_spans(a.body)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        assert max(e - s for s, e in spans) <= 400  # so no sentence needs cutting at 400
        for c in chunk_article(a, 400, 80):
            assert c.start in starts and c.end in ends, c.text


def test_every_sentence_is_in_some_chunk(articles):
    for a in articles:
        chunks = chunk_article(a, 400, 80)
        for s, e in sentence_spans(a.body):
            assert any(c.start <= s and e <= c.end for c in chunks), a.body[s:e]


def test_overlap_carries_the_previous_sentence():
    body = "。".join(f"第{i}句话写在这里" for i in range(40)) + "。"
    a = parse_article("o.md", body.encode())
    chunks = chunk_article(a, 100, 30)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start < prev.end  # shares at least one sentence
        assert prev.end - nxt.start <= 30


def test_a_sentence_longer_than_the_size_is_split():
    a = parse_article("l.md", ("长" * 250 + "。").encode())
    chunks = chunk_article(a, 100, 0)
    assert [len(c.text) for c in chunks] == [100, 100, 51]


def test_heading_path_is_recorded(articles):
    donation = next(a for a in articles if a.id.startswith("003"))
    chunks = chunk_article(donation, 400, 80)
    assert chunks[0].heading_path == ("Anthropic向Public First Action捐赠2000万美元",)
    assert any("相关内容" in c.heading_path for c in chunks)
    # the translator's note and link list stay searchable
    assert any("翻译时间" in c.text for c in chunks)


def test_sentence_spans_split_on_chinese_and_ascii_ends():
    text = "第一句。第二句！第三句？第四；GOV.UK is 4.6 good. Next\n* 列表项"
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == ["第一句。", "第二句！", "第三句？", "第四；", "GOV.UK is 4.6 good.", "Next", "列表项"]


def test_terms_keep_names_and_numbers():
    t = terms("Anthropic向Public First Action捐赠2000万美元，501(c)(4)组织，GOV.UK，Claude Pro，Ｃｌａｕｄｅ")
    for expected in ["anthropic", "public", "first", "action", "捐赠", "2000", "501(c)(4)", "gov.uk", "claude", "pro"]:
        assert expected in t
    assert t.count("claude") == 2  # full-width letters are folded
    assert "的" not in terms("政府的合作")
