"""The documented default config, generated from the typed config in rag/config.py: every
key with its default and the comment written beside (or just above) the field. `rag config`
prints it; docs/configuration.md holds this text, and a test keeps the two equal."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

import yaml

from rag import config as config_module

# Defaults that depend on the machine are shown by what they mean, not by this machine's path.
_SHOWN = {
    "corpus.path": ("corpus", "default: the shipped corpus (rag/shipped_corpus)"),
    "data_dir": ("data", "default: $RAG_DATA_DIR, else data/ in a checkout, else ~/.local/share/news-rag"),
    "tuning": ("{}", None),  # a mapping in YAML, (field, value) pairs once loaded
}
_FIELD = re.compile(r"^\s+(\w+)\s*:[^#]*?(?:#\s*(.*))?$")
_COMMENT = re.compile(r"^\s+#\s?(.*)$")


def _field_comments(cls) -> dict[str, tuple[list[str], str]]:
    """Per field: the comment lines just above it and the comment on its line."""
    out: dict[str, tuple[list[str], str]] = {}
    above: list[str] = []
    for line in inspect.getsource(cls).splitlines()[1:]:
        if m := _COMMENT.match(line):
            above.append(m.group(1).strip())
        elif m := _FIELD.match(line):
            out[m.group(1)] = (above, (m.group(2) or "").strip())
            above = []
        else:
            above = []
    return out


def _scalar(value) -> str:
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=1000)
    return text.removesuffix("\n...\n").strip()


def documented_config() -> str:
    """The default config as commented YAML."""
    lines: list[str] = []

    def walk(cls, prefix: str, indent: str) -> None:
        comments = _field_comments(cls)
        hints = typing.get_type_hints(cls, vars(config_module))
        default = cls()
        for f in dataclasses.fields(cls):
            key = f"{prefix}{f.name}"
            above, comment = comments.get(f.name, ([], ""))
            lines.extend(f"{indent}# {text}" for text in above)
            if dataclasses.is_dataclass(hints[f.name]):
                lines.append(f"{indent}{f.name}:" + (f"  # {comment}" if comment else ""))
                walk(hints[f.name], f"{key}.", indent + "  ")
                continue
            shown, note = _SHOWN.get(key, (None, None))
            value = shown if shown is not None else _scalar(getattr(default, f.name))
            comment = note or comment
            lines.append(f"{indent}{f.name}: {value}" + (f"  # {comment}" if comment else ""))

    walk(config_module.Config, "", "")
    return "\n".join(lines) + "\n"
