"""The disk under the data dir: durable writes and telling its failures apart.

Read-only, full, locked and corrupt call for different actions; only a damaged index
should be rebuilt, so a failure is diagnosed (by trying a small write) before advice is given.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from rag.errors import DiskFullError, ReadOnlyStorageError, StorageError

_PROBE_BYTES = 1 << 20  # what a store write needs at least; a disk with less is full for us
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def failure_kind(exc: BaseException | None) -> str | None:
    """'read-only' or 'full' when an OSError says so, else None."""
    if isinstance(exc, OSError):
        if exc.errno in _READ_ONLY:
            return "read-only"
        if exc.errno in _FULL:
            return "full"
    return None


def probe(folder: str | os.PathLike, size: int = _PROBE_BYTES) -> str | None:
    """Try to write `size` bytes (at least 1 MB, at most 256 MB) in `folder` (or its nearest
    existing parent): 'read-only', 'full', or None when the write works."""
    size = min(max(size, _PROBE_BYTES), 256 * _PROBE_BYTES)
    target = _existing(Path(folder))
    try:
        fd, name = tempfile.mkstemp(prefix=".rag-probe-", dir=target)
    except OSError as exc:
        return failure_kind(exc) or "read-only"
    try:
        with os.fdopen(fd, "wb") as f:
            block = b"\0" * _PROBE_BYTES
            for _ in range(-(-size // _PROBE_BYTES)):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return failure_kind(exc)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return None


def storage_error(folder: str | os.PathLike, exc: BaseException | None, doing: str,
                  need: int = 0) -> StorageError:
    """The one error to raise when `doing` something under `folder` failed with `exc`
    (`need`: about how many bytes the failed write needed)."""
    kind = failure_kind(exc) or probe(folder, need)
    if kind == "read-only":
        return ReadOnlyStorageError(f"cannot {doing}: {folder} is read-only (or not writable by this user)")
    if kind == "full":
        return DiskFullError(f"cannot {doing}: no space left on the disk holding {folder}")
    reason = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) if exc else "unknown error"
    return StorageError(f"cannot {doing} in {folder}: {reason}")


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or a new file in `folder` survive a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(folder: str | os.PathLike) -> None:
    for dirpath, _, filenames in os.walk(os.fspath(folder)):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(dirpath)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, fsynced, then renamed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def remove_tree(path: str | os.PathLike) -> None:
    shutil.rmtree(path, ignore_errors=True)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 1 MB blocks (model files run to gigabytes)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
