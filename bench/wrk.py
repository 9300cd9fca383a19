"""Running wrk (Debian's /usr/bin/wrk) against a local server and reading its report: requests per second,
latency percentiles, and errors (non-2xx/3xx answers plus socket errors).

A request can name a random job id from a file: the Lua script below picks one per request, so a
run does not poll one hot row.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RANDOM_PATH_SCRIPT = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do ids[#ids + 1] = line end
local prefix = os.getenv("BENCH_PATH_PREFIX")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    random_ids: Path | None = None,
    path_prefix: str = "",
) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    env = None
    if random_ids is not None:
        script = random_ids.with_suffix(".lua")
        script.write_text(RANDOM_PATH_SCRIPT)
        command += ["-s", str(script)]
        env = {"BENCH_IDS_FILE": str(random_ids), "BENCH_PATH_PREFIX": path_prefix, "PATH": "/usr/bin:/bin"}
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse(done.stdout)


def parse(report: str) -> WrkResult:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", report, re.MULTILINE)
        if found is None:
            raise ValueError(f"no {percent}% latency in wrk's report:\n{report}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", report)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    if totals is None or rate is None:
        raise ValueError(f"unexpected wrk report:\n{report}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * _UNITS[totals.group(3)] / 1000,
        requests_per_second=float(rate.group(1)),
        p50_ms=latency("50"),
        p90_ms=latency("90"),
        p99_ms=latency("99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )
