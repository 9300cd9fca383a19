"""The serving side's manifest reader: anything it cannot trust whole is refused, never half-used."""

from __future__ import annotations

import json

import pytest

from modelport.serving.manifest import ManifestError, parse_manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other/v9"}, "has format 'other/v9'"),
        ({"files": []}, "lists no files"),
        ({"files": [{"path": "../x", "size": 1, "sha256": "0" * 64}]}, "which is not a plain file name"),
        ({"files": [{"path": "a", "size": -1, "sha256": "0" * 64}]}, "gives a no valid size"),
        ({"files": [{"path": "a", "size": 1, "sha256": "XYZ"}]}, "gives a no valid sha256"),
        ({"weight_type": "merged"}, "has weight_type 'merged'"),
        ({"model_name": "another"}, "names another model"),
    ],
)
def test_a_manifest_that_cannot_be_trusted_whole_is_refused(change: dict[str, object], message: str) -> None:
    document = {
        "format": "modelport.manifest/v1",
        "model_name": "m",
        "job_id": "j",
        "base_model": "b",
        "weight_type": "lora",
        "files": [{"path": "a", "size": 1, "sha256": "0" * 64}],
        **change,
    }
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        parse_manifest("m", json.dumps(document).encode())


def test_a_manifest_with_a_key_twice_is_refused() -> None:
    with pytest.raises(ManifestError, match="has the key 'format' twice"):
        parse_manifest("m", b'{"format": 1, "format": 2}')
