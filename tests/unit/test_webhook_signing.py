"""The Standard Webhooks scheme, checked against the reference library's verifier."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from modelport.webhooks.signing import SECRET_BYTES, Secret, signed_headers


def test_a_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    first, second = Secret.generate(), Secret.generate()
    assert first.reveal().startswith("whsec_")
    assert len(base64.b64decode(first.reveal().removeprefix("whsec_"), validate=True)) == SECRET_BYTES
    assert first != second


def test_the_reference_verifier_accepts_the_signature_and_returns_the_payload() -> None:
    secret = Secret.generate()
    body = json.dumps({"type": "import.succeeded", "data": {"job": {"display_name": "ünïcode"}}}).encode()
    headers = signed_headers(secret, "msg_0123456789abcdef0123456789abcdef", int(time.time()), body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret.reveal()).verify(body, headers)["data"]["job"]["display_name"] == "ünïcode"


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_the_reference_verifier_refuses_any_change(tamper: str) -> None:
    secret = Secret.generate()
    body = b'{"type":"import.failed"}'
    now = int(time.time())
    headers = signed_headers(secret, "msg_a", now, body)
    verifier = Webhook(secret.reveal())
    if tamper == "body":
        body = b'{"type":"import.succeeded"}'
    elif tamper == "id":
        headers["webhook-id"] = "msg_b"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        verifier = Webhook(Secret.generate().reveal())
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, headers)


def test_a_secret_never_shows_in_a_repr_or_a_string() -> None:
    secret = Secret.generate()
    plaintext = secret.reveal()
    assert plaintext not in repr(secret) and plaintext not in str(secret) and plaintext not in f"{secret}"
    assert plaintext not in repr({"secret": secret})


@pytest.mark.parametrize("value", ["", "sk-abc", "whsec_", "whsec_not base64!"])
def test_a_malformed_secret_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        Secret(value)
