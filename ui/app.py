"""The Gradio chat app. `build_app` takes an already-built pipeline; nothing is built at import.

The page is laid out by `_layout` and its events wired by `_wire` to the handlers of `ChatApp`
(the logic itself, without Gradio, is in ui/chat.py; the HTML in ui/render.py; the page's own
script and styles in ui/static/). Each browser session keeps its conversation in gr.State.

API: `/chat` answers in the caller's session (Gradio keeps one per client) and returns the
session's turns as structured data, each like `/ask`'s answer; `/ask` is stateless and takes
the history explicitly. A reader's mistake is one bilingual line (in the page, or as the API's
error) and one line in the server log, never a traceback.
"""

import dataclasses
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import QuestionError, RagError, SessionDroppedError, StorageError
from rag.pipeline import Pipeline, clean_question, fit_history
from rag.types import Answer, Citation
from ui.chat import (
    Conversations,
    FeedbackLog,
    Filters,
    PerMinute,
    Session,
    SessionKeeper,
    Suggester,
    Turn,
    date_problem,
    describe_filters,
    kb_page,
    log_refusal,
    range_problem,
    resolve_filters,
    user_message,
    welcome_html,
)
from ui.render import (
    Passage,
    answer_html,
    conversation_markdown,
    escape_html,
    question_html,
    streaming_html,
)

STATIC = Path(__file__).parent / "static"
CLEAR_AND_ASK = "::clear-filters::"  # the option value that clears the filters and asks again
FONT_STACK = ("Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB",
              "Microsoft YaHei", "WenQuanYi Micro Hei", "system-ui", "sans-serif")
EXPORT_HINT = "<span class='hint'>有回答后即可导出 Export is available after the first answer</span>"


def _notice(message: str) -> str:
    return f"<div class='notice' role='alert'>⚠️ {escape_html(message)}</div>" if message else ""


def _field_msg(message: str) -> str:
    return f"<div class='field-msg' role='alert'>{escape_html(message)}</div>" if message else ""


def _slug(text: str, limit: int = 24) -> str:
    """A question as part of a file name: letters, digits and CJK kept, the rest a dash."""
    return re.sub(r"[^\w\u4e00-\u9fff]+", "-", text).strip("-_")[:limit] or "conversation"


