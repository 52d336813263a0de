"""The LangChain face of the pipeline: a BaseRetriever over the hybrid retriever and a
runnable chain condense -> retrieve -> answer. Typed Answer objects are what leave it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from pydantic import ConfigDict

from rag.retrieve.retrieval import HybridRetriever
from rag.types import Hit

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
    runnable over the pipeline's own steps; `.stream()` yields text pieces and finally the
    Answer, as `Pipeline.stream` does."""
    return (RunnableLambda(pipeline.step_condense) | RunnableLambda(pipeline.step_retrieve)
            | RunnableLambda(pipeline.step_answer))
