"""The device rule of course_lib.training's docstring, held by every decoding and translation entry
point: tensors a function makes for a model, and the inputs it passes on, are on the device of the
model's parameters (``training.model_device``).

There is no GPU here, so the models live on the ``meta`` device: a forward pass there computes
shapes only, and any tensor made on the CPU for such a model shows up as a CPU tensor (or a device
mismatch). Where a function reads values (beam search's scores, ``translate``'s ids, the loss's
padding check), a recording model notes the devices it is given and stops the run. Attention's
guard against inf and NaN values reads them too, so on meta tensors it is replaced by its plain
product (``shape_only_attention``).
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib import attention, training
from course_lib.data import Vocabulary
from course_lib.decoding import beam_search, greedy_decode
from course_lib.kv_cache import IncrementalDecoder, cached_greedy_decode, generation_seconds
from course_lib.transformer import Transformer, padding_mask
from course_lib.translation import cross_attention_weights, make_batch, translate, translation_loss

META = torch.device("meta")
PAIRS = [{"en": "the cat sleeps .", "fr": "le chat dort ."}, {"en": "I eat .", "fr": "je mange ."}]
EN = Vocabulary.build(p["en"] for p in PAIRS)
FR = Vocabulary.build(p["fr"] for p in PAIRS)


@pytest.fixture(autouse=True)
def shape_only_attention(monkeypatch):
    """masked_weighted_sum checks its values for inf and NaN, which meta tensors do not have: there
    the plain product, of the same shape, stands in for it."""
    checked = attention.masked_weighted_sum

    def shape_only(weights, value, mask=None):
        return weights @ value if value.is_meta else checked(weights, value, mask)

    monkeypatch.setattr(attention, "masked_weighted_sum", shape_only)


def meta_transformer(training_mode: bool = False) -> Transformer:
    """A small Transformer on the meta device (dropout 0.1), in train or eval mode."""
    model = Transformer(len(EN), len(FR), d_model=16, num_heads=4, num_layers=2, d_ff=32, dropout=0.1, max_len=12)
    return model.to(META).train(training_mode)


def cpu_sources() -> torch.Tensor:
    """Source ids (2, Ls) on the CPU, as make_batch makes them."""
    return make_batch(PAIRS, EN, FR)[0]


class Stop(Exception):
    """Raised by Recorder once it has seen what it records."""


class Recorder(nn.Module):
    """A model with one parameter on the meta device that records the devices of what it is given.

    ``encode`` returns a meta memory; ``decode`` and ``forward`` record and raise ``Stop``.
    """

    pad_id = 0

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device=META))
        self.devices: dict[str, torch.device] = {}

    def encode(self, src, src_mask=None):
        self.devices.update(src=src.device, src_mask=src_mask.device)
        return torch.zeros(*src.shape, 1, device=src.device)

    def decode(self, tgt, memory, tgt_mask=None, memory_mask=None):
        self.devices.update(tgt=tgt.device, memory=memory.device, tgt_mask=tgt_mask.device)
        raise Stop()

    def forward(self, src, tgt):
        self.devices.update(src=src.device, tgt=tgt.device)
        raise Stop()


# --- the helpers ----------------------------------------------------------------------------------


def test_model_device_is_that_of_the_first_parameter_or_buffer_else_the_cpu():
    assert training.model_device(nn.Linear(2, 2)) == torch.device("cpu")
    assert training.model_device(nn.Linear(2, 2).to(META)) == META
    with_buffer = nn.Module()
    with_buffer.register_buffer("table", torch.zeros(3, device=META))
    assert training.model_device(with_buffer) == META
    assert training.model_device(nn.ReLU()) == torch.device("cpu")
    assert training.model_device(object()) == torch.device("cpu")


def test_device_is_the_gpu_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training.device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training.device() == torch.device("cpu")


# --- decoding and the key/value cache run on the model's device ----------------------------------------


@pytest.mark.parametrize("decode", [greedy_decode, cached_greedy_decode])
def test_greedy_decoding_runs_on_the_models_device(decode):
    model = meta_transformer(training_mode=True)
    out = decode(model, cpu_sources(), 5, stop_at_eos=False)
    assert out.device == META and out.shape == (2, 5) and out.dtype == torch.long
    assert model.training


def test_beam_search_makes_its_hypotheses_on_the_models_device():
    model = Recorder()
    with pytest.raises(Stop):
        beam_search(model, cpu_sources()[:1], max_len=5)
    assert model.devices == dict(src=META, src_mask=META, tgt=META, memory=META, tgt_mask=META)


def test_incremental_decoder_moves_memory_mask_and_tokens_to_the_models_device():
    model = meta_transformer()
    src = cpu_sources()
    decoder = IncrementalDecoder(model, torch.zeros(2, src.shape[1], 16), padding_mask(src, 0))
    logits = decoder.step(torch.tensor([FR.bos_id, FR.bos_id]))
    assert logits.device == META and logits.shape == (2, len(FR))
    assert decoder.memory_caches[0].key.device == META


@pytest.mark.parametrize("cached", [False, True])
def test_generation_seconds_decodes_on_the_models_device(cached):
    assert generation_seconds(meta_transformer(), cpu_sources(), 3, cached=cached, repeats=1) > 0


# --- translation -----------------------------------------------------------------------------------------


def test_make_batch_makes_long_ids_on_the_cpu():
    assert all(ids.device.type == "cpu" and ids.dtype == torch.long for ids in make_batch(PAIRS, EN, FR))


def test_translate_makes_the_source_on_the_models_device():
    model = nn.Linear(1, 1).to(META)
    model.pad_id = 0
    seen = []

    def decode(model, src):
        seen.append(src.device)
        return torch.full((src.shape[0], 1), FR.eos_id)

    assert translate(model, ["the cat sleeps .", "I eat ."], EN, FR, decode) == ["", ""]
    assert seen == [META]


def test_translation_loss_moves_the_batch_to_the_models_device():
    model = Recorder()
    with pytest.raises(Stop):
        translation_loss(model, make_batch(PAIRS, EN, FR))
    assert model.devices == dict(src=META, tgt=META)


def test_cross_attention_weights_on_the_models_device():
    model = meta_transformer(training_mode=True)
    src, tgt_in, _ = make_batch(PAIRS, EN, FR)
    weights = cross_attention_weights(model, src, tgt_in)
    assert weights.device == META and weights.shape == (2, 2, 4, tgt_in.shape[1], src.shape[1])
    assert model.training
