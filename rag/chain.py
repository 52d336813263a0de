"""The LangChain face of the pipeline: a BaseRetriever over the hybrid retriever and a
runnable chain condense -> retrieve -> answer. Typed Answer objects are what leave it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from pydantic import ConfigDict

from rag.retrieve.retrieval import HybridRetriever
from rag.types import Answer, Hit

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


class HybridLangChainRetriever(BaseRetriever):
    """Lets LangChain code use our retriever; each Document carries the Hit it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: HybridRetriever
    k: int | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [hit_to_document(h) for h in self.retriever.retrieve(query, k=self.k)]


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        page_content=c.text,
        id=c.id,
        metadata={"article_id": c.article_id, "title": c.title, "url": c.url, "date": c.date,
                  "start": c.start, "end": c.end, "relevance": hit.relevance, "hit": hit},
    )


def build_chain(pipeline: Pipeline):
    """condense (and recognise the question's kind) -> retrieve -> answer, each step a
    runnable; `.stream()` yields text pieces and finally the Answer."""

    def condense(inp: dict) -> dict:
        search = pipeline.condense(inp["question"], inp.get("history"))
        kind = pipeline.classify(search, inp.get("history"), inp.get("page", 1))
        return {**inp, "search": search, "kind": kind}

    def retrieve(inp: dict) -> dict:
        # a date range in the question narrows the asker's filter (a fact question has none)
        flt = inp["kind"].merged_filter(inp.get("filters"))
        return {**inp, "hits": pipeline.retrieve_condensed(inp["search"], flt)}

    def answer(inp: dict) -> Iterator[str | Answer]:
        yield from pipeline.answer_hits(inp["search"], inp["hits"], inp["kind"], inp.get("filters"))

    return RunnableLambda(condense) | RunnableLambda(retrieve) | RunnableLambda(answer)
