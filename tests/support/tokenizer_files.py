"""Tokenizer files built in code, as the real Qwen repositories and transformers' save_pretrained write
them: tokenizer.json (a BPE vocabulary of any size, the Qwen pipeline, the added tokens),
tokenizer_config.json (transformers 4.x style, with added_tokens_decoder) and special_tokens_map.json.

Values come from the catalog's facts for a builtin base, so a test states only what it changes.
`run_rules` runs the tokenizer rules over such files in process, without storage.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

from modelport.catalog.catalog import BaseModel, load_catalog
from modelport.domain.jobs import WeightType
from modelport.validation.file_policy import Classified
from modelport.validation.findings import FileStatus, Findings, FindingSet
from modelport.validation.tokenizer import check_tokenizer_files
from modelport.validation.upload import RuleContext, Upload

BPE_SIZE = 151643


def builtin(base_id: str = "qwen3-8b") -> BaseModel:
    base = load_catalog(None).get(base_id)
    assert base is not None, base_id
    return base


def fact(base: BaseModel, key: str) -> Any:
    assert base.tokenizer_facts is not None
    found = base.tokenizer_facts.facts[key].value
    return copy.deepcopy(found)


def added_tokens(base: BaseModel) -> list[dict[str, Any]]:
    """The base's added tokens as tokenizer.json lists them (id order, all seven fields)."""
    flags = {entry["id"]: entry for entry in fact(base, "added_tokens.flags")}
    return [
        {
            "id": token["id"],
            "content": token["content"],
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": flags[token["id"]]["special"],
        }
        for token in fact(base, "added_tokens")
    ]


def vocab(size: int = BPE_SIZE) -> dict[str, int]:
    """A vocabulary of `size` tokens whose first merges resolve (a + b = ab, ab + c = abc); a fresh copy."""
    return dict(_vocab(size))


@functools.cache
def _vocab(size: int) -> dict[str, int]:
    tokens = ["a", "b", "ab", "c", "abc"] + [f"t{i}" for i in range(5, size)]
    return {token: i for i, token in enumerate(tokens[:size])}


def tokenizer_json(base: BaseModel, *, size: int = BPE_SIZE, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens(base) if size == BPE_SIZE else [],
        "normalizer": fact(base, "tokenizer.json:normalizer"),
        "pre_tokenizer": fact(base, "tokenizer.json:pre_tokenizer"),
        "post_processor": fact(base, "tokenizer.json:post_processor"),
        "decoder": fact(base, "tokenizer.json:decoder"),
        "model": {**fact(base, "tokenizer.json:model"), "vocab": vocab(size), "merges": [["a", "b"], "ab c"]},
    }
    document.update(changes)
    return document


def tokenizer_config(base: BaseModel, **changes: Any) -> dict[str, Any]:
    """tokenizer_config.json as the Qwen repositories ship it (transformers 4.x save_pretrained)."""
    decoder = {
        str(token["id"]): {k: token[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
        for token in added_tokens(base)
    }
    document: dict[str, Any] = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": fact(base, "tokenizer_config.json:additional_special_tokens"),
        "bos_token": None,
        "chat_template": base.official_chat_templates[0],
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": fact(base, "tokenizer_config.json:model_max_length"),
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not _DROP}


def special_tokens_map(base: BaseModel, **changes: Any) -> dict[str, Any]:
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    document: dict[str, Any] = {
        "additional_special_tokens": fact(base, "tokenizer_config.json:additional_special_tokens"),
        "eos_token": {"content": "<|im_end|>", **flags},
        "pad_token": {"content": "<|endoftext|>", **flags},
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # pass as a change to remove the key
_DROP = DROP


def run_rules(
    base: BaseModel,
    files: Mapping[str, Any],
    *,
    weight_type: WeightType = WeightType.LORA,
) -> FindingSet:
    """Run the tokenizer rules over `files`: JSON-able values become documents, bytes and str stay raw."""
    documents: dict[str, Any] = {}
    texts: dict[str, bytes] = {}
    for name, value in files.items():
        if isinstance(value, bytes | str) and not name.endswith(".json"):
            texts[name] = value.encode() if isinstance(value, str) else value
        else:
            documents[name] = value
            texts[name] = b""  # the rules never read the raw bytes of a parsed JSON file
    accepted = {
        name: Classified(key=name, size=len(texts[name]), kind="tokenizer", status=FileStatus.ACCEPTED)
        for name in files
    }
    upload = Upload(weight_type=weight_type, base=base, accepted=accepted, documents=documents, texts=texts, headers={})
    findings = Findings()
    check_tokenizer_files(RuleContext(upload=upload, findings=findings))
    return findings.freeze()


def errors(found: FindingSet) -> list[tuple[str, str]]:
    return [(f.code.code, f.message) for f in found.findings if f.severity.value == "error"]


def outcome(found: FindingSet, check: str) -> str:
    matches = [c.outcome.value for c in found.checks if c.name == check]
    assert matches, (check, [c.name for c in found.checks])
    return matches[-1]


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)
