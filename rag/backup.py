"""Backup and restore of the on-disk index (Chroma folder + lexical index), taken under the
ingest lock so no ingest writes while the copy is made."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from rag.config import Config
from rag.errors import ConfigError, IndexMissingError
from rag.ingest import ingest_lock

_PARTS = ("chroma", "lexical")


def _check_local(cfg: Config) -> None:
    if cfg.vectorstore.server_url:
        raise ConfigError("backup/restore covers the on-disk index; with vectorstore.server_url, "
                          "back up the Chroma server's --path folder instead")


def backup(cfg: Config, dest: str | Path) -> Path:
    _check_local(cfg)
    src, dest = Path(cfg.data_dir), Path(dest)
    if not (src / "lexical" / "meta.json").exists():
        raise IndexMissingError(f"nothing to back up in {src}: run `rag ingest` first")
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"backup folder {dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    with ingest_lock(cfg.data_dir):
        for part in _PARTS:
            shutil.copytree(src / part, dest / part)
        meta = json.loads((src / "lexical" / "meta.json").read_text())
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "data_dir": str(src),
                "embedding_model": meta.get("embedding_model"), "chunks": meta.get("count")}
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return dest


def restore(cfg: Config, src: str | Path) -> dict:
    """Replace the index with a backup. The index it replaces is kept beside it until the
    copy is complete, so a failed restore loses nothing."""
    _check_local(cfg)
    src, data = Path(src), Path(cfg.data_dir)
    try:
        manifest = json.loads((src / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{src} is not a backup made by `rag backup` (no manifest.json)") from exc
    if not all((src / part).is_dir() for part in _PARTS):
        raise ConfigError(f"backup {src} is incomplete")
    data.mkdir(parents=True, exist_ok=True)
    with ingest_lock(cfg.data_dir):
        aside = data / f".before-restore-{time.time_ns()}"
        aside.mkdir()
        for part in _PARTS:
            if (data / part).exists():
                (data / part).rename(aside / part)
        try:
            for part in _PARTS:
                shutil.copytree(src / part, data / part)
        except BaseException:
            for part in _PARTS:
                shutil.rmtree(data / part, ignore_errors=True)
                if (aside / part).exists():
                    (aside / part).rename(data / part)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # a client cached in this process saw the old files
    except ImportError:  # pragma: no cover
        pass
    return manifest
