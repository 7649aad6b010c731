"""BERT, built from lesson 05's encoder layers (lesson 07_bert_pretraining).

Read top to bottom: the config, the embeddings, the encoder model with its pooler, the two
pretraining heads, then loading HF checkpoints (one table from their names to ours) and the real
all-MiniLM-L6-v2 weights.

BERT is the Transformer's encoder alone (post-norm layers, exact-erf GELU in the feed-forward,
LayerNorm eps 1e-12) under an input of three summed embeddings: token, learned position and
segment (``token_type``). Pretraining adds a masked-language-model head (the decoder shares its
weight matrix with the token embedding) and a next-sentence head on the pooled [CLS] state.
The data side (inputs, masking, sentence pairs, losses) is in ``course_lib.pretraining``.

Differences from the original, on purpose:
- no dropout on attention probabilities (``attention_probs_dropout_prob``): lesson 03's
  ``MultiHeadAttention`` has none, so the config has no such field and ``from_hf`` ignores it;
- with ``labels``, the MLM head runs only at the chosen positions (``labels != -100``), so
  ``mlm_logits`` is (num_chosen, vocab), HF's (batch, seq, vocab) rows at those positions.
Neither changes a value HF computes in eval mode (the tests match HF to 1e-5); in training BERT's
attention dropout is missing.

References: Devlin et al. (2019), "BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding"; google-research/bert ``modeling.py``; HF transformers ``modeling_bert.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.arguments import check_tokens
from course_lib.pretraining import mlm_loss, nsp_loss
from course_lib.transformer import EncoderLayer

__all__ = [
    "BertConfig",
    "BertEmbeddings",
    "init_weights",
    "BertModelOutput",
    "BertModel",
    "MaskedLMHead",
    "BertPreTrainingOutput",
    "BertForPreTraining",
    "HF_TO_COURSE",
    "load_hf_bert",
    "to_hf_state_dict",
    "mean_pool",
]


# --- config -------------------------------------------------------------------------------------


@dataclass
class BertConfig:
    """BERT's sizes, under HF's names. Defaults are BERT-base (Devlin et al. 2019, section 3).

    Attention-probability dropout (HF's ``attention_probs_dropout_prob``) is not a field: the
    course's attention has no dropout on its weights (see the module docstring).
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    hidden_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        for f in fields(self):
            value, low = getattr(self, f.name), 0 if f.name == "pad_token_id" else 1
            if f.type == "int" and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise ValueError(f"BertConfig.{f.name} must be an int >= {low}; got {value!r}.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be divisible by num_attention_heads="
                f"{self.num_attention_heads} (each head gets hidden_size // num_attention_heads features)."
            )
        if not 0.0 <= self.hidden_dropout_prob < 1.0:
            raise ValueError(f"hidden_dropout_prob must be in [0, 1); got {self.hidden_dropout_prob!r}.")

    @classmethod
    def from_hf(cls, config: Mapping | object) -> BertConfig:
        """From an HF ``config.json`` dict (or a ``transformers.BertConfig``); extra keys are ignored.

        Raises ValueError for what this BERT cannot compute: an activation other than the exact
        GELU (``hidden_act="gelu"``) or position embeddings other than ``"absolute"``.
        """
        hf = dict(config.to_dict() if hasattr(config, "to_dict") else config)
        if hf.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"hidden_act={hf['hidden_act']!r}: this BERT uses the exact GELU ('gelu') only.")
        if hf.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(
                f"position_embedding_type={hf['position_embedding_type']!r}: this BERT has learned "
                f"absolute positions only."
            )
        return cls(**{f.name: hf[f.name] for f in fields(cls) if hf.get(f.name) is not None})


# --- embeddings ---------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    """Token + learned position + segment embeddings, summed, then LayerNorm and dropout.

    ``forward(input_ids, token_type_ids)``: both (batch, seq) long -> (batch, seq, hidden_size).
    Unlike lesson 05's ``embed`` there is no sqrt(d_model) scaling and no sinusoid: all three tables
    are learned, and the LayerNorm puts their sum on one scale.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, hidden, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, hidden)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, hidden)
        self.norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.norm(x + self.position_embeddings(positions)))


