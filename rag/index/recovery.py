"""Finishing a restore that was interrupted (kill -9, power cut) at any point.

`rag restore` stages a verified copy of the backup beside the live index, then writes a
journal (`restore.journal`, one atomic write) naming the staged folder, the folder the old
index is moved into and the new lexical generation, and only then swaps the Chroma folder
(two renames) and the lexical symlink (one rename). The journal is removed last.

Every start that opens the data dir (`rag ask`, `chat`, `serve`, `eval`, `ingest`, `backup`,
`restore`) calls `finish_interrupted_restore` first:
- a journal means the backup was verified and the swap had begun: the swap is finished
  (rolled forward), whichever rename it stopped before, and the old index is removed;
- no journal means the restore stopped while copying or checking, before anything live was
  touched: its staging folder is removed and the old index stays;
- a `.before-restore-*` folder holding the only Chroma folder with no journal (left by a
  version before the journal) is moved back: rolled back to the old index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IndexBusyError, IndexCorruptError
from rag.index.index_layout import IndexPaths
from rag.index.lexical import switch_to
from rag.index.storage import fsync_dir, write_atomic

STAGED_PREFIX = ".restore-"
ASIDE_PREFIX = ".before-restore-"
_LEFTOVER = re.compile(rf"^({re.escape(STAGED_PREFIX)}|{re.escape(ASIDE_PREFIX)})\d+$")
_GENERATION = re.compile(r"^lexical\.\d+$")


@dataclass(frozen=True)
class RestoreJournal:
    """What a restore that has begun its swap must finish: names inside the data dir only."""

    staged: str  # the verified copy of the backup (.restore-<ns>)
    aside: str  # where the replaced Chroma folder goes (.before-restore-<ns>)
    lexical_generation: str  # the backup's lexical index, staged as lexical.<ns>
    source: str  # the backup folder, for the message

    def write(self, data_dir: Path) -> None:
        body = json.dumps(self.__dict__, ensure_ascii=False).encode()
        write_atomic(IndexPaths.of(data_dir).restore_journal, body)
        fsync_dir(data_dir)

    @classmethod
    def read(cls, data_dir: Path) -> RestoreJournal | None:
        path = IndexPaths.of(data_dir).restore_journal
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexCorruptError(f"{path} (an interrupted restore) cannot be read: {exc.strerror or exc}") from exc
        try:
            data = json.loads(raw)
            journal = cls(**{k: str(data[k]) for k in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise IndexCorruptError(f"{path} (an interrupted restore) is damaged; run `rag restore` "
                                    "again with the same backup") from exc
        names_ok = (_LEFTOVER.match(journal.staged) and _LEFTOVER.match(journal.aside)
                    and _GENERATION.match(journal.lexical_generation))
        if not names_ok:  # never follow a journal out of the data dir
            raise IndexCorruptError(f"{path} names folders outside the data dir; run `rag restore` again")
        return journal

    @staticmethod
    def remove(data_dir: Path) -> None:
        IndexPaths.of(data_dir).restore_journal.unlink(missing_ok=True)
        fsync_dir(data_dir)


def needs_recovery(data_dir: str | os.PathLike) -> bool:
    """Cheap check (one listdir) that a restore left something behind."""
    root = Path(data_dir)
    try:
        names = os.listdir(root)
    except OSError:
        return False
    return IndexPaths.of(root).restore_journal.name in names or any(_LEFTOVER.match(n) for n in names)


def finish_interrupted_restore(data_dir: str | os.PathLike) -> str | None:
    """Finish or roll back an interrupted restore; say what was done (None: nothing to do).

    Takes the writer's lock; when another writer holds it (a restore may be running right
    now), leaves everything to that writer."""
    from rag.index.ingest import ingest_lock

    if not needs_recovery(data_dir):
        return None
    try:
        with ingest_lock(str(data_dir)):
            return finish_interrupted_restore_locked(data_dir)
    except IndexBusyError:
        return None


def finish_interrupted_restore_locked(data_dir: str | os.PathLike) -> str | None:
    """finish_interrupted_restore for a caller that holds the writer's lock."""
    root = Path(data_dir)
    if not needs_recovery(root):
        return None
    journal = RestoreJournal.read(root)
    if journal is not None:
        _roll_forward(root, journal)
        message = f"finished a restore from {journal.source} that was interrupted"
    else:
        message = _roll_back(root)
    for name in os.listdir(root):
        if _LEFTOVER.match(name):
            shutil.rmtree(root / name, ignore_errors=True)
    if journal is not None:
        RestoreJournal.remove(root)
    fsync_dir(root)
    return message


def _roll_forward(root: Path, journal: RestoreJournal) -> None:
    live = IndexPaths.of(root)
    staged, aside = IndexPaths.of(root / journal.staged), IndexPaths.of(root / journal.aside)
    if staged.chroma.exists():  # the Chroma swap has not happened (or only its first half)
        if live.chroma.exists():
            aside.root.mkdir(exist_ok=True)
            target = aside.chroma if not aside.chroma.exists() else aside.root / f"chroma-{os.getpid()}"
            live.chroma.rename(target)
        staged.chroma.rename(live.chroma)
    generation = root / journal.lexical_generation
    pointed = os.readlink(live.lexical) if live.lexical.is_symlink() else None
    if pointed != journal.lexical_generation:
        if not generation.is_dir():
            raise IndexCorruptError(f"an interrupted restore from {journal.source} cannot be finished: its "
                                    f"lexical index {generation} is gone; run `rag restore` again")
        switch_to(live.lexical, generation)
    fsync_dir(root)


def _roll_back(root: Path) -> str:
    """No journal: the swap never began, unless an older version crashed between renames."""
    live = IndexPaths.of(root)
    if not live.chroma.exists():
        for name in sorted(os.listdir(root), reverse=True):
            old = IndexPaths.of(root / name).chroma
            if name.startswith(ASIDE_PREFIX) and old.is_dir():
                old.rename(live.chroma)
                return "rolled back a restore that was interrupted: the index before it is back in place"
    return "removed the leftovers of a restore that was interrupted before it changed the index"
