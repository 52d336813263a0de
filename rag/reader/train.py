"""`rag train-reader`: fine-tunes the reader from SQuAD-format files, seeded and resumable.

    rag train-reader [--qa ../shared/qa] [--epochs 1] [--max-tokens 192] [--out DELTA]

Each question becomes one window of its paragraph (the question and up to `max_tokens`
tokens of context) holding the answer at a random place, or, for an unanswerable question
(Chinese SQuAD 2.0's near misses), any window, pointing at position 0. A share of the
answerable questions also give a window of their paragraph without the answer (also
position 0): the reader sees text retrieval brought back that does not answer. Windows and
their order are a function of (seed, epoch, index), so a resumed run repeats exactly what
the interrupted one would have done; a checkpoint is written every `checkpoint_every` steps.
Trained on the "train" fold only (rag.reader.squad); the "dev" fold picks the threshold.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rag.errors import ConfigError
from rag.reader.model import TRAINABLE_FROM
from rag.reader.squad import SquadItem
from rag.reader.windows import NO_ANSWER, Window, context_budget, context_pieces, make_window, question_ids


@dataclass(frozen=True)
class TrainSettings:
    epochs: float = 1.0
    batch_size: int = 16
    max_tokens: int = 192
    lr_layers: float = 1e-4
    lr_head: float = 1e-3
    warmup_steps: int = 60
    weight_decay: float = 0.01
    negative_share: float = 0.25  # answerable questions that also give a window without the answer
    seed: int = 13
    checkpoint_every: int = 50
    # encoder layers from this one up are trained (and shipped); None: the depth of the delta
    # a stage starts from (init_from), else TRAINABLE_FROM
    trainable_from: int | None = None
    # a second stage goes on from a trained delta (its layers and head) and draws its windows as
    # the epochs after the first stage's, so it never repeats one of them
    init_from: str | None = None
    start_epoch: int = 0
    # the delta's weight matrices as int8 rows with a scale each (rag.reader.model): 1.8 MB a
    # layer instead of 3.5, so a deeper delta stays under the 20 MB the repository may hold
    int8_delta: bool = False


def stage_depth(settings: TrainSettings) -> int:
    """The lowest layer a run trains and writes: the setting, else the depth of the delta it
    starts from, else TRAINABLE_FROM. A stage shallower than its starting delta would write a
    delta without that delta's lower trained layers: refused."""
    from rag.reader.model import delta_trainable_from, load_delta

    start = delta_trainable_from(load_delta(Path(settings.init_from))) if settings.init_from else None
    if settings.trainable_from is None:
        return start if start is not None else TRAINABLE_FROM
    if start is not None and settings.trainable_from > start:
        raise ConfigError(f"--trainable-from {settings.trainable_from} is shallower than the delta it starts "
                          f"from ({settings.init_from} trains from layer {start}): its layers {start}-"
                          f"{settings.trainable_from - 1} would be dropped")
    return settings.trainable_from


@dataclass(frozen=True)
class Example:
    window: Window
    start: int  # index into window.ids; NO_ANSWER for none
    end: int


class ExampleMaker:
    """Windows of SQuAD items; tokenizes each paragraph and question once."""

    def __init__(self, tokenizer, max_tokens: int):
        self.tokenizer, self.max_tokens = tokenizer, max_tokens
        self._pieces: dict[str, list[tuple[int, int, int]]] = {}

    def pieces(self, item: SquadItem) -> list[tuple[int, int, int]]:
        p = self._pieces.get(item.paragraph)
        if p is None:
            p = self._pieces[item.paragraph] = context_pieces(self.tokenizer, item.context)
        return p

    def examples(self, item: SquadItem, rng: random.Random, negative_share: float) -> list[Example]:
        q_ids = question_ids(self.tokenizer, item.question)
        pieces = self.pieces(item)
        budget = context_budget(q_ids, self.max_tokens)
        n = len(pieces)
        if n == 0:
            return []

        def window(a: int) -> Window:
            return make_window(self.tokenizer, q_ids, item.context, pieces[a : a + budget])

        last_start = max(0, n - budget)
        if item.impossible:
            return [Example(window(rng.randint(0, last_start)), NO_ANSWER, NO_ANSWER)]
        answer = rng.choice(item.answers)
        a_end = answer.start + len(answer.text)
        first = next((i for i, p in enumerate(pieces) if p[2] > answer.start), None)
        last = next((i for i in range(n - 1, -1, -1) if pieces[i][1] < a_end), None)
        if first is None or last is None or last < first or last - first >= budget:
            return []
        a = rng.randint(max(0, last - budget + 1), min(first, last_start))
        w = window(a)
        out = [Example(w, w.context_from + first - a, w.context_from + last - a)]
        if rng.random() < negative_share:
            choices = []
            if first >= budget:
                choices.append(rng.randint(0, first - budget))
            if n - (last + 1) >= budget:
                choices.append(rng.randint(last + 1, n - budget))
            if choices:
                out.append(Example(window(rng.choice(choices)), NO_ANSWER, NO_ANSWER))
        return out


