"""What an LLM reads: the best sentences with neighbours, cut from real chunks; and the CLI's
streamed output. Fast: no model, no index."""

import pytest

from rag.answering.context_budget import ContextBudget, budget_of, conversation_note, select_context
from rag.answering.extractive import candidate_sentences, score_sentences
from rag.config import config_from_dict
from rag.errors import ConfigError
from rag.retrieve.query import QueryTerms, SearchQuery
from rag.text import sentence_spans
from rag.types import Answer, Chunk, Citation, Hit

BODY = ("前言一句。Anthropic是一家人工智能公司。它于2021年成立。总部位于旧金山。"
        "公司向Public First Action捐赠了2000万美元。该组织是跨党派的。此后双方继续合作。"
        "最后一句话。")


def chunk(cid: str, start: int, end: int) -> Chunk:
    return Chunk(cid, "a.md", 0, BODY[start:end], start, end, (), "标题", None, "2026-01-01", "h", 2)


def scored_for(hits, words):
    q = QueryTerms(tuple(words), tuple(1.0 for _ in words))
    return score_sentences(q, candidate_sentences(hits))


def test_best_sentence_comes_with_its_neighbours_and_exact_offsets():
    hits = [Hit(chunk("c0", 0, len(BODY)), 1.0)]
    passages = select_context(ContextBudget(sentences=1, neighbours=1), hits, scored_for(hits, ["捐赠"]))
    assert len(passages) == 1
    c = passages[0].chunk
    assert c.text == "总部位于旧金山。公司向Public First Action捐赠了2000万美元。该组织是跨党派的。"
    assert BODY[c.start:c.end] == c.text and c.id == "c0"  # citations quote the article exactly


def test_touching_windows_merge_and_the_budget_is_smaller_than_the_chunk():
    hits = [Hit(chunk("c0", 0, len(BODY)), 1.0)]
    scored = scored_for(hits, ["捐赠", "跨党派"])
    passages = select_context(ContextBudget(sentences=2, neighbours=1), hits, scored)
    assert len(passages) == 1  # two neighbouring sentences' windows overlap: one passage
    assert "捐赠" in passages[0].chunk.text and "此后双方继续合作" in passages[0].chunk.text
    assert "前言一句" not in passages[0].chunk.text
    assert len(passages[0].chunk.text) < len(BODY)


def test_no_neighbours_sends_only_the_sentences():
    hits = [Hit(chunk("c0", 0, len(BODY)), 1.0)]
    passages = select_context(ContextBudget(sentences=2, neighbours=0), hits, scored_for(hits, ["捐赠", "成立"]))
    assert {p.chunk.text for p in passages} == {"它于2021年成立。", "公司向Public First Action捐赠了2000万美元。"}


def test_overlapping_chunks_do_not_repeat_a_window():
    split = BODY.index("公司向")
    hits = [Hit(chunk("c0", 0, len(BODY)), 1.0), Hit(chunk("c1", split, len(BODY)), 0.9)]
    passages = select_context(ContextBudget(sentences=4, neighbours=1), hits, scored_for(hits, ["捐赠"]))
    spans = [(p.chunk.start, p.chunk.end) for p in passages]
    assert len(spans) == len(set(spans))
    for p in passages:
        assert BODY[p.chunk.start:p.chunk.end] == p.chunk.text
        assert sentence_spans(p.chunk.text)  # whole sentences, never a cut one


def test_chunks_mode_sends_the_retrieved_chunks_unchanged():
    hits = [Hit(chunk(f"c{i}", 0, len(BODY)), 1.0 - i / 10) for i in range(6)]
    passages = select_context(ContextBudget(mode="chunks"), hits, scored_for(hits, ["捐赠"]))
    assert passages == hits


def test_budget_comes_from_the_config_and_bad_values_name_the_key():
    cfg = config_from_dict({"llm": {"context_sentences": 2, "context_neighbours": 0}})
    assert budget_of(cfg.llm) == ContextBudget("sentences", 2, 0)
    with pytest.raises(ConfigError, match="llm.context"):
        config_from_dict({"llm": {"context": "everything"}})
    with pytest.raises(ConfigError, match="llm.context_neighbours"):
        config_from_dict({"llm": {"context_neighbours": -1}})


def test_conversation_note_only_for_follow_ups():
    alone = SearchQuery("Anthropic是什么公司？", "Anthropic是什么公司？", ("anthropic",), False)
    assert conversation_note(alone) == ""
    follow = SearchQuery("这个组织是谁创立的？", "…", (), True, context="Anthropic向哪个组织捐赠了2000万美元？",
                         subject="Anthropic向Public First Action捐赠了2000万美元。", in_conversation=True)
    note = conversation_note(follow)
    assert "Public First Action" in note and "之前的问题" in note and note.startswith("<conversation>")


def _answer(text, citations=()):
    return Answer(text, citations, not citations, "q")


def test_cli_stream_prints_pieces_then_the_checked_text_when_it_changed(capsys):
    from rag.cli import _streamed_answer

    cite = Citation(1, "a.md", "标题", None, None, "公司向…捐赠了2000万美元。", "c0", 0, 5)
    final = _streamed_answer(iter(["捐赠了", "2000万美元[1][7]。", _answer("捐赠了2000万美元[1]。", (cite,))]))
    out = capsys.readouterr().out
    assert out.startswith("捐赠了2000万美元[1][7]。")  # as the model wrote it, piece by piece
    assert "checked against the passages:\n捐赠了2000万美元[1]。" in out and "[1] 标题" in out
    assert final.text == "捐赠了2000万美元[1]。"


def test_cli_stream_does_not_repeat_an_unchanged_answer(capsys):
    from rag.cli import _streamed_answer

    _streamed_answer(iter(["资料中没有", "找到相关信息。", _answer("资料中没有找到相关信息。")]))
    out = capsys.readouterr().out
    assert out.count("资料中没有找到相关信息。") == 1 and "checked" not in out
