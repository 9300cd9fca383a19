"""Import throughput: full-weight imports of synthetic bases (about 1, 4 and 16 GiB of bf16 safetensors
shards) through a real `modelport serve --no-worker` and a real `modelport worker`, from a local bucket
and from an S3-protocol server (nanio), into a local and an S3 model store; beside each, a plain copy
of the same objects with the same storage library plus SHA-256 (no validation), and `rclone copy`.

    .venv/bin/python bench/import_throughput.py --sizes 1,4,16
    .venv/bin/python bench/import_throughput.py --quick          # a smoke test: small sizes, a few minutes

Every method starts from a cold page cache for the source files (posix_fadvise DONTNEED) and writes
to an empty destination; the goal is ours >= 0.85 x the plain copy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import checkpoints
import machine
import plain_copy
from import_rig import ImportRig, Pair, SyntheticModel
from tables import Table, ratio, save

GOAL = 0.85
WARM_UP_BYTES = 64 * checkpoints.MIB
DEFAULT_PAIRS = "local:local,s3:local,local:s3,s3:s3"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="model sizes in GiB, comma-separated (default 1,4,16)")
    parser.add_argument("--pairs", default=DEFAULT_PAIRS, help=f"SOURCE:STORE pairs (default {DEFAULT_PAIRS})")
    parser.add_argument(
        "--s3-store-max-gib",
        type=float,
        default=4.0,
        help="skip sizes above this for an S3 model store (the S3 server writes ~0.1 GB/s here; default 4)",
    )
    parser.add_argument("--no-rclone", action="store_true", help="skip the rclone baseline")
    parser.add_argument(
        "--rclone-max-gib", type=float, default=1.0, help="run rclone only up to this size (default 1; time budget)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="rounds per row, best time kept (default 2)")
    parser.add_argument(
        "--repeat-max-gib", type=float, default=4.0, help="larger sizes get one round (default 4; time budget)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: sizes 0.0625,0.25 GiB unless --sizes")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a new one in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="extra worker environment (repeat)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.sizes is None:
        args.sizes = "0.0625,0.25" if args.quick else "1,4,16"
    sizes = [float(s) for s in args.sizes.split(",") if s]
    pairs = [Pair.parse(p) for p in args.pairs.split(",") if p]
    use_rclone = not args.no_rclone and plain_copy.rclone_available()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="modelport-bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    facts = machine.print_header("Import throughput", workdir)
    rclone_note = plain_copy.rclone_version() if use_rclone else "rclone not used (not installed or --no-rclone)"
    print(rclone_note, flush=True)
    table = Table(
        "Import throughput (full weights, bf16 shards)",
        ["size", "source → store", "GiB", "rounds", "ours s", "ours GiB/s", "plain copy s", "plain GiB/s", "ours/plain",
         "rclone s", "ours/rclone", "create→SUCCESSED s", "load avg"],
    )  # fmt: skip
    table.notes.append(
        "ours = the worker's claim → finish (inspection, copy with SHA-256 and NaN/Inf scan, fsync, publish), "
        f"from the job's timestamps; {args.repeat} round(s) per row (one above {args.repeat_max_gib:g} GiB), the "
        "best of each method kept; ours/plain and ours/rclone compare "
        "throughput (higher is better), "
        f"goal ours/plain ≥ {GOAL}. Each store has one long-lived worker, warmed up by one unrecorded "
        "import per pair (a worker's first import also pays for faulting in its buffers: see Worker memory)."
    )
    worker_env = dict(item.split("=", 1) for item in args.worker_env)
    rig = ImportRig(workdir, with_s3=any("s3" in (p.source, p.store) for p in pairs), worker_env=worker_env)
    failures: list[str] = []
    try:
        warm_up = rig.register(WARM_UP_BYTES)
        models = [rig.register(int(size * checkpoints.GIB)) for size in sizes]
        rig.start()
        rig.materialize(warm_up)
        for pair in pairs:
            rig.import_once(warm_up, pair, fresh_worker=False)
            rig.plain_copy(warm_up, pair)
        rig.discard(warm_up)
        for model in models:
            began = time.perf_counter()
            rig.materialize(model)
            written = time.perf_counter() - began
            print(
                f"{model.label}: wrote {len(model.files)} files, {model.total_bytes / checkpoints.GIB:.2f} GiB "
                f"in {written:.0f} s",
                flush=True,
            )
            for pair in pairs:
                if pair.store == "s3" and model.nominal_bytes > args.s3_store_max_gib * checkpoints.GIB:
                    print(f"  {pair.label}: skipped (above --s3-store-max-gib {args.s3_store_max_gib:g})")
                    continue
                with_rclone = use_rclone and model.nominal_bytes <= args.rclone_max_gib * checkpoints.GIB
                runs = args.repeat if model.nominal_bytes <= args.repeat_max_gib * checkpoints.GIB else 1
                run_pair(rig, model, pair, runs=runs, use_rclone=with_rclone, table=table, failures=failures)
            rig.discard(model)
    finally:
        rig.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    table.print()
    met = [row[8] >= GOAL for row in table.rows if isinstance(row[8], float)]
    print(f"goal ours/plain ≥ {GOAL}: met in {sum(met)} of {len(met)} rows")
    for failure in failures:
        print(f"FAILURE: {failure}")
    save(args.json, facts, [table], rclone=rclone_note, failures=failures)
    return 1 if failures else 0


def run_pair(
    rig: ImportRig,
    model: SyntheticModel,
    pair: Pair,
    *,
    runs: int,
    use_rclone: bool,
    table: Table,
    failures: list[str],
) -> None:
    """`runs` rounds of (import, plain copy), alternating, and the best time of each: on a shared machine
    the fastest round is the one least disturbed by other work. rclone runs once."""
    gib = model.total_bytes / checkpoints.GIB
    ours_times: list[float] = []
    plain_times: list[float] = []
    client_times: list[float] = []
    for _ in range(runs):
        ours = rig.import_once(model, pair, fresh_worker=False)
        if ours.status != "SUCCESSED":
            failures.append(f"{model.label} {pair.label}: the import ended {ours.status}: {ours.error}")
            print(f"  {pair.label}: import {ours.status}: {ours.error}", flush=True)
            return
        plain_seconds, digests = rig.plain_copy(model, pair)
        if digests != ours.digests:
            failures.append(f"{model.label} {pair.label}: published SHA-256 digests differ from the plain copy's")
        ours_times.append(ours.seconds)
        client_times.append(ours.client_seconds)
        plain_times.append(plain_seconds)
        print(f"  {pair.label}: ours {ours.seconds:.1f} s, plain {plain_seconds:.1f} s", flush=True)
    rclone_seconds = rig.rclone(model, pair) if use_rclone else None
    best, best_plain = min(ours_times), min(plain_times)
    row = (
        model.label, pair.label, round(gib, 2), runs, best, gib / best, best_plain, gib / best_plain,
        ratio(best_plain, best), rclone_seconds, ratio(rclone_seconds, best), min(client_times),
        machine.load_average(),
    )  # fmt: skip
    table.add(*row)
    print(
        f"  {pair.label}: best ours {best:.1f} s ({gib / best:.2f} GiB/s), best plain {best_plain:.1f} s, "
        f"rclone {rclone_seconds if rclone_seconds is None else round(rclone_seconds, 1)} s, "
        f"load {machine.load_average()}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
