"""generation_config.json of a full-weight upload: every key decided against transformers 5's
GenerationConfig and what vLLM 0.32 takes from it.

vLLM reads only eight sampling defaults and eos_token_id (V config/model.py#L1869-1887,
sampling_params.py#L787-800); out of the ranges `SamplingParams._verify_args` accepts, every request
that does not override them fails (V sampling_params.py#L631-735), so those ranges are the check.
Keys that transformers' generate() honours but vLLM ignores are refused unless they hold
transformers' default: the two engines would otherwise serve differently. The special token ids
must equal the base's: the public facts for builtin bases, the operator's reference
generation_config.json otherwise, or they are recorded as not compared. No I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final

from pydantic import Field

from modelport.catalog.catalog import BaseModel
from modelport.domain import reasons
from modelport.domain.reasons import Reason
from modelport.strict_json import JsonFileError, parse_json
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, inert, not_compared, refused, screen
from modelport.validation.file_policy import GENERATION_CONFIG
from modelport.validation.findings import Findings
from modelport.validation.model_config_keys import EosIds, TokenId
from modelport.validation.upload import RuleContext

# Every builtin base stops on <|im_end|> and <|endoftext|> and pads with <|endoftext|> (confidence
# high: /work/research/qwen-tokenizer-facts.md, sources EOS-QWEN, GEN-Q3, GEN-Q25VL).
BUILTIN_IDS: Final[Mapping[str, Any]] = {
    "eos_token_id": [151645, 151643],
    "bos_token_id": 151643,
    "pad_token_id": 151643,
}
_TOKEN_NAMES: Final = {151645: "<|im_end|>", 151643: "<|endoftext|>"}
_VLLM = "V config/model.py#L1869-1887, sampling_params.py#L631-735"
_REJECTS = "(vLLM rejects every request otherwise)"
_T_ONLY = "changes how transformers generates but vLLM ignores it, so the two would serve differently; remove it."
_T_ONLY_CITE = "T generation/configuration_utils.py#L606-660; V config/model.py#L1869-1887"

# generate() options vLLM ignores, with transformers' default (T _get_default_generation_params,
# generation/configuration_utils.py#L606-660; None where it has none). Speculative decoding knobs too.
TRANSFORMERS_ONLY: Final[Mapping[str, Any]] = {
    "max_length": 20, "min_length": 0, "min_new_tokens": None, "max_time": None, "early_stopping": False,
    "num_beams": 1, "num_beam_groups": 1, "diversity_penalty": 0.0, "length_penalty": 1.0,
    "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0, "encoder_repetition_penalty": 1.0,
    "bad_words_ids": None, "force_words_ids": None, "constraints": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "sequence_bias": None, "forced_bos_token_id": None, "forced_eos_token_id": None,
    "exponential_decay_length_penalty": None, "renormalize_logits": None, "remove_invalid_values": False,
    "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "top_h": None, "penalty_alpha": None,
    "guidance_scale": None, "low_memory": None, "stop_strings": None, "token_healing": None,
    "watermarking_config": None, "num_return_sequences": 1, "dola_layers": None,
    "assistant_confidence_threshold": 0.4, "assistant_early_exit": None, "assistant_ensemble_weight": None,
    "assistant_lookbehind": 10, "is_assistant": None, "num_assistant_tokens": 20,
    "num_assistant_tokens_schedule": "constant", "prompt_lookup_num_tokens": None, "max_matching_ngram_size": None,
    "use_mtp": None, "speculation_type": None, "target_lookbehind": 10,
}  # fmt: skip
_CODE = refused(
    "custom generation code (a Hub repository's generate.py)", "T generation/utils.py custom_generate",
    "points at custom generation code; remote code is never run.",
)  # fmt: skip
_PERFORMANCE = "performance or return format of transformers' generate() only; vLLM ignores it"


def _t_only_rule(default: Any) -> str:
    accepted = "null" if default is None else f"null or {json.dumps(default)}, transformers' default"
    return (
        f"honoured by transformers' generate(), ignored by vLLM ([run] stop_strings, num_beams_4); accepted: {accepted}"
    )


def _range(expect: str) -> KeyRule:
    return checked("a vLLM sampling default for every request", _VLLM, f"{expect} {_REJECTS}")


class GenerationDocument(ConfigDocument):
    FILE: ClassVar[str] = GENERATION_CONFIG
    SCHEMA_REASON: ClassVar[Reason] = reasons.FULL_GENERATION_CONFIG
    REFUSED_REASON: ClassVar[Reason] = reasons.FULL_GENERATION_CONFIG_REFUSED
    UNKNOWN: ClassVar[KeyRule] = refused(
        "setattr'd by GenerationConfig and kept in its to_diff_dict; vLLM reads only its nine keys, and a future "
        "generate() may honour it",
        "T generation/configuration_utils.py#L505-514",
        "is not a GenerationConfig setting known to transformers 5; remove it.",
    )

    temperature: Annotated[float | None, _range("a number between 0 and 2")] = Field(
        None, ge=0, le=2, allow_inf_nan=False
    )
    top_p: Annotated[float | None, _range("a number in (0, 1]")] = Field(None, gt=0, le=1, allow_inf_nan=False)
    top_k: Annotated[
        int | None, _range("an integer of at least -1 (a JSON integer: 20.0 fails vLLM's isinstance check)")
    ] = Field(None, ge=-1)
    min_p: Annotated[float | None, _range("a number in [0, 1]")] = Field(None, ge=0, le=1, allow_inf_nan=False)
    repetition_penalty: Annotated[float | None, _range("a positive number up to 2")] = Field(
        None, gt=0, le=2, allow_inf_nan=False
    )
    presence_penalty: Annotated[
        float | None,
        checked("not a GenerationConfig attribute, yet setattr'd and read by vLLM", _VLLM, f"in [-2, 2] {_REJECTS}"),
    ] = Field(None, ge=-2, le=2, allow_inf_nan=False)
    frequency_penalty: Annotated[
        float | None,
        checked("not a GenerationConfig attribute, yet setattr'd and read by vLLM", _VLLM, f"in [-2, 2] {_REJECTS}"),
    ] = Field(None, ge=-2, le=2, allow_inf_nan=False)
    max_new_tokens: Annotated[
        int | None,
        checked("vLLM's default max_tokens; T generate's length", _VLLM, "an integer of at least 1, at most the "
                "base's max_position_embeddings"),
    ] = Field(None, ge=1)  # fmt: skip
    eos_token_id: Annotated[
        EosIds | None,
        checked("every id becomes a stop token in vLLM (the primary EOS is the tokenizer's); T stops on any",
                "V sampling_params.py#L787-800", "a token id or a non-empty list of distinct token ids, equal as a "
                "set to the base's"),
    ] = None  # fmt: skip
    bos_token_id: Annotated[
        TokenId | None, checked("not read by vLLM; T generate uses it", "V config/model.py#L1869-1887", "a token id")
    ] = None
    pad_token_id: Annotated[
        TokenId | None, checked("not read by vLLM; T generate pads with it", "T generation/utils.py", "a token id")
    ] = None
    decoder_start_token_id: Annotated[
        TokenId | None, checked("encoder-decoder models only; not read by vLLM", "T generation/utils.py", "a token id")
    ] = None
    do_sample: Annotated[
        bool | None,
        checked("T decodes greedily when false; vLLM ignores it and samples whenever temperature > 0",
                "V config/model.py#L1869-1887; [run] do_sample_false", "true or false"),
    ] = None  # fmt: skip
    transformers_version: Annotated[
        str | None, inert("recorded at save", "T generation/configuration_utils.py#L501")
    ] = Field(None, max_length=64)
    from_model_config: Annotated[
        bool | None,
        inert("metadata: the config was derived from config.json", "T generation/configuration_utils.py#L500"),
    ] = Field(None, alias="_from_model_config")
    commit_hash: Annotated[Any, inert("popped and unused", "T generation/configuration_utils.py#L499")] = Field(
        None, alias="_commit_hash"
    )
    use_cache: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    cache_implementation: Annotated[str | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = Field(
        None, max_length=64
    )
    cache_config: Annotated[dict[str, Any] | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    max_cache_len: Annotated[int | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = Field(None, ge=1)
    compile_config: Annotated[dict[str, Any] | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    disable_compile: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    prefill_chunk_size: Annotated[int | None, inert(_PERFORMANCE, "T generation/configuration_utils.py#L495")] = Field(
        None, ge=1
    )
    continuous_batching_config: Annotated[
        dict[str, Any] | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")
    ] = None
    output_attentions: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    output_hidden_states: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    output_scores: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    output_logits: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    return_dict_in_generate: Annotated[bool | None, inert(_PERFORMANCE, "T generation/configuration_utils.py")] = None
    auto_map: Annotated[Any, _CODE] = None
    custom_generate: Annotated[Any, _CODE] = None
    trust_remote_code: Annotated[Any, _CODE] = None

    @classmethod
    def rules(cls) -> dict[str, KeyRule]:
        only = {
            key: refused(_t_only_rule(default), _T_ONLY_CITE, _T_ONLY, unset=(default,))
            for key, default in TRANSFORMERS_ONLY.items()
        }
        return {**only, **super().rules()}


def check_generation_config(context: RuleContext) -> None:
    findings = context.findings
    base = context.upload.base
    before = findings.error_count
    valid, _ = screen(GenerationDocument, context.upload.documents[GENERATION_CONFIG], findings)
    if valid is not None:
        _check_length(valid, base, findings)
        ids_before = findings.error_count
        _check_ids(valid, base, findings)
        if findings.error_count == ids_before:  # an id outside the vocabulary differs from the base's anyway
            _compare_ids(valid, base, findings)
        _check_sampling(valid, findings)
    detail = None
    if valid is not None and valid.do_sample is False and (valid.temperature is None or valid.temperature > 0):
        detail = "do_sample is false: transformers decodes greedily, but vLLM ignores do_sample and samples"
    findings.checked("full.generation_config", before, detail)


# The values at which a sampling default changes nothing in vLLM (absent, or its neutral value).
_SAMPLING_OFF: Final = {"temperature": (None, 1), "top_p": (None, 1), "top_k": (None, -1, 0), "min_p": (None, 0)}


def _check_sampling(valid: GenerationDocument, findings: Findings) -> None:
    """transformers' generate() ignores the sampling defaults unless do_sample is true (and warns);
    vLLM reads them as every request's defaults and samples. temperature 0 is greedy in both."""
    if valid.do_sample is True or valid.temperature == 0:
        return
    values = {name: getattr(valid, name) for name in _SAMPLING_OFF}
    in_effect = [f"{name} {value}" for name, value in values.items() if value not in _SAMPLING_OFF[name]]
    if in_effect:
        findings.warning(
            reasons.FULL_GENERATION_SAMPLING_IGNORED,
            f"{GENERATION_CONFIG}: {', '.join(in_effect)} without do_sample: true; transformers decodes greedily and "
            "ignores them, vLLM samples with them, so the two engines answer differently. Set do_sample to true, "
            "or remove them.",
            file=GENERATION_CONFIG,
        )


