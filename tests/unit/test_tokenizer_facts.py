"""The tokenizer facts shipped as package data: every builtin base has its family's facts with sources
and a confidence level, they agree with the published numbers (docs: the 22 Qwen2.5 and 26 Qwen3
added tokens from id 151643, a BPE vocabulary of 151,643), and an operator's base gets only the
pipeline transformers builds in code for its model type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport import samples
from modelport.catalog.catalog import BUILTIN_IDS, CatalogError, load_catalog
from modelport.catalog.tokenizer_facts import Confidence, pipeline_facts

QWEN3_FAMILY = ("qwen3-8b", "qwen3-14b", "qwen3-32b", "qwen3-4b-instruct-2507", "qwen3-vl-8b-instruct")
QWEN_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def test_every_builtin_base_has_facts_with_sources_and_a_confidence() -> None:
    catalog = load_catalog(None)
    for base_id in BUILTIN_IDS:
        base = catalog.get(base_id)
        assert base is not None and base.tokenizer_facts is not None, base_id
        facts = base.tokenizer_facts
        assert facts.scope == "builtin"
        for key, fact in facts.facts.items():
            assert fact.sources, (base_id, key)
            assert all(source in facts.sources for source in fact.sources), (base_id, key)
        added = facts.facts["added_tokens"].value
        expected = 26 if base_id in QWEN3_FAMILY else 22
        assert [token["id"] for token in added] == list(range(151643, 151643 + expected)), base_id
        assert added[2]["content"] == "<|im_end|>" and added[0]["content"] == "<|endoftext|>"
        assert facts.facts["tokenizer.json:model.vocab.size"].value == 151643
        split = facts.facts["tokenizer.json:pre_tokenizer"].value["pretokenizers"][0]
        assert split["pattern"]["Regex"] == QWEN_REGEX


def test_model_max_length_is_low_confidence_except_where_it_was_seen_verbatim() -> None:
    catalog = load_catalog(None)
    for base_id in BUILTIN_IDS:
        base = catalog.get(base_id)
        assert base is not None and base.tokenizer_facts is not None
        fact = base.tokenizer_facts.facts["tokenizer_config.json:model_max_length"]
        verbatim = base_id == "qwen3-4b-instruct-2507"
        assert fact.confidence == (Confidence.HIGH if verbatim else Confidence.LOW), base_id
        assert fact.comparable == verbatim


def test_an_operator_base_gets_only_its_model_types_pipeline(tmp_path: Path) -> None:
    samples.register_base(tmp_path, "tiny", samples.tiny_base_config("qwen3"))
    base = load_catalog(tmp_path).get("tiny")
    assert base is not None and base.tokenizer_facts is not None
    assert base.tokenizer_facts.scope == "pipeline"
    assert "added_tokens" not in base.tokenizer_facts.facts
    assert "tokenizer.json:model.vocab.size" not in base.tokenizer_facts.facts
    assert base.tokenizer_facts.facts["tokenizer.json:normalizer"].value == {"type": "NFC"}
    assert pipeline_facts("llama") is None


def test_reference_files_for_a_builtin_keep_its_facts(tmp_path: Path) -> None:
    folder = tmp_path / "base_models" / "qwen3-8b"
    folder.mkdir(parents=True)
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>"}))
    base = load_catalog(tmp_path).get("qwen3-8b")
    assert base is not None and base.tokenizer_facts is not None
    assert base.tokenizer_facts.scope == "builtin" and "tokenizer_config.json" in base.reference_files


@pytest.mark.parametrize("name", ["tokenizer.json", "vocab.json"])
def test_a_reference_tokenizer_file_that_does_not_parse_stops_the_catalog(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "base_models" / "qwen3-8b"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b'{"model": ')
    with pytest.raises(CatalogError, match=rf"{name}: is not valid JSON"):
        load_catalog(tmp_path)
