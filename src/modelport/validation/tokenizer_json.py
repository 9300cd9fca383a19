"""tokenizer.json: every key of the tokenizers serialization, top level and the BPE model, decided
against what tokenizers 0.23 and transformers 5 do with it (docs/config-keys.md §5), and compared
with what the base's tokenizer is.

For Qwen, transformers 5 (and so vLLM) takes only model.vocab, model.merges, post_processor,
truncation and padding from this file and rebuilds the normalizer, pre-tokenizer, decoder and BPE
flags in code (`models/qwen2/tokenization_qwen2.py#L36-98`); every runtime that honours the file
(transformers' generic TokenizersBackend, TGI, conversions) uses all of it. So each part is
compared with the base, on exactly the fields that change ids or decoded text: ByteLevel's
`trim_offsets` (and the ByteLevel decoder's flags, which its decoding ignores) only move offsets,
and transformers 5 itself rewrites them when it saves a Qwen tokenizer. The Split regex is compared
as a string and never compiled: tokenizers runs it in Oniguruma, a backtracking engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, not_compared, refused, screen
from modelport.validation.findings import Findings
from modelport.validation.token_ids import AddedToken, check_contiguous, shown, token_entry
from modelport.validation.tokenizer_reference import BaseTokenizer, Unknown, same_json
from modelport.validation.vocabulary import check_merges, check_vocab, compare_added, compare_vocabulary

FILE: Final = "tokenizer.json"
TK = "tokenizers 0.23"
T = "transformers 5"
_RUN = "[run] exp_misc_parsing §3"
_NATIVE = f"{T} tokenization_utils_tokenizers.py"


class TokenizerJsonFile(ConfigDocument):
    FILE: ClassVar[str] = FILE
    SCHEMA_REASON = reasons.TOKENIZER_SCHEMA
    REFUSED_REASON = reasons.TOKENIZER_REFUSED_KEY
    UNKNOWN: ClassVar[KeyRule] = refused(f"{TK}: refuses the file ('expected , or }}')", _RUN, "is not part of the tokenizers format; tokenizers refuses to load the file.", reasons.TOKENIZER_SCHEMA)  # fmt: skip

    version: Annotated[Literal["1.0"], checked(f"{TK}: the only version it reads; '1.1' or 1 fail the load", _RUN, '"1.0"')] = "1.0"  # fmt: skip
    truncation: Annotated[dict[str, Any] | None, checked(f"{T}: enabled on the backend tokenizer (cuts prompts)", f"{_NATIVE}#L150-157, #L430-440", "null or a truncation object")] = None  # fmt: skip
    padding: Annotated[dict[str, Any] | None, checked(f"{T}: enabled on the backend tokenizer (pads every input)", f"{_NATIVE}#L150-157, #L440-447", "null or a padding object")] = None  # fmt: skip
    added_tokens: Annotated[list[Any], checked(f"{TK}: appended after the vocabulary in list order, ignoring each id; {T} reads them without added_tokens_decoder", f"[run] exp_tokenizers_added_ids; {T} tokenization_utils_base.py#L1904-1913", "a list of added-token objects")] = Field(default_factory=list)  # fmt: skip
    normalizer: Annotated[dict[str, Any] | None, checked(f"{T}: replaced by NFC for Qwen; honoured by TokenizersBackend and other runtimes", f"{T} models/qwen2/tokenization_qwen2.py#L74", "null or a normalizer object")] = None  # fmt: skip
    pre_tokenizer: Annotated[dict[str, Any] | None, checked(f"{T}: replaced for Qwen; honoured elsewhere (the Split regex runs in Oniguruma)", f"{T} models/qwen2/tokenization_qwen2.py#L75-86", "null or a pre-tokenizer object")] = None  # fmt: skip
    post_processor: Annotated[dict[str, Any] | None, checked(f"{T}: kept even for Qwen2Tokenizer; adds tokens around every input", f"{_NATIVE}#L149, #L456-458", "null or a post-processor object")] = None  # fmt: skip
    decoder: Annotated[dict[str, Any] | None, checked(f"{T}: replaced for Qwen; decodes text elsewhere", f"{T} models/qwen2/tokenization_qwen2.py#L73", "null or a decoder object")] = None  # fmt: skip
    model: Annotated[dict[str, Any], checked(f"{TK}/{T}: the BPE model; every runtime uses its vocab and merges", f"{_NATIVE}#L170-195", "the BPE model object")]  # fmt: skip


class BpeModel(ConfigDocument):
    """tokenizer.json's `model` object; its keys are screened as `model.<key>`."""

    FILE: ClassVar[str] = FILE
    SCHEMA_REASON = reasons.TOKENIZER_SCHEMA
    REFUSED_REASON = reasons.TOKENIZER_REFUSED_KEY
    UNKNOWN: ClassVar[KeyRule] = refused(f"{TK}: ignored silently", _RUN, "is not part of the tokenizers BPE model; tokenizers ignores it silently. Remove it.")  # fmt: skip

    type: Annotated[Literal["BPE"], checked(f"{TK}: the model kind (untagged when absent)", _RUN, '"BPE"')] = Field(alias="model.type")  # fmt: skip
    dropout: Annotated[float | None, checked(f"{TK}: BPE-dropout, random merges under TokenizersBackend; above 1 fails the load", f"{_RUN}; [run] exp_tokenizer tj_model_dropout", "null or a number from 0 to 1")] = Field(default=None, ge=0, le=1, alias="model.dropout")  # fmt: skip
    unk_token: Annotated[str | None, checked(f"{TK}: the unknown token (byte-level BPE has none)", _RUN, "null or a string")] = Field(default=None, alias="model.unk_token")  # fmt: skip
    continuing_subword_prefix: Annotated[str | None, checked(f"{TK}: a prefix on non-initial pieces", _RUN, "null or a string")] = Field(default=None, alias="model.continuing_subword_prefix")  # fmt: skip
    end_of_word_suffix: Annotated[str | None, checked(f"{TK}: a suffix on final pieces", _RUN, "null or a string")] = Field(default=None, alias="model.end_of_word_suffix")  # fmt: skip
    fuse_unk: Annotated[bool, checked(f"{TK}: fuses unknown pieces", _RUN, "true or false")] = Field(default=False, alias="model.fuse_unk")  # fmt: skip
    byte_fallback: Annotated[bool, checked(f"{TK}: byte tokens for unknown pieces", _RUN, "true or false")] = Field(default=False, alias="model.byte_fallback")  # fmt: skip
    ignore_merges: Annotated[bool, checked(f"{TK}: whole-word lookup before merges", _RUN, "true or false")] = Field(default=False, alias="model.ignore_merges")  # fmt: skip
    vocab: Annotated[dict[str, Any], checked(f"every runtime: the ids of the regular tokens; {TK} accepts gaps and shared ids", f"{_NATIVE}#L177-189; {_RUN}", "an object of tokens to ids")] = Field(alias="model.vocab")  # fmt: skip
    merges: Annotated[list[Any], checked(f"every runtime: the BPE merges; {TK} refuses a merge out of the vocabulary", f"{_NATIVE}#L191-195; {_RUN}", 'a list of ["a", "b"] pairs or "a b" strings')] = Field(default_factory=list, alias="model.merges")  # fmt: skip


