"""Lesson 09's controlled experiments over several seeds: mean and spread of every figure.

The notebook runs each arm once (one seed) at its budget; a difference between two arms means
something only where it is larger than the spread between seeds, which this script measures with
the course's own pieces in place of the learner's. Prints one table per experiment (mean, standard
deviation and each seed's value) and writes them to assets/benchmarks/roberta_spanbert.json, which
the notebook reads to say which of its differences stand.

    .venv/bin/python benchmarks/roberta_spanbert.py            # 3 seeds, the notebook's budget
    .venv/bin/python benchmarks/roberta_spanbert.py --seeds 5
"""
from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from pathlib import Path

import torch

from course_lib import ablations, mini_bert, span_masking
from course_lib.dynamic_masking import StaticMasking
from course_lib.full_sentences import full_sentences_dataset
from course_lib.pretraining import mask_tokens

ROOT = Path(__file__).resolve().parent.parent
OUT = ablations.BENCHMARK
N_EVAL = 200  # held-out rows per figure, as the notebook
# Measured here only, quoted by the notebook: the large batch with its learning rate scaled linearly.
EXTRA_ARMS = {"full sentences, MLM, batch x4, linear lr": ablations.Arm("full_sentences", batch_size=64, lr=1.2e-2)}


def run(seed: int, steps: dict[str, int]) -> dict[str, dict[str, float]]:
    """Every figure of the lesson's experiments for one seed: {arm: {figure: value}}."""
    tokenizer = mini_bert.train_vocabulary()
    vocab_size = len(tokenizer)
    small = full_sentences_dataset(tokenizer, "train", 64, n_documents=steps["masking_documents"])
    heldout = full_sentences_dataset(tokenizer, "validation", 64)
    masking = ablations.masking_runs(small, heldout, vocab_size,
                                     {"dynamic": lambda: mask_tokens, "static x10": lambda: StaticMasking(10)},
                                     steps["masking"], seed=seed, every=steps["masking"], n_eval=N_EVAL)
    figures = {f"masking: {name}": {"heldout_mlm_loss": curve["heldout"][-1], "train_rows_mlm_loss": curve["train"][-1]}
               for name, curve in masking.items()}
    train = ablations.pretraining_data(tokenizer, "train")
    valid = ablations.pretraining_data(tokenizer, "validation")
    qa = ablations.QATask.make(tokenizer, steps["qa_train"], steps["qa_valid"])
    span_fn = functools.partial(span_masking.span_mask_tokens, is_continuation=span_masking.continuation_table(tokenizer))
    sequences = steps["pretrain"] * ablations.LESSON_ARMS["segment pairs, MLM + NSP"].batch_size
    for name, arm in (ablations.LESSON_ARMS | EXTRA_ARMS).items():
        result = ablations.pretrain_arm(arm, train, vocab_size, arm.steps_for(sequences), seed, span_mask_fn=span_fn)
        figures[name] = ablations.evaluate_arm(arm, result, valid, qa, steps["qa"], seed, n=N_EVAL, span_mask_fn=span_fn)
    random_init = mini_bert.new_model(vocab_size, seed=seed).bert
    figures["random initialisation"] = {"qa_hasans_f1": ablations.qa_hasans_f1(random_init, qa, steps["qa"], seed=seed)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps = ablations.LESSON_STEPS
    per_seed, start = [], time.perf_counter()
    for seed in range(args.seeds):
        per_seed.append(run(seed, steps))
        print(f"seed {seed} done, {time.perf_counter() - start:.0f} s", flush=True)
    table = {}
    for arm in per_seed[0]:
        for figure in per_seed[0][arm]:
            values = [s[arm][figure] for s in per_seed]
            table.setdefault(arm, {})[figure] = {"mean": statistics.mean(values), "sd": statistics.stdev(values),
                                                 "values": values}
            print(f"{arm:36s} {figure:22s} {statistics.mean(values):10.4f} ± {statistics.stdev(values):8.4f}  "
                  + " ".join(f"{v:.4f}" for v in values))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"seeds": args.seeds, "steps": steps, "torch": torch.__version__, "figures": table},
                              indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
