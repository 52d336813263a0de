"""jieba's dictionaries, loaded fast: the prefix dictionary jieba cuts with and the words'
part-of-speech tags, pickled in the models cache.

jieba keeps its prefix dictionary (about 500,000 words and prefixes) as a marshal file in the
temp dir: loading it takes 0.48 s, the same dictionary pickled 0.15 s; jieba.posseg reads the
tags from dict.txt again at import (0.25 s, 0.12 s pickled) and loads tables only its HMM
uses (measured 2026-12-07; a cold `rag ask` is about 3 s). Each pickle is named for jieba's
version and its dictionary file's size and time, so another jieba or dictionary makes new
ones; a damaged pickle (or one another user wrote: a pickle runs code as it loads) is made
again from jieba's own, and a models dir that cannot be written leaves jieba's own to serve.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def load_dictionary(jieba) -> None:
    """Initialise jieba's default tokenizer from the pickle, or jieba's own way (then pickle it)."""
    tokenizer = jieba.dt
    if tokenizer.initialized:
        return
    path = _pickle_path(jieba, "dict")
    loaded = _read(path)
    if (isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[0], dict) and loaded[0]
            and isinstance(loaded[1], int)):
        with tokenizer.lock:
            if not tokenizer.initialized:
                tokenizer.FREQ, tokenizer.total, tokenizer.initialized = loaded[0], loaded[1], True
        return
    jieba.initialize()
    _write(path, (tokenizer.FREQ, tokenizer.total))


@functools.cache
def word_tags(jieba) -> dict[str, str]:
    """Each dictionary word's part-of-speech tag, as jieba.posseg reads them from dict.txt."""
    path = _pickle_path(jieba, "tags")
    loaded = _read(path)
    if isinstance(loaded, dict) and loaded:
        return loaded
    tags: dict[str, str] = {}
    with jieba.dt.get_dict_file() as f:
        for line in f:
            parts = line.decode("utf-8").strip().split(" ")
            if len(parts) >= 3:
                tags[parts[0]] = parts[2]
    _write(path, tags)
    return tags


def _pickle_path(jieba, kind: str) -> Path | None:
    from rag.config import models_dir

    if jieba.dt.dictionary is not None:  # a custom dictionary: jieba's own cache only
        return None
    try:
        stat = Path(jieba.__file__).with_name("dict.txt").stat()
    except OSError:
        return None
    return models_dir() / "jieba" / f"{kind}-{jieba.__version__}-{stat.st_size}-{stat.st_mtime_ns}.pickle"


def _read(path: Path | None) -> object | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            # a pickle runs code as it loads: only one this user wrote is read
            if os.fstat(f.fileno()).st_uid != os.getuid():
                log.warning("the jieba pickle %s belongs to another user; reading jieba's own dictionary", path)
                return None
            return pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged pickle raises nearly anything; jieba's own dictionary serves
        log.warning("the jieba pickle %s is unreadable; reading jieba's own dictionary", path)
        return None


def _write(path: Path | None, value: object) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError as exc:  # a read-only models dir: jieba's own files still serve
        log.debug("cannot save a jieba pickle in %s: %s", path.parent, exc)
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=5)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the models cache may be shared
        os.replace(tmp, path)
    except OSError as exc:  # a full disk: the next start tries again
        log.debug("cannot save the jieba pickle %s: %s", path, exc)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
