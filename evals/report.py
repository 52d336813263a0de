"""Eval output: a terminal table, a JSON report and a Markdown report with the failures."""

from __future__ import annotations

import json
from pathlib import Path

from evals.dataset import TYPES
from evals.runner import ItemResult, Summary, as_dict

COLUMNS = [
    ("hit@1", "hit1"), ("hit@3", "hit3"), ("MRR", "mrr"), ("accuracy", "accuracy"),
    ("cite P", "citation_precision"), ("cite R", "citation_recall"),
    ("abstain P", "abstention_precision"), ("abstain R", "abstention_recall"),
    ("median chars", "answer_chars_p50"), ("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms"),
]
# per question type; each metric gets one column per split so dev and test sit side by side
TYPE_COLUMNS = [
    ("n", "items"), ("accuracy", "accuracy"), ("hit@1", "hit1"),
    ("cite P", "citation_precision"), ("cite R", "citation_recall"),
    ("abstain P", "abstention_precision"), ("abstain R", "abstention_recall"),
]


def _fmt(key: str, value) -> str:
    if value is None:
        return "-"
    if key == "items":
        return str(value)
    if key.startswith(("latency", "first_token", "answer_chars")):
        return f"{value:.1f}"
    return f"{value:.3f}"


def _columns(summaries: list[Summary]):
    judged = any(s.judge_fact_recall is not None for s in summaries)
    streamed = any(s.first_token_p50_ms is not None for s in summaries)
    return COLUMNS + ([("1st token p50 ms", "first_token_p50_ms"), ("1st token p95 ms", "first_token_p95_ms")]
                      if streamed else []) + ([("judge facts", "judge_fact_recall"), ("judge faithful", "judge_faithfulness")]
                      if judged else [])


def _configs(summaries: list[Summary]) -> list[tuple[str, list[Summary]]]:
    """Summaries grouped by config name (one per split), in run order."""
    groups: dict[str, list[Summary]] = {}
    for s in summaries:
        groups.setdefault(s.name, []).append(s)
    return list(groups.items())


def _type_grid(group: list[Summary]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the by-type table of one config: a row per question type, a
    column per (metric, split)."""
    present = {t for s in group for t in s.types}
    kinds = [t for t in TYPES if t in present] + sorted(present - set(TYPES))
    header = ["type"] + [f"{label} {s.split}" for label, _ in TYPE_COLUMNS for s in group]
    rows = []
    for t in kinds:
        cells = []
        for _, key in TYPE_COLUMNS:
            for s in group:
                ts = s.types.get(t)
                cells.append(_fmt(key, getattr(ts, key)) if ts else "-")
        rows.append([t, *cells])
    return header, rows


def markdown_table(summaries: list[Summary]) -> str:
    columns = _columns(summaries)
    head = "| config | split | items | " + " | ".join(c for c, _ in columns) + " |"
    sep = "|---|---|---:|" + "---:|" * len(columns)
    rows = [
        f"| {s.name} | {s.split} | {s.items} | "
        + " | ".join(_fmt(k, getattr(s, k)) for _, k in columns) + " |"
        for s in summaries
    ]
    return "\n".join([head, sep, *rows])


def by_type_table(summaries: list[Summary]) -> str:
    parts = []
    for name, group in _configs(summaries):
        header, rows = _type_grid(group)
        parts += [f"#### By question type: {name}", "",
                  "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1),
                  *("| " + " | ".join(r) + " |" for r in rows), ""]
    return "\n".join(parts).rstrip()


def print_table(summaries: list[Summary]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="answer accuracy and retrieval (article level)")
    table.add_column("config")
    table.add_column("split")
    table.add_column("items", justify="right")
    columns = _columns(summaries)
    for col, _ in columns:
        table.add_column(col, justify="right")
    for s in summaries:
        table.add_row(s.name, s.split, str(s.items), *(_fmt(k, getattr(s, k)) for _, k in columns))
    console = Console(width=180)
    console.print(table)
    for name, group in _configs(summaries):
        header, rows = _type_grid(group)
        types = Table(title=f"by question type: {name}")
        types.add_column(header[0])
        for col in header[1:]:
            types.add_column(col.replace(" ", "\n", 1) if " " in col else col, justify="right")
        for row in rows:
            types.add_row(*row)
        console.print(types)


def failures_markdown(name: str, results: list[ItemResult]) -> str:
    lines = [f"### Failures: {name}", ""]
    failed = [r for r in results if not r.correct]
    if not failed:
        return "\n".join(lines + ["None."])
    for r in failed:
        lines += [
            f"- **{r.id}** ({r.type}) {r.question}",
            f"  - expected: {r.expected}" + (f" (gold: {', '.join(r.gold)})" if r.gold else ""),
            f"  - got: {'(abstained) ' if r.abstained else ''}{r.answer or r.error}",
            f"  - cited: {', '.join(r.cited_articles) or '-'}; retrieved: {', '.join(r.ranked_articles[:3]) or '-'}",
        ]
    return "\n".join(lines)


def write_reports(out_dir: Path, runs: list[tuple[Summary, list[ItemResult]]]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "eval.json"
    md_path = out_dir / "eval.md"
    json_path.write_text(json.dumps(
        {"runs": [{"summary": as_dict(s), "items": [as_dict(r) for r in rs]} for s, rs in runs]},
        ensure_ascii=False, indent=1))
    summaries = [s for s, _ in runs]
    parts = ["# Eval report", "", markdown_table(summaries), "", by_type_table(summaries), ""]
    for s, rs in runs:
        if s.split == "test":  # test items judge, they are not for reading and tuning on
            failed = [r.id for r in rs if not r.correct]
            parts += [f"### Failures: {s.name} (test)", "",
                      f"{len(failed)} of {len(rs)} (ids only; details in eval.json): "
                      + (", ".join(failed) or "none"), ""]
        else:
            parts += [failures_markdown(f"{s.name} ({s.split})", rs), ""]
    md_path.write_text("\n".join(parts), encoding="utf-8")
    return json_path, md_path
