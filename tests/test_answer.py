"""The public answer API over the real shipped index (real model, real Chroma on disk)."""

import json
import shutil
import subprocess
import sys

import pytest

from rag import Answer, Citation, answer
from rag.errors import QuestionError
from rag.index.corpus import load_corpus
from rag.pipeline import make_filter
from tests.conftest import SHIPPED_CORPUS

pytestmark = pytest.mark.slow
DONATION = "003_f37bc0b3fb1d0fae.txt"
RWANDA = "002_f48170bfe59e2718.txt"


@pytest.fixture(scope="module")
def bodies():
    return {a.id: a.body for a in load_corpus(SHIPPED_CORPUS, (".txt",), 10**7)[0]}


def test_answer_fields_and_exact_quotes(shipped_pipeline, bodies):
    result = answer("Anthropic向哪个组织捐赠了2000万美元？", pipeline=shipped_pipeline)
    assert isinstance(result, Answer) and not result.abstained
    assert "Public First Action" in result.text and "[1]" in result.text
    assert result.citations and all(isinstance(c, Citation) for c in result.citations)
    c = result.citations[0]
    assert c.marker == 1 and c.source == DONATION
    assert c.title == "Anthropic捐赠2000万美元支持AI政策倡导组织"
    assert c.url == "https://www.anthropic.com/news/donate-public-first-action"
    assert c.date == "2026-02-12"
    retrieved = {h.chunk.id for h in result.hits}
    for c in result.citations:
        assert bodies[c.source][c.start : c.end] == c.quote  # the exact cited text
        assert c.chunk_id in retrieved  # only retrieved text is cited
        assert f"[{c.marker}]" in result.text
    # readable Chinese: no markdown left in the answer
    assert not any(mark in result.text for mark in ("**", "##", "* ", "[[", "](http"))


def test_list_question_gives_all_items(shipped_pipeline):
    result = shipped_pipeline.answer("Anthropic与美国能源部的合作聚焦哪三大领域？")
    for area in ("能源主导地位", "生物与生命科学", "科研生产力"):
        assert area in result.text


@pytest.mark.parametrize("question", [
    "Anthropic和日本政府有合作吗？",
    "Claude的上下文窗口有多大？",
    "Public First Action的总部在哪里？",
    "Anthropic向Public First Action捐赠了多少欧元？",
    "What is the capital of Rwanda?",
])
def test_abstains_when_the_articles_do_not_say(shipped_pipeline, question):
    result = shipped_pipeline.answer(question)
    assert result.abstained and result.citations == ()
    assert result.text in ("资料中没有找到相关信息。", "The articles do not contain information that answers this question.")


def test_follow_up_uses_history(shipped_pipeline):
    history = [
        {"role": "user", "content": "Anthropic向哪个组织捐赠了2000万美元？"},
        {"role": "assistant", "content": "Anthropic向Public First Action捐赠2000万美元。[1]"},
    ]
    alone = shipped_pipeline.answer("这个组织是由谁创立的？")
    followed = answer("这个组织是由谁创立的？", history=history, pipeline=shipped_pipeline)
    assert followed.hits[0].chunk.article_id == DONATION
    assert "共和党和民主党战略家" in followed.text
    assert followed.citations[0].source == DONATION
    assert alone.text != followed.text  # without history the question is ambiguous


def test_filters_restrict_articles_and_dates(shipped_pipeline):
    only_rwanda = make_filter(article_ids=[RWANDA])
    hits = shipped_pipeline.retrieve("Anthropic 合作 AI", filters=only_rwanda)
    assert hits and {h.chunk.article_id for h in hits} == {RWANDA}
    january = make_filter(date_from="2026-01-01", date_to="2026-01-31")
    hits = shipped_pipeline.retrieve("Anthropic 合作 AI", filters=january)
    assert hits and {h.chunk.date for h in hits} == {"2026-01-27"}
    # the donation article is outside the range, so its facts are not found
    result = shipped_pipeline.answer("Anthropic向哪个组织捐赠了2000万美元？", filters=january)
    assert result.abstained or all(c.source != DONATION for c in result.citations)
    with pytest.raises(QuestionError, match="date_from"):
        make_filter(date_from="yesterday")


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("\x00\x01", "empty"), ("问" * 5000, "limit is 2000"),
])
def test_bad_questions_raise_clear_errors(shipped_pipeline, question, message):
    with pytest.raises(QuestionError, match=message):
        shipped_pipeline.answer(question)


def test_streaming_yields_text_then_the_answer(shipped_pipeline):
    parts = list(shipped_pipeline.stream("卢旺达的教育工作者将获得多少个Claude Pro许可证？"))
    assert isinstance(parts[-1], Answer)
    assert "".join(p for p in parts[:-1]) == parts[-1].text
    assert "2000" in parts[-1].text


