"""Bounded state per anonymous client: the feedback log, a session's turns, the sessions the
server keeps, the feedback log's path, and reading a hostile feedback log. The real app on a
real port (driven as the page drives it: queue/join + the event stream, or through
gradio_client), real files on disk, the real command in a real process."""

from __future__ import annotations

import http.client
import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from rag.config import config_from_dict
from rag.errors import ConfigError
from rag.pipeline import build_pipeline
from tests.conftest import free_port
from tests.test_reliability import Site, one_line_error
from ui.chat import DROPPED, Session

QUESTION, ANSWER = "卢旺达ICT与创新部长是谁？", "Paula Ingabire"


def serve(root: Path, **ui):
    """The real app and launch() over the shipped corpus (fake embedder) on a free port."""
    from ui.app import build_app
    from ui.server import launch

    site = Site(root, ui=ui)
    site.ingest_here()
    app = build_app(build_pipeline(site.cfg, embedder=site.emb), site.cfg)
    port = free_port()
    launch(app, site.cfg, "127.0.0.1", port, block=False)
    return site, app, port


class Page:
    """One browser tab as the page's script talks to the server: an event is POSTed to
    queue/join under the tab's session hash and its result read from the event stream."""

    def __init__(self, app, port: int):
        self.port = port
        self.session_hash = uuid.uuid4().hex[:11]
        self.fn_index = {}
        for index, fn in app.fns.items():
            self.fn_index.setdefault(fn.name, index)

    def run(self, fn: str, data: list, event_data: dict | None = None) -> list[dict]:
        """The event's messages, up to and including process_completed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = json.dumps({"data": data, "fn_index": self.fn_index[fn], "session_hash": self.session_hash,
                           "event_data": event_data, "trigger_id": None}).encode()
        conn.request("POST", "/gradio_api/queue/join", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        event_id = json.loads(resp.read())["event_id"]
        conn.request("GET", f"/gradio_api/queue/data?session_hash={self.session_hash}")
        resp = conn.getresponse()
        messages = []
        try:
            for raw in resp:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, event_id):
                    continue
                messages.append(message)
                if message.get("msg") == "process_completed":
                    return messages
        finally:
            conn.close()
        raise AssertionError(f"the event stream ended early: {messages}")

    def chat(self, question: str) -> list[dict]:
        return self.run("chat", [question, None, [], "", "", False])

    def vote(self, turn: int, liked: bool) -> list[dict]:
        return self.run("vote", [None], {"index": [2 * turn + 1, 0], "value": "", "liked": liked})


def warnings(messages: list[dict]) -> list[str]:
    """What the page shows as a warning toast for this event."""
    return [m["log"] for m in messages if m.get("msg") == "log" and m.get("level") == "warning"]


def session_state(app, session_hash: str) -> Session | None:
    state = app.state_holder.session_data.get(session_hash)
    found = [v for v in state.state_data.values() if isinstance(v, Session)] if state else []
    return found[0] if found else None


def call_chat(port: int, question: str) -> tuple[str, str]:
    """One /chat call as any HTTP client makes it (each a new Gradio session): the result
    stream's event ("complete" or "error") and its data."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/gradio_api/call/chat", json.dumps({"data": [question, [], "", "", False]}).encode(),
                     {"Content-Type": "application/json"})
        event_id = json.loads(conn.getresponse().read())["event_id"]
        conn.request("GET", f"/gradio_api/call/chat/{event_id}")
        text = conn.getresponse().read().decode("utf-8")
    finally:
        conn.close()
    event = next(line[6:].strip() for line in text.splitlines() if line.startswith("event:"))
    data = next(line[5:].strip() for line in text.splitlines() if line.startswith("data:"))
    return event, data


# -- 4 and 9. a vote stores a bounded record, appended, at a bounded rate; the log is rotated --

