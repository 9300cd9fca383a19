"""Every disagreement the oracle has found, kept as a named case that is re-checked forever.

A regression with `gate_bug` set is one the gate still gets wrong: its test is a strict xfail with
that sentence, so it flips to a failure ("XPASS strict") the day the gate is fixed, and whoever
fixes it deletes the `gate_bug` (the case then guards the fix). `rules` are the disagreements the
bug produces today; a different set fails the test outright, so an xfail never hides a new bug.
`why` records which side is right and why.

KNOWN_GATE_BUGS tells the sweep and the random cases which disagreements are already recorded
here, so they do not fail on a known bug but still fail on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.oracle.cases import OracleCase

ACCEPTED_BROKEN = "accepted-broken"
ACCEPTED_WARNED = "accepted-warned"
SERVES_DIFFERENTLY = "accepted-serves-differently"
NO_OP = "accepted-no-op"
POLICY = "accepted-policy"
REFUSED_CLEAN = "refused-clean"


@dataclass(frozen=True)
class Regression:
    case: OracleCase
    why: str  # which side is right, and why
    gate_bug: str | None = None  # what the gate gets wrong, while it does
    rules: frozenset[str] = frozenset()  # the disagreements the bug produces
    trigger: str | None = None  # the mutation that is the bug, when the case needs others beside it

    @property
    def bug_mutation(self) -> str:
        return self.trigger or self.case.mutations[0]


def _lora(name: str, *mutations: str, base: str = "tiny-qwen3", seed: str = "") -> OracleCase:
    """A LoRA case; `seed` picks another valid draft when the default one does not suit a mutation."""
    return OracleCase(f"regression-lora-{name}", "lora", base, f"regression-lora-{name}{seed}", mutations)


def _full(name: str, *mutations: str, base: str = "tiny-qwen3", seed: str = "") -> OracleCase:
    return OracleCase(f"regression-full-{name}", "full", base, f"regression-full-{name}{seed}", mutations)


def _rules(*names: str) -> frozenset[str]:
    return frozenset(names)


REGRESSIONS: tuple[Regression, ...] = (
    # -- LoRA: adapter_config.json semantics the gate does not read ---------------------------------
    Regression(
        _lora("exclude-modules-drops-tensors", "config.exclude_modules.targeted"),
        why="PEFT never builds a LoRA layer for an excluded module, so it silently drops that module's "
        "tensors (no warning), while vLLM, which ignores exclude_modules, applies them: the adapter serves "
        "differently from how it loads and trains. PEFT is right about the config's meaning; the gate must "
        "refuse the contradiction (or at least treat the tensors as untargeted).",
    ),
    Regression(
        _lora("exclude-modules-regex-drops-layer", "config.exclude_modules.layer_regex"),
        why="As above with exclude_modules as a regex (PEFT re.fullmatch-es it against module paths): a "
        "whole layer's tensors are dropped by PEFT and served by vLLM.",
    ),
    Regression(
        _lora("exclude-modules-matches-nothing", "config.exclude_modules.nomatch"),
        why="PEFT warns that exclude_modules excluded nothing: the config does not describe this model. "
        "Harmless for serving, but the gate checks target_modules both ways and should say so too (a "
        "warning finding is enough).",
    ),
    Regression(
        _lora("all-linear-without-every-linear", "targets.all_linear.partial"),
        why="'all-linear' makes PEFT build LoRA on every linear layer; the ones without tensors are left at "
        "their initialisation and PEFT warns 'Found missing adapter keys'. The gate's own rule (every declared "
        "target binds) is applied to lists but not to 'all-linear'. With init_lora_weights true the missing "
        "modules are inert, so serving matches; the gate should still refuse as it does for a list.",
    ),
    Regression(
        _lora("module-missing-in-one-layer", "tensors.drop_module"),
        why="target_modules names a module and one layer has no tensors for it: PEFT builds the layer, warns "
        "'Found missing adapter keys' and leaves it at its initialisation. The gate checks binding per module "
        "name, not per layer, so it misses it; a trained adapter always has every targeted layer.",
    ),
    Regression(
        _lora("module-missing-in-one-layer-random-init", "tensors.drop_module", "config.init_lora_weights.false"),
        why="The same with init_lora_weights false, which is why it matters: PEFT initialises the missing "
        "module's lora_B randomly too, so the model PEFT loads computes other logits than vLLM serves (vLLM "
        "only has the tensors). PEFT and serving disagree; the gate must refuse.",
        trigger="tensors.drop_module",
    ),
    Regression(
        _lora("regex-target-missing-layer", "targets.regex.missing_layer"),
        why="A target_modules regex that matches every layer with tensors for one layer only: PEFT builds "
        "LoRA on every match and warns about the missing keys. The gate only checks that each tensor matches "
        "the regex, not that each match has tensors.",
    ),
    Regression(
        _lora("unknown-target-name", "targets.unknown_name"),
        why="target_modules lists a name that is no module of the base (shared configs often list c_attn, "
        "w1, ... for several architectures). PEFT matches nothing for it, silently, and loads every tensor; "
        "vLLM serves exactly what PEFT loads. The gate refuses an adapter that loads and serves as trained: "
        "a warning is the right answer here, the refusal is the gate's error.",
    ),
    Regression(
        _lora("layers-to-transform-empty", "config.layers_to_transform.empty"),
        why="PEFT treats layers_to_transform [] as 'no restriction' (tuners_utils check_target_module_exists: "
        "an empty list is not 'using layer indexes') and loads every layer; vLLM ignores the field. The gate "
        "reads [] as 'no layer' and refuses an adapter that loads and serves as trained.",
    ),
    Regression(
        _lora("layers-to-transform-with-regex", "config.layers_to_transform.with_regex"),
        why="PEFT refuses layers_to_transform with a regex target_modules (ValueError in LoraConfig): the "
        "adapter cannot be loaded by the library that wrote it. The gate applies layers_to_transform anyway.",
    ),
    Regression(
        _lora("layers-pattern-alone", "config.layers_pattern.alone"),
        why="PEFT refuses layers_pattern without layers_to_transform (ValueError in LoraConfig). The gate does "
        "not read layers_pattern at all.",
    ),
    Regression(
        _lora("layers-pattern-matches-nothing", "config.layers_to_transform.bad_pattern"),
        why="layers_pattern 'blocks' matches no module path of a Qwen model, so PEFT finds no layer index and "
        "targets nothing: NoMatchingPeftModuleError. The gate checks layers_to_transform but ignores "
        "layers_pattern.",
    ),
    Regression(
        _lora("init-lora-weights-unknown", "config.init_lora_weights.unknown"),
        why="PEFT raises 'Unknown initialization' for init_lora_weights 'kaiming' while building the layers, "
        "before any weight is read: the adapter does not load. The gate only refuses the names that modify "
        "the base.",
    ),
    Regression(
        _lora("task-type-unknown", "config.task_type.unknown"),
        why="PeftConfig rejects a task_type outside its enum (ValueError 'Invalid task type'), so PEFT cannot "
        "read the config. vLLM would ignore the field, but a file its own library refuses is not a PEFT "
        "adapter; the gate should refuse it (or the README should say the field is inert).",
    ),
    Regression(
        _lora("lora-dropout-string", "config.lora_dropout.string"),
        why="lora_dropout '0.1' (a string) makes PEFT raise TypeError building the layers. The gate reads no "
        "type for lora_dropout.",
    ),
    Regression(
        _lora("unknown-config-key", "config.unknown_key"),
        why="PEFT warns that it ignores an unknown key and that the file may come from a newer PEFT; in that "
        "newer PEFT the key may change what is computed. Issue 9 item 4 asks for a defined default for "
        "unknown keys; today the gate says nothing.",
    ),
    Regression(
        _lora("config-bom", "config.bom"),
        why="PEFT reads adapter_config.json with json.load, which refuses a UTF-8 BOM (vLLM too); the gate "
        "strips the BOM and accepts a file neither loader can read.",
    ),
    Regression(
        _lora("lora-alpha-1e999", "config.lora_alpha.inf"),
        why="JSON 1e999 is parsed as inf by Python's json (PEFT, vLLM): the scaling is inf and the logits are "
        "NaN. The gate checks alpha > 0 and lets inf through.",
    ),
    Regression(
        _lora("huge-lora-b", "targets.all_linear", "tensors.huge", seed="-bf16"),
        why="Finite but extreme values (lora_B times 1e30, on every linear layer so that q and k both carry "
        "them) load, but the model's logits overflow to inf/NaN. "
        "The values check only looks for NaN/Inf in the file; issue 9 item 6 asks for extreme magnitudes to "
        "be flagged, and an adapter whose outputs are not finite cannot be served.",
        trigger="tensors.huge",
    ),
    Regression(
        _lora("zero-lora-a", "tensors.zeros.all_A"),
        why="Every lora_A all zero makes the adapter a no-op exactly like an all-zero lora_B, which the gate "
        "warns about; the logits do not change and the gate is silent.",
    ),
    Regression(
        _lora("kasa-config-empty", "config.kasa_config.empty"),
        why="PEFT enables KaSA when kasa_config is not None, so {} turns it on: PEFT runs an SVD of the base "
        "weights, changes them, expects lora_diag tensors and warns they are missing. The gate tests the "
        "field's truthiness and lets {} pass.",
    ),
    Regression(
        _lora("velora-config-empty", "config.velora_config.empty"),
        why="velora_config {} enables VeLoRA in PEFT (`is not None`): a LoRA variant vLLM does not run, with "
        "parameters the file lacks (PEFT warns). The gate does not know the field.",
    ),
    Regression(
        _lora("monteclora-config-empty", "config.monteclora_config.empty"),
        why="monteclora_config {} enables MonteCLoRA in PEFT (`is not None`), with sampler parameters the file "
        "lacks (PEFT warns). The gate does not know the field.",
    ),
    Regression(
        _lora("arrow-config-empty", "config.arrow_config.empty"),
        why="arrow_config {} selects the Arrow variant in PEFT (`is not None`), which then fails to load. The "
        "gate tests the field's truthiness.",
    ),
    Regression(
        _lora("use-bdlora-empty", "config.use_bdlora.empty"),
        why="use_bdlora {} selects block-diagonal LoRA in PEFT (`is not None`), which refuses Qwen's modules. "
        "The gate tests the field's truthiness.",
    ),
    # -- full weights ------------------------------------------------------------------------------------
    Regression(
        _full("config-bom", "config.bom"),
        why="transformers refuses a config.json with a UTF-8 BOM ('is not a valid JSON file'); the gate strips "
        "the BOM and accepts a checkpoint that does not load.",
    ),
    Regression(
        _full("hidden-act-gelu", "config.hidden_act.gelu"),
        why="hidden_act is part of the architecture: with gelu the same weights compute other logits than the "
        "base (silu). transformers and vLLM both honour the upload's config.json, so the served model is not "
        "the base architecture. The gate once let it pass; it now compares hidden_act with the base and refuses "
        "(full.config_mismatch).",
    ),
    Regression(
        _full("rms-norm-eps", "config.rms_norm_eps"),
        why="rms_norm_eps changes every RMSNorm; the same weights compute other logits than the base. The gate "
        "once let it pass; it now compares rms_norm_eps with the base and refuses (full.config_mismatch).",
    ),
    Regression(
        _full("rope-parameters", "config.rope_parameters"),
        why="transformers 5 reads the RoPE settings from rope_parameters (it writes them there too), so a "
        "different theta under rope_parameters changes the logits. The gate once compared only rope_theta and "
        "rope_scaling and let it pass; it now compares the normalised rope_parameters and refuses.",
    ),
    Regression(
        _full("rope-scaling-added", "config.rope_scaling.linear"),
        why="A linear rope_scaling added to a base without one (the default for Qwen) changes the logits. The "
        "gate once warned about rope_scaling only when the base config had the key and let this pass; it now "
        "compares the normalised rope_parameters and refuses.",
    ),
    Regression(
        _full("sliding-window", "config.sliding_window"),
        why="use_sliding_window with a small sliding_window makes transformers (and vLLM) mask attention "
        "beyond the window: other logits from the same weights. The gate once did not read these fields; it now "
        "compares use_sliding_window and max_window_layers with the base and refuses.",
    ),
    Regression(
        _full("huge-values", "tensors.huge"),
        why="MLP weights times 1e30 are finite in the file but overflow in the forward pass: non-finite logits. "
        "Issue 9 item 6 asks for extreme magnitudes to be flagged.",
    ),
    Regression(
        _full("tied-lm-head-identical-copy", "tensors.lm_head.copy", base="tiny-qwen3-tied"),
        why="A tied base with lm_head.weight shipped equal to embed_tokens (some exporters write both): "
        "transformers ties them without a word, vLLM skips lm_head.* for tied Qwen models, and the model "
        "computes exactly as trained. The gate refuses it as an unexpected tensor; it could compare the two "
        "tensors' bytes during the copy and refuse only a copy that differs.",
        gate_bug="refuses a tied checkpoint whose lm_head.weight is an exact copy of embed_tokens",
        rules=_rules(REFUSED_CLEAN),
    ),
    Regression(
        _full("generation-forced-eos-out-of-vocab", "generation_config.forced_eos_out_of_vocab"),
        why="transformers' generate() applies forced_eos_token_id as a logits index: 5000 in a 1024-token "
        "vocabulary raises IndexError on the first generation (issue 9 lists out-of-range generation token ids "
        "among the wrong verdicts). The gate once range-checked bos/eos/pad only; it now refuses "
        "forced_eos_token_id altogether, an option only transformers' generate() honours.",
    ),
    Regression(
        _full("generation-top-k-negative", "generation_config.top_k_negative"),
        why="top_k -3 makes generate() raise ValueError (vLLM's SamplingParams refuses it too): the shipped "
        "sampling defaults cannot be used. The gate once did not validate sampling fields; it now holds them to "
        "the ranges vLLM accepts and refuses.",
    ),
    Regression(
        _full("generation-temperature-greedy", "generation_config.temperature_greedy"),
        why="temperature without do_sample: transformers warns the flag is ignored and decodes greedily, while "
        "vLLM takes temperature from generation_config.json as its default and samples. The two engines "
        "serve the upload differently. The gate once said nothing; it now warns "
        "(full.generation_sampling_ignored), naming the defaults transformers ignores.",
    ),
    # -- agreements worth pinning (the oracle once had them wrong, or the issue expected otherwise) -------
    Regression(
        _full("no-safetensors-metadata", "tensors.metadata.none"),
        why="Issue 9 lists full weights without __metadata__.format as accepted wrongly. transformers 5.24 "
        "loads them, every tensor bound unchanged, so accepting is right for this loader version; pinned "
        "so a change in either side is noticed.",
    ),
    Regression(
        _full("generation-eos-out-of-vocab", "generation_config.eos_out_of_vocab"),
        why="transformers loads an eos_token_id outside the vocabulary without a word, but vLLM takes its "
        "stop tokens from generation_config.json and such an id can never be generated: the gate is right "
        "to refuse (the oracle counts it as a platform rule).",
    ),
    Regression(
        _lora("nan-in-unused-row", "tensors.nan"),
        why="A NaN in one adapter element may not reach the logits of the fixed input (PEFT loads it and the "
        "output stays finite), but the file is broken; the gate is right to refuse NaN/Inf wherever it is.",
    ),
)

_NAMES = [regression.case.name for regression in REGRESSIONS]
assert len(set(_NAMES)) == len(_NAMES), "regression names must be unique"

# mutation -> the disagreements its recorded gate bug produces
KNOWN_GATE_BUGS: dict[str, frozenset[str]] = {}
for _regression in REGRESSIONS:
    if _regression.gate_bug is not None:
        _mutation = _regression.bug_mutation
        KNOWN_GATE_BUGS[_mutation] = KNOWN_GATE_BUGS.get(_mutation, frozenset()) | _regression.rules
