"""Lesson 07's pretraining experiments at the lesson's step counts: figures and times, over seeds.

Usage: OMP_NUM_THREADS=1 python benchmarks/mini_bert.py [SEED ...]   (default seeds: 0 1 2)
One thread, as CI runs a kernel. Each arm runs once per seed (the seed sets the initial weights,
the batch order and the masks; the corpus and the pairs stay those of seed 0) for the steps of
``mini_bert.LESSON_STEPS``: the left-to-right model takes as many steps as the mini-BERT.
The table gives each seed's figure, the mean, the spread (max - min) and the CPU seconds of one
run. A difference between two arms smaller than their spreads is not a result. The load average
is printed: on a shared machine wall time is not CPU time.
"""
from __future__ import annotations

import os
import sys
import time
from statistics import mean

import torch

from course_lib import mini_bert as mb
from course_lib import mlm_probes as mp
from course_lib.data.documents import document_corpus


def timed(fn):
    """(fn(), CPU seconds, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main(seeds: list[int]) -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()}; seeds {seeds}; steps {mb.LESSON_STEPS}")
    _, cpu, wall = timed(document_corpus)
    print(f"corpus: {cpu:.1f} s CPU, {wall:.1f} s wall")
    tokenizer, cpu, wall = timed(mb.train_vocabulary)
    print(f"vocabulary ({len(tokenizer)}): {cpu:.1f} s CPU, {wall:.1f} s wall")
    data, cpu, wall = timed(lambda: {(split, negatives): mb.pretraining_dataset(tokenizer, split, negatives=negatives)
                                     for split in ("train", "validation")
                                     for negatives in ("other_document", "same_topic")})
    print(f"4 pair datasets (train, validation) x (other document, same topic): {cpu:.1f} s CPU, {wall:.1f} s wall")
    train, valid = data["train", "other_document"], data["validation", "other_document"]
    valid_same = data["validation", "same_topic"]
    items = mp.right_context_items(tokenizer)
    print(f"right-context items (test split): {len(items)}")
    rows: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}

    def record(name: str, value: float, cpu: float | None = None) -> None:
        rows.setdefault(name, []).append(value)
        if cpu is not None:
            seconds.setdefault(name, []).append(cpu)

    config = mb.RECIPE.config(len(tokenizer))
    for seed in seeds:
        steps = mb.LESSON_STEPS["pretrain"][0]
        model = mb.new_model(len(tokenizer), seed=seed)
        _, cpu, _ = timed(lambda: mb.pretrain(model, train, steps, seed=seed, plot=False))
        record(f"BERT {steps} steps: MLM accuracy (validation)", mb.mlm_accuracy(model, valid), cpu)
        record("  NSP accuracy, other-document negatives", mb.nsp_accuracy(model, valid))
        record("  NSP accuracy, same-topic negatives", mb.nsp_accuracy(model, valid_same))
        record("  right-context accuracy, bidirectional", mp.right_context_accuracy(model, tokenizer, items))

        torch.manual_seed(seed)
        l2r = mp.LeftToRightLM(config)
        _, cpu, _ = timed(lambda: mp.pretrain_left_to_right(l2r, train, steps, seed=seed, plot=False))
        record(f"  right-context accuracy, left-to-right ({steps} steps)",
               mp.right_context_accuracy(l2r, tokenizer, items), cpu)

        steps = mb.LESSON_STEPS["mask_pair"][0]
        for arm, mask_fn in (("80/10/10", None), ("100% [MASK]", mp.mask_always)):
            model = mb.new_model(len(tokenizer), seed=seed)
            _, cpu, _ = timed(lambda: mb.pretrain(model, train, steps, seed=seed, mask_fn=mask_fn, plot=False))
            probe = mp.unmasked_accuracy(model, valid)
            record(f"{arm} ({steps} steps): MLM accuracy, 80/10/10 masks", mb.mlm_accuracy(model, valid), cpu)
            record(f"  {arm}: MLM accuracy, all-[MASK] masks", mb.mlm_accuracy(model, valid, mask_fn=mp.mask_always))
            record(f"  {arm}: no [MASK] in the input, identity", probe["identity"])
            record(f"  {arm}: no [MASK] in the input, correction", probe["correction"])

        print(f"seed {seed} done; load average {os.getloadavg()}", flush=True)

    (model, tok), cpu, _ = timed(mb.load_mini_bert)
    shipped = {"checkpoint: MLM accuracy (validation)": mb.mlm_accuracy(model, valid),
               "checkpoint: NSP accuracy, other-document": mb.nsp_accuracy(model, valid),
               "checkpoint: NSP accuracy, same-topic": mb.nsp_accuracy(model, valid_same),
               "checkpoint: right-context accuracy": mp.right_context_accuracy(model, tok, items)}
    width = max(map(len, [*rows, *shipped]))
    print(f"\n{'figure':<{width}}  {'per seed':<22} {'mean':>6} {'spread':>6} {'CPU s':>6}")
    for name, values in rows.items():
        per_seed = " ".join(f"{v:.3f}" for v in values)
        run = f"{mean(seconds[name]):6.1f}" if name in seconds else ""
        print(f"{name:<{width}}  {per_seed:<22} {mean(values):6.3f} {max(values) - min(values):6.3f} {run}")
    for name, value in shipped.items():
        print(f"{name:<{width}}  {'':<22} {value:6.3f}")
    print(f"checkpoint load: {cpu:.2f} s CPU; load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [0, 1, 2])