def test_votes_are_bounded_appended_rotated_and_rate_limited(tmp_path, capfd):
    """The issue's client: long turns, then a thumbs-down on each. Before: each line held the
    whole history (it grew with every turn) and the file was rewritten per vote."""
    site, app, port = serve(tmp_path, votes_per_minute=8, feedback_log_bytes=40_000)
    try:
        page = Page(app, port)
        long_question = QUESTION + "请结合文章详细说明背景。" * 150  # ~1,800 characters
        for _ in range(12):
            assert page.chat(long_question)[-1]["success"]
        log = site.data / "feedback.jsonl"
        for turn in range(7):
            assert warnings(page.vote(turn, liked=False)) == []
        rotated = log.with_name("feedback.jsonl.1")
        assert rotated.exists()  # the log passed 40,000 bytes and began again
        for f in (log, rotated):
            assert f.stat().st_size <= 40_000
        records = [json.loads(line) for f in (rotated, log) for line in f.read_bytes().splitlines()]
        # one appended line per vote, in order: the latest ones (the older went with rotation)
        voted = [session_state(app, page.session_hash).turns[t].id for t in range(7)]
        assert 3 <= len(records) < 7 and [r["answer_id"] for r in records] == voted[-len(records):]
        for record in records:
            assert record["vote"] == "down" and record["question"] == long_question
            assert record["history"] and record["history"][0]["role"] == "user"
            assert sum(len(m["content"]) for m in record["history"]) <= 4000  # ui.feedback_context_chars
            assert len(json.dumps(record, ensure_ascii=False).encode()) < 20_000

        # 9. the disk refusing the write is a bilingual warning, not a traceback
        capfd.readouterr()
        log.unlink()
        log.mkdir()
        said = warnings(page.vote(7, liked=False))
        assert said and said[0].startswith("反馈没有保存") and "The vote was not saved" in said[0]
        log.rmdir()
        # the rate: 8 votes a minute from this address (the one that failed counted too)
        refused = [warnings(page.vote(turn, liked=False)) for turn in range(8, 12)]
        assert all(w and w[0].startswith("反馈太频繁") for w in refused), refused
        assert not log.exists()
        err = capfd.readouterr().err
        assert "Traceback" not in err and "refused: cannot save the vote" in err, err
    finally:
        app.close()


@pytest.mark.parametrize("name, why", [
    ("chroma/chroma.sqlite3", "must end in .jsonl"),
    ("chroma/feedback.jsonl", "must not be inside the index"),
    ("lexical.3f2a/x.jsonl", "must not be inside the index"),
    ("sentences/x.jsonl", "must not be inside the index"),
    ("../feedback.jsonl", "must stay inside data_dir"),
    ("/tmp/feedback.jsonl", "relative to data_dir"),
    ("~/feedback.jsonl", "relative to data_dir"),
    ("feedback.txt", "must end in .jsonl"),
])
def test_feedback_log_path_must_stay_in_the_data_dir_and_out_of_the_index(tmp_path, name, why):
    with pytest.raises(ConfigError, match="ui.feedback_log") as err:
        config_from_dict({"data_dir": str(tmp_path), "ui": {"feedback_log": name}})
    assert why in str(err.value)
    for fine in ("feedback.jsonl", "logs/feedback.jsonl"):
        assert config_from_dict({"data_dir": str(tmp_path), "ui": {"feedback_log": fine}}).ui.feedback_log == fine


def test_feedback_log_into_the_index_is_one_line_from_the_command(tmp_path):
    site = Site(tmp_path, ui={"feedback_log": "chroma/chroma.sqlite3"})
    one_line_error(site.run("serve"), 2, "ui.feedback_log", "must end in .jsonl")


# -- 5. a session keeps and returns only its latest turns --------------------------------------

def test_a_session_keeps_and_returns_only_its_latest_turns(tmp_path):
    from gradio_client import Client

    _, app, port = serve(tmp_path, max_session_turns=3)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        replies = [client.predict(QUESTION, api_name="/chat") for _ in range(7)]
        assert [len(r) for r in replies] == [1, 2, 3, 3, 3, 3, 3]
        assert [t["id"] for t in replies[-1]] == [r[-1]["id"] for r in replies[-3:]]  # the latest
        assert ANSWER in replies[-1][-1]["text"]
        kept = session_state(app, client.session_hash)
        assert kept is not None and len(kept.turns) == 3
    finally:
        app.close()


# -- 6. fresh sessions are rate-limited per client; a dropped session is told so --------------

