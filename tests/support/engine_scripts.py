"""Reference generations, run as scripts with the vLLM venv's Python (the test process has no torch):

    python engine_scripts.py peft BASE_DIR ADAPTER_DIR IDS_JSON MAX_TOKENS
        transformers + PEFT greedy tokens of the base and of the base with the adapter, float32
    python engine_scripts.py hf MODEL_DIR IDS_JSON MAX_TOKENS
        transformers greedy tokens of a full model folder, float32
    python engine_scripts.py vllm MODEL_DIR IDS_JSON MAX_TOKENS
        vllm.LLM greedy tokens of a model folder, in one process (the cheap mode)

Each prints one JSON line last. This file imports nothing of modelport or of the tests: it is the
independent reference the served output is compared with.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def greedy(model: Any, ids: list[int], max_tokens: int) -> list[int]:
    import torch

    prompt = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=max_tokens,
            min_new_tokens=max_tokens,  # what vLLM's ignore_eos does
            do_sample=False,
            pad_token_id=0,
        )
    return [int(t) for t in out[0, len(ids) :]]


def peft_tokens(base: str, adapter: str, ids: list[int], max_tokens: int) -> dict[str, list[int]]:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    base_tokens = greedy(model, ids, max_tokens)
    adapted = PeftModel.from_pretrained(model, adapter)
    return {"base": base_tokens, "adapter": greedy(adapted, ids, max_tokens)}


def hf_tokens(model: str, ids: list[int], max_tokens: int) -> dict[str, list[int]]:
    import torch
    from transformers import AutoModelForCausalLM

    return {"tokens": greedy(AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32), ids, max_tokens)}


def vllm_tokens(model: str, ids: list[int], max_tokens: int) -> dict[str, list[int]]:
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(model=model, dtype="float32", max_model_len=256, distributed_executor_backend="uni", seed=0)
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True)
    output = llm.generate([TokensPrompt(prompt_token_ids=ids)], params, use_tqdm=False)[0]
    return {"tokens": list(output.outputs[0].token_ids)}


if __name__ == "__main__":  # vLLM spawns processes: the guard keeps them from rerunning this
    kind = sys.argv[1]
    if kind == "peft":
        result = peft_tokens(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]))
    elif kind == "hf":
        result = hf_tokens(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
    else:
        result = vllm_tokens(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(result))
