"""The full Transformer of Vaswani et al. (2017) (lesson 05_transformer).

An encoder-decoder built from three kinds of sublayer, each wrapped in a residual connection and a
LayerNorm ("Add & Norm" in the paper's Figure 1):

- multi-head self-attention (every position of a sequence looks at every position of the same one);
- multi-head cross-attention in the decoder (queries from the decoder, keys and values from the
  encoder output, called the *memory*);
- a position-wise feed-forward network, two linear maps with a ReLU between them, applied to every
  position separately with the same weights.

The encoder layer has two sublayers (self-attention, feed-forward), the decoder layer three (masked
self-attention, cross-attention, feed-forward). The paper puts the LayerNorm after the residual sum
(*post-norm*, ``LayerNorm(x + Sublayer(x))``); most later models put it before the sublayer
(*pre-norm*, ``x + Sublayer(LayerNorm(x))``), which trains more stably in deep stacks
(Xiong et al. 2020). Both are here (``norm_first``).

The stacks ``Encoder`` and ``Decoder`` end with one more LayerNorm, as ``torch.nn.Transformer``'s do
(it adds ``encoder.norm`` and ``decoder.norm`` whatever ``norm_first`` is). The paper's Figure 1 has
no such final norm; for pre-norm stacks it is needed (the last residual sum is otherwise never
normalised), for post-norm ones it is one extra LayerNorm on an already normalised output. We keep it
so that ``copy_from_torch`` makes our stacks compute exactly what torch's compute.

Masks follow the course convention: bool, True = "this query may attend to this key".
``torch.nn.Transformer`` uses the opposite polarity; ``course_lib.multihead.to_torch_attn_mask`` and
``to_torch_key_padding_mask`` convert.

Also here: parameter counts in closed form (the paper's base model, BERT-base and BERT-large), the
paper's Table 1 (self-attention against a recurrent layer) as numbers and as measurements, and the
course's own drawing of the architecture.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from course_lib import multihead
from course_lib.arguments import check_tokens
from course_lib.measure import wall_time
from course_lib.multihead import MultiHeadAttention
from course_lib.positional import sinusoidal_encoding

__all__ = [
    "embed",
    "PositionwiseFeedForward",
    "residual_sublayer",
    "EncoderLayer",
    "DecoderLayer",
    "causal_mask",
    "padding_mask",
    "target_mask",
    "Encoder",
    "Decoder",
    "Transformer",
    "copy_from_torch",
    "parameter_breakdown",
    "parameter_count",
    "bert_parameter_breakdown",
    "bert_parameter_count",
    "layer_complexity",
    "peak_memory",
    "LayerCost",
    "layer_costs",
    "crossover_length",
    "draw_transformer",
]


# --- the building blocks ----------------------------------------------------------------------


def embed(tokens: Tensor, embedding: nn.Embedding, positional_encoding: Tensor) -> Tensor:
    """The Transformer's input: embedding(tokens) * sqrt(d_model) + positional_encoding[:length].

    tokens (batch, length) ids, ``embedding`` an ``nn.Embedding(vocab, d_model)``, ``positional_encoding``
    a (max_len, d_model) table; returns (batch, length, d_model). No dropout (``Transformer.embed`` adds it).
    """
    x = embedding(tokens) * math.sqrt(embedding.embedding_dim)
    return x + positional_encoding[: tokens.shape[1]].to(x.dtype)


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = max(0, x W1 + b1) W2 + b2, applied to every position with the same weights.

    (batch, seq, d_model) -> (batch, seq, d_model) through a hidden layer of width ``d_ff``
    (2048 = 4 * 512 in the paper). ``dropout`` acts on the hidden layer, as in torch.
    ``activation`` replaces the ReLU: BERT uses the exact GELU (``F.gelu``), GPT-2 its tanh
    approximation (``functools.partial(F.gelu, approximate="tanh")``).
    """

    def __init__(
        self, d_model: int, d_ff: int, dropout: float = 0.0, activation: Callable[[Tensor], Tensor] = F.relu
    ) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def residual_sublayer(
    x: Tensor,
    sublayer: Callable[[Tensor], Tensor],
    norm: nn.LayerNorm,
    dropout: nn.Module,
    norm_first: bool,
) -> Tensor:
    """One "Add & Norm" around ``sublayer``.

    Post-norm (the paper): LayerNorm(x + Dropout(Sublayer(x))).
    Pre-norm: x + Dropout(Sublayer(LayerNorm(x))); the residual path from input to output then
    passes through no LayerNorm at all.
    """
    if norm_first:
        return x + dropout(sublayer(norm(x)))
    return norm(x + dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Self-attention, then feed-forward, each in a residual sublayer.

    ``forward(x, mask=None)``: x (batch, seq, d_model) -> (batch, seq, d_model). ``mask`` is bool,
    True = may attend, e.g. ``padding_mask(src, pad_id)`` (batch, 1, 1, seq).
    ``activation`` is the feed-forward's nonlinearity and ``layer_norm_eps`` the LayerNorms'
    epsilon (torch's default 1e-5; BERT uses GELU and 1e-12).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = residual_sublayer(
            x, lambda h: self.self_attn(h, h, h, mask)[0], self.norm1, self.dropout1, self.norm_first
        )
        return residual_sublayer(x, self.feed_forward, self.norm2, self.dropout2, self.norm_first)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder output, feed-forward.

    ``forward(x, memory, tgt_mask=None, memory_mask=None)``: x (batch, Lt, d_model) are the
    decoder's states, memory (batch, Ls, d_model) the encoder's output. ``tgt_mask`` (e.g.
    ``target_mask(tgt, pad_id)``, (batch, 1, Lt, Lt)) keeps each position from seeing later ones;
    ``memory_mask`` (e.g. ``padding_mask(src, pad_id)``, (batch, 1, 1, Ls)) hides source padding.
    In cross-attention the queries come from the decoder, the keys and values from the memory.
    """

    def __init__(
        self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.0, norm_first: bool = False
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        x = residual_sublayer(
            x, lambda h: self.self_attn(h, h, h, tgt_mask)[0], self.norm1, self.dropout1, self.norm_first
        )
        x = residual_sublayer(
            x,
            lambda h: self.cross_attn(h, memory, memory, memory_mask)[0],
            self.norm2,
            self.dropout2,
            self.norm_first,
        )
        return residual_sublayer(x, self.feed_forward, self.norm3, self.dropout3, self.norm_first)


# --- masks --------------------------------------------------------------------------------------


def causal_mask(length: int) -> Tensor:
    """Bool (length, length), True on and below the diagonal: position i may attend to 0..i only."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int (the target length); got {length!r}.")
    return torch.ones(length, length, dtype=torch.bool).tril()


