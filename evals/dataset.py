"""The eval set format: YAML with article aliases and hand-written items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.errors import ConfigError

DEFAULT_SET = Path(__file__).resolve().parent / "shipped.yaml"
TYPES = ("fact", "list", "multi", "paraphrase", "english", "unanswerable", "followup")


@dataclass(frozen=True)
class EvalItem:
    id: str
    type: str
    question: str
    gold: tuple[str, ...] = ()  # article ids
    facts: tuple[tuple[str, ...], ...] = ()  # every fact must appear; any alternative counts
    abstain: bool = False
    history: tuple[dict, ...] = ()


def load_eval_set(path: str | Path | None = None) -> list[EvalItem]:
    path = Path(path or DEFAULT_SET)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read eval set {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ConfigError(f"eval set {path}: expected a mapping with an `items` list")
    aliases = data.get("articles") or {}
    items, seen = [], set()
    for n, raw in enumerate(data["items"]):
        where = f"eval set {path.name} item {raw.get('id', n) if isinstance(raw, dict) else n}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a mapping")
        unknown = set(raw) - {"id", "type", "question", "gold", "facts", "abstain", "history"}
        if unknown:
            raise ConfigError(f"{where}: unknown key `{sorted(unknown)[0]}`")
        if not raw.get("id") or raw["id"] in seen:
            raise ConfigError(f"{where}: needs a unique `id`")
        seen.add(raw["id"])
        if not isinstance(raw.get("question"), str) or not raw["question"].strip():
            raise ConfigError(f"{where}: needs a `question`")
        kind = raw.get("type", "fact")
        if kind not in TYPES:
            raise ConfigError(f"{where}: `type` must be one of {', '.join(TYPES)}")
        abstain = bool(raw.get("abstain", False))
        facts = tuple(tuple(str(a) for a in f) if isinstance(f, list) else (str(f),)
                      for f in raw.get("facts") or [])
        gold = tuple(aliases.get(g, g) for g in raw.get("gold") or [])
        if not abstain and (not facts or not gold):
            raise ConfigError(f"{where}: needs `facts` and `gold`, or `abstain: true`")
        items.append(EvalItem(raw["id"], kind, raw["question"], gold, facts, abstain,
                              tuple(raw.get("history") or ())))
    return items
