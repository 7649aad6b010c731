"""Tests of course_lib.parameters: the parameter-count formulas against the parameters counted in
our Transformer and in HF transformers' BertModel, the paper's base model, BERT-base and BERT-large."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.parameters import (
    bert_parameter_breakdown,
    bert_parameter_count,
    parameter_breakdown,
    parameter_count,
)
from course_lib.transformer import Decoder, Encoder, Transformer


def num_parameters(*modules: nn.Module) -> int:
    """Distinct parameters of the modules together (a shared weight counts once)."""
    seen = {id(p): p for module in modules for p in module.parameters()}
    return sum(p.numel() for p in seen.values())


@pytest.mark.parametrize("share", [False, True])
def test_parameter_breakdown_matches_our_modules(share):
    vocab = (37, 37) if share else (37, 29)
    model = Transformer(*vocab, d_model=24, num_heads=3, num_layers=2, d_ff=40, share_embeddings=share)
    parts = parameter_breakdown(24, 3, 40, 2, 2, *vocab, share_embeddings=share)
    assert parts["embeddings"] == num_parameters(model.src_embed, model.tgt_embed)
    assert parts["encoder"] == num_parameters(model.encoder)
    assert parts["decoder"] == num_parameters(model.decoder)
    assert parts["embeddings"] + parts["output projection"] == num_parameters(
        model.src_embed, model.tgt_embed, model.output_projection)
    assert parameter_count(24, 3, 40, 2, 2, *vocab, share_embeddings=share) == num_parameters(model)


def test_parameter_breakdown_counts_encoder_and_decoder_depth_separately():
    parts = parameter_breakdown(16, 4, 24, 1, 3, 50)
    assert parts["encoder"] == num_parameters(Encoder(16, 4, 1, 24))
    assert parts["decoder"] == num_parameters(Decoder(16, 4, 3, 24))
    assert parameter_count(16, 1, 24, 1, 3, 50) == parameter_count(16, 16, 24, 1, 3, 50)  # heads: no change


def test_paper_base_model_has_about_65_million_parameters():
    # Vaswani et al., Table 3: base = 65M, with a shared ~37000-token vocabulary (section 5.1) and one
    # weight matrix for both embeddings and the pre-softmax projection (section 3.4).
    total = parameter_count(512, 8, 2048, 6, 6, 37000, share_embeddings=True)
    assert total == 63_121_544
    assert 62e6 < total < 66e6
    parts = parameter_breakdown(512, 8, 2048, 6, 6, 37000, share_embeddings=True)
    assert parts["embeddings"] == 37000 * 512
    # without the sharing it would be far from the reported figure
    assert parameter_count(512, 8, 2048, 6, 6, 37000, 37000) > 100e6


@pytest.mark.parametrize("pooler", [True, False])
@pytest.mark.parametrize("intermediate", [None, 48])
def test_bert_formula_matches_transformers_bert_model(pooler, intermediate):
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=101, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=intermediate or 96, max_position_embeddings=40, type_vocab_size=3)
    model = BertModel(config, add_pooling_layer=pooler)
    parts = bert_parameter_breakdown(2, 24, 4, vocab=101, max_positions=40, type_vocab=3,
                                     intermediate=intermediate, pooler=pooler)
    assert parts["embeddings"] == num_parameters(model.embeddings)
    assert parts["encoder"] == num_parameters(model.encoder)
    assert parts["pooler"] == (num_parameters(model.pooler) if pooler else 0)
    assert bert_parameter_count(2, 24, 4, 101, 40, 3, intermediate, pooler) == num_parameters(model)


def test_bert_base_and_large_at_full_size():
    from transformers import BertConfig, BertModel

    base = bert_parameter_count(12, 768, 12)
    large = bert_parameter_count(24, 1024, 16)  # BERT-large has 16 heads of 64, not 24
    assert base == 109_482_240 and 108e6 <= base <= 111e6  # the paper's "110M"
    assert large == 335_141_888 and 333e6 <= large <= 336e6  # the paper's "340M"
    # the pooler is one hidden x hidden dense layer with a bias on the [CLS] state
    assert base - bert_parameter_count(12, 768, 12, pooler=False) == 768 * 768 + 768 == 590_592
    assert large - bert_parameter_count(24, 1024, 16, pooler=False) == 1024 * 1024 + 1024 == 1_049_600
    with torch.device("meta"):  # shapes only: no memory for the weights
        model = BertModel(BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12))
    assert num_parameters(model) == base


def test_formulas_refuse_heads_that_do_not_divide():
    with pytest.raises(ValueError, match="divides"):
        bert_parameter_count(24, 1024, 24)
    with pytest.raises(ValueError, match="divides"):
        parameter_count(512, 7, 2048, 6, 6, 37000)
