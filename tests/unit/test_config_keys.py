"""The key-policy framework: every key of a document is checked, inert or refused, and every problem
is a finding naming the file and the key (never an exception)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import (
    ConfigDocument,
    Decision,
    KeyRule,
    checked,
    inert,
    refused,
    same_value,
    screen,
)
from modelport.validation.findings import Findings


class Toy(ConfigDocument):
    FILE: ClassVar[str] = "toy.json"
    SCHEMA_REASON = reasons.LORA_CONFIG_SCHEMA
    REFUSED_REASON = reasons.LORA_UNSUPPORTED_VARIANT
    UNKNOWN: ClassVar[KeyRule] = refused("dropped by the loaders", "toy.py#L1", "is not a key the toy loader knows.")

    r: Annotated[int, checked("rank", "toy.py#L2", "an integer from 1 to 64")] = Field(ge=1, le=64)
    note: Annotated[str | None, inert("ignored", "toy.py#L3")] = None
    use_dora: Annotated[
        Any, refused("DoRA", "toy.py#L4", "is set; DoRA cannot be served.", reasons.LORA_DORA, unset=(None, False))
    ] = None


def run(document: Any) -> tuple[Toy | None, Findings]:
    findings = Findings()
    valid, _ = screen(Toy, document, findings)
    return valid, findings


def messages(findings: Findings) -> list[tuple[str, str]]:
    return [(f.code.code, f.message) for f in findings.freeze().findings]


def test_a_valid_document_passes_and_its_inert_keys_are_reported() -> None:
    findings = Findings()
    valid, seen = screen(Toy, {"r": 8, "note": "x", "use_dora": False}, findings)
    assert valid is not None and valid.r == 8 and findings.error_count == 0
    assert seen.keys(Decision.INERT) == ["note"] and seen.keys(Decision.CHECKED) == ["r"]
    assert "inert: note" in (findings.freeze().checks[-1].detail or "")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"r": True}, ("lora.config_schema", "toy.json: r must be an integer from 1 to 64; found True.")),
        ({"r": 4.0}, ("lora.config_schema", "toy.json: r must be an integer from 1 to 64; found 4.0.")),
        ({"r": 10**30}, ("lora.config_schema", "toy.json: r must be an integer from 1 to 64; found 10000000000")),
        (
            {},
            ("lora.config_schema", "toy.json: r must be an integer from 1 to 64; found nothing (the key is required)."),
        ),
        ({"r": 8, "use_dora": True}, ("lora.dora", "toy.json: use_dora is set; DoRA cannot be served.")),
        ({"r": 8, "mystery": 1}, ("lora.unsupported_variant", "toy.json: mystery is not a key the toy loader knows.")),
        ([1, 2], ("lora.config_schema", "toy.json must be a JSON object; found a list.")),
    ],
)
def test_each_problem_is_one_finding_naming_the_file_and_the_key(document: Any, expected: tuple[str, str]) -> None:
    _, findings = run(document)
    code, message = messages(findings)[0]
    assert code == expected[0] and message.startswith(expected[1])
    assert len(message) < 300


def test_the_table_lists_every_key_and_the_rule_for_unknown_keys() -> None:
    table = Toy.markdown_table()
    for key in ("`r`", "`note`", "`use_dora`", "any other key"):
        assert key in table
    assert "| `r` | checked | rank | toy.py#L2 |" in table


class Nested(ConfigDocument):
    FILE: ClassVar[str] = "toy.json"
    SCHEMA_REASON = reasons.LORA_CONFIG_SCHEMA
    REFUSED_REASON = reasons.LORA_UNSUPPORTED_VARIANT
    UNKNOWN: ClassVar[KeyRule] = refused("dropped", "toy.py#L1", "is not a key the toy loader knows.")

    beams: Annotated[Any, refused("beam search", "toy.py#L5", "changes decoding; remove it.", unset=(1,))] = None
    forced: Annotated[Any, refused("forced token", "toy.py#L6", "forces a token; remove it.")] = None
    width: Annotated[int | None, checked("width", "toy.py#L7", "a positive integer")] = Field(None, ge=1)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"beams": 1}, []),
        ({"beams": 1.0}, []),
        ({"beams": None, "forced": False}, []),
        ({"beams": []}, ["toy.json: sub.beams changes decoding; remove it."]),  # allowed values are exact
        ({"beams": True}, ["toy.json: sub.beams changes decoding; remove it."]),
        ({"beams": 4}, ["toy.json: sub.beams changes decoding; remove it."]),
        # 0 == False in Python, but forcing token 0 is not "unset".
        ({"forced": 0}, ["toy.json: sub.forced forces a token; remove it."]),
        ({"width": 0}, ["toy.json: sub.width must be a positive integer; found 0."]),
        ({"extra": 1}, ["toy.json: sub.extra is not a key the toy loader knows."]),
        ("x", ["toy.json: sub must be a JSON object; found a string."]),
    ],
)
def test_a_nested_document_names_its_keys_by_their_path_and_defaults_leave_refused_keys_unused(
    document: Any, expected: list[str]
) -> None:
    findings = Findings()
    screen(Nested, document, findings, at="sub.")
    assert [message for _, message in messages(findings)] == expected
    assert findings.freeze().checks[-1].name == "toy.json.sub.keys"


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        (1, 1.0, True),
        (True, 1, False),
        ([1, {"a": False}], (1, {"a": False}), True),
        ({"a": 0}, {"a": False}, False),
        ({"a": 1}, {"b": 1}, False),
        ("1", 1, False),
        (None, None, True),
    ],
)
def test_same_value_is_json_equality(left: Any, right: Any, same: bool) -> None:
    assert same_value(left, right) is same


def test_a_deeply_nested_wrong_value_is_shown_bounded_not_recursed_into() -> None:
    deep: Any = 0
    for _ in range(900):  # what the strict parser lets through stays below the recursion limit, barely
        deep = [deep]
    _, findings = run({"r": deep})
    code, message = messages(findings)[0]
    assert code == "lora.config_schema" and message.startswith("toy.json: r must be an integer from 1 to 64; found [[[")
    assert len(message) < 300
