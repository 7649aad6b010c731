"""Tests of course_lib.complexity, the paper's Table 1: operation counts against counted FLOPs, the
memory counter on known allocations, and measured costs of self-attention against a GRU layer."""

from __future__ import annotations

import torch

from course_lib.complexity import LayerCost, crossover_length, layer_complexity, layer_costs, peak_memory


def test_layer_complexity_crosses_at_n_equals_d():
    at = layer_complexity(64, 64)
    assert at["self-attention"]["operations"] == at["recurrent"]["operations"]
    shorter, longer = layer_complexity(32, 64), layer_complexity(128, 64)
    assert shorter["self-attention"]["operations"] < shorter["recurrent"]["operations"]
    assert longer["self-attention"]["operations"] > longer["recurrent"]["operations"]
    assert longer["recurrent"]["sequential operations"] == longer["recurrent"]["maximum path length"] == 128
    assert longer["self-attention"]["sequential operations"] == longer["self-attention"]["maximum path length"] == 1


def test_layer_complexity_matches_counted_flops():
    from torch.utils.flop_counter import FlopCounterMode

    n, d = 12, 8
    attention_flops = layer_complexity(n, d)["self-attention"]["operations"]
    from course_lib.multihead import MultiHeadAttention

    x = torch.randn(1, n, d)
    with FlopCounterMode(display=False) as counter:
        MultiHeadAttention(d, 2)(x, x, x)
    assert counter.get_total_flops() == attention_flops  # matmuls only: 2 per multiply-add
    gru_flops = layer_complexity(n, d)["recurrent"]["operations"]
    assert gru_flops == n * 2 * (2 * d * 3 * d)  # per step: input and hidden maps to 3 gates


def test_peak_memory_counts_live_tensors_only():
    x = torch.randn(64, 32)
    assert peak_memory(lambda: (torch.ones(256, dtype=torch.float64) * 2).sum()) == 2 * 256 * 8

    def two_then_one():
        a = x @ x.T  # 64 x 64 floats
        b = a.T.contiguous()  # a copy while a is alive
        del a
        return b * 2  # a is gone: b and the result
    assert peak_memory(two_then_one) == 2 * 64 * 64 * 4
    assert peak_memory(lambda: x.T) == 0  # a view allocates nothing


def test_layer_costs_attention_memory_grows_quadratically():
    small, large = layer_costs(64, 16, repeats=1), layer_costs(256, 16, repeats=1)
    for costs in (small, large):
        assert set(costs) == {"self-attention", "recurrent"}
        assert all(type(cost) is LayerCost and cost.seconds > 0 for cost in costs.values())
    attention_growth = large["self-attention"].peak_bytes / small["self-attention"].peak_bytes
    gru_growth = large["recurrent"].peak_bytes / small["recurrent"].peak_bytes
    assert 10 < attention_growth <= 16 and 3 < gru_growth <= 4.5  # 4x longer: ~16x against ~4x
    assert large["self-attention"].peak_bytes >= 2 * 256 * 256 * 4  # scores and weights, n x n each


def test_crossover_length_returns_a_measured_length_or_none():
    found = crossover_length(8, lengths=(4, 1024), repeats=1)
    assert found in (4, 1024, None)
