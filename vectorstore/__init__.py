"""Chroma-backed implementation of rag.index.store.VectorStore."""

from vectorstore.chroma_store import ChromaStore, open_chroma_store

__all__ = ["ChromaStore", "open_chroma_store"]
