"""Fixtures for the tests against a real vLLM (marked `vllm`): the vLLM venv, and the tiny servable base
with its uploads, made once per session by `modelport sample servable` run in that venv (it trains the
tokenizer, which needs the `tokenizers` library the test venv lacks)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.serving import BASE_ID
from tests.support.vllm_venv import VllmVenv, find_venv

SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "engine_scripts.py"
# Token ids of "The quick brown fox" in the trained tokenizer; any ids below its 512 would do.
PROMPT = [54, 260, 485, 499, 464]
MAX_TOKENS = 8


@dataclass(frozen=True)
class Servable:
    base: Path  # what vLLM serves as --model
    uploads: Path  # lora/, full/, smaller-base/, half-rows/


@pytest.fixture(scope="session")
def vllm_venv() -> VllmVenv:
    return find_venv()


@pytest.fixture(scope="session")
def servable(vllm_venv: VllmVenv, tmp_path_factory: pytest.TempPathFactory) -> Servable:
    root = tmp_path_factory.mktemp("servable")
    made = subprocess.run(
        [str(vllm_venv.python), "-m", "modelport", "sample", "servable", "--id", BASE_ID,
         "--base-out", str(root / "base"), "--uploads-out", str(root / "uploads")],
        env=vllm_venv.env({"MODELPORT_DATA_DIR": str(root / "scratch-data")}),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return Servable(base=root / "base", uploads=root / "uploads")


def run_reference(venv: VllmVenv, *args: Any, timeout: float = 900) -> dict[str, Any]:
    """One engine_scripts.py run in the vLLM venv; its last output line, parsed."""
    done = subprocess.run(
        [str(venv.python), str(SCRIPTS), *(str(a) if isinstance(a, str | Path) else json.dumps(a) for a in args)],
        env=venv.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
