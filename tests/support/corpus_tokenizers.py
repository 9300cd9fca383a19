"""Corpus cases for the tokenizer and chat-template rules, end to end through the inspection (the
files are written to a bucket, read, parsed by the strict JSON parser and checked).

Valid cases are the files as the Qwen repositories and transformers 5 write them; the others change
one thing each, the way a hostile or careless upload would: a token id in a form int() reads but
isdigit() does not (or the reverse), a renumbered or added token, another eos, a post-processor that
prepends a token, BPE-dropout, named templates, a template with a byte-order mark.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import tokenizer_files as tf
from tests.support.corpus import TINY3, Case, Context, add_files, full_then, lora_then

Q3 = "qwen3-8b"
Q25 = "qwen2.5-7b-instruct"
Edit = Callable[[Path, Context], None]


def write(**documents: Any) -> Edit:
    """Write JSON documents (by file name, '.' spelled '_' before the extension) and raw texts."""
    return add_files({_name(key): value if isinstance(value, str | bytes) else json.dumps(value) for key, value in documents.items()})  # fmt: skip


def _name(key: str) -> str:
    stem, _, extension = key.rpartition("_")
    return f"{stem}.{extension}"


def adapter(base_id: str, edit: Edit) -> Any:
    return lora_then(edit, base_id, targets=("q_proj",), dtype="BF16")


def changed_config(base_id: str = Q3, **changes: Any) -> Any:
    return adapter(base_id, write(tokenizer_config_json=tf.tokenizer_config(tf.builtin(base_id), **changes)))


def changed_decoder(edit: Callable[[dict[str, Any]], None]) -> Any:
    document = tf.tokenizer_config(tf.builtin(Q3))
    edit(document["added_tokens_decoder"])
    return adapter(Q3, write(tokenizer_config_json=document))


def changed_tokenizer(base_id: str = Q3, **changes: Any) -> Any:
    return adapter(base_id, write(tokenizer_json=tf.tokenizer_json(tf.builtin(base_id), **changes)))


def transformers5_files() -> Edit:
    """What save_pretrained in transformers 5 writes for a Qwen3 tokenizer loaded from the hub."""
    base = tf.builtin(Q3)
    tokenizer = tf.tokenizer_json(base)
    tokenizer["pre_tokenizer"]["pretokenizers"][1]["trim_offsets"] = True
    tokenizer["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    config = {
        "add_prefix_space": False, "backend": "tokenizers", "bos_token": None, "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>", "errors": "replace", "is_local": True, "local_files_only": False,
        "extra_special_tokens": tf.fact(base, "tokenizer_config.json:additional_special_tokens"),
        "model_max_length": 131072, "pad_token": "<|endoftext|>", "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer", "unk_token": None,
    }  # fmt: skip
    return write(
        tokenizer_json=tokenizer, tokenizer_config_json=config, chat_template_jinja=base.official_chat_templates[0]
    )


def official_files(base_id: str) -> Edit:
    base = tf.builtin(base_id)
    added = {token["content"]: token["id"] for token in tf.added_tokens(base)}
    return write(tokenizer_json=tf.tokenizer_json(base), tokenizer_config_json=tf.tokenizer_config(base),
                 special_tokens_map_json=tf.special_tokens_map(base), added_tokens_json=added)  # fmt: skip


def tiny_tokenizer(**changes: Any) -> Edit:
    """A tokenizer for the tiny qwen3 base: 300 BPE tokens, then three added tokens from id 300."""

    def edit(folder: Path, context: Context) -> None:
        document = tf.tokenizer_json(tf.builtin(Q3), size=300)
        document["added_tokens"] = [
            {**token, "id": 300 + i} for i, token in enumerate(tf.added_tokens(tf.builtin(Q3))[:3])
        ]
        document.update(changes)
        (folder / "tokenizer.json").write_text(json.dumps(document))

    return edit


def _regex_changed(document: dict[str, Any]) -> dict[str, Any]:
    split = document["pre_tokenizer"]["pretokenizers"][0]["pattern"]
    split["Regex"] = split["Regex"].replace(r"\p{N}|", r"\p{N}+|", 1)
    return document


PREPEND_EOT = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643], "tokens": ["<|endoftext|>"]}},
}
TEMPLATE_Q25 = tf.builtin(Q25).official_chat_templates[0]
TEMPLATE_Q3 = tf.builtin(Q3).official_chat_templates[0]
ADAPTER = ("adapter_config.json", "adapter_model.safetensors")


def cases() -> list[Case]:
    return [
        # -- valid ---------------------------------------------------------------------------------
        Case("tok-official-qwen3-files", Q3, "lora", adapter(Q3, official_files(Q3)), "SUCCESSED",
             copied=(*ADAPTER, "added_tokens.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json")),
        Case("tok-official-qwen2.5-files", Q25, "lora", adapter(Q25, official_files(Q25)), "SUCCESSED"),
        Case("tok-transformers5-resave", Q3, "lora", adapter(Q3, transformers5_files()), "SUCCESSED",
             copied=(*ADAPTER, "chat_template.jinja", "tokenizer.json", "tokenizer_config.json")),
        Case("tok-crlf-template-jinja", Q25, "lora", adapter(Q25, write(chat_template_jinja=TEMPLATE_Q25.replace("\n", "\r\n"))),
             "SUCCESSED", copied=(*ADAPTER, "chat_template.jinja")),
        Case("tok-crlf-template-in-config", Q3, "lora", changed_config(chat_template=TEMPLATE_Q3.replace("\n", "\r\n")), "SUCCESSED"),
        Case("tok-low-confidence-max-length-not-compared", Q3, "lora", changed_config(model_max_length=32768), "SUCCESSED"),
        Case("tok-tiny-base-tokenizer", TINY3, "lora", lora_then(tiny_tokenizer()), "SUCCESSED",
             copied=(*ADAPTER, "tokenizer.json")),
        # -- token ids -------------------------------------------------------------------------------
        Case("tok-id-superscript", Q3, "lora", changed_decoder(lambda d: d.__setitem__("²", d.pop("151645"))), "FAILED",
             ("tokenizer.token_id",), ("tokenizer_config.json", "'²'", "int()")),
        Case("tok-id-plus-sign", Q3, "lora", changed_decoder(lambda d: d.__setitem__("+151645", d.pop("151645"))), "FAILED",
             ("tokenizer.token_id",), ("'+151645'", "read by transformers as 151645")),
        Case("tok-id-arabic-indic", Q3, "lora", changed_decoder(lambda d: d.__setitem__("١٥١٦٤٥", d.pop("151645"))), "FAILED",
             ("tokenizer.token_id",), ("read by transformers as 151645",)),
        Case("tok-id-gap", Q3, "lora", changed_decoder(lambda d: d.__setitem__("151700", d.pop("151668"))), "FAILED",
             ("tokenizer.token_order",), ("would get id 151668, not 151700",)),
        Case("tok-id-inside-vocab", Q3, "lora", changed_decoder(lambda d: d.__setitem__("100", {**d["151668"], "content": "<|shadow|>"})),
             "FAILED", ("tokenizer.token_order",), ("not 100",)),
        Case("tok-id-out-of-embedding", Q3, "lora", changed_decoder(lambda d: d.__setitem__("152000", {**d["151668"], "content": "<|x|>"})),
             "FAILED", ("tokenizer.vocabulary_changed",), ("152000", "vocab_size 151936")),
        Case("tok-added-tokens-true", Q3, "lora", changed_tokenizer(added_tokens=True), "FAILED", ("tokenizer.schema",),
             ("added_tokens must be a list",)),
        # -- special tokens and settings ---------------------------------------------------------------
        Case("tok-eos-endoftext", Q3, "lora", changed_config(eos_token="<|endoftext|>"), "FAILED", ("tokenizer.changed",),
             ("eos_token is '<|endoftext|>'", "vLLM stops generation")),
        Case("tok-eos-absent", Q3, "lora", changed_config(eos_token=tf.DROP), "FAILED", ("tokenizer.changed",),
             ("eos_token is absent, so transformers uses '<|endoftext|>'",)),
        Case("tok-eos-new-token", Q3, "lora", changed_config(eos_token="<|brand_new|>"), "FAILED", ("tokenizer.changed",),
             ("new token",)),
        Case("tok-split-special-tokens", Q3, "lora", changed_config(split_special_tokens=True), "FAILED", ("tokenizer.changed",),
             ("ordinary text",)),
        Case("tok-fast-tokenizer-files", Q3, "lora", changed_config(fast_tokenizer_files=["tokenizer.v2.json"]), "FAILED",
             ("tokenizer.refused_key",), ("fast_tokenizer_files",)),
        Case("tok-model-specific-token", Q3, "lora", changed_config(foo_token="<|foo|>"), "FAILED", ("tokenizer.refused_key",),
             ("foo_token",)),
        Case("tok-class-llama", Q3, "lora", changed_config(tokenizer_class="LlamaTokenizer"), "FAILED", ("tokenizer.schema",),
             ("tokenizer_class",)),
        Case("tok-special-tokens-map-disagrees", Q3, "lora",
             adapter(Q3, write(tokenizer_config_json=tf.tokenizer_config(tf.builtin(Q3)),
                               special_tokens_map_json=tf.special_tokens_map(tf.builtin(Q3), pad_token="<|im_end|>"))),
             "FAILED", ("tokenizer.inconsistent", "tokenizer.changed"), ("special_tokens_map.json",)),
        # -- tokenizer.json pipeline -----------------------------------------------------------------
        Case("tok-post-processor-prepends", Q3, "lora", changed_tokenizer(post_processor=PREPEND_EOT), "FAILED",
             ("tokenizer.changed",), ("post_processor", "around every input")),
        Case("tok-regex-one-character", Q3, "lora", adapter(Q3, write(tokenizer_json=_regex_changed(tf.tokenizer_json(tf.builtin(Q3))))),
             "FAILED", ("tokenizer.changed",), ("pre_tokenizer",)),
        Case("tok-vocab-short", Q3, "lora", changed_tokenizer(model={**tf.tokenizer_json(tf.builtin(Q3), size=1000)["model"]}),
             "FAILED", ("tokenizer.vocabulary_changed",), ("1000 entries", "151643")),
        Case("tok-tiny-normalizer-lowercase", TINY3, "lora", lora_then(tiny_tokenizer(normalizer={"type": "Lowercase"})), "FAILED",
             ("tokenizer.changed",), ("normalizer",)),
        Case("tok-tiny-bpe-dropout", TINY3, "lora",
             lora_then(tiny_tokenizer(model={**tf.tokenizer_json(tf.builtin(Q3), size=300)["model"], "dropout": 0.9})), "FAILED",
             ("tokenizer.changed",), ("model.dropout is 0.9",)),
        # -- templates ---------------------------------------------------------------------------------
        Case("tok-template-bom", Q25, "lora", adapter(Q25, write(chat_template_jinja=b"\xef\xbb\xbf" + TEMPLATE_Q25.encode())),
             "FAILED", ("tokenizer.template_encoding",), ("byte-order mark",)),
        Case("tok-template-list", Q3, "lora", changed_config(chat_template=[{"name": "default", "template": TEMPLATE_Q3},
                                                                          {"name": "tool_use", "template": "{{ tools }}"}]),
             "FAILED", ("tokenizer.extra_templates",), ("single template string",)),
        Case("tok-additional-chat-templates", Q3, "lora",
             adapter(Q3, add_files({"additional_chat_templates/tool_use.jinja": "{{ messages }}"})), "FAILED",
             ("tokenizer.extra_templates",), ("additional_chat_templates/", "tool_use")),
        Case("tok-chat-template-json-extra-key", Q3, "lora",
             adapter(Q3, write(chat_template_json={"chat_template": TEMPLATE_Q3, "tool_use": "{{ tools }}"})), "FAILED",
             ("tokenizer.refused_key",), ("chat_template.json: tool_use",)),
        Case("full-hf-quant-config", TINY3, "full", full_then(add_files({"hf_quant_config.json": '{"quantization": {}}'})),
             "FAILED", ("full.quantized",), ("hf_quant_config.json",)),
    ]  # fmt: skip
