"""The BPE vocabulary and merges (tokenizer.json's model.vocab and model.merges, the legacy vocab.json)
and the legacy added_tokens.json: every path of every loader uses them, so they are checked whole.

- The vocabulary must map every token to a distinct id from 0 to n - 1 (tokenizers accepts gaps and
  shared ids, which make decoding ambiguous), n must be the base's BPE size (151,643 for every
  builtin Qwen base, public and of high confidence), and no id may reach past the embedding.
- Each merge must be a pair whose parts and result are in the vocabulary (tokenizers refuses the
  file otherwise); merges are either `[a, b]` or the older `"a b"` strings.
- The vocabulary and merges themselves are compared only with an operator's reference copy: no
  public source pins their digest, so without one the report says "not compared".

Findings are bounded: each problem kind is reported once, with the first offending entry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelport.domain import reasons
from modelport.validation.config_keys import not_compared
from modelport.validation.findings import Findings
from modelport.validation.token_ids import AddedToken, check_contiguous, compare_tables, shown
from modelport.validation.tokenizer_reference import AddedTable, BaseTokenizer, Unknown


def check_vocab(
    file: str, where: str, vocab: dict[str, Any], base: BaseTokenizer, findings: Findings, *, embedding_rows: int
) -> int | None:
    """Check a token -> id map; returns its size when it is a permutation of 0..n-1."""
    before = findings.error_count
    size = len(vocab)
    bad = None
    if "" in vocab or not all(type(i) is int for i in vocab.values()):
        bad = next((token, i) for token, i in vocab.items() if type(i) is not int or not token)
    if bad is not None:
        findings.error(
            reasons.TOKENIZER_SCHEMA,
            f"{file}: {where} must map non-empty tokens to integer ids; found {shown(bad[0])}: {shown(bad[1])}.",
            file=file,
        )
        findings.checked(f"{file}.{where}", before)
        return None
    ids = set(vocab.values())
    highest, lowest = max(ids, default=0), min(ids, default=0)
    if highest >= embedding_rows or lowest < 0:
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{file}: {where} holds token id {highest if highest >= embedding_rows else lowest}, outside "
            f"{base.id}'s vocabulary (vocab_size {embedding_rows}); a resized embedding is not allowed in an import.",
            file=file,
        )
    elif len(ids) != size or highest != size - 1:
        missing = next((i for i in range(size) if i not in ids), size)
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{file}: the {size} ids of {where} must be 0 to {size - 1}, each used once; id {missing} is unused "
            "(tokenizers accepts gaps and shared ids, which shift tokens off their embedding rows).",
            file=file,
        )
    expected = base.bpe_size()
    if isinstance(expected, Unknown):
        not_compared(findings, f"{file}.{where}.size", expected.why)
    elif size != expected.value:
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{file}: {where} has {size} entries; {base.id}'s BPE vocabulary has {expected.value} ({expected.source}).",
            file=file,
        )
    findings.checked(f"{file}.{where}", before, f"{size} entries")
    return size if findings.error_count == before else None


def check_merges(file: str, merges: list[Any], vocab: dict[str, Any], findings: Findings) -> list[list[str]] | None:
    """Each merge as the pair tokenizers builds from it; None (and a finding) if any would fail the load."""
    before = findings.error_count
    pairs: list[list[str]] = []
    for index, merge in enumerate(merges):
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(p, str) and p for p in pair):
            findings.error(
                reasons.TOKENIZER_SCHEMA,
                f'{file}: model.merges[{index}] must be a pair ["a", "b"] or the string "a b"; found {shown(merge)}.',
                file=file,
            )
            break
        missing = next((t for t in (pair[0], pair[1], pair[0] + pair[1]) if t not in vocab), None)
        if missing is not None:
            findings.error(
                reasons.TOKENIZER_SCHEMA,
                f"{file}: model.merges[{index}] {shown(merge)} needs {shown(missing)}, which is not in model.vocab; "
                "tokenizers refuses to load such a file.",
                file=file,
            )
            break
        pairs.append(pair)
    findings.checked(f"{file}.model.merges", before, f"{len(merges)} merges")
    return pairs if findings.error_count == before else None


def compare_vocabulary(
    file: str, vocab: dict[str, Any], pairs: list[list[str]] | None, base: BaseTokenizer, findings: Findings
) -> None:
    expected = base.vocabulary()
    if isinstance(expected, Unknown):
        not_compared(findings, f"{file}.vocabulary_digest", f"{expected.why}; this upload's: {digest(vocab, pairs)}")
        return
    before = findings.error_count
    ref_vocab, ref_merges = expected.value
    if vocab != ref_vocab:
        changed = next((t for t, i in vocab.items() if ref_vocab.get(t) != i), None)
        what = f"{shown(changed)} has id {vocab[changed]}" if changed is not None else "tokens are missing"
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{file}: model.vocab differs from {base.id}'s reference ({what}; {expected.source}).",
            file=file,
        )
    ref_pairs = [m.split(" ") if isinstance(m, str) else m for m in ref_merges]
    if pairs is not None and pairs != ref_pairs:
        common = enumerate(zip(pairs, ref_pairs, strict=False))
        index = next((i for i, (a, b) in common if a != b), min(len(pairs), len(ref_pairs)))
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{file}: the BPE merges differ from {base.id}'s reference from merge {index} on ({expected.source}); "
            "they decide every token id.",
            file=file,
        )
    findings.checked(f"{file}.vocabulary_digest", before, f"{digest(vocab, pairs)} compared with {expected.source}")


def digest(vocab: dict[str, Any], pairs: list[list[str]] | None) -> str:
    """A digest of the vocabulary (by id) and the merges, for an operator to compare with a known copy."""
    hashed = hashlib.sha256(json.dumps(vocab, sort_keys=True).encode())  # any JSON values: never raises
    hashed.update(json.dumps(pairs).encode())
    return f"sha256 {hashed.hexdigest()[:16]}"


def check_added_tokens_json(
    document: Any, base: BaseTokenizer, findings: Findings, *, start: int | None, embedding_rows: int
) -> list[AddedToken] | None:
    """added_tokens.json (content -> id), read only without added_tokens_decoder: then it adds tokens."""
    file = "added_tokens.json"
    before = findings.error_count
    if not isinstance(document, dict):
        findings.error(reasons.TOKENIZER_SCHEMA, f"{file} must be a JSON object of token -> id.", file=file)
        return None
    bad = next(((k, v) for k, v in document.items() if type(v) is not int or not k), None)
    if bad is not None:
        findings.error(
            reasons.TOKENIZER_SCHEMA,
            f"{file}: every token must map to an integer id; found {shown(bad[0])}: {shown(bad[1])}.",
            file=file,
        )
        findings.checked(f"{file}.tokens", before)
        return None
    tokens = [AddedToken(id=i, content=content, special=False) for content, i in document.items()]
    tokens.sort(key=lambda token: token.id)
    if out := [token.id for token in tokens if not 0 <= token.id < embedding_rows]:
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{file}: token id {max(out, key=abs)} is outside {base.id}'s vocabulary (vocab_size {embedding_rows}); "
            "added tokens would need a resized embedding, which imports do not allow.",
            file=file,
        )
    else:
        check_contiguous(file, tokens, start, "in sorted order", findings)
    compare_added(file, tokens, base.added_tokens(), base.id, findings, flags=False)
    findings.checked(f"{file}.tokens", before)
    return tokens if findings.error_count == before else None


def compare_added(
    file: str,
    tokens: list[AddedToken],
    expected: AddedTable | Unknown,
    base_id: str,
    findings: Findings,
    *,
    flags: bool,
) -> None:
    if isinstance(expected, Unknown):
        not_compared(findings, f"{file}.added_tokens", expected.why)
        return
    before = findings.error_count
    difference = compare_tables(file, tokens, expected.tokens, flags and expected.flags_known, findings)
    if difference is not None:
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{file}: the added tokens differ from {base_id}'s: {difference} ({expected.source}). Imports keep the "
            "base's tokens, because new or renumbered tokens have no trained embedding rows.",
            file=file,
        )
    detail = "ids and contents" + (" and flags" if flags and expected.flags_known else "")
    findings.checked(f"{file}.added_tokens", before, f"{detail} compared with {expected.source}")
