"""Every builtin DashScope base accepts a correctly shaped adapter and refuses one trained on a base
of other dimensions, naming the tensor, the shapes and the likely cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport import samples
from modelport.catalog.catalog import BUILTIN_IDS, load_catalog
from modelport.pipeline.importer import Importer
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.support.jobs import running_job

# A base with other dimensions for each builtin, to train the "wrong" adapter on.
OTHER_BASE = {
    "qwen3-32b": "qwen3-14b",
    "qwen3-14b": "qwen3-8b",
    "qwen3-8b": "qwen2.5-7b-instruct",
    "qwen3-4b-instruct-2507": "qwen3-8b",
    "qwen3-vl-8b-instruct": "qwen2.5-vl-7b-instruct",
    "qwen2.5-72b-instruct": "qwen2.5-32b-instruct",
    "qwen2.5-32b-instruct": "qwen2.5-7b-instruct",  # 14b has the same q/v shapes
    "qwen2.5-14b-instruct": "qwen2.5-7b-instruct",
    "qwen2.5-7b-instruct": "qwen3-8b",
    "qwen2.5-vl-72b-instruct": "qwen2.5-vl-7b-instruct",
    "qwen2.5-vl-7b-instruct": "qwen2.5-vl-72b-instruct",
}


def test_every_builtin_base_has_a_wrong_base_to_test_against() -> None:
    assert set(OTHER_BASE) == set(BUILTIN_IDS)


def import_adapter(tmp_path: Path, declared: str, trained_on: str) -> tuple[str, str | None, str | None]:
    settings = Settings(data_dir=tmp_path / "data", database_url="sqlite://")
    catalog = load_catalog(settings.data_dir)
    trained = catalog.get(trained_on)
    assert trained is not None
    folder = settings.buckets_dir / "my-bucket" / "adapter"
    # Layers the declared base lacks would fail first; keep the wrong adapter to the common layers.
    target = catalog.get(declared)
    assert target is not None
    layers = range(min(trained.architecture.num_hidden_layers, target.architecture.num_hidden_layers))
    samples.write_safetensors(
        folder / "adapter_model.safetensors",
        samples.lora_tensors(trained.architecture, rank=8, dtype="BF16", layers=layers),
        samples.random_filler(),
        metadata={"format": "pt"},
    )
    (folder / "adapter_config.json").write_text(json.dumps(samples.adapter_config(trained_on, rank=8)))
    importer = Importer(settings, build_storage(settings), catalog)
    result = importer.run(running_job(declared, "lora", prefix="adapter/"), "t", lambda *_: None, lambda: False)
    return result.status.value, result.reason_code, result.error_code


@pytest.mark.parametrize("base", BUILTIN_IDS)
def test_a_correct_adapter_is_imported(tmp_path: Path, base: str) -> None:
    status, reason, error = import_adapter(tmp_path, base, base)
    assert (status, reason, error) == ("SUCCESSED", None, None)


@pytest.mark.parametrize("base", BUILTIN_IDS)
def test_an_adapter_of_another_base_is_refused_naming_the_cause(tmp_path: Path, base: str) -> None:
    status, reason, error = import_adapter(tmp_path, base, OTHER_BASE[base])
    assert status == "FAILED"
    assert reason == "lora.shape_mismatch"
    assert error is not None and f"{base} expects" in error and "another base model" in error
    assert "adapter_model.safetensors: tensor base_model.model." in error
