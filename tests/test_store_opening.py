"""The vector store is opened on its first query (rag.index.store.OpenedOnFirstQuery): once,
however many threads ask; a failed open raises there and is tried again next time."""

from __future__ import annotations

import threading
import time

import pytest

from rag.errors import IndexMissingError
from rag.index.store import OpenedOnFirstQuery
from rag.types import Chunk


class CountingStore:
    """A store that answers every query with one chunk and counts how often it was opened."""

    opened = 0

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first

    def open_for_read(self):
        time.sleep(0.05)  # as slow as a real open: threads without the lock would all open it
        CountingStore.opened += 1
        if self.fail_first:
            self.fail_first -= 1
            raise IndexMissingError("no index yet: run `rag ingest`")
        return self

    def query(self, embedding, k, flt=None):
        return [(Chunk("a.md#0", "a.md", 0, "text", 0, 4, (), "t", None, None, "h", 1), 0.1)]


@pytest.fixture(autouse=True)
def _reset():
    CountingStore.opened = 0


def test_nothing_is_opened_until_the_first_query_and_then_once():
    backing = CountingStore()
    store = OpenedOnFirstQuery(backing.open_for_read)
    assert not store.is_open and CountingStore.opened == 0
    assert [c.id for c, _ in store.query([1.0], 1)] == ["a.md#0"]
    store.query([1.0], 1)
    store.warm()
    assert store.is_open and CountingStore.opened == 1


def test_threads_asking_at_once_open_it_once():
    store = OpenedOnFirstQuery(CountingStore().open_for_read)
    threads = [threading.Thread(target=store.query, args=([1.0], 1)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert CountingStore.opened == 1


def test_a_failed_open_raises_at_the_query_and_is_tried_again():
    store = OpenedOnFirstQuery(CountingStore(fail_first=1).open_for_read)
    with pytest.raises(IndexMissingError, match="rag ingest"):
        store.query([1.0], 1)
    assert not store.is_open
    assert store.query([1.0], 1) and store.is_open and CountingStore.opened == 2


@pytest.mark.slow
def test_a_server_opens_the_store_at_start_and_a_broken_one_stops_it(shipped_index, real_embedder, tmp_path):
    """`rag serve` (ui.app.ChatApp) calls warm_up(): the store is opened before the first
    question, and a missing one is an error at start, not at a user's first fact question."""
    import dataclasses
    import shutil

    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(shipped_index, embedder=real_embedder)
    store = pipeline.retriever.store
    assert store is not None and not store.is_open
    pipeline.warm_up()
    assert store.is_open
    assert not pipeline.answer("Anthropic捐了多少钱？").abstained

    copy = tmp_path / "data"
    shutil.copytree(shipped_index.data_dir, copy)
    shutil.rmtree(copy / "chroma")
    broken = build_pipeline(dataclasses.replace(shipped_index, data_dir=str(copy)), embedder=real_embedder)
    with pytest.raises(IndexMissingError, match="rag ingest"):
        broken.warm_up()
