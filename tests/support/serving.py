"""A modelport deployment for the serving tests: real services (SQLite), the tiny servable base
registered as an operator base, uploads in a local bucket, and the model store on a local folder or
on the S3-protocol server, with imports run through the real importer and published to the store.

The environment it hands out (`env`) is what a vLLM process or a `modelport pull` would be given.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelport.catalog.catalog import load_catalog
from modelport.db.keys_repository import KeyRepository
from modelport.domain.jobs import Job, NewJob, StorageInfo, WeightType
from modelport.pipeline.blob_sink import BlobSink
from modelport.pipeline.importer import Importer
from modelport.samples import register_base
from modelport.services import Services, open_services
from modelport.serving import tiny_models
from modelport.settings import Settings
from modelport.storage.blob_ledger import BLOBS
from modelport.storage.interface import MANIFEST_NAME, ModelStore
from modelport.storage.manifest import Manifest, ManifestFile
from tests.support.s3_server import S3Server

BASE_ID = "tiny-qwen3"
TWIN_BASE_ID = "tiny-qwen3-twin"  # the same architecture under another id: a wrong base for a server of BASE_ID
BUCKET = "serving-bucket"


@dataclass
class Deployment:
    root: Path
    kind: str  # "local" or "s3"
    env: dict[str, str]
    settings: Settings
    services: Services
    s3: S3Server | None = None
    store_bucket: str | None = None
    _uploads_made: int = 0

    @property
    def model_store(self) -> ModelStore:
        return self.services.model_store

    @property
    def uploads(self) -> Path:
        return self.settings.data_dir / "buckets" / BUCKET if self.kind == "local" else self.root / "uploads"

    def new_upload(self, stem: str) -> Path:
        self._uploads_made += 1
        return self.uploads / f"{stem}-{self._uploads_made}"

    def write_lora(
        self, stem: str = "lora", *, seed: int = 1, rank: int = 8, base_id: str = BASE_ID, **options: Any
    ) -> Path:
        folder = self.new_upload(stem)
        tiny_models.write_lora(folder, base_id, tiny_models.servable_base_config(), seed=seed, rank=rank, **options)
        return folder

    def import_folder(
        self, folder: Path, *, weight_type: str = "lora", base_id: str = BASE_ID, workspace: str = "default"
    ) -> Job:
        """A job in the database, imported by the real importer (the worker's code path); returns the
        job with its final status."""
        workspace_id = KeyRepository(self.services.engine).ensure_workspace(workspace)
        prefix = folder.relative_to(self.uploads).as_posix() + "/"
        job = self.services.writes.create(
            workspace_id,
            NewJob(
                base_model=base_id,
                weight_type=WeightType(weight_type),
                storage=StorageInfo(BUCKET, prefix),
                display_name=None,
            ),
        ).job
        importer = Importer(self.settings, self.services.storage, self.services.catalog)
        result = importer.run(job, uuid.uuid4().hex[:8], lambda *_: None, lambda: False)
        return replace(job, status=result.status, error_code=result.error_code)

    def tamper(self, model_name: str, path: str) -> None:
        """Change one byte of a stored file behind the model store's back (the manifest stays)."""
        if self.kind == "local":
            target = self.settings.models_dir / model_name / path
            data = bytearray(target.read_bytes())
            data[-1] ^= 0xFF
            target.write_bytes(bytes(data))
            return
        assert self.s3 is not None and self.store_bucket is not None
        # On S3 a model's prefix holds only its manifest; each file is the blob the manifest names.
        manifest = json.loads(self.s3.get(self.store_bucket, f"published/{model_name}/{MANIFEST_NAME}"))
        blob = next(entry["blob"] for entry in manifest["files"] if entry["path"] == path)
        key = f"published/{BLOBS}{blob}"
        data = bytearray(self.s3.get(self.store_bucket, key))
        data[-1] ^= 0xFF
        self.s3.client().put_object(Bucket=self.store_bucket, Key=key, Body=bytes(data))

    def close(self) -> None:
        self.services.close()


def deploy(root: Path, kind: str, s3: S3Server | None, servable_base: Path | None = None) -> Deployment:
    """A deployment under `root` with the model store on a local folder ("local") or on `s3` ("s3");
    with `servable_base` (a folder of tiny_models.write_base), its tokenizer files are the base's references."""
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    config = tiny_models.servable_base_config()
    register_base(data_dir, BASE_ID, config)
    register_base(data_dir, TWIN_BASE_ID, config)
    if servable_base is not None:
        tiny_models.register_servable_base(data_dir, BASE_ID, servable_base)
    env = {"MODELPORT_DATA_DIR": str(data_dir)}
    config_path = None
    store_bucket = None
    if kind == "s3":
        assert s3 is not None
        store_bucket = s3.create_bucket("served")
        config_path = root / "modelport.toml"
        config_path.write_text(
            f'[model_store]\nurl = "s3://{store_bucket}/published/"\nendpoint = "{s3.endpoint}"\nregion = "us-east-1"\n'
            # Literal credentials (logged as discouraged): the file alone configures every process.
            f'access_key_id = "{s3.access_key_id}"\nsecret_access_key = "{s3.secret_access_key}"\n\n'
            f'[buckets.{BUCKET}]\nurl = "file://{root / "uploads"}/"\n'
        )
        (root / "uploads").mkdir()
        env["MODELPORT_CONFIG"] = str(config_path)
    settings = Settings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'modelport.db'}", config_path=config_path
    )
    services = open_services(settings)
    assert load_catalog(data_dir).get(BASE_ID) is not None
    return Deployment(
        root=root, kind=kind, env=env, settings=settings, services=services, s3=s3, store_bucket=store_bucket
    )


def publish_unchecked(store: ModelStore, model_name: str, folder: Path, *, base_id: str, weight_type: str) -> None:
    """Publish `folder` as `model_name` without the gate, through the store's own blob sink and
    manifest type: what a gate bug would let through, for the load proof to catch."""
    staged = store.stage(model_name, "unchecked")
    files = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        sink = BlobSink(staged, path.name, len(data), chunk_bytes=1 << 20)
        sink.feed(data)
        record = sink.finish()
        files.append(ManifestFile(path=path.name, size=len(data), sha256=sink.sha256, blob=record.key))
    now = "2026-12-02T00:00:00Z"
    manifest = Manifest(
        model_name=model_name,
        job_id=str(uuid.uuid4()),
        display_name=model_name,
        base_model=base_id,
        weight_type=weight_type,
        bucket_name=BUCKET,
        object_key=f"{folder.name}/",
        created_at=now,
        imported_at=now,
        files=tuple(files),
    )
    staged.publish(manifest.to_bytes())
