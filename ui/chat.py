"""The chat's logic without Gradio: a session's turns, the reader's filters, messages for user
mistakes (one bilingual line each, Chinese first), the knowledge base and suggested questions.

ui/app.py lays the page out and wires events to these; everything here is plain Python and
testable without a server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

from rag.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    QuestionError,
    RagError,
    RateLimitError,
    SessionDroppedError,
    StoreUnavailableError,
)
from rag.pipeline import make_filter
from rag.text import CJK_CHAR, ISO_DATE
from rag.types import Answer, ArticleRecord, RetrievalFilter
from ui.render import UNDATED, without_hits


@dataclass(frozen=True)
class Turn:
    """One question and its answer as a session keeps them (without the retrieved passages)."""

    id: str
    answer: Answer
    retrieved: tuple[str, ...] = ()  # the articles retrieval returned, as /ask reports them
    note: str = ""  # why an abstention happened, when the reader's filters caused it
    options: tuple[tuple[str, str], ...] = ()  # (label, value): suggested questions, "clear filters"

    @classmethod
    def of(cls, answer: Answer) -> Turn:
        retrieved = tuple(dict.fromkeys(h.chunk.article_id for h in answer.hits))
        return cls(uuid.uuid4().hex[:16], without_hits(answer), retrieved)

    def to_dict(self) -> dict:
        """The turn as the API returns it: the fields of /ask, plus its id and note."""
        data = self.answer.to_dict()
        data["retrieved_articles"] = list(self.retrieved)
        return {"id": self.id, **data, "note": self.note}

    def record(self) -> dict:
        """What the feedback log keeps of the turn."""
        a = self.answer
        return {"answer_id": self.id, "question": a.question, "answer": a.text, "abstained": a.abstained,
                "citations": [dataclasses.asdict(c) for c in a.citations]}


@dataclass(frozen=True)
class Session:
    id: str = ""
    turns: tuple[Turn, ...] = ()

    def ensure_id(self) -> Session:
        return self if self.id else dataclasses.replace(self, id=uuid.uuid4().hex[:16])

    def with_turn(self, turn: Turn, keep: int) -> Session:
        """The session with `turn` added, keeping only the latest `keep` turns."""
        return dataclasses.replace(self, turns=(self.turns + (turn,))[-keep:])

    def history(self) -> list[dict]:
        """The conversation in messages format, as the pipeline takes it."""
        return [m for t in self.turns for m in ({"role": "user", "content": t.answer.question},
                                                {"role": "assistant", "content": t.answer.text})]


@dataclass(frozen=True)
class Filters:
    """What the reader restricted the search to."""

    article_ids: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    include_undated: bool = False

    @classmethod
    def of(cls, article_ids, date_from, date_to, include_undated=False) -> Filters:
        return cls(tuple(article_ids or ()), (date_from or "").strip(), (date_to or "").strip(),
                   bool(include_undated))

    @property
    def dated(self) -> bool:
        return bool(self.date_from or self.date_to)

    @property
    def active(self) -> bool:
        return bool(self.article_ids) or self.dated


# -- messages for the reader ----------------------------------------------------------------

def date_problem(value: str, which: str) -> str:
    """"" for an empty or valid date; else one bilingual line about the field."""
    value = (value or "").strip()
    names = {"from": ("起始日期", "From date"), "to": ("截止日期", "To date")}[which]
    if not value:
        return ""
    if ISO_DATE.match(value):
        try:
            dt.date.fromisoformat(value)
            return ""
        except ValueError:
            return f"{names[0]}「{value}」不是真实的日期。{names[1]} {value!r} is not a real date."
    return (f"{names[0]}应写成 2026-01-31 这样的格式（现在是「{value}」）。"
            f"{names[1]} must look like 2026-01-31, got {value!r}.")


def range_problem(date_from: str, date_to: str) -> str:
    if date_from and date_to and not date_problem(date_from, "from") and not date_problem(date_to, "to") \
            and date_from > date_to:
        return (f"起始日期 {date_from} 晚于截止日期 {date_to}。"
                f"The From date {date_from} is after the To date {date_to}.")
    return ""


NO_MATCH = "没有文章符合当前筛选条件，请放宽或清除筛选。No article matches the current filters; widen or clear them."


def resolve_filters(filters: Filters, catalog: list[ArticleRecord]) -> RetrievalFilter | None:
    """The RetrievalFilter for the reader's choices; QuestionError (bilingual) when they are
    invalid or admit no article at all."""
    for problem in (date_problem(filters.date_from, "from"), date_problem(filters.date_to, "to"),
                    range_problem(filters.date_from, filters.date_to)):
        if problem:
            raise QuestionError(problem)
    if not filters.active:
        return None
    if filters.dated and filters.include_undated:
        # undated articles are the reader's explicit choice: the filter names the articles
        date_ok = make_filter(None, filters.date_from or None, filters.date_to or None)
        ids = [r.id for r in catalog if (not filters.article_ids or r.id in filters.article_ids)
               and (r.date is None or date_ok is None or date_ok.admits(r.id, r.date))]
        if not ids:
            raise QuestionError(NO_MATCH)
        return RetrievalFilter(frozenset(ids))
    flt = make_filter(filters.article_ids or None, filters.date_from or None, filters.date_to or None)
    if flt is not None and catalog and not any(flt.admits(r.id, r.date) for r in catalog):
        raise QuestionError(NO_MATCH)
    return flt


_QUESTION_MESSAGES = [
    (re.compile(r"^the question is empty$"), "请先输入问题。"),
    (re.compile(r"^the question is (\d+) characters long; the limit is (\d+)$"),
     "问题有 {0} 个字，超过了 {1} 个字的上限，请缩短后再问。"),
    (re.compile(r"^the question has no words"), "问题里没有文字，只有标点或符号。"),
    (re.compile(r"^the question must be text$"), "问题必须是文字。"),
    (re.compile(r"^history"), "对话历史的格式不对。"),
]


def user_message(exc: RagError) -> str:
    """One line for the reader, Chinese first, then the English the core gave."""
    text = " ".join(str(exc).split())
    if CJK_CHAR.search(text):
        return text  # already bilingual (the UI's own checks)
    if isinstance(exc, QuestionError):
        for pattern, chinese in _QUESTION_MESSAGES:
            m = pattern.match(text)
            if m:
                english = text[0].upper() + text[1:]
                return f"{chinese.format(*m.groups())} {english}{'' if english.endswith('.') else '.'}"
        return f"这个问题无法处理。{text}"
    if isinstance(exc, StoreUnavailableError):
        return f"暂时连不上向量数据库，请稍后再试。{text}"
    if isinstance(exc, IndexBusyError):
        return f"索引正在更新，请稍后再试。{text}"
    if isinstance(exc, IndexMissingError | IndexCorruptError):
        return f"索引不可用，请管理员重新建立索引。{text}"
    return f"暂时无法回答。{text}"


def log_refusal(exc: Exception) -> None:
    """A request the app refuses is one line in the server log, never a traceback."""
    print(f"refused: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)


# -- the knowledge base -----------------------------------------------------------------------

def one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kb_label(r: ArticleRecord) -> str:
    """An article as the knowledge base lists it: title, then date and a one-line summary."""
    derived = " · 标题取自正文 title from the text" if r.title_derived else ""
    return f"{r.title}\n{r.date or UNDATED}{derived} · {one_line(r.summary) or '（无摘要 no summary）'}"


def kb_choices(catalog: list[ArticleRecord]) -> list[tuple[str, str]]:
    """(label, article id) per article."""
    return [(kb_label(r), r.id) for r in catalog]


KB_PAGE = 20  # articles a page of the knowledge base shows: the page stays small at any size


@dataclass(frozen=True)
class KbPage:
    """One page of the knowledge base: the ticked articles first (so a search never hides a
    choice already made), then the page of articles that match the search, newest first."""

    choices: tuple[tuple[str, str], ...]
    matching: int  # articles matching the search and dates
    page: int  # 1-based, clamped to the pages there are
    pages: int

    def info(self, total: int) -> str:
        if not self.matching:
            return f"没有匹配的文章 No matching article (共 {total} 篇)"
        return (f"{self.matching} 篇匹配 matching · 第 {self.page}/{self.pages} 页 page"
                if self.matching != total else f"共 {total} 篇 articles · 第 {self.page}/{self.pages} 页 page")


def kb_page(catalog: list[ArticleRecord], search: str, date_from: str, date_to: str, selected, page: int,
            per_page: int = KB_PAGE) -> KbPage:
    """The knowledge base's page `page` for a search (every word in the title or summary;
    case ignored) and the date fields (ignored while they are not valid dates)."""
    from rag.index.catalog import by_date

    words = [w for w in re.split(r"\s+", (search or "").strip().lower()) if w]
    lo = date_from if date_from and not date_problem(date_from, "from") else None
    hi = date_to if date_to and not date_problem(date_to, "to") else None
    chosen = list(dict.fromkeys(selected or []))
    by_id = {r.id: r for r in catalog}

    def matches(r: ArticleRecord) -> bool:
        if (lo or hi) and (not r.date or (lo and r.date < lo) or (hi and r.date > hi)):
            return False
        hay = f"{r.title}\n{r.title_original or ''}\n{r.summary}".lower()
        return all(w in hay for w in words)

    found = [r for r in by_date(catalog) if matches(r)]
    pages = max(1, -(-len(found) // per_page))
    page = min(max(1, int(page or 1)), pages)
    shown = [r for r in found[(page - 1) * per_page : page * per_page] if r.id not in chosen]
    ticked = [by_id[a] for a in chosen if a in by_id]
    return KbPage(tuple((kb_label(r), r.id) for r in ticked + shown), len(found), page, pages)


def describe_filters(filters: Filters, titles: dict[str, str]) -> tuple[str, str]:
    """Chip labels: (articles, dates); "" where that filter is not set."""
    articles = ""
    if filters.article_ids:
        names = [f"《{one_line(titles.get(a, a), 18)}》" for a in filters.article_ids]
        articles = "只看 Only: " + ("、".join(names) if len(names) <= 2 else f"{names[0]} 等 {len(names)} 篇")
    dates = ""
    if filters.dated:
        dates = f"日期 Dates: {filters.date_from or '…'} – {filters.date_to or '…'}"
        dates += " · 含日期不详 incl. undated" if filters.include_undated else " · 不含日期不详 undated excluded"
    return articles, dates


def welcome_html(catalog: list[ArticleRecord], topics=()) -> str:
    """What an empty chat says: what the bot knows. A collection with a topic map (thousands
    of articles, rag.index.topics) is summarised by its largest topics; a small one by its
    first titles."""
    from ui.render import escape_html

    dates = sorted(r.date for r in catalog if r.date)
    undated = sum(1 for r in catalog if not r.date)
    span = f"（{dates[0]} 至 {dates[-1]}" if dates else "（"
    span += f"，{undated} 篇日期不详）" if undated else "）"
    if topics:
        items = "".join(f"<li>{escape_html(t.label)} <span class='kb-date'>{t.articles} 篇</span></li>"
                        for t in topics[:6])
        listing = f"<p>主要话题 Main topics:</p><ul class='welcome-topics'>{items}</ul>"
    else:
        items = "".join(f"<li>{escape_html(r.title)} <span class='kb-date'>{escape_html(r.date or UNDATED)}</span></li>"
                        for r in catalog[:8])
        more = f"<li>……共 {len(catalog)} 篇</li>" if len(catalog) > 8 else ""
        listing = f"<ul>{items}{more}</ul>"
    return (f"<div class='welcome'><p><strong>我只根据已索引的 {len(catalog)} 篇文章回答</strong>{span}，"
            f"每句话都标注来源。</p><p>I answer only from these {len(catalog)} indexed articles, "
            f"each sentence with its source.</p>{listing}</div>")


# -- suggested questions ----------------------------------------------------------------------

OVERVIEW_QUESTION = "这些文章主要讲了什么？"  # answered from the catalog for any collection
EXAMPLE_TOPIC_CHARS = 24  # an example question names an article by at most this much of its title


def _topic(title: str) -> str:
    return re.split(r"[：:，,；;—|｜]", title, maxsplit=1)[0].strip() or title


EXAMPLE_TOPIC_MIN_CHARS = 4  # "四川的主要内容是什么？" names no article
# what an example question must not name as its subject: each pattern with a title cut that
# showed it (tests/test_ui_collection.py)
NOT_A_SUBJECT = (
    (re.compile(r"^(\d|[一二三四五六七八九十]+[月日])"), "a date: 8月18日基金净值"),
    (re.compile(r"讯|^据|消息$"), "a dateline or a source: 新京报讯 据中国驻欧盟使团官微消息"),
    (re.compile(r"[（(][^）)]*$"), "a parenthesis left open: 张某某（报案人丈夫"),
)


def names_a_subject(topic: str) -> bool:
    """Can an example question ask about this title's head ("<topic>的主要内容是什么？")?"""
    return (EXAMPLE_TOPIC_MIN_CHARS <= len(topic) <= EXAMPLE_TOPIC_CHARS
            and not any(p.search(topic) for p, _ in NOT_A_SUBJECT))


