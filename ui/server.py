"""The server half of the chat UI: how `rag serve` listens. `launch` binds (loopback unless
auth is set), puts the request guard in front of Gradio (body cap, no uploads, the login
throttle, the page language), and `serve_until_signalled` drains answers in flight on
SIGTERM. The page and its handlers are ui/app.py.
"""

import json
import math
import sys
import threading
import time

from rag.config import Config
from rag.errors import ConfigError


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
        if method == "GET":
            return await self.app(scope, receive, _page_language(send))
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


def _page_language(send):
    """The page is Chinese first: Gradio's page template says lang="en", which picks the wrong
    glyphs and voice; an HTML response is given lang="zh-CN" before it leaves."""
    held: list[dict] = []
    chunks: list[bytes] = []

    async def send_page(message):
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            if headers.get(b"content-type", b"").startswith(b"text/html"):
                held.append(message)
                return
            return await send(message)
        if not held or message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks).replace(b'lang="en"', b'lang="zh-CN"', 1)
        start = held.pop()
        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*kept, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return send_page


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
        state.draining = True  # at once: a request in the next 0.2 s is refused too
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
    from starlette.middleware.gzip import GZipMiddleware

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
    # Gradio sends its scripts uncompressed; compressed, the page is a third of the bytes
    # (docs/ui.md). Event streams (answers arriving) are never buffered by it.
    compress = Middleware(GZipMiddleware, minimum_size=1024)
    try:
        result = app.launch(
            server_name=host, server_port=port, auth=auth, share=False, inbrowser=False,
            show_error=True, allowed_paths=[], blocked_paths=blocked_paths(cfg),
            prevent_thread_lock=True, quiet=True, footer_links=["api"], mcp_server=mcp,
            ssr_mode=False, max_file_size="1kb", app_kwargs={"middleware": [guard, compress]},
            # a backstop above SessionKeeper's own limit: room for the requests in flight that
            # hold no conversation (each gives its place back when it ends)
            state_session_capacity=cfg.ui.max_sessions + cfg.ui.max_queue + cfg.ui.concurrency,
            **_page_assets(),
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


def _page_assets() -> dict:
    from ui.app import page_assets  # the page's theme, styles and script belong to the page

    return page_assets()
