"""GPT-2, a decoder-only language model built from lesson 05's layers (lesson 10_gpt_rlhf).

Read top to bottom: the config, the block, the model (with its key/value cache), then loading HF
GPT-2 checkpoints (one table from their names to ours, with the transposes called out) and writing
ours back under HF's names. The loss it is trained with, and perplexity, are in
``course_lib.causal_lm``; sampling in ``course_lib.sampling``; the generation loop in
``course_lib.generation``.

GPT-2 is the Transformer's decoder without cross-attention, so every layer is lesson 05's
``EncoderLayer`` with a causal mask: pre-norm (``x + Attention(LayerNorm(x))``, then
``x + MLP(LayerNorm(x))``), a 4x-wide MLP with the tanh approximation of GELU (HF's ``gelu_new``),
a final LayerNorm after the last block, learned absolute positions, and an output layer whose
weight IS the token-embedding matrix (Radford et al. 2019, section 2.3; Press and Wolf 2017).
Residual projections start with standard deviation 0.02 / sqrt(2 * n_layer), as GPT-2 does.

Generation one token at a time reuses the keys and values of earlier positions: pass
``cache=new_cache(model)`` (lesson 06's ``KVCache``, one per layer) and the model appends to it in
place, each block through ``layer_with_cache``; ``course_lib.generation`` runs the loop. These
helpers, and ``hidden_states`` (the final LayerNorm's output, read with a hook on ``final_norm``),
need only GPT-2's parts under these names, so they work on the lesson's own GPT too. Masks follow
the course convention inside the model (bool, True = may attend) and HF's at its interface
(``attention_mask`` 1 = real token).

Differences from the original, on purpose: no dropout on the attention weights (HF's
``attn_pdrop``), as lesson 03's ``MultiHeadAttention`` has none; nothing else, so in eval mode the
logits equal HF's ``GPT2LMHeadModel``'s (the tests hold them to 1e-5).

References: Radford et al. (2018), "Improving Language Understanding by Generative Pre-Training";
Radford et al. (2019), "Language Models are Unsupervised Multitask Learners" (GPT-2), and its
code (openai/gpt-2 ``src/model.py``); HF transformers ``modeling_gpt2.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib import checkpoints
from course_lib.arguments import check_int, check_tokens
from course_lib.bert import init_weights
from course_lib.kv_cache import KVCache, cached_self_attention
from course_lib.transformer import EncoderLayer, causal_mask, residual_sublayer
from course_lib.wordpiece import WordPieceTokenizer

__all__ = [
    "GPTConfig",
    "gelu_tanh",
    "Block",
    "GPT",
    "check_attention_mask",
    "positions_from_mask",
    "new_cache",
    "cache_length",
    "layer_with_cache",
    "hidden_states",
    "HF_TO_COURSE",
    "load_hf_gpt2",
    "to_hf_gpt2_state_dict",
    "save_gpt",
    "load_gpt",
]


# --- config -------------------------------------------------------------------------------------


@dataclass
class GPTConfig:
    """GPT-2's sizes under HF ``GPT2Config``'s names; defaults are GPT-2 small (124M parameters).

    ``n_inner`` is the MLP's width (None = 4 * n_embd). ``embd_pdrop`` drops out the summed
    embeddings, ``resid_pdrop`` each sublayer's output before the residual sum. HF's
    ``attn_pdrop`` is not a field: the course's attention has no dropout on its weights.
    """

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    layer_norm_epsilon: float = 1e-5
    embd_pdrop: float = 0.1
    resid_pdrop: float = 0.1
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            check_int(f"GPTConfig.{name}", getattr(self, name), "a size of the model")
        if self.n_inner is not None:
            check_int("GPTConfig.n_inner", self.n_inner, "the MLP's width; None for 4 * n_embd")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd={self.n_embd} must be divisible by n_head={self.n_head} "
                f"(each head gets n_embd // n_head features)."
            )
        for name in ("embd_pdrop", "resid_pdrop"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"GPTConfig.{name} must be in [0, 1); got {getattr(self, name)!r}.")
        if not self.layer_norm_epsilon > 0:
            raise ValueError(f"GPTConfig.layer_norm_epsilon must be > 0; got {self.layer_norm_epsilon!r}.")

    @property
    def inner_size(self) -> int:
        """The MLP's hidden width: ``n_inner``, or 4 * n_embd when it is None."""
        return 4 * self.n_embd if self.n_inner is None else self.n_inner

    @classmethod
    def from_hf(cls, config: Mapping | object) -> GPTConfig:
        """From an HF ``config.json`` dict or a ``transformers.GPT2Config``; other keys are ignored.

        Raises ValueError for what this GPT cannot compute: an activation other than GELU's tanh
        approximation (``gelu_new``, ``gelu_pytorch_tanh``), unscaled attention scores, scores
        scaled by the inverse layer index, or cross-attention.
        """
        hf = dict(config.to_dict() if hasattr(config, "to_dict") else config)
        if hf.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(
                f"activation_function={hf['activation_function']!r}: this GPT uses GELU's tanh "
                f"approximation ('gelu_new') only."
            )
        unsupported = {"scale_attn_weights": False, "scale_attn_by_inverse_layer_idx": True, "add_cross_attention": True}
        for key, bad in unsupported.items():
            if hf.get(key, not bad) == bad:
                raise ValueError(f"{key}={bad}: this GPT scales scores by 1/sqrt(head_dim) and has no cross-attention.")
        return cls(**{f.name: hf[f.name] for f in fields(cls) if f.name in hf})


