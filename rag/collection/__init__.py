"""Questions about the collection itself: what the articles cover, how many, when, which
ones mention something, what each says, how two compare.

It owns recognising a question's kind, as one table of rules with their example phrasings
(`question_kinds`, `kind_examples.yaml`), streaming the kind's answer or the abstention
(`dispatch`), what the kinds share (`context`), and one module per kind, each with an
`answer(ctx)`: `overview`, `count`, `date`, `which`, `across`, `compare`. The catalog they
read is built at ingest, so it lives with the index (`rag.index.catalog`). It may import
answering, retrieval, the index and the shared foundation, never the pipeline
(tests/test_layout.py).
"""
