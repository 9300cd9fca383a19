"""What the base's tokenizer is, as far as the catalog knows it, one value at a time.

Each expected value comes from the operator's reference file when that file holds it (an operator
with the platform's own copy of a base knows best), else from a public fact of high or medium
confidence (catalog/tokenizer_facts.py), else it is `Unknown` and the rule reports "not compared",
never "passed". Reference bytes are already in memory (the catalog read them within caps); they
are parsed here on first use with the strict parser, and one that does not parse counts as absent,
with a reason. No storage is read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from modelport.catalog.catalog import BaseModel
from modelport.catalog.tokenizer_facts import Fact
from modelport.strict_json import JsonFileError, parse_json
from modelport.validation.token_ids import FLAGS, AddedToken, parse_token_id


@dataclass(frozen=True)
class Known:
    value: Any
    source: str  # completes "(...)" in a sentence: where the expected value comes from


@dataclass(frozen=True)
class Unknown:
    why: str  # the detail of a "not compared" check


Expected = Known | Unknown


@dataclass(frozen=True)
class AddedTable:
    tokens: tuple[AddedToken, ...]
    flags_known: bool  # whether the flags (special, lstrip, ...) are known well enough to compare
    source: str


_MAX_DEPTH: Final = 64


def same_json(found: Any, expected: Any, depth: int = 0) -> bool:
    """JSON equality with JSON's types: true is not 1, 1 is not 1.0 (Python's == says they are).
    Deeper than any tokenizer file nests counts as different, so the walk stays bounded."""
    if depth > _MAX_DEPTH or type(found) is not type(expected):
        return False
    if isinstance(found, dict):
        return found.keys() == expected.keys() and all(same_json(v, expected[k], depth + 1) for k, v in found.items())
    if isinstance(found, list):
        pairs = zip(found, expected, strict=False)
        return len(found) == len(expected) and all(same_json(a, b, depth + 1) for a, b in pairs)
    return bool(found == expected)


class BaseTokenizer:
    def __init__(self, base: BaseModel) -> None:
        self.base = base
        self._parsed: dict[str, Any] = {}

    @property
    def id(self) -> str:
        return self.base.id

    def reference(self, name: str) -> Any:
        """The operator's reference file `name`, parsed; None when there is none (or it does not parse)."""
        if name not in self._parsed:
            raw = self.base.reference_files.get(name)
            try:
                self._parsed[name] = parse_json(raw) if raw is not None else None
            except JsonFileError:
                self._parsed[name] = None
        return self._parsed[name]

    def shown(self, name: str) -> str:
        return f"base_models/{self.id}/{name}"

    def config_value(self, key: str) -> Expected:
        """The base's tokenizer_config.json value of `key` (None for an explicit null)."""
        reference = self.reference("tokenizer_config.json")
        if isinstance(reference, dict) and key in reference:
            return Known(reference[key], self.shown("tokenizer_config.json"))
        return self._fact(f"tokenizer_config.json:{key}", key)

    def tokenizer_part(self, key: str) -> Expected:
        """A top-level part of the base's tokenizer.json (normalizer, pre_tokenizer, model ...)."""
        reference = self.reference("tokenizer.json")
        if isinstance(reference, dict):
            return Known(reference.get(key), self.shown("tokenizer.json"))
        return self._fact(f"tokenizer.json:{key}", key)

    def bpe_size(self) -> Expected:
        """How many entries the BPE vocabulary has (the first added token's id)."""
        for name, vocab in (("tokenizer.json", self._reference_vocab()), ("vocab.json", self.reference("vocab.json"))):
            if isinstance(vocab, dict):
                return Known(len(vocab), self.shown(name))
        return self._fact("tokenizer.json:model.vocab.size", "the vocabulary size")

    def vocabulary(self) -> Expected:
        """The base's (vocab, merges) from its reference tokenizer.json: only an operator copy has them."""
        reference = self.reference("tokenizer.json")
        model = reference.get("model") if isinstance(reference, dict) else None
        if isinstance(model, dict) and isinstance(model.get("vocab"), dict) and isinstance(model.get("merges"), list):
            return Known((model["vocab"], model["merges"]), self.shown("tokenizer.json"))
        return Unknown(
            f"no reference copy of {self.id}'s vocabulary and merges to compare with (public sources pin only their "
            f"size); an operator adds base_models/{self.id}/tokenizer.json"
        )

    def added_tokens(self) -> AddedTable | Unknown:
        """The base's added tokens in id order: the reference tokenizer_config.json or tokenizer.json, else facts."""
        config = self.reference("tokenizer_config.json")
        decoder = config.get("added_tokens_decoder") if isinstance(config, dict) else None
        if isinstance(decoder, dict):
            table = _table_from_decoder(decoder)
            if table is not None:
                return AddedTable(table, True, self.shown("tokenizer_config.json"))
        document = self.reference("tokenizer.json")
        listed = document.get("added_tokens") if isinstance(document, dict) else None
        if isinstance(listed, list):
            table = _table_from_list(listed)
            if table is not None:
                return AddedTable(table, True, self.shown("tokenizer.json"))
        facts = self.base.tokenizer_facts
        ids = facts.get("added_tokens") if facts is not None else None
        flags = facts.get("added_tokens.flags") if facts is not None else None
        if ids is None or not ids.comparable:
            return Unknown(
                f"the catalog has no reference added tokens for {self.id}; an operator adds base_models/{self.id}/"
                "tokenizer.json or tokenizer_config.json"
            )
        by_id = {entry["id"]: entry for entry in (flags.value if flags is not None else [])}
        tokens = tuple(
            AddedToken(
                id=entry["id"],
                content=entry["content"],
                **{flag: bool(by_id.get(entry["id"], {}).get(flag, False)) for flag in FLAGS},
            )
            for entry in ids.value
        )
        flags_known = flags is not None and flags.comparable
        return AddedTable(tokens, flags_known, ids.cite())

    def _reference_vocab(self) -> Any:
        document = self.reference("tokenizer.json")
        model = document.get("model") if isinstance(document, dict) else None
        return model.get("vocab") if isinstance(model, dict) else None

    def _fact(self, key: str, what: str) -> Expected:
        facts = self.base.tokenizer_facts
        fact: Fact | None = facts.get(key) if facts is not None else None
        if fact is None:
            return Unknown(f"the catalog has no reference for {what} of {self.id}")
        if not fact.comparable:
            return Unknown(
                f"the public value for {self.id} ({fact.value!r:.60}) is of low confidence "
                f"({', '.join(fact.sources)}); an operator's base_models/{self.id}/ reference would be compared"
            )
        return Known(fact.value, fact.cite())


def _table_from_decoder(decoder: dict[str, Any]) -> tuple[AddedToken, ...] | None:
    entries: dict[int, AddedToken] = {}
    for key, entry in decoder.items():
        token_id, _ = parse_token_id(key)
        token = _token(token_id, entry)
        if token is None:
            return None
        entries[token.id] = token
    return tuple(entries[i] for i in sorted(entries))


def _table_from_list(listed: list[Any]) -> tuple[AddedToken, ...] | None:
    tokens = [_token(entry.get("id") if isinstance(entry, dict) else None, entry) for entry in listed]
    if any(token is None for token in tokens):
        return None
    return tuple(token for token in tokens if token is not None)


def _token(token_id: Any, entry: Any) -> AddedToken | None:
    if type(token_id) is not int or not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
        return None
    # AddedToken's own defaults for a flag the operator's file leaves out.
    defaults = {"special": False, "lstrip": False, "rstrip": False, "normalized": True, "single_word": False}
    flags = {flag: entry.get(flag, defaults[flag]) for flag in FLAGS}
    if any(type(value) is not bool for value in flags.values()):
        return None
    return AddedToken(id=token_id, content=entry["content"], **flags)