# --- the block ----------------------------------------------------------------------------------


gelu_tanh = partial(F.gelu, approximate="tanh")
"""GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), HF's ``gelu_new``; not BERT's exact erf GELU."""


class Block(EncoderLayer):
    """GPT-2's block: lesson 05's pre-norm ``EncoderLayer`` with GELU (tanh) and a causal mask.

    x + Dropout(Attention(LayerNorm(x))), then x + Dropout(MLP(LayerNorm(x))), with
    MLP(h) = W2 gelu_tanh(W1 h + b1) + b2. GPT-2 drops out each sublayer's output, not the MLP's
    hidden layer, so that dropout of lesson 05's feed-forward is switched off.

    ``forward(x, mask=None, cache=None)``: x (batch, new, n_embd) -> (batch, new, n_embd); ``mask``
    bool, True = may attend, (new, new) or (batch, 1, new, past + new) with a cache. With a
    ``KVCache`` the new positions' keys and values are appended to it (``cached_self_attention``).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(
            config.n_embd,
            config.n_head,
            config.inner_size,
            config.resid_pdrop,
            norm_first=True,
            activation=gelu_tanh,
            layer_norm_eps=config.layer_norm_epsilon,
        )
        self.feed_forward.dropout = nn.Identity()

    def forward(self, x: Tensor, mask: Tensor | None = None, cache: KVCache | None = None) -> Tensor:
        if cache is None:
            return super().forward(x, mask)
        return layer_with_cache(self, x, mask, cache)


def layer_with_cache(layer: EncoderLayer, x: Tensor, mask: Tensor | None, cache: KVCache | None) -> Tensor:
    """Lesson 05's ``EncoderLayer`` (a GPT block: pre-norm) on the new positions ``x`` (batch, new, d_model).

    Without a cache this is ``layer(x, mask)``. With lesson 06's ``KVCache`` the new positions' keys
    and values are appended to ``cache`` in place and their queries attend over every cached
    position and themselves (``cached_self_attention``), under ``mask`` bool (batch or 1, 1, new,
    past + new), True = may attend; then the MLP, each sublayer with its residual sum.
    """
    if cache is None:
        return layer(x, mask)
    attend = partial(cached_self_attention, layer.self_attn, cache=cache, mask=mask)
    x = residual_sublayer(x, attend, layer.norm1, layer.dropout1, layer.norm_first)
    return residual_sublayer(x, layer.feed_forward, layer.norm2, layer.dropout2, layer.norm_first)


# --- the model ----------------------------------------------------------------------------------


def check_attention_mask(name: str, mask: object, shape: tuple[int, ...], hint: str = "") -> Tensor:
    """``mask`` as a bool tensor, after checking it has ``shape`` and holds only 0 and 1 (int, float or bool).

    ValueError naming ``name`` otherwise, ending with ``hint`` (what the mask should cover). The
    lesson's masks in HF's convention: ``attention_mask`` 1 = real token, 0 = padding, and the
    response masks of ``course_lib.preferences``.
    """
    if not isinstance(mask, Tensor) or tuple(mask.shape) != tuple(shape):
        got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"{name} must be a {tuple(shape)} tensor of 1 and 0{hint}; got {got}.")
    if not ((mask == 0) | (mask == 1)).all():
        raise ValueError(f"{name} must hold only 1 and 0.")
    return mask.bool()


def new_cache(model: nn.Module) -> list[KVCache]:
    """An empty key/value cache for ``model`` (a GPT: anything with ``layers``), to pass as ``cache``:
    lesson 06's ``KVCache``, one per block."""
    return [KVCache() for _ in model.layers]


