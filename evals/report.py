"""Eval output: a terminal table, a JSON report and a Markdown report with the failures."""

from __future__ import annotations

import json
from pathlib import Path

from evals.runner import ItemResult, Summary, as_dict

COLUMNS = [
    ("hit@1", "hit1"), ("hit@3", "hit3"), ("MRR", "mrr"), ("accuracy", "accuracy"),
    ("cite P", "citation_precision"), ("cite R", "citation_recall"),
    ("abstain P", "abstention_precision"), ("abstain R", "abstention_recall"),
    ("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms"),
]


def _fmt(key: str, value) -> str:
    if value is None:
        return "-"
    if key.startswith("latency"):
        return f"{value:.1f}"
    return f"{value:.3f}"


def _columns(summaries: list[Summary]):
    judged = any(s.judge_fact_recall is not None for s in summaries)
    return COLUMNS + ([("judge facts", "judge_fact_recall"), ("judge faithful", "judge_faithfulness")]
                      if judged else [])


def markdown_table(summaries: list[Summary]) -> str:
    columns = _columns(summaries)
    head = "| config | items | " + " | ".join(c for c, _ in columns) + " |"
    sep = "|---|---:|" + "---:|" * len(columns)
    rows = [
        f"| {s.name} | {s.items} | " + " | ".join(_fmt(k, getattr(s, k)) for _, k in columns) + " |"
        for s in summaries
    ]
    return "\n".join([head, sep, *rows])


def by_type_table(summaries: list[Summary]) -> str:
    types = sorted({t for s in summaries for t in s.by_type})
    head = "| config | " + " | ".join(types) + " |"
    sep = "|---|" + "---:|" * len(types)
    rows = [f"| {s.name} | " + " | ".join(_fmt("", s.by_type.get(t)) for t in types) + " |" for s in summaries]
    return "\n".join([head, sep, *rows])


def print_table(summaries: list[Summary]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="answer accuracy and retrieval (article level)")
    table.add_column("config")
    table.add_column("items", justify="right")
    columns = _columns(summaries)
    for col, _ in columns:
        table.add_column(col, justify="right")
    for s in summaries:
        table.add_row(s.name, str(s.items), *(_fmt(k, getattr(s, k)) for _, k in columns))
    console = Console(width=160)
    console.print(table)
    types = Table(title="accuracy by question type")
    kinds = sorted({t for s in summaries for t in s.by_type})
    types.add_column("config")
    for t in kinds:
        types.add_column(t, justify="right")
    for s in summaries:
        types.add_row(s.name, *(_fmt("", s.by_type.get(t)) for t in kinds))
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
        parts += [failures_markdown(s.name, rs), ""]
    md_path.write_text("\n".join(parts), encoding="utf-8")
    return json_path, md_path
