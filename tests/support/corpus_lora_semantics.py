"""Corpus cases for adapter_config.json semantics: each key decided against what PEFT 0.21 and vLLM
0.32 do with it (docs/config-keys.md §1), and the targeted set PEFT computes compared with the
tensors. Many come from hostile uploads that once got a wrong verdict (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.corpus import TINY3, TINY3VL, TINY25VL, Case, Context, lora, lora_then, set_config

ALL = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def raw_config(text: str) -> Any:
    """Replace adapter_config.json by exactly these bytes (for JSON the json module cannot write)."""

    def edit(folder: Path, _context: Context) -> None:
        (folder / "adapter_config.json").write_text(text)

    return edit


def config_text(**changes: Any) -> str:
    from modelport.samples import adapter_config

    document = adapter_config(TINY3, rank=8)
    document.update(changes)
    return json.dumps(document)


def cases() -> list[Case]:
    return [
        # -- values the JSON parser or the types refuse --------------------------------------------------
        Case("cfg-alpha-1e999", TINY3, "lora", lora_then(raw_config(config_text().replace('"lora_alpha": 16', '"lora_alpha": 1e999'))),
             "FAILED", ("files.invalid_json",), ("too large to be a finite float",)),
        Case("cfg-alpha-huge-int", TINY3, "lora", lora_then(set_config("adapter_config.json", lora_alpha=10**18)), "FAILED",
             ("lora.config_schema",), ("lora_alpha must be a finite positive number",)),
        Case("cfg-alpha-true", TINY3, "lora", lora_then(set_config("adapter_config.json", lora_alpha=True)), "FAILED",
             ("lora.config_schema",), ("lora_alpha",)),
        Case("cfg-rank-string", TINY3, "lora", lora_then(set_config("adapter_config.json", r="8")), "FAILED",
             ("lora.config_schema",), ("r must be an integer (the rank); found '8'",)),
        Case("cfg-rank-bool", TINY3, "lora", lora_then(set_config("adapter_config.json", r=True)), "FAILED",
             ("lora.config_schema",), ("r must be an integer",)),
        Case("cfg-rank-float", TINY3, "lora", lora_then(set_config("adapter_config.json", r=8.0)), "FAILED",
             ("lora.config_schema",), ("r must be an integer",)),
        Case("cfg-use-rslora-string", TINY3, "lora", lora_then(set_config("adapter_config.json", use_rslora="false")), "FAILED",
             ("lora.config_schema",), ("use_rslora must be true or false",)),
        Case("cfg-bom", TINY3, "lora", lora_then(raw_config("\ufeff" + config_text())), "FAILED",
             ("files.invalid_json",), ("byte-order mark",)),
        Case("cfg-duplicate-rank", TINY3, "lora", lora_then(raw_config(config_text()[:-1] + ', "r": 16}')), "FAILED",
             ("files.invalid_json",), ("has the key 'r' twice",)),
        Case("cfg-not-an-object", TINY3, "lora", lora_then(raw_config("[1, 2]")), "FAILED",
             ("lora.config_schema",), ("must be a JSON object",)),
        Case("cfg-peft-type-loha", TINY3, "lora", lora_then(set_config("adapter_config.json", peft_type="LOHA")), "FAILED",
             ("lora.peft_type",), ("peft_type",)),
        Case("cfg-task-type-seq-cls", TINY3, "lora", lora_then(set_config("adapter_config.json", task_type="SEQ_CLS")), "FAILED",
             ("lora.config_schema",), ("task_type",)),
        # -- keys that are refused, or unknown ------------------------------------------------------------
        Case("cfg-unknown-key", TINY3, "lora", lora_then(set_config("adapter_config.json", lora_magic=True)), "FAILED",
             ("lora.unknown_key",), ("lora_magic is not a key PEFT 0.21 knows",)),
        Case("cfg-kasa-variant", TINY3, "lora", lora_then(set_config("adapter_config.json", kasa_config={"x": 1})), "FAILED",
             ("lora.unsupported_variant",), ("kasa_config",)),
        # PEFT turns a variant on when its field is not None: an empty object is on.
        Case("cfg-kasa-variant-empty-object", TINY3, "lora", lora_then(set_config("adapter_config.json", kasa_config={})), "FAILED",
             ("lora.unsupported_variant",), ("kasa_config",)),
        Case("cfg-modules-to-save-empty-list", TINY3, "lora", lora_then(set_config("adapter_config.json", modules_to_save=[])),
             "SUCCESSED"),
        Case("cfg-init-pissa", TINY3, "lora", lora_then(set_config("adapter_config.json", init_lora_weights="pissa")), "FAILED",
             ("lora.init_modifies_base",), ("init_lora_weights",)),
        Case("cfg-variant-switches-off-are-fine", TINY3, "lora",
             lora_then(set_config("adapter_config.json", kasa_config=None, velora_config=None, arrow_config=None,
                                  use_qalora=False, lora_bias=False, eva_config=None, megatron_core="megatron.core")),
             "SUCCESSED"),
        Case("cfg-pattern-key-is-a-regex", TINY3, "lora", lora_then(set_config("adapter_config.json", rank_pattern={"(q|v)+_proj": 8})),
             "FAILED", ("lora.target_pattern",), ("backtracking engine",)),
        Case("cfg-auto-mapping-elsewhere", TINY3, "lora",
             lora_then(set_config("adapter_config.json", auto_mapping={"base_model_class": "Evil", "parent_library": "os"})),
             "FAILED", ("files.auto_map",), ("auto_mapping",)),
        Case("cfg-large-scaling-warns", TINY3, "lora", lora_then(set_config("adapter_config.json", lora_alpha=4096)), "SUCCESSED",
             warnings=("lora.large_scaling",)),
        Case("cfg-other-family-warns", TINY3, "lora",
             lora_then(set_config("adapter_config.json", base_model_name_or_path="meta-llama/Llama-3.1-8B")), "SUCCESSED",
             warnings=("lora.other_family",)),
        # -- target_modules and the tensors ---------------------------------------------------------------
        Case("tgt-redos-probe", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules="(.|.)*Z")), "FAILED",
             ("lora.target_pattern",), ("repeats a group",)),
        Case("tgt-huge-repeat", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules="q{4294967296}")),
             "FAILED", ("lora.target_pattern",), ("repetition",)),
        Case("tgt-regex-exact", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=r".*\.(q_proj|v_proj)")),
             "SUCCESSED"),
        Case("tgt-regex-narrower-than-tensors", TINY3, "lora",
             lora_then(set_config("adapter_config.json", target_modules=r".*\.q_proj")), "FAILED",
             ("lora.untargeted_tensor",), ("PEFT would drop those tensors",)),
        Case("tgt-list-narrower-than-tensors", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=["q_proj"])),
             "FAILED", ("lora.untargeted_tensor",), ("v_proj",)),
        Case("tgt-exclude-tensors-present", TINY3, "lora", lora_then(set_config("adapter_config.json", exclude_modules=["v_proj"])),
             "FAILED", ("lora.untargeted_tensor",), ("v_proj",)),
        Case("tgt-exclude-unrelated", TINY3, "lora", lora_then(set_config("adapter_config.json", exclude_modules=["gate_proj"])),
             "SUCCESSED"),
        Case("tgt-exclude-matches-nothing-warns", TINY3, "lora",
             lora_then(set_config("adapter_config.json", exclude_modules=["c_attn"])), "SUCCESSED", warnings=("lora.exclude_unused",)),
        Case("tgt-layers-to-transform-empty-means-all", TINY3, "lora",
             lora_then(set_config("adapter_config.json", layers_to_transform=[])), "SUCCESSED"),
        Case("tgt-one-entry-matches-nothing", TINY3, "lora",
             lora_then(set_config("adapter_config.json", target_modules=["q_proj", "v_proj", "c_attn"])), "SUCCESSED"),
        Case("tgt-exclude-regex", TINY3, "lora", lora_then(set_config("adapter_config.json", exclude_modules=r".*\.layers\.1\..*")),
             "FAILED", ("lora.untargeted_tensor",), ("v_proj (layer 1)",)),
        Case("tgt-layers-to-transform-drops", TINY3, "lora", lora_then(set_config("adapter_config.json", layers_to_transform=[0])),
             "FAILED", ("lora.untargeted_tensor",), ("q_proj (layer 1)",)),
        Case("tgt-layers-to-transform-all", TINY3, "lora",
             lora_then(set_config("adapter_config.json", layers_to_transform=[0, 1], layers_pattern="layers")), "SUCCESSED"),
        Case("tgt-layers-with-regex", TINY3, "lora",
             lora_then(set_config("adapter_config.json", target_modules=r".*q_proj", layers_to_transform=[0])), "FAILED",
             ("lora.config_schema",), ("layers_to_transform cannot be used with a target_modules pattern",)),
        Case("tgt-all-linear-only-q-v", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules="all-linear")),
             "FAILED", ("lora.target_unbound",), ("k_proj (layers 0-1)",)),
        Case("tgt-all-linear-upper-case", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules="ALL-LINEAR"),
             targets=ALL), "SUCCESSED"),
        Case("tgt-null-means-q-v", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=None)), "SUCCESSED"),
        Case("tgt-missing-key", TINY3, "lora", lora_then(_without("target_modules")), "FAILED",
             ("lora.config_schema",), ("target_modules",)),
        Case("tgt-empty-list", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=[])), "FAILED",
             ("lora.config_schema",), ("empty list",)),
        Case("tgt-container-module", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=["q_proj", "v_proj", "mlp"])),
             "FAILED", ("lora.target_not_adaptable",), ("mlp",)),
        Case("tgt-matches-nothing", TINY3, "lora", lora_then(set_config("adapter_config.json", target_modules=["c_attn"])),
             "FAILED", ("lora.unknown_target",), ("matches no module",)),
        Case("tgt-vl-all-linear-hits-the-tower", TINY3VL, "lora",
             lora_then(set_config("adapter_config.json", target_modules="all-linear"), TINY3VL, targets=ALL), "FAILED",
             ("lora.vision_tensor",), ("vision-tower",)),
        Case("tgt-vl-null-has-no-default", TINY25VL, "lora",
             lora_then(set_config("adapter_config.json", target_modules=None), TINY25VL), "FAILED",
             ("lora.config_schema",), ("no default targets",)),
        Case("tgt-vl-language-model-regex", TINY25VL, "lora",
             lora_then(set_config("adapter_config.json", target_modules=r"model\.language_model\..*\.(q_proj|v_proj)"),
                       TINY25VL), "SUCCESSED"),
        Case("tgt-valid-lora", TINY3, "lora", lora(), "SUCCESSED"),
    ]  # fmt: skip


def _without(key: str) -> Any:
    def edit(folder: Path, _context: Context) -> None:
        path = folder / "adapter_config.json"
        document = json.loads(path.read_text())
        document.pop(key)
        path.write_text(json.dumps(document))

    return edit