def cache_length(cache: list[KVCache] | None) -> int:
    """How many positions ``cache`` holds: 0 for None or a fresh ``new_cache``, else its keys' length."""
    if not cache or cache[0].key is None:
        return 0
    return cache[0].key.shape[2]


def hidden_states(model: nn.Module, input_ids: Tensor, attention_mask: Tensor | None = None, **forward) -> Tensor:
    """The final LayerNorm's output (batch, seq, n_embd) of ``model(input_ids, attention_mask, **forward)``.

    ``model`` is a GPT with a ``final_norm`` (the course's or the lesson's own): its forward runs
    once and a hook on ``final_norm`` keeps what it returns; the logits are dropped. Gradients flow
    as through the forward. ``forward``: further arguments of the model's forward (``position_ids``).
    """
    kept: list[Tensor] = []
    handle = model.final_norm.register_forward_hook(lambda module, inputs, output: kept.append(output))
    try:
        model(input_ids, attention_mask, **forward)
    finally:
        handle.remove()
    return kept[-1]


def positions_from_mask(attention_mask: Tensor) -> Tensor:
    """Each token's position counted over its row's real tokens only: (batch, seq) 0/1 -> (batch, seq) long.

    ``attention_mask.cumsum(-1) - 1`` with 0 at padding, HF's rule in ``generate``: with left
    padding a row's first real token gets position 0, as it would unpadded; with right padding
    this is 0, 1, 2, ... on the real tokens, the default anyway.
    """
    mask = attention_mask.long()
    return (mask.cumsum(dim=-1) - 1).masked_fill(mask == 0, 0)


