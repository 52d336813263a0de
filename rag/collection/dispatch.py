"""Answers to questions about the collection (rag.collection.question_kinds): drawn from the catalog
(titles, dates, summaries; rag.index.catalog) and the retrieved text, every sentence cited.

One module per kind in rag.collection (overview, count, date, which, across, compare), each
with an `answer(ctx)`, over what they share (rag.collection.context). The kind's rule in
rag.collection.question_kinds.RULES names its module; this streams that answer, or the standard
abstention when the catalog and passages hold nothing for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from rag.collection.context import Context
from rag.collection.question_kinds import Kind, QuestionKind, rule_for
from rag.retrieve.query import SearchQuery
from rag.types import Answer, Hit, RetrievalFilter


def handler_for(kind: Kind | str) -> Callable[[Context], Answer | None]:
    """What answers `kind`: `answer` of the module its rule names (rag.collection.question_kinds.RULES),
    imported when first asked for."""
    from importlib import import_module

    return import_module(rule_for(kind).handler).answer


def stream_kind(pipeline, search: SearchQuery, kind: QuestionKind, user_flt: RetrievalFilter | None,
                hits: list[Hit]) -> Iterator[str | Answer]:
    """Pieces of the answer, then the Answer; the standard abstention when the catalog and
    passages hold nothing for it. `user_flt` is the asker's own filter (CLI/UI); the
    question's date range narrows it here."""
    from rag.answering.answerers import abstention

    ctx = Context(pipeline, search, kind, user_flt)
    ctx.used_hits.extend(hits)
    answer = handler_for(kind.kind)(ctx)
    if answer is None:
        a = abstention(pipeline.cfg, search, hits)
        answer = Answer(text=a.text, citations=(), abstained=True, question=a.question,
                        search_query=a.search_query, hits=a.hits, kind=kind.kind.value)
    for piece in re.split(r"(?<=\])|(?<=\n)", answer.text):
        if piece:
            yield piece
    yield answer
