"""`modelport serve` on a port another process holds ends with a sentence naming the port, before
it prints a key (shown only once) or says it is listening."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_a_port_in_use_ends_serve_with_a_sentence_and_no_key_printed(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        env = {"MODELPORT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        result = subprocess.run(
            [sys.executable, "-m", "modelport", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stderr
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "listening" not in result.stderr and "sk-" not in result.stdout + result.stderr