class GPT(nn.Module):
    """GPT-2: token + learned position embeddings, ``n_layer`` pre-norm blocks, a final LayerNorm,
    and an output layer tied to the token embedding (``lm_head.weight`` IS ``token_embedding.weight``).

    ``forward(input_ids, attention_mask=None, position_ids=None, cache=None)`` -> logits
    (batch, new, vocab_size) float, the next-token scores at every position, under HF's names:

    - input_ids (batch, new) integer ids in [0, vocab_size);
    - attention_mask (batch, past + new), 1 = real token, 0 = padding (int, float or bool holding
      only 0 and 1), covering the cached positions too; default all real;
    - position_ids (batch or 1, new) in [0, n_positions); default past, past + 1, ... (HF's
      default). Left-padded batches should pass ``positions_from_mask(attention_mask)``, as
      ``generation`` and the reward model do;
    - cache: ``new_cache(model)`` (a ``KVCache`` per layer), holding ``past`` positions; the new
      positions' keys and values are appended to it in place.

    Position i may attend to the real positions j <= i (the cached ones included). TypeError for
    non-integer ids; ValueError for shapes that do not fit, ids or positions out of range, a
    mask with values other than 0/1, or a cache of the wrong size. ``hidden_states(model, ...)``
    gives the final LayerNorm's output (batch, new, n_embd), which the reward model reads.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.n_positions, config.n_embd)
        self.dropout = nn.Dropout(config.embd_pdrop)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.final_norm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(partial(init_weights, std=config.initializer_range))  # as BERT's
        for layer in self.layers:  # GPT-2: residual projections scaled by 1/sqrt(number of residual sums)
            for projection in (layer.self_attn.out_proj, layer.feed_forward.linear2):
                nn.init.normal_(projection.weight, std=config.initializer_range / math.sqrt(2 * config.n_layer))
        self.lm_head.weight = self.token_embedding.weight  # weight tying

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        position_ids: Tensor | None = None,
        cache: list[KVCache] | None = None,
    ) -> Tensor:
        config = self.config
        check_tokens("input_ids", input_ids)
        batch, new = input_ids.shape
        if new == 0:
            raise ValueError("input_ids has no positions (shape (batch, 0)): pass at least one token per row.")
        if input_ids.min() < 0 or input_ids.max() >= config.vocab_size:
            raise ValueError(f"input_ids must be ids in [0, vocab_size={config.vocab_size}); got values outside.")
        past = self._cache_length(cache, batch)
        if position_ids is None:
            position_ids = torch.arange(past, past + new, device=input_ids.device)[None]
        elif not isinstance(position_ids, Tensor) or position_ids.is_floating_point() or position_ids.dim() != 2 \
                or position_ids.shape[0] not in (1, batch) or position_ids.shape[1] != new:
            got = f"{position_ids.dtype} {tuple(position_ids.shape)}" if isinstance(position_ids, Tensor) \
                else type(position_ids).__name__
            raise ValueError(f"position_ids must be integer positions, (batch or 1, new) = ({batch}, {new}); got {got}.")
        if position_ids.min() < 0 or position_ids.max() >= config.n_positions:
            raise ValueError(
                f"positions run up to {position_ids.max().item()}, but the model has n_positions="
                f"{config.n_positions} (positions 0..{config.n_positions - 1}); truncate the sequence or the cache."
            )
        # (new, past + new) causal rows of the new positions, then (batch, 1, new, past + new) with padding
        mask = causal_mask(past + new).to(input_ids.device)[past:]
        if attention_mask is not None:
            hint = " (1 = real token, 0 = padding), covering past + new positions, the cached ones too"
            real = check_attention_mask("attention_mask", attention_mask, (batch, past + new), hint).to(input_ids.device)
            mask = mask & real[:, None, None, :]
        x = self.dropout(self.token_embedding(input_ids) + self.position_embedding(position_ids))
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, None if cache is None else cache[i])
        return self.lm_head(self.final_norm(x))

    def _cache_length(self, cache: list[KVCache] | None, batch: int) -> int:
        """How many positions ``cache`` holds (0 for None), after checking it fits this model and batch."""
        if cache is None:
            return 0
        if not isinstance(cache, list) or len(cache) != len(self.layers) or not all(isinstance(c, KVCache) for c in cache):
            raise ValueError(f"cache must be new_cache(model): a list of {len(self.layers)} KVCache, one per block.")
        lengths = {cache_length([c]) for c in cache}
        batches = {c.key.shape[0] for c in cache if c.key is not None}
        if len(lengths) > 1 or batches - {batch}:
            raise ValueError(
                f"the cache holds {sorted(lengths)} positions for batches {sorted(batches)}, but input_ids has "
                f"batch {batch}: use one cache per batch, filled only through this model."
            )
        return lengths.pop()


# --- weights from HF GPT-2 ----------------------------------------------------------------------

# HF name (inside GPT2Model; "transformer." in a GPT2LMHeadModel) -> our names. {i} is the block,
# {p} "weight" or "bias". HF's attention and MLP projections are Conv1D layers, which store the
# weight as (in_features, out_features), TRANSPOSED against nn.Linear's (out, in): every
# *.weight of a c_attn, c_proj or c_fc is transposed on the way in (_CONV1D). c_attn packs the
# query, key and value projections side by side, (n_embd, 3 * n_embd): its output columns, and
# its bias, split in three equal blocks, q then k then v. Both models split heads as contiguous
# blocks of head_dim features, so nothing else is reordered.
HF_TO_COURSE: dict[str, tuple[str, ...]] = {
    "wte.weight": ("token_embedding.weight",),
    "wpe.weight": ("position_embedding.weight",),
    "h.{i}.ln_1.{p}": ("layers.{i}.norm1.{p}",),
    "h.{i}.attn.c_attn.{p}": (
        "layers.{i}.self_attn.q_proj.{p}",
        "layers.{i}.self_attn.k_proj.{p}",
        "layers.{i}.self_attn.v_proj.{p}",
    ),
    "h.{i}.attn.c_proj.{p}": ("layers.{i}.self_attn.out_proj.{p}",),
    "h.{i}.ln_2.{p}": ("layers.{i}.norm2.{p}",),
    "h.{i}.mlp.c_fc.{p}": ("layers.{i}.feed_forward.linear1.{p}",),
    "h.{i}.mlp.c_proj.{p}": ("layers.{i}.feed_forward.linear2.{p}",),
    "ln_f.{p}": ("final_norm.{p}",),
}
_CONV1D = ("c_attn.weight", "c_proj.weight", "c_fc.weight")
_TIED = "lm_head.weight"  # HF saves the tied output layer too; it must equal wte.weight
_BUFFERS = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers older HF versions saved


def _names(n_layer: int) -> list[tuple[str, tuple[str, ...]]]:
    """``HF_TO_COURSE`` spelled out for ``n_layer`` blocks: every (HF name, our names) pair."""
    rows = []
    for hf, ours in HF_TO_COURSE.items():
        layers = range(n_layer) if "{i}" in hf else [0]
        params = ("weight", "bias") if "{p}" in hf else ("",)
        rows += [(hf.format(i=i, p=p), tuple(o.format(i=i, p=p) for o in ours)) for i in layers for p in params]
    return rows


def load_hf_gpt2(model: GPT, state_dict: Mapping[str, Tensor]) -> GPT:
    """Copy an HF ``GPT2LMHeadModel`` (or ``GPT2Model``) state dict into ``model``; returns ``model``.

    Names go through ``HF_TO_COURSE`` (a leading ``transformer.`` is accepted); Conv1D weights are
    transposed and c_attn split into q, k, v. ``lm_head.weight``, when present, must equal
    ``wte.weight`` (ours are tied); old causal-mask buffers (``attn.bias``, ``attn.masked_bias``)
    are skipped. Strict: KeyError naming the keys missing, unexpected or given twice; ValueError
    for a shape mismatch (build the model with ``GPTConfig.from_hf`` of the checkpoint's config).
    """
    hf: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        name = key.removeprefix("transformer.")
        if name in hf:
            raise KeyError(f"{key!r} appears twice (with and without the 'transformer.' prefix?).")
        hf[name] = value
    tied = hf.pop(_TIED, None)
    table = dict(_names(model.config.n_layer))
    unexpected = [n for n in hf if n not in table and not n.endswith(_BUFFERS)]
    if unexpected:
        raise KeyError(f"unexpected keys in the state dict: {unexpected} (a GPT2 with more blocks or heads?).")
    missing = [n for n in table if n not in hf]
    if missing:
        raise KeyError(f"missing keys in the state dict (HF names): {missing}.")
    if tied is not None and not torch.equal(tied, hf["wte.weight"]):
        raise ValueError("lm_head.weight differs from wte.weight: ours are tied, so the checkpoint's must be too.")
    expected = model.state_dict()
    ours: dict[str, Tensor] = {}
    for name, targets in table.items():
        value = hf[name].t() if name.endswith(_CONV1D) else hf[name]
        for target, part in zip(targets, value.chunk(len(targets), dim=0)):
            if part.shape != expected[target].shape:
                raise ValueError(
                    f"{name!r} gives {target!r} shape {tuple(part.shape)}, the model expects "
                    f"{tuple(expected[target].shape)}: build the model from the checkpoint's config."
                )
            ours[target] = part
    ours[_TIED] = ours["token_embedding.weight"]
    model.load_state_dict(ours, strict=True)
    return model


def to_hf_gpt2_state_dict(model: GPT) -> dict[str, Tensor]:
    """``model``'s weights as a ``GPT2LMHeadModel`` state dict: ``HF_TO_COURSE`` read backwards.

    Names get ``transformer.``; Conv1D weights are transposed back and q, k, v concatenated into
    c_attn; ``lm_head.weight`` is the token embedding. Detached contiguous copies: what
    ``load_hf_gpt2`` reads and ``GPT2LMHeadModel.load_state_dict`` accepts.
    """
    ours = model.state_dict()
    out: dict[str, Tensor] = {}
    for name, targets in _names(model.config.n_layer):
        value = torch.cat([ours[t] for t in targets], dim=0)
        out["transformer." + name] = (value.t() if name.endswith(_CONV1D) else value).detach().clone().contiguous()
    out[_TIED] = out["transformer.wte.weight"].clone()
    return out


# --- checkpoint folders (course_lib.checkpoints' format, HF GPT-2 names) --------------------------

def save_gpt(model: GPT, tokenizer: WordPieceTokenizer, path: str | Path, record: Mapping[str, object],
             special_ids: Mapping[str, int]) -> Path:
    """Write ``model`` (a ``course_lib.gpt.GPT``) and ``tokenizer`` as the checkpoint folder ``path``; return it.

    ``config.json`` is an HF GPT-2 config (``gelu_new``, no attention dropout) with ``special_ids``
    (``bos_token_id``, ``eos_token_id``, ``pad_token_id``); ``model.safetensors`` holds HF
    ``GPT2LMHeadModel`` names; ``recipe.json`` holds ``record`` plus each file's sha256.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = asdict(model.config) | dict(special_ids) | {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "attn_pdrop": 0.0, "n_ctx": model.config.n_positions}
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tokenizer.save(path / "vocab.txt")
    save_file(to_hf_gpt2_state_dict(model), str(path / "model.safetensors"), metadata={"format": "pt"})
    checkpoints.write_digests(path, record)
    return path


def load_gpt(path: str | Path, remedy: str) -> tuple[GPT, WordPieceTokenizer]:
    """The ``course_lib.gpt.GPT`` (eval mode, CPU) and the lowercasing ``WordPieceTokenizer`` of the
    checkpoint folder ``path``, every file's sha256 checked against ``recipe.json`` first.

    FileNotFoundError naming a missing file, ValueError naming a file whose digest differs; both
    end with ``remedy``.
    """
    from safetensors.torch import load_file

    path = checkpoints.verified_folder(path, remedy)
    model = GPT(GPTConfig.from_hf(json.loads((path / "config.json").read_text())))
    load_hf_gpt2(model, load_file(str(path / "model.safetensors")))
    return model.eval(), WordPieceTokenizer.from_file(path / "vocab.txt", lowercase=True)
