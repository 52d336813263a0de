"""The eval set format: YAML with article aliases and hand-written items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.errors import ConfigError

DEFAULT_SET = Path(__file__).resolve().parent / "shipped.yaml"
# Questions about one article (or a few named facts) ...
ITEM_TYPES = ("fact", "list", "multi", "paraphrase", "english", "unanswerable", "followup")
# ... and questions about the collection itself (issue 13): `gold` is every article the
# answer must draw from, `facts` what it must state; scored like any other item.
COLLECTION_TYPES = ("overview", "count", "date", "which", "across", "compare")
TYPES = ITEM_TYPES + COLLECTION_TYPES
# `dev` items may be looked at and tuned on; `test` items only judge (the CI gate reads them).
SPLITS = ("dev", "test")
KEYS = {"id", "type", "split", "question", "gold", "facts", "abstain", "history"}
ROLES = ("user", "assistant")


@dataclass(frozen=True)
class EvalItem:
    id: str
    type: str
    question: str
    gold: tuple[str, ...] = ()  # article ids
    facts: tuple[tuple[str, ...], ...] = ()  # every fact must appear; any alternative counts
    abstain: bool = False
    history: tuple[dict, ...] = ()
    split: str = "dev"


def select_split(items: list[EvalItem], split: str) -> list[EvalItem]:
    """The items of one split, or all of them for `all`."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, all (got {split!r})")
    return [i for i in items if i.split == split]


def _history(raw, where: str) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: `history` must be a list of {{role, content}} messages")
    for turn in raw:
        if (not isinstance(turn, dict) or set(turn) != {"role", "content"}
                or turn["role"] not in ROLES or not isinstance(turn["content"], str)):
            raise ConfigError(f"{where}: each `history` turn must be {{role: user|assistant, content: text}}")
    return tuple(raw)


def load_eval_set(path: str | Path | None = None, split: str = "all") -> list[EvalItem]:
    path = Path(path or DEFAULT_SET)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read eval set {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ConfigError(f"eval set {path}: expected a mapping with an `items` list")
    aliases = data.get("articles") or {}
    known = set(aliases) | set(aliases.values())
    items, seen = [], set()
    for n, raw in enumerate(data["items"]):
        where = f"eval set {path.name} item {raw.get('id', n) if isinstance(raw, dict) else n}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a mapping")
        unknown = set(raw) - KEYS
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
        if raw.get("split") not in SPLITS:  # required: an item nobody assigned judges nothing
            raise ConfigError(f"{where}: `split` must be one of {', '.join(SPLITS)}")
        abstain = bool(raw.get("abstain", False))
        facts = tuple(tuple(str(a) for a in f) if isinstance(f, list) else (str(f),)
                      for f in raw.get("facts") or [])
        raw_gold = raw.get("gold") or []
        if aliases and any(g not in known for g in raw_gold):  # a typo would score as a miss
            bad = next(g for g in raw_gold if g not in known)
            raise ConfigError(f"{where}: `gold` names `{bad}`, which is not in `articles`")
        gold = tuple(aliases.get(g, g) for g in raw_gold)
        if not abstain and (not facts or not gold):
            raise ConfigError(f"{where}: needs `facts` and `gold`, or `abstain: true`")
        items.append(EvalItem(raw["id"], kind, raw["question"], gold, facts, abstain,
                              _history(raw.get("history"), where), raw["split"]))
    return select_split(items, split)
