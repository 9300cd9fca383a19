"""Token ids read as transformers reads them (`int(k)`, docs/loader-semantics.md §11.3), the forms the
gate refuses with a sentence, and the contiguity transformers' sorted-order assignment requires."""

from __future__ import annotations

import pytest

from modelport.validation.findings import Findings
from modelport.validation.token_ids import AddedToken, check_contiguous, compare_tables, parse_token_id


@pytest.mark.parametrize("key", ["0", "5", "151643", "9" * 30])
def test_plain_decimals_are_ids(key: str) -> None:
    assert parse_token_id(key) == (int(key), None)


@pytest.mark.parametrize(
    ("key", "read_as"),
    [("+5", 5), (" 5", 5), ("5 ", 5), ("\t5\n", 5), ("05", 5), ("1_0", 10), ("٣", 3), ("３", 3), ("-1", -1)],
)
def test_forms_int_reads_are_refused_saying_what_transformers_reads(key: str, read_as: int) -> None:
    token_id, why = parse_token_id(key)
    assert token_id is None and why is not None
    assert f"read by transformers as {read_as}" in why


@pytest.mark.parametrize("key", ["²", "2²", "①", "5.0", "0x10", "1e3", "", "_5", "5_", "9" * 4301])
def test_forms_int_fails_on_are_refused_without_raising(key: str) -> None:
    token_id, why = parse_token_id(key)
    assert token_id is None and why is not None
    assert "int()" in why and "fails to load" in why


def token(token_id: int, content: str, **flags: bool) -> AddedToken:
    return AddedToken(id=token_id, content=content, special=flags.pop("special", True), **flags)


def test_contiguous_ids_from_the_vocabulary_end_pass() -> None:
    findings = Findings()
    assert check_contiguous("f", [token(10, "a"), token(11, "b")], 10, "in sorted order", findings)
    assert findings.error_count == 0


@pytest.mark.parametrize(
    ("ids", "start", "says"),
    [
        ((10, 12), 10, "'b' would get id 11, not 12"),
        ((11, 12), 10, "'a' would get id 10, not 11"),
        ((5, 7), None, "'b' would get id 6, not 7"),
    ],
)
def test_a_gap_or_a_shift_says_which_id_the_token_would_really_get(
    ids: tuple[int, int], start: int | None, says: str
) -> None:
    findings = Findings()
    ok = check_contiguous("f", [token(ids[0], "a"), token(ids[1], "b")], start, "in sorted order", findings)
    message = findings.freeze().findings[0].message
    assert not ok and says in message and findings.freeze().findings[0].code == "tokenizer.token_order"


def test_one_content_with_two_ids_is_refused() -> None:
    findings = Findings()
    assert not check_contiguous("f", [token(10, "a"), token(11, "a")], 10, "in list order", findings)
    assert "declared twice" in findings.freeze().findings[0].message


def test_tables_compare_ids_contents_and_flags() -> None:
    base = [token(10, "a"), token(11, "b", special=False)]
    findings = Findings()
    assert compare_tables("f", base, base, True, findings) is None
    assert "adds 'c'" in (compare_tables("f", [*base, token(12, "c")], base, True, findings) or "")
    assert "lacks 'b'" in (compare_tables("f", base[:1], base, True, findings) or "")
    changed = [token(10, "a"), token(11, "b", special=True)]
    assert "special=True" in (compare_tables("f", changed, base, True, findings) or "")
    assert compare_tables("f", changed, base, False, findings) is None  # flags of low confidence: ids only