def _check_ids(valid: GenerationDocument, base: BaseModel, findings: Findings) -> None:
    vocab = base.architecture.vocab_size
    for key in ("eos_token_id", "bos_token_id", "pad_token_id", "decoder_start_token_id"):
        ids = _ids(getattr(valid, key))
        outside = [i for i in ids if i >= vocab]
        if outside:
            findings.error(
                reasons.FULL_GENERATION_CONFIG,
                f"generation_config.json: {key} {_shown(getattr(valid, key))} is outside the vocabulary of {base.id} "
                f"(0-{vocab - 1}), so it could never be generated.",
                file=GENERATION_CONFIG,
            )
        elif len(set(ids)) != len(ids):
            findings.error(
                reasons.FULL_GENERATION_CONFIG,
                f"generation_config.json: {key} {_shown(getattr(valid, key))} lists a token id twice.",
                file=GENERATION_CONFIG,
            )


def _check_length(valid: GenerationDocument, base: BaseModel, findings: Findings) -> None:
    text = base.config.get("text_config")
    limit = (text if isinstance(text, dict) else base.config).get("max_position_embeddings")
    if valid.max_new_tokens is not None and isinstance(limit, int) and valid.max_new_tokens > limit:
        findings.error(
            reasons.FULL_GENERATION_CONFIG,
            f"generation_config.json: max_new_tokens must be an integer from 1 to {limit} (the context of {base.id}); "
            f"found {valid.max_new_tokens}.",
            file=GENERATION_CONFIG,
        )


