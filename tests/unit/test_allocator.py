"""The malloc arena cap: applied on glibc, and never over an operator's own MALLOC_ARENA_MAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelport.worker.allocator import limit_malloc_arenas

_PROBE = "from modelport.worker.allocator import limit_malloc_arenas; print(limit_malloc_arenas())"


def _probe(env: dict[str, str]) -> str:
    # A fresh interpreter: the cap changes the process for good, so it is not tried in pytest's own.
    return subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_the_cap_is_applied_on_glibc() -> None:
    assert _probe({"PATH": "/usr/bin:/bin"}) == "True\n"


def test_an_operators_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
