"""SQuAD-format question files as typed items, and folds by paragraph.

A fold is a property of a paragraph (its text's hash), never of a question: questions on
one paragraph share their answer's context, so splitting them would leak it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError


@dataclass(frozen=True)
class SquadAnswer:
    text: str
    start: int  # index into the paragraph's context


@dataclass(frozen=True)
class SquadItem:
    id: str
    question: str
    context: str
    answers: tuple[SquadAnswer, ...]  # empty when the paragraph does not answer it
    paragraph: str  # a stable id of the paragraph: sha1 of its context
    source: str  # the file's stem
    title: str = ""

    @property
    def impossible(self) -> bool:
        return not self.answers


def paragraph_id(context: str) -> str:
    return hashlib.sha1(context.encode("utf-8")).hexdigest()[:16]


def paragraph_bucket(paragraph: str, buckets: int = 10) -> int:
    """0..buckets-1, fixed by the paragraph's text."""
    return int(paragraph, 16) % buckets


def load_squad(path: str | Path) -> list[SquadItem]:
    """Every question of a SQuAD 1.1/2.0 file. Answers whose `answer_start` does not point at
    their text are dropped (a file's own misalignment, not the reader's error); a question
    left with none is kept only when the file marks it unanswerable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a SQuAD-format file ({exc})") from exc
    items = []
    for article in articles:
        title = str(article.get("title") or "")
        for para in article.get("paragraphs", []):
            context = para["context"]
            pid = paragraph_id(context)
            for qa in para.get("qas", []):
                answers: list[SquadAnswer] = []
                for a in qa.get("answers", []):
                    start, text = int(a["answer_start"]), a["text"]
                    if text and context[start : start + len(text)] == text:
                        if all(x.start != start or x.text != text for x in answers):
                            answers.append(SquadAnswer(text, start))
                impossible = bool(qa.get("is_impossible"))
                if impossible:
                    answers = []
                elif not answers:
                    continue
                items.append(SquadItem(str(qa["id"]), qa["question"].strip(), context, tuple(answers),
                                       pid, path.stem, title))
    if not items:
        raise ConfigError(f"{path} holds no usable questions")
    return items


# The reader's folds over ../shared/qa. DRCD test is held out whole (another annotator pool
# than DRCD dev); Chinese SQuAD 2.0 gives the near misses, so 2 of its 10 paragraph buckets
# are held out with it. Bucket 2 of every training file is the dev fold (checkpoint and
# threshold choice); the rest is training.
HELD_OUT_FILES = ("drcd_test_simplified",)
HELD_OUT_BUCKETS = {"chinese_squad2_dev": (0, 1)}
DEV_BUCKET = 2


def fold_of(item: SquadItem) -> str:
    """"train", "dev" or "test" (held out)."""
    if item.source in HELD_OUT_FILES:
        return "test"
    bucket = paragraph_bucket(item.paragraph)
    if bucket in HELD_OUT_BUCKETS.get(item.source, ()):
        return "test"
    return "dev" if bucket == DEV_BUCKET else "train"


def load_folds(folder: str | Path) -> dict[str, list[SquadItem]]:
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ConfigError(f"no SQuAD-format .json files in {folder}")
    folds: dict[str, list[SquadItem]] = {"train": [], "dev": [], "test": []}
    for f in files:
        for item in load_squad(f):
            folds[fold_of(item)].append(item)
    return folds
