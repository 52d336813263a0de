"""`rag eval`: build pipelines (one, or the ablation variants), run the set, report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from evals.dataset import SPLITS, load_eval_set
from evals.runner import ItemResult, Streamed, Summary, run_items, summarize
from rag.config import AnswerConfig, Config
from rag.errors import ConfigError


def variants(cfg: Config, ablate: bool) -> list[tuple[str, Config]]:
    if not ablate:
        return [(f"{cfg.retrieval.mode} + {cfg.answer.answerer}", cfg)]
    r, a = cfg.retrieval, cfg.answer
    # the baselines choose sentences by words alone and without the trained reader: each
    # later layer (meaning, the reader) shows in the default row beside them
    by_words = dataclasses.replace(a, selection="lexical", reader="off")
    out = [
        ("lexical only", cfg.replace(retrieval=dataclasses.replace(r, mode="lexical", rerank="none"),
                                     answer=by_words)),
        ("dense only", cfg.replace(retrieval=dataclasses.replace(r, mode="dense", rerank="none"),
                                   answer=by_words)),
        ("hybrid", cfg.replace(retrieval=dataclasses.replace(r, mode="hybrid", rerank="none"),
                               answer=by_words)),
        ("hybrid + semantic answers (default)", cfg.replace(retrieval=dataclasses.replace(r, mode="hybrid"),
                                                            answer=dataclasses.replace(a, selection="semantic"))),
    ]
    default = AnswerConfig().answerer  # the offline reference every other answerer is set beside
    if cfg.answer.answerer != default:
        out.append((f"hybrid + {cfg.answer.answerer}", cfg))
        out[-2] = (f"hybrid + {default}", out[-2][1].replace(
            answer=dataclasses.replace(cfg.answer, answerer=default)))
    return out


def run_eval(
    cfg: Config, set_path: str | None = None, *, ablate: bool = False, pipeline_factory=None,
    progress: bool = False, judge=None, split: str = "all", every: int = 1,
) -> list[tuple[Summary, list[ItemResult]]]:
    """`judge`: an evals.judge.LLMJudge, or None (the default run needs no LLM).
    `split`: dev, test or all. One (summary, results) per variant and split, dev before
    test, so the two read side by side; each item is answered once. `every`: only every
    n-th item of each split (1st, n+1th, ...), for slow answerers."""
    from rag.pipeline import build_pipeline

    items = load_eval_set(set_path, split)
    if every > 1:
        items = [i for part in SPLITS for i in [x for x in items if x.split == part][::every]]
    if not items:
        raise ConfigError(f"the eval set has no `{split}` items")
    factory = pipeline_factory or (lambda c: build_pipeline(c, ensure_index=True))
    runs = []
    for name, variant in variants(cfg, ablate):
        pipeline = factory(variant)
        pipeline.answer("预热", None)  # warm caches (jieba, model) so latency is steady-state
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(items), desc=name, leave=False)
        results = run_items(lambda q, h, p=pipeline: streamed_answer(p, q, h), items,
                            progress=bar.update if bar else None, judge=judge)
        if bar:
            bar.close()
        for part in SPLITS:
            chosen = [r for r in results if r.split == part]
            if chosen:
                runs.append((summarize(name, chosen, part), chosen))
    return runs


def streamed_answer(pipeline, question: str, history) -> Streamed:
    """The pipeline's answer, timing the first piece of text as a user would see it."""
    import time

    from rag.types import Answer

    t0 = time.perf_counter()
    first, final = None, None
    for part in pipeline.stream(question, history):
        if isinstance(part, Answer):
            final = part
        elif first is None:
            first = (time.perf_counter() - t0) * 1000
    assert final is not None
    return Streamed(final, first if first is not None else (time.perf_counter() - t0) * 1000)


def default_report_dir(cfg: Config) -> Path:
    """`reports/` beside the data dir (the project's `reports/` with the default config)."""
    return Path(cfg.data_dir).parent / "reports"