class Suggester:
    """Questions the collection can answer, made from article titles and checked once by
    answering them: an abstention is followed by two or three of them, nearest first."""

    def __init__(self, pipeline, catalog: list[ArticleRecord], limit: int = 3):
        self.pipeline = pipeline
        self.catalog = catalog
        self.limit = limit
        self._checked: dict[str, bool] = {}
        self._lock = threading.Lock()

    def candidate(self, record: ArticleRecord) -> str:
        return f"{_topic(record.title)}的主要内容是什么？"

    def _answerable(self, record: ArticleRecord) -> bool:
        question = self.candidate(record)
        with self._lock:
            if question in self._checked:
                return self._checked[question]
        try:
            if self._answerer_calls_a_model():
                # checked by what the model would be given, not by calling it: a suggestion
                # must not cost an LLM call (the app makes its examples at start)
                hits = self.pipeline.retrieve(question)
                ok = bool(hits) and hits[0].chunk.article_id == record.id
            else:
                answer = self.pipeline.answer(question)
                ok = not answer.abstained and any(c.source == record.id for c in answer.citations)
        except RagError:
            ok = False
        with self._lock:
            self._checked[question] = ok
        return ok

    def _nearest(self, question: str) -> list[ArticleRecord]:
        from rag.text import terms

        by_id = {r.id: r for r in self.catalog}
        found = self.pipeline.lexical.search(terms(question), 50)
        order = list(dict.fromkeys(chunk.article_id for chunk, _ in found))
        ranked = [by_id[a] for a in order if a in by_id]
        newest = sorted(self.catalog, key=lambda r: r.date or "", reverse=True)
        return ranked + [r for r in newest if r not in ranked]

    def _answerer_calls_a_model(self) -> bool:
        from rag.registry import needs_llm

        return needs_llm(self.pipeline.cfg.answer.answerer)

    def examples(self, n: int = 4) -> list[str]:
        """Example questions for the empty chat, from the indexed articles themselves: what
        the collection covers (answered from the catalog), then one per article, newest
        first, each kept only if answering it gives an answer citing that article (with an
        LLM answerer: if retrieval puts that article first), so a first click never abstains."""
        out: list[str] = []
        if self.catalog:  # answered from the catalog whatever the answerer (no model call)
            out.append(OVERVIEW_QUESTION)
        for question in self.archive_questions():
            if len(out) < n - 1 and self._lists(question):
                out.append(question)
        newest = sorted(self.catalog, key=lambda r: r.date or "", reverse=True)
        short = [r for r in newest if names_a_subject(_topic(r.title))]  # a lead cut off reads badly
        for record in short[: 3 * n]:  # bounded: a large archive is not answered through
            if len(out) == n:
                break
            question = self.candidate(record)
            if question not in out and self._answerable(record):
                out.append(question)
        return out

    def archive_questions(self) -> list[str]:
        """For an archive with a topic map (rag.index.topics): what is new. (A topic in a month
        would be checked by scanning the archive, seconds that the server's start should not
        wait for.)"""
        topics = getattr(self.pipeline.lexical, "topics", None)
        if not topics or not any(r.date for r in self.catalog):
            return []
        return ["最近有哪些新闻？"]

    def _lists(self, question: str) -> bool:
        """Answering the question lists cited articles (answered from the catalog and the
        text: no model call whatever the answerer)."""
        with self._lock:
            if question in self._checked:
                return self._checked[question]
        try:
            answer = self.pipeline.answer(question)
            ok = not answer.abstained and len({c.source for c in answer.citations}) >= 2
        except RagError:
            ok = False
        with self._lock:
            self._checked[question] = ok
        return ok

    def suggest(self, question: str) -> list[str]:
        out: list[str] = []
        for record in self._nearest(question):
            if len(out) == self.limit:
                break
            if names_a_subject(_topic(record.title)) and self._answerable(record):
                out.append(self.candidate(record))
        return out


