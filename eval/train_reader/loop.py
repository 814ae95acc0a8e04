"""The reader's training loop: resumable across sessions.

Every `checkpoint_every` steps the trained weights, the optimizer, the schedule and the step
are written (atomically) to the checkpoint folder, outside git; `--resume` goes on from the last
one with the same example order (one fixed shuffle per epoch), so an interrupted run loses at
most `checkpoint_every` steps.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eval.train_reader.data import ReaderExample
from eval.train_reader.model import SpanReader, span_loss
from index.read.windows import Window, batch_arrays, focus_range, make_windows, special_ids

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-4
    head_learning_rate: float = 5e-4
    warmup: float = 0.05  # share of the steps
    other_script: float = 0.25  # chance an example is read in the other script (OpenCC), when lengths allow
    checkpoint_every: int = 40  # steps
    seed: int = 13
    max_length: int = 320
    stride: int = 128
    max_question_tokens: int = 64
    # 0: read the whole context; else a window of this many of its tokens, placed at random around
    # the answer (anywhere in a negative), as search reads this many around the evidence sentence
    context_tokens: int = 0


@dataclass
class Encoded:
    window: Window
    start: int  # target token positions in the window; 0 and 0: no answer
    end: int


def crop(tokenizer, example: ReaderExample, budget: int, rng: random.Random) -> ReaderExample:
    """The example's context cut to about `budget` tokens holding the answer, at a random place."""
    if example.answer_start >= 0:
        focus = (example.answer_start, example.answer_end)
    else:
        point = rng.randrange(max(1, len(example.context)))
        focus = (point, point + 1)
    a, b = focus_range(tokenizer, example.context, *focus, budget, rng.random())
    if example.answer_start >= 0 and not (a <= example.answer_start and example.answer_end <= b):
        return example  # an answer longer than the budget: read whole
    shift = a if example.answer_start >= 0 else 0
    return ReaderExample(example.question, example.context[a:b], example.answer_start - shift,
                         example.answer_end - shift, example.article, example.kind, example.answers)


def encode(tokenizer, example: ReaderExample, config: TrainConfig) -> Encoded:
    """The window holding the answer (or the first window of a negative) and its targets."""
    windows = make_windows(tokenizer, example.question, example.context, config.max_length, config.stride,
                           config.max_question_tokens)
    if example.answer_start < 0:
        return Encoded(windows[0], 0, 0)
    for window in windows:
        starts, ends = window.offsets[:, 0], window.offsets[:, 1]
        first = np.flatnonzero(ends > example.answer_start)
        last = np.flatnonzero(starts < example.answer_end)
        inside = len(first) and len(last) and starts[first[0]] <= example.answer_start
        if inside and ends[last[-1]] >= example.answer_end:
            return Encoded(window, window.context_start + int(first[0]), window.context_start + int(last[-1]))
    return Encoded(windows[0], 0, 0)  # the answer straddles every window: the window says nothing


class ScriptFlipper:
    """The example in the other script (s2t or t2s) when the conversion keeps every length."""

    def __init__(self) -> None:
        import opencc

        self.s2t, self.t2s = opencc.OpenCC("s2t").convert, opencc.OpenCC("t2s").convert

    def __call__(self, example: ReaderExample) -> ReaderExample:
        convert = self.s2t if self.t2s(example.context) == example.context else self.t2s
        question, context = convert(example.question), convert(example.context)
        if len(context) != len(example.context):
            return example
        return ReaderExample(question, context, example.answer_start, example.answer_end, example.article,
                             example.kind, example.answers)


BUCKET_BATCHES = 20  # batches whose examples are sorted by length together (less padding)


def epoch_batches(examples: list[ReaderExample], config: TrainConfig, epoch: int) -> list[list[int]]:
    """One epoch's batches, the same for a given seed and epoch (so a resumed run goes on with
    the same order): shuffled, examples of similar length batched together, batches shuffled."""
    rng = random.Random(config.seed + epoch)
    order = rng.sample(range(len(examples)), len(examples))
    size = config.batch_size
    batches = []
    for begin in range(0, len(order), size * BUCKET_BATCHES):
        bucket = sorted(order[begin:begin + size * BUCKET_BATCHES],
                        key=lambda i: len(examples[i].context) + len(examples[i].question))
        batches += [bucket[i:i + size] for i in range(0, len(bucket), size)]
    rng.shuffle(batches)
    return batches


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def train(model: SpanReader, tokenizer, examples: list[ReaderExample], config: TrainConfig, folder: Path,
          resume: bool, log=print, stop_after_steps: int | None = None) -> dict:
    """Train (or go on training) and return the run's summary; the weights stay in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    per_epoch = len(epoch_batches(examples, config, 0))
    total = per_epoch * config.epochs
    head = [p for p in model.head.parameters()]
    body = [p for p in model.bert.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": config.learning_rate},
                                   {"params": head, "lr": config.head_learning_rate}], weight_decay=0.01)
    warmup = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    step, losses = 0, []
    checkpoint = folder / CHECKPOINT
    if resume and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        model.load_trained_state(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        step, losses = saved["step"], saved["losses"]
        log(f"resuming at step {step} of {total}")
    elif checkpoint.exists():
        raise FileExistsError(f"{checkpoint} exists: pass --resume to go on from it, or choose another --checkpoints")
    flip = ScriptFlipper()
    pad = special_ids(tokenizer).pad
    model.train()
    bar = tqdm(total=total, initial=step, desc="training the reader", unit="step")
    started, ran = time.perf_counter(), 0
    batches_of: dict[int, list[list[int]]] = {}
    while step < total:
        epoch, position = divmod(step, per_epoch)
        if epoch not in batches_of:
            batches_of = {epoch: epoch_batches(examples, config, epoch)}
        batch = [examples[i] for i in batches_of[epoch][position]]
        rng = random.Random(config.seed * 1000 + step)
        batch = [flip(e) if rng.random() < config.other_script else e for e in batch]
        if config.context_tokens > 0:
            batch = [crop(tokenizer, e, config.context_tokens, rng) for e in batch]
        encoded = [encode(tokenizer, e, config) for e in batch]
        ids, mask = batch_arrays([e.window for e in encoded], pad)
        allowed = np.zeros_like(mask, dtype=bool)
        allowed[:, 0] = True
        for row, e in enumerate(encoded):
            allowed[row, e.window.context_start:e.window.context_end] = True
        start, end = model(torch.from_numpy(ids), torch.from_numpy(mask))
        loss = span_loss(start, end, torch.from_numpy(allowed), torch.tensor([e.start for e in encoded]),
                         torch.tensor([e.end for e in encoded]))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(body + head, 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        ran += 1
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", epoch=epoch + 1)
        if step % config.checkpoint_every == 0 or step == total:
            _atomic_save({"model": model.trained_state(), "optimizer": optimizer.state_dict(),
                          "schedule": schedule.state_dict(), "step": step, "losses": losses}, checkpoint)
            (folder / "progress.json").write_text(json.dumps(
                {"step": step, "total": total, "loss_last_50": float(np.mean(losses[-50:])),
                 "seconds_per_step": (time.perf_counter() - started) / ran}, indent=1))
        if stop_after_steps is not None and ran >= stop_after_steps:
            break
    bar.close()
    return {"step": step, "total": total, "done": step >= total, "loss_last_50": float(np.mean(losses[-50:]))}
