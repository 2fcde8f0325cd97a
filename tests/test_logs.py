"""The log as an operator reads it: JSON lines, written in blocks, but never
late by more than the flush interval, warnings and errors at once, and
nothing lost when the handler closes (a graceful stop)."""

from __future__ import annotations

import io
import json
import logging
import time

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
