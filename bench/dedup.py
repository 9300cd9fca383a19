"""De-duplication: the same full-weight model imported twice into one model store, through the real
`modelport serve --no-worker` and `modelport worker` of import_throughput.py. The first import is
the baseline (it writes every byte); the second finds every file in the store and writes only its
manifest. Both read the whole source once: the checks run on every byte either way.

    .venv/bin/python bench/dedup.py                 # 1 GiB, every source → store pair
    .venv/bin/python bench/dedup.py --quick         # 64 MiB, a smoke test

Each pair starts from an empty store and a cold page cache for the source files. "Store grew" is
what the store occupies afterwards minus before, counting each inode once (hard links of shared
blobs are the same bytes); "worker wrote" is the worker process's wchar over the import (files and
sockets alike, so for an S3 store it is the upload).
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
from tables import Table, save

DEFAULT_PAIRS = "local:local,s3:local,local:s3,s3:s3"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="model sizes in GiB, comma-separated (default 1)")
    parser.add_argument("--pairs", default=DEFAULT_PAIRS, help=f"SOURCE:STORE pairs (default {DEFAULT_PAIRS})")
    parser.add_argument("--quick", action="store_true", help="smoke test: 0.0625 GiB unless --sizes")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a new one in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    sizes = [float(s) for s in (args.sizes or ("0.0625" if args.quick else "1")).split(",") if s]
    pairs = [Pair.parse(p) for p in args.pairs.split(",") if p]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="modelport-bench-dedup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    facts = machine.print_header("De-duplication", workdir)
    table = Table(
        "A second import of the same model",
        ["size", "source → store", "GiB", "first s", "first: store grew GiB", "first: worker wrote GiB",
         "second s", "second: store grew KiB", "second: worker wrote MiB", "second/first time", "load avg"],
    )  # fmt: skip
    table.notes.append(
        "first = an import into an empty store (the baseline, measured in the same run); second = the same "
        "folder again, same base and weight type, into the store the first left. Times are the worker's claim "
        "→ finish from the job's timestamps; second/first below 1 means the second import is faster."
    )
    rig = ImportRig(workdir, with_s3=any("s3" in (p.source, p.store) for p in pairs))
    failures: list[str] = []
    try:
        models = [rig.register(int(size * checkpoints.GIB)) for size in sizes]
        rig.start()
        for model in models:
            rig.materialize(model)
            gib = model.total_bytes / checkpoints.GIB
            for pair in pairs:
                rig.clear_store(pair.store)
                empty = rig.store_bytes(pair.store)
                first = rig.import_once(model, pair, fresh_worker=False, keep=True)
                after_first = rig.store_bytes(pair.store)
                second = rig.import_once(model, pair, fresh_worker=False, keep=True)
                after_second = rig.store_bytes(pair.store)
                rig.clear_store(pair.store)
                if {first.status, second.status} != {"SUCCESSED"}:
                    failures.append(f"{model.label} {pair.label}: {first.status} {first.error}; {second.status}")
                    continue
                if first.digests != second.digests:
                    failures.append(f"{model.label} {pair.label}: the two imports published different digests")
                table.add(
                    model.label, pair.label, round(gib, 2), first.seconds, (after_first - empty) / checkpoints.GIB,
                    first.worker_wrote / checkpoints.GIB, second.seconds, (after_second - after_first) / 1024,
                    second.worker_wrote / checkpoints.MIB, second.seconds / first.seconds, machine.load_average(),
                )  # fmt: skip
                print(
                    f"  {pair.label}: first {first.seconds:.1f} s, second {second.seconds:.1f} s, store grew "
                    f"{(after_second - after_first) / 1024:.0f} KiB on the second",
                    flush=True,
                )
            rig.discard(model)
    finally:
        rig.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    table.print()
    for failure in failures:
        print(f"FAILURE: {failure}")
    save(args.json, facts, [table], failures=failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