def padding_mask(tokens: Tensor, pad_id: int) -> Tensor:
    """Bool (batch, 1, 1, length), True where ``tokens`` is a real token (not ``pad_id``).

    The two singleton dims broadcast over heads and over queries: no query may attend to a pad key.
    """
    check_tokens("tokens", tokens)
    return (tokens != pad_id)[:, None, None, :]


def target_mask(tgt: Tensor, pad_id: int) -> Tensor:
    """The decoder's self-attention mask, bool (batch, 1, Lt, Lt): causal AND not padding.

    Query i may attend to key j when j <= i and token j is real.
    """
    return padding_mask(tgt, pad_id) & causal_mask(tgt.shape[1]).to(tgt.device)


# --- the stacks and the model -------------------------------------------------------------------


class Encoder(nn.Module):
    """``num_layers`` encoder layers, then a final LayerNorm (as in ``torch.nn.Transformer``)."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class Decoder(nn.Module):
    """``num_layers`` decoder layers, then a final LayerNorm (as in ``torch.nn.Transformer``)."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask)
        return self.norm(x)


class Transformer(nn.Module):
    """The encoder-decoder Transformer; defaults are the paper's base model (its Table 3).

    Tokens are embedded, scaled by sqrt(d_model) and added to the sinusoidal positional encoding,
    then dropout; the decoder's output is projected to ``tgt_vocab`` logits (the softmax is left to
    the loss). Embeddings start from N(0, 1/d_model), so that after the scaling they have unit
    variance, like the positional encoding they are added to. With ``share_embeddings=True``
    (needs one shared vocabulary) the source embedding, the target embedding and the output
    projection use one weight matrix, as in the paper's section 3.4.

    ``forward(src, tgt)``: src (batch, Ls) and tgt (batch, Lt) token ids, where tgt is the decoder's
    input (the target shifted right, starting with a start token); returns logits
    (batch, Lt, tgt_vocab). The masks are built from ``pad_id`` and the causal mask.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        d_model: int = 512,
        num_heads: int = 8,
        num_layers: int = 6,
        d_ff: int = 2048,
        dropout: float = 0.1,
        max_len: int = 512,
        pad_id: int = 0,
        norm_first: bool = False,
        share_embeddings: bool = False,
    ) -> None:
        super().__init__()
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(
                f"share_embeddings=True needs one vocabulary for source and target; got "
                f"src_vocab={src_vocab} and tgt_vocab={tgt_vocab}."
            )
        self.d_model = d_model
        self.max_len = max_len
        self.pad_id = pad_id
        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = self.src_embed if share_embeddings else nn.Embedding(tgt_vocab, d_model)
        for embedding in dict.fromkeys((self.src_embed, self.tgt_embed)):  # each matrix once, in order
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
        self.register_buffer("positional_encoding", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = Encoder(d_model, num_heads, num_layers, d_ff, dropout, norm_first)
        self.decoder = Decoder(d_model, num_heads, num_layers, d_ff, dropout, norm_first)
        self.output_projection = nn.Linear(d_model, tgt_vocab)
        if share_embeddings:
            self.output_projection.weight = self.src_embed.weight

    def embed(self, tokens: Tensor, embedding: nn.Embedding) -> Tensor:
        """Dropout(embedding(tokens) * sqrt(d_model) + PE[:length]), (batch, length, d_model)."""
        length = tokens.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"the sequence has {length} tokens but this Transformer was built with "
                f"max_len={self.max_len}; truncate it or build the model with a larger max_len."
            )
        return self.dropout(embed(tokens, embedding, self.positional_encoding))

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        """The memory: the encoder's output (batch, Ls, d_model) for source ids (batch, Ls)."""
        check_tokens("src", src)
        return self.encoder(self.embed(src, self.src_embed), src_mask)

    def decode(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        """Next-token logits (batch, Lt, tgt_vocab) for decoder input ids (batch, Lt)."""
        check_tokens("tgt", tgt)
        states = self.decoder(self.embed(tgt, self.tgt_embed), memory, tgt_mask, memory_mask)
        return self.output_projection(states)

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        check_tokens("src", src)
        check_tokens("tgt", tgt)
        src_mask = padding_mask(src, self.pad_id)
        memory = self.encode(src, src_mask)
        return self.decode(tgt, memory, target_mask(tgt, self.pad_id), src_mask)


# --- weights from torch.nn.Transformer ----------------------------------------------------------


def _copy_parameters(ours: nn.Module, theirs: nn.Module, name: str) -> None:
    """Copy weight and bias of a Linear or LayerNorm, after checking shapes and eps agree."""
    if ours.weight.shape != theirs.weight.shape:
        raise ValueError(
            f"{name}: size mismatch, ours {tuple(ours.weight.shape)}, torch's {tuple(theirs.weight.shape)}."
        )
    if (theirs.bias is None) != (ours.bias is None):
        raise ValueError(f"{name}: torch's module was built with bias={theirs.bias is not None}; ours has biases.")
    if isinstance(ours, nn.LayerNorm) and ours.eps != theirs.eps:
        raise ValueError(f"{name}: LayerNorm eps differs, ours {ours.eps}, torch's {theirs.eps}.")
    with torch.no_grad():
        ours.weight.copy_(theirs.weight)
        ours.bias.copy_(theirs.bias)


def _copy_layer(ours: EncoderLayer | DecoderLayer, theirs: nn.Module, name: str) -> None:
    """Copy one encoder or decoder layer from torch's counterpart."""
    if theirs.norm_first != ours.norm_first:
        raise ValueError(
            f"{name}: torch's layer has norm_first={theirs.norm_first}, ours norm_first={ours.norm_first}; "
            f"build both with the same setting."
        )
    if not (theirs.activation is F.relu or isinstance(theirs.activation, nn.ReLU)):
        raise ValueError(f"{name}: torch's layer uses activation {theirs.activation}; ours uses ReLU.")
    multihead.copy_from_torch(ours.self_attn, theirs.self_attn)
    if isinstance(ours, DecoderLayer):
        multihead.copy_from_torch(ours.cross_attn, theirs.multihead_attn)
    _copy_parameters(ours.feed_forward.linear1, theirs.linear1, f"{name}.linear1")
    _copy_parameters(ours.feed_forward.linear2, theirs.linear2, f"{name}.linear2")
    norms = ("norm1", "norm2", "norm3") if isinstance(ours, DecoderLayer) else ("norm1", "norm2")
    for norm in norms:
        _copy_parameters(getattr(ours, norm), getattr(theirs, norm), f"{name}.{norm}")


def _copy_stack(ours: Encoder | Decoder, theirs: nn.Module, name: str) -> None:
    """Copy a stack of layers and its final LayerNorm."""
    if len(ours.layers) != len(theirs.layers):
        raise ValueError(f"{name}: ours has {len(ours.layers)} layers, torch's {len(theirs.layers)}.")
    if theirs.norm is None:
        raise ValueError(f"{name}: torch's stack has no final LayerNorm (norm=None); ours has one.")
    for i, (our_layer, their_layer) in enumerate(zip(ours.layers, theirs.layers)):
        _copy_layer(our_layer, their_layer, f"{name}.layers[{i}]")
    _copy_parameters(ours.norm, theirs.norm, f"{name}.norm")


_TORCH_COUNTERPARTS: dict[type, type] = {
    Transformer: nn.Transformer,
    Encoder: nn.TransformerEncoder,
    Decoder: nn.TransformerDecoder,
    EncoderLayer: nn.TransformerEncoderLayer,
    DecoderLayer: nn.TransformerDecoderLayer,
}


def copy_from_torch(ours: nn.Module, theirs: nn.Module) -> nn.Module:
    """Copy torch's weights into ours and return ``ours``.

    Pairs: Transformer <- nn.Transformer (encoder and decoder stacks; torch has no embeddings, so
    ours keep theirs), Encoder <- nn.TransformerEncoder, Decoder <- nn.TransformerDecoder,
    EncoderLayer <- nn.TransformerEncoderLayer, DecoderLayer <- nn.TransformerDecoderLayer.
    torch's ``multihead_attn`` is our ``cross_attn``; its ``linear1``/``linear2`` are our
    ``feed_forward.linear1``/``linear2``. Sizes, ``norm_first`` and the ReLU activation must agree.
    """
    counterpart = _TORCH_COUNTERPARTS.get(type(ours))
    if counterpart is None:
        raise TypeError(f"ours must be one of {[t.__name__ for t in _TORCH_COUNTERPARTS]}; got {type(ours).__name__}.")
    if not isinstance(theirs, counterpart):
        raise TypeError(f"a {type(ours).__name__} copies from a {counterpart.__name__}; got {type(theirs).__name__}.")
    if isinstance(ours, Transformer):
        _copy_stack(ours.encoder, theirs.encoder, "encoder")
        _copy_stack(ours.decoder, theirs.decoder, "decoder")
    elif isinstance(ours, (Encoder, Decoder)):
        _copy_stack(ours, theirs, type(ours).__name__.lower())
    else:
        _copy_layer(ours, theirs, type(ours).__name__)
    return ours


# --- parameter counts ---------------------------------------------------------------------------


def _attention_parameters(d_model: int) -> int:
    """Four d_model x d_model projections (query, key, value, output) with biases."""
    return 4 * (d_model * d_model + d_model)


def _feed_forward_parameters(d_model: int, d_ff: int) -> int:
    """W1 (d_model x d_ff) + b1 + W2 (d_ff x d_model) + b2."""
    return 2 * d_model * d_ff + d_ff + d_model


def _layer_norm_parameters(d_model: int) -> int:
    """A gain and a bias per feature."""
    return 2 * d_model


def _check_heads(d_model: int, num_heads: int) -> None:
    """The head count does not change any count, but it must divide d_model."""
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1 or d_model % num_heads:
        raise ValueError(f"num_heads must be a positive int that divides d_model={d_model}; got {num_heads!r}.")


def parameter_breakdown(
    d_model: int,
    num_heads: int,
    d_ff: int,
    num_encoder_layers: int,
    num_decoder_layers: int,
    src_vocab: int,
    tgt_vocab: int | None = None,
    share_embeddings: bool = False,
) -> dict[str, int]:
    """Parameters of a ``Transformer`` by part: embeddings, encoder, decoder, output projection.

    An encoder layer holds one attention (4 d^2 + 4 d), one FFN (2 d d_ff + d_ff + d) and two
    LayerNorms (2 d each); a decoder layer one more attention and one more LayerNorm; each stack
    ends in one LayerNorm. ``num_heads`` changes nothing: the heads share the d_model features.
    The output projection's bias (tgt_vocab) is its own even when the weight is shared.
    ``tgt_vocab`` defaults to ``src_vocab``.
    """
    _check_heads(d_model, num_heads)
    tgt_vocab = src_vocab if tgt_vocab is None else tgt_vocab
    if share_embeddings and tgt_vocab != src_vocab:
        raise ValueError(f"share_embeddings needs src_vocab == tgt_vocab; got {src_vocab} and {tgt_vocab}.")
    norm = _layer_norm_parameters(d_model)
    ffn = _feed_forward_parameters(d_model, d_ff)
    attention = _attention_parameters(d_model)
    embeddings = src_vocab * d_model + (0 if share_embeddings else tgt_vocab * d_model)
    return {
        "embeddings": embeddings,
        "encoder": num_encoder_layers * (attention + ffn + 2 * norm) + norm,
        "decoder": num_decoder_layers * (2 * attention + ffn + 3 * norm) + norm,
        "output projection": (0 if share_embeddings else d_model * tgt_vocab) + tgt_vocab,
    }


def parameter_count(
    d_model: int,
    num_heads: int,
    d_ff: int,
    num_encoder_layers: int,
    num_decoder_layers: int,
    src_vocab: int,
    tgt_vocab: int | None = None,
    share_embeddings: bool = False,
) -> int:
    """Total parameters of a ``Transformer``; the sum of ``parameter_breakdown``.

    The paper's base model, ``parameter_count(512, 8, 2048, 6, 6, 37000, share_embeddings=True)``,
    comes to 63,121,544 (63.1M); the paper's Table 3 reports 65M for it.
    """
    return sum(
        parameter_breakdown(
            d_model, num_heads, d_ff, num_encoder_layers, num_decoder_layers, src_vocab, tgt_vocab, share_embeddings
        ).values()
    )


def bert_parameter_breakdown(
    layers: int,
    hidden: int,
    heads: int,
    vocab: int = 30522,
    max_positions: int = 512,
    type_vocab: int = 2,
    intermediate: int | None = None,
    pooler: bool = True,
) -> dict[str, int]:
    """Parameters of a BERT encoder (HF ``BertModel``) by part: embeddings, encoder, pooler.

    Embeddings: token (vocab), position (max_positions) and segment (type_vocab) tables of width
    ``hidden``, plus a LayerNorm. Each layer: self-attention, a feed-forward network of width
    ``intermediate`` (default 4 * hidden) and two LayerNorms; BERT has no final LayerNorm after
    the stack (its layers are post-norm). The pooler is one hidden x hidden linear layer with a bias
    (a tanh on top) applied to the [CLS] state, for sentence-level tasks: hidden^2 + hidden.
    """
    _check_heads(hidden, heads)
    intermediate = 4 * hidden if intermediate is None else intermediate
    norm = _layer_norm_parameters(hidden)
    layer = _attention_parameters(hidden) + _feed_forward_parameters(hidden, intermediate) + 2 * norm
    return {
        "embeddings": (vocab + max_positions + type_vocab) * hidden + norm,
        "encoder": layers * layer,
        "pooler": hidden * hidden + hidden if pooler else 0,
    }


def bert_parameter_count(
    layers: int,
    hidden: int,
    heads: int,
    vocab: int = 30522,
    max_positions: int = 512,
    type_vocab: int = 2,
    intermediate: int | None = None,
    pooler: bool = True,
) -> int:
    """Total parameters of a BERT encoder; the sum of ``bert_parameter_breakdown``.

    BERT-base (12, 768, 12): 109,482,240 ("110M"); BERT-large (24, 1024, 16): 335,141,888 ("340M").
    """
    return sum(
        bert_parameter_breakdown(layers, hidden, heads, vocab, max_positions, type_vocab, intermediate, pooler).values()
    )


# --- Table 1: self-attention against recurrence ---------------------------------------------------


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


# --- the architecture, drawn --------------------------------------------------------------------


def draw_transformer(ax=None):
    """Draw the encoder-decoder Transformer (the paper's Figure 1, post-norm) and return the Axes.

    Boxes are coloured by kind: attention (orange), feed-forward (blue), Add & Norm (yellow),
    embeddings (pink), output layers (green). Thin arrows that bypass a sublayer are the residual
    connections. The dashed boxes are the final LayerNorms that ``torch.nn.Transformer`` and this
    module add on top of each stack; the paper's figure does not have them.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8.6, 10.6))
    colours = {
        "attention": "#fbd5a8",
        "ffn": "#bfe0f5",
        "norm": "#f6f0a2",
        "embed": "#f6c9d6",
        "output": "#cdebc4",
        "plain": "white",
    }
    width, height = 3.0, 0.62

    def box(x: float, y: float, text: str, kind: str, dashed: bool = False, h: float = height) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x - width / 2, y - h / 2), width, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=colours[kind], edgecolor="black", linewidth=1.0, linestyle="--" if dashed else "-",
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=9.5)

    def arrow(start: tuple[float, float], end: tuple[float, float], color: str = "black") -> None:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, linewidth=1.1,
                                     color=color, shrinkA=0, shrinkB=0))

    def up(x: float, y_from: float, y_to: float) -> None:
        """Arrow between stacked boxes at x, from the top of the lower to the bottom of the upper."""
        arrow((x, y_from + height / 2), (x, y_to - height / 2))

    def residual(x_branch: float, y_from: float, y_to: float, x_out: float, x_in: float) -> None:
        """A residual connection: from the stream below a sublayer, around it, into Add & Norm."""
        ax.plot([x_branch, x_out, x_out], [y_from, y_from, y_to], color="black", linewidth=1.0)
        arrow((x_out, y_to), (x_in, y_to))

    def sublayer(x: float, y: float, text: str, kind: str, side: float, x_branch: float | None = None) -> float:
        """A sublayer at height y and its Add & Norm above; returns the Add & Norm's height."""
        box(x, y, text, kind)
        norm_y = y + 0.95
        box(x, norm_y, "Add & Norm", "norm")
        up(x, y, norm_y)
        residual(x if x_branch is None else x_branch, y - height / 2 - 0.2, norm_y,
                 x + side * (width / 2 + 0.28), x + side * width / 2)
        return norm_y

    enc_x, dec_x = 2.2, 7.4
    # inputs, embeddings and positional encodings
    for x, inputs, embedding in (
        (enc_x, "inputs (source tokens)", "input embedding × √d_model"),
        (dec_x, "outputs, shifted right\n(<bos> + target tokens)", "output embedding × √d_model"),
    ):
        ax.text(x, 0.0, inputs, ha="center", va="center", fontsize=9.5)
        box(x, 1.0, embedding, "embed")
        arrow((x, 0.3), (x, 1.0 - height / 2))
        ax.add_patch(plt.Circle((x, 2.0), 0.2, facecolor="white", edgecolor="black"))
        ax.text(x, 2.0, "+", ha="center", va="center", fontsize=13)
        up(x, 1.0, 2.0 - 0.2 + height / 2)
        ax.text(x - 1.85, 2.0, "positional\nencoding", ha="center", va="center", fontsize=8.5)
        ax.add_patch(plt.Circle((x - 1.0, 2.0), 0.17, facecolor="white", edgecolor="black"))
        ax.plot(*zip(*[(x - 1.1 + 0.2 * t / 20, 2.0 + 0.09 * math.sin(2 * math.pi * t / 20)) for t in range(21)]),
                color="black", linewidth=0.9)
        arrow((x - 0.83, 2.0), (x - 0.2, 2.0))

    # encoder layer: self-attention and feed-forward
    enc_base = 3.3
    arrow((enc_x, 2.2), (enc_x, enc_base - height / 2))
    enc_norm1 = sublayer(enc_x, enc_base, "multi-head\nself-attention", "attention", side=-1)
    enc_ffn = enc_norm1 + 1.05
    up(enc_x, enc_norm1, enc_ffn)
    enc_top = sublayer(enc_x, enc_ffn, "feed forward", "ffn", side=-1)
    enc_final = enc_top + 1.05
    up(enc_x, enc_top, enc_final)
    box(enc_x, enc_final, "final LayerNorm*", "norm", dashed=True)
    # three arrows into self-attention: Q, K, V from the same input
    for dx in (-0.8, 0.0, 0.8):
        arrow((enc_x, enc_base - height / 2 - 0.28), (enc_x + dx, enc_base - height / 2))
    ax.plot([enc_x, enc_x], [2.2, enc_base - height / 2 - 0.28], color="black", linewidth=1.1)

    # decoder layer: masked self-attention, cross-attention, feed-forward
    dec_base = 3.3
    arrow((dec_x, 2.2), (dec_x, dec_base - height / 2))
    dec_norm1 = sublayer(dec_x, dec_base, "masked multi-head\nself-attention", "attention", side=1)
    for dx in (-0.8, 0.0, 0.8):
        arrow((dec_x, dec_base - height / 2 - 0.28), (dec_x + dx, dec_base - height / 2))
    dec_cross = dec_norm1 + 1.05
    dec_norm2 = sublayer(dec_x, dec_cross, "multi-head\ncross-attention", "attention", side=1,
                         x_branch=dec_x + 0.8)
    arrow((dec_x + 0.8, dec_norm1 + height / 2), (dec_x + 0.8, dec_cross - height / 2))
    ax.text(dec_x + 0.88, (dec_norm1 + dec_cross) / 2, "Q", fontsize=8, va="center")
    dec_ffn = dec_norm2 + 1.05
    up(dec_x, dec_norm2, dec_ffn)
    dec_top = sublayer(dec_x, dec_ffn, "feed forward", "ffn", side=1)
    dec_final = dec_top + 1.05
    up(dec_x, dec_top, dec_final)
    box(dec_x, dec_final, "final LayerNorm*", "norm", dashed=True)

    # the memory: encoder output into the decoder's cross-attention as keys and values
    route_y = enc_final + height / 2 + 0.35
    mid_x = (enc_x + dec_x) / 2
    ax.plot([enc_x, enc_x, mid_x, mid_x], [enc_final + height / 2, route_y, route_y, dec_cross - height / 2 - 0.3],
            color="tab:red", linewidth=1.4)
    for dx in (-0.8, 0.0):
        ax.plot([mid_x, dec_x + dx], [dec_cross - height / 2 - 0.3] * 2, color="tab:red", linewidth=1.4)
        arrow((dec_x + dx, dec_cross - height / 2 - 0.3), (dec_x + dx, dec_cross - height / 2), color="tab:red")
    ax.text((enc_x + mid_x) / 2 + 0.3, route_y + 0.18, "memory (encoder output)", color="tab:red", fontsize=8.5, ha="center")
    ax.text(dec_x - 0.9, dec_cross - height / 2 - 0.14, "K", fontsize=8, color="tab:red", va="center", ha="right")
    ax.text(dec_x - 0.1, dec_cross - height / 2 - 0.14, "V", fontsize=8, color="tab:red", va="center", ha="right")
    ax.text(dec_x - 1.0, dec_base - height / 2 - 0.14, "causal mask: position i sees 0..i", fontsize=7.5,
            ha="right", va="center", style="italic")

    # the N x frames around one layer of each stack
    for x, bottom, top, side in ((enc_x, enc_base, enc_top, -1), (dec_x, dec_base, dec_top, 1)):
        left = x - width / 2 - 0.5
        ax.add_patch(FancyBboxPatch((left, bottom - height / 2 - 0.45), width + 1.0, top - bottom + height + 0.62,
                                    boxstyle="round,pad=0.02,rounding_size=0.2", facecolor="#f2f2f2",
                                    edgecolor="grey", linewidth=1.2, zorder=-1))
        label_x = left - 0.12 if side < 0 else left + width + 1.12
        ax.text(label_x, (bottom + top) / 2, "N ×", fontsize=12, ha="right" if side < 0 else "left",
                va="center", weight="bold")
    ax.text(enc_x, enc_base - height / 2 - 0.62, "encoder layer", fontsize=8.5, ha="center", color="dimgrey")
    ax.text(dec_x + 1.55, dec_base - height / 2 - 0.62, "decoder layer", fontsize=8.5, ha="right", color="dimgrey")

    # output layers
    linear_y = dec_final + 1.0
    softmax_y = linear_y + 0.9
    up(dec_x, dec_final, linear_y)
    box(dec_x, linear_y, "linear (d_model → vocab)", "output")
    up(dec_x, linear_y, softmax_y)
    box(dec_x, softmax_y, "softmax", "output")
    arrow((dec_x, softmax_y + height / 2), (dec_x, softmax_y + 0.75))
    ax.text(dec_x, softmax_y + 0.95, "next-token probabilities", ha="center", va="center", fontsize=9.5)
    ax.text(enc_x, softmax_y + 0.55, "* not in the paper's figure:\ntorch.nn.Transformer and course_lib\n"
            "add a LayerNorm on top of each stack", fontsize=7.5, ha="center", va="center", color="dimgrey")

    ax.set_xlim(-0.4, 10.2)
    ax.set_ylim(-0.5, softmax_y + 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("The Transformer (Vaswani et al. 2017), post-norm as in the paper", fontsize=11)
    return ax
