"""The deployment for more users than one process serves (issue 25, docs/operations.md): two
`rag serve` processes answering from one Chroma server (`chroma run`), each with its own copy
of the BM25 index and the sentence vectors in memory, give the same answers; a re-ingest while
both serve reaches both, with no restart and no failed request. Real processes, a real Chroma
server, the Gradio API; the hashing embedder of tests/fakes.py by dotted path."""

from __future__ import annotations

import time

import pytest

from tests.conftest import free_port
from tests.test_chroma_server import start_chroma_server
from tests.test_limits import wait_for_server
from tests.test_reliability import ANSWER, NEW_ANSWER, NEW_FACT, NEW_QUESTION, QUESTION, Site

pytestmark = pytest.mark.slow


def test_two_servers_answer_alike_from_one_chroma_server_through_a_rolling_reingest(tmp_path):
    from gradio_client import Client

    chroma, chroma_url = start_chroma_server(tmp_path)
    servers = []
    try:
        site = Site(tmp_path, embedding={"model": "fake-hash-64"}, vectorstore={"server_url": chroma_url})
        first = site.run("ingest")
        assert first.returncode == 0, first.stderr
        assert not (site.data / "chroma").exists()  # the vectors live in the Chroma server
        ports = [free_port(), free_port()]
        servers = [site.popen("serve", "--port", str(p)) for p in ports]
        urls = [f"http://127.0.0.1:{p}/" for p in ports]
        for url, proc in zip(urls, servers):
            wait_for_server(url, proc)
        clients = [Client(url, verbose=False) for url in urls]
        answers = [c.predict(QUESTION, api_name="/ask") for c in clients]
        assert ANSWER in answers[0]["text"]
        assert answers[0]["text"] == answers[1]["text"] and answers[0]["citations"] == answers[1]["citations"]
        assert all(c.predict(NEW_QUESTION, api_name="/ask")["abstained"] for c in clients)

        # a rolling re-ingest: the corpus changes and is ingested while both serve; each
        # reloads its own copy at its next question
        article = site.corpus / "002_f48170bfe59e2718.txt"
        article.write_text(article.read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
        again = site.run("ingest")
        assert again.returncode == 0, again.stderr
        deadline = time.time() + 60
        fresh = [False, False]
        while not all(fresh) and time.time() < deadline:
            for i, c in enumerate(clients):
                fresh[i] = fresh[i] or NEW_ANSWER in c.predict(NEW_QUESTION, api_name="/ask")["text"]
            time.sleep(0.5)
        assert fresh == [True, True]
        after = [c.predict(QUESTION, api_name="/ask") for c in clients]
        assert ANSWER in after[0]["text"] and after[0]["text"] == after[1]["text"]
        assert all(p.poll() is None for p in servers)  # nothing restarted
    finally:
        for p in servers:
            p.terminate()
        for p in servers:
            p.wait(timeout=30)
        chroma.terminate()
        chroma.wait(timeout=30)