# What a change of each part does, ending the sentence "tokenizer.json: <part> differs from <base>'s (...); ...".
_EFFECT: Final = {
    "truncation": "it would cut prompts wherever tokenizer.json is honoured, transformers 5 included",
    "padding": "it would pad every input wherever tokenizer.json is honoured, transformers 5 included",
    "normalizer": "runtimes that honour tokenizer.json would normalise text differently",
    "pre_tokenizer": "runtimes that honour tokenizer.json would split text differently (the Qwen Split regex + "
    "ByteLevel is expected)",
    "post_processor": "it adds or changes tokens around every input, and transformers 5 applies it even to Qwen",
    "decoder": "runtimes that honour tokenizer.json would decode ids to other text",
}
_BYTE_LEVEL_FLAGS: Final = frozenset({"type", "add_prefix_space", "trim_offsets", "use_regex"})
_OFFSETS_ONLY: Final = "<offsets only>"
_NO_TOKENS: Final = "<adds no tokens>"
# What transformers 5 writes for a Qwen2Tokenizer built in code: a template that adds nothing.
_NOOP_TEMPLATE: Final = {
    "type": "TemplateProcessing",
    "single": [{"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {},
}
_MODEL_DEFAULTS: Final = {"dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                          "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False}  # fmt: skip


def markdown_table() -> str:
    """The README's table: the top-level keys, then the BPE model's (`model.<key>`) in the same table."""
    nested = BpeModel.markdown_table().splitlines()[2:-1]  # no header, no second "any other key" row
    top = TokenizerJsonFile.markdown_table().splitlines()
    unknown = BpeModel.UNKNOWN
    nested.append(f"| any other `model.` key | {unknown.decision.value} | {unknown.engines} | {unknown.cite} |")
    return "\n".join([*top[:-1], *nested, top[-1]]) + "\n"


@dataclass(frozen=True)
class ShippedTokenizer:
    """What the rest of the tokenizer rules need from a checked tokenizer.json."""

    bpe_size: int | None  # the vocabulary size, when model.vocab is a valid permutation
    added: list[AddedToken] | None  # the added tokens, when every entry is valid


def check_tokenizer_json(
    document: Any, base: BaseTokenizer, findings: Findings, *, embedding_rows: int
) -> ShippedTokenizer:
    screen(TokenizerJsonFile, document, findings)
    if not isinstance(document, dict):
        return ShippedTokenizer(None, None)
    for part in ("truncation", "padding", "normalizer", "pre_tokenizer", "post_processor", "decoder"):
        if isinstance(document.get(part), dict | None):  # a value of the wrong type is the schema's finding
            _compare_part(part, document.get(part), base, findings)
    model = document.get("model")
    bpe_size: int | None = None
    if isinstance(model, dict):
        bpe_size = _check_model(model, base, findings, embedding_rows)
    added = _check_added(document.get("added_tokens"), model, bpe_size, base, findings)
    return ShippedTokenizer(bpe_size, added)


def _check_model(model: dict[str, Any], base: BaseTokenizer, findings: Findings, embedding_rows: int) -> int | None:
    # The vocabulary and merges are screened for their type only (check_vocab and check_merges walk them),
    # so pydantic does not copy 150k entries.
    shallow = {key: type(value)() if key in ("vocab", "merges") and isinstance(value, dict | list) else value for key, value in model.items()}  # fmt: skip
    screen(BpeModel, {f"model.{key}": value for key, value in shallow.items()}, findings)
    findings.checks[-1] = replace(findings.checks[-1], name=f"{FILE}.model.keys")
    expected = base.tokenizer_part("model")
    if isinstance(expected, Unknown):
        not_compared(findings, f"{FILE}.model.flags", expected.why)
    else:
        before = findings.error_count
        reference = expected.value if isinstance(expected.value, dict) else {}
        for flag, default in _MODEL_DEFAULTS.items():
            found, wanted = _effective(flag, model.get(flag, default)), _effective(flag, reference.get(flag, default))
            if not same_json(found, wanted):
                findings.error(
                    reasons.TOKENIZER_CHANGED,
                    f"{FILE}: model.{flag} is {shown(found)}; {base.id}'s is {shown(wanted)} ({expected.source}). "
                    "It changes how text becomes ids wherever tokenizer.json is honoured.",
                    file=FILE,
                )
        findings.checked(f"{FILE}.model.flags", before, f"compared with {expected.source}")
    vocab, merges = model.get("vocab"), model.get("merges")
    if not isinstance(vocab, dict):
        return None
    size = check_vocab(FILE, "model.vocab", vocab, base, findings, embedding_rows=embedding_rows)
    pairs = check_merges(FILE, merges, vocab, findings) if isinstance(merges, list) else None
    compare_vocabulary(FILE, vocab, pairs, base, findings)
    return size


def _check_added(
    listed: Any, model: Any, bpe_size: int | None, base: BaseTokenizer, findings: Findings
) -> list[AddedToken] | None:
    if not isinstance(listed, list):
        return None
    before = findings.error_count
    entries = [token_entry(FILE, f"added_tokens[{i}]", entry, findings, with_id=True) for i, entry in enumerate(listed)]
    if any(entry is None for entry in entries):
        findings.checked(f"{FILE}.added_tokens.ids", before)
        return None
    tokens = [AddedToken(id=e["id"], content=e["content"], **{f: e[f] for f in ("special", "lstrip", "rstrip", "normalized", "single_word")}) for e in entries if e is not None]  # fmt: skip
    # tokenizers ignores the declared ids when it loads: an added token already in model.vocab keeps
    # the vocabulary's id, and the others get the next ids from where the vocabulary ends, in list order.
    vocab = model.get("vocab") if isinstance(model, dict) else None
    in_vocab = vocab if isinstance(vocab, dict) else {}
    moved = next((t for t in tokens if t.content in in_vocab and in_vocab[t.content] != t.id), None)
    if moved is not None:
        findings.error(
            reasons.TOKENIZER_TOKEN_ORDER,
            f"{FILE}: added token {shown(moved.content)} is declared as id {moved.id} but is also in model.vocab "
            f"as id {in_vocab[moved.content]}; tokenizers keeps the vocabulary's id.",
            file=FILE,
        )
    start = bpe_size
    if start is None and not isinstance((expected := base.bpe_size()), Unknown):
        start = expected.value
    check_contiguous(FILE, [t for t in tokens if t.content not in in_vocab], start, "in list order", findings)
    findings.checked(f"{FILE}.added_tokens.ids", before, f"{len(tokens)} added tokens")
    compare_added(FILE, tokens, base.added_tokens(), base.id, findings, flags=True)
    return tokens  # valid entries, whatever the comparisons found: the files must still agree


def _compare_part(part: str, found: Any, base: BaseTokenizer, findings: Findings) -> None:
    expected = base.tokenizer_part(part)
    name = f"{FILE}.{part}"
    if isinstance(expected, Unknown):
        not_compared(findings, name, expected.why)
        return
    before = findings.error_count
    if not same_json(_view(part, found), _view(part, expected.value)):
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{FILE}: {part} {shown(found)} differs from {base.id}'s ({expected.source}); {_EFFECT[part]}.",
            file=FILE,
        )
    findings.checked(name, before, f"compared with {expected.source}")


def _view(part: str, value: Any) -> Any:
    """The part as far as ids and decoded text depend on it: offset-only flags are masked."""
    if part == "post_processor":
        return _NO_TOKENS if _adds_no_tokens(value) else value
    if part == "pre_tokenizer" and isinstance(value, dict) and isinstance(value.get("pretokenizers"), list):
        return {**value, "pretokenizers": [_mask(step, ("trim_offsets",)) for step in value["pretokenizers"]]}
    if part == "pre_tokenizer":
        return _mask(value, ("trim_offsets",))
    if part == "decoder":
        return _mask(value, ("add_prefix_space", "trim_offsets", "use_regex"))
    return value


def _mask(step: Any, flags: tuple[str, ...]) -> Any:
    if not isinstance(step, dict) or step.get("type") != "ByteLevel" or set(step) != _BYTE_LEVEL_FLAGS:
        return step
    return {key: _OFFSETS_ONLY if key in flags and type(value) is bool else value for key, value in step.items()}


def _adds_no_tokens(value: Any) -> bool:
    """ByteLevel (offsets only), no post-processor, or the template transformers writes that adds nothing."""
    if value is None or same_json(value, _NOOP_TEMPLATE):
        return True
    masked = _mask(value, ("add_prefix_space", "trim_offsets", "use_regex"))
    return isinstance(masked, dict) and all(masked.get(k) == _OFFSETS_ONLY for k in _BYTE_LEVEL_FLAGS - {"type"})


def _effective(flag: str, value: Any) -> Any:
    """tokenizers treats a missing affix and an empty one alike."""
    return "" if value is None and flag in ("continuing_subword_prefix", "end_of_word_suffix") else value
