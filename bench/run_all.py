"""Every benchmark, one after another, as BENCHMARKS.md reports them: each script's output is shown and
saved (text and JSON) in a results folder, and the total time is printed at the end.

    .venv/bin/python bench/run_all.py                 # the full suite (about 40 minutes on 2 cores)
    .venv/bin/python bench/run_all.py --quick         # every script with --quick (about 10 minutes)
    .venv/bin/python bench/run_all.py --only api_load,queue_latency
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import machine

HERE = Path(__file__).parent
SUITE = ("import_throughput", "dedup", "dry_run", "worker_memory", "api_load", "queue_latency")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", default=",".join(SUITE), help=f"comma-separated subset of {', '.join(SUITE)}")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default /tmp/modelport-bench-<time>)")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or Path(f"/tmp/modelport-bench-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    machine.print_header("modelport benchmarks", out)
    began = time.perf_counter()
    failed: list[str] = []
    for name in [n for n in args.only.split(",") if n]:
        if name not in SUITE:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(SUITE)}")
        command = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out / f"{name}.json")]
        if args.quick:
            command.append("--quick")
        print(f"\n=== {' '.join(command[1:])}  (load {machine.load_average()})", flush=True)
        started = time.perf_counter()
        with (out / f"{name}.txt").open("w") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
            code = process.wait()
        print(f"=== {name}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    print(f"\nall done in {(time.perf_counter() - began) / 60:.1f} min; results in {out}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
