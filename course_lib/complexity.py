"""The paper's Table 1: self-attention against a recurrent layer (lesson 05_transformer).

Vaswani et al. (2017) compare layer types by their operations per layer, the operations that
must run one after another, and the longest path a signal takes between two positions.
``layer_complexity`` gives these as numbers for one self-attention layer and one GRU layer of
width d over n positions (the operations are equal exactly at n = d). ``layer_costs`` measures
the same two layers, wall time and peak activation memory (``peak_memory``, counted op by op);
``crossover_length`` finds the length at which self-attention becomes the slower of the two.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from course_lib.measure import wall_time
from course_lib.multihead import MultiHeadAttention

__all__ = [
    "layer_complexity",
    "peak_memory",
    "LayerCost",
    "layer_costs",
    "crossover_length",
]


def layer_complexity(n: int, d: int) -> dict[str, dict[str, int]]:
    """The paper's Table 1 as numbers for one self-attention layer and one GRU layer of width d.

    "operations" counts multiplies and adds (2 per multiply-add) of one forward pass over n
    positions: self-attention 4 projections (8 n d^2) plus scores and weighted sum (4 n^2 d), the
    GRU 3 gates each with an input and a hidden d x d map (12 n d^2), so the two are equal exactly at
    n = d. "sequential operations": steps that must wait for the previous one. "maximum path length":
    how many steps a signal takes from one position to another.
    """
    return {
        "self-attention": {
            "operations": 8 * n * d * d + 4 * n * n * d,
            "sequential operations": 1,
            "maximum path length": 1,
        },
        "recurrent": {
            "operations": 12 * n * d * d,
            "sequential operations": n,
            "maximum path length": n,
        },
    }


class _TensorMemory(TorchDispatchMode):
    """Bytes of tensor storage allocated inside the block and still alive, and their peak.

    Every op's outputs pass through ``__torch_dispatch__``. An output whose storage is new (not one
    of the op's inputs', not already counted) is an allocation; a storage is freed when the last
    tensor seen on it is garbage collected (weak references with a callback count them).
    """

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[int, int] = {}  # storage address -> bytes, for storages counted and alive
        self.tensors: dict[int, int] = {}  # storage address -> live tensors seen on it
        self.refs: dict[int, weakref.ref] = {}  # keeps the weak references (and their callbacks) alive
        self.current = 0
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, Tensor)}
        for tensor in tree_leaves(out):
            if not isinstance(tensor, Tensor):
                continue
            storage = tensor.untyped_storage()
            address, size = storage.data_ptr(), storage.nbytes()
            if address in self.sizes:
                self.tensors[address] += 1
            elif size and address not in inputs:
                self.sizes[address], self.tensors[address] = size, 1
                self.current += size
                self.peak = max(self.peak, self.current)
            else:
                continue
            ref = weakref.ref(tensor, lambda ref, address=address: self._release(ref, address))
            self.refs[id(ref)] = ref
        return out

    def _release(self, ref: weakref.ref, address: int) -> None:
        del self.refs[id(ref)]
        self.tensors[address] -= 1
        if not self.tensors[address]:
            del self.tensors[address]
            self.current -= self.sizes.pop(address)


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes of tensor storage that ``fn()`` allocates and holds at once (no gradients).

    Weights and inputs made before the call are not counted, so for a layer this is the memory of
    its activations, its output included. Counted op by op, so the same on every device; the
    bookkeeping makes the call itself slower (time it separately).
    """
    tracker = _TensorMemory()
    with torch.no_grad(), tracker:
        fn()
    return tracker.peak


@dataclass
class LayerCost:
    """Measured cost of one forward pass: best-of wall time and peak activation memory."""

    seconds: float
    peak_bytes: int


def _layer_runs(n: int, d: int, batch: int, num_heads: int, seed: int) -> dict[str, Callable[[], Tensor]]:
    """One forward pass of a self-attention layer and of a GRU layer on the same (batch, n, d) input."""
    torch.manual_seed(seed)
    attention = MultiHeadAttention(d, num_heads)
    gru = nn.GRU(d, d, batch_first=True)
    x = torch.randn(batch, n, d)
    return {"self-attention": lambda: attention(x, x, x)[0], "recurrent": lambda: gru(x)[0]}


def layer_costs(
    n: int, d: int, batch: int = 1, num_heads: int = 1, repeats: int = 3, seed: int = 0
) -> dict[str, LayerCost]:
    """Time and memory of one self-attention layer and one GRU layer on (batch, n, d) inputs.

    Self-attention is ``MultiHeadAttention(d, num_heads)`` (projections included), the recurrent
    layer ``nn.GRU(d, d)``; float32, no gradients. Times are the best of ``repeats`` calls
    (``course_lib.measure.wall_time``); memory is ``peak_memory``: the attention weights make
    self-attention's grow as n^2, the GRU's grows as n * d.
    """
    runs = _layer_runs(n, d, batch, num_heads, seed)
    return {name: LayerCost(wall_time(run, repeats=repeats), peak_memory(run)) for name, run in runs.items()}


def crossover_length(
    d: int,
    lengths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048),
    batch: int = 1,
    num_heads: int = 1,
    repeats: int = 3,
) -> int | None:
    """The first n in ``lengths`` at which self-attention is slower than the GRU (None if never).

    Only wall time is compared (as in ``layer_costs``); the lengths are tried in increasing order
    and the search stops at the first one where the GRU wins.
    """
    for n in sorted(lengths):
        runs = _layer_runs(n, d, batch, num_heads, seed=0)
        if wall_time(runs["self-attention"], repeats=repeats) > wall_time(runs["recurrent"], repeats=repeats):
            return n
    return None