def _compare_ids(valid: GenerationDocument, base: BaseModel, findings: Findings) -> None:
    reference, sources = _reference_ids(base)
    if not reference:
        not_compared(
            findings,
            "full.generation_config.base",
            f"{base.id} has no reference generation_config.json with token ids in the catalog",
        )
        return
    before = findings.error_count
    expected_eos = reference.get("eos_token_id")
    if expected_eos is not None and set(_ids(valid.eos_token_id)) != set(_ids(expected_eos)):
        findings.error(
            reasons.FULL_GENERATION_CONFIG_MISMATCH,
            f"generation_config.json: eos_token_id is {_shown(valid.eos_token_id)}; {sources['eos_token_id']} stops on "
            f"{_shown(expected_eos)}{_names(expected_eos)}.",
            file=GENERATION_CONFIG,
        )
    for key in ("bos_token_id", "pad_token_id"):
        found, expected = getattr(valid, key), reference.get(key)
        if found is not None and expected is not None and _ids(found) != _ids(expected):
            findings.error(
                reasons.FULL_GENERATION_CONFIG_MISMATCH,
                f"generation_config.json: {key} is {found}; {sources[key]} uses {_shown(expected)}.",
                file=GENERATION_CONFIG,
            )
    detail = "; ".join(f"{key} compared with {sources[key]}" for key in BUILTIN_IDS if key in reference)
    findings.checked("full.generation_config.base", before, detail)


def _reference_ids(base: BaseModel) -> tuple[Mapping[str, Any] | None, Mapping[str, str]]:
    """The token ids to hold the upload to, and where each comes from: the operator's reference file
    where it has them, then the builtin facts."""
    ids: dict[str, Any] = dict(BUILTIN_IDS) if base.origin == "builtin" else {}
    sources = dict.fromkeys(ids, base.id)
    raw = base.reference_files.get(GENERATION_CONFIG)
    document = None
    if raw is not None:
        try:
            document = parse_json(raw)  # parsed and checked when the catalog loaded, so this cannot fail
        except JsonFileError:
            document = None
    if isinstance(document, dict):
        for key in BUILTIN_IDS:
            if _is_ids(document.get(key)):
                ids[key] = document[key]
                sources[key] = f"the reference generation_config.json of {base.id}"
    return (ids or None), sources


def _is_ids(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _ids(value: Any) -> list[int]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]


def _names(value: Any) -> str:
    names = [_TOKEN_NAMES[i] for i in _ids(value) if i in _TOKEN_NAMES]
    return f" ({', '.join(names)})" if names and len(names) == len(_ids(value)) else ""


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value[:16]) + "]"
    return "null" if value is None else str(value)
