"""A disk-backed S3-protocol server for the benchmarks: nanio (PyPI), whose buckets are folders and whose
objects are plain files, so a 16 GiB model fits on disk (moto keeps objects in memory) and a source
model can be hardlinked into a bucket instead of uploaded.

nanio is installed on first use into its own virtual environment under ~/.cache/modelport-bench/
(one `pip install nanio==0.1.7`), so its dependencies never touch the project's venv; its app runs
under that environment's uvicorn through s3_app.py, which fixes how nanio checks signed listings.
Set MODELPORT_BENCH_NANIO to the path of a `nanio` executable of another install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from processes import free_port, wait_for

NANIO_VERSION = "0.1.7"
ACCESS_KEY_ID = "modelportbenchkey"
SECRET_ACCESS_KEY = "modelport-bench-secret-0123456789"
REGION = "us-east-1"
KEY_ID_ENV = "BENCH_S3_ACCESS_KEY_ID"
SECRET_ENV = "BENCH_S3_SECRET_ACCESS_KEY"


def nanio_executable() -> Path:
    chosen = os.environ.get("MODELPORT_BENCH_NANIO")
    if chosen:
        return Path(chosen)
    venv = Path.home() / ".cache" / "modelport-bench" / f"nanio-{NANIO_VERSION}"
    executable = venv / "bin" / "nanio"
    if not executable.exists():
        print(f"installing nanio {NANIO_VERSION} (the S3-protocol server) into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", f"nanio=={NANIO_VERSION}"],
            check=True,
            capture_output=True,
        )
    return executable


@dataclass
class ObjectServer:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bucket_dir(self, bucket: str) -> Path:
        return self.data_dir / bucket

    def create_bucket(self, bucket: str) -> Path:
        folder = self.bucket_dir(bucket)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def clear_bucket(self, bucket: str) -> None:
        folder = self.bucket_dir(bucket)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def operator_options(self, bucket: str) -> dict[str, str]:
        """What `opendal.Operator("s3", **options)` needs to reach `bucket` (as modelport builds it)."""
        return {
            "bucket": bucket,
            "root": "/",
            "endpoint": self.endpoint,
            "region": REGION,
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
            "disable_config_load": "true",
            "disable_ec2_metadata": "true",
        }

    def toml_table(self, bucket: str) -> str:
        """The keys of a [buckets.NAME] or [model_store] table, credentials by env reference."""
        return (
            f'url = "s3://{bucket}/"\nendpoint = "{self.endpoint}"\nregion = "{REGION}"\n'
            f'access_key_id = {{ env = "{KEY_ID_ENV}" }}\nsecret_access_key = {{ env = "{SECRET_ENV}" }}\n'
        )

    @staticmethod
    def credentials_env() -> dict[str, str]:
        return {KEY_ID_ENV: ACCESS_KEY_ID, SECRET_ENV: SECRET_ACCESS_KEY}

    def rclone_env(self, remote: str) -> dict[str, str]:
        """An rclone remote named `remote` on this server, configured through the environment."""
        prefix = f"RCLONE_CONFIG_{remote.upper()}_"
        return {
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "Other",
            prefix + "ENDPOINT": self.endpoint,
            prefix + "ACCESS_KEY_ID": ACCESS_KEY_ID,
            prefix + "SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            prefix + "REGION": REGION,
            prefix + "FORCE_PATH_STYLE": "true",
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            # nanio runs a uvicorn supervisor and its workers in the session we started.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_object_server(data_dir: Path, log: Path, *, workers: int = 2) -> ObjectServer:
    python = nanio_executable().parent / "python"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NANIO_ACCESS_KEY": ACCESS_KEY_ID,
        "NANIO_SECRET_KEY": SECRET_ACCESS_KEY,
        "NANIO_DATA_DIR": str(data_dir),
    }
    # nanio's app under uvicorn, as `nanio serve` runs it, with the query-signing fix of s3_app.py.
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [str(python), "-m", "uvicorn", "s3_app:build_app", "--factory", "--app-dir", str(Path(__file__).parent),
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
             "--log-level", "warning"],
            env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = ObjectServer(data_dir=data_dir, port=port, process=process, log=log)

    def answering() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"nanio exited:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            # Unsigned, so 403; any S3-shaped answer means it is up.
            return httpx.get(server.endpoint + "/", timeout=1).status_code in (200, 403)
        except httpx.HTTPError:
            return False

    try:
        wait_for(answering, timeout=60, interval=0.1, what="nanio answering")
    except BaseException:
        server.stop()
        raise
    return server