# --- the encoder --------------------------------------------------------------------------------


@dataclass
class BertModelOutput:
    """``last_hidden_state`` (batch, seq, hidden); ``pooler_output`` (batch, hidden) = tanh(W h_[CLS] + b)."""

    last_hidden_state: Tensor
    pooler_output: Tensor


def init_weights(module: nn.Module, std: float) -> None:
    """BERT's initialisation of one module (GPT-2's too): N(0, std) weights (std = 0.02), zero
    biases, LayerNorm (1, 0), the padding row of an embedding 0. Use ``model.apply``."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            nn.init.zeros_(module.weight[module.padding_idx])
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def _check_ids(name: str, ids: Tensor, shape: tuple[int, ...], high: int, meaning: str) -> None:
    """(batch, seq) integer ids of the given shape, each in [0, high)."""
    check_tokens(name, ids)
    if ids.dtype not in (torch.long, torch.int):
        raise TypeError(f"{name} must be torch.long (or torch.int); got {ids.dtype}. Convert with {name}.long().")
    if tuple(ids.shape) != shape:
        raise ValueError(f"{name} must have the shape of input_ids {shape}; got {tuple(ids.shape)}.")
    if ids.numel() and (ids.min() < 0 or ids.max() >= high):
        bad = ids[(ids < 0) | (ids >= high)][0].item()
        raise ValueError(f"{name} holds {bad}, outside [0, {high}) ({meaning}).")


class BertModel(nn.Module):
    """The BERT encoder: embeddings, ``num_hidden_layers`` post-norm encoder layers, a pooler.

    The layers are lesson 05's ``EncoderLayer(hidden, heads, intermediate, dropout,
    norm_first=False, activation=F.gelu, layer_norm_eps)``. The stack ends with the last layer's
    own LayerNorm: unlike ``torch.nn.TransformerEncoder`` (and lesson 05's ``Encoder``) BERT adds
    no final LayerNorm. BERT drops out the attention and feed-forward outputs, not the
    feed-forward's hidden layer, so that dropout of lesson 05's FFN is switched off here.

    ``forward(input_ids, token_type_ids=None, attention_mask=None)``, HF's names and shapes:
    input_ids (batch, seq) integer ids; token_type_ids (batch, seq) segment ids, 0 for the first
    segment (default all 0); attention_mask (batch, seq), 1 = real token, 0 = padding (default all
    1), int, float or bool holding only 0 and 1. Returns ``BertModelOutput``. TypeError for
    non-integer ids, ValueError for wrong shapes, ids out of range, mask values other than 0/1 or
    sequences longer than ``max_position_embeddings``.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.layers = nn.ModuleList(
            EncoderLayer(
                config.hidden_size,
                config.num_attention_heads,
                config.intermediate_size,
                config.hidden_dropout_prob,
                norm_first=False,
                activation=F.gelu,  # exact erf GELU, as BERT's "gelu"; not the tanh approximation
                layer_norm_eps=config.layer_norm_eps,
            )
            for _ in range(config.num_hidden_layers)
        )
        for layer in self.layers:
            layer.feed_forward.dropout = nn.Identity()
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self.apply(lambda module: init_weights(module, config.initializer_range))

    @classmethod
    def from_minilm(cls) -> BertModel:
        """all-MiniLM-L6-v2's encoder (6 layers, hidden 384, 12 heads), in eval mode.

        The config comes from the checkpoint's ``config.json`` and the weights from its
        ``model.safetensors`` (sha256 checked by ``course_lib.pretrained``). The checkpoint has NO
        MLM head and NO NSP head: after MiniLM's pretraining it was further trained for sentence
        embeddings with mean pooling (``mean_pool``), so it cannot fill in a [MASK] as it is, and
        its ``pooler`` was never trained for that use (sentence-transformers ignores it).
        """
        from course_lib.pretrained import minilm_config, minilm_state_dict

        model = cls(BertConfig.from_hf(minilm_config()))
        return load_hf_bert(model, minilm_state_dict()).eval()

    def forward(
        self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None
    ) -> BertModelOutput:
        config = self.config
        check_tokens("input_ids", input_ids)
        shape = tuple(input_ids.shape)
        if shape[1] > config.max_position_embeddings:
            raise ValueError(
                f"input_ids has {shape[1]} positions but the model has max_position_embeddings="
                f"{config.max_position_embeddings}; truncate the inputs (bert_inputs(max_length=...))."
            )
        _check_ids("input_ids", input_ids, shape, config.vocab_size, "the vocabulary")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        _check_ids("token_type_ids", token_type_ids, shape, config.type_vocab_size, "segment ids")
        mask = None
        if attention_mask is not None:
            if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != shape:
                got = tuple(attention_mask.shape) if isinstance(attention_mask, Tensor) else type(attention_mask)
                raise ValueError(f"attention_mask must be a tensor shaped like input_ids {shape}; got {got}.")
            if not ((attention_mask == 0) | (attention_mask == 1)).all():
                raise ValueError("attention_mask must hold only 1 (real token) and 0 (padding).")
            mask = attention_mask.bool()[:, None, None, :]  # (batch, 1, 1, seq), True = may attend
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.layers:
            x = layer(x, mask)
        return BertModelOutput(last_hidden_state=x, pooler_output=torch.tanh(self.pooler(x[:, 0])))


# --- the pretraining heads ----------------------------------------------------------------------


class MaskedLMHead(nn.Module):
    """dense -> GELU -> LayerNorm -> decoder to the vocabulary (weight tied by BertForPreTraining)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, hidden: Tensor) -> Tensor:
        """(..., hidden) -> logits (..., vocab)."""
        return self.decoder(self.norm(F.gelu(self.dense(hidden))))


@dataclass
class BertPreTrainingOutput:
    """What ``BertForPreTraining`` returns.

    loss = mlm_loss + nsp_loss (the ones whose labels were given; None with no labels).
    mlm_logits: (num_chosen, vocab) at the positions where labels != -100, in the order of
    ``last_hidden_state[labels != -100]`` (row-major), when labels were given; else (batch, seq, vocab).
    nsp_logits: (batch, 2); column 0 scores "B is the real next segment", column 1 "B is random".
    HF calls them ``prediction_logits`` (always (batch, seq, vocab)) and ``seq_relationship_logits``.
    """

    loss: Tensor | None
    mlm_loss: Tensor | None
    nsp_loss: Tensor | None
    mlm_logits: Tensor
    nsp_logits: Tensor


class BertForPreTraining(nn.Module):
    """BertModel + the MLM head + the NSP head (Devlin et al. 2019, section 3.1).

    The MLM decoder's weight IS the token-embedding matrix (one Parameter, as in BERT and HF), with
    its own bias (vocab,). The NSP head is a 2-way linear map on the pooled [CLS] state.
    NSP labels follow HF and BERT's data code: 0 = B is the real next segment ("IsNext"),
    1 = B is a random segment from another document ("NotNext").

    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None,
    next_sentence_label=None)``: labels (batch, seq) long, the original id at the chosen positions
    and -100 elsewhere; next_sentence_label (batch,) long in {0, 1}. With labels the MLM head runs
    only at the chosen positions and the MLM loss is the mean cross-entropy over them (never over
    all positions). Returns ``BertPreTrainingOutput``.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.mlm_head = MaskedLMHead(config)
        self.nsp_head = nn.Linear(config.hidden_size, 2)
        for module in (self.mlm_head, self.nsp_head):
            module.apply(lambda m: init_weights(m, config.initializer_range))
        self.mlm_head.decoder.weight = self.bert.embeddings.word_embeddings.weight  # weight tying

    def forward(
        self,
        input_ids: Tensor,
        token_type_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        next_sentence_label: Tensor | None = None,
    ) -> BertPreTrainingOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask)
        hidden = out.last_hidden_state
        masked_lm = None
        if labels is None:
            mlm_logits = self.mlm_head(hidden)
        else:
            if not isinstance(labels, Tensor) or tuple(labels.shape) != tuple(input_ids.shape):
                got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
                raise ValueError(f"labels must be shaped like input_ids {tuple(input_ids.shape)}; got {got}.")
            mlm_logits = self.mlm_head(hidden[labels != -100])  # (num_chosen, vocab): the other rows are never scored
            masked_lm = mlm_loss(mlm_logits, labels)
        nsp_logits = self.nsp_head(out.pooler_output)
        next_sentence = None if next_sentence_label is None else nsp_loss(nsp_logits, next_sentence_label)
        given = [x for x in (masked_lm, next_sentence) if x is not None]
        return BertPreTrainingOutput(
            loss=sum(given[1:], given[0]) if given else None,
            mlm_loss=masked_lm,
            nsp_loss=next_sentence,
            mlm_logits=mlm_logits,
            nsp_logits=nsp_logits,
        )


