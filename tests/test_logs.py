"""The log as an operator reads it: JSON lines, written in blocks, but never
late by more than the flush interval, warnings and errors at once, and
nothing lost when the handler closes (a graceful stop)."""

from __future__ import annotations

import io
import json
import logging
import re
import time

import httpx

from lrs import logs
from tests import live
from lrs.logs import BlockWriter, JSONFormatter


def _logger(stream: io.StringIO, interval: float) -> tuple[logging.Logger, BlockWriter]:
    handler = BlockWriter(stream, interval=interval)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger(f"test.blocks.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler


def test_access_lines_arrive_within_the_interval_and_errors_at_once():
    stream = io.StringIO()
    logger, handler = _logger(stream, interval=0.3)
    try:
        logger.info("request", extra={"http": {"status": 200}})
        assert stream.getvalue() == "", "an info line waits for its block"
        deadline = time.monotonic() + 3
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert json.loads(stream.getvalue())["http"] == {"status": 200}

        logger.info("request", extra={"http": {"status": 201}})
        logger.error("unexpected error")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["message"] for line in lines] == ["request", "request", "unexpected error"]
        assert lines[-1]["level"] == "error"
    finally:
        handler.close()


def test_closing_writes_what_waits():
    stream = io.StringIO()
    logger, handler = _logger(stream, interval=60)
    for status in range(200, 205):
        logger.info("request", extra={"http": {"status": status}})
    assert stream.getvalue() == ""
    handler.close()
    assert [json.loads(line)["http"]["status"] for line in stream.getvalue().splitlines()] == \
        [200, 201, 202, 203, 204]


def test_an_access_line_is_the_line_logging_writes_and_other_handlers_still_get_it(monkeypatch):
    """lrs.logs.access skips the logging module while configure()'s handler
    is the only one: the line is the one the logging call writes, and a
    handler added later (a test's caplog, an operator's) gets every line."""
    stream = io.StringIO()
    handler = BlockWriter(stream, interval=60)
    handler.setFormatter(JSONFormatter())
    monkeypatch.setattr(logs, "_handler", handler)
    monkeypatch.setattr(logging.root, "handlers", [handler])
    access = logging.getLogger("lrs.access")
    access.setLevel(logging.INFO)
    fields = {"method": "POST", "route": "/xapi/statements", "status": 200,
              "duration_ms": 1.5, "request_id": "r1", "tenant": "agency-a", "statements": 2}
    try:
        logs.access(fields)
        access.info("request", extra={"http": fields})
        handler.flush()
        fast, slow = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", fast.pop("time"))
        slow.pop("time")
        assert list(fast.items()) == list(slow.items())

        seen: list[dict] = []

        class Seen(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record.http)

        logging.root.addHandler(Seen())
        logs.access(fields)
        handler.flush()
        assert seen == [fields]
        assert json.loads(stream.getvalue().splitlines()[-1])["http"] == fields
    finally:
        access.setLevel(logging.NOTSET)
        handler.close()


def test_a_graceful_stop_of_several_workers_writes_every_line(database_url, tmp_path):
    """Found by a probe of the operations surface: uvicorn ends a worker of
    several by raising SIGTERM again under its default handler, so lines
    still gathered (up to FLUSH_SECONDS of them) were never written: 3-7
    access lines a stop under load, and uvicorn's last lines always."""
    log = tmp_path / "lrs.log"
    env = live.serve_env(database_url=database_url)
    with log.open("w") as stderr, live.served("--workers", "2", env=env,
                                              stderr=stderr) as (url, _):
        with httpx.Client(base_url=url) as client:
            for _ in range(40):
                assert client.get("/xapi/about").status_code == 200
        # live.served stops it with SIGTERM now, within FLUSH_SECONDS of the last answer.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    about = [line for line in lines if line.get("http", {}).get("route") == "/xapi/about"]
    assert len(about) == 40
    assert sum(line["message"].startswith("Finished server process") for line in lines) == 2
