"""The tiny servable tokenizer is a Qwen2Tokenizer in fact, not only in name: its split regex is
transformers' own, and transformers (which rebuilds Qwen's pipeline) and tokenizers (which reads
tokenizer.json as written) give the same ids. Needs transformers (the `oracle` extra; CI has it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.serving.tiny_models import QWEN_SPLIT, VOCAB_SIZE, write_tokenizer

transformers = pytest.importorskip("transformers", reason="needs transformers: pip install -e '.[oracle]'")


def test_the_copied_split_regex_is_transformers_own() -> None:
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    assert QWEN_SPLIT == PRETOKENIZE_REGEX


def test_transformers_and_tokenizers_read_the_tiny_tokenizer_alike(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    write_tokenizer(tmp_path)
    loaded = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded).__name__ == "Qwen2Tokenizer"
    assert len(loaded) == VOCAB_SIZE  # no token added on load (unk_token is null)
    text = "Hello world, the quick fox's 42 jumps.\n\tDone!"
    assert loaded(text)["input_ids"] == Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode(text).ids