# --- loading HF checkpoints ---------------------------------------------------------------------

# HF name -> our name. {i} is the layer, {p} "weight" or "bias". No transposes anywhere: HF's
# query/key/value/dense are nn.Linear (out_features, in_features) like ours, and both split heads
# as contiguous blocks of head_dim features, so the separate q/k/v matrices copy one to one
# (no concatenation as for torch's packed in_proj_weight). BertModel names carry no prefix in a
# BertModel checkpoint and "bert." in a BertForPreTraining one; both are accepted.
HF_TO_COURSE: dict[str, str] = {
    "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.{p}": "embeddings.norm.{p}",
    "encoder.layer.{i}.attention.self.query.{p}": "layers.{i}.self_attn.q_proj.{p}",
    "encoder.layer.{i}.attention.self.key.{p}": "layers.{i}.self_attn.k_proj.{p}",
    "encoder.layer.{i}.attention.self.value.{p}": "layers.{i}.self_attn.v_proj.{p}",
    "encoder.layer.{i}.attention.output.dense.{p}": "layers.{i}.self_attn.out_proj.{p}",
    "encoder.layer.{i}.attention.output.LayerNorm.{p}": "layers.{i}.norm1.{p}",
    "encoder.layer.{i}.intermediate.dense.{p}": "layers.{i}.feed_forward.linear1.{p}",
    "encoder.layer.{i}.output.dense.{p}": "layers.{i}.feed_forward.linear2.{p}",
    "encoder.layer.{i}.output.LayerNorm.{p}": "layers.{i}.norm2.{p}",
    "pooler.dense.{p}": "pooler.{p}",
    # BertForPreTraining's heads
    "cls.predictions.transform.dense.{p}": "mlm_head.dense.{p}",
    "cls.predictions.transform.LayerNorm.{p}": "mlm_head.norm.{p}",
    "cls.predictions.bias": "mlm_head.decoder.bias",
    "cls.seq_relationship.{p}": "nsp_head.{p}",
}
# HF also saves the tied decoder under its own names; they must equal what they are tied to.
_TIED = {"cls.predictions.decoder.weight": "embeddings.word_embeddings.weight",
         "cls.predictions.decoder.bias": "cls.predictions.bias"}
