"""Backup and restore of the on-disk index (Chroma folder + lexical index).

`rag backup DIR` copies under the ingest lock, writes a manifest with every file's size and
SHA-256, then re-reads the copy and checks it against the manifest and SQLite's own check
of the Chroma database. `rag restore DIR` checks the backup the same way before touching
anything, copies it into a staging folder beside the live index, opens the staged copy and
counts its chunks (Chroma, lexical index and manifest must agree), and only then swaps it
in. The replaced index is moved aside and deleted last, so a failed restore loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from rag.config import Config
from rag.errors import BackupError, ConfigError, IndexMissingError, RagError
from rag.index.index_layout import IndexMeta, IndexPaths
from rag.index.ingest import checkpoint, ingest_lock
from rag.index.lexical import LexicalIndex, remove_stale_generations, stage_generation, switch_to
from rag.index.recovery import (
    ASIDE_PREFIX,
    STAGED_PREFIX,
    RestoreJournal,
    finish_interrupted_restore_locked,
)
from rag.index.storage import fsync_dir, storage_error, write_atomic

_PARTS = (IndexPaths(Path()).chroma.name, IndexPaths(Path()).lexical.name)  # what a backup holds
MANIFEST_FORMAT = 2


def _check_local(cfg: Config) -> None:
    if cfg.vectorstore.backend != "chroma":
        raise ConfigError(f"backup/restore covers the on-disk Chroma index; vectorstore.backend is "
                          f"{cfg.vectorstore.backend!r}: back up its data with its own tools")
    if cfg.vectorstore.server_url:
        raise ConfigError("backup/restore covers the on-disk index; with vectorstore.server_url, "
                          "back up the Chroma server's --path folder instead")


# -- files and checksums --------------------------------------------------------------------

def _copy_file(src: Path, dst: Path) -> dict:
    h = hashlib.sha256()
    size = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while block := fin.read(1 << 20):
            h.update(block)
            fout.write(block)
            size += len(block)
        fout.flush()
        os.fsync(fout.fileno())
    return {"size": size, "sha256": h.hexdigest()}


def _file_sum(path: Path) -> dict:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return {"size": size, "sha256": h.hexdigest()}


def _copy_parts(src_root: Path, dst_root: Path) -> dict[str, dict]:
    """Copy chroma/ and lexical/ (the live generation, not the symlink) with their sums."""
    files: dict[str, dict] = {}
    for part in _PARTS:
        top = (src_root / part).resolve()
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                rel = Path(part) / Path(dirpath, name).relative_to(top)
                (dst_root / rel).parent.mkdir(parents=True, exist_ok=True)
                files[rel.as_posix()] = _copy_file(Path(dirpath, name), dst_root / rel)
    for dirpath, _, _ in os.walk(dst_root):
        fsync_dir(dirpath)
    return files


def _mismatches(root: Path, files: dict[str, dict]) -> list[str]:
    problems = []
    for rel, want in sorted(files.items()):
        path = root / rel
        try:
            got = _file_sum(path)
        except OSError as exc:
            problems.append(f"{rel} cannot be read ({exc.strerror or exc})")
            continue
        if got["size"] != want["size"]:
            problems.append(f"{rel} is {got['size']} bytes, the manifest says {want['size']}")
        elif got["sha256"] != want["sha256"]:
            problems.append(f"{rel} does not match its checksum")
    return problems


def _sqlite_problem(db: Path) -> str | None:
    """SQLite's own check of the Chroma database, read-only (the file is never modified)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        return str(exc)
    return None if result == "ok" else str(result)


def _lexical_meta(root: Path) -> IndexMeta:
    meta = IndexMeta.read(IndexPaths.of(root).lexical)
    if meta is None:
        raise BackupError(f"{IndexPaths.of(root).lexical_meta} is missing or cannot be read")
    return meta


# -- backup -----------------------------------------------------------------------------------

