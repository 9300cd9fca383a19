"""The README's walkthroughs, run as written: every bash block of the curl and CLI walkthroughs
and of the job-control section, in one shell, from a fresh folder, against a real `modelport serve` started there.

Only the port differs (the README says 8000; the test takes a free one).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support.server import free_port, readme_serve

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def test_the_first_two_commands_are_install_and_start_then_the_test_suite() -> None:
    blocks = bash_blocks(README.read_text())
    assert blocks[0].strip() == "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/modelport serve"
    assert blocks[1].strip() == "./scripts/test"
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_the_walkthroughs_work_verbatim(tmp_path: Path) -> None:
    text = README.read_text()
    titles = ("Walkthrough with curl", "Walkthrough with the CLI", "Job control")
    script = "\n".join(block for title in titles for block in bash_blocks(section(text, title)))
    port = free_port()
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPORT_", "DASHSCOPE_"))}
    env["MODELPORT_BASE_URL"] = f"http://127.0.0.1:{port}"  # the CLI's default is :8000, like the README's
    with readme_serve(tmp_path, port, env):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    output = result.stdout + result.stderr
    assert '"status":"SUCCESSED"' in output
    assert "r is 12; the rank must be one of 8, 16, 32, 64" in output
    assert '"code":"InvalidApiKey"' in output
    assert "Verdict: PASSED" in output and "is ready to deploy" in output
    # Job control: the cancel answered (cancelled, or refused if the tiny import had already ended),
    # the two creates with one Idempotency-Key answered one job, and the quota was set.
    assert "Cancelled by the user." in output or '"code":"OperationDenied"' in output
    job_ids = re.findall(r'"job_id":"([^"]+)"', result.stdout)  # stderr has the walkthrough's polls
    assert job_ids[-1] == job_ids[-2] != job_ids[-3]
    assert re.search(r"^default +\d+ of 2 +\d+ of 100 +\d+ of 536870912000$", output, flags=re.MULTILINE), output
    manifests = list((tmp_path / "modelport-data" / "models").glob("qwen3-8b-offline-*/manifest.json"))
    assert manifests, "the CLI import should have left a published model"
