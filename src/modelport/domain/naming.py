"""Generated model names: `{base}-offline-{YYYYMMDD}-{4 chars of [a-z0-9]}`, as DashScope makes them."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

_ALPHABET = string.ascii_lowercase + string.digits


def generate_model_name(base_model: str, created_at_ms: int) -> str:
    day = datetime.fromtimestamp(created_at_ms / 1000, tz=UTC).strftime("%Y%m%d")
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(4))
    return f"{base_model}-offline-{day}-{tail}"
