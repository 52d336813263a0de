"""The Gradio chat app. `build_app` takes an already-built pipeline; nothing is built at import.

Each browser session keeps its own conversation in gr.State. The chat event is exposed as
the API endpoint `/chat` (session history kept per client); `/ask` is a stateless endpoint
that takes the history explicitly and returns the Answer as JSON.
"""

import dataclasses
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

from rag.config import Config
from rag.errors import ConfigError, RagError
from rag.pipeline import Pipeline, fit_history, make_filter
from rag.types import Answer
from ui.render import answer_markdown, conversation_markdown, escape_text

EXAMPLES = [
    "Anthropic向哪个组织捐赠了2000万美元？",
    "Anthropic与美国能源部的合作聚焦哪三大领域？",
    "卢旺达的教育工作者将获得多少个Claude Pro许可证？",
    "GOV.UK的AI助手首个应用场景聚焦哪个领域？",
]


def _new_session() -> dict:
    return {"turns": []}


def _user_error(exc: Exception):
    """A request the app refuses (a bad question, an unreachable store): one line in the
    server log and one line for the user; tracebacks are kept for real bugs."""
    import gradio as gr

    print(f"refused: {exc}", file=sys.stderr, flush=True)
    return gr.Error(str(exc), print_exception=False)


def _history(turns: list[dict]) -> list[dict]:
    """The conversation in messages format, as the pipeline takes it."""
    return [m for t in turns for m in ({"role": "user", "content": t["question"]},
                                       {"role": "assistant", "content": t["answer"]})]


class FeedbackLog:
    """Appends one JSON line per vote; a lock keeps concurrent sessions' lines whole."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)


def _turn_record(question: str, answer: Answer) -> dict:
    return {
        "question": question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [dataclasses.asdict(c) for c in answer.citations],
    }


def build_app(pipeline: Pipeline, cfg: Config | None = None):
    import os

    # Gradio keeps per-event timings for its monitoring page (10,000 by default); 1,000 is plenty.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    import gradio as gr

    cfg = cfg or pipeline.cfg
    feedback = FeedbackLog(Path(cfg.data_dir) / cfg.ui.feedback_log)
    export_dir = Path(tempfile.mkdtemp(prefix="rag-export-"))

    def passages(chunk_id: str) -> str | None:
        chunk = pipeline.lexical.chunk(chunk_id)  # the live index, also after a reload
        return chunk.text if chunk else None

    articles = pipeline.articles()
    choices = [(f"{title} ({date or '日期不详'})", aid) for aid, title, date in articles]

    def _filter(article_ids, date_from, date_to):
        try:
            return make_filter(article_ids or None, (date_from or "").strip() or None,
                               (date_to or "").strip() or None)
        except RagError as exc:
            raise _user_error(exc) from exc

    def chat(question, chat_history, session, article_ids, date_from, date_to):
        """Answer `question` in this session's conversation, streaming the text."""
        session = session or _new_session()
        flt = _filter(article_ids, date_from, date_to)
        shown = list(chat_history or []) + [
            {"role": "user", "content": escape_text(question or "")},
            {"role": "assistant", "content": ""},
        ]
        text = ""
        final = None
        try:
            history = fit_history(_history(session["turns"]), cfg.answer)  # a long chat stays bounded
            for part in pipeline.stream(question or "", history, flt):
                if isinstance(part, Answer):
                    final = part
                else:
                    text += part
                    shown[-1] = {"role": "assistant", "content": escape_text(text)}
                    yield shown, session, gr.skip()
        except RagError as exc:  # an unusable question: say why, keep the conversation
            raise _user_error(exc) from exc
        assert final is not None
        shown[-1] = {"role": "assistant", "content": answer_markdown(final, passages)}
        session = {"turns": session["turns"] + [_turn_record(final.question, final)]}
        yield shown, session, ""

    def ask(question: str, history: list | None = None) -> dict:
        """Stateless: answer `question` given an optional history in messages format;
        returns the Answer as JSON (text, citations, abstained)."""
        try:
            if isinstance(history, str):
                history = json.loads(history) if history.strip() else None
            return pipeline.answer(question, history or None).to_dict()
        except json.JSONDecodeError as exc:
            raise _user_error(ValueError(f"history is not valid JSON: {exc.msg}")) from exc
        except RagError as exc:
            raise _user_error(exc) from exc

    def vote(data: gr.LikeData, session):
        session = session or _new_session()
        turn_index = data.index[0] // 2 if isinstance(data.index, list | tuple) else data.index // 2
        if not 0 <= turn_index < len(session["turns"]):
            return
        turn = session["turns"][turn_index]
        feedback.append({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "vote": "up" if data.liked else "down",
            **turn,
            "history": _history(session["turns"][:turn_index]),
        })
        gr.Info("谢谢反馈 Thanks for the feedback")

    def export(session):
        session = session or _new_session()
        path = export_dir / f"conversation-{time.time_ns()}.md"
        path.write_text(conversation_markdown(session["turns"]), encoding="utf-8")
        return str(path)

    with gr.Blocks(title="新闻问答 News Q&A", analytics_enabled=False) as app:
        gr.Markdown("## 新闻问答 News Q&A\n回答只来自已索引的文章，每句话都标注来源。"
                    "Answers come only from the indexed articles, each sentence with its source.")
        session = gr.State(_new_session())
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot([], label="对话 Conversation", height=520, sanitize_html=True,
                                     allow_tags=False, elem_id="chatbot",
                                     feedback_options=("Like", "Dislike"))
                with gr.Row():
                    question = gr.Textbox(placeholder="输入问题 Ask a question…", show_label=False,
                                          scale=5, elem_id="question", max_lines=4)
                    send = gr.Button("发送 Send", variant="primary", scale=1, elem_id="send")
                with gr.Row():
                    new = gr.Button("新对话 New conversation", elem_id="new")
                    download = gr.DownloadButton("导出 Export Markdown", elem_id="export")
                gr.Examples(EXAMPLES, inputs=question, label="示例问题 Examples")
            with gr.Column(scale=1):
                article_filter = gr.CheckboxGroup(choices, value=[], label="只搜索这些文章 Only these articles")
                date_from = gr.Textbox("", label="起始日期 From (YYYY-MM-DD)")
                date_to = gr.Textbox("", label="截止日期 To (YYYY-MM-DD)")

        inputs = [question, chatbot, session, article_filter, date_from, date_to]
        outputs = [chatbot, session, question]
        # After each answer the export button is given the conversation file, so one click
        # downloads it.
        send.click(chat, inputs, outputs, api_name="chat").then(
            export, [session], download, api_visibility="private")
        question.submit(chat, inputs, outputs, api_visibility="private").then(
            export, [session], download, api_visibility="private")
        new.click(lambda: ([], _new_session(), "", None), None, [chatbot, session, question, download],
                  api_visibility="private")
        chatbot.like(vote, [session], None, api_visibility="private")
        gr.api(ask, api_name="ask")
    app.queue(max_size=cfg.ui.max_queue, default_concurrency_limit=cfg.ui.concurrency)
    return app


