"""The load proof in vLLM (`vllm.LLM`, in this process): base and adapter loaded the way the OpenAI
server loads them (`llm_engine.add_lora`, which raises cleanly where `generate` would hang after a
failure), then a few greedy tokens each.

Whether each adapter tensor fills its module is read from the engine itself: the shapes the worker
holds after loading, against the LoRA buffers of the module they were copied into. vLLM copies a
tensor into the leading slice of a zeroed buffer and never checks the rest, so a narrower tensor
loads silently; here it shows as unbound. This reads vLLM internals of the 0.32 line (through
`LLM.collective_rpc`), so it says so when they are not where it looks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from modelport.serving.load_proof import Binding, EngineOutcome
from modelport.serving.manifest import Manifest

MAX_MODEL_LEN = 256
# The ranks vLLM accepts for --max-lora-rank (vllm/config/lora.py MaxLoRARanks).
_VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def prove(base: Path, model: Path, manifest: Manifest, prompt: str, max_tokens: int) -> EngineOutcome:
    # One process and a small KV cache: the proof needs a few tokens, not throughput, and the
    # engine's separate processes would cost twice the memory and a minute more to start.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    import vllm
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    engine = f"vllm {vllm.__version__}"
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True)
    common: dict[str, Any] = {"max_model_len": MAX_MODEL_LEN, "distributed_executor_backend": "uni", "seed": 0}
    if manifest.weight_type == "full":
        tokenizer = model if all((model / name).is_file() for name in _TOKENIZER_FILES) else base
        try:
            llm = LLM(model=str(model), tokenizer=str(tokenizer), dtype=checkpoint_dtype(model), **common)
        except Exception as error:
            return EngineOutcome(engine=engine, loaded=False, error=_summary(error))
        output = llm.generate([prompt], params, use_tqdm=False)[0]
        return EngineOutcome(
            engine=engine,
            loaded=True,
            prompt_token_ids=list(output.prompt_token_ids),
            model_tokens=list(output.outputs[0].token_ids),
        )
    rank = int(json.loads((model / "adapter_config.json").read_text())["r"])
    max_rank = next((r for r in _VLLM_RANKS if r >= rank), rank)
    llm = LLM(
        model=str(base), dtype=checkpoint_dtype(base), enable_lora=True, max_lora_rank=max_rank, max_loras=1, **common
    )
    without = llm.generate([prompt], params, use_tqdm=False)[0]
    outcome = EngineOutcome(
        engine=engine,
        loaded=False,
        prompt_token_ids=list(without.prompt_token_ids),
        base_tokens=list(without.outputs[0].token_ids),
        adapter_tensor_pairs=_tensor_pairs(model / "adapter_model.safetensors"),
    )
    request = LoRARequest(manifest.model_name, 1, str(model))
    try:
        llm.llm_engine.add_lora(request)
    except Exception as error:
        outcome.error = _summary(error)
        return outcome
    outcome.loaded = True
    outcome.bindings = [Binding(**entry) for entry in llm.collective_rpc(lora_bindings, args=(1,))[0]]
    with_adapter = llm.generate([prompt], params, lora_request=request, use_tqdm=False)[0]
    outcome.model_tokens = list(with_adapter.outputs[0].token_ids)
    return outcome


def checkpoint_dtype(folder: Path) -> str:
    """The dtype the checkpoint was saved in: the model is proven as it is, where vLLM's "auto" would
    run a float32 checkpoint in half precision and so prove something else."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return "auto"
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    dtype = config.get("torch_dtype") or config.get("dtype") or text.get("torch_dtype") or text.get("dtype")
    return dtype if dtype in ("float32", "bfloat16", "float16") else "auto"


def lora_bindings(worker: Any, lora_id: int) -> list[dict[str, Any]]:
    """Runs in the worker: every (module, slice) of adapter `lora_id` with the shapes it holds and
    the shapes of the LoRA buffers of the module it went to. Module-level, so vLLM can send it."""
    manager = worker.model_runner.lora_manager._adapter_manager
    adapter = manager.get_adapter(lora_id)
    found: list[dict[str, Any]] = []
    for module_name, weights in adapter.loras.items():
        module = manager.modules.get(module_name)
        slices_a = weights.lora_a if isinstance(weights.lora_a, list) else [weights.lora_a]
        slices_b = weights.lora_b if isinstance(weights.lora_b, list) else [weights.lora_b]
        for index, (lora_a, lora_b) in enumerate(zip(slices_a, slices_b, strict=True)):
            if lora_a is None:
                continue  # a packed module's slice the adapter does not target
            slot_a = tuple(module.lora_a_stacked[index].shape) if module is not None else None
            slot_b = tuple(module.lora_b_stacked[index].shape) if module is not None else None
            rank = lora_a.shape[0]
            found.append(
                {
                    "module": module_name if len(slices_a) == 1 else f"{module_name}[{index}]",
                    "shape_a": tuple(lora_a.shape),
                    "shape_b": tuple(lora_b.shape),
                    # Buffers are [loras, 1, max_rank, in] and [loras, 1, out, max_rank]: the
                    # adapter's own rank is what it declared, the other dimension must be the module's.
                    "expected_a": (rank, slot_a[3]) if slot_a is not None else None,
                    "expected_b": (slot_b[2], rank) if slot_b is not None else None,
                }
            )
    return found


def _tensor_pairs(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return sum(1 for key in handle.keys() if ".lora_A." in key)  # noqa: SIM118 - safe_open is not a dict


def _summary(error: BaseException) -> str:
    """vLLM's errors end with the line that says what went wrong; tracebacks before it are noise here."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[-1][:500]
