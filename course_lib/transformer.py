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

Elsewhere: the parameter counts in closed form are in ``course_lib.parameters``, the paper's Table 1
(self-attention against a recurrent layer) in ``course_lib.complexity``, and the drawing of the
architecture in ``course_lib.viz.transformer``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib import multihead
from course_lib.arguments import check_tokens
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
