"""Reason codes are a contract: the registry equals the committed list, and each is documented."""

from __future__ import annotations

import pickle
from pathlib import Path

from modelport.domain import reasons

COMMITTED = Path(__file__).with_name("reason_codes.txt")


def test_the_codes_equal_the_committed_list() -> None:
    committed = COMMITTED.read_text().split()
    current = [reason.code for reason in reasons.all_reasons()]
    assert current == committed, (
        "reason codes changed; if that is intended, update tests/unit/reason_codes.txt and say so in the "
        f"changelog. Added: {sorted(set(current) - set(committed))}; removed: {sorted(set(committed) - set(current))}"
    )


def test_every_code_says_what_it_means_and_what_to_do() -> None:
    for reason in reasons.all_reasons():
        assert reason.meaning.endswith(".") and reason.fix.endswith("."), reason.code
        families = {"storage", "files", "safetensors", "lora", "full", "tokenizer", "values", "catalog", "worker"}
        assert reason.family in families | {"gate", "job"}, reason.code


def test_a_reason_is_its_code_and_survives_a_process_boundary() -> None:
    reason = reasons.LORA_SHAPE_MISMATCH
    assert reason == "lora.shape_mismatch" and reasons.lookup("lora.shape_mismatch") is reason
    assert pickle.loads(pickle.dumps(reason)) is reason
