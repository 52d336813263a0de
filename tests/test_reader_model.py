"""The trained reader through its real parts: the shipped delta assembled into ONNX, the
shipped index in Chroma on disk, `answer()` with `answer.reader: span`."""

import pytest

from rag import answer
from rag.config import config_from_dict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader_pipeline(shipped_index):
    from rag.pipeline import build_pipeline

    data = {"corpus": {"path": shipped_index.corpus.path}, "data_dir": shipped_index.data_dir,
            "answer": {"reader": "span"}}
    return build_pipeline(config_from_dict(data))


@pytest.fixture(scope="module")
def fast_pipeline(shipped_index):
    """The fast path: the same index with the reader off by config."""
    from rag.pipeline import build_pipeline

    data = {"corpus": {"path": shipped_index.corpus.path}, "data_dir": shipped_index.data_dir,
            "answer": {"reader": "off"}}
    return build_pipeline(config_from_dict(data))


@pytest.fixture(scope="module")
def span_reader():
    from rag.reader.build import build_span_reader

    return build_span_reader()


def test_a_short_answer_comes_first_with_offsets_into_its_cited_sentence(reader_pipeline):
    result = answer("How much money did Anthropic donate to Public First Action?", pipeline=reader_pipeline)
    short = result.short_answer
    assert short is not None and not result.abstained
    assert short.text == "2000万美元"
    cited = next(c for c in result.citations if c.marker == short.marker)
    assert cited.quote[short.start : short.end] == short.text
    assert result.text.startswith(short.text + f"[{short.marker}]\n")
    assert result.to_dict()["short_answer"]["text"] == short.text


def test_the_reader_is_on_by_default_and_off_by_config(shipped_pipeline, fast_pipeline):
    question = "How much money did Anthropic donate to Public First Action?"
    assert answer(question, pipeline=shipped_pipeline).short_answer is not None
    fast = answer(question, pipeline=fast_pipeline)
    assert fast.short_answer is None and not fast.abstained
    assert "2000万美元" in fast.citations[0].quote


def test_an_english_question_gets_its_short_answer_from_a_chinese_sentence(reader_pipeline):
    result = answer("How much money did Anthropic donate to Public First Action?", pipeline=reader_pipeline)
    assert not result.abstained
    assert result.short_answer is not None and "2000万美元" in result.short_answer.text


def test_the_reader_quotes_the_asked_for_number_from_the_text(span_reader):
    # The first delta does not yet tell near misses apart (「卡努在日本哪里登陆？」 over this
    # text reads 韩国 with a higher margin): issue 24 stays open on abstention.
    text = "台风卡努是今年第6号台风，8月10日上午在韩国庆尚南道登陆，登陆时中心附近最大风力有10级。"
    (hit,) = span_reader.read("卡努是今年第几号台风？", [text])
    assert hit is not None and hit.text in ("6", "第6号", "第6号台风", "6号")
    assert text[hit.start : hit.end] == hit.text


def test_a_near_miss_is_abstained_with_the_reader_on(reader_pipeline):
    """The articles give the donation in 美元; asked in 欧元 the answer abstains and the reader
    offers no short answer (abstention stays the evidence gate's: docs/reader.md)."""
    near_miss = answer("Anthropic向Public First Action捐赠了多少欧元？", pipeline=reader_pipeline)
    assert near_miss.abstained and near_miss.short_answer is None and not near_miss.citations
    asked_right = answer("Anthropic向Public First Action捐赠了多少美元？", pipeline=reader_pipeline)
    assert not asked_right.abstained and asked_right.short_answer is not None
    assert "2000万" in asked_right.short_answer.text


def test_pipelines_of_one_process_share_the_loaded_reader(shipped_pipeline, reader_pipeline, span_reader):
    """A pipeline rebuilt after a re-ingest reuses the session, not a second 300 MB of it."""
    from rag.reader.build import build_span_reader

    assert shipped_pipeline.answerer.reader is reader_pipeline.answerer.reader is span_reader
    assert build_span_reader(threads=2) is not span_reader  # other settings: another session
