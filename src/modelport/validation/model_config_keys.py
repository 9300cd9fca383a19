"""The keys every transformers config carries (PreTrainedConfig's own, and what its __post_init__
pops), and the pieces the config.json tables are built from: `Compared` keys, strict floats, the
refusal for keys a config class does not declare.

Field types mirror transformers' `@strict` dataclass types (a wrong JSON type fails the load there,
so it is a finding here). A `Compared` key must also equal the base's value after the normalisation
transformers applies (`config_normal`); each document's DEFAULTS are its config class's defaults,
which is what an absent key means. Declarations only; `model_config` applies them. Citations:
T = transformers 5.19 `transformers/…`, V = vLLM 0.32 `vllm/…`, [run] = /work/research experiments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from modelport.domain import reasons
from modelport.domain.reasons import Reason
from modelport.validation.config_keys import ConfigDocument, Decision, KeyRule, checked, inert, refused
from modelport.validation.file_policy import MODEL_CONFIG


@dataclass(frozen=True)
class Compared(KeyRule):
    """A checked key that must also equal the base's (normalised) value. `differs` is the sentence
    after "config.json: " when it does not, with {key} (its path), {found}, {base} (the base's id) and
    {expected} (the base's value)."""

    differs: str = "{key} is {found}; {base} has {expected} — was the model trained from another base?"


def same(engines: str, cite: str, expect: str, differs: str = "") -> Compared:
    if differs:
        return Compared(Decision.CHECKED, engines, cite, expect, differs=differs)
    return Compared(Decision.CHECKED, engines, cite, expect)


def absent(**constraints: Any) -> Any:
    """A field the file may leave out (the config class then uses its default, in DEFAULTS) but that
    transformers' strict types refuse as null; typed Any so mypy accepts it as an int's default."""
    return Field(None, **constraints)


def _only_float(value: Any) -> Any:
    # huggingface_hub's @strict refuses an int for a float field (rms_norm_eps: 1 fails the load).
    if isinstance(value, int) and not isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a decimal number, not an integer")
    return value


JsonFloat = Annotated[float, BeforeValidator(_only_float)]
Dtype = Literal["bfloat16", "float16", "float32", "half", "float"]
TokenId = Annotated[int, Field(ge=0)]
EosIds = TokenId | Annotated[list[TokenId], Field(min_length=1, max_length=16)]

_RUNTIME = "is set; it changes the model's runtime behaviour."
_CLASSIFIER = "describes a classification head; chat models have none."

# Keys of GenerationConfig._get_default_generation_params() that PreTrainedConfig.__post_init__ pops
# and drops from a model config (T configuration_utils.py#L359-360). use_cache is a model field.
GENERATION_KEYS: frozenset[str] = frozenset(
    {
        "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "temperature", "top_k", "top_p",
        "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
        "bad_words_ids", "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
        "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
        "begin_suppress_tokens", "epsilon_cutoff", "eta_cutoff", "encoder_repetition_penalty",
        "num_assistant_tokens", "num_assistant_tokens_schedule", "assistant_confidence_threshold",
        "assistant_lookbehind", "target_lookbehind", "num_beam_groups", "diversity_penalty",
    }
)  # fmt: skip
_GENERATION_RULE = inert(
    "ignored: popped and dropped when transformers loads the config, never read by vLLM; put sampling defaults "
    "in generation_config.json",
    "T configuration_utils.py#L359-360, generation/configuration_utils.py#L606-660",
)


ARCHITECTURES = same(
    "V picks the model class from it; T AutoModel uses model_type ([run] a mismatch still loads in T)",
    "V model_executor/models/registry.py; [run] exp_config_json architectures_qwen2",
    "a list of class names",
    "{key} is {found}; {base} is {expected}. A full fine-tune must keep the base architecture.",
)
MODEL_TYPE = same(
    "selects the config and model class in T and V",
    "T models/auto/configuration_auto.py; [run] model_type_qwen2",
    "a model type name",
    "{key} is {found}; {base} is {expected}. A full fine-tune must keep the base architecture.",
)
TIE_WORD_EMBEDDINGS = same(
    "T ties lm_head to embed_tokens and V skips lm_head; Qwen2.5-VL lifts a true text_config value to the top, "
    "and V reads Qwen3-VL's from text_config",
    "T modeling_utils.py#L2484, configuration_qwen2_5_vl.py#L212; V config/model.py#L1254, qwen3_vl.py#L1921",
    "true or false",
    "{key} is {found}; {base} has {expected} (lm_head would be dropped or duplicated).",
)


class CommonKeys(ConfigDocument):
    """PreTrainedConfig's own keys and what its __post_init__ pops (T configuration_utils.py#L300-395)."""

    FILE: ClassVar[str] = MODEL_CONFIG
    SCHEMA_REASON: ClassVar[Reason] = reasons.FULL_CONFIG_SCHEMA
    REFUSED_REASON: ClassVar[Reason] = reasons.FULL_CONFIG_REFUSED
    CONFIG_CLASS: ClassVar[str] = "PreTrainedConfig"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {}

    transformers_version: Annotated[
        str | None, inert("recorded at save; no model code reads it", "T configuration_utils.py#L300")
    ] = absent(max_length=64)
    dtype: Annotated[
        Dtype | None,
        same(
            "compute dtype: T loads in it with dtype='auto', V's dtype=auto serves in it",
            "T configuration_utils.py#L317-325; V transformers_utils/model_arch_config_convertor.py get_torch_dtype",
            "bfloat16, float16 or float32",
        ),
    ] = None
    torch_dtype: Annotated[
        Dtype | None,
        checked("the legacy name of dtype; dtype wins when both are set", "T configuration_utils.py#L317-325",
                "bfloat16, float16 or float32"),
    ] = None  # fmt: skip
    output_hidden_states: Annotated[
        Any, refused("returns every layer's states", "T configuration_utils.py#L304", _RUNTIME, unset=(False,))
    ] = None
    return_dict: Annotated[
        Any, refused("the output container type", "T configuration_utils.py#L305", _RUNTIME, unset=(True,))
    ] = None
    chunk_size_feed_forward: Annotated[
        Any, refused("chunks the feed-forward pass", "T configuration_utils.py#L307", _RUNTIME, unset=(0,))
    ] = None
    is_encoder_decoder: Annotated[
        Any, refused("switches generation to encoder-decoder", "T configuration_utils.py#L308", _RUNTIME)
    ] = None
    output_attentions: Annotated[
        Any, refused("forces eager attention (its setter)", "T configuration_utils.py#L369", _RUNTIME)
    ] = None
    id2label: Annotated[
        Any,
        refused("classification heads only; keys go through int()", "T configuration_utils.py#L339", _CLASSIFIER,
                unset=({"0": "LABEL_0", "1": "LABEL_1"},)),
    ] = None  # fmt: skip
    label2id: Annotated[
        Any,
        refused("classification heads only", "T configuration_utils.py#L312", _CLASSIFIER,
                unset=({"LABEL_0": 0, "LABEL_1": 1},)),
    ] = None  # fmt: skip
    num_labels: Annotated[
        Any, refused("classification heads only", "T configuration_utils.py#L332", _CLASSIFIER, unset=(2,))
    ] = None
    problem_type: Annotated[Any, refused("classification loss only", "T configuration_utils.py#L313", _CLASSIFIER)] = (
        None
    )
    name_or_path: Annotated[str | None, inert("overwritten by from_pretrained", "T configuration_utils.py#L362")] = (
        absent(max_length=4096)
    )
    stored_name_or_path: Annotated[
        str | None, inert("overwritten by from_pretrained", "T configuration_utils.py#L362")
    ] = absent(alias="_name_or_path", max_length=4096)
    commit_hash: Annotated[Any, inert("popped and unused", "T configuration_utils.py#L365")] = absent(
        alias="_commit_hash"
    )
    attn_implementation: Annotated[
        Any,
        refused("popped into _attn_implementation and honoured (eager, flash, a Hub kernel that fetches code)",
                "T configuration_utils.py#L370; [run] exp_config_json attn_implementation_eager",
                "is a runtime choice of the serving engine, not part of the model; remove it."),
    ] = None  # fmt: skip
    experts_implementation: Annotated[
        Any, refused("popped and honoured", "T configuration_utils.py#L371", "changes how layers are built; remove it.")
    ] = None
    per_layer_config: Annotated[
        Any,
        refused("overrides attributes per layer", "T configuration_utils.py#L374", "changes how layers are built; "
                "remove it."),
    ] = None  # fmt: skip
    attn_internal: Annotated[
        Any, refused("internal state", "T configuration_utils.py#L380", "changes how layers are built; remove it.")
    ] = absent(alias="_attn_implementation_internal")
    experts_internal: Annotated[
        Any, refused("internal state", "T configuration_utils.py#L380", "changes how layers are built; remove it.")
    ] = absent(alias="_experts_implementation_internal")
    auto_map: Annotated[
        Any,
        refused("remote model code under trust_remote_code", "T models/auto/configuration_auto.py",
                "points at custom model code; remote code is never run."),
    ] = None  # fmt: skip
    quantization_config: Annotated[
        Any,
        refused("T applies a quantizer; V reads it, also from text_config", "V model_loader/weight_utils.py#L236-240",
                "declares a quantized checkpoint; only unquantized bfloat16 weights can be imported.",
                reasons.FULL_QUANTIZED),
    ] = None  # fmt: skip
    compression_config: Annotated[
        Any,
        refused("V treats it as a compressed-tensors quantization config",
                "V transformers_utils/model_arch_config_convertor.py#L263-267, weight_utils.py#L239-243",
                "declares a quantized checkpoint; only unquantized bfloat16 weights can be imported.",
                reasons.FULL_QUANTIZED),
    ] = None  # fmt: skip
    tokenizer_class: Annotated[
        Literal["Qwen2Tokenizer", "Qwen2TokenizerFast"] | None,
        checked("AutoTokenizer uses it when tokenizer_config.json names no class",
                "T models/auto/tokenization_auto.py#L962-967", "Qwen2Tokenizer or Qwen2TokenizerFast (another "
                "class would load a different tokenizer)"),
    ] = None  # fmt: skip

    @classmethod
    def rules(cls) -> dict[str, KeyRule]:
        return {**dict.fromkeys(GENERATION_KEYS, _GENERATION_RULE), **super().rules()}


def unknown_rule(config_class: str) -> KeyRule:
    return refused(
        f"not a {config_class} field: set as an attribute, and both stacks read attributes generically "
        "(is_causal makes attention bidirectional, transformers_weights loads another file); accepted only when "
        "the base's own config.json carries it with the same value",
        "T configuration_utils.py#L376-383, masking_utils.py#L918; V models/qwen2.py#L249-263, qwen3.py#L197-209",
        f"is not a field of {config_class}; transformers and vLLM read unknown config keys as model attributes, "
        "so it could change the model. Remove it.",
    )
