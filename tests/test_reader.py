"""The reader's parts that need no trained weights: SQuAD folds, windows and their offsets,
span decoding, the CMRC metrics, and the answerer's use of a reader (with a fake reader)."""

import json

import numpy as np
import pytest

from evals.squad_metrics import exact_match, f1
from rag.answering.extractive import candidate_sentences, score_sentences
from rag.answering.reading import cite_first, read_best
from rag.errors import ConfigError
from rag.index.e5.tokenizer import E5Tokenizer
from rag.index.e5.weights import SourceModel
from rag.reader.runtime import Span, best_span
from rag.reader.squad import fold_of, load_squad
from rag.reader.train import ExampleMaker
from rag.reader.windows import NO_ANSWER, windows_over
from rag.retrieve.query import QueryTerms
from rag.tuned import DEFAULTS
from rag.types import Chunk, Hit


@pytest.fixture(scope="module")
def tokenizer():
    source = SourceModel()
    return E5Tokenizer(source.vocabulary, source.dims.positions)


def squad_file(tmp_path, paragraphs):
    data = {"data": [{"title": "t", "paragraphs": paragraphs}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_squad_items_keep_aligned_answers_and_near_misses(tmp_path):
    context = "台风卡努是今年第6号台风，8月10日登陆韩国。"
    path = squad_file(tmp_path, [{"context": context, "qas": [
        {"id": "a", "question": "卡努是第几号台风？", "answers": [{"text": "第6号", "answer_start": 7}]},
        {"id": "b", "question": "卡努在哪里登陆日本？", "answers": [], "is_impossible": True},
        {"id": "c", "question": "错位的答案？", "answers": [{"text": "韩国", "answer_start": 0}]},
    ]}])
    items = load_squad(path)
    assert [i.id for i in items] == ["a", "b"]  # "c" points at the wrong place: dropped
    assert items[0].answers[0].text == "第6号" and not items[0].impossible and items[1].impossible
    assert items[0].paragraph == items[1].paragraph  # one fold per paragraph, never per question
    assert fold_of(items[0]) == fold_of(items[1])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a SQuAD-format file"):
        load_squad(tmp_path / "bad.json")


def test_windows_cover_the_text_and_quote_it_exactly(tokenizer):
    text = "新华社北京8月1日电 受台风“杜苏芮”影响，北京市出现强降雨。" * 12
    windows = windows_over(tokenizer, "北京出现了什么天气？", text, 96)
    assert len(windows) > 1 and all(len(w.ids) <= 96 for w in windows)
    covered = set()
    for w in windows:
        assert w.ids[0] == tokenizer.bos and w.ids[-1] == tokenizer.eos
        for s, e in w.spans:
            covered.update(range(s, e))
    assert covered >= {i for i, ch in enumerate(text) if not ch.isspace()}
    w = windows[0]
    first = w.context_from + next(i for i, (s, e) in enumerate(w.spans) if text[s:e].startswith("台"))
    a, b = w.char_span(first, first + 1)
    assert text[a:b].startswith("台")


def test_training_windows_hold_the_answer_where_the_labels_say(tokenizer, tmp_path):
    context = "。".join(f"第{i}句话讲的是别的事情" for i in range(40)) + "。卡努是今年第6号台风。" + "其他内容。" * 30
    start = context.index("第6号")
    path = squad_file(tmp_path, [{"context": context, "qas": [
        {"id": "a", "question": "卡努是第几号台风？", "answers": [{"text": "第6号", "answer_start": start}]},
        {"id": "b", "question": "杜苏芮是第几号？", "answers": [], "is_impossible": True}]}])
    answerable, impossible = load_squad(path)
    import random

    maker = ExampleMaker(tokenizer, 64)
    for seed in range(5):
        examples = maker.examples(answerable, random.Random(seed), negative_share=1.0)
        positive = examples[0]
        a, b = positive.window.char_span(positive.start, positive.end)
        assert "第6号" in context[a:b] and len(context[a:b]) <= 6
        assert all(e.start == e.end == NO_ANSWER for e in examples[1:])
        assert all("第6号" not in e.window.text[e.window.spans[0][0]:e.window.spans[-1][1]] for e in examples[1:])
    (none,) = maker.examples(impossible, random.Random(0), negative_share=1.0)
    assert none.start == none.end == NO_ANSWER


def test_best_span_prefers_the_highest_pair_within_the_length_limit(tokenizer):
    (w,) = windows_over(tokenizer, "问题", "甲乙丙丁戊己庚辛", 64)
    logits = np.zeros((len(w.ids), 2), np.float32)
    logits[:, 0] = -10.0
    logits[NO_ANSWER] = (1.0, 1.0)
    logits[w.context_from + 2, 0] = 5.0  # start at the 3rd context token
    logits[w.context_from + 1, 1] = 9.0  # the best end lies before the start: not a span
    logits[w.context_from + 4, 1] = 4.0
    first, last, margin = best_span(logits, w)
    assert (first, last) == (w.context_from + 2, w.context_from + 4)
    assert margin == pytest.approx(9.0 - 2.0)


def test_cmrc_metrics():
    assert exact_match("第6号。", ["第6号"]) == 1.0
    assert exact_match("6号", ["第6号"]) == 0.0
    assert f1("6号", ["第6号"]) == pytest.approx(0.8)
    assert f1("", ["x"]) == 0.0


class FakeReader:
    """Answers with the first occurrence of `needle` in whatever it reads."""

    def __init__(self, needle, margin):
        self.needle, self.margin, self.calls = needle, margin, []

    def read(self, question, texts):
        self.calls.append(texts)
        out = []
        for i, t in enumerate(texts):
            k = t.find(self.needle)
            out.append(Span(i, k, k + len(self.needle), self.needle, self.margin) if k >= 0 else
                       Span(i, 0, 1, t[:1], -5.0))
        return out


def _hits():
    text = "台风卡努于8月10日登陆韩国。它是今年第6号台风。当天首尔降雨。"
    chunk = Chunk("c1", "a.md", 0, text, 100, 100 + len(text), (), "台风", None, "2023-08-10", "h", 1)
    return [Hit(chunk, 1.0)]


def test_the_reader_reads_neighbours_and_its_span_lies_in_a_cited_sentence():
    hits = _hits()
    sentences = candidate_sentences(hits)
    q = QueryTerms(("卡努", "台风"), (1.0, 1.0))
    scored = score_sentences(q, sentences)
    reading, margin = read_best(FakeReader("第6号", 3.0), "卡努是今年第几号台风？", sentences, scored, DEFAULTS)
    assert reading is not None and margin == 3.0
    assert reading.text == "第6号" and reading.sentence.text == "它是今年第6号台风。"
    body = " " * 100 + hits[0].chunk.text
    assert body[reading.start : reading.end] == "第6号"
    chosen = cite_first([sentences[0]], reading.sentence, 3)
    assert chosen[0] is reading.sentence and chosen[1] is sentences[0]


def test_the_chat_shows_the_short_answer_first_and_marks_it_inside_its_quote():
    from rag.types import Answer, Citation, ShortAnswer
    from ui.render import answer_html

    quote = "它是今年第6号台风。"
    c = Citation(1, "a.md", "台风", None, "2023-08-10", quote, "c1", 115, 115 + len(quote))
    short = ShortAnswer("第6号", 1, quote.index("第6号"), quote.index("第6号") + 3, 4.2)
    answer = Answer(f"第6号[1]\n{quote}[1]", (c,), False, "卡努是今年第几号台风？", short_answer=short)
    page = answer_html(answer)
    assert page.index('class="short-answer"') < page.index("它是今年")
    assert '<mark class="short">第6号</mark>' in page
    assert "<p>第6号" not in page  # the first line is the short answer block, not repeated as text


@pytest.mark.slow
def test_a_second_training_stage_goes_on_from_the_trained_delta(tmp_path):
    """`rag train-reader --init-from DELTA`: the run starts from the delta's layers and head (its
    loss is a trained reader's, far under a fresh head's, near ln(window) ~ 4), and writes a
    delta of the same depth."""
    import dataclasses

    from rag.reader.model import DELTA_FILE, delta_trainable_from, load_delta
    from rag.reader.train import TrainSettings, train

    context = "台风卡努是今年第6号台风，8月10日在韩国庆尚南道登陆。" * 2 + "其他内容。" * 10
    qas = [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
           for i, (q, a) in enumerate([("卡努是今年第几号台风？", "第6号"), ("卡努在哪里登陆？", "韩国庆尚南道"),
                                        ("卡努哪天登陆？", "8月10日")] * 6)]
    items = load_squad(squad_file(tmp_path, [{"context": context, "qas": qas}]))
    settings = TrainSettings(epochs=1, batch_size=6, max_tokens=64, negative_share=0.0, warmup_steps=1,
                             lr_layers=1e-6, lr_head=1e-6, init_from=str(DELTA_FILE), start_epoch=2)
    summary = train(items, tmp_path / "delta.safetensors", tmp_path / "work", settings, log=lambda m: None)
    fresh = train(items, tmp_path / "fresh.safetensors", tmp_path / "work-fresh",
                  dataclasses.replace(settings, init_from=None, start_epoch=0), log=lambda m: None)
    assert summary["steps"] == 3
    assert fresh["final_loss"] > 3.5 and summary["final_loss"] < fresh["final_loss"] - 1.0
    assert delta_trainable_from(load_delta(tmp_path / "delta.safetensors")) == delta_trainable_from(
        load_delta(DELTA_FILE))


@pytest.mark.slow
def test_a_deeper_stage_starts_from_a_shallower_delta_and_stores_int8_matrices(tmp_path):
    """`--trainable-from 9 --init-from DELTA(10) --int8-delta`: layer 9 starts as e5's, the
    delta's layers and head as trained; the written delta holds layer 9 too, its matrices as
    int8 rows with a scale each, which load back within a rounding step. A stage shallower
    than its starting delta is refused (it would drop that delta's lower layers)."""
    import dataclasses

    import numpy as np
    from safetensors.numpy import load_file

    from rag.errors import ConfigError
    from rag.reader.model import SCALE_SUFFIX, build_reader, delta_trainable_from, load_delta
    from rag.reader.train import TrainSettings, train

    context = "台风卡努是今年第6号台风，8月10日在韩国庆尚南道登陆。" + "其他内容。" * 10
    qas = [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
           for i, (q, a) in enumerate([("卡努是今年第几号台风？", "第6号"), ("卡努在哪里登陆？", "韩国庆尚南道")] * 3)]
    items = load_squad(squad_file(tmp_path, [{"context": context, "qas": qas}]))
    first = TrainSettings(epochs=1, batch_size=6, max_tokens=64, negative_share=0.0, warmup_steps=1,
                          lr_layers=1e-6, lr_head=1e-6, trainable_from=10)
    train(items, tmp_path / "first.safetensors", tmp_path / "work-1", first, log=lambda m: None)
    deeper = dataclasses.replace(first, trainable_from=9, int8_delta=True, init_from=str(tmp_path / "first.safetensors"),
                                 start_epoch=1)
    train(items, tmp_path / "deeper.safetensors", tmp_path / "work-2", deeper, log=lambda m: None)

    raw = load_file(str(tmp_path / "deeper.safetensors"))
    new, kept = "encoder.encoder.layer.9.attention.self.query.weight", "encoder.encoder.layer.10.output.dense.weight"
    assert raw[new].dtype == np.int8 and raw[new + SCALE_SUFFIX].shape == (raw[new].shape[0],)
    assert raw["span_head.weight"].dtype == np.float16  # the head stays fp16
    stage = load_delta(tmp_path / "deeper.safetensors")
    assert delta_trainable_from(stage) == 9
    e5 = build_reader(None).state_dict()
    before = load_delta(tmp_path / "first.safetensors")
    for name, start in ((new, e5[new].numpy()), (kept, before[kept].astype(np.float32))):
        step = raw[name + SCALE_SUFFIX].astype(np.float32)[:, None]
        assert np.all(np.abs(stage[name] - start) <= 0.6 * step + 1e-4)  # where it started, int8-rounded
    assert np.abs(stage[new] - e5[new].numpy()).max() > 0
    served = build_reader(tmp_path / "deeper.safetensors").state_dict()[new].numpy()
    assert np.array_equal(served, stage[new])
    with pytest.raises(ConfigError, match="shallower"):
        train(items, tmp_path / "x.safetensors", tmp_path / "work-3",
              dataclasses.replace(deeper, init_from=str(tmp_path / "deeper.safetensors"), trainable_from=11),
              log=lambda m: None)


def test_question_tower_pairs_each_question_with_the_sentence_its_answer_starts_in(tmp_path):
    from evals.question_tower import pairs_and_sentences

    context = "台风卡努是今年第6号台风。它于8月10日登陆韩国。当地多处停电。"
    path = squad_file(tmp_path, [{"context": context, "qas": [
        {"id": "a", "question": "卡努在哪里登陆？", "answers": [{"text": "韩国", "answer_start": context.index("韩国")}]},
        {"id": "b", "question": "卡努是第几号台风？", "answers": [{"text": "第6号", "answer_start": 7}]},
        {"id": "c", "question": "卡努在哪里登陆日本？", "answers": [], "is_impossible": True},
    ]}])
    pairs, sentences = pairs_and_sentences(load_squad(path))
    assert [(p.question, p.answer_sentence) for p in pairs] == [("卡努在哪里登陆？", 1), ("卡努是第几号台风？", 0)]
    (texts,) = sentences.values()
    assert texts[pairs[0].answer_sentence].startswith("它于8月10日登陆韩国")  # unanswerable: no pair