class ChatApp:
    """The handlers behind the page (see `_wire`)."""

    def __init__(self, pipeline: Pipeline, cfg: Config):
        self.pipeline = pipeline
        self.cfg = cfg
        self.catalog = list(pipeline.lexical.articles)
        self.titles = {r.id: r.title for r in self.catalog}
        self.topics = list(pipeline.lexical.topics)
        self.feedback = FeedbackLog(Path(cfg.data_dir) / cfg.ui.feedback_log, cfg.ui.feedback_log_bytes)
        self.votes = PerMinute(cfg.ui.votes_per_minute)
        self.export_dir = Path(tempfile.mkdtemp(prefix="rag-export-"))
        self.suggester = Suggester(pipeline, self.catalog)
        pipeline.warm_up()
        self.tabs = Conversations(cfg.ui.max_sessions)
        self.keeper = SessionKeeper(cfg.ui.max_sessions, cfg.ui.new_sessions_per_minute, self.free_session)
        self.blocks: Any = None  # the Gradio app, once built: its state holder keeps the sessions

    def free_session(self, session_hash: str, conversation: str = "") -> None:
        """Forget what Gradio keeps for a session (its state, about 35 KB) and its export."""
        holder = getattr(self.blocks, "state_holder", None)
        if holder is not None:
            with holder.lock:
                holder.session_data.pop(session_hash, None)
                holder.time_last_used.pop(session_hash, None)
        if re.fullmatch(r"[0-9a-f]{16}", conversation):  # an id Session.ensure_id made
            shutil.rmtree(self.export_dir / conversation, ignore_errors=True)

    def free_unless_kept(self, session_hash: str) -> None:
        """A session that holds no conversation (a stateless /ask, a refused first question)
        gives its place back at once, so such requests never push conversations out."""
        if session_hash and not self.keeper.holds(session_hash):
            self.free_session(session_hash)

    # rendering -----------------------------------------------------------------------------
    def passage(self, c: Citation) -> Passage | None:
        """The text a citation's evidence shows, from the live index (also after a reload)."""
        if c.field == "body":
            chunk = self.pipeline.lexical.chunk(c.chunk_id)
            return Passage(chunk.text, chunk.start, chunk.heading_path) if chunk else None
        record = next((r for r in self.pipeline.lexical.articles if r.id == c.source), None)
        if record is None:
            return None
        text = {"summary": record.summary, "title": record.title, "date": record.date or "",
                "title_original": record.title_original or ""}.get(c.field, "")
        return Passage(text) if text else None

    def messages(self, session: Session) -> list[dict]:
        out = []
        for i, t in enumerate(session.turns):
            out.append({"role": "user", "content": question_html(t.answer.question, i)})
            message: dict[str, Any] = {"role": "assistant",
                                       "content": answer_html(t.answer, i, self.passage, t.note)}
            if i == len(session.turns) - 1 and t.options:
                message["options"] = [{"label": label, "value": value} for label, value in t.options]
            out.append(message)
        return out

    def export(self, session: Session) -> str:
        """The conversation as a Markdown file named by date and first question."""
        day = time.strftime("%Y-%m-%d")
        folder = self.export_dir / session.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"对话-{day}-{_slug(session.turns[0].answer.question)}.md"
        path.write_text(conversation_markdown(session.turns, day), encoding="utf-8")
        return str(path)

    # the conversation ----------------------------------------------------------------------
    def _check(self, question: str, filters: Filters):
        """The question and filters, or QuestionError (bilingual) before anything is shown."""
        clean_question(question, self.cfg.answer.max_question_chars)
        return resolve_filters(filters, self.catalog)

    def _explain(self, turn: Turn, filters: Filters, history: list[dict]) -> Turn:
        """An abstention says whether the filters caused it, or suggests answerable questions."""
        question = turn.answer.question
        if filters.active:
            try:
                unfiltered = self.pipeline.answer(question, history or None, None)
            except RagError:
                unfiltered = None
            if unfiltered is not None and not unfiltered.abstained:
                what = "；".join(x for x in describe_filters(filters, self.titles) if x)
                note = (f"在当前筛选条件（{what}）下没有找到答案，不加筛选时资料中有相关内容。"
                        f"Nothing was found within the current filters, but the whole collection has an answer.")
                return dataclasses.replace(turn, note=note, options=(
                    ("清除筛选并重新提问 Clear filters and ask again", CLEAR_AND_ASK),))
        suggestions = self.suggester.suggest(question)
        if not suggestions:
            return turn
        return dataclasses.replace(turn, note="可以试试这些问题 Questions the articles can answer:",
                                   options=tuple((s, s) for s in suggestions))

    def chat(self, question, session, article_ids, date_from, date_to, undated, tab: str = "",
             client: str = ""):
        """The page's send: shows the question, streams the answer, then the final answer with
        its chips and sources. Outputs: chatbot, session, question, notice, download, hint.
        `tab` is the browser tab (Gradio's session): once it starts a new conversation, what
        is left of this answer is not shown. `client` is the reader's address."""
        import gradio as gr

        skip = gr.skip()
        question = question or ""
        session = session or Session()
        if not question.strip():  # an empty send (a second click, Enter then click) does nothing
            yield skip, skip, skip, skip, skip, skip
            return
        filters = Filters.of(article_ids, date_from, date_to, undated)
        try:
            self.keeper.check(tab, session)
            flt = self._check(question, filters)
            self.keeper.admit(tab, client)
        except SessionDroppedError as exc:  # the chat empties and says why; the question stays
            log_refusal(exc)
            yield ([], Session(), skip, _notice(user_message(exc)), gr.update(value=None, interactive=False),
                   gr.update(visible=True))
            return
        except RagError as exc:  # the reader's mistake: one line beside the input, nothing hidden
            log_refusal(exc)
            self.free_unless_kept(tab)
            yield skip, skip, skip, _notice(user_message(exc)), skip, skip
            return
        session = session.ensure_id()
        self.tabs.join(tab, session.id)
        shown = self.messages(session) + [{"role": "user", "content": question_html(question, len(session.turns))}]
        yield shown, session, "", "", skip, skip
        history = fit_history(session.history(), self.cfg.answer)  # a long chat stays bounded
        text, final = "", None
        try:
            for part in self.pipeline.stream(question, history, flt):
                if isinstance(part, Answer):
                    final = part
                else:
                    text += part
                    if self.tabs.left(tab, session.id):
                        return
                    yield shown + [{"role": "assistant", "content": streaming_html(text)}], skip, skip, skip, skip, skip
        except RagError as exc:  # the question goes back into the box, with the reason
            log_refusal(exc)
            if self.tabs.left(tab, session.id):
                return
            yield self.messages(session), session, question, _notice(user_message(exc)), skip, skip
            return
        assert final is not None
        if self.tabs.left(tab, session.id):
            return
        turn = Turn.of(final)
        session = session.with_turn(turn, self.cfg.ui.max_session_turns)
        self.keeper.keep(tab, session.id)
        done = gr.update(value=self.export(session), interactive=True)
        yield self.messages(session), session, skip, skip, done, gr.update(visible=False)
        if final.abstained:
            explained = self._explain(turn, filters, history)
            if explained != turn and not self.tabs.left(tab, session.id):
                session = dataclasses.replace(session, turns=session.turns[:-1] + (explained,))
                yield self.messages(session), session, skip, skip, self.export(session), skip

    def chat_api(self, question, session, article_ids, date_from, date_to, undated, session_hash: str = "",
                 client: str = ""):
        """`/chat`: answer in this client's session (`session_hash`, from address `client`);
        returns the session's latest turns (each like `/ask`'s answer, with its id and note)."""
        import gradio as gr

        session = session or Session()
        filters = Filters.of(article_ids, date_from, date_to, undated)
        try:
            self.keeper.check(session_hash, session)
            flt = self._check(question, filters)
            self.keeper.admit(session_hash, client)
            history = fit_history(session.history(), self.cfg.answer)
            answer = self.pipeline.answer(question, history, flt)
        except RagError as exc:
            log_refusal(exc)
            self.free_unless_kept(session_hash)
            raise gr.Error(user_message(exc), print_exception=False) from exc
        turn = Turn.of(answer)
        if answer.abstained:
            turn = self._explain(turn, filters, history)
        session = session.ensure_id().with_turn(turn, self.cfg.ui.max_session_turns)
        self.keeper.keep(session_hash, session.id)
        return [t.to_dict() for t in session.turns], session

    def ask(self, question: str, history: list | None = None) -> dict:
        """Stateless: answer `question` given an optional history in messages format;
        returns the Answer as JSON (text, citations, abstained)."""
        import gradio as gr

        try:
            if isinstance(history, str):
                try:
                    history = json.loads(history) if history.strip() else None
                except json.JSONDecodeError as exc:
                    raise QuestionError(f"对话历史不是有效的 JSON。history is not valid JSON: {exc.msg}") from exc
                except RecursionError as exc:  # nested deeper than the parser goes: not a history
                    raise QuestionError("对话历史嵌套过深。history is nested too deeply") from exc
            return self.pipeline.answer(question, history or None).to_dict()
        except RagError as exc:
            log_refusal(exc)
            raise gr.Error(user_message(exc), print_exception=False) from exc

    # picks and votes -----------------------------------------------------------------------
    def pick_example(self, evt):
        """An example chip in the empty chat: its question goes to the box, then is sent."""
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value or "")

    def pick_option(self, session, evt):
        """A suggested question, or "clear filters and ask again". Outputs: question, then
        clear_filters'."""
        import gradio as gr

        value = evt.value.get("value") if isinstance(evt.value, dict) else evt.value
        if value == CLEAR_AND_ASK:
            last = session.turns[-1].answer.question if session and session.turns else ""
            return last, *self.clear_filters("all", [], "", "", False)
        return str(value or ""), *([gr.skip()] * 9)

    def vote(self, data, session, client: str = ""):
        """A thumb on an answer: one line appended to the feedback log (see FeedbackLog) with
        the answer, its citations and a bounded part of the conversation before it."""
        import gradio as gr

        session = session or Session()
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn_index = index // 2
        if not 0 <= turn_index < len(session.turns):
            return
        if not self.votes.allow(client):
            limit = self.cfg.ui.votes_per_minute
            log_refusal(RagError(f"more than {limit} votes a minute from {client}"))
            gr.Warning(f"反馈太频繁：每个地址每分钟最多 {limit} 次，这次没有记录。"
                       f"Too many votes from your address: at most {limit} a minute; this one was not recorded.")
            return
        turn = session.turns[turn_index]
        vote = {True: "up", False: "down"}.get(data.liked) if isinstance(data.liked, bool) else None
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        record = {"time": stamp, "answer_id": turn.id, "vote": None} if vote is None else {
            "time": stamp, "vote": vote, **turn.record(), "history": self.feedback_context(session.turns[:turn_index]),
        }
        try:
            self.feedback.append(record)
        except StorageError as exc:
            log_refusal(exc)
            gr.Warning("反馈没有保存：服务器无法写入反馈记录。The vote was not saved: the server could not write it.")
            return
        gr.Info("谢谢反馈 Thanks for the feedback" if vote else "已撤销反馈 Feedback withdrawn")

    def feedback_context(self, turns: tuple[Turn, ...]) -> list[dict]:
        """The latest messages before a voted answer, at most ui.feedback_context_chars in all."""
        chars = self.cfg.ui.feedback_context_chars
        if not chars:
            return []
        limits = dataclasses.replace(self.cfg.answer, max_message_chars=chars, max_history_chars=chars)
        return fit_history(Session(turns=turns).history(), limits)

    def reset(self, tab: str = ""):
        """New conversation (the button or the chat's own clear icon): the display, the
        session's history and the export all start again."""
        import gradio as gr

        session = Session().ensure_id()
        self.tabs.start(tab, session.id)
        return [], session, "", "", gr.update(value=None, interactive=False), gr.update(visible=True)

    # filters -------------------------------------------------------------------------------
    def filter_view(self, article_ids, date_from, date_to, undated):
        """Chips for the active filters and the date fields' messages. Outputs: chip articles,
        chip dates, clear all, From message, To message."""
        import gradio as gr

        filters = Filters.of(article_ids, date_from, date_to, undated)
        articles, dates = describe_filters(filters, self.titles)
        to_problem = date_problem(filters.date_to, "to") or range_problem(filters.date_from, filters.date_to)
        return (gr.update(value=f"{articles}  ✕", visible=bool(articles)),
                gr.update(value=f"{dates}  ✕", visible=bool(dates)),
                gr.update(visible=filters.active),
                _field_msg(date_problem(filters.date_from, "from")), _field_msg(to_problem))

    def kb_view(self, search, date_from, date_to, selected, page):
        """The knowledge base's page for the search box and the dates. Outputs: the list (its
        choices; the ticked articles stay ticked), the page line, the page number, Previous,
        Next."""
        import gradio as gr

        view = kb_page(self.catalog, search, date_from, date_to, selected, page)
        return (gr.update(choices=list(view.choices), value=list(selected or [])),
                f"<span>{view.info(len(self.catalog))}</span>", view.page,
                gr.update(interactive=view.page > 1), gr.update(interactive=view.page < view.pages))

    def clear_filters(self, which: str, article_ids, date_from, date_to, undated):
        """Remove one filter ("articles", "dates") or all. Outputs: articles, From, To,
        undated, then filter_view's."""
        if which in ("articles", "all"):
            article_ids = []
        if which in ("dates", "all"):
            date_from, date_to, undated = "", "", False
        return (article_ids, date_from, date_to, undated,
                *self.filter_view(article_ids, date_from, date_to, undated))


