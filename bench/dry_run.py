"""Header-only validation: the dry run (`POST /api/v1/custom_models/import/validate`) of full-weight
models of 1 GiB to 1 TiB declared size, from a local bucket and from an S3-protocol server (nanio).

    .venv/bin/python bench/dry_run.py
    .venv/bin/python bench/dry_run.py --quick

The models are sparse files: real safetensors headers, data areas left as holes of the declared
length. The first table keeps the files and tensors fixed and grows only the bytes (wider layers);
the second keeps the bytes fixed and grows the tensor count (more layers). Beside each time: the
bytes the server read (rchar of its process, or of nanio's processes for the S3 bucket) and the floor,
plain Python reading and json-decoding the same headers. A dry run should grow with files and
tensors, never with bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import checkpoints
import machine
from modelport import samples
from modelport.catalog.architecture import Architecture
from object_server import ObjectServer, start_object_server
from processes import ApiServer, base_env, proc_io
from tables import Table, save

VALIDATE_ROUTE = "/api/v1/custom_models/import/validate"
SHARDS = 16
LOCAL_BUCKET = "dry-local"
S3_BUCKET = "dry-s3"


def group_rchar(pgid: int) -> int:
    """Bytes read by every process of a process group (nanio's supervisor and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                total += proc_io(int(stat.parent.name))["rchar"]
        except (OSError, IndexError, ValueError, KeyError):
            continue
    return total


def plain_header_read(folder: Path) -> float:
    """Seconds for plain Python to read and decode every shard's header (the floor of a dry run)."""
    began = time.perf_counter()
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            json.loads(handle.read(length))
    json.loads((folder / "model.safetensors.index.json").read_text())
    json.loads((folder / "config.json").read_text())
    return time.perf_counter() - began


class DryRunRig:
    def __init__(self, workdir: Path, with_s3: bool) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.bucket = workdir / "bucket"
        self.objects: ObjectServer | None = None
        self.with_s3 = with_s3
        self.api: ApiServer | None = None
        self.data_dir.mkdir(parents=True)
        self.bucket.mkdir(parents=True)

    def add_model(self, declared_bytes: int, layers: int) -> tuple[str, int, int, int]:
        """Register a base of that size and layer count and write its sparse checkpoint."""
        base_id = f"dry-{declared_bytes // checkpoints.MIB}m-{layers}l"
        config = checkpoints.wide_config(declared_bytes, layers)
        samples.register_base(self.data_dir, base_id, config)
        tensors = len(samples.full_tensors(Architecture.from_config(config), "BF16"))
        folder = self.bucket / "models" / base_id
        total = checkpoints.write_sparse_checkpoint(folder, config, SHARDS)
        return base_id, total, tensors, len(list(folder.iterdir()))

    def start(self) -> None:
        config = f'[buckets.{LOCAL_BUCKET}]\nurl = "file://{self.bucket}"\n'
        extra: dict[str, str] = {}
        if self.with_s3:
            self.objects = start_object_server(self.workdir / "s3", self.workdir / "nanio.log")
            checkpoints.hardlink_tree(self.bucket, self.objects.create_bucket("src"))
            config += f"\n[buckets.{S3_BUCKET}]\n{self.objects.toml_table('src')}"
            extra.update(self.objects.credentials_env())
        (self.workdir / "storage.toml").write_text(config)
        env = base_env(self.data_dir, MODELPORT_CONFIG=str(self.workdir / "storage.toml"), **extra)
        self.api = ApiServer(env, self.workdir / "api.log").start()

    def dry_run(self, base_id: str, bucket: str, repeat: int) -> tuple[float, float, int]:
        """Median and best seconds of `repeat` dry runs, and the bytes read per run."""
        assert self.api is not None
        body = {
            "model_name": base_id,
            "source": "oss",
            "weight_type": "full",
            "storage_info": {"bucket_name": bucket, "object_key": f"models/{base_id}/"},
        }
        self._validate(body)  # warm-up: first-use costs (connections, caches) are not what is measured
        reader_before = self._bytes_read(bucket)
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            self._validate(body)
            times.append(time.perf_counter() - began)
        read = (self._bytes_read(bucket) - reader_before) // repeat
        return statistics.median(times), min(times), read

    def _validate(self, body: dict[str, object]) -> None:
        assert self.api is not None
        response = self.api.client.post(VALIDATE_ROUTE, json=body)
        output = response.json().get("output", {})
        if response.status_code != 200 or output.get("verdict") != "passed":
            raise RuntimeError(f"dry run did not pass: {response.status_code} {response.text[:2000]}")

    def _bytes_read(self, bucket: str) -> int:
        if bucket == S3_BUCKET:
            assert self.objects is not None
            return group_rchar(self.objects.process.pid)
        assert self.api is not None
        return proc_io(self.api.pid)["rchar"]

    def close(self) -> None:
        if self.api is not None:
            self.api.stop()
        if self.objects is not None:
            self.objects.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="declared sizes in GiB (default 1,4,16,64,256,1024)")
    parser.add_argument("--layers", type=int, default=32, help="layers of the size series (default 32)")
    parser.add_argument("--tensor-series", default=None, help="layer counts at a fixed size (default 8,32,128,512)")
    parser.add_argument("--tensor-series-gib", type=float, default=64, help="the fixed size of that series")
    parser.add_argument("--repeat", type=int, default=5, help="timed dry runs per model (default 5)")
    parser.add_argument("--no-s3", action="store_true", help="local bucket only")
    parser.add_argument("--quick", action="store_true", help="smoke test: sizes 1,64 and layers 8,32")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [float(s) for s in (args.sizes or ("1,64" if args.quick else "1,4,16,64,256,1024")).split(",")]
    series = [int(n) for n in (args.tensor_series or ("8,32" if args.quick else "8,32,128,512")).split(",")]
    repeat = 3 if args.quick else args.repeat

    workdir = Path(tempfile.mkdtemp(prefix="modelport-bench-dryrun-"))
    facts = machine.print_header("Header-only validation (dry run)", workdir)
    rig = DryRunRig(workdir, with_s3=not args.no_s3)
    columns = ["declared size", "files", "tensors", "local: dry run ms", "local: bytes read", "s3: dry run ms",
               "s3: bytes read by the server", "plain header read ms", "load avg"]  # fmt: skip
    by_size = Table(f"Dry run vs declared size ({args.layers} layers, {SHARDS} shards)", list(columns))
    by_tensors = Table(f"Dry run vs tensor count ({args.tensor_series_gib:g} GiB declared, {SHARDS} shards)", columns)
    try:
        size_models = [rig.add_model(int(gib * checkpoints.GIB), args.layers) for gib in sizes]
        tensor_models = [rig.add_model(int(args.tensor_series_gib * checkpoints.GIB), n) for n in series]
        print(f"wrote {len(size_models) + len(tensor_models)} sparse models", flush=True)
        rig.start()
        for table, models in ((by_size, size_models), (by_tensors, tensor_models)):
            for base_id, total, tensors, files in models:
                local = rig.dry_run(base_id, LOCAL_BUCKET, repeat)
                remote = rig.dry_run(base_id, S3_BUCKET, repeat) if rig.with_s3 else None
                floor = min(plain_header_read(rig.bucket / "models" / base_id) for _ in range(repeat))
                table.add(
                    f"{total / checkpoints.GIB:.0f} GiB", files, tensors, local[0] * 1000, _bytes(local[2]),
                    remote[0] * 1000 if remote else None, _bytes(remote[2]) if remote else None,
                    floor * 1000, machine.load_average(),
                )  # fmt: skip
                print(f"  {base_id}: local {local[0] * 1000:.1f} ms, read {local[2]} B", flush=True)
    finally:
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)
    by_size.notes.append(
        f"median of {repeat} dry runs after one warm-up; bytes read = rchar of the API process "
        "(local) or of nanio's processes (S3) per dry run, request and response bodies included."
    )
    print()
    by_size.print()
    by_tensors.print()
    first, last = by_size.rows[0][3], by_size.rows[-1][3]
    largest, smallest = by_size.rows[-1][0], by_size.rows[0][0]
    print(f"dry run time, {largest} vs {smallest} declared: {last / first:.2f}x")
    save(args.json, facts, [by_size, by_tensors])
    return 0


def _bytes(count: int) -> str:
    return f"{count / 1024:.0f} KiB" if count >= 1024 else f"{count} B"


if __name__ == "__main__":
    sys.exit(main())
