"""Time to first token against context size, with a real model behind `llm.base_url`.

    python -m evals.llm_context --config llm.yaml [--every 8] [--out reports/llm_context.json]

For each context budget (whole chunks, and the best sentences with 0..2 neighbours) the same
answerable eval questions are answered through the real pipeline (gate, context budget,
streaming, citation check); per budget it reports the prompt's size in tokens (counted by
the server's tokenizer, /extras/tokenize/count of llama-cpp-python's server; chars when the
server has no such endpoint), time to the first streamed token, time to the full answer,
and accuracy on those questions. The budgets take turns on each question, so changes in the
machine's load fall on all of them alike. The system prompt is the same for every question
and stays in the server's prefix cache (a one-token request before each question keeps it
there and evicts the previous passages): the sizes are the part read anew for each
question (passages + question).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from evals import metrics as m
from evals.dataset import load_eval_set
from rag.config import load_config
from rag.types import Answer

BUDGETS = (
    ("whole chunks (all retrieved, as before)", {"context": "chunks"}),
    ("4 sentences + 2 neighbours", {"context": "sentences", "context_sentences": 4, "context_neighbours": 2}),
    ("4 sentences + 1 neighbour (default)", {"context": "sentences", "context_sentences": 4,
                                             "context_neighbours": 1}),
    ("2 sentences, no neighbours", {"context": "sentences", "context_sentences": 2, "context_neighbours": 0}),
)


def count_tokens(base_url: str, text: str) -> int | None:
    root = base_url.rstrip("/").removesuffix("/v1")
    req = urllib.request.Request(f"{root}/extras/tokenize/count", json.dumps({"input": text}).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(json.loads(r.read())["count"])
    except (OSError, ValueError, KeyError):
        return None


class RecordingModel:
    """The real chat model; remembers the last prompt it was sent (to count its tokens)."""

    def __init__(self, model):
        self.model = model
        self.last = None

    def stream(self, messages):
        self.last = messages
        return self.model.stream(messages)


def _flush(pipeline, model: RecordingModel) -> None:
    """One token for a request that shares only the system prompt: the server's prefix cache
    then holds what it holds in use (the system prompt), not the previous budget's passages,
    which would make a budget that sends the same passages look free."""
    from rag.answering.answerers import build_messages

    system = build_messages(pipeline.cfg, "", [])[0]
    model.model.invoke([system, ("human", "你好")], max_tokens=1)


def _answer(pipeline, model: RecordingModel, item, base_url: str) -> dict | None:
    _flush(pipeline, model)
    model.last = None
    t0 = time.perf_counter()
    first, final = None, None
    for part in pipeline.stream(item.question, list(item.history) or None):
        if isinstance(part, Answer):
            final = part
        elif first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if model.last is None:  # the gate abstained: the model was not asked
        return None
    human = model.last[-1][1]
    return {"id": item.id, "prompt_chars": len(human), "prompt_tokens": count_tokens(base_url, human),
            "first_token_s": first, "full_s": total,
            "correct": m.answer_correct(final.text, final.abstained, item.facts, False),
            "abstained": final.abstained}


def measure(cfg, items, budgets) -> list[dict]:
    """Every budget on each question in turn, so a change in the machine's load over the
    run falls on all budgets alike."""
    from rag.answering.answerers import make_chat_model
    from rag.pipeline import build_pipeline

    runs: list[tuple] = []
    for name, change in budgets:
        variant = cfg.replace(llm=dataclasses.replace(cfg.llm, **change))
        model = RecordingModel(make_chat_model(variant))
        runs.append((name, build_pipeline(variant, chat_model=model), model, []))
    for item in items:
        for name, pipeline, model, rows in runs:
            row = _answer(pipeline, model, item, cfg.llm.base_url or "")
            if row is None:
                continue
            rows.append(row)
            print(f"  {name}: {item.id} {row['prompt_tokens']} tokens, first token {row['first_token_s']:.1f} s, "
                  f"full {row['full_s']:.1f} s, correct {row['correct']}", file=sys.stderr, flush=True)

    def med(rows, key):
        values = [r[key] for r in rows if r[key] is not None]
        return statistics.median(values) if values else None

    return [{"budget": name, "asked": len(rows), "prompt_tokens_median": med(rows, "prompt_tokens"),
             "prompt_chars_median": med(rows, "prompt_chars"), "first_token_s_median": med(rows, "first_token_s"),
             "full_s_median": med(rows, "full_s"),
             "accuracy": sum(r["correct"] for r in rows) / len(rows) if rows else None,
             "abstained_after_check": sum(r["abstained"] for r in rows), "rows": rows}
            for name, _, _, rows in runs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.llm_context", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="a config with answer.answerer: openai and llm.base_url")
    p.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    p.add_argument("--every", type=int, default=8, help="every N-th answerable single-turn item")
    p.add_argument("--out", default="reports/llm_context.json")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    items = [i for i in load_eval_set(None, args.split)
             if not i.abstain and not i.history and i.type in ("fact", "paraphrase", "english", "list")]
    items = items[:: args.every]
    results = measure(cfg, items, BUDGETS)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"items": [i.id for i in items], "budgets": results},
                                         ensure_ascii=False, indent=1))
    print("| context | asked | prompt tokens (median) | 1st token s (median) | full answer s (median) | accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        def f(v, fmt):
            return "-" if v is None else format(v, fmt)

        print(f"| {r['budget']} | {r['asked']} | {f(r['prompt_tokens_median'], '.0f')} | "
              f"{f(r['first_token_s_median'], '.1f')} | {f(r['full_s_median'], '.1f')} | {f(r['accuracy'], '.2f')} |")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
