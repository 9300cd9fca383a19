"""The key-policy framework: every key of a document is checked, inert or refused, and every problem
is a finding naming the file and the key (never an exception)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, Decision, KeyRule, checked, inert, refused, screen
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