@dataclass
class Views:
    """The page's components that events read or write."""

    session: Any  # a Gradio component
    chatbot: Any  # a Gradio component
    question: Any  # a Gradio component
    send: Any  # a Gradio component
    counter: Any  # a Gradio component
    notice: Any  # a Gradio component
    new: Any  # a Gradio component
    download: Any  # a Gradio component
    export_hint: Any  # a Gradio component
    chips: tuple  # (articles, dates, clear all)
    kb: Any  # a Gradio component
    kb_search: Any  # a Gradio component
    kb_info: Any  # a Gradio component
    kb_pages: tuple  # (page number state, Previous, Next)
    date_from: Any  # a Gradio component
    date_to: Any  # a Gradio component
    from_msg: Any  # a Gradio component
    to_msg: Any  # a Gradio component
    undated: Any  # a Gradio component
    api_question: Any  # a Gradio component
    api_turns: Any  # a Gradio component
    api_go: Any  # a Gradio component


def _layout(app: ChatApp, cfg: Config) -> Views:
    import gradio as gr

    n = len(app.catalog)
    gr.Markdown("<header class='app-header'><h1>新闻问答 News Q&A</h1><p>回答只来自已索引的文章，每句话都标注来源。"
            "Answers come only from the indexed articles, each sentence with its source.</p></header>",
            elem_id="app-header", latex_delimiters=[])
    session = gr.State(Session())
    with gr.Row(elem_id="main", equal_height=False):
        with gr.Column(scale=3, min_width=320, elem_id="chat-col"):
            chatbot = gr.Chatbot(
                [], show_label=False, elem_id="chatbot", height="62vh", min_height=320, autoscroll=False,
                sanitize_html=True, allow_tags=False, render_markdown=True, latex_delimiters=[],
                buttons=[], feedback_options=("Like", "Dislike"), layout="panel",
                placeholder=welcome_html(app.catalog, app.topics), examples=[{"text": q} for q in app.suggester.examples()])
            with gr.Column(elem_id="composer"):
                with gr.Row(elem_id="chips"):
                    chips = (gr.Button("", visible=False, size="sm", elem_classes=["chip"], elem_id="chip-articles"),
                             gr.Button("", visible=False, size="sm", elem_classes=["chip"], elem_id="chip-dates"),
                             gr.Button("清除全部筛选 Clear all filters", visible=False, size="sm",
                                       elem_classes=["chip", "chip-clear"], elem_id="chip-clear"))
                with gr.Row(elem_id="composer-row", equal_height=True):
                    question = gr.Textbox(placeholder="输入问题 Ask a question",
                                          show_label=False, scale=5, elem_id="question", lines=1, max_lines=4,
                                          container=False)
                    send = gr.Button("发送 Send", variant="primary", scale=1, min_width=80, elem_id="send",
                                     interactive=False)
                counter = gr.Markdown("", elem_id="counter", latex_delimiters=[])
                notice = gr.Markdown("", elem_id="notice", latex_delimiters=[])
            with gr.Row(elem_id="controls"):
                new = gr.Button("新对话 New conversation", size="sm", elem_id="new")
                download = gr.DownloadButton("导出 Export", size="sm", elem_id="export", interactive=False)
                export_hint = gr.Markdown(EXPORT_HINT, elem_id="export-hint", latex_delimiters=[])
        with gr.Column(scale=2, min_width=300, elem_id="side-col"):
            with gr.Accordion(f"知识库与筛选 Knowledge base & filters · {n} 篇", open=True, elem_id="side-acc"):
                kb_search = gr.Textbox("", label="搜索知识库 Search the knowledge base", elem_id="kb-search",
                                       placeholder="标题或摘要中的词 Words in a title or summary", max_lines=1)
                first = kb_page(app.catalog, "", "", "", [], 1)
                kb = gr.CheckboxGroup(list(first.choices), value=[], elem_id="kb",
                                      label=f"知识库 Knowledge base：{n} 篇文章 articles",
                                      info="勾选即只在这些文章中查找 Tick to search only these")
                with gr.Row(elem_id="kb-pager", equal_height=True):
                    kb_prev = gr.Button("‹ 上一页 Prev", size="sm", elem_id="kb-prev", interactive=False, min_width=60)
                    kb_info = gr.Markdown(f"<span>{first.info(n)}</span>", elem_id="kb-info", latex_delimiters=[])
                    kb_next = gr.Button("下一页 Next ›", size="sm", elem_id="kb-next",
                                        interactive=first.pages > 1, min_width=60)
                kb_page_number = gr.State(1)
                with gr.Row(elem_id="dates"):
                    with gr.Column(min_width=120):
                        date_from = gr.Textbox("", label="起始日期 From", placeholder="2026-01-01", elem_id="date-from")
                        from_msg = gr.Markdown("", elem_id="date-from-msg", latex_delimiters=[])
                    with gr.Column(min_width=120):
                        date_to = gr.Textbox("", label="截止日期 To", placeholder="2026-03-31", elem_id="date-to")
                        to_msg = gr.Markdown("", elem_id="date-to-msg", latex_delimiters=[])
                undated = gr.Checkbox(False, elem_id="undated",
                                      label="按日期筛选时也包括「日期不详」的文章 With dates set, include undated articles")
    api_question = gr.Textbox(visible=False)
    api_turns = gr.JSON(visible=False)
    api_go = gr.Button(visible=False)
    return Views(session, chatbot, question, send, counter, notice, new, download, export_hint, chips, kb,
                 kb_search, kb_info, (kb_page_number, kb_prev, kb_next), date_from, date_to, from_msg, to_msg, undated, api_question, api_turns, api_go)


