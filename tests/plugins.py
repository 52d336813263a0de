"""Parts registered from outside the core, the way a third party would: importing this module
(`plugins: [tests.plugins]` in a config, or an import in code) registers an embedding
backend, a vector store, an answerer and a loader. Nothing in rag/ or vectorstore/ knows
about them; tests/test_registry.py uses each through `rag ingest`, `rag ask` and `answer()`."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag.errors import ArticleError, IndexMismatchError, IndexMissingError
from rag.index.store import ArticleState
from rag.registry import ANSWERERS, EMBEDDERS, LOADERS, STORES
from rag.types import Answer, Article, Chunk, Citation, RetrievalFilter
from tests.fakes import HashEmbedder

# -- an embedding backend ---------------------------------------------------------------------

class TrigramBackend:
    """`embedding.backend: test-trigram`: the hashing embedder under a name of its own."""

    def __call__(self, cfg) -> HashEmbedder:
        return HashEmbedder(dim=48, name=self.model_name(cfg))

    def model_name(self, cfg) -> str:
        return "test-trigram-48"


# -- a vector store: one JSON file per collection ----------------------------------------------

class JsonStore:
    """`vectorstore.backend: test-json`: every collection is `data_dir/jsonstore/<name>.json`,
    brute-force cosine search. Small, slow, and enough to run the whole pipeline on."""

    def __init__(self, cfg, model_name: str, collection: str, base: str | None = None):
        self._cfg, self._model, self._name = cfg, model_name, collection
        self._base = base or cfg.vectorstore.collection
        self._root = Path(cfg.data_dir) / "jsonstore"
        self._rows: dict[str, dict] | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def _file(self) -> Path:
        return self._root / f"{self._name}.json"

    def _load(self) -> dict:
        return json.loads(self._file.read_text(encoding="utf-8"))

    def _save(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"model": self._model, "rows": self._rows}, ensure_ascii=False))
        tmp.replace(self._file)

    def _open(self, data: dict) -> JsonStore:
        if data["model"] != self._model:
            raise IndexMismatchError(f"the index was built with {data['model']!r}, the config asks for "
                                     f"{self._model!r}; run `rag ingest --rebuild`")
        self._rows = data["rows"]
        return self

    def open_for_read(self) -> JsonStore:
        if not self._file.exists():
            raise IndexMissingError(f"no index yet (collection {self._name!r}): run `rag ingest`")
        return self._open(self._load())

    def open_for_write(self, dimension: Callable[[], int], rebuild: bool = False) -> JsonStore:
        if rebuild or not self._file.exists():
            self._rows = {}
            self._save()
            return self
        return self._open(self._load())

    @property
    def rows(self) -> dict[str, dict]:
        if self._rows is None:
            raise RuntimeError("open the store first")
        return self._rows

    def with_collection(self, name: str) -> JsonStore:
        return JsonStore(self._cfg, self._model, name, self._base)

    def new_generation(self) -> JsonStore:
        n = len(self.generations())
        return self.with_collection(f"{self._base}-g{n}")

    def generations(self) -> list[str]:
        names = [p.stem for p in self._root.glob("*.json")] if self._root.exists() else []
        pattern = re.compile(rf"^{re.escape(self._base)}(-g(\d+))?$")
        found = [(int(m[2] or -1), n) for n in names if (m := pattern.match(n))]
        return [n for _, n in sorted(found)]

    def exists(self) -> bool:
        if not self._file.exists():
            return False
        if self._rows is None:
            self._rows = self._load()["rows"]
        return True

    def drop(self) -> None:
        self._file.unlink(missing_ok=True)
        self._rows = None

    def article_states(self) -> dict[str, ArticleState]:
        out: dict[str, list] = {}
        for row in self.rows.values():
            c = row["chunk"]
            entry = out.setdefault(c["article_id"], [row["key"], c["chunk_count"], 0])
            entry[2] += 1
        return {a: ArticleState(k, n, stored) for a, (k, n, stored) in out.items()}

    def replace_articles(self, article_ids, chunks, embeddings, ingest_keys) -> None:
        self.delete_articles(article_ids)
        for c, v in zip(chunks, embeddings):
            self.rows[c.id] = {"chunk": dataclasses.asdict(c), "vector": list(v), "key": ingest_keys[c.article_id]}
        self._save()

    def delete_articles(self, article_ids) -> None:
        gone = set(article_ids)
        for cid in [cid for cid, row in self.rows.items() if row["chunk"]["article_id"] in gone]:
            del self.rows[cid]
        self._save()

    @staticmethod
    def _chunk(row: dict) -> Chunk:
        return Chunk(**{**row["chunk"], "heading_path": tuple(row["chunk"]["heading_path"])})

    def all_chunks(self) -> list[Chunk]:
        return [self._chunk(r) for r in self.rows.values()]

    def query(self, embedding, k: int, flt: RetrievalFilter | None = None) -> list[tuple[Chunk, float]]:
        rows = [r for r in self.rows.values()
                if flt is None or flt.admits(r["chunk"]["article_id"], r["chunk"]["date"])]
        if not rows:
            return []
        sims = np.array([r["vector"] for r in rows]) @ np.asarray(embedding)
        order = np.argsort(-sims)[:k]
        return [(self._chunk(rows[i]), float(1.0 - sims[i])) for i in order]

    def count(self) -> int:
        return len(self.rows)

    def vectors_for(self, article_ids) -> dict[str, list[tuple[Chunk, list[float]]]]:
        wanted = set(article_ids)
        out: dict[str, list[tuple[Chunk, list[float]]]] = {}
        for r in self.rows.values():
            if r["chunk"]["article_id"] in wanted:
                out.setdefault(r["chunk"]["article_id"], []).append((self._chunk(r), r["vector"]))
        return out


def json_store(cfg, model_name: str, collection: str) -> JsonStore:
    return JsonStore(cfg, model_name, collection)


# -- an answerer: the top passage's first sentence, cited -----------------------------------------

class FirstSentenceAnswerer:
    """`answer.answerer: test-first-sentence`: cites the first sentence of the best passage."""

    def __init__(self, cfg):
        self.cfg = cfg

    def stream(self, search, q, hits):
        if not hits:
            yield Answer(self.cfg.answer.abstain_message, (), True, search.question)
            return
        c = hits[0].chunk
        end = next((i + 1 for i, ch in enumerate(c.text) if ch in "。！？.!?\n" and i > 0), len(c.text))
        quote = c.text[:end]
        yield quote
        cite = Citation(1, c.article_id, c.title, c.url, c.date, quote, c.id, c.start, c.start + len(quote))
        yield Answer(f"{quote}[1]", (cite,), False, search.question)


def first_sentence_answerer(cfg, *, semantics=None, chat_model=None) -> FirstSentenceAnswerer:
    return FirstSentenceAnswerer(cfg)


# -- a loader: `.note` files, "title line, blank line, body" ------------------------------------

class NoteLoader:
    version = "test-note/1"

    def parse(self, article_id: str, raw: bytes, path: str) -> Article:
        import hashlib

        text = raw.decode("utf-8")
        title, sep, body = text.partition("\n\n")
        if not sep or not body.strip():
            raise ArticleError("a .note file is a title line, a blank line and the text")
        return Article(id=article_id, path=path, title=title.strip(), url=None, date=None, body=body,
                       content_hash=hashlib.sha256(raw).hexdigest(), head=text[: len(text) - len(body)],
                       loader=self.version)


EMBEDDERS.register("test-trigram", TrigramBackend(), replace=True)
STORES.register("test-json", json_store, replace=True)
ANSWERERS.register("test-first-sentence", first_sentence_answerer, replace=True)
LOADERS.register(".note", NoteLoader(), replace=True)

# the same parts by dotted path, for configs that name them without `plugins:`
TRIGRAM = TrigramBackend()
