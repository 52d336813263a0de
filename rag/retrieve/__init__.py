"""Retrieval: from a question (and the conversation before it) to ranked passages.

It owns the question's terms, follow-up condensing and the asker's own words (`query`), the
English-to-Chinese dictionary bridge through CC-CEDICT (`bridge`), hybrid retrieval, BM25
fused with vectors from the store by weighted RRF (`retrieval`, with the `Retriever`
Protocol), and the rerank by the meaning of each passage's best sentence (`rerank`). It may
import the index (`rag.index`) and the shared foundation, never answering, the collection
answers or the pipeline (tests/test_layout.py).
"""