def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _wire(v: Views, app: ChatApp, cfg: Config) -> None:
    import gradio as gr

    private = {"api_visibility": "private"}
    filters = [v.kb, v.date_from, v.date_to, v.undated]
    chat_in = [v.question, v.session, *filters]
    chat_out = [v.chatbot, v.session, v.question, v.notice, v.download, v.export_hint]
    # The API first: the page's own events (private) would otherwise take the name "chat".
    def chat_api(question, session, article_ids, date_from, date_to, undated, request: gr.Request):
        return app.chat_api(question, session, article_ids, date_from, date_to, undated,
                            request.session_hash or "", _client(request))

    def ask(question: str, history: list | None = None, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Stateless: answer `question` given an optional history in messages format;
        returns the Answer as JSON (text, citations, abstained)."""
        try:
            return app.ask(question, history)
        finally:
            app.free_unless_kept((request.session_hash or "") if request else "")

    v.api_go.click(chat_api, [v.api_question, v.session, *filters], [v.api_turns, v.session], api_name="chat")
    gr.api(ask, api_name="ask")
    sync = _read("sync.js").replace("LIMIT", str(cfg.answer.max_question_chars))
    # The Send button follows the box (empty, over the limit) and a running answer; the
    # page's script keeps window.ragBusy while an answer streams.
    v.question.change(None, [v.question], [v.send, v.counter], js=sync, **private)
    busy = "(...args) => { window.ragBusy = true; return args; }"
    idle = "(q) => { window.ragBusy = false; return (" + sync + ")(q); }"

    answering = []  # the events that run an answer: a new conversation cancels them

    def chain(event):
        answering.append(event)
        event.then(None, [v.question], [v.send, v.counter], js=idle, **private)

    def chat(question, session, article_ids, date_from, date_to, undated, request: gr.Request):
        yield from app.chat(question, session, article_ids, date_from, date_to, undated, request.session_hash or "",
                            _client(request))

    def reset(request: gr.Request):
        return app.reset(request.session_hash or "")

    chain(gr.on([v.send.click, v.question.submit], chat, chat_in, chat_out, js=busy,
                trigger_mode="once", show_progress="hidden", **private))

    def pick_example(evt: gr.SelectData):
        return app.pick_example(evt)

    def pick_option(session, evt: gr.SelectData):
        return app.pick_option(session, evt)

    chain(v.chatbot.example_select(pick_example, None, [v.question], **private).then(
        chat, chat_in, chat_out, js=busy, show_progress="hidden", **private))
    view_out = [*v.chips, v.from_msg, v.to_msg]
    chain(v.chatbot.option_select(pick_option, [v.session], [v.question, *filters, *view_out], **private).then(
        chat, chat_in, chat_out, js=busy, show_progress="hidden", **private))

    reset_out = [v.chatbot, v.session, v.question, v.notice, v.download, v.export_hint]
    reset_js = "() => { window.ragBusy = false; window.ragResetEvidence && window.ragResetEvidence(); }"
    v.new.click(reset, None, reset_out, js=reset_js, cancels=answering, **private)
    v.chatbot.clear(reset, None, reset_out, js=reset_js, cancels=answering, **private)

    def vote(data: gr.LikeData, session, request: gr.Request):
        app.vote(data, session, _client(request))

    # one at a time, in the order clicked: a changed vote must land after the one it replaces
    v.chatbot.like(vote, [v.session], None, concurrency_limit=1, **private)

    # One event for every filter change, so the chips always show the latest choices (a blur
    # and a tick arriving together would otherwise race).
    gr.on([v.kb.change, v.undated.change, v.date_from.blur, v.date_from.submit, v.date_to.blur,
           v.date_to.submit], app.filter_view, filters, view_out, show_progress="hidden",
          trigger_mode="always_last", **private)

    # The knowledge base: a search, the dates and the pager choose which page of articles it
    # lists; the ticked ones stay listed first.
    number, prev, nxt = v.kb_pages
    kb_in = [v.kb_search, v.date_from, v.date_to, v.kb]
    kb_out = [v.kb, v.kb_info, number, prev, nxt]

    def kb_first(search, date_from, date_to, selected):
        return app.kb_view(search, date_from, date_to, selected, 1)

    def kb_turn(step: int):
        def turn(search, date_from, date_to, selected, page):
            return app.kb_view(search, date_from, date_to, selected, (page or 1) + step)
        return turn

    # .change, not blur: clearing the filters (a chip, "clear and ask again") sets the dates too
    gr.on([v.kb_search.change, v.date_from.change, v.date_to.change],
          kb_first, kb_in, kb_out, show_progress="hidden", trigger_mode="always_last", **private)
    prev.click(kb_turn(-1), [*kb_in, number], kb_out, show_progress="hidden", **private)
    nxt.click(kb_turn(+1), [*kb_in, number], kb_out, show_progress="hidden", **private)

    def clearer(which: str):
        def clear(article_ids, date_from, date_to, undated):
            return app.clear_filters(which, article_ids, date_from, date_to, undated)
        return clear

    for chip, which in zip(v.chips, ("articles", "dates", "all"), strict=True):
        chip.click(clearer(which), filters, [*filters, *view_out], **private)


def _client(request) -> str:
    """The client's address, which the per-client limits count by."""
    return str(getattr(getattr(request, "client", None), "host", "") or "?")


def build_app(pipeline: Pipeline, cfg: Config | None = None):
    import os

    # Gradio keeps per-event timings for its monitoring page (10,000 by default); 1,000 is plenty.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    import gradio as gr

    cfg = cfg or pipeline.cfg
    handlers = ChatApp(pipeline, cfg)
    with gr.Blocks(title="新闻问答 News Q&A", analytics_enabled=False) as app:
        _wire(_layout(handlers, cfg), handlers, cfg)
    handlers.blocks = app
    app.queue(max_size=cfg.ui.max_queue, default_concurrency_limit=cfg.ui.concurrency)
    return app


def page_assets() -> dict:
    """What Gradio 6 takes at launch for the page: theme (one CJK-capable font stack), styles
    and the page's script."""
    import gradio as gr

    theme = gr.themes.Default(font=FONT_STACK, font_mono=("Noto Sans Mono CJK SC", "WenQuanYi Micro Hei Mono",
                                                          "ui-monospace", "monospace"))
    fonts = ", ".join(f'"{f}"' if " " in f else f for f in FONT_STACK)
    return {"theme": theme, "css": _read("app.css"), "js": _read("app.js"),
            "head": f"<style>:root {{ --rag-font: {fonts}; }}\n{_read('page.css')}</style>"}