_BUFFERS = {"embeddings.position_ids"}  # torch.arange(max_positions), saved by older HF versions; not a parameter


def _pattern(name: str) -> re.Pattern:
    return re.compile(re.escape(name).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)") + "$")


_FORWARD = [(_pattern(hf), ours) for hf, ours in HF_TO_COURSE.items()]
_BACKWARD = [(_pattern(ours), hf) for hf, ours in HF_TO_COURSE.items()]


def _rename(name: str, table: list[tuple[re.Pattern, str]]) -> str | None:
    for pattern, target in table:
        if match := pattern.match(name):
            return target.format(**match.groupdict())
    return None


def load_hf_bert(model: BertModel | BertForPreTraining, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """Copy an HF ``BertModel``/``BertForPreTraining`` state dict into ``model``; returns ``model``.

    Names go through ``HF_TO_COURSE``; a leading ``bert.`` is accepted, and so are the old TF
    exports' ``LayerNorm.gamma``/``LayerNorm.beta`` for ``LayerNorm.weight``/``bias``. Strict:
    KeyError naming the key for anything missing, unexpected (``cls.`` keys into a BertModel
    included) or given twice; ValueError for a shape mismatch or a decoder not tied as ours is.
    """
    heads = isinstance(model, BertForPreTraining)
    hf: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        name = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        name = name.removeprefix("bert.")
        if name in hf:
            raise KeyError(f"{key!r} appears twice (with and without the 'bert.' prefix?).")
        hf[name] = value
    for alias, source in _TIED.items():
        if alias in hf and source not in hf:
            hf[source] = hf.pop(alias)
        elif alias in hf and not torch.equal(hf.pop(alias), hf[source]):
            raise ValueError(f"{alias!r} differs from {source!r}: ours are tied, so the checkpoint's must be too.")
    ours: dict[str, Tensor] = {}
    unexpected = []
    for name, value in hf.items():
        if name in _BUFFERS:
            continue
        target = _rename(name, _FORWARD)
        is_head = target is not None and target.startswith(("mlm_head.", "nsp_head."))
        if target is None or (is_head and not heads):
            unexpected.append(name)
        else:
            ours[target if is_head or not heads else "bert." + target] = value
    if unexpected:
        heads_hint = any(n.startswith("cls.") for n in unexpected)
        hint = " (MLM/NSP heads: load into a BertForPreTraining)" if heads_hint else ""
        raise KeyError(f"unexpected keys in the state dict: {unexpected}{hint}.")
    if heads:
        ours["mlm_head.decoder.weight"] = ours.get("bert.embeddings.word_embeddings.weight")
    expected = model.state_dict()
    missing = [_rename(n.removeprefix("bert."), _BACKWARD) or n for n in expected if ours.get(n) is None]
    if missing:
        raise KeyError(f"missing keys in the state dict (HF names): {missing}.")
    for name, value in ours.items():
        if value.shape != expected[name].shape:
            raise ValueError(
                f"{_rename(name.removeprefix('bert.'), _BACKWARD)!r} (ours {name!r}) has shape {tuple(value.shape)}, "
                f"the model expects {tuple(expected[name].shape)}: build the model from the checkpoint's config."
            )
    model.load_state_dict(ours, strict=True)
    return model


def to_hf_state_dict(model: BertModel | BertForPreTraining) -> dict[str, Tensor]:
    """``model``'s weights under HF names, ``HF_TO_COURSE`` read backwards: what ``load_hf_bert`` reads.

    A ``BertForPreTraining``'s encoder names carry ``bert.`` as HF's do. The MLM decoder's weight is
    left out, as HF saves it: it is the word-embedding matrix. Tensors are detached contiguous copies.
    """
    heads = isinstance(model, BertForPreTraining)
    out: dict[str, Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name == "mlm_head.decoder.weight":
            continue
        inner = name.removeprefix("bert.")
        prefix = "bert." if heads and inner != name else ""
        out[prefix + _rename(inner, _BACKWARD)] = tensor.detach().clone().contiguous()
    return out


# --- sentence embeddings ------------------------------------------------------------------------


def mean_pool(last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
    """Mean of the real tokens' states: (batch, seq, hidden), (batch, seq) 1/0 -> (batch, hidden).

    The pooling all-MiniLM-L6-v2 was trained with (sentence-transformers' ``Pooling`` with
    mean tokens): padding is left out of both the sum and the count ([CLS] and [SEP] are in).
    The count is clamped at 1e-9 as there, so an all-padding row gives zeros, not NaN. Its
    ``Normalize`` step (unit length) is not part of the pooling: apply ``F.normalize`` for cosines.
    """
    if last_hidden_state.dim() != 3 or tuple(attention_mask.shape) != tuple(last_hidden_state.shape[:2]):
        raise ValueError(
            f"mean_pool expects last_hidden_state (batch, seq, hidden) and attention_mask (batch, seq); "
            f"got {tuple(last_hidden_state.shape)} and {tuple(attention_mask.shape)}."
        )
    weights = attention_mask.to(last_hidden_state.dtype).unsqueeze(-1)
    return (last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
