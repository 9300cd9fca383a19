"""tokenizer_config.json: every key transformers 5's tokenizer loading knows, decided against what it
(and so vLLM, which loads tokenizers with AutoTokenizer) does with it (docs/config-keys.md §4), and
the values compared with the base's.

Every key of this file reaches the tokenizer constructor, so a key transformers does not know is
refused: a string-valued `*_token` key adds a token, a method name fails the load, and names the
backend consumes change how the tokenizer is built. Values are compared as the loader would see
them: an absent eos_token, pad_token or unk_token is Qwen2Tokenizer's default `<|endoftext|>`
(`models/qwen2/tokenization_qwen2.py#L45-48`), not the base's value; the chat template is the
template rules' business (chat_templates.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, inert, refused, screen
from modelport.validation.findings import Findings
from modelport.validation.special_tokens import (
    DEFAULTS,
    SPECIAL_TOKENS,
    SpecialToken,
    Token,
    check_token_lists,
    compare_setting,
    compare_special,
)
from modelport.validation.token_ids import (
    AddedToken,
    check_contiguous,
    parse_token_id,
    shown,
    table_from_mapping,
    token_entry,
)
from modelport.validation.tokenizer_reference import BaseTokenizer, Known
from modelport.validation.vocabulary import compare_added

FILE: Final = "tokenizer_config.json"
T = "transformers 5"
B = f"{T} tokenization_utils_base.py"
Q = f"{T} models/qwen2/tokenization_qwen2.py"
_ADDS = "a string not among the added tokens is added as a new token"
_ERRORS = Literal["strict", "ignore", "replace", "backslashreplace", "surrogateescape", "surrogatepass", "xmlcharrefreplace", "namereplace"]  # fmt: skip


Length = Annotated[int, Field(ge=1, lt=2**31)]


class TokenizerConfigFile(ConfigDocument):
    FILE: ClassVar[str] = FILE
    SCHEMA_REASON = reasons.TOKENIZER_SCHEMA
    REFUSED_REASON = reasons.TOKENIZER_REFUSED_KEY
    UNKNOWN: ClassVar[KeyRule] = refused(f"{T}: passed to the tokenizer constructor: *_token strings add tokens, method names fail the load, backend names change the build", f"{B}#L990-995, #L1038-1047, #L1816-1825; tokenization_utils_tokenizers.py#L366-470", "is not a tokenizer setting transformers 5 knows; unknown keys are passed to the tokenizer constructor and can add tokens or change tokenization. Remove it.")  # fmt: skip

    # -- what tokenizer is built, and its tokens -----------------------------------------------------
    tokenizer_class: Annotated[Literal["Qwen2Tokenizer", "Qwen2TokenizerFast"] | None, checked(f"{T}: any other class honours tokenizer.json's own pipeline (TokenizersBackend) or another model's (LlamaTokenizer)", f"{T} models/auto/tokenization_auto.py#L818-960; [run] exp_tokenizer_class", '"Qwen2Tokenizer" (or "Qwen2TokenizerFast"); another class tokenizes differently')] = None  # fmt: skip
    added_tokens_decoder: Annotated[dict[str, Any], checked(f"{T}: keys read with int(); tokens added in sorted key order, ids assigned by position", f"{B}#L1852-1860; tokenization_utils_tokenizers.py#L468-503", "an object of token ids to added-token objects")] = Field(default_factory=dict)  # fmt: skip
    additional_special_tokens: Annotated[list[str | SpecialToken] | None, checked(f"{T}: becomes extra_special_tokens; {_ADDS}", f"{B}#L1812-1814", "a list of token strings")] = None  # fmt: skip
    extra_special_tokens: Annotated[list[str | SpecialToken] | dict[str, str] | None, checked(f"{T}: extra (list) or named (object) special tokens; {_ADDS}", f"{B}#L1032-1040, #L1824-1826", "a list of token strings, or an object of names to token strings")] = None  # fmt: skip
    eos_token: Annotated[Token, checked(f"{T}: the tokenizer's EOS, vLLM's primary stop token; absent means <|endoftext|>; {_ADDS}", f"{B}#L1020-1030; {Q}#L45-48; vllm sampling_params.py#L772-784", "a token string or AddedToken object")] = None  # fmt: skip
    pad_token: Annotated[Token, checked(f"{T}: padding in batches; absent means <|endoftext|>", f"{B}#L1020-1030; {Q}#L45-48", "a token string or AddedToken object")] = None  # fmt: skip
    bos_token: Annotated[Token, checked(f"{T}: the BOS token (Qwen has none)", f"{B}#L1020-1030; {Q}#L45-48", "a token string, an AddedToken object or null")] = None  # fmt: skip
    unk_token: Annotated[Token, checked(f"{T}: the unknown token; byte-level BPE never emits it", f"{B}#L1020-1030; {Q}#L45-48", "a token string, an AddedToken object or null")] = None  # fmt: skip
    sep_token: Annotated[None, checked(f"{T}: a special attribute; {_ADDS}", f"{B}#L980-988", "null: Qwen tokenizers have no sep_token")] = None  # fmt: skip
    cls_token: Annotated[None, checked(f"{T}: a special attribute; {_ADDS}", f"{B}#L980-988", "null: Qwen tokenizers have no cls_token")] = None  # fmt: skip
    mask_token: Annotated[None, checked(f"{T}: a special attribute; {_ADDS}", f"{B}#L980-988", "null: Qwen tokenizers have no mask_token")] = None  # fmt: skip

    # -- how text is tokenized and decoded -----------------------------------------------------------
    split_special_tokens: Annotated[bool, checked(f"{T}: true tokenizes <|im_end|> as plain text", f"{B}#L1074; tokenization_utils_tokenizers.py#L466", "true or false")] = False  # fmt: skip
    add_prefix_space: Annotated[bool | None, checked(f"{T}: Qwen2Tokenizer's ByteLevel flag; true prepends a space token", f"{Q}#L52, #L83", "true, false or null")] = None  # fmt: skip
    clean_up_tokenization_spaces: Annotated[bool, checked(f"{T}: decode post-processing (' .' becomes '.')", f"{B}#L1068", "true or false")] = False  # fmt: skip
    model_max_length: Annotated[Length | None, checked(f"{T}: the truncation limit (null: none); vllm: max_model_len = min(derived, this)", f"{B}#L1050-1051; vllm config/model.py#L2552-2557", "an integer from 1 to 2^31 - 1, or null")] = None  # fmt: skip
    max_len: Annotated[Length | None, checked(f"{T}: the old name of model_max_length", f"{B}#L1050", "an integer from 1 to 2^31 - 1, or null")] = None  # fmt: skip
    chat_template: Annotated[str | None, checked(f"{T}: the prompt program (chat_template.jinja overrides it); a list or object gives named templates", f"{B}#L1078-1082, #L1784-1801, #L3248-3262", "a single template string (named templates, such as tool_use, are selected for tool calls)", reasons.TOKENIZER_EXTRA_TEMPLATES)] = Field(default=None, max_length=65536)  # fmt: skip
    model_input_names: Annotated[list[str] | None, checked(f"{T}: the tensors the tokenizer returns", f"{B}#L1065", '["input_ids", "attention_mask"]')] = None  # fmt: skip
    processor_class: Annotated[str | None, checked(f"{T}: AutoProcessor's fallback for the processor class (VL templates)", f"{T} models/auto/processing_auto.py#L286-297", "null or the base's processor class")] = None  # fmt: skip
    init_inputs: Annotated[list[Any], checked(f"{T}: passed positionally to the tokenizer class", f"{B}#L1774-1776", "an empty list")] = Field(default_factory=list, max_length=0)  # fmt: skip

    # -- inert: popped, overwritten or unused by the Rust-backed tokenizer ---------------------------
    errors: Annotated[_ERRORS, inert(f"{T}: unused by the Rust-backed decode", "[run] exp_tokenizer tc_errors_strict", "a Python codec error handler name")] = "replace"  # fmt: skip
    add_bos_token: Annotated[bool, inert(f"{T}: dropped when tokenizer.json exists (it always does for Qwen)", f"{B}#L1780-1782", "true or false")] = False  # fmt: skip
    add_eos_token: Annotated[bool, inert(f"{T}: dropped when tokenizer.json exists", f"{B}#L1780-1782", "true or false")] = False  # fmt: skip
    padding_side: Annotated[Literal["left", "right"], inert(f"{T}: batch padding only; other values fail the load", f"{B}#L1053-1058", '"left" or "right"')] = "right"  # fmt: skip
    truncation_side: Annotated[Literal["left", "right"], inert(f"{T}: truncation only; other values fail the load", f"{B}#L1060-1064", '"left" or "right"')] = "right"  # fmt: skip
    backend: Annotated[str | None, inert(f"{T}: bookkeeping, overwritten", f"{B}#L1094")] = None  # fmt: skip
    files_loaded: Annotated[list[str] | None, inert(f"{T}: bookkeeping", f"{B}#L1095")] = None  # fmt: skip
    name_or_path: Annotated[str | None, inert(f"{T}: overwritten at load", f"{B}#L1843")] = None  # fmt: skip
    is_local: Annotated[bool | None, inert(f"{T}: overwritten at load", f"{B}#L1844")] = None  # fmt: skip
    local_files_only: Annotated[bool | None, inert(f"{T}: overwritten at load", f"{B}#L1845")] = None  # fmt: skip
    tokenizer_file: Annotated[str | None, inert(f"{T}: replaced by the resolved file path", f"{B}#L1832-1840")] = None  # fmt: skip
    vocab_file: Annotated[str | None, inert(f"{T}: replaced by the resolved file path", f"{B}#L1832-1840")] = None  # fmt: skip
    merges_file: Annotated[str | None, inert(f"{T}: replaced by the resolved file path", f"{B}#L1832-1840")] = None  # fmt: skip
    response_template: Annotated[str | None, inert(f"{T}: stored for the response parser only", f"{B}#L1084")] = None  # fmt: skip
    response_schema: Annotated[Any, inert(f"{T}: dropped silently", f"{B}#L1085")] = None  # fmt: skip

    # -- refused -------------------------------------------------------------------------------------
    fast_tokenizer_files: Annotated[Any, refused(f"{T}: loads another tokenizer file instead of tokenizer.json", f"{B}#L1656-1660", "makes transformers load a different tokenizer file than tokenizer.json; remove it.")] = None  # fmt: skip
    auto_map: Annotated[Any, refused(f"{T}: custom tokenizer or processor code (trust_remote_code)", f"{T} models/auto/tokenization_auto.py#L822-828", "points at custom tokenizer code; remote code is never run.", reasons.FILES_AUTO_MAP)] = None  # fmt: skip


_FLAGS: Final[dict[str, tuple[tuple[type, ...], str]]] = {
    "split_special_tokens": ((bool,), "true makes <|im_start|> and <|im_end|> ordinary text"),
    "add_prefix_space": ((bool, type(None)), "true adds a space token before every input"),
    "clean_up_tokenization_spaces": ((bool,), "it changes decoded text (' .' becomes '.')"),
    "model_max_length": ((int, type(None)), "vLLM caps the served context at model_max_length"),
    "max_len": ((int, type(None)), "vLLM caps the served context at it"),
}
_INPUT_NAMES: Final = ["input_ids", "attention_mask"]
_PROCESSORS: Final = {"qwen2_5_vl": "Qwen2_5_VLProcessor", "qwen3_vl": "Qwen3VLProcessor"}


@dataclass(frozen=True)
class ShippedConfig:
    document: dict[str, Any]  # the parsed file (it is an object)
    added: list[AddedToken] | None  # added_tokens_decoder in the order transformers adds it, when valid


def check_tokenizer_config(
    document: Any, base: BaseTokenizer, findings: Findings, *, start: int | None, embedding_rows: int, known: set[str]
) -> ShippedConfig | None:
    """`start`: where the BPE vocabulary ends; `known`: the token strings the tokenizer will hold."""
    screen(TokenizerConfigFile, document, findings)
    if not isinstance(document, dict):
        return None
    added = _check_added_tokens(document.get("added_tokens_decoder"), base, findings, start, embedding_rows)
    known = known | {token.content for token in added or []}
    for key in SPECIAL_TOKENS:
        value = document.get(key, DEFAULTS[key])
        if value is None or isinstance(value, str | dict):  # another type is the schema's finding
            compare_special(FILE, key, value, base, findings, known, absent=key not in document)
    for key, (types, effect) in _FLAGS.items():
        if key in document and type(document[key]) in types:
            compare_setting(FILE, key, document[key], base, findings, effect)
    check_token_lists(FILE, document, base, findings, known)
    _check_model_inputs(document, base, findings)
    return ShippedConfig(document, added)


def _check_added_tokens(
    decoder: Any, base: BaseTokenizer, findings: Findings, start: int | None, embedding_rows: int
) -> list[AddedToken] | None:
    if not isinstance(decoder, dict) or not decoder:
        return None
    before = findings.error_count
    entries: dict[int, dict[str, Any]] = {}
    for key, entry in decoder.items():
        token_id, why = parse_token_id(key)
        if why is not None:
            findings.error(
                reasons.TOKENIZER_TOKEN_ID,
                f"{FILE}: added_tokens_decoder key {shown(key)} {why}; write token ids as plain decimals.",
                file=FILE,
            )
        valid = token_entry(FILE, f"added_tokens_decoder[{shown(key)}]", entry, findings, with_id=False)
        if token_id is not None and valid is not None:
            entries[token_id] = valid
    if findings.error_count != before:
        findings.checked(f"{FILE}.added_tokens_decoder.ids", before)
        return None
    tokens = table_from_mapping(entries)
    outside = [token.id for token in tokens if token.id >= embedding_rows]
    if outside:
        findings.error(
            reasons.TOKENIZER_VOCABULARY_CHANGED,
            f"{FILE}: added_tokens_decoder holds token id {max(outside)}, outside {base.id}'s vocabulary (vocab_size "
            f"{embedding_rows}); added tokens would need a resized embedding, which imports do not allow.",
            file=FILE,
        )
    else:
        check_contiguous(FILE, tokens, start, "in sorted key order", findings)
    findings.checked(f"{FILE}.added_tokens_decoder.ids", before, f"{len(tokens)} added tokens")
    compare_added(FILE, tokens, base.added_tokens(), base.id, findings, flags=True)
    return tokens  # valid entries, whatever the comparisons found: the files must still agree


def _check_model_inputs(document: dict[str, Any], base: BaseTokenizer, findings: Findings) -> None:
    names = document.get("model_input_names")
    if isinstance(names, list) and names != _INPUT_NAMES:
        findings.error(
            reasons.TOKENIZER_CHANGED,
            f"{FILE}: model_input_names is {shown(names)}; Qwen models take {_INPUT_NAMES}.",
            file=FILE,
        )
    processor = document.get("processor_class")
    if isinstance(processor, str):
        expected = base.config_value("processor_class")
        wanted = expected.value if isinstance(expected, Known) else _PROCESSORS.get(base.base.architecture.model_type)
        if processor != wanted:
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{FILE}: processor_class {shown(processor)} would make AutoProcessor load a different processor "
                f"(and chat template) than {base.id}'s {shown(wanted)}.",
                file=FILE,
            )
