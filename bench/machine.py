"""What a result was measured on: cores, memory, CPU model, the disk under the work folder, and the
load average at the moment a figure was taken (the machine may be shared, so every row carries it).

Reads /proc and /sys only; it never changes anything.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _disk(folder: Path) -> str:
    """'ext4 on /dev/vda (rotational, 252 GiB, 78 GiB free)' for the file system holding `folder`."""
    try:
        found = (
            subprocess.run(["df", "--output=source,fstype", str(folder)], capture_output=True, text=True, check=True)
            .stdout.splitlines()[-1]
            .split()
        )
        source, fstype = found[0], found[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        source, fstype = "?", "?"
    usage = shutil.disk_usage(folder)
    kind = ""
    rotational = Path(f"/sys/block/{Path(source).name}/queue/rotational")
    if rotational.exists():
        kind = "rotational (as the VM reports it), " if rotational.read_text().strip() == "1" else "non-rotational, "
    return f"{fstype} on {source} ({kind}{usage.total / 1024**3:.0f} GiB, {usage.free / 1024**3:.0f} GiB free)"


def describe(work_folder: Path | None = None) -> dict[str, Any]:
    folder = work_folder or Path("/tmp")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "cpu": _cpu_model(),
        "disk": _disk(folder),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": load_average(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def print_header(title: str, work_folder: Path | None = None) -> dict[str, Any]:
    facts = describe(work_folder)
    print(f"# {title}")
    print(
        f"{facts['date']}; {facts['cores']} cores, {facts['memory_gib']} GiB RAM, {facts['cpu']}; "
        f"disk {facts['disk']}; Linux {facts['kernel']}, Python {facts['python']}"
    )
    print(f"load average at start: {facts['load_average']}")
    print(f"command: {facts['command']}")
    print(flush=True)
    return facts
