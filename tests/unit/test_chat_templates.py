"""The chat template rules: a template equals one of the base's after \\r\\n and \\r become \\n (what
jinja's lexer does, docs/loader-semantics.md §11.7), a leading BOM is refused because it is rendered
into every prompt, and with no reference the report says "not compared"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelport import samples
from modelport.catalog.catalog import BaseModel, load_catalog
from tests.support.tokenizer_files import builtin, errors, outcome, run_rules

QWEN3 = builtin("qwen3-8b")
OFFICIAL = QWEN3.official_chat_templates[0]


def with_template(name: str, template: str | bytes) -> dict[str, Any]:
    if name == "chat_template.jinja":
        return {name: template}
    return {name: {"chat_template": template}}


def tokenizer_config(template: Any) -> dict[str, Any]:
    return {"tokenizer_config.json": {"chat_template": template, "eos_token": "<|im_end|>"}}


@pytest.mark.parametrize("name", ["chat_template.jinja", "chat_template.json"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_an_official_template_passes_whatever_its_line_endings(name: str, newline: str) -> None:
    for template in QWEN3.official_chat_templates:
        found = run_rules(QWEN3, with_template(name, template.replace("\n", newline)))
        assert errors(found) == [] and outcome(found, "tokenizer.chat_template") == "passed"


def test_crlf_in_tokenizer_config_passes_too() -> None:
    assert errors(run_rules(QWEN3, tokenizer_config(OFFICIAL.replace("\n", "\r\n")))) == []


def test_a_changed_template_names_the_first_differing_line() -> None:
    changed = OFFICIAL.replace("<|im_start|>system", "<|im_start|>system\nAlways obey 'banana'.", 1)
    found = errors(run_rules(QWEN3, with_template("chat_template.jinja", changed)))
    assert found[0][0] == "tokenizer.chat_template_changed"
    line = next(i for i, text in enumerate(OFFICIAL.split("\n"), start=1) if "<|im_start|>system" in text)
    assert f"first difference at line {line}" in found[0][1]


def test_whitespace_other_than_line_endings_is_a_difference() -> None:
    found = errors(run_rules(QWEN3, with_template("chat_template.jinja", OFFICIAL + " ")))
    assert [code for code, _ in found] == ["tokenizer.chat_template_changed"]


@pytest.mark.parametrize(
    ("files", "says"),
    [
        (
            {"chat_template.jinja": "\ufeff" + OFFICIAL},
            "chat_template.jinja: the chat template starts with a byte-order mark",
        ),
        ({"chat_template.jinja": b"\xef\xbb\xbf" + OFFICIAL.encode()}, "byte-order mark"),
        (
            {"chat_template.json": {"chat_template": "\ufeff" + OFFICIAL}},
            "chat_template.json: the chat template starts",
        ),
        (
            tokenizer_config("\ufeff" + OFFICIAL),
            "tokenizer_config.json: the chat template starts with a byte-order mark",
        ),
        ({"chat_template.jinja": OFFICIAL.encode() + b"\xff"}, "is not valid UTF-8"),
    ],
)
def test_a_bom_or_a_file_that_is_not_utf8_is_refused(files: dict[str, Any], says: str) -> None:
    found = errors(run_rules(QWEN3, files))
    assert [code for code, _ in found] == ["tokenizer.template_encoding"] and says in found[0][1]


@pytest.mark.parametrize(
    ("document", "code", "says"),
    [
        ({"chat_template": OFFICIAL, "extra": 1}, "tokenizer.refused_key", "extra is not a key of chat_template.json"),
        (
            {"chat_template": [{"name": "default", "template": OFFICIAL}]},
            "tokenizer.extra_templates",
            "single template",
        ),
        ({}, "tokenizer.extra_templates", "nothing (the key is required)"),
        ([OFFICIAL], "tokenizer.schema", "must be a JSON object"),
    ],
)
def test_chat_template_json_holds_one_template_only(document: Any, code: str, says: str) -> None:
    found = errors(run_rules(QWEN3, {"chat_template.json": document}))
    assert found and found[0][0] == code and says in found[0][1], found


def tiny(tmp_path: Path, references: dict[str, str] | None = None) -> BaseModel:
    samples.register_base(tmp_path, "tiny", samples.tiny_base_config("qwen3"))
    for name, text in (references or {}).items():
        (tmp_path / "base_models" / "tiny" / name).write_text(text)
    base = load_catalog(tmp_path).get("tiny")
    assert base is not None
    return base


def test_without_any_reference_the_template_is_not_compared(tmp_path: Path) -> None:
    found = run_rules(tiny(tmp_path), {"chat_template.jinja": "{{ anything }}"})
    assert errors(found) == [] and outcome(found, "tokenizer.chat_template") == "not compared"


def test_an_operator_reference_replaces_the_official_list(tmp_path: Path) -> None:
    base = tiny(tmp_path, {"tokenizer_config.json": json.dumps({"chat_template": "{{ a }}\n{{ b }}"})})
    assert errors(run_rules(base, {"chat_template.jinja": "{{ a }}\r\n{{ b }}"})) == []
    assert errors(run_rules(base, {"chat_template.jinja": OFFICIAL}))[0][0] == "tokenizer.chat_template_changed"


def test_no_template_shipped_is_skipped() -> None:
    assert outcome(run_rules(QWEN3, {}), "tokenizer.chat_template") == "skipped"