def blocked_paths(cfg: Config) -> list[str]:
    """Never served, whatever a request asks for: the index, the corpus, the config."""
    import os

    paths = [cfg.data_dir, cfg.corpus.path]
    if os.environ.get("RAG_CONFIG"):
        paths.append(os.environ["RAG_CONFIG"])
    return paths


class LoginThrottle:
    """Failed logins per client address: the first few are free, then every further failure
    doubles the wait before the next attempt is even checked (1 s, 2 s, 4 s ... 5 min)."""

    FREE = 5
    MAX_WAIT = 300.0

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._state: dict[str, tuple[int, float]] = {}  # client -> (failures, blocked until)
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        with self._lock:
            _, until = self._state.get(client, (0, 0.0))
            return max(0.0, until - self._clock())

    def failure(self, client: str) -> None:
        with self._lock:
            if len(self._state) > 10_000:  # forget clients whose wait is long over
                now = self._clock()
                self._state = {c: v for c, v in self._state.items() if v[1] > now - self.MAX_WAIT}
            failures = self._state.get(client, (0, 0.0))[0] + 1
            wait = 0.0 if failures < self.FREE else min(self.MAX_WAIT, 2.0 ** (failures - self.FREE))
            self._state[client] = (failures, self._clock() + wait)

    def success(self, client: str) -> None:
        with self._lock:
            self._state.pop(client, None)


class ServerState:
    draining = False  # set on SIGTERM/SIGINT: new requests are refused, running ones finish
    blocks = None  # the Gradio app, for housekeeping of its queue
    requests = 0


def prune_delivered_sessions(blocks) -> None:
    """Gradio 6.31 keeps an entry per session in its queue's `pending_event_ids_session` after
    every event of the session has been delivered (an empty set, about 0.6 KB), and every API
    call is a new session: without this, memory grows by that much per call for ever. An empty
    entry means nothing is pending; Gradio creates it again if the session sends more."""
    pending = getattr(getattr(blocks, "_queue", None), "pending_event_ids_session", None)
    if pending:
        for session in [s for s, ids in pending.items() if not ids]:
            del pending[session]


