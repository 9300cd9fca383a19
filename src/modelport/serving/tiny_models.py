"""Tiny models a real serving engine can run on a CPU, built in code: a Qwen3-shaped base (head_dim
32, the smallest CPU attention in vLLM supports), its byte-level BPE tokenizer trained here, and
uploads made for it: a LoRA adapter and a full fine-tune that change its output, and the two
adapters vLLM serves silently although they do not fit the base (the gate's reason to exist).

Weights are seeded random float32, with norms at one and a scale large enough that greedy argmaxes
are far apart: two engines computing in float32 then agree token for token. The tokenizer needs the
`tokenizers` library (the `vllm` extra, and any vLLM install, bring it), imported when used.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelport.catalog.architecture import Architecture
from modelport.samples import (
    TensorSpec,
    adapter_config,
    lora_tensors,
    register_base,
    tiny_base_config,
    write_full_checkpoint,
    write_safetensors,
)

VOCAB_SIZE = 512
# transformers 5 models/qwen2/tokenization_qwen2.py PRETOKENIZE_REGEX, copied so that writing the
# tiny tokenizer needs only `tokenizers` (the `vllm` extra), not transformers.
QWEN_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # noqa: E501
SPECIAL_TOKENS = ("<|pad|>", "<|bos|>", "<|endoftext|>")  # ids 0, 1, 2: the config's bos and eos
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
WEIGHT_SCALE = 0.2
LORA_SCALE = 0.3
# Sentences to train the tokenizer on: enough distinct text for a few hundred merges.
_CORPUS = (
    "modelport imports fine-tuned models and checks every file and every tensor against the base. "
    "A LoRA adapter binds to the linear layers of the attention and the MLP. "
    "The quick brown fox jumps over the lazy dog while the serving engine answers completions. "
    "Tokens are bytes merged into pieces; greedy decoding picks the most likely next token. "
    "Safetensors headers list names, shapes and offsets; a manifest lists sizes and SHA-256 digests. "
    "Hello world, hello vLLM, hello transformers: one two three four five six seven eight nine ten."
)


def servable_base_config() -> dict[str, Any]:
    """hidden 64, 2 layers, 4 query heads and 2 kv heads of 32, intermediate 128, float32."""
    config = tiny_base_config(
        "qwen3",
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB_SIZE,
    )
    config.update(head_dim=32, torch_dtype="float32", pad_token_id=0, bos_token_id=1, eos_token_id=2)
    return config


def write_tokenizer(folder: Path) -> None:
    """A byte-level BPE tokenizer trained on a fixed corpus, saved as Qwen2Tokenizer files: the
    gate accepts no other tokenizer class, and transformers 5's Qwen2Tokenizer replaces the
    normalizer and pre-tokenizer with Qwen's, so tokenizer.json carries the same pipeline for
    runtimes that read it as written."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(tokenizer.to_str())
    pad, bos, eos = SPECIAL_TOKENS
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "Qwen2Tokenizer",
                "unk_token": None,
                "bos_token": bos,
                "eos_token": eos,
                "pad_token": pad,
                "add_bos_token": False,
                "model_max_length": 4096,
                "clean_up_tokenization_spaces": False,
            },
            indent=2,
        )
    )
    (folder / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": bos, "eos_token": eos, "pad_token": pad}, indent=2)
    )


def write_base(folder: Path, *, seed: int = 0) -> dict[str, Any]:
    """The base a serving engine loads as --model: config.json, model.safetensors, tokenizer."""
    config = servable_base_config()
    write_full_checkpoint(folder, config, dtype="F32", fill=_weights(seed, WEIGHT_SCALE))
    write_tokenizer(folder)
    return config


def register_servable_base(data_dir: Path, base_id: str, base_folder: Path) -> Path:
    """Add the base to the catalog, with its tokenizer files as the references uploads must equal."""
    config = json.loads((base_folder / "config.json").read_text())
    path = register_base(data_dir, base_id, config)
    for name in TOKENIZER_FILES:
        shutil.copyfile(base_folder / name, path.parent / name)
    return path


def write_lora(
    folder: Path,
    base_id: str,
    config: Mapping[str, Any],
    *,
    seed: int = 1,
    rank: int = 8,
    targets: tuple[str, ...] = TARGETS,
    **overrides: Any,
) -> None:
    """A rank-`rank` adapter (every attention projection by default), strong enough to change greedy
    output; `overrides` go into adapter_config.json (e.g. use_rslora, lora_alpha)."""
    architecture = Architecture.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(
        json.dumps(adapter_config(base_id, rank=rank, targets=targets, **overrides), indent=2)
    )
    specs = lora_tensors(architecture, rank=rank, targets=targets)
    write_safetensors(folder / "adapter_model.safetensors", specs, _weights(seed, LORA_SCALE), {"format": "pt"})


def write_full(folder: Path, base_folder: Path, *, seed: int = 2) -> None:
    """A full fine-tune of the base: its config and tokenizer, new weights of the same shapes."""
    config = json.loads((base_folder / "config.json").read_text())
    write_full_checkpoint(folder, config, dtype="F32", fill=_weights(seed, WEIGHT_SCALE))
    for name in TOKENIZER_FILES:
        shutil.copyfile(base_folder / name, folder / name)


def write_blind_spots(folder: Path, base_id: str, config: Mapping[str, Any], *, seed: int = 3) -> dict[str, Path]:
    """The two adapters vLLM 0.32 loads without complaint although they do not fit `config`:

    - `smaller-base/`: trained on a base half as wide (every lora_A has half the columns);
    - `half-rows/`: every lora_B has half the rows the base's module has.

    vLLM copies each tensor into the leading slice of a zeroed buffer and never checks that it fills
    it, so both serve, with output nobody trained. The gate refuses both, naming the tensor."""
    architecture = Architecture.from_config(config)
    smaller = dict(config, hidden_size=config["hidden_size"] // 2, intermediate_size=config["intermediate_size"] // 2)
    smaller.update(num_attention_heads=config["num_attention_heads"] // 2, num_key_value_heads=1)
    written = {"smaller-base": folder / "smaller-base", "half-rows": folder / "half-rows"}
    fill = _weights(seed, LORA_SCALE)
    for name, target in written.items():
        target.mkdir(parents=True, exist_ok=True)
        (target / "adapter_config.json").write_text(json.dumps(adapter_config(base_id, rank=8, targets=TARGETS)))
        if name == "smaller-base":
            specs = lora_tensors(Architecture.from_config(smaller), rank=8, targets=TARGETS)
        else:
            specs = [
                TensorSpec(s.name, s.dtype, (s.shape[0] // 2, s.shape[1])) if ".lora_B." in s.name else s
                for s in lora_tensors(architecture, rank=8, targets=TARGETS)
            ]
        write_safetensors(target / "adapter_model.safetensors", specs, fill, {"format": "pt"})
    return written


def _weights(seed: int, scale: float) -> Any:
    generator = np.random.default_rng(seed)

    def fill(spec: TensorSpec) -> bytes:
        count = spec.nbytes // 4
        if spec.name.endswith("norm.weight"):
            # RMSNorm weights of one, as a trained model's are near: random ones near zero would
            # flatten every logit and leave greedy decoding to float noise.
            return np.ones(count, dtype="<f4").tobytes()
        values = generator.standard_normal(count, dtype=np.float32) * scale
        return values.astype("<f4").tobytes()

    return fill
