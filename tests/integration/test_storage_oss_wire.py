"""Alibaba OSS up to the wire. OSS cannot be reached from here, so a child process configured
through MODELPORT_CONFIG (oss:// buckets and an oss:// model store, endpoint
http://oss-cn-test.aliyuncs.com) sends its requests through an HTTP proxy that is in fact a small
object server in this process (tests/support/object_server.py). The proxy sees each request exactly
as OSS would: virtual-hosted host name, key, query, headers and the `Authorization: OSS id:signature`
that OpenDAL computed, which the server checks with its own implementation of OSS signature v1.

Covered: config -> OpenDAL `oss` service, bucket-name and root-prefix key mapping, listing, HEAD,
ranged GET with If-Match, PUT, multipart upload, batch and single DELETE, a whole import from an
OSS bucket into an OSS model store, delete, and the errors for a wrong secret and a missing bucket.
Not covered: TLS to real endpoints, the real service's acceptance of the signatures (only our
reading of the documented algorithm), STS tokens, and OSS behaviour the fake does not imitate.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.pipeline.importer import Importer
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.support.jobs import running_job
from tests.support.object_server import ObjectServer, Recorded, running

REPO = Path(__file__).resolve().parents[2]
SUFFIX = ".oss-cn-test.aliyuncs.com"
KEY_ID = "LTAI5tTestKeyId"
SECRET = "oss-secret-" + uuid.uuid4().hex
WRONG = "oss-wrong-" + uuid.uuid4().hex
PREFIX = "models/lora/"
MODEL = "qwen3-8b-offline-20261128-wire"
CONFIG = """
[model_store]
url = "oss://store-bkt/modelport/"
endpoint = "http://oss-cn-test.aliyuncs.com"
access_key_id = { env = "OSS_TEST_KEY_ID" }
access_key_secret = { env = "OSS_TEST_KEY_SECRET" }
part_size = "5MiB"

[buckets.oss-models]
url = "oss://real-oss-bkt/tenant-a/"
endpoint = "http://oss-cn-test.aliyuncs.com"
access_key_id = { env = "OSS_TEST_KEY_ID" }
access_key_secret = { env = "OSS_TEST_KEY_SECRET" }

[buckets.oss-wrong-secret]
url = "oss://real-oss-bkt/tenant-a/"
endpoint = "http://oss-cn-test.aliyuncs.com"
access_key_id = { env = "OSS_TEST_KEY_ID" }
access_key_secret = { env = "OSS_TEST_WRONG_SECRET" }

[buckets.oss-missing]
url = "oss://no-such-oss-bkt/"
endpoint = "http://oss-cn-test.aliyuncs.com"
access_key_id = { env = "OSS_TEST_KEY_ID" }
access_key_secret = { env = "OSS_TEST_KEY_SECRET" }
"""


def probe(config_path: str, data_dir: str) -> None:
    """Runs in the child: everything through modelport's own code, results as one JSON line."""
    settings = Settings(
        data_dir=Path(data_dir), database_url="sqlite://", config_path=Path(config_path), chunk_bytes=1024 * 1024
    )
    registry = build_storage(settings)
    bucket = registry.bucket("oss-models")
    out: dict[str, Any] = {"location": bucket.location(PREFIX)}
    out["listing"] = [[e.key, e.size, e.kind] for e in bucket.list(PREFIX, limit=100)]
    reader = bucket.open(PREFIX, "adapter_model.safetensors")
    out["range"] = reader.read(5, 100).hex()
    with ThreadPoolExecutor(max_workers=4) as pool:
        chunks = pool.map(lambda offset: reader.read(offset, 1 << 20), range(0, reader.size, 1 << 20))
        out["sha256"] = hashlib.sha256(b"".join(chunks)).hexdigest()
    out["escape"] = _error_of(lambda: list(bucket.list("../tenant-b/", limit=10)))

    job = running_job(bucket="oss-models", prefix=PREFIX, model_name=MODEL, display_name="wire")
    result = Importer(settings, registry, load_catalog(settings.data_dir)).run(
        job, "1-wire", lambda *_: None, lambda: False
    )
    out["status"], out["error_code"] = result.status.value, result.error_code
    store = registry.model_store
    out["manifest"] = json.loads(store.read_manifest(MODEL) or b"null")
    out["model_names"] = store.model_names()
    stored = store.open(MODEL, "adapter_model.safetensors")
    out["stored_sha256"] = hashlib.sha256(stored.read(0, stored.size)).hexdigest()
    store.delete(MODEL)
    out["after_delete"] = [store.model_names(), store.read_manifest(MODEL)]

    out["wrong_secret"] = _error_of(lambda: list(registry.bucket("oss-wrong-secret").list(PREFIX, limit=10)))
    out["missing"] = _error_of(lambda: list(registry.bucket("oss-missing").list(PREFIX, limit=10)))
    out["unknown"] = _error_of(lambda: registry.bucket("not-configured"))
    print(json.dumps(out))


