"""Webhooks from the outside, on SQLite and PostgreSQL: the operator adds an endpoint with the CLI
(the secret is its last line), a real `modelport serve` finishes a job, and is SIGKILLed while the
event is not yet delivered; the next process delivers it, and the receiver verifies it with the
Standard Webhooks library.

The receiver decides when the first delivery fails: it holds the request unanswered (the process
dies mid-attempt) or refuses it with 503 (the process dies between attempts). No sleeps: every
step waits for a condition.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport import samples
from modelport.catalog.catalog import load_catalog
from tests.e2e.conftest import cli_command
from tests.e2e.test_serve import create
from tests.support import webhook_receiver
from tests.support.server import Server, wait_for
from tests.support.webhook_receiver import Receiver

receiver = webhook_receiver.receiver


def modelport(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_command(args), env=env, capture_output=True, text=True, timeout=120, check=False)


def attempts_recorded(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM webhook_attempts")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("first_answer", ["stall", "refuse"])
def test_an_event_survives_a_sigkill_before_its_delivery(
    database_url: str, tmp_path: Path, receiver: Receiver, first_answer: str
) -> None:
    data_dir = tmp_path / "data"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(data_dir / "buckets/my-bucket/models/good/", "qwen3-8b", base.architecture)
    env = {
        "MODELPORT_DATABASE_URL": database_url,
        "MODELPORT_WEBHOOKS_ALLOW_PRIVATE": "1",
        "MODELPORT_WEBHOOKS_BACKOFF_SECONDS": "0.5",
    }
    first = Server(data_dir, env).start()
    cli_env = first.env
    added = modelport(cli_env, "webhooks", "add", "--workspace", "default", "--url", receiver.url())
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    endpoint_id = added.stdout.split()[3]

    if first_answer == "stall":
        receiver.stall()
    else:
        receiver.answer(503)
    job_id = create(first, "qwen3-8b", "lora", "models/good/")
    held = receiver.wait_for(1)[0]  # the job ended; its event reached the receiver, unacknowledged
    assert first.job(job_id)["status"] == "SUCCESSED"
    if first_answer == "refuse":
        wait_for(lambda: attempts_recorded(database_url) >= 1, timeout=60)
    first.kill()
    receiver.answer(204)

    second = Server(data_dir, env).start()
    try:
        # Only a live process records a delivery, so "delivered" is the second process's doing.
        wait_for(lambda: "delivered" in modelport(cli_env, "webhooks", "deliveries", endpoint_id).stdout, timeout=120)
        listed = modelport(cli_env, "webhooks", "deliveries", endpoint_id)
        delivered = receiver.received[-1]
        count = len(receiver.received)
        redelivered = modelport(cli_env, "webhooks", "redeliver", delivered.message_id)
        assert redelivered.returncode == 0, redelivered.stderr
        again = receiver.wait_for(count + 1)[-1]
    finally:
        second.terminate()

    assert delivered.message_id == held.message_id == again.message_id  # one event, one webhook-id
    payload = delivered.verified(secret)
    assert payload["type"] == "import.succeeded"
    assert payload["data"]["job"]["job_id"] == job_id and payload["data"]["job"]["status"] == "SUCCESSED"
    assert payload["data"]["report"]["verdict"] == "passed"
    assert again.verified(secret) == payload
    if first_answer == "stall":
        # The dead process held the delivery's lease; its successor on this host took it back at once.
        assert "recovered 1 webhook delivery(ies) from 1 dead sender(s)" in second.output()
    assert listed.returncode == 0, listed.stderr
    assert held.message_id in listed.stdout and "HTTP 204" in listed.stdout
    if first_answer == "refuse":
        assert "HTTP 503: The receiver answered HTTP 503: busy, try later" in listed.stdout
    for log in (first.output(), second.output(), listed.stdout):
        assert secret not in log and secret.removeprefix("whsec_") not in log


def test_the_operator_cli_lists_and_removes_endpoints_and_refuses_private_ones(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "MODELPORT_DATA_DIR": str(tmp_path / "data")}
    refused = modelport(env, "webhooks", "add", "--workspace", "team-a", "--url", "http://127.0.0.1:9/hook")
    assert refused.returncode == 1
    assert (
        "127.0.0.1 is a loopback address" in refused.stderr and "MODELPORT_WEBHOOKS_ALLOW_PRIVATE=1" in refused.stderr
    )
    added = modelport(
        env, "webhooks", "add", "--workspace", "team-a", "--url", "https://93.184.216.34/in",
        "--events", "import.running,import.failed",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    endpoint_id = added.stdout.split()[3]
    assert endpoint_id.startswith("ep_") and secret.startswith("whsec_")
    listed = modelport(env, "webhooks", "list")
    assert (
        endpoint_id in listed.stdout and "team-a" in listed.stdout and "import.running,import.failed" in listed.stdout
    )
    assert secret not in listed.stdout and secret not in modelport(env, "webhooks", "list", "--json").stdout
    every = modelport(env, "webhooks", "deliveries", "--workspace", "team-a")
    assert endpoint_id in every.stdout and "No deliveries yet" in every.stdout
    unknown = modelport(env, "webhooks", "deliveries", "ep_" + "0" * 32)
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr
    bad_event = modelport(env, "webhooks", "add", "--url", "https://93.184.216.34/", "--events", "import.deleted")
    assert bad_event.returncode == 1 and "'import.deleted' is not an event" in bad_event.stderr
    removed = modelport(env, "webhooks", "remove", endpoint_id)
    assert removed.returncode == 0 and endpoint_id in removed.stdout
    gone = modelport(env, "webhooks", "remove", endpoint_id)
    assert gone.returncode == 1 and "does not exist" in gone.stderr
    assert "No webhook endpoints" in modelport(env, "webhooks", "list").stdout