class RequestGuard:
    """ASGI middleware in front of Gradio. The app has no upload feature, so uploads (and any
    multipart body but the login form) are refused; request bodies are capped; failed logins
    are throttled per client."""

    def __init__(self, app, max_body: int, throttle: LoginThrottle, state: ServerState):
        self.app = app
        self.max_body = max_body
        self.throttle = throttle
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.state.requests += 1
        if self.state.requests % 200 == 0 and self.state.blocks is not None:
            prune_delivered_sessions(self.state.blocks)  # on the event loop, between awaits
        path, method = scope["path"].rstrip("/"), scope["method"]
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        login = path.endswith("/login") and method == "POST"
        if method == "POST" and (path.endswith(("/upload", "/process_recording"))
                                 or (ctype.startswith("multipart/") and not login)):
            return await _refuse(send, 403, "uploads are disabled")
        if self.state.draining and method != "GET":  # results of answers in flight are GETs
            return await _refuse(send, 503, "the server is shutting down; try again shortly")
        if method in ("POST", "PUT", "PATCH"):
            body = await _read_body(receive, self.max_body)
            if body is None:
                return await _refuse(send, 413, f"request body over {self.max_body} bytes")
            receive = _replay(body, receive)
        if not login:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?",))[0]
        wait = self.throttle.wait(client)
        if wait > 0:
            return await _refuse(send, 429, f"too many failed logins; try again in {math.ceil(wait)} s",
                                 [(b"retry-after", str(math.ceil(wait)).encode())])
        status = []

        async def send_status(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_status)
        if status and status[0] == 200:
            self.throttle.success(client)
        elif status and 400 <= status[0] < 500:
            self.throttle.failure(client)


async def _read_body(receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send, status: int, text: str, extra: list | None = None) -> None:
    body = json.dumps({"detail": text}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


MAX_REQUEST_BYTES = 1_000_000  # far above the longest question plus the largest allowed history


def _in_flight(app) -> int:
    """Answers running or queued in Gradio's queue."""
    queue = app._queue
    running = sum(len(job) for job in queue.active_jobs if job is not None)
    waiting = sum(len(q.queue) for q in queue.event_queue_per_concurrency_id.values())
    return running + waiting


def serve_until_signalled(app, state: ServerState, drain_seconds: float) -> None:
    """Block until SIGTERM or SIGINT, then drain: refuse new requests, let the answers in
    flight finish (at most `drain_seconds`), then close. A second signal stops at once."""
    import signal

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while app.is_running and not stop.wait(0.2):
            pass
        if stop.is_set():
            state.draining = True
            busy = _in_flight(app)
            print(f"stopping: {busy} answer(s) in flight, waiting up to {drain_seconds:g} s",
                  file=sys.stderr, flush=True)
            deadline = time.monotonic() + drain_seconds
            while _in_flight(app) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # the last results reach their clients
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.close()
        print("stopped", file=sys.stderr, flush=True)


def launch(app, cfg: Config, host: str, port: int, *, mcp: bool = False, block: bool = True):
    import os

    from starlette.middleware import Middleware

    auth = None
    secret = os.environ.get(cfg.ui.auth_env, "")
    if secret:
        user, _, password = secret.partition(":")
        if not user or not password:
            raise ConfigError(f"{cfg.ui.auth_env} must look like user:password")
        auth = (user, password)
    if host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        raise ConfigError(
            f"binding to {host} exposes the app beyond this machine: set {cfg.ui.auth_env}=user:password"
        )
    state = ServerState()
    state.blocks = app
    guard = Middleware(RequestGuard, max_body=MAX_REQUEST_BYTES, throttle=LoginThrottle(), state=state)
    try:
        result = app.launch(
            server_name=host, server_port=port, auth=auth, share=False, inbrowser=False,
            show_error=True, allowed_paths=[], blocked_paths=blocked_paths(cfg),
            prevent_thread_lock=True, quiet=True, footer_links=["api"], mcp_server=mcp,
            ssr_mode=False, max_file_size="1kb", app_kwargs={"middleware": [guard]},
            state_session_capacity=cfg.ui.max_sessions,
        )
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: the port is in use or not allowed "
                          "(choose another with --port or ui.port)") from exc
    if not block:
        return result
    if threading.current_thread() is threading.main_thread():
        serve_until_signalled(app, state, cfg.ui.drain_seconds)
    else:
        app.block_thread()
    return result
