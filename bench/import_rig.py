"""The set-up shared by the import benchmarks: a data folder with synthetic bases registered through the
catalog, a local bucket and an S3 bucket (nanio) holding the same files, a local and an S3 model
store, and per model store one deployment: its own data folder and SQLite database, a real
`modelport serve --no-worker`, and real `modelport worker` processes: a long-lived one (steady state,
as in production) or a fresh one per import when its peak RSS must belong to that import alone.
Separate deployments keep the two stores' workers from claiming each other's jobs.

An import is timed from the database: `finished_at_ms - started_at_ms` is the worker's claim to its
finish (inspection, copy, fsync, publish); the client's create-to-SUCCESSED time is kept beside it.
Baselines run in this process on the same files, from a cold page cache like the import.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opendal

import checkpoints
import plain_copy
from database import engine_for, job_times, sqlite_url
from modelport import samples
from modelport.catalog.catalog import load_catalog
from object_server import ObjectServer, start_object_server
from processes import ApiServer, WorkerProcess, base_env, proc_io

LOCAL_BUCKET = "bench-local"
S3_BUCKET = "bench-s3"
S3_SOURCE = "src"  # the real bucket on the S3 server behind bucket name S3_BUCKET
S3_STORE = "dst"  # the real bucket holding the S3 model store
KINDS = ("local", "s3")


@dataclass(frozen=True)
class Pair:
    source: str
    store: str

    @property
    def label(self) -> str:
        return f"{self.source} → {self.store}"

    @classmethod
    def parse(cls, text: str) -> Pair:
        source, _, store = text.partition(":")
        if source not in KINDS or store not in KINDS:
            raise ValueError(f"a pair is SOURCE:STORE with each local or s3; got {text!r}")
        return cls(source, store)


@dataclass
class SyntheticModel:
    base_id: str
    nominal_bytes: int
    prefix: str = ""
    folder: Path | None = None
    files: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    @property
    def label(self) -> str:
        gib = self.nominal_bytes / checkpoints.GIB
        return f"{gib:g} GiB"


@dataclass
class ImportOutcome:
    job_id: str
    status: str
    error: str | None
    seconds: float  # worker: claim -> finish, from the database
    client_seconds: float  # client: create -> SUCCESSED seen
    peak_rss_mib: float
    digests: dict[str, str]
    worker_wrote: int  # bytes the worker process wrote (wchar: files and sockets) during the import
    model_name: str = ""


class ImportRig:
    def __init__(self, workdir: Path, *, with_s3: bool, worker_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.worker_env = dict(worker_env or {})
        self._workers: dict[str, WorkerProcess] = {}
        self.stores = KINDS if with_s3 else ("local",)
        self.data_dirs = {store: workdir / f"data-{store}" for store in self.stores}
        self.local_source = workdir / "bucket"
        self.local_store = workdir / "models"
        self.plain_target = workdir / "plain"
        self.with_s3 = with_s3
        self.objects: ObjectServer | None = None
        self.apis: dict[str, ApiServer] = {}
        self._engines = {s: engine_for(sqlite_url(d / "modelport.db")) for s, d in self.data_dirs.items()}
        self._configs: dict[str, Path] = {}
        for folder in (*self.data_dirs.values(), self.local_source, self.local_store):
            folder.mkdir(parents=True, exist_ok=True)

    # -- set-up ---------------------------------------------------------------------------------------

    def register(self, nominal_bytes: int) -> SyntheticModel:
        base_id = f"bench-{nominal_bytes // checkpoints.MIB}m"
        for data_dir in self.data_dirs.values():
            samples.register_base(data_dir, base_id, checkpoints.base_config_for(nominal_bytes))
        return SyntheticModel(base_id=base_id, nominal_bytes=nominal_bytes)

    def start(self) -> None:
        if self.with_s3:
            self.objects = start_object_server(self.workdir / "s3", self.workdir / "nanio.log")
            self.objects.create_bucket(S3_SOURCE)
            self.objects.create_bucket(S3_STORE)
        for store in self.stores:
            self._configs[store] = self._write_config(store)
            self.apis[store] = ApiServer(self._env(store), self.workdir / f"api-{store}.log").start()

    def _write_config(self, store: str) -> Path:
        text = f'[buckets.{LOCAL_BUCKET}]\nurl = "file://{self.local_source}"\n\n'
        if self.objects is not None:
            text += f"[buckets.{S3_BUCKET}]\n{self.objects.toml_table(S3_SOURCE)}\n"
        if store == "local":
            text += f'[model_store]\nurl = "file://{self.local_store}"\n'
        else:
            assert self.objects is not None
            text += f"[model_store]\n{self.objects.toml_table(S3_STORE)}"
        path = self.workdir / f"storage-{store}.toml"
        path.write_text(text)
        return path

    def _env(self, store: str) -> dict[str, str]:
        extra = {"MODELPORT_CONFIG": str(self._configs[store]), "MODELPORT_POLL_SECONDS": "0.05"}
        if self.objects is not None:
            extra.update(self.objects.credentials_env())
        return base_env(self.data_dirs[store], **extra, **self.worker_env)

    def materialize(self, model: SyntheticModel) -> None:
        """Write the model's files into the local bucket (and link them into the S3 bucket)."""
        base = load_catalog(self.data_dirs["local"]).get(model.base_id)
        assert base is not None, model.base_id
        model.prefix = f"models/{model.base_id}/"
        model.folder = self.local_source / model.prefix
        shards = checkpoints.shard_count(model.nominal_bytes)
        files = checkpoints.write_checkpoint(model.folder, dict(base.config), shards)
        model.files = {path.name: path.stat().st_size for path in files}
        if self.objects is not None:
            checkpoints.hardlink_tree(model.folder, self.objects.bucket_dir(S3_SOURCE) / model.prefix)

    def discard(self, model: SyntheticModel) -> None:
        if model.folder is not None:
            shutil.rmtree(model.folder, ignore_errors=True)
        if self.objects is not None and model.prefix:
            shutil.rmtree(self.objects.bucket_dir(S3_SOURCE) / model.prefix, ignore_errors=True)

    def cold_cache(self, model: SyntheticModel) -> None:
        assert model.folder is not None
        checkpoints.drop_cache(model.folder / name for name in model.files)

    # -- the runs -------------------------------------------------------------------------------------

    def import_once(
        self, model: SyntheticModel, pair: Pair, *, fresh_worker: bool, timeout: float = 3600, keep: bool = False
    ) -> ImportOutcome:
        """One import by a worker process started for it (`fresh_worker`: its peak RSS is this import's),
        or by the long-lived worker of the pair's model store (steady state: its memory is warm). The
        model store is emptied afterwards unless `keep` (a later import would find its blobs)."""
        api = self.apis[pair.store]
        self.cold_cache(model)
        if fresh_worker:
            log = self.workdir / f"worker-{model.base_id}-{pair.source}-{pair.store}.log"
            worker = WorkerProcess(self._env(pair.store), log).start()
        else:
            worker = self._long_lived_worker(pair.store)
        try:
            bucket = LOCAL_BUCKET if pair.source == "local" else S3_BUCKET
            wrote_before = proc_io(worker.pid)["wchar"]
            began = time.perf_counter()
            job_id = api.create_job(model.base_id, "full", bucket, model.prefix)
            job = api.wait_terminal(job_id, timeout=timeout, interval=0.05)
            client_seconds = time.perf_counter() - began
            peak = worker.peak_rss_mib()
            worker_wrote = proc_io(worker.pid)["wchar"] - wrote_before
        finally:
            if fresh_worker:
                worker.stop()
        times = job_times(self._engines[pair.store], [job_id])[job_id]
        assert times.started_at_ms is not None and times.finished_at_ms is not None
        digests = self._published_digests(pair.store, job["model_name"]) if job["status"] == "SUCCESSED" else {}
        if not keep:
            self.clear_store(pair.store)
        return ImportOutcome(
            job_id=job_id,
            status=job["status"],
            error=job.get("error_code"),
            seconds=(times.finished_at_ms - times.started_at_ms) / 1000,
            client_seconds=client_seconds,
            peak_rss_mib=peak,
            digests=digests,
            worker_wrote=worker_wrote,
            model_name=job["model_name"],
        )

    def _long_lived_worker(self, store: str) -> WorkerProcess:
        worker = self._workers.get(store)
        if worker is None or not worker.alive():
            worker = WorkerProcess(self._env(store), self.workdir / f"worker-{store}-store.log").start()
            self._workers[store] = worker
        return worker

    def idle_worker_rss(self) -> float:
        """Peak RSS of a worker that starts, polls for a while and claims nothing (the floor)."""
        worker = WorkerProcess(self._env("local"), self.workdir / "worker-idle.log").start()
        try:
            time.sleep(2.0)  # a few poll cycles: the baseline is a worker at rest, not one mid-start
            return worker.peak_rss_mib()
        finally:
            worker.stop()

    def plain_copy(self, model: SyntheticModel, pair: Pair) -> tuple[float, dict[str, str]]:
        self.cold_cache(model)
        source = self._place(pair.source, model.prefix, reading=True)
        target = self._place(pair.store, "plain/", reading=False)
        try:
            return plain_copy.plain_copy(model.files, source, target)
        finally:
            self._clear_target(pair.store)

    def rclone(self, model: SyntheticModel, pair: Pair) -> float:
        self.cold_cache(model)
        env: dict[str, str] = {}
        if pair.source == "local":
            assert model.folder is not None
            source = str(model.folder)
        else:
            assert self.objects is not None
            env.update(self.objects.rclone_env("benchsrc"))
            source = f"benchsrc:{S3_SOURCE}/{model.prefix}"
        fsync_folder = None
        if pair.store == "local":
            target = str(self.plain_target)
            fsync_folder = self.plain_target
        else:
            assert self.objects is not None
            # A second remote name on the same server, so rclone streams the bytes instead of asking
            # the server for a copy (it does server-side copies only within one remote).
            env.update(self.objects.rclone_env("benchdst"))
            target = f"benchdst:{S3_STORE}/rclone/"
        try:
            return plain_copy.rclone_copy(source, target, env, fsync_folder=fsync_folder)
        finally:
            self._clear_target(pair.store)

    # -- helpers --------------------------------------------------------------------------------------

    def _place(self, kind: str, prefix: str, *, reading: bool) -> plain_copy.Place:
        if kind == "local":
            return plain_copy.Place(folder=(self.local_source / prefix) if reading else self.plain_target)
        assert self.objects is not None
        bucket = S3_SOURCE if reading else S3_STORE
        return plain_copy.Place(operator=opendal.Operator("s3", **self.objects.operator_options(bucket)), prefix=prefix)

    def _clear_target(self, kind: str) -> None:
        if kind == "local":
            shutil.rmtree(self.plain_target, ignore_errors=True)
        else:
            assert self.objects is not None
            self.objects.clear_bucket(S3_STORE)

    def _published_digests(self, store: str, model_name: str) -> dict[str, str]:
        if store == "local":
            manifest_path = self.local_store / model_name / "manifest.json"
        else:
            assert self.objects is not None
            manifest_path = self.objects.bucket_dir(S3_STORE) / model_name / "manifest.json"
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        return {entry["path"]: entry["sha256"] for entry in manifest["files"]}

    def clear_store(self, store: str) -> None:
        """Empty the model store, blobs included, so the next import of a model copies it again."""
        if store == "local":
            shutil.rmtree(self.local_store, ignore_errors=True)
            self.local_store.mkdir(parents=True)
        else:
            assert self.objects is not None
            self.objects.clear_bucket(S3_STORE)

    def store_bytes(self, store: str) -> int:
        """What the model store occupies on disk, each inode once (shared blobs are hard links)."""
        assert self.objects is not None or store == "local"
        root = self.local_store if store == "local" else self.objects.bucket_dir(S3_STORE)  # type: ignore[union-attr]
        sizes: dict[int, int] = {}
        for folder, _, names in os.walk(root):
            for name in names:
                info = os.lstat(os.path.join(folder, name))
                sizes[info.st_ino] = info.st_size
        return sum(sizes.values())

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        for api in self.apis.values():
            api.stop()
        if self.objects is not None:
            self.objects.stop()
        for engine in self._engines.values():
            engine.dispose()
