"""Issue 24's option (c), the bi-encoder fine-tuned on (question, answer sentence) pairs,
trained on the question side only, and measured: is the sentence holding the answer the
closest of its paragraph's sentences to the question?

    python -m evals.question_tower [--qa ../shared/qa] [--fold dev|test] [--trainable-from 6]
                                   [--epochs 1] [--out data/question-tower]

Only the question side is trained (e5's "query: " tower; layers from `--trainable-from` up):
the passage side, and so every stored sentence and chunk vector, stays e5's, and an index
never has to be rebuilt for it. Each training question's sentence vectors are the e5 port's
(`e5-onnx`, as ingest makes them), embedded once and cached in `--out`. The loss is a softmax
over its own paragraph's sentences (the near misses that matter) and the other paragraphs of
the batch, temperature 0.02. Folds are rag.reader.squad's, by paragraph. Prints the share of
the fold's answerable questions whose answer sentence ranks first in its paragraph (and the
MRR), e5 against the trained tower, and saves the tower's layers to `--out`.

Not shipped (docs/reader.md, "Option (c)"): the figures there say why.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEMPERATURE = 0.02
BATCH = 32


@dataclass(frozen=True)
class Pair:
    question: str
    paragraph: str  # paragraph id (rag.reader.squad.paragraph_id)
    answer_sentence: int  # index among the paragraph's sentences


def pairs_and_sentences(items) -> tuple[list[Pair], dict[str, list[str]]]:
    """Answerable questions with the sentence their first answer starts in, and each
    paragraph's sentences as ingest embeds them."""
    from rag.index.sentences import embed_text
    from rag.text import sentence_spans

    sentences: dict[str, list[str]] = {}
    spans_of: dict[str, list[tuple[int, int]]] = {}
    pairs = []
    for item in items:
        if item.impossible:
            continue
        if item.paragraph not in spans_of:
            spans_of[item.paragraph] = sentence_spans(item.context, 0)
            sentences[item.paragraph] = [embed_text(item.context[s:e]) or item.context[s:e]
                                         for s, e in spans_of[item.paragraph]]
        spans = spans_of[item.paragraph]
        start = item.answers[0].start
        hold = [i for i, (s, e) in enumerate(spans) if s <= start < e]
        if hold and len(spans) > 1:
            pairs.append(Pair(item.question, item.paragraph, hold[0]))
    return pairs, sentences


def sentence_vectors(sentences: dict[str, list[str]], cache: Path) -> dict[str, np.ndarray]:
    from rag.index.e5.runtime import E5OnnxEmbedder

    order = sorted(sentences)
    texts = [t for p in order for t in sentences[p]]
    # the cache holds these very texts (paragraphs, their split, their cleaning), or is made again
    key = hashlib.sha1("\x00".join(texts).encode("utf-8")).hexdigest()
    flat = None
    if cache.exists():
        saved = np.load(cache)
        if str(saved["key"]) == key and saved["vectors"].shape[0] == len(texts):
            flat = saved["vectors"]
    if flat is None:
        t0 = time.perf_counter()
        flat = np.asarray(E5OnnxEmbedder().embed_documents(texts), np.float32)
        print(f"embedded {len(texts)} sentences in {time.perf_counter() - t0:.0f} s")
        np.savez(cache, key=np.array(key), vectors=flat)
    out, at = {}, 0
    for p in order:
        out[p] = flat[at : at + len(sentences[p])]
        at += len(sentences[p])
    return out


def main() -> None:
    import torch

    from rag.index.e5.model import build_embedder
    from rag.index.e5.tokenizer import QUERY_PREFIX, tokenizer_of
    from rag.reader.squad import load_folds

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", default="../shared/qa")
    parser.add_argument("--fold", default="dev", choices=("dev", "test"))
    parser.add_argument("--trainable-from", type=int, default=6)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default="data/question-tower")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    folds = load_folds(args.qa)
    by_fold = {name: pairs_and_sentences(items) for name, items in folds.items()}
    train_pairs, eval_pairs = by_fold["train"][0], by_fold[args.fold][0]
    # every fold's paragraphs, embedded once: the cache serves both folds' runs
    every = {k: v for _, sentences in by_fold.values() for k, v in sentences.items()}
    vectors = sentence_vectors(every, out / "sentence-vectors.npz")
    tokenizer = tokenizer_of()
    model = build_embedder()

    def questions(batch: list[Pair]):
        ids = [tokenizer.encode(p.question, QUERY_PREFIX)[0] for p in batch]
        width = max(map(len, ids))
        x = torch.full((len(ids), width), tokenizer.pad, dtype=torch.long)
        mask = torch.zeros_like(x)
        for row, r in enumerate(ids):
            x[row, : len(r)] = torch.tensor(r)
            mask[row, : len(r)] = 1
        return x, mask

    def ranks() -> tuple[float, float]:
        model.eval()
        first = reciprocal = 0.0
        with torch.no_grad():
            for k in range(0, len(eval_pairs), 64):
                batch = eval_pairs[k : k + 64]
                for q, p in zip(model(*questions(batch)).numpy(), batch):
                    sims = vectors[p.paragraph] @ q
                    rank = int((sims > sims[p.answer_sentence]).sum())
                    first += rank == 0
                    reciprocal += 1 / (1 + rank)
        return first / len(eval_pairs), reciprocal / len(eval_pairs)

    before = ranks()
    print(f"{args.fold} fold, {len(eval_pairs)} answerable questions: e5 answer sentence first "
          f"{before[0]:.3f}, MRR {before[1]:.3f}")
    params = []
    for name, p in model.named_parameters():
        parts = name.split(".")
        p.requires_grad = parts[:3] == ["encoder", "encoder", "layer"] and int(parts[3]) >= args.trainable_from
        if p.requires_grad:
            params.append(p)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    per_epoch = max(1, len(train_pairs) // BATCH)
    steps = max(1, int(per_epoch * args.epochs))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 30) * max(0.0, 1 - s / steps))
    rng = random.Random(args.seed)
    order = list(train_pairs)
    t0, losses = time.perf_counter(), []
    for step in range(steps):
        if step % per_epoch == 0:
            rng.shuffle(order)
        batch = order[(step % per_epoch) * BATCH : (step % per_epoch + 1) * BATCH]
        model.train()
        q = model(*questions(batch))
        paragraphs = sorted({p.paragraph for p in batch})
        offsets = np.cumsum([0] + [len(vectors[p]) for p in paragraphs])
        at = dict(zip(paragraphs, offsets))
        candidates = torch.from_numpy(np.concatenate([vectors[p] for p in paragraphs]))
        target = torch.tensor([int(at[p.paragraph]) + p.answer_sentence for p in batch])
        loss = torch.nn.functional.cross_entropy(q @ candidates.T / TEMPERATURE, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps} loss {np.mean(losses[-50:]):.3f} {time.perf_counter() - t0:.0f} s",
                  flush=True)
    after = ranks()
    print(f"trained {steps} steps in {time.perf_counter() - t0:.0f} s; {args.fold} fold: answer sentence "
          f"first {after[0]:.3f} (e5 {before[0]:.3f}), MRR {after[1]:.3f} (e5 {before[1]:.3f})")
    torch.save({k: v for k, v in model.state_dict().items()
                if k.startswith("encoder.encoder.layer.") and int(k.split(".")[3]) >= args.trainable_from},
               out / "question-tower.pt")


if __name__ == "__main__":
    main()
