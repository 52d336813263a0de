"""Answering a single-fact question from retrieved passages, with checked citations.

It owns choosing the answer sentences by meaning and words (`extractive`), the evidence gate
that answers or abstains (`gate`), the answerers, extractive or LLM, and the checks of an
LLM's markers and sentences (`answerers`), what an LLM reads within its budget
(`context_budget`), and the local GGUF model with llama.cpp's server (`llm_local`). Named
`answering` because `from rag import answer` is the public function. It may import
retrieval (`rag.retrieve`), the index and the shared foundation, never the collection
answers or the pipeline (tests/test_layout.py).
"""
