"""Tests of course_lib.bert: the real all-MiniLM-L6-v2 weights in our BertModel against HF
transformers' BertModel, BertForPreTraining against HF's on a small random config (logits, losses,
NSP label convention), weight tying, the loading table's strictness, parameter counts, mean pooling
against sentence-transformers, and the errors a learner meets."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import pytest
import torch
import torch.nn.functional as F

from course_lib.bert import (
    HF_TO_COURSE,
    BertConfig,
    BertForPreTraining,
    BertModel,
    load_hf_bert,
    mean_pool,
    to_hf_state_dict,
)
from course_lib.pretrained import minilm_config, minilm_file, minilm_state_dict

transformers = pytest.importorskip("transformers")

SENTENCES = [
    ("The cat sat on the mat.", "It was warm there."),
    ("Unbelievably, it rained in Reykjavik for the whole week of the festival.", "Nobody minded."),
    ("BERT reads both directions at once.", "Left-to-right models cannot."),
]
SMALL = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             max_position_embeddings=24, type_vocab_size=2)


def model_dir() -> str:
    return str(minilm_file("model.safetensors").parent)


@pytest.fixture(scope="module")
def minilm() -> BertModel:
    return BertModel.from_minilm()


@pytest.fixture(scope="module")
def hf_minilm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.BertModel.from_pretrained(model_dir(), attn_implementation="eager").eval()


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    tokenizer = transformers.BertTokenizerFast.from_pretrained(model_dir())
    a, b = zip(*SENTENCES)
    return dict(tokenizer(list(a), list(b), padding=True, return_tensors="pt"))


def small_pair(seed: int = 0):
    """HF BertForPreTraining with random weights (made non-trivial) and ours loaded from it."""
    torch.manual_seed(seed)
    hf = transformers.BertForPreTraining(
        transformers.BertConfig(**SMALL, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                attn_implementation="eager")
    ).eval()
    with torch.no_grad():  # HF starts LayerNorms at (1, 0) and biases at 0; copying those proves little
        for name, parameter in hf.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                parameter.add_(0.1 * torch.randn_like(parameter))
    ours = BertForPreTraining(BertConfig.from_hf(hf.config)).eval()
    return load_hf_bert(ours, hf.state_dict()), hf


def small_inputs(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, SMALL["vocab_size"], (3, 11), generator=g)
    attention_mask = torch.ones(3, 11, dtype=torch.long)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(3, 11, dtype=torch.long)
    token_type_ids[:, 5:] = 1
    token_type_ids[attention_mask == 0] = 0
    labels = torch.full((3, 11), -100)
    for row, col in [(0, 1), (0, 6), (0, 9), (1, 2), (1, 5), (2, 3)]:
        labels[row, col] = int(input_ids[row, col])
    return input_ids, token_type_ids, attention_mask, labels


# --- the real MiniLM weights --------------------------------------------------------------------


def test_minilm_matches_hf_bert_model(minilm, hf_minilm, batch):
    real = batch["attention_mask"].bool()
    assert not real.all(), "the batch must contain padding for this test to mean anything"
    assert (batch["token_type_ids"] == 1).any()
    with torch.no_grad():
        ours = minilm(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        theirs = hf_minilm(**batch)
    assert ours.last_hidden_state.shape == theirs.last_hidden_state.shape == (*batch["input_ids"].shape, 384)
    diff = (ours.last_hidden_state - theirs.last_hidden_state)[real].abs().max().item()
    assert diff < 1e-5, diff
    assert ours.pooler_output.shape == (len(SENTENCES), 384)
    torch.testing.assert_close(ours.pooler_output, theirs.pooler_output, rtol=0, atol=1e-5)


def test_minilm_padding_does_not_change_real_positions(minilm, batch):
    """Row 0 alone (no padding) equals row 0 inside the padded batch."""
    n = int(batch["attention_mask"][0].sum())
    with torch.no_grad():
        alone = minilm(batch["input_ids"][:1, :n], batch["token_type_ids"][:1, :n]).last_hidden_state
        padded = minilm(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]).last_hidden_state
    torch.testing.assert_close(alone[0], padded[0, :n], rtol=0, atol=1e-5)


def test_parameter_counts_equal_hf(minilm, hf_minilm):
    ours = sum(p.numel() for p in minilm.parameters())
    hf = sum(p.numel() for p in transformers.BertModel(transformers.BertConfig(**minilm_config()),
                                                        add_pooling_layer=True).parameters())
    assert ours == hf == sum(p.numel() for p in hf_minilm.parameters()) == 22_713_216
    # the safetensors also hold embeddings.position_ids, an arange(512) buffer, not a parameter
    assert sum(v.numel() for v in minilm_state_dict().values()) == ours + 512


def test_from_minilm_is_an_encoder_in_eval_mode(minilm):
    assert type(minilm) is BertModel and not minilm.training
    assert "no mlm head and no nsp head" in " ".join(BertModel.from_minilm.__doc__.lower().split())
    assert "mean pooling" in BertModel.from_minilm.__doc__
    assert len(minilm.layers) == 6 and minilm.config.hidden_size == 384


def test_no_final_layer_norm_and_exact_gelu(minilm):
    names = [name for name, _ in minilm.named_modules()]
    assert not any(name in ("norm", "encoder.norm", "final_norm") for name in names)
    layer = minilm.layers[0]
    assert layer.norm_first is False and layer.norm1.eps == 1e-12
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(layer.feed_forward.activation(x), F.gelu(x), rtol=0, atol=0)
    assert not torch.equal(layer.feed_forward.activation(x), F.gelu(x, approximate="tanh"))


def test_dropout_where_bert_has_it():
    """Embeddings, attention output and feed-forward output: 1 + 2 per layer. BERT has no dropout
    inside the feed-forward (lesson 05's FFN has one, switched off here); the attention-probability
    dropout is not supported by the course's attention."""
    model = BertModel(BertConfig(**SMALL, hidden_dropout_prob=0.1))
    active = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
    assert len(active) == 1 + 2 * SMALL["num_hidden_layers"], active
    assert not any("feed_forward" in name for name in active)


def test_mean_pool_matches_sentence_transformers(minilm, batch):
    st = pytest.importorskip("sentence_transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = st.SentenceTransformer(model_dir(), device="cpu")
    a = [first for first, _ in SENTENCES]
    tokenizer = transformers.BertTokenizerFast.from_pretrained(model_dir())
    enc = tokenizer(a, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = minilm(enc["input_ids"], enc["token_type_ids"], enc["attention_mask"]).last_hidden_state
    ours = F.normalize(mean_pool(hidden, enc["attention_mask"]), dim=-1)
    theirs = encoder.encode(a, convert_to_tensor=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    torch.testing.assert_close(mean_pool(hidden, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 3.0]]))
    assert torch.equal(mean_pool(hidden, torch.tensor([[0, 0, 0]])), torch.zeros(1, 2))


# --- BertForPreTraining against HF --------------------------------------------------------------


def test_pretraining_logits_match_hf():
    ours, hf = small_pair()
    input_ids, token_type_ids, attention_mask, labels = small_inputs()
    with torch.no_grad():
        mine = ours(input_ids, token_type_ids, attention_mask)
        theirs = hf(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
    real = attention_mask.bool()
    assert mine.loss is None and mine.mlm_logits.shape == (3, 11, SMALL["vocab_size"])
    torch.testing.assert_close(mine.mlm_logits[real], theirs.prediction_logits[real], rtol=0, atol=1e-5)
    torch.testing.assert_close(mine.nsp_logits, theirs.seq_relationship_logits, rtol=0, atol=1e-5)


def test_pretraining_losses_match_hf_and_logits_only_at_chosen():
    ours, hf = small_pair()
    input_ids, token_type_ids, attention_mask, labels = small_inputs()
    next_sentence_label = torch.tensor([0, 1, 0])  # HF: 0 = B is the real next segment
    with torch.no_grad():
        mine = ours(input_ids, token_type_ids, attention_mask, labels=labels, next_sentence_label=next_sentence_label)
        theirs = hf(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                    labels=labels, next_sentence_label=next_sentence_label)
    chosen = labels != -100
    assert mine.mlm_logits.shape == (int(chosen.sum()), SMALL["vocab_size"])
    torch.testing.assert_close(mine.mlm_logits, theirs.prediction_logits[chosen], rtol=0, atol=1e-5)
    torch.testing.assert_close(mine.loss, theirs.loss, rtol=0, atol=1e-5)
    expected_nsp = F.cross_entropy(theirs.seq_relationship_logits, next_sentence_label)
    torch.testing.assert_close(mine.nsp_loss, expected_nsp, rtol=0, atol=1e-6)
    torch.testing.assert_close(mine.mlm_loss + mine.nsp_loss, mine.loss)


def test_mlm_loss_is_a_mean_over_chosen_positions_only():
    ours, _ = small_pair()
    input_ids, token_type_ids, attention_mask, labels = small_inputs()
    with torch.no_grad():
        full = ours(input_ids, token_type_ids, attention_mask).mlm_logits
        out = ours(input_ids, token_type_ids, attention_mask, labels=labels)
    chosen = labels != -100
    by_hand = torch.stack([F.cross_entropy(full[b, s], labels[b, s]) for b, s in chosen.nonzero().tolist()]).mean()
    torch.testing.assert_close(out.mlm_loss, by_hand, rtol=0, atol=1e-6)
    over_all_positions = F.cross_entropy(full.flatten(0, 1), labels.flatten(), reduction="sum") / labels.numel()
    assert abs(out.mlm_loss.item() - over_all_positions.item()) > 0.1 * out.mlm_loss.item()
    trained_on_everything = F.cross_entropy(full.flatten(0, 1), input_ids.flatten())
    assert abs(out.mlm_loss.item() - trained_on_everything.item()) > 1e-3


def test_nsp_label_zero_is_next_and_counts():
    """Label 0 examples must contribute (the ignore_index=0 bug drops them)."""
    ours, _ = small_pair()
    input_ids, token_type_ids, attention_mask, _ = small_inputs()
    out = ours(input_ids, token_type_ids, attention_mask, next_sentence_label=torch.zeros(3, dtype=torch.long))
    assert out.mlm_loss is None and torch.isfinite(out.loss) and out.loss.item() > 0
    torch.testing.assert_close(out.loss, F.cross_entropy(out.nsp_logits, torch.zeros(3, dtype=torch.long)))
    assert "0 = B is the real next segment" in BertForPreTraining.__doc__


def test_weight_tying_survives_a_gradient_step():
    model = BertForPreTraining(BertConfig(**SMALL))
    embedding = model.bert.embeddings.word_embeddings.weight
    decoder = model.mlm_head.decoder.weight
    assert decoder is embedding and decoder.data_ptr() == embedding.data_ptr()
    assert model.mlm_head.decoder.bias.shape == (SMALL["vocab_size"],)
    n_unique = sum(p.numel() for p in model.parameters())
    assert n_unique == sum(p.numel() for p in model.bert.parameters()) + 32 * 32 + 32 + 2 * 32 + 97 + 32 * 2 + 2
    before = embedding.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    input_ids, token_type_ids, attention_mask, labels = small_inputs()
    out = model(input_ids, token_type_ids, attention_mask, labels=labels, next_sentence_label=torch.tensor([0, 1, 1]))
    out.loss.backward()
    optimizer.step()
    assert model.mlm_head.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert not torch.equal(before, model.bert.embeddings.word_embeddings.weight)
    torch.testing.assert_close(model.mlm_head.decoder.weight, model.bert.embeddings.word_embeddings.weight)


def test_init_follows_bert():
    model = BertForPreTraining(BertConfig(**SMALL, initializer_range=0.02))
    q = model.bert.layers[0].self_attn.q_proj
    assert abs(q.weight.std().item() - 0.02) < 0.005 and torch.equal(q.bias, torch.zeros_like(q.bias))
    assert torch.equal(model.bert.embeddings.word_embeddings.weight[0], torch.zeros(32))  # pad row
    assert torch.equal(model.bert.layers[0].norm1.weight, torch.ones(32))


# --- loading ------------------------------------------------------------------------------------


def test_table_covers_the_named_hf_modules():
    for name in ["embeddings.word_embeddings.weight", "encoder.layer.{i}.attention.self.query.{p}",
                 "encoder.layer.{i}.attention.output.dense.{p}", "encoder.layer.{i}.attention.output.LayerNorm.{p}",
                 "encoder.layer.{i}.intermediate.dense.{p}", "encoder.layer.{i}.output.dense.{p}",
                 "encoder.layer.{i}.output.LayerNorm.{p}", "pooler.dense.{p}", "cls.predictions.transform.dense.{p}",
                 "cls.predictions.transform.LayerNorm.{p}", "cls.predictions.bias", "cls.seq_relationship.{p}"]:
        assert name in HF_TO_COURSE


def test_loading_accepts_prefix_and_gamma_beta_and_is_strict():
    state = minilm_state_dict()
    old_names = {"LayerNorm.weight": "LayerNorm.gamma", "LayerNorm.bias": "LayerNorm.beta"}
    prefixed = {}
    for key, value in state.items():
        for new, old in old_names.items():
            key = key.replace(new, old)
        prefixed["bert." + key] = value
    config = BertConfig.from_hf(minilm_config())
    model = load_hf_bert(BertModel(config), prefixed)
    torch.testing.assert_close(model.layers[3].norm2.weight, state["encoder.layer.3.output.LayerNorm.weight"])
    value_bias = state["encoder.layer.5.attention.self.value.bias"]
    torch.testing.assert_close(model.layers[5].self_attn.v_proj.bias, value_bias)

    missing = dict(state)
    del missing["encoder.layer.2.attention.self.key.weight"]
    with pytest.raises(KeyError, match=r"encoder\.layer\.2\.attention\.self\.key\.weight"):
        load_hf_bert(BertModel(config), missing)
    extra = dict(state, **{"encoder.layer.2.attention.self.rotary.weight": torch.zeros(3)})
    with pytest.raises(KeyError, match="rotary"):
        load_hf_bert(BertModel(config), extra)
    with pytest.raises(KeyError, match="BertForPreTraining"):
        load_hf_bert(BertModel(config), dict(state, **{"cls.seq_relationship.bias": torch.zeros(2)}))
    wrong = dict(state, **{"pooler.dense.bias": torch.zeros(5)})
    with pytest.raises(ValueError, match=r"pooler\.dense\.bias"):
        load_hf_bert(BertModel(config), wrong)


def test_loading_pretraining_checks_the_tied_decoder():
    ours, hf = small_pair()
    state = dict(hf.state_dict())
    state["cls.predictions.decoder.weight"] = state["cls.predictions.decoder.weight"] + 1.0
    with pytest.raises(ValueError, match="tied"):
        load_hf_bert(BertForPreTraining(BertConfig(**SMALL)), state)
    state = {k: v for k, v in hf.state_dict().items() if not k.startswith("cls.predictions.decoder")}
    del state["cls.seq_relationship.weight"]
    with pytest.raises(KeyError, match=r"cls\.seq_relationship\.weight"):
        load_hf_bert(BertForPreTraining(BertConfig(**SMALL)), state)


# --- config and errors --------------------------------------------------------------------------


def test_config_from_hf():
    config = BertConfig.from_hf(minilm_config())
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size,
            config.layer_norm_eps, config.vocab_size) == (384, 6, 12, 1536, 1e-12, 30522)
    with pytest.raises(ValueError, match="gelu"):
        BertConfig.from_hf(dict(minilm_config(), hidden_act="gelu_new"))
    with pytest.raises(ValueError, match="absolute"):
        BertConfig.from_hf(dict(minilm_config(), position_embedding_type="relative_key"))
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(hidden_size=30, num_attention_heads=4)


def test_bad_inputs_raise_helpful_errors():
    model = BertForPreTraining(BertConfig(**SMALL)).eval()
    input_ids, token_type_ids, attention_mask, labels = small_inputs()
    with pytest.raises(TypeError, match="long"):
        model(input_ids.float())
    with pytest.raises(TypeError, match="long"):
        model(input_ids.to(torch.int16))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(input_ids[0])
    with pytest.raises(ValueError, match="attention_mask"):
        model(input_ids, attention_mask=attention_mask[:, :5])
    with pytest.raises(ValueError, match="only 1"):
        model(input_ids, attention_mask=attention_mask * 2)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(torch.ones(1, 25, dtype=torch.long))
    with pytest.raises(ValueError, match="token_type_ids"):
        model(input_ids, token_type_ids=token_type_ids + 1)
    with pytest.raises(ValueError, match="vocabulary"):
        model(input_ids + SMALL["vocab_size"])
    with pytest.raises(ValueError, match="labels"):
        model(input_ids, labels=labels[:, :3])
    with pytest.raises(ValueError, match="0 .IsNext"):
        model(input_ids, next_sentence_label=torch.tensor([0, 2, 1]))
    # a bool or float 0/1 mask is accepted and means the same as the long one
    with torch.no_grad():
        long_mask = model(input_ids, token_type_ids, attention_mask).nsp_logits
        bool_mask = model(input_ids, token_type_ids, attention_mask.bool()).nsp_logits
    torch.testing.assert_close(long_mask, bool_mask)


def test_to_hf_state_dict_is_what_load_hf_bert_reads():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL))
    hf_names = to_hf_state_dict(model)
    assert "cls.predictions.decoder.weight" not in hf_names  # tied: HF saves it under the embeddings
    assert "bert.encoder.layer.0.attention.self.query.weight" in hf_names and "cls.seq_relationship.bias" in hf_names
    copy = load_hf_bert(BertForPreTraining(BertConfig(**SMALL)), hf_names)
    for (name, ours), (_, theirs) in zip(model.state_dict().items(), copy.state_dict().items()):
        assert torch.equal(ours, theirs), name
