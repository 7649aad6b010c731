"""Choice functions: what drives a generative grammar through its decisions.

A grammar (``course_lib.data.french_grammar``) never draws random numbers itself: it
asks ``pick(options, weights=None)`` at every decision and builds the sentence from the
answers. Who answers decides what the grammar does:

- ``Sampler(seed)``: a seeded random choice, uniform or by the relative ``weights``
  (a dict option -> weight), the same on every machine;
- ``SteeredSampler(seed, words)``: the same, but half of the time it takes an option
  whose English word is in ``words``, to make some sentences more likely;
- ``enumerate_derivations(derive)``: every option in turn, so that ``derive`` runs once
  for every possible sequence of choices (for tests on a small lexicon).
"""
from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = ["Pick", "Sampler", "SteeredSampler", "enumerate_derivations"]

Pick = Callable[..., object]
"""A choice function: ``pick(options, weights=None)`` returns one of ``options`` (a sequence),
uniformly or with relative weights ``weights[option]`` (a dict)."""


class Sampler:
    """``pick`` for random sampling from a seeded ``random.Random``."""

    def __init__(self, seed: int | str):
        self.random = random.Random(seed).random
        self._cumulative: dict[tuple, list[float]] = {}

    def __call__(self, options: Sequence, weights: dict | None = None):
        if weights is None or len(options) == 1:
            return options[int(self.random() * len(options))]
        key = (id(weights), options)
        cum = self._cumulative.get(key)
        if cum is None:
            cum = self._cumulative[key] = list(itertools.accumulate(weights[o] for o in options))
        return options[bisect.bisect_right(cum, self.random() * cum[-1])]


class SteeredSampler(Sampler):
    """A sampler that, half of the time, picks any option whose English word is in ``words``.

    Every sentence it makes is one the grammar can make; it only makes some more
    likely. The test split uses it to reach each held-out combination equally often.
    """

    def __init__(self, seed: int | str, words: Iterable[str] = (), boost: float = 0.5):
        super().__init__(seed)
        self.words, self.boost = frozenset(words), boost

    def __call__(self, options: Sequence, weights: dict | None = None):
        if self.words and len(options) > 1:
            wanted = [o for o in options if getattr(o, "en", None) in self.words]
            if wanted and self.random() < self.boost:
                return wanted[int(self.random() * len(wanted))]
        return super().__call__(options, weights)


def enumerate_derivations(derive: Callable[[Pick], object]) -> Iterator[object]:
    """Every result of ``derive`` over all choice sequences (depth first, by replaying choices)."""
    stack: list[list[int]] = [[]]
    while stack:
        prefix = stack.pop()
        sizes: list[int] = []

        def pick(options, weights=None, prefix=prefix, sizes=sizes):
            i = len(sizes)
            sizes.append(len(options))
            return options[prefix[i] if i < len(prefix) else 0]

        result = derive(pick)
        # the branches this run opened beyond the forced prefix, to explore later
        for i in range(len(prefix), len(sizes)):
            for j in range(1, sizes[i]):
                stack.append(prefix + [0] * (i - len(prefix)) + [j])
        yield result