def _error_of(action: Callable[[], object]) -> list[str]:
    try:
        action()
    except Exception as error:
        return [type(error).__name__, str(error)]
    return ["", ""]


@dataclass(frozen=True)
class Wire:
    out: dict[str, Any]
    requests: list[Recorded]
    server: ObjectServer
    adapter: dict[str, bytes]
    stderr: str

    def to(self, bucket: str) -> list[Recorded]:
        return [r for r in self.requests if r.bucket == bucket]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Wire:
    root = tmp_path_factory.mktemp("oss-wire")
    data_dir = root / "data"
    data_dir.mkdir()
    base = load_catalog(data_dir).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(root / "adapter", "qwen3-8b", base.architecture)
    adapter = {path.name: path.read_bytes() for path in (root / "adapter").iterdir()}
    source = {f"tenant-a/{PREFIX}{name}": data for name, data in adapter.items()}
    source[f"tenant-a/{PREFIX}"] = b""  # a console's folder placeholder
    source["tenant-b/secret.bin"] = b"another tenant"
    server = ObjectServer(
        buckets={"real-oss-bkt": source, "store-bkt": {}},
        oss_secrets={KEY_ID: SECRET},
        virtual_host_suffix=SUFFIX,
    )
    config = root / "modelport.toml"
    config.write_text(CONFIG)
    with running(server):
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "HTTP_PROXY": server.address,
            "http_proxy": server.address,
            "NO_PROXY": "",
            "no_proxy": "",
            "OSS_TEST_KEY_ID": KEY_ID,
            "OSS_TEST_KEY_SECRET": SECRET,
            "OSS_TEST_WRONG_SECRET": WRONG,
        }
        code = "import sys; from tests.integration.test_storage_oss_wire import probe; probe(sys.argv[1], sys.argv[2])"
        child = subprocess.run(
            [sys.executable, "-c", code, str(config), str(data_dir)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    return Wire(out=out, requests=list(server.requests), server=server, adapter=adapter, stderr=child.stderr)


def test_listing_and_ranged_reads_round_trip_through_modelport(wire: Wire) -> None:
    weights = wire.adapter["adapter_model.safetensors"]
    assert wire.out["location"] == "oss://oss-models/models/lora/"
    assert sorted(wire.out["listing"]) == sorted([name, len(data), "file"] for name, data in wire.adapter.items())
    assert wire.out["range"] == weights[5:105].hex()
    assert wire.out["sha256"] == hashlib.sha256(weights).hexdigest()


def test_every_request_is_oss_signed_with_the_configured_key(wire: Wire) -> None:
    assert wire.requests
    for request in wire.requests:
        assert request.headers["authorization"].startswith(f"OSS {KEY_ID}:"), request
        assert "date" in request.headers
    wrong = [r for r in wire.requests if r.signature_ok is False]
    assert wrong and all(r.status == 403 for r in wrong)
    assert len(wrong) == 1  # the wrong-secret listing, refused and not retried
    assert all(r.signature_ok for r in wire.requests if r not in wrong)


def test_requests_are_virtual_hosted_and_confined_to_the_root_prefix(wire: Wire) -> None:
    for request in wire.requests:
        assert request.host == request.bucket + SUFFIX
        assert request.url.startswith(f"http://{request.bucket}{SUFFIX}/")
    source = wire.to("real-oss-bkt")
    listings = [r for r in source if r.method == "GET" and not r.key]
    assert listings and {r.query.get("prefix") for r in listings} == {f"tenant-a/{PREFIX}"}
    assert {r.query.get("list-type") for r in listings} == {"2"}
    assert all(r.key.startswith(f"tenant-a/{PREFIX}") for r in source if r.key)
    assert not any("tenant-b" in r.url for r in wire.requests)  # the '../' prefix never left the process


def test_ranged_reads_carry_range_and_if_match(wire: Wire) -> None:
    key = f"tenant-a/{PREFIX}adapter_model.safetensors"
    gets = [r for r in wire.to("real-oss-bkt") if r.method == "GET" and r.key == key]
    assert any(r.headers.get("range") == "bytes=5-104" for r in gets)
    assert gets and all(r.headers.get("if-match") for r in gets)
    assert all(r.status == 206 for r in gets)


def test_the_import_publishes_with_multipart_writes_and_the_manifest_last(wire: Wire) -> None:
    assert wire.out["status"] == "SUCCESSED", wire.out["error_code"]
    manifest = wire.out["manifest"]
    assert manifest["model_name"] == MODEL
    assert wire.out["stored_sha256"] == hashlib.sha256(wire.adapter["adapter_model.safetensors"]).hexdigest()
    assert wire.out["model_names"] == [MODEL]

    writes = [r for r in wire.to("store-bkt") if r.method in ("PUT", "POST", "DELETE")]
    claims = f"modelport/.claims/{MODEL}.1-wire"
    (blob,) = [f["blob"] for f in manifest["files"] if f["path"] == "adapter_model.safetensors"]
    weights = f"modelport/.blobs/{blob}"
    manifest_key = f"modelport/{MODEL}/manifest.json"
    order = [(r.method, r.key, tuple(sorted(r.query))) for r in writes]
    put_claims = min(i for i, entry in enumerate(order) if entry == ("PUT", claims, ()))
    put_ref = order.index(("PUT", f"modelport/.refs/{blob}/{MODEL}.1-wire", ()))
    initiate = order.index(("POST", weights, ("uploads",)))
    parts = [i for i, (method, key, query) in enumerate(order) if key == weights and "partNumber" in query]
    complete = order.index(("POST", weights, ("uploadId",)))
    put_record = order.index(("PUT", f"{weights}.json", ()))
    put_manifest = order.index(("PUT", manifest_key, ()))
    remove_claims = order.index(("DELETE", claims, ()))
    assert len(parts) == 3  # 15 MB in parts of 5 MiB
    assert put_claims < put_ref < initiate < min(parts) <= max(parts) < complete < put_record < put_manifest
    assert put_manifest < remove_claims  # the claims go only once the manifest names the blobs


def test_delete_removes_every_object_of_the_model(wire: Wire) -> None:
    assert wire.out["after_delete"] == [[], None]
    assert wire.server.buckets["store-bkt"] == {}
    assert not wire.server.uploads


def test_errors_are_the_right_kind_and_never_show_a_secret(wire: Wire) -> None:
    kind, message = wire.out["wrong_secret"]
    assert kind == "StorageUnavailable"
    assert message.startswith("Access to oss://oss-wrong-secret/models/lora/ was denied (SignatureDoesNotMatch")
    assert wire.out["missing"][0] == "BucketNotFound"
    assert wire.out["missing"][1].startswith("The bucket 'oss-missing' does not exist (NoSuchBucket")
    assert wire.out["unknown"] == ["BucketNotFound", "The bucket 'not-configured' is not configured in this modelport."]
    assert wire.out["escape"][0] == "StorageError"
    everything = json.dumps(wire.out) + wire.stderr
    assert SECRET not in everything and WRONG not in everything
    assert "aliyuncs.com" not in everything  # no endpoint in what users or logs see
