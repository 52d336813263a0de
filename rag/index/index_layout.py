"""Where an index's files live in a data dir, and what the lexical index's meta records:
the one place these names are spelled out.

    data_dir/
      ingest.lock       the writer's lock (ingest, backup, restore)
      restore.journal   only while a restore swaps the index in (rag/index/recovery.py)
      lexical -> lexical.<generation>/   BM25 index; its meta.json is the ingest record
      sentences/        sentence vectors (content-addressed)
      sentences.pending/  vectors embedded by a run not yet finished (resume reuses them)
      chroma/           the on-disk Chroma store (vectorstore.backend: chroma)
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

META_FILE = "meta.json"


@dataclass(frozen=True)
class IndexPaths:
    root: Path

    @classmethod
    def of(cls, data_dir: str | os.PathLike) -> IndexPaths:
        return cls(Path(data_dir))

    @property
    def lock(self) -> Path:
        return self.root / "ingest.lock"

    @property
    def restore_journal(self) -> Path:
        return self.root / "restore.journal"

    @property
    def lexical(self) -> Path:
        return self.root / "lexical"

    @property
    def lexical_meta(self) -> Path:
        return self.lexical / META_FILE

    @property
    def sentences(self) -> Path:
        return self.root / "sentences"

    @property
    def pending_sentences(self) -> Path:
        return self.root / "sentences.pending"

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"


@dataclass(frozen=True)
class IndexMeta:
    """What the lexical index's meta.json records. It is written last in an ingest, so it
    is the ingest record: readers take an index whose meta is there as complete."""

    embedding_model: str | None = None  # the model the vectors were made with
    unk_share: float = 1.0  # share of [UNK] tokens the model had on the corpus (1.0 if unknown)
    count: int | None = None  # chunks in the vector store when the index was built
    collection: str | None = None  # the live vector-store collection (generation)
    chunks_per_article: dict[str, int] = field(default_factory=dict)
    articles: dict[str, str] = field(default_factory=dict)  # article id -> ingest key
    format: int | None = None
    files: dict[str, int] = field(default_factory=dict)  # file -> size, to notice truncation

    def to_dict(self) -> dict:
        """What the lexical index saves (it adds `format` and `files` itself)."""
        data = dataclasses.asdict(self)
        for key in ("format", "files"):
            data.pop(key)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> IndexMeta:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @classmethod
    def read(cls, lexical_folder: str | os.PathLike) -> IndexMeta | None:
        """The meta of the index in `lexical_folder`, or None when missing or unreadable."""
        try:
            return cls.from_dict(json.loads((Path(lexical_folder) / META_FILE).read_text()))
        except (OSError, ValueError, TypeError, RecursionError):  # nested too deep is unreadable too
            return None
