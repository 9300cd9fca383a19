"""adapter_config.json: every key PEFT 0.21's LoraConfig knows, decided against what PEFT and vLLM
0.32 do with it (the decisions and their sources: docs/config-keys.md §1), and the settings the
tensor rules need.

The types are strict (a rank of `true` or `4.0` is refused, `"false"` is not false: both PEFT and
vLLM would take it as true), numbers are finite (the strict JSON parser refuses the rest), and a
key PEFT does not know is refused: PEFT drops it with a warning and vLLM silently, and recent PEFT
releases keep adding variant switches that older loaders ignore. Which modules the adapter
targets is worked out in `lora_targets`; the tensors are checked in `lora_tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from modelport.domain import reasons
from modelport.validation.config_keys import ConfigDocument, KeyRule, checked, inert, refused

FILE = "adapter_config.json"
ALLOWED_RANKS = (8, 16, 32, 64)
P = "peft 0.21"
V = "vllm 0.32"
_VARIANT = "selects a PEFT variant that vLLM does not implement (it would serve a plain LoRA instead)."
_SERVE_VARIANT = reasons.LORA_UNSUPPORTED_VARIANT
# Shorthand for the many variant switches: PEFT honours them, vLLM ignores or refuses them.
_VARIANT_RULE = refused(f"{P}: builds a LoRA variant; {V}: ignores or refuses the key", f"{P} tuners/lora/layer.py#L178-217; {V} lora/peft_helper.py#L56-100", _VARIANT, unset=())  # fmt: skip
ModuleName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.]{1,128}$")]


class AdapterConfigFile(ConfigDocument):
    FILE: ClassVar[str] = FILE
    SCHEMA_REASON = reasons.LORA_CONFIG_SCHEMA
    REFUSED_REASON = _SERVE_VARIANT
    UNKNOWN: ClassVar[KeyRule] = refused(
        f"{P}: dropped with a 'saved with a higher version' warning; {V}: dropped silently",
        f"{P} config.py#L201-227; {V} lora/peft_helper.py#L172",
        "is not a key PEFT 0.21 knows; it may select a feature the serving engine would silently ignore. "
        "Remove it (or export with PEFT 0.21).",
        reasons.LORA_UNKNOWN_KEY,
    )

    # -- what the adapter is ----------------------------------------------------------------------
    peft_type: Annotated[Literal["LORA"], checked(f"{P}: picks the config class (LoRA, LoHa ...); {V}: ignored", f"{P} config.py#L195-197, #L330", "the string \"LORA\"", reasons.LORA_PEFT_TYPE)]  # fmt: skip
    task_type: Annotated[Literal["CAUSAL_LM"] | None, checked(f"{P}: picks the PeftModel subclass; {V}: ignored", f"{P} config.py#L97-100", "\"CAUSAL_LM\" or null")] = None  # fmt: skip
    base_model_name_or_path: Annotated[str | None, inert(f"{P}: only AutoPeftModel downloads it; {V}: ignored", f"{P} auto.py#L113-156")] = Field(default=None, max_length=1024)  # fmt: skip
    revision: Annotated[str | None, inert("only AutoPeftModel", f"{P} auto.py#L113-156")] = Field(default=None, max_length=256)  # fmt: skip
    inference_mode: Annotated[bool, inert(f"{P}: overwritten at load; {V}: ignored", f"{P} peft_model.py#L496")] = True  # fmt: skip
    auto_mapping: Annotated[dict[str, str] | None, checked(f"{P}: AutoPeftModel imports parent_library; {V}: ignored", f"{P} auto.py#L64-73, #L137-150", "null, or the base model's own transformers class and module")] = None  # fmt: skip
    peft_version: Annotated[str | None, inert("filled in when null; no code branches on it", f"{P} config.py#L101-102")] = Field(default=None, max_length=64)  # fmt: skip

    # -- the LoRA itself ---------------------------------------------------------------------------
    r: Annotated[int, checked(f"{P}: nn.Linear(in, r); {V}: scaling only, kernels use the tensors' rank", f"{P} tuners/lora/layer.py#L240, #L263; {V} lora/peft_helper.py#L117", "an integer (the rank)")] = Field(ge=1, le=4096)  # fmt: skip
    lora_alpha: Annotated[float, checked(f"{P} and {V}: scaling = alpha / r (or / sqrt(r)); no type check in either", f"{P} tuners/lora/layer.py#L278-281; {V} lora/peft_helper.py#L117-120", "a finite positive number")] = Field(default=8, gt=0, le=1e6)  # fmt: skip
    use_rslora: Annotated[bool, checked(f"{P} and {V}: scaling alpha / sqrt(r); a string is truthy in both", f"{P} tuners/lora/layer.py#L278; {V} lora/peft_helper.py#L118", "true or false")] = False  # fmt: skip
    target_modules: Annotated[list[ModuleName] | str | None, checked(f"{P}: decides which modules get LoRA (list: name or .suffix; string: re.fullmatch); {V}: only requires the key", f"{P} tuners/tuners_utils.py#L2337-2414; {V} lora/peft_helper.py#L166-169", "a list of module names, \"all-linear\", or a regular expression")] = Field(max_length=256)  # fmt: skip
    exclude_modules: Annotated[list[ModuleName] | str | None, checked(f"{P}: removes modules before targeting; {V}: ignored", f"{P} tuners/tuners_utils.py#L2350-2357", "null, a list of module names, or a regular expression")] = Field(default=None, max_length=256)  # fmt: skip
    layers_to_transform: Annotated[int | list[int] | None, checked(f"{P}: keeps only these layer indexes (list targets only); {V}: ignored", f"{P} tuners/tuners_utils.py#L2378-2414, tuners/lora/config.py#L1041", "null, a layer index or a list of layer indexes")] = None  # fmt: skip
    layers_pattern: Annotated[Literal["layers"] | list[Literal["layers"]] | None, checked(f"{P}: a regex fragment that finds the layer index; {V}: ignored", f"{P} tuners/tuners_utils.py#L2396", "null or \"layers\" (the name of Qwen's decoder layer list)")] = None  # fmt: skip
    rank_pattern: Annotated[dict[str, Annotated[int, Field(ge=1, le=4096)]], checked(f"{P} and {V}: per-module rank, first matching key wins", f"{P} utils/other.py#L1524-1532; {V} lora/peft_helper.py#L122-153", "an object of module names to ranks")] = Field(default_factory=dict, max_length=256)  # fmt: skip
    alpha_pattern: Annotated[dict[str, Annotated[float, Field(gt=0, le=1e6)]], checked(f"{P} and {V}: per-module alpha, first matching key wins", f"{P} tuners/lora/model.py#L310-312; {V} lora/peft_helper.py#L150-153", "an object of module names to finite numbers")] = Field(default_factory=dict, max_length=256)  # fmt: skip
    lora_dropout: Annotated[float, inert(f"{P}: training only (eval mode); {V}: ignored", f"{P} tuners/lora/layer.py#L255-258", "a number from 0 to 1")] = Field(default=0.0, ge=0, le=1)  # fmt: skip
    fan_in_fan_out: Annotated[bool, checked(f"{P}: forced false (with a warning) for nn.Linear; {V}: ignored", f"{P} tuners/lora/layer.py#L2753", "true or false")] = False  # fmt: skip
    bias: Annotated[Literal["none"], checked(f"{P}: trains and loads base biases; {V}: refuses anything but none", f"{P} tuners/tuners_utils.py#L539; {V} lora/peft_helper.py#L199-200", "\"none\"", reasons.LORA_BIAS)] = "none"  # fmt: skip
    init_lora_weights: Annotated[bool | Literal["gaussian", "eva", "orthogonal", "lora_ga", "mica"], checked(f"{P}: runs at load (PiSSA/OLoRA rewrite the base weights); {V}: refuses those", f"{P} tuners/lora/layer.py#L342, #L408, #L460; {V} lora/peft_helper.py#L89-100", "true, false, \"gaussian\", \"eva\", \"orthogonal\", \"lora_ga\" or \"mica\" (PiSSA, OLoRA, CorDA and LoftQ change the base weights)", reasons.LORA_INIT_MODIFIES_BASE)] = True  # fmt: skip
    use_dora: Annotated[Literal[False], checked(f"{P}: adds magnitude vectors; {V}: 'does not yet support DoRA'", f"{V} lora/peft_helper.py#L66-67", "false: DoRA adapters cannot be served as LoRA", reasons.LORA_DORA)] = False  # fmt: skip
    lora_bias: Annotated[Literal[False], checked(f"{P}: adds a bias to lora_B; {V}: refuses it", f"{V} lora/peft_helper.py#L68-69", "false: serving engines do not support a bias on lora_B", reasons.LORA_BIAS)] = False  # fmt: skip
    use_qalora: Annotated[Literal[False], checked(f"{V}: refuses QA-LoRA", f"{V} lora/peft_helper.py#L70-71", "false: QA-LoRA (GPTQ) adapters cannot be served")] = False  # fmt: skip
    qalora_group_size: Annotated[int, inert("only with use_qalora", f"{P} tuners/lora/config.py")] = Field(default=16, ge=1)  # fmt: skip
    ensure_weight_tying: Annotated[bool, checked(f"{P}: ties embedding and lm_head adapters; {V}: loads them apart", f"{P} tuners/tuners_utils.py#L1440-1450", "true or false")] = False  # fmt: skip

    # -- refused when set: variants and features serving engines do not apply as plain LoRA --------
    modules_to_save: Annotated[Any, refused(f"{P}: full trainable copies; {V}: only classifier/score", f"{V} lora/peft_helper.py#L56-65", "is set; full copies of modules (often the embeddings or lm_head, which changes the vocabulary) cannot be served with a LoRA adapter.", reasons.LORA_MODULES_TO_SAVE, unset=(None, []))] = None  # fmt: skip
    layer_replication: Annotated[Any, refused(f"{P}: duplicates layers; {V}: refuses it", f"{V} lora/peft_helper.py#L72-73", "is set; layer-replicating adapters cannot be served.", unset=(None, [], {}))] = None  # fmt: skip
    alora_invocation_tokens: Annotated[Any, refused(f"{P}: activated LoRA; {V}: refuses it", f"{V} lora/peft_helper.py#L74-75", "is set; Activated LoRA cannot be served.", unset=(None, [], {}))] = None  # fmt: skip
    use_bdlora: Annotated[Any, _VARIANT_RULE] = None
    velora_config: Annotated[Any, _VARIANT_RULE] = None
    kasa_config: Annotated[Any, _VARIANT_RULE] = None
    monteclora_config: Annotated[Any, _VARIANT_RULE] = None
    arrow_config: Annotated[Any, _VARIANT_RULE] = None
    trainable_token_indices: Annotated[Any, refused(f"{P}: trainable-token deltas; {V}: ignores the key and refuses the tensors", f"{V} lora/utils.py#L220", "is set; trainable-token adapters cannot be served.", unset=(None, [], {}))] = None  # fmt: skip
    target_parameters: Annotated[Any, refused(f"{P}: wraps parameters (MoE); {V}: ignores it", f"{P} tuners/lora/config.py", "is set; parameter-targeted LoRA cannot be served for dense Qwen models.", unset=(None, [], {}))] = None  # fmt: skip
    megatron_config: Annotated[Any, refused(f"{P}: imports megatron", f"{P} tuners/lora/tp_layer.py#L327-333", "is set; Megatron-parallel adapters cannot be imported.", unset=(None, [], {}))] = None  # fmt: skip
    corda_config: Annotated[Any, refused("only with the CorDA initialisation, which changes the base weights", f"{P} tuners/lora/layer.py", "is set; CorDA adapters are only correct with the modified base.", reasons.LORA_INIT_MODIFIES_BASE, unset=())] = None  # fmt: skip

    # -- inert: read only by initialisations that do not run for a saved adapter, or metadata ------
    megatron_core: Annotated[str | None, inert("used only with megatron_config", f"{P} tuners/lora/tp_layer.py")] = None  # fmt: skip
    loftq_config: Annotated[dict[str, Any], inert(f"{P}: reset to {{}} unless init is loftq (refused)", f"{P} tuners/lora/config.py#L1063-1066")] = Field(default_factory=dict)  # fmt: skip
    eva_config: Annotated[dict[str, Any] | None, inert(f"{P}: initialisation only", f"{P} tuners/lora/config.py")] = None  # fmt: skip
    lora_ga_config: Annotated[dict[str, Any] | None, inert(f"{P}: initialisation only", f"{P} tuners/lora/config.py")] = None  # fmt: skip
    runtime_config: Annotated[Any, inert(f"{P}: deleted with a warning", f"{P} config.py#L283-287")] = None  # fmt: skip


@dataclass(frozen=True)
class AdapterSettings:
    """What the tensor rules need from a valid adapter_config.json."""

    rank: int
    alpha: float
    use_rslora: bool
    target_modules: list[str] | str | None
    exclude_modules: list[str] | str | None
    layers_to_transform: frozenset[int] | None
    base_model_name_or_path: str | None

    @property
    def scaling(self) -> float:
        return self.alpha / (self.rank**0.5 if self.use_rslora else self.rank)

    @classmethod
    def of(cls, config: AdapterConfigFile) -> AdapterSettings:
        layers = config.layers_to_transform
        if isinstance(layers, int):
            layers = [layers]
        return cls(
            rank=config.r,
            alpha=float(config.lora_alpha),
            use_rslora=config.use_rslora,
            target_modules=config.target_modules,
            exclude_modules=config.exclude_modules,
            # An empty list means "every layer" to PEFT.
            layers_to_transform=frozenset(layers) if layers else None,
            base_model_name_or_path=config.base_model_name_or_path,
        )
