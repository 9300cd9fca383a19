"""A real S3-protocol server for the test suite: moto's standalone server, started as a subprocess on
a free port, polled until it answers, and shared by every test of the session.

Two flavours: `s3_server` accepts any credentials (fast set-up, unique bucket names per test);
`s3_auth_server` enforces signatures and IAM like AWS does, for tests about wrong credentials.
Both are process-wide singletons, so importing the fixtures into several modules still starts one
server each; they stop when pytest ends.

Use: `from tests.support import s3_server as moto`, then `s3_server = moto.s3_server` in the test module
(an assignment, so linters do not take the fixture argument for a redefined import).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from modelport.storage.opendal_access import ObjectStoreSpec, Secret

READY_TIMEOUT_SECONDS = 30.0
REGION = "us-east-1"
# moto without auth accepts any pair; these only have to look like keys.
OPEN_KEY_ID = "modelport-test-key-id"
OPEN_SECRET = "modelport-test-secret-key"
# With auth enforced, the first requests are free: enough to create a user, a key and a policy.
_FREE_ACTIONS = 4


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path
    access_key_id: str = OPEN_KEY_ID
    secret_access_key: str = field(default=OPEN_SECRET, repr=False)
    _buckets: list[str] = field(default_factory=list)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=REGION,
        )

    def create_bucket(self, stem: str = "bucket") -> str:
        """A new, empty bucket with a unique name (tests share the server, never a bucket)."""
        name = f"{stem}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        self._buckets.append(name)
        return name

    def upload_folder(self, bucket: str, folder: Path, prefix: str) -> list[str]:
        client = self.client()
        keys = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            client.upload_file(str(path), bucket, key)
            keys.append(key)
        return keys

    def spec(self, bucket: str, root: str = "", *, secret: str | None = None) -> ObjectStoreSpec:
        """How modelport reaches `bucket` (under `root`) on this server; `secret` overrides the real one."""
        return ObjectStoreSpec(
            service="s3",
            bucket=bucket,
            root=root,
            endpoint=self.endpoint,
            region=REGION,
            access_key_id=Secret(self.access_key_id),
            secret_key=Secret(secret if secret is not None else self.secret_access_key),
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def get(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)


def start_moto(*, enforce_auth: bool = False) -> S3Server:
    """Start moto's server and return once it answers; fails with its log if it cannot."""
    last_error = ""
    for _ in range(3):  # a free port can be taken between probing it and moto binding it
        port = _free_port()
        handle, name = tempfile.mkstemp(prefix="moto-", suffix=".log")
        os.close(handle)
        log = Path(name)
        env = dict(os.environ)
        if enforce_auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_FREE_ACTIONS)
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = S3Server(endpoint=f"http://127.0.0.1:{port}", process=process, log_path=log)
        if _wait_ready(server):
            if enforce_auth:
                _create_credentials(server)
            return server
        last_error = log.read_text(errors="replace")[-2000:]
        server.stop()
    raise RuntimeError(f"moto's S3 server did not start:\n{last_error}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(server: S3Server) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=1) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            server.process.wait(timeout=0.05)  # the pause between polls, and an early exit noticed at once
            return False
        except subprocess.TimeoutExpired:
            continue
    return False


def _create_credentials(server: S3Server) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
        region_name=REGION,
    )
    iam.create_user(UserName="modelport")
    key = iam.create_access_key(UserName="modelport")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="modelport", PolicyArn=arn)
    server.access_key_id = key["AccessKeyId"]
    server.secret_access_key = key["SecretAccessKey"]


_SHARED: dict[bool, S3Server] = {}


def shared_server(config: pytest.Config, *, enforce_auth: bool) -> S3Server:
    server = _SHARED.get(enforce_auth)
    if server is None or server.process.poll() is not None:
        server = start_moto(enforce_auth=enforce_auth)
        _SHARED[enforce_auth] = server
        config.add_cleanup(server.stop)
    return server


@pytest.fixture(scope="session")
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    return shared_server(request.config, enforce_auth=False)


@pytest.fixture(scope="session")
def s3_auth_server(request: pytest.FixtureRequest) -> S3Server:
    return shared_server(request.config, enforce_auth=True)
