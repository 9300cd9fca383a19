"""Worker memory: the peak RSS (VmHWM from /proc/<pid>/status) of a fresh `modelport worker` process that
imports one full-weight model, at about 1, 4 and 16 GiB (4 GiB at most into the S3 store, whose
server writes about 0.1 GB/s here); the baseline is the peak RSS of the same worker
started and left idle (the interpreter, modelport and its libraries, polling an empty queue).

    .venv/bin/python bench/worker_memory.py
    .venv/bin/python bench/worker_memory.py --quick

Goals: peak RSS under 300 MiB, and the largest model's peak at most 1.2x the smallest's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import checkpoints
import machine
from import_rig import ImportRig, Pair
from tables import Table, save, verdict

LIMIT_MIB = 300
GROWTH = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="model sizes in GiB (default 1,4,16)")
    parser.add_argument("--pairs", default="local:local,s3:s3", help="SOURCE:STORE pairs (default local:local,s3:s3)")
    parser.add_argument("--s3-store-max-gib", type=float, default=4.0, help="largest size imported into S3 (default 4)")
    parser.add_argument("--quick", action="store_true", help="smoke test: sizes 0.0625,0.25 unless --sizes")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="extra worker environment (repeat)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [float(s) for s in (args.sizes or ("0.0625,0.25" if args.quick else "1,4,16")).split(",")]
    pairs = [Pair.parse(p) for p in args.pairs.split(",") if p]

    workdir = Path(tempfile.mkdtemp(prefix="modelport-bench-memory-"))
    facts = machine.print_header("Worker memory", workdir)
    table = Table(
        "Worker peak RSS during one import (VmHWM of a fresh worker process)",
        ["size", "source → store", "GiB", "import s", "peak RSS MiB", "idle worker MiB", "peak − idle MiB",
         f"< {LIMIT_MIB} MiB", "load avg"],
    )  # fmt: skip
    worker_env = dict(item.split("=", 1) for item in args.worker_env)
    rig = ImportRig(workdir, with_s3=any("s3" in (p.source, p.store) for p in pairs), worker_env=worker_env)
    peaks: dict[str, list[float]] = {p.label: [] for p in pairs}
    try:
        models = [rig.register(int(size * checkpoints.GIB)) for size in sizes]
        rig.start()
        idle = rig.idle_worker_rss()
        print(f"idle worker peak RSS: {idle:.0f} MiB", flush=True)
        for model in models:
            rig.materialize(model)
            for pair in pairs:
                if pair.store == "s3" and model.nominal_bytes > args.s3_store_max_gib * checkpoints.GIB:
                    print(f"  {model.label} {pair.label}: skipped (above --s3-store-max-gib)")
                    continue
                outcome = rig.import_once(model, pair, fresh_worker=True)
                if outcome.status != "SUCCESSED":
                    raise RuntimeError(f"{model.label} {pair.label}: import {outcome.status}: {outcome.error}")
                peaks[pair.label].append(outcome.peak_rss_mib)
                table.add(
                    model.label, pair.label, round(model.total_bytes / checkpoints.GIB, 2), outcome.seconds,
                    outcome.peak_rss_mib, idle, outcome.peak_rss_mib - idle,
                    verdict(outcome.peak_rss_mib < LIMIT_MIB), machine.load_average(),
                )  # fmt: skip
                print(f"  {model.label} {pair.label}: peak {outcome.peak_rss_mib:.0f} MiB", flush=True)
            rig.discard(model)
    finally:
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for label, values in peaks.items():
        if len(values) >= 2:
            growth = values[-1] / values[0]
            table.notes.append(
                f"{label}: largest / smallest model peak = {growth:.2f}x "
                f"(goal ≤ {GROWTH}x: {verdict(growth <= GROWTH)})"
            )
    print()
    table.print()
    save(args.json, facts, [table], idle_worker_mib=idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
