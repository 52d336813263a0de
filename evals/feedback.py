"""Turn thumbs-down feedback from the UI log into draft eval items for a person to review."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from rag.errors import ConfigError


def print_note(note: str) -> None:
    print(f"note: {note}", file=sys.stderr, flush=True)


def _skip_reason(row) -> str:
    """Why a parsed line is not a vote this code can use, or "" when it is."""
    if not isinstance(row, dict):
        return f"not a JSON object ({type(row).__name__})"
    if "question" in row and not isinstance(row["question"], str):
        return "question is not text"
    if row.get("vote") not in ("up", "down", None):
        return f"vote is {row.get('vote')!r}, not up, down or null"
    if not isinstance(row.get("answer", ""), str):
        return "answer is not text"
    citations = row.get("citations", [])
    if not isinstance(citations, list) or not all(isinstance(c, dict) for c in citations):
        return "citations is not a list of objects"
    history = row.get("history", [])
    if not isinstance(history, list) or not all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
            for m in history):
        return "history is not a list of user/assistant messages"
    if "answer_id" in row and not isinstance(row["answer_id"], str):
        return "answer_id is not text"
    return ""


def read_feedback(path: str | Path, on_skip: Callable[[str], None] = print_note) -> list[dict]:
    """The votes in the log (ui/chat.py FeedbackLog), oldest first: for an answer voted more
    than once only its last line counts, and a withdrawn vote (`"vote": null`) removes it.
    A line that is not UTF-8, not JSON or not a vote is skipped with one note through
    `on_skip`; the other lines are kept."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read feedback log {path}: {exc.strerror or exc}") from exc
    by_answer: dict[str, dict | None] = {}  # answer_id -> its latest vote, in first-seen order
    rows: list[dict] = []  # lines without an answer_id (written by hand or by older versions)
    for n, data in enumerate(raw.split(b"\n"), 1):
        if not data.strip():
            continue
        try:
            row = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            on_skip(f"feedback log {path} line {n} skipped: not UTF-8 (bad byte at column {exc.start + 1})")
            continue
        except RecursionError:
            on_skip(f"feedback log {path} line {n} skipped: JSON nested too deeply")
            continue
        except ValueError as exc:
            on_skip(f"feedback log {path} line {n} skipped: not JSON ({exc.__class__.__name__})")
            continue
        reason = _skip_reason(row)
        if reason:
            on_skip(f"feedback log {path} line {n} skipped: {reason}")
        elif isinstance(row.get("answer_id"), str):
            by_answer[row["answer_id"]] = row if row.get("vote") is not None else None
        elif isinstance(row.get("question"), str):
            rows.append(row)
    votes = [r for r in by_answer.values() if r is not None and isinstance(r.get("question"), str)]
    return rows + votes


def drafts_from_feedback(path: str | Path, out: str | Path, on_skip: Callable[[str], None] = print_note) -> int:
    """Write one draft item per distinct thumbs-down question; returns how many."""
    drafts: list[dict] = []
    seen: set[str] = set()
    for row in read_feedback(path, on_skip):
        if row.get("vote") != "down" or row["question"] in seen:
            continue
        seen.add(row["question"])
        cited = sorted({str(c["source"]) for c in row.get("citations", []) if c.get("source")})
        item = {
            "id": f"feedback-{len(drafts) + 1:03d}",
            "type": "fact",
            "split": "dev",  # found by looking at answers, so never a judging (`test`) item
            "question": row["question"],
            "gold": cited or ["TODO: the article that answers it"],
            "facts": [["TODO: a fact a correct answer must state"]],
        }
        if row.get("history"):
            item["history"] = row["history"]
            item["type"] = "followup"
        item["_got"] = row.get("answer", "")  # what the system said: delete after review
        drafts.append(item)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    header = ("# Draft eval items from thumbs-down feedback. For each: fix gold and facts (or set\n"
              "# `abstain: true` and remove them), delete `_got`, then merge into your eval set.\n")
    Path(out).write_text(header + yaml.safe_dump({"items": drafts}, allow_unicode=True, sort_keys=False),
                         encoding="utf-8")
    return len(drafts)
