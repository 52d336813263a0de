"""The tree shows the stages, and no stage imports one above it: index < retrieve <
answering < collection < the composition root (pipeline, cli). The shared foundation
(types, config, errors, registry, text and its jieba_dictionary, tuned) imports no stage at all."""

from __future__ import annotations

import ast
from pathlib import Path

from rag.config import PROJECT_ROOT

RAG = PROJECT_ROOT / "rag"
STAGES = ("index", "retrieve", "answering", "collection")
FOUNDATION = ("types", "config", "config_doc", "errors", "registry", "text", "jieba_dictionary", "tuned")
ROOT = ("pipeline", "chain", "cli")  # the composition root and its faces (LangChain, the command line)


def _level(module: str) -> int | None:
    """Where `module` (dotted, under rag) sits: -1 foundation, 0.. the stages, 9 the root."""
    parts = module.split(".")
    if parts[0] != "rag" or len(parts) < 2:
        return None
    if parts[1] in STAGES:
        return STAGES.index(parts[1])
    if parts[1] in FOUNDATION:
        return -1
    return 9


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if node.module == "rag"}
    return found


def _module_of(path: Path) -> str:
    rel = path.relative_to(PROJECT_ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_no_stage_imports_one_above_it():
    upward = []
    for path in sorted(RAG.rglob("*.py")):
        here = _module_of(path)
        mine = _level(here)
        if mine is None:
            continue
        for target in _imports(path):
            theirs = _level(target)
            if theirs is not None and theirs > mine and not target.startswith(here):
                upward.append(f"{here} imports {target}")
    assert not upward, "\n".join(upward)


def test_each_stage_package_says_what_it_owns():
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((RAG / stage / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc) > 200 and "TODO" not in doc, stage
    flat = sorted(p.stem for p in RAG.glob("*.py") if p.stem != "__init__")
    assert flat == sorted((*ROOT, *FOUNDATION)), flat
