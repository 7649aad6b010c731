"""Parameter counts in closed form (lessons 05_transformer and 07 onwards).

How many numbers a model learns follows from its sizes alone: every projection is a
d_in x d_out weight matrix plus a bias, every LayerNorm a gain and a bias per feature, every
embedding table one row per token. ``parameter_breakdown`` and ``parameter_count`` do this for
the course ``Transformer`` (``course_lib.transformer``: the paper's base model comes to 63.1M,
reported as 65M), ``bert_parameter_breakdown`` and ``bert_parameter_count`` for a BERT encoder
(BERT-base 110M, BERT-large 340M). The head count never changes a count (the heads share the
d_model features), but it must divide the width.
"""

from __future__ import annotations

__all__ = [
    "parameter_breakdown",
    "parameter_count",
    "bert_parameter_breakdown",
    "bert_parameter_count",
]


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