def test_the_langchain_chain_answers_as_the_pipeline_does(shipped_pipeline):
    question = "卢旺达的教育工作者将获得多少个Claude Pro许可证？"
    inp = {"question": question, "history": None, "filters": None, "page": 1}
    parts = list(shipped_pipeline.chain.stream(inp))
    direct = shipped_pipeline.answer(question)
    assert isinstance(parts[-1], Answer)
    assert "".join(p for p in parts[:-1]) == parts[-1].text == direct.text
    assert parts[-1].citations == direct.citations and "2000" in direct.text


def test_langchain_retriever_adapter(shipped_pipeline):
    from rag.chain import HybridLangChainRetriever

    docs = HybridLangChainRetriever(retriever=shipped_pipeline.retriever, k=3).invoke("GOV.UK AI助手")
    assert len(docs) == 3 and docs[0].metadata["article_id"] == "000_8378715d027410b1.txt"
    assert docs[0].page_content == docs[0].metadata["hit"].chunk.text


def run_cli(cfg, *args):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, "RAG_CONFIG": cfg})


@pytest.fixture(scope="module")
def cfg_file(shipped_index, tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg") / "rag.yaml"
    p.write_text(json.dumps({"corpus": {"path": shipped_index.corpus.path}, "data_dir": shipped_index.data_dir}))
    return str(p)


def test_cli_ask_prints_answer_and_sources(cfg_file):
    run = run_cli(cfg_file, "ask", "卢旺达ICT与创新部长是谁？")
    assert run.returncode == 0, run.stderr
    assert "Paula Ingabire" in run.stdout and "[1] Anthropic与卢旺达达成三年期合作" in run.stdout
    assert "https://www.anthropic.com/news/anthropic-rwanda-mou" in run.stdout
    data = json.loads(run_cli(cfg_file, "ask", "--json", "卢旺达ICT与创新部长是谁？").stdout)
    assert data["abstained"] is False and data["citations"][0]["source"] == RWANDA
    bad = run_cli(cfg_file, "ask", "   ")
    assert bad.returncode == 2 and "question is empty" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_ask_without_an_index_builds_one_that_the_next_ask_reads(tmp_path, capsys):
    """`rag ask` ends without tearing the interpreter down (rag.cli.run) only when it wrote
    nothing: not when it had to build the index first; that index is whole afterwards."""
    from rag.cli import _dispatch

    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    cfg = tmp_path / "rag.yaml"
    cfg.write_text(json.dumps({"corpus": {"path": str(corpus)}, "data_dir": str(tmp_path / "data")}))
    assert _dispatch(["--config", str(cfg), "ask", "卢旺达ICT与创新部长是谁？"]) == (0, False)
    assert "Paula Ingabire" in capsys.readouterr().out
    assert _dispatch(["--config", str(cfg), "ask", "--json", "Anthropic向哪个组织捐赠了2000万美元？"]) == (0, True)
    assert json.loads(capsys.readouterr().out)["abstained"] is False
    again = run_cli(str(cfg), "ask", "Anthropic向哪个组织捐赠了2000万美元？")  # the `rag` command's own exit
    assert again.returncode == 0 and "Public First Action" in again.stdout, again.stderr
    status = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg), "ingest"],
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    assert "0 added, 0 updated, 4 unchanged" in status.stdout, status.stdout  # whole: nothing to redo


def test_cli_ask_into_a_full_disk_says_so(cfg_file):
    """`rag ask ... > answer.txt` on a full disk: an error and exit code 1, not a silent 0."""
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", cfg_file, "ask", "卢旺达ICT与创新部长是谁？"],
                             stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert run.returncode == 1 and "No space left on device" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_cli_chat_keeps_history(cfg_file):
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "--config", cfg_file, "chat"],
        input="Anthropic向哪个组织捐赠了2000万美元？\n这个组织是由谁创立的？\n\n",
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Public First Action" in run.stdout and "共和党和民主党战略家" in run.stdout


def test_answer_without_config_builds_the_index_first(tmp_path, monkeypatch, real_embedder):
    import rag
    import rag.pipeline

    cfg = tmp_path / "rag.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'fresh'}\ncorpus: {{path: {SHIPPED_CORPUS}}}\n")
    monkeypatch.setenv("RAG_CONFIG", str(cfg))
    monkeypatch.setattr(rag.pipeline, "build_embedder", lambda c: real_embedder)
    monkeypatch.setattr(rag, "_pipelines", {})
    result = rag.answer("GOV.UK的AI助手首个应用场景聚焦哪个领域？")
    assert "就业" in result.text and (tmp_path / "fresh" / "lexical" / "meta.json").exists()
