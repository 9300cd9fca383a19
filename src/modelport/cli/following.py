"""Following a job on screen: a live status line or plain lines while it runs, the verdict at the end.

On a terminal one line is rewritten in place on every poll: status, phase, a bar for the bytes
copied and the time spent. Anywhere else (a log file, CI) a line is printed only when the status
or phase changes, so the output stays short and greppable. With --json the progress goes to
stderr, and only when it is a terminal, so stdout holds nothing but the final document.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TextIO

import click

from modelport.cli.exits import ExitCode
from modelport.cli.render import format_bytes, json_text, progress_text
from modelport.client.client import Client
from modelport.client.models import Job
from modelport.client.waiting import Snapshot

BAR_WIDTH = 24


class Display(Protocol):
    def show(self, snapshot: Snapshot) -> None: ...

    def close(self) -> None: ...


def make_display(stream: TextIO | None, *, live_only: bool = False) -> Display:
    """A live line when `stream` is a terminal; else plain lines, or nothing when `live_only`."""
    if stream is None:
        return Silent()
    if stream.isatty():
        return LiveLine(stream, width=shutil.get_terminal_size((100, 20)).columns)
    return Silent() if live_only else PlainLines(stream)


class Silent:
    def show(self, snapshot: Snapshot) -> None:
        pass

    def close(self) -> None:
        pass


class PlainLines:
    def __init__(self, stream: TextIO, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.stream = stream
        self.now = now
        self.last: tuple[str, str | None] | None = None

    def show(self, snapshot: Snapshot) -> None:
        phase = snapshot.progress.phase if snapshot.progress is not None else None
        key = (snapshot.job.status_text, phase)
        if key == self.last:
            return
        self.last = key
        line = f"{self.now():%H:%M:%S}  {snapshot.job.status_text}"
        if snapshot.progress is not None and phase is not None:
            line += f"  {progress_text(snapshot.progress)}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class LiveLine:
    def __init__(self, stream: TextIO, *, width: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.width = max(width, 20)
        self.clock = clock
        self.started = clock()
        self.drawn = False

    def show(self, snapshot: Snapshot) -> None:
        line = compose_line(snapshot, self.clock() - self.started)
        # \r returns to the line's start and ESC[2K clears it, so a shorter line leaves no tail.
        self.stream.write("\r\x1b[2K" + line[: self.width - 1])
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def compose_line(snapshot: Snapshot, elapsed: float) -> str:
    """'3f2a9c1e  RUNNING    copying     [#########...............]  38%  5.9 MiB/15.4 MiB  0:07'."""
    job, progress = snapshot.job, snapshot.progress
    parts = [job.job_id[:8], f"{job.status_text:<10}"]
    if progress is not None:
        parts.append(f"{progress.phase or '-':<11}")
        fraction = progress.fraction
        if fraction is not None:
            filled = round(fraction * BAR_WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:>4.0%}")
            parts.append(f"{format_bytes(progress.bytes_done)}/{format_bytes(progress.bytes_total)}")
    minutes, seconds = divmod(int(elapsed), 60)
    parts.append(f"{minutes}:{seconds:02d}")
    return "  ".join(parts)


def follow_to_end(client: Client, job_id: str, *, interval: float, timeout: float | None, as_json: bool) -> Job:
    """Poll with progress until the job is terminal; shows a live line or plain lines meanwhile."""
    stream = sys.stderr if as_json else sys.stdout
    display = make_display(stream, live_only=as_json)
    last: Job | None = None
    try:
        for snapshot in client.follow_job(job_id, interval=interval, timeout=timeout, with_progress=True):
            display.show(snapshot)
            last = snapshot.job
    finally:
        display.close()
    assert last is not None
    return last


def conclude(job: Job, *, as_json: bool) -> None:
    """Print a finished job; exit 1 when it FAILED."""
    if as_json:
        click.echo(json_text(job.raw))
    elif job.succeeded:
        click.echo(f"Import job {job.job_id} {job.status_text}: model {job.model_name} is ready to deploy.")
    else:
        click.echo(f"Import job {job.job_id} {job.status_text}: {job.error_code or 'no reason given'}")
        click.echo(f"  Full report: modelport report --job-id {job.job_id}")
    if job.failed:
        raise click.exceptions.Exit(ExitCode.API_ERROR)
