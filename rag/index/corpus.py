"""Loading articles: YAML front matter (safe_load only) plus a Markdown body.

A file that cannot be loaded raises ArticleError with a reason; `load_corpus` turns
those into SkippedFile entries so one bad file never stops an ingest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import yaml

from rag.errors import ArticleError, CorpusError
from rag.text import HEADING_LINE, label
from rag.types import Article, SkippedFile

_MAX_FRONT_MATTER_CHARS = 64_000  # front matter is a few fields; more is a mistake or an attack
# Front matter is flat fields with the odd list or mapping (tags, authors: 2-3 levels).
# PyYAML builds nested values recursively, so `x: [[[[…` thousands deep (10 KB) would end
# in RecursionError; the depth is measured on the parser's event stream (iterative, linear)
# before anything is built, and deeper front matter is refused with a reason.
_MAX_FRONT_MATTER_DEPTH = 32
_URL_KEYS = ("source_url", "url", "来源", "link", "原文链接", "source")
_DATE_KEYS = ("date", "日期", "published", "published_at", "发布时间")
_HEADING = HEADING_LINE
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")


def _split_front_matter(text: str) -> tuple[dict, str]:
    """Return (front matter mapping, body). No front matter gives ({}, text)."""
    if not text.startswith("---"):
        return {}, text
    first_line_end = text.find("\n")
    if first_line_end == -1 or text[:first_line_end].strip() != "---":
        return {}, text
    match = re.search(r"^---[ \t]*$", text[first_line_end + 1 :], re.MULTILINE)
    if match is None:
        raise ArticleError("front matter is not closed (no second '---' line)")
    fm_text = text[first_line_end + 1 : first_line_end + 1 + match.start()]
    body = text[first_line_end + 1 + match.end() :]
    if body.startswith("\n"):
        body = body[1:]
    if len(fm_text) > _MAX_FRONT_MATTER_CHARS:
        raise ArticleError(f"front matter is larger than {_MAX_FRONT_MATTER_CHARS} characters")
    try:
        _check_depth(fm_text)
        data = yaml.safe_load(fm_text)
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArticleError(f"front matter is not valid YAML: {reason}") from exc
    except RecursionError as exc:  # within the depth limit, but the caller's stack was deep
        raise ArticleError("front matter is nested too deeply for the YAML parser") from exc
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise ArticleError(f"front matter must be a mapping, got {type(data).__name__}")
    return data, body


def _check_depth(fm_text: str) -> None:
    """Refuse front matter nested deeper than _MAX_FRONT_MATTER_DEPTH lists or mappings."""
    depth = 0
    for event in yaml.parse(fm_text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_FRONT_MATTER_DEPTH:
                raise ArticleError(f"front matter is nested more than {_MAX_FRONT_MATTER_DEPTH} "
                                   "levels deep (lists or mappings inside each other)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _text_field(data: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _url(data: dict) -> str | None:
    for key in _URL_KEYS:
        value = data.get(key)
        if isinstance(value, str) and re.match(r"^https?://\S+$", value.strip()):
            return value.strip()
    return None


def _date(data: dict) -> str | None:
    for key in _DATE_KEYS:
        value = data.get(key)
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            m = _ISO_DATE.match(value.strip())
            if m:
                try:
                    return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
                except ValueError:
                    continue
    return None


def _str_list(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int | float))
    return ()


class Loader(Protocol):
    """Parses one file's bytes into an Article (raising ArticleError with a human reason).
    `version` names the loader and its parsing rules; it is part of the ingest key, so
    changing it re-ingests the files it parsed. Registered by file extension in
    rag/registry.py `LOADERS`."""

    version: str

    def parse(self, article_id: str, raw: bytes, path: str) -> Article: ...


class FrontMatterLoader:
    """Markdown or plain text with optional YAML front matter (title, url, date, ...)."""

    version = "front-matter/2"  # 2: titles derived from the text where the file has none

    def parse(self, article_id: str, raw: bytes, path: str) -> Article:
        return parse_article(article_id, raw, path)  # load_corpus stamps `loader` with the version


FRONT_MATTER_LOADER = FrontMatterLoader()


def parse_article(article_id: str, raw: bytes, path: str = "") -> Article:
    """Parse one file's bytes. Raises ArticleError with a human reason."""
    if not raw.strip():
        raise ArticleError("file is empty")
    if b"\x00" in raw:
        raise ArticleError("file looks binary (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"file is not UTF-8 (bad byte at offset {exc.start})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    data, body = _split_front_matter(text)
    if not body.strip():
        raise ArticleError("article has no body text")
    heading = _HEADING.search(body)
    given = _text_field(data, ("title", "标题")) or (heading.group(2).strip() if heading else None)
    derived = not given or is_cut_lead(given, body)
    title = label(given or derive_title(body) or Path(article_id).stem)
    title_original = _text_field(data, ("title_original", "original_title"))
    return Article(
        id=article_id,
        path=path,
        title=title,
        url=_url(data),
        date=_date(data),
        body=body,
        content_hash=hashlib.sha256(raw).hexdigest(),
        title_original=label(title_original) if title_original else None,
        tags=_str_list(data.get("tags")),
        categories=_str_list(data.get("categories")),
        head=text[: len(text) - len(body)],
        title_derived=derived,
    )


# -- titles for articles that have none -------------------------------------------------------
# An exported archive often has no titles, or titles that are the lead cut at N characters.
# Such an article's title is derived from its text: the 「原标题：」 line it starts with, else
# its first sentence without the dateline, cut at a clause; and marked derived (the UI says so).
_ORIGINAL_TITLE = re.compile(r"^\s*原标题[：:]\s*")
_DATELINE = re.compile(
    r"^\s*(?:(?:本报|本刊|本台)?讯[：:，,\s]*"  # 本报讯
    r"|[^\s，。,：:（(]{0,16}?\d{1,2}月\d{1,2}日(?:电|讯|消息)?\s*(?:[（(][^）)]{0,40}[）)])?[：:，,\s]*"  # 新华社北京8月1日电（记者 …）
    r"|[（(][^）)]{0,30}(?:记者|通讯员|编辑)[^）)]{0,30}[）)]\s*)")
DERIVED_TITLE_CHARS = 40
_SENTENCE_END = re.compile(r"[。！？!?\n]")
_CLAUSE_END = re.compile(r"[，、；：,;:]")


def derive_title(body: str) -> str:
    """A short title from the body: its 「原标题：」 text or first sentence, without a dateline,
    cut at a clause boundary within DERIVED_TITLE_CHARS ("" for a body with no words)."""
    text = body.strip()
    text = _ORIGINAL_TITLE.sub("", text, count=1)
    for _ in range(2):  # "本报讯（记者 …）" is a dateline in two parts
        text = _DATELINE.sub("", text, count=1)
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip().strip("#*>\"“”「」 ")
    if len(first) <= DERIVED_TITLE_CHARS:
        return first
    cut = max((m.start() for m in _CLAUSE_END.finditer(first, 0, DERIVED_TITLE_CHARS)), default=0)
    return first[:cut] if cut >= 8 else first[:DERIVED_TITLE_CHARS] + "…"


def is_cut_lead(title: str, body: str) -> bool:
    """A title that is the body's opening cut off mid-sentence (what an export without titles
    writes): the body starts with it, possibly after 「原标题：」, and goes on in the same
    sentence."""
    start = _ORIGINAL_TITLE.sub("", body.lstrip(), count=1)
    title = title.strip()
    if len(title) < 8 or not start.startswith(title):
        return False
    rest = start[len(title):]
    return bool(rest) and not _SENTENCE_END.match(rest) and not rest[0].isspace()


def _candidate_files(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(tuple(extensions)):
                files.append(Path(dirpath) / name)
    return files


def _extension(name: str, extensions: tuple[str, ...]) -> str:
    """The longest configured extension the name ends with (".tar.md" before ".md")."""
    low = name.lower()
    return max((e.lower() for e in extensions if low.endswith(e.lower())), key=len)


def _read_regular_file(file: Path, real_root: Path, max_file_bytes: int) -> bytes:
    """The bytes of a corpus file that is a regular file inside the corpus folder (after
    symlinks), read no further than the cap. Raises ArticleError or OSError."""
    try:
        real = file.resolve()
    except RuntimeError as exc:  # Python 3.11 raises it for a symlink loop (a -> b -> a)
        raise ArticleError("symlink loop (the link leads back to itself)") from exc
    if not real.is_relative_to(real_root):
        raise ArticleError("symlink points outside the corpus folder")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a loop the resolve above did not see
            raise ArticleError("symlink loop (the link leads back to itself)") from exc
        raise
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ArticleError("not a regular file (a FIFO, device or socket): reading it could block "
                               "or never end")
        if info.st_size > max_file_bytes:
            raise ArticleError(f"file is {info.st_size} bytes, over the {max_file_bytes}-byte cap")
        raw = f.read(max_file_bytes + 1)  # a file growing while it is read is held to the cap too
    if len(raw) > max_file_bytes:
        raise ArticleError(f"file is over the {max_file_bytes}-byte cap (it grew while being read)")
    return raw


def load_corpus(
    folder: str | os.PathLike, extensions: tuple[str, ...], max_file_bytes: int,
    indexed: Mapping[str, str] | None = None, max_body_chars: int | None = None,
    exclude: tuple[str, ...] = (),
) -> tuple[list[Article], list[SkippedFile]]:
    """Load every article under `folder`; files that cannot be used are skipped with a reason.

    Of two files with the same content the first in path order is kept, unless the index
    already holds that content under the other one (`indexed`: article id -> content hash):
    copying an indexed file must not move its citations to the copy. An article whose body
    is longer than `max_body_chars` (the per-file embedding budget) is skipped, and so is a
    file whose name matches an `exclude` pattern (a folder's README: its notes, not an article)."""
    from rag.registry import LOADERS

    indexed = indexed or {}
    loaders: dict[str, Loader] = {ext.lower(): LOADERS.get(ext.lower()) for ext in extensions}
    root = Path(folder)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root}")
    real_root = root.resolve()
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    seen_hashes: dict[str, str] = {}  # content hash -> the id that is the article
    duplicates: list[tuple[str, str]] = []
    for file in _candidate_files(root, extensions):
        article_id = file.relative_to(root).as_posix()
        pattern = next((p for p in exclude if fnmatch.fnmatch(file.name.lower(), p.lower())), None)
        if pattern is not None:
            skipped.append(SkippedFile(article_id, f"a folder's notes, not an article (corpus.exclude {pattern!r})",
                                       excluded=True))
            continue
        try:
            raw = _read_regular_file(file, real_root, max_file_bytes)
            loader = loaders[_extension(file.name, extensions)]
            article = dataclasses.replace(loader.parse(article_id, raw, str(file)), loader=loader.version)
            if max_body_chars is not None and len(article.body) > max_body_chars:
                raise ArticleError(
                    f"article body is {len(article.body):,} characters, over the per-file embedding "
                    f"budget of {max_body_chars:,} (corpus.max_body_chars); raise it to index this file")
            h = article.content_hash
            first = seen_hashes.get(h)
            if first is not None and indexed.get(article_id) == h and indexed.get(first) != h:
                at = next(i for i, a in enumerate(articles) if a.id == first)
                articles[at] = article
                seen_hashes[h] = article_id
                duplicates.append((first, h))
            elif first is not None:
                duplicates.append((article_id, h))
            else:
                seen_hashes[h] = article_id
                articles.append(article)
        except (ArticleError, ValueError) as exc:  # ValueError: a loader's own decoding or parse error
            skipped.append(SkippedFile(article_id, str(exc) if isinstance(exc, ArticleError)
                                       else f"cannot parse: {type(exc).__name__}: {exc}"))
        except OSError as exc:
            skipped.append(SkippedFile(article_id, f"cannot read file: {exc.strerror or exc}"))
    for article_id, h in duplicates:
        kept = seen_hashes[h]
        skipped.append(SkippedFile(article_id, f"same content as {kept}", kept))
    skipped.sort(key=lambda s: s.path)
    return articles, skipped
