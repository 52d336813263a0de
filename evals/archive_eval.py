"""The archive question set (evals/archive_questions.yaml, labels by reading; docs/archive-questions.md)
asked through `answer()` of an index of the archive, every page of each listing read.

    python -m evals.archive_eval --config data/bench/archive.yaml [--split dev|test|all] [--json FILE]

Scoring, per kind:
- window, count, recent with a topic: the articles the answer lists over all its pages against
  the labelled ones: precision and recall (micro over items, and per item); an item passes
  with precision >= 0.75 and recall >= 0.75; a count item also needs the count it states
  within 20% (or 1) of the labelled count;
- recent without a topic: passes when it states the archive's newest date and every listed
  article is dated in the labelled window;
- none: passes when it abstains or lists nothing;
- overview: passes when it names at least five topics with a count each (a line "N. 话题 (约N篇)").
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from rag.types import Answer

QUESTIONS = Path(__file__).with_name("archive_questions.yaml")
MAX_PAGES = 60
ITEM_PRECISION = ITEM_RECALL = 0.75


@dataclass
class ItemResult:
    id: str
    split: str
    kind: str
    question: str
    passed: bool
    listed: int
    relevant: int
    hits: int
    stated_count: int | None
    pages: int
    seconds: float
    answer_head: str
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def stem(article_id: str) -> str:
    return Path(article_id).stem


def listed_articles(pipeline, question: str) -> tuple[list[str], list, int, Answer]:
    """Every article the answer lists, page by page, in order; (ids, dates, pages, first answer)."""
    ids: list[str] = []
    dates: dict[str, str | None] = {}
    first: Answer | None = None
    pages = 0
    for page in range(1, MAX_PAGES + 1):
        a = pipeline.answer(question, page=page)
        pages = page
        first = first or a
        new = [c for c in a.citations if c.field != "date" and stem(c.source) not in dates]
        for c in new:
            dates[stem(c.source)] = c.date
            ids.append(stem(c.source))
        if not new or a.abstained or "回复“更多”" not in a.text and 'reply "more"' not in a.text:
            break
    assert first is not None
    return ids, [dates[i] for i in ids], pages, first


_COUNT = re.compile(r"(\d+)\s*(?:篇|articles)")


def score(item: dict, pipeline) -> ItemResult:
    t = time.perf_counter()
    ids, dates, pages, first = listed_articles(pipeline, item["question"])
    seconds = time.perf_counter() - t
    relevant = set(item.get("relevant") or [])
    got = set(ids)
    hits = len(got & relevant)
    kind = item["kind"]
    m = _COUNT.search(first.text) if not first.abstained else None
    stated = int(m.group(1)) if m else None
    if kind == "none":
        passed = first.abstained or not ids
    elif kind == "overview":
        passed = not first.abstained and len(re.findall(r"\n\d+\. [^\n]*约?\d+篇|\n\d+\. [^\n]*\(\d+ articles", first.text)) >= 5
    elif kind == "recent" and not relevant:
        lo, hi = item["date_from"], item["date_to"]
        newest = pipeline.reference_date().isoformat()
        passed = not first.abstained and newest in first.text and bool(ids) and all(d and lo <= d <= hi for d in dates)
    else:
        precision = hits / len(got) if got else 0.0
        recall = hits / len(relevant) if relevant else 1.0
        passed = precision >= ITEM_PRECISION and recall >= ITEM_RECALL
        if kind == "count":
            gold = item["count"]
            passed = passed and stated is not None and abs(stated - gold) <= max(1, 0.2 * gold)
    return ItemResult(item["id"], item["split"], kind, item["question"], passed, len(got), len(relevant), hits, stated,
                      pages, round(seconds, 2), first.text[:160], sorted(relevant - got), sorted(got - relevant))


def summarize(results: list[ItemResult]) -> dict:
    out = {}
    for split in ("dev", "test"):
        rs = [r for r in results if r.split == split]
        if not rs:
            continue
        listing = [r for r in rs if r.relevant]
        listed = sum(r.listed for r in listing)
        out[split] = {
            "items": len(rs),
            "passed": round(sum(r.passed for r in rs) / len(rs), 3),
            "listing_precision": round(sum(r.hits for r in listing) / listed, 3) if listed else None,
            "listing_recall": round(sum(r.hits for r in listing) / max(1, sum(r.relevant for r in listing)), 3),
            "by_kind": {k: f"{sum(r.passed for r in rs if r.kind == k)}/{sum(1 for r in rs if r.kind == k)}"
                        for k in dict.fromkeys(r.kind for r in rs)},
            "median_seconds": sorted(r.seconds for r in rs)[len(rs) // 2],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    from rag.config import load_config
    from rag.index.embedding import set_offline_env
    from rag.pipeline import build_pipeline

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="a config whose index holds the archive")
    ap.add_argument("--questions", default=str(QUESTIONS))
    ap.add_argument("--split", default="all", choices=("dev", "test", "all"))
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    set_offline_env()
    pipeline = build_pipeline(load_config(args.config))
    items = yaml.safe_load(Path(args.questions).read_text(encoding="utf-8"))["items"]
    items = [i for i in items if args.split == "all" or i["split"] == args.split]
    results = []
    for item in items:
        r = score(item, pipeline)
        results.append(r)
        print(f"{'PASS' if r.passed else 'FAIL'} {r.id:7} {r.kind:8} listed {r.listed:4} relevant {r.relevant:3} "
              f"hits {r.hits:3} count {r.stated_count} {r.seconds:6.2f}s  {r.question[:40]}", flush=True)
        if args.verbose and not r.passed:
            print("      ", r.answer_head.replace("\n", " "), "| missed", r.missed[:5], "| extra", r.extra[:5])
    summary = summarize(results)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "items": [asdict(r) for r in results]},
                                              ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
