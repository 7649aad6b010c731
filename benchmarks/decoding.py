"""Greedy decoding with and without the key/value cache: seconds and speed-up (lesson 06_translation).

Usage: OMP_NUM_THREADS=1 python benchmarks/decoding.py
A random d_model 128, 2 + 2 layer, 4 head Transformer generates exactly 16 ... 128 tokens (no early
<eos>) for batches of 1 and 32 sources of 20 tokens, on one thread; best of 3 runs each.
"""
from __future__ import annotations

import torch

from course_lib.kv_cache import generation_seconds
from course_lib.transformer import Transformer

STEPS = (16, 32, 64, 128)
BATCHES = (1, 32)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Transformer(1000, 1000, d_model=128, num_heads=4, num_layers=2, d_ff=512, max_len=max(STEPS)).eval()
    print(f"{'batch':>5} {'tokens':>6} {'full prefix s':>13} {'KV cache s':>10} {'speed-up':>8}")
    for batch in BATCHES:
        src = torch.randint(4, 1000, (batch, 20))
        for steps in STEPS:
            full = generation_seconds(model, src, steps, cached=False)
            cached = generation_seconds(model, src, steps, cached=True)
            print(f"{batch:>5} {steps:>6} {full:>13.3f} {cached:>10.3f} {full / cached:>7.1f}x")


if __name__ == "__main__":
    main()
