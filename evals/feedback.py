"""Turn thumbs-down feedback from the UI log into draft eval items for a person to review."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from rag.errors import ConfigError


def read_feedback(path: str | Path) -> list[dict]:
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read feedback log {path}: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"feedback log {path} line {n} is not JSON") from exc
        if isinstance(row, dict) and isinstance(row.get("question"), str):
            rows.append(row)
    return rows


def drafts_from_feedback(path: str | Path, out: str | Path) -> int:
    """Write one draft item per distinct thumbs-down question; returns how many."""
    drafts: list[dict] = []
    seen: set[str] = set()
    for row in read_feedback(path):
        if row.get("vote") != "down" or row["question"] in seen:
            continue
        seen.add(row["question"])
        cited = sorted({str(c["source"]) for c in row.get("citations", []) if isinstance(c, dict) and c.get("source")})
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
