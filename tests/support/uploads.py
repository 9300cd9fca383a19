"""Building uploads in a local bucket folder for tests: valid samples and hand-made breakages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.settings import Settings

TINY_QWEN3 = "tiny-qwen3"
TINY_QWEN2 = "tiny-qwen2"


def bucket_folder(settings: Settings, bucket: str, prefix: str) -> Path:
    folder = settings.buckets_dir / bucket / prefix
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def register_tiny_bases(settings: Settings) -> None:
    samples.register_base(settings.data_dir, TINY_QWEN3, samples.tiny_base_config("qwen3"))
    samples.register_base(settings.data_dir, TINY_QWEN2, samples.tiny_base_config("qwen2"))


def write_adapter(settings: Settings, bucket: str, prefix: str, base_id: str = "qwen3-8b", **options: Any) -> Path:
    folder = bucket_folder(settings, bucket, prefix)
    base = load_catalog(settings.data_dir).get(base_id)
    assert base is not None, base_id
    samples.write_lora_adapter(folder, base_id, base.architecture, **options)
    return folder


def edit_json(path: Path, **changes: Any) -> None:
    document = json.loads(path.read_text())
    for key, value in changes.items():
        if value is _DELETE:
            document.pop(key, None)
        else:
            document[key] = value
    path.write_text(json.dumps(document))


_DELETE = object()
DELETE = _DELETE


def create_body(base: str = "qwen3-8b", weight_type: str = "lora", bucket: str = "my-bucket",
                prefix: str = "models/lora/", **extra: Any) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "model_name": base,
        "source": "oss",
        "weight_type": weight_type,
        "storage_info": {"bucket_name": bucket, "object_key": prefix},
    }
    body.update(extra)
    return body
