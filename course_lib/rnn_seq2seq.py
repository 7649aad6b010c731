"""The baseline: a GRU encoder-decoder with attention (lesson 06_translation).

Before the Transformer, translation models were recurrent. The encoder reads the source in both
directions (Bahdanau et al. 2015), so that the state at each word knows the words on both sides
of it; the decoder is a recurrent network over the target that, at every step, looks back at all
the encoder's states through attention.

``GRUTranslator`` follows the *global attention* of Luong et al. (2015):

1. the decoder GRU runs over the target, its first state made from the mean of the encoder states;
2. each decoder state h_t scores every encoder state with the bilinear ("general") score
   h_t^T W_a h_s, and a softmax over the source positions gives the attention weights;
3. the context c_t (the weighted mean of the encoder states) and h_t are combined,
   h~_t = tanh(W_c [c_t; h_t]), and h~_t is projected to next-token logits.

Luong et al. also feed h~_{t-1} into the GRU at step t (*input feeding*). We leave it out: without
it the decoder GRU depends only on the target tokens, so under teacher forcing it runs over the
whole target in one call and the attention of all positions is one batched product, as in the
Transformer. The GRU's steps still run one after the other, which is the cost the Transformer
removes.

The model has the course Transformer's interface (``pad_id``, ``encode``, ``decode``,
``forward``), so the same loss, training loop and decoders work on both.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.arguments import check_int, check_tokens
from course_lib.attention import masked_softmax, masked_weighted_sum
from course_lib.transformer import padding_mask

__all__ = ["GRUTranslator"]


class GRUTranslator(nn.Module):
    """A bidirectional-GRU encoder and a GRU decoder with Luong global attention.

    Encoder: embedding, bidirectional GRU (``d_model`` per direction), then a linear map of the two
    directions to ``d_model``: the memory (batch, Ls, d_model). Decoder: embedding, GRU started
    from tanh(W mean of the real memory positions), attention over the memory, tanh(W_c [c; h]),
    output projection to ``tgt_vocab`` logits. Dropout acts on the embeddings and on h~.
    Padding must be on the right (as ``translation.make_batch`` makes it); the encoder packs the
    sequences, so padding changes no output at a real position.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int, pad_id: int = 0, dropout: float = 0.1) -> None:
        super().__init__()
        check_int("src_vocab", src_vocab, "the number of source tokens")
        check_int("tgt_vocab", tgt_vocab, "the number of target tokens")
        check_int("d_model", d_model, "the width of the states")
        self.d_model = d_model
        self.pad_id = pad_id
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=pad_id)
        self.encoder_rnn = nn.GRU(d_model, d_model, batch_first=True, bidirectional=True)
        self.encoder_projection = nn.Linear(2 * d_model, d_model)
        self.initial_state = nn.Linear(d_model, d_model)
        self.decoder_rnn = nn.GRU(d_model, d_model, batch_first=True)
        self.attention_score = nn.Linear(d_model, d_model, bias=False)  # W_a of the "general" score
        self.combine = nn.Linear(2 * d_model, d_model)  # W_c
        self.output_projection = nn.Linear(d_model, tgt_vocab)
        self.dropout = nn.Dropout(dropout)

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        """The memory (batch, Ls, d_model) for source ids (batch, Ls).

        ``src_mask`` is accepted for the Transformer's interface and not needed: the lengths are
        read from ``src``'s padding. Positions past a sentence's end hold no information.
        """
        real = padding_mask(src, self.pad_id)[:, 0, 0]  # (batch, Ls), also checks src
        lengths = real.sum(dim=1)
        if (lengths == 0).any():
            raise ValueError("a source row is all padding; every sentence needs at least one token (e.g. </s>).")
        positions = torch.arange(src.shape[1], device=src.device)
        if not torch.equal(real, positions < lengths[:, None]):
            raise ValueError("src must be padded on the right (real tokens first, then pad_id), as make_batch does.")
        packed = pack_padded_sequence(
            self.dropout(self.src_embed(src)), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        states, _ = self.encoder_rnn(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        return self.encoder_projection(states)

    def decode(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        """Next-token logits (batch, Lt, tgt_vocab) for decoder input ids (batch, Lt).

        ``tgt_mask`` is ignored: a GRU is causal by construction (state t has read tokens 0..t
        only), and padding at the end of a row cannot reach the real positions before it.
        ``memory_mask`` (True = real source token, e.g. ``padding_mask(src, pad_id)`` of shape
        (batch, 1, 1, Ls)) keeps attention and the initial state off the source padding.
        """
        check_tokens("tgt", tgt)
        batch, source_length = memory.shape[0], memory.shape[1]
        if memory_mask is None:
            real = torch.ones(batch, source_length, dtype=torch.bool, device=memory.device)
        elif memory_mask.dtype != torch.bool or memory_mask.numel() != batch * source_length:
            raise ValueError(
                f"memory_mask must be bool with one entry per source position, e.g. padding_mask(src, pad_id) "
                f"of shape ({batch}, 1, 1, {source_length}); got {memory_mask.dtype} {tuple(memory_mask.shape)}."
            )
        else:
            real = memory_mask.reshape(batch, source_length)
        real_states = real.unsqueeze(-1)  # (batch, Ls, 1)
        # torch.where, not a product with a 0/1 weight: 0 * inf is NaN, so padding must add nothing.
        mean = torch.where(real_states, memory, 0.0).sum(dim=1) / real_states.sum(dim=1).clamp(min=1)
        initial = torch.tanh(self.initial_state(mean)).unsqueeze(0)  # (1, batch, d_model)
        states, _ = self.decoder_rnn(self.dropout(self.tgt_embed(tgt)), initial)  # (batch, Lt, d_model)
        scores = self.attention_score(states) @ memory.transpose(1, 2)  # (batch, Lt, Ls)
        may_attend = real.unsqueeze(1)  # (batch, 1, Ls)
        context = masked_weighted_sum(masked_softmax(scores, may_attend), memory, may_attend)
        attentional = torch.tanh(self.combine(torch.cat([context, states], dim=-1)))
        return self.output_projection(self.dropout(attentional))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Logits (batch, Lt, tgt_vocab) for source ids and teacher-forced decoder input ids."""
        src_mask = padding_mask(src, self.pad_id)
        return self.decode(tgt, self.encode(src, src_mask), None, src_mask)