# -- which conversation a browser tab is in -------------------------------------------------

class Conversations:
    """The conversation each browser tab is in now. "New conversation" moves the tab to a new
    one; an answer still arriving for the old one then stops instead of refilling the chat.
    Bounded: the least recently started tabs are forgotten (and their answers just finish)."""

    def __init__(self, limit: int):
        from collections import OrderedDict

        self.limit = limit
        self._tabs: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, tab: str, conversation: str) -> None:
        with self._lock:
            self._tabs[tab] = conversation
            self._tabs.move_to_end(tab)
            while len(self._tabs) > self.limit:
                self._tabs.popitem(last=False)

    def join(self, tab: str, conversation: str) -> None:
        """A tab's first question: its conversation is the one it asks in."""
        with self._lock:
            known = tab in self._tabs
        if not known:
            self.start(tab, conversation)

    def left(self, tab: str, conversation: str) -> bool:
        """Whether the tab has moved on to another conversation."""
        with self._lock:
            return self._tabs.get(tab, conversation) != conversation


# -- feedback ---------------------------------------------------------------------------------

class FeedbackLog:
    """Votes, one JSON line each, only ever appended: a changed vote is a further line for the
    same answer_id (its last line is its vote) and a withdrawn one a line with "vote": null
    (evals/feedback.py reads them so). Beyond `max_bytes` the file becomes <name>.1 (replacing
    the older one) and a new one begins, so the log never takes more than twice that. A lock
    keeps concurrent sessions' lines whole."""

    def __init__(self, path: Path, max_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    @property
    def rotated(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def append(self, record: dict) -> None:
        """Add one vote; StorageError when the disk refuses it."""
        from rag.index.storage import storage_error

        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                size = self.path.stat().st_size if self.path.exists() else 0
                if size and size + len(line) > self.max_bytes:
                    os.replace(self.path, self.rotated)
                # O_NOFOLLOW: a link planted in place of the log cannot aim the write elsewhere
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise storage_error(self.path.parent, exc, "save the vote", len(line)) from exc


# -- bounds per client ----------------------------------------------------------------------

class PerMinute:
    """At most `limit` events per key (a client address) in any 60 s."""

    WINDOW = 60.0
    MAX_KEYS = 10_000  # beyond this, keys with nothing in the window are forgotten

    def __init__(self, limit: int, clock=time.monotonic):
        self.limit = limit
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for `key` if it is within the limit; False (nothing counted) if not."""
        with self._lock:
            now = self._clock()
            if len(self._times) > self.MAX_KEYS:
                self._times = {k: q for k, q in self._times.items() if q and q[-1] > now - self.WINDOW}
            times = self._times.setdefault(key, deque())
            while times and times[0] <= now - self.WINDOW:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True


class SessionKeeper:
    """The Gradio sessions (browser tabs, API clients) that hold a conversation, least recently
    used first. At most `limit` are kept: making room drops the oldest through `drop` (which
    frees its state) and remembers it, so its next question is told the conversation is gone
    instead of being answered as if nothing came before. A client may start at most
    `per_minute` conversations a minute, so one script cannot push everyone else out."""

    def __init__(self, limit: int, per_minute: int, drop=lambda session_hash, conversation: None,
                 clock=time.monotonic):
        self.limit = limit
        self.per_minute = per_minute
        self._drop = drop
        self._starts = PerMinute(per_minute, clock)
        self._live: OrderedDict[str, str] = OrderedDict()  # session hash -> conversation id
        self._dropped: OrderedDict[str, None] = OrderedDict()  # hashes whose conversation went
        self._lock = threading.Lock()

    def check(self, session_hash: str, session: Session) -> None:
        """Before answering in `session` (the state Gradio gave this session hash): raise
        SessionDroppedError, once, if its conversation was dropped (the state is new again but
        the hash had one)."""
        with self._lock:
            if not session.id and (session_hash in self._dropped or session_hash in self._live):
                self._dropped.pop(session_hash, None)
                self._live.pop(session_hash, None)
                raise SessionDroppedError(DROPPED)

    def admit(self, session_hash: str, client: str) -> None:
        """Before a session's first answer: RateLimitError if `client` has started its limit of
        conversations in the last minute."""
        if self.holds(session_hash) or self._starts.allow(client):
            return
        raise RateLimitError(f"新对话开得太频繁：每个地址每分钟最多 {self.per_minute} 个，请稍后再试。"
                             f"Too many new conversations from your address: at most {self.per_minute} "
                             "a minute; try again shortly.")

    def keep(self, session_hash: str, conversation: str) -> None:
        """The session holds `conversation` now (it has at least one turn)."""
        dropped = []
        with self._lock:
            self._live[session_hash] = conversation
            self._live.move_to_end(session_hash)
            while len(self._live) > self.limit:
                gone, gone_conversation = self._live.popitem(last=False)
                self._dropped[gone] = None
                dropped.append((gone, gone_conversation))
            while len(self._dropped) > 10 * self.limit:  # a hash is ~40 bytes: keep many
                self._dropped.popitem(last=False)
        for gone, gone_conversation in dropped:
            self._drop(gone, gone_conversation)

    def holds(self, session_hash: str) -> bool:
        with self._lock:
            return session_hash in self._live


DROPPED = ("服务器为了给其他会话腾出空间，已清除了您之前的对话，上文不再保留；请把问题完整地重新提出。"
           "The server dropped your earlier conversation to make room for others; "
           "please ask again with the full question.")