def test_a_flood_of_new_sessions_is_refused_and_leaves_a_conversation_in_place(tmp_path):
    from gradio_client import Client

    _, app, port = serve(tmp_path, max_sessions=10, new_sessions_per_minute=5)
    try:
        reader = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert ANSWER in reader.predict(QUESTION, api_name="/chat")[-1]["text"]
        events = [call_chat(port, QUESTION) for _ in range(60)]
        assert [e for e, _ in events].count("complete") == 4  # 5 a minute from this address
        refused = [d for e, d in events if e == "error"]
        assert len(refused) == 56 and all("Too many new conversations" in d for d in refused)
        assert len(app.state_holder.session_data) <= 10  # refused sessions hold no place
        follow = reader.predict("他说了什么？", api_name="/chat")
        assert len(follow) == 2  # the conversation is still there
    finally:
        app.close()


def test_a_reader_whose_session_was_dropped_is_told_so(tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    _, app, port = serve(tmp_path, max_sessions=10, new_sessions_per_minute=30)
    try:
        reader = Client(f"http://127.0.0.1:{port}/", verbose=False)
        reader.predict(QUESTION, api_name="/chat")
        page = Page(app, port)
        assert page.chat(QUESTION)[-1]["success"]
        events = [call_chat(port, QUESTION) for _ in range(12)]
        assert [e for e, _ in events] == ["complete"] * 12  # 14 conversations: the 2 oldest go
        assert len(app.state_holder.session_data) <= 10
        with pytest.raises(AppError) as err:
            reader.predict("他说了什么？", api_name="/chat")
        assert str(err.value).strip() == DROPPED and DROPPED.startswith("服务器") and "dropped" in DROPPED
        assert len(reader.predict(QUESTION, api_name="/chat")) == 1  # told once; then a new one
        # the page: the chat empties and says why, the question stays in the box
        out = page.chat("他说了什么？")[-1]["output"]["data"]
        chatbot, question, notice = out[0], out[2], out[3]
        assert chatbot == [] and DROPPED[:20] in notice and question != ""
    finally:
        app.close()


# -- 11. `rag eval --from-feedback` on a hostile log ------------------------------------------

def test_hostile_feedback_log_gives_one_note_per_bad_line_and_keeps_the_good(tmp_path):
    site = Site(tmp_path)
    good = {"answer_id": "a1", "vote": "down", "question": "好问题？", "answer": "答",
            "citations": [{"source": "003.txt"}], "history": []}
    changed = {"answer_id": "a2", "vote": "down", "question": "改了的？", "answer": "答", "citations": []}
    log = tmp_path / "hostile.jsonl"
    log.write_bytes(b"\n".join([
        json.dumps(good).encode(),
        b'{"question": "\xff\xfe bad bytes", "vote": "down"}',
        json.dumps({**good, "answer_id": "b", "question": "坏引用？", "citations": 5}).encode(),
        b"null",
        b"[" * 200_000 + b"]" * 200_000,
        json.dumps(changed).encode(),
        json.dumps({"answer_id": "a2", "vote": None}).encode(),  # withdrawn: not a draft
        b"{not json",
    ]))
    out = tmp_path / "out"
    r = site.run("eval", "--from-feedback", str(log), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    notes = r.stderr.strip().splitlines()
    assert len(notes) == 5, notes
    for line, why in zip((2, 3, 4, 5, 8), ("not UTF-8", "citations", "not a JSON object", "nested too deeply",
                                            "not JSON"), strict=True):
        assert any(f"line {line} skipped: " in n and why in n for n in notes), (line, notes)
    drafts = yaml.safe_load((out / "feedback_drafts.yaml").read_text(encoding="utf-8"))["items"]
    assert [d["question"] for d in drafts] == ["好问题？"] and drafts[0]["gold"] == ["003.txt"]


# -- export names ---------------------------------------------------------------------------------

def test_export_file_names_are_safe_whatever_the_question(tmp_path):
    """The page's export is named by date and the first question: separators, dots, control
    and direction characters never reach the name."""
    _, app, port = serve(tmp_path)
    try:
        for question in ("../../etc/passwd 卢旺达ICT与创新部长是谁？", "\u202egpj.exe 卢旺达部长是谁？\x00",
                         "CON:<>|?* " + "长" * 300):
            page = Page(app, port)
            download = page.chat(question)[-1]["output"]["data"][4]
            path = Path(download["value"]["path"] if "value" in download else download["path"])
            name = path.name
            assert path.is_file() and name.startswith("对话-") and name.endswith(".md"), path
            assert all(ch.isalnum() or ch in "-_." for ch in name), name
            assert ".." not in name.removesuffix(".md") and len(name.encode()) < 120, name
    finally:
        app.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)
