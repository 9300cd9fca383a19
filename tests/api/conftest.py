"""API-level fixtures: the real ASGI app over real databases, driven in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import create_app
from modelport.services import Services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def key(services: Services) -> str:
    plaintext, _ = services.keys.create_key("alpha")
    return plaintext


@pytest.fixture
def other_key(services: Services) -> str:
    plaintext, _ = services.keys.create_key("beta")
    return plaintext


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