def epoch_examples(maker: ExampleMaker, items: list[SquadItem], settings: TrainSettings, epoch: int) -> list[Example]:
    out: list[Example] = []
    for index, item in enumerate(items):
        rng = random.Random(f"{settings.seed}-{epoch}-{index}")
        out.extend(maker.examples(item, rng, settings.negative_share))
    random.Random(f"{settings.seed}-order-{epoch}").shuffle(out)
    return out


def batch_tensors(examples: list[Example], pad: int):
    import torch

    width = max(len(e.window.ids) for e in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    allowed = torch.zeros((len(examples), width), dtype=torch.bool)
    for row, e in enumerate(examples):
        n = len(e.window.ids)
        ids[row, :n] = torch.tensor(e.window.ids)
        mask[row, :n] = 1
        allowed[row, NO_ANSWER] = True
        allowed[row, e.window.context_from : n - 1] = True
    starts = torch.tensor([e.start for e in examples])
    ends = torch.tensor([e.end for e in examples])
    return ids, mask, allowed, starts, ends


def train(items: list[SquadItem], out: Path, work: Path, settings: TrainSettings = TrainSettings(),
          log=print) -> dict:
    """Train, checkpointing in `work`; resumes from its checkpoint when the settings match.
    Writes the delta to `out` and returns what the run did."""
    import torch
    from tqdm import tqdm

    from rag.index.e5.tokenizer import tokenizer_of
    from rag.reader.model import build_reader, save_delta, trainable

    depth = stage_depth(settings)  # before any work: a refused depth costs nothing
    torch.set_num_threads(max(1, torch.get_num_threads()))
    tokenizer = tokenizer_of()
    maker = ExampleMaker(tokenizer, settings.max_tokens)
    reader = build_reader(Path(settings.init_from) if settings.init_from else None)
    for name, p in reader.named_parameters():
        p.requires_grad = trainable(name, depth)
    layers = [p for n, p in reader.named_parameters() if p.requires_grad and not n.startswith("span_head")]
    head = [p for n, p in reader.named_parameters() if n.startswith("span_head")]
    optimizer = torch.optim.AdamW([{"params": layers, "lr": settings.lr_layers},
                                   {"params": head, "lr": settings.lr_head}], weight_decay=settings.weight_decay)
    first_epoch = epoch_examples(maker, items, settings, settings.start_epoch)
    steps_per_epoch = len(first_epoch) // settings.batch_size
    total_steps = max(1, int(steps_per_epoch * settings.epochs))

    def lr_factor(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - settings.warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = work / "checkpoint.pt"
    key = {"settings": asdict(settings), "items": len(items)}
    step, seconds_before, losses = 0, 0.0, []
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["key"] == key:
            reader.load_state_dict(state["trainable"], strict=False)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step, seconds_before, losses = state["step"], state["seconds"], state["losses"]
            log(f"resuming at step {step} of {total_steps}")
        else:
            log("the checkpoint is from other settings: starting over")
    reader.train()
    t0 = time.perf_counter()
    epoch_cache: dict[int, list[Example]] = {settings.start_epoch: first_epoch}
    bar = tqdm(total=total_steps, initial=step, desc="training reader", unit="step")
    while step < total_steps:
        epoch, within = divmod(step, steps_per_epoch)
        epoch += settings.start_epoch
        if epoch not in epoch_cache:
            epoch_cache = {epoch: epoch_examples(maker, items, settings, epoch)}
        examples = epoch_cache[epoch]
        # an epoch can hold a few examples fewer than the first (each draws its own negatives):
        # its last batches wrap round to its start rather than come up short or empty
        batch = [examples[(within * settings.batch_size + j) % len(examples)] for j in range(settings.batch_size)]
        ids, mask, allowed, starts, ends = batch_tensors(batch, tokenizer.pad)
        logits = reader(ids, mask).masked_fill(~allowed.unsqueeze(-1), -1e4)
        loss = (torch.nn.functional.cross_entropy(logits[..., 0], starts)
                + torch.nn.functional.cross_entropy(logits[..., 1], ends)) / 2
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(layers + head, 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        losses.append(float(loss))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if step % settings.checkpoint_every == 0 or step == total_steps:
            state = {"key": key, "step": step, "seconds": seconds_before + time.perf_counter() - t0,
                     "losses": losses, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                     "trainable": {k: v for k, v in reader.state_dict().items() if trainable(k, depth)}}
            torch.save(state, checkpoint.with_suffix(".tmp"))
            checkpoint.with_suffix(".tmp").replace(checkpoint)
    bar.close()
    seconds = seconds_before + time.perf_counter() - t0
    summary = {"steps": step, "examples_per_epoch": len(first_epoch), "questions": len(items),
               "seconds": round(seconds, 1), "final_loss": round(float(np.mean(losses[-50:])), 4),
               "settings": asdict(settings)}
    save_delta(reader.eval(), out, depth, metadata={"training": json.dumps(summary)},
               int8=settings.int8_delta)
    return summary
