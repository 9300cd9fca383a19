"""The README's "Serving your imports" walkthrough, run as written with the vLLM venv: from a fresh folder,
against a real `modelport serve` (started where the README says to restart it), with real vLLM servers
the walkthrough itself starts. Only the venv path and the ports differ.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_readme import README, ROOT, bash_blocks, section
from tests.support.server import free_port, readme_serve, wait_for
from tests.support.vllm_venv import VllmVenv

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(2400)]
VENV_LINE = "V=~/vllm-venv"


def run(script: str, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """`script` in bash, in a process group of its own; whatever it left running is stopped after."""
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        _stop_group(process.pid)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _stop_group(pgid: int) -> None:
    def gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    if gone():
        return
    os.killpg(pgid, signal.SIGTERM)
    try:
        wait_for(gone, timeout=60, interval=0.5)
    except AssertionError:
        os.killpg(pgid, signal.SIGKILL)


def test_the_serving_walkthrough_works_verbatim(tmp_path: Path, vllm_venv: VllmVenv) -> None:
    blocks = bash_blocks(section(README.read_text(), "Serving your imports"))
    install, setup, *rest = blocks
    assert install.startswith("scripts/vllm-venv ~/vllm-venv")  # what built vllm_venv, run by .ci/run
    assert setup.startswith(VENV_LINE)
    venv_line = f"V={vllm_venv.root}"
    ports = {"8001": str(free_port()), "8002": str(free_port())}
    script = "\n".join(rest)
    for old, new in ports.items():
        script = script.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}").replace(f"--port {old}", f"--port {new}")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    serve_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPORT_", "DASHSCOPE_", "VLLM_"))}
    env["MODELPORT_BASE_URL"] = f"http://127.0.0.1:{serve_port}"

    made = run(setup.replace(VENV_LINE, venv_line), tmp_path, env, timeout=300)
    assert made.returncode == 0, made.stderr

    with readme_serve(tmp_path, serve_port, env):
        result = run(f"{venv_line}\n{script}", tmp_path, env, timeout=2000)

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"stdout:\n{result.stdout[-6000:]}\nstderr:\n{result.stderr[-6000:]}"
    assert result.stdout.count('"token_ids":[') >= 4  # the adapter, the pulled full model, the two raw adapters
    assert "every SHA-256 verified" in output
    assert "PASSED: " in output and "every tensor bound, and the greedy output moved" in output
    assert result.stdout.count('"code":404') == 2  # the tampered and the deleted import
    assert "(digest mismatch): adapter_model.safetensors of model" in output
    assert "(deleted): it was deleted" in output
    assert output.count("FAILED, as it must") == 2
    assert "was the adapter trained on another base model?" in output
    for raw in ("smaller-base", "half-rows"):
        assert f"Success: LoRA adapter 'raw-{raw}' added successfully." in output