def backup(cfg: Config, dest: str | Path) -> Path:
    _check_local(cfg)
    src, dest = Path(cfg.data_dir), Path(dest)
    if not IndexPaths.of(src).lexical_meta.exists():
        raise IndexMissingError(f"nothing to back up in {src}: run `rag ingest` first")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"backup folder {dest} is not empty")
    created = not dest.exists()
    with ingest_lock(cfg.data_dir):
        finish_interrupted_restore_locked(src)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            files = _copy_parts(src, dest)
            meta = _lexical_meta(dest)
            manifest = {"format": MANIFEST_FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "data_dir": str(src), "embedding_model": meta.embedding_model,
                        "chunks": meta.count, "collection": meta.collection,
                        "files": files}
            write_atomic(dest / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            _verify_backup(dest, manifest)  # read back what was written, as restore will
        except BaseException as exc:
            _discard(dest, created)
            if isinstance(exc, OSError):
                raise storage_error(dest, exc, "write the backup") from exc
            raise
    return dest


def _discard(dest: Path, created: bool) -> None:
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for name in (*_PARTS, "manifest.json"):
        target = dest / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                target.unlink()


def _verify_backup(root: Path, manifest: dict) -> None:
    """Checksums, SQLite's check, and the lexical index's own count against the manifest."""
    if not all((root / part).is_dir() for part in _PARTS):
        raise BackupError(f"backup {root} is incomplete (it needs {' and '.join(_PARTS)} folders)")
    if "files" in manifest:
        problems = _mismatches(root, manifest["files"])
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise BackupError(f"backup {root} is damaged: {problems[0]}{more}; nothing was changed")
    problem = _sqlite_problem(IndexPaths.of(root).chroma / "chroma.sqlite3")
    if problem:
        raise BackupError(f"backup {root} is damaged: chroma/chroma.sqlite3 fails SQLite's check "
                          f"({problem}); nothing was changed")
    meta = _lexical_meta(root)
    if manifest.get("chunks") is not None and meta.count != manifest["chunks"]:
        raise BackupError(f"backup {root} does not match its manifest: the lexical index has "
                          f"{meta.count} chunks, the manifest says {manifest['chunks']}")


# -- restore ----------------------------------------------------------------------------------

def read_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / "manifest.json").read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{src} is not a backup made by `rag backup` (no manifest.json)") from exc
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BackupError(f"{src}/manifest.json cannot be read as a manifest ({type(exc).__name__})") from exc
    if not isinstance(manifest, dict) or manifest.get("format", 1) > MANIFEST_FORMAT:
        raise BackupError(f"{src}/manifest.json is not a manifest this version can read")
    return manifest


def _check_staged(cfg: Config, staged: Path, manifest: dict) -> None:
    """Open the staged copy the way `rag ask` will and count: Chroma, lexical, manifest agree."""
    from rag.index.store import open_store

    try:
        lexical = LexicalIndex.load(IndexPaths.of(staged).lexical)
    except RagError as exc:
        raise BackupError(f"the backup's lexical index cannot be opened ({exc}); nothing was changed") from exc
    staged_cfg = cfg.replace(data_dir=str(staged))
    name = lexical.index_meta.collection or cfg.vectorstore.collection
    model = str(lexical.index_meta.embedding_model)
    try:
        count = open_store(staged_cfg, model, name).open_for_read().count()
    except RagError as exc:
        raise BackupError(f"the backup's Chroma index cannot be opened ({exc}); nothing was changed") from exc
    finally:
        _forget_chroma_clients()
    expected = manifest.get("chunks")
    if count != len(lexical) or (expected is not None and count != expected):
        raise BackupError(f"the backup does not add up: Chroma holds {count} chunks, the lexical "
                          f"index {len(lexical)}, the manifest {expected}; nothing was changed")


def restore(cfg: Config, src: str | Path) -> dict:
    """Replace the index with a verified backup; the live index is untouched until the
    staged copy has been checked, and kept aside until the swap is done. The swap is
    journalled first, so a restore killed at any point is finished by the next start
    (rag/index/recovery.py)."""
    _check_local(cfg)
    src, data = Path(src), Path(cfg.data_dir)
    manifest = read_manifest(src)
    _verify_backup(src, manifest)
    with ingest_lock(cfg.data_dir):
        finish_interrupted_restore_locked(data)
        staged = data / f"{STAGED_PREFIX}{time.time_ns()}"
        aside = data / f"{ASIDE_PREFIX}{time.time_ns()}"
        journal = None
        try:
            try:
                staged.mkdir()
                files = _copy_parts(src, staged)
            except OSError as exc:
                raise storage_error(data, exc, "copy the backup into the data dir") from exc
            if "files" in manifest:
                copied = {k: v for k, v in files.items() if k in manifest["files"]}
                if copied != manifest["files"]:
                    raise BackupError(f"the copy of {src} in {staged} differs from the backup; nothing was changed")
            _check_staged(cfg, staged, manifest)
            checkpoint("restore-staged")
            generation = stage_generation(IndexPaths.of(data).lexical, IndexPaths.of(staged).lexical)
            journal = RestoreJournal(staged.name, aside.name, generation.name, str(src.resolve()))
            journal.write(data)
            _swap_in(data, staged, aside, generation)
        except BaseException:
            if journal is None:  # nothing live was touched: drop the staged copy
                shutil.rmtree(staged, ignore_errors=True)
                remove_stale_generations(IndexPaths.of(data).lexical)
            else:  # the swap had begun: finish it, as the next start would
                finish_interrupted_restore_locked(data)
            raise
        shutil.rmtree(staged, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
        RestoreJournal.remove(data)
    _forget_chroma_clients()  # a client cached in this process saw the old files
    return manifest


def _swap_in(data: Path, staged: Path, aside: Path, generation: Path) -> None:
    aside.mkdir()
    if IndexPaths.of(data).chroma.exists():
        IndexPaths.of(data).chroma.rename(IndexPaths.of(aside).chroma)
    checkpoint("restore-between-renames")
    IndexPaths.of(staged).chroma.rename(IndexPaths.of(data).chroma)
    checkpoint("restore-chroma-swapped")
    switch_to(IndexPaths.of(data).lexical, generation)
    fsync_dir(data)


def _forget_chroma_clients() -> None:
    from vectorstore.chroma_store import _forget_clients  # the core does not import chromadb

    _forget_clients()
