"""The load proof in transformers + PEFT: the reference implementation an adapter was trained with.

PEFT refuses a tensor whose shape differs from its module's, so here an adapter that does not fit
fails to load (where vLLM loads it silently); each adapter tensor is also matched to the module it
names, so one PEFT would skip shows as unbound. A full model must load with no weight missing,
unexpected or of another shape (transformers would otherwise initialise it at random and go on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.serving.load_proof import Binding, EngineOutcome
from modelport.serving.manifest import Manifest

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_PREFIX = "base_model.model."


def prove(base: Path, model: Path, manifest: Manifest, prompt: str, max_tokens: int) -> EngineOutcome:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    engine = f"transformers {transformers.__version__}"
    if manifest.weight_type == "full":
        tokenizer = AutoTokenizer.from_pretrained(
            str(model if all((model / n).is_file() for n in _TOKENIZER_FILES) else base)
        )
        try:
            loaded, info = AutoModelForCausalLM.from_pretrained(str(model), dtype="auto", output_loading_info=True)
        except Exception as error:
            return EngineOutcome(engine=engine, loaded=False, error=_summary(error))
        problems = {kind: info.get(kind) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        problems = {kind: keys for kind, keys in problems.items() if keys}
        if problems:
            kind, keys = next(iter(problems.items()))
            return EngineOutcome(engine=engine, loaded=False, error=f"{kind.replace('_', ' ')}: {sorted(keys)[:3]}")
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        return EngineOutcome(
            engine=engine,
            loaded=True,
            prompt_token_ids=ids[0].tolist(),
            model_tokens=_greedy(torch, loaded, ids, max_tokens, _pad_id(tokenizer)),
        )
    from peft import PeftModel

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    base_model = AutoModelForCausalLM.from_pretrained(str(base), dtype="auto")
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    outcome = EngineOutcome(
        engine=engine,
        loaded=False,
        prompt_token_ids=ids[0].tolist(),
        base_tokens=_greedy(torch, base_model, ids, max_tokens, _pad_id(tokenizer)),
    )
    shapes = _adapter_shapes(model / "adapter_model.safetensors")
    outcome.adapter_tensor_pairs = sum(1 for key in shapes if ".lora_A." in key)
    try:
        adapted = PeftModel.from_pretrained(base_model, str(model))
    except Exception as error:
        outcome.error = _summary(error)
        return outcome
    outcome.loaded = True
    outcome.bindings = _bindings(adapted, shapes)
    outcome.model_tokens = _greedy(torch, adapted, ids, max_tokens, _pad_id(tokenizer))
    return outcome


def _bindings(adapted: Any, shapes: dict[str, tuple[int, ...]]) -> list[Binding]:
    bindings = []
    root = adapted.base_model.model
    for key, shape_a in sorted(shapes.items()):
        if ".lora_A." not in key:
            continue
        path = key.split(".lora_A.")[0].removeprefix(_PREFIX)
        shape_b = shapes.get(key.replace(".lora_A.", ".lora_B."))
        expected: tuple[tuple[int, ...] | None, tuple[int, ...] | None]
        try:
            module = root.get_submodule(path)
            layer = module.base_layer
            expected = ((shape_a[0], layer.in_features), (layer.out_features, shape_a[0]))
        except AttributeError:
            expected = (None, None)  # PEFT has no LoRA layer there: the tensor was skipped
        bindings.append(Binding(path, shape_a, shape_b, expected[0], expected[1]))
    return bindings


def _adapter_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118


def _greedy(torch: Any, model: Any, ids: Any, max_tokens: int, pad_id: int) -> list[int]:
    with torch.no_grad():
        output = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_tokens,
            min_new_tokens=max_tokens,  # what vLLM's ignore_eos does: the same number of tokens from both
            do_sample=False,
            pad_token_id=pad_id,
        )
    return list(output[0, ids.shape[1] :].tolist())


def _pad_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def _summary(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:500]
