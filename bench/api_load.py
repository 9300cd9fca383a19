"""API under load: `GET /api/v1/custom_models/import/{job_id}` (a random job per request) and the list route
(page 1, 10 per page) with 64 concurrent clients for 30 s (wrk), on SQLite and on PostgreSQL, with
10^3 and then 10^6 jobs in the table; the baseline is the same server's `/healthz` in the same run.

    .venv/bin/python bench/api_load.py
    .venv/bin/python bench/api_load.py --quick       # 5 s per route, 10^3 and 10^4 jobs

The server is `modelport serve --no-worker` (one process); wrk runs with one thread on the same two
cores. Jobs are seeded with SQL (COPY / executemany) and `job_counts` is rebuilt from them; the
PostgreSQL database is created for the run and dropped after it. Goals: GET job >= 0.5x /healthz with
no errors; list latency with 10^6 jobs within 2x of 10^3.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import machine
import wrk
from database import engine_for, fresh_postgres_database, seed_jobs, sqlite_url, workspace_of_key
from processes import BENCH_KEY, IMPORT_ROUTE, ApiServer, base_env
from tables import Table, ratio, save, verdict

CONNECTIONS = 64
SAMPLE_IDS = 10_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    parser.add_argument("--seconds", type=float, default=None, help="per route (default 30)")
    parser.add_argument("--jobs", default=None, help="table sizes to measure at (default 1000,1000000)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--quick", action="store_true", help="smoke test: 5 s per route, 10^3 and 10^4 jobs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not wrk.available():
        print("wrk is not installed (apt-get install wrk)")
        return 2
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    counts = [int(n) for n in (args.jobs or ("1000,10000" if args.quick else "1000,1000000")).split(",")]
    databases = [d for d in args.databases.split(",") if d]

    workdir = Path(tempfile.mkdtemp(prefix="modelport-bench-api-"))
    facts = machine.print_header("API under load", workdir)
    table = Table(
        f"API under load ({args.connections} connections, {seconds:g} s per route, wrk -t1)",
        ["database", "jobs", "route", "requests/s", "p50 ms", "p99 ms", "errors", "vs /healthz", "load avg"],
    )
    goals: list[str] = []
    try:
        for database in databases:
            run_database(database, counts, seconds, args.connections, workdir / database, table, goals)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table.notes.append(
        "GET job: a random one of 10^4 seeded job ids per request; list: page 1 of 10, newest first; "
        "1 connection rows: the same route with a single client (latency without queueing)."
    )
    print()
    table.print()
    for line in goals:
        print(line)
    save(args.json, facts, [table], goals=goals)
    return 0


def run_database(
    database: str, counts: list[int], seconds: float, connections: int, folder: Path, table: Table, goals: list[str]
) -> None:
    folder.mkdir(parents=True)
    with ExitStack() as stack:
        if database == "postgres":
            url = stack.enter_context(fresh_postgres_database())
        elif database == "sqlite":
            url = sqlite_url(folder / "data" / "modelport.db")
        else:
            raise ValueError(f"unknown database {database!r}")
        api = ApiServer(base_env(folder / "data", MODELPORT_DATABASE_URL=url), folder / "api.log").start()
        stack.callback(api.stop)
        engine = engine_for(url)
        stack.callback(engine.dispose)
        workspace = workspace_of_key(engine, BENCH_KEY)
        headers = {"Authorization": f"Bearer {BENCH_KEY}"}
        ids_file = folder / "job_ids.txt"
        seeded: list[str] = []

        def measure(route: str, jobs: int, *, clients: int = connections, length: float = seconds) -> wrk.WrkResult:
            url_of = {"/healthz": api.base_url + "/healthz", "list": api.base_url + IMPORT_ROUTE}
            if route == "GET job":
                target = dict(random_ids=ids_file, path_prefix=IMPORT_ROUTE + "/")
                wrk.run(api.base_url, seconds=2, connections=clients, headers=headers, **target)  # warm-up
                return wrk.run(api.base_url, seconds=length, connections=clients, headers=headers, **target)
            wrk.run(url_of[route], seconds=2, connections=clients, headers=headers)  # warm-up
            return wrk.run(url_of[route], seconds=length, connections=clients, headers=headers)

        health: wrk.WrkResult | None = None
        list_p50: dict[int, float] = {}
        for jobs in counts:
            began = time.perf_counter()
            seeded += seed_jobs(engine, workspace, jobs - len(seeded), stem=f"{database}-{len(seeded)}")
            print(f"{database}: {jobs} jobs in the table (seeded in {time.perf_counter() - began:.0f} s)", flush=True)
            ids_file.write_text("\n".join(random.sample(seeded, min(SAMPLE_IDS, len(seeded)))) + "\n")
            if health is None:
                health = measure("/healthz", jobs)
                add_row(table, database, jobs, "/healthz", health, health)
            for route in ("GET job", "list"):
                result = measure(route, jobs)
                add_row(table, database, jobs, route, result, health)
                if route == "GET job":
                    met = result.errors == 0 and result.requests_per_second >= 0.5 * health.requests_per_second
                    goals.append(
                        f"{database}, {jobs} jobs: GET job {result.requests_per_second:.0f}/s vs /healthz "
                        f"{health.requests_per_second:.0f}/s, {result.errors} errors (goal ≥ 0.5x, no errors): "
                        f"{verdict(met)}"
                    )
            single = measure("list", jobs, clients=1, length=min(seconds, 5.0))
            add_row(table, database, jobs, "list, 1 connection", single, None)
            list_p50[jobs] = single.p50_ms
        if len(counts) >= 2:
            small, large = counts[0], counts[-1]
            growth = list_p50[large] / list_p50[small]
            goals.append(
                f"{database}: list p50 (1 connection) {list_p50[large]:.2f} ms at {large} jobs vs "
                f"{list_p50[small]:.2f} ms at {small}: {growth:.2f}x (goal ≤ 2x): {verdict(growth <= 2)}"
            )


def add_row(
    table: Table, database: str, jobs: int, route: str, result: wrk.WrkResult, health: wrk.WrkResult | None
) -> None:
    versus = ratio(result.requests_per_second, health.requests_per_second) if health is not None else None
    table.add(
        database, f"{jobs:,}", route, result.requests_per_second, result.p50_ms, result.p99_ms, result.errors,
        versus, machine.load_average(),
    )  # fmt: skip
    print(
        f"  {route}: {result.requests_per_second:.0f}/s p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms "
        f"errors {result.errors}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
