"""The embedded PostgreSQL's WAL segments made in advance (lrs.store.wal_pool):
on a new data folder, commits would otherwise wait while PostgreSQL creates
each 16 MB segment. Real embedded servers, each in a folder of its own."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lrs import embedded
from lrs.store import wal_pool
from tests.conftest import on_connection

SEGMENTS = r"SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    # Removed at once: pytest keeps its last three runs' folders, and each of
    # these holds up to 700 MB of WAL.
    yield tmp_path / "lrs"
    shutil.rmtree(tmp_path / "lrs", ignore_errors=True)


def _state(url: str) -> tuple[str, str, int]:
    async def read(conn):
        return (await conn.fetchval("SHOW min_wal_size"), await conn.fetchval("SHOW max_wal_size"),
                await conn.fetchval(SEGMENTS))

    return on_connection(url, read)


def _made(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("making ")]


def test_a_new_data_folder_gets_its_segments_once(data_dir: Path, caplog):
    caplog.set_level(logging.INFO, logger="lrs.embedded")
    with embedded.running(data_dir, 96) as url:
        min_wal, max_wal, segments = _state(url)
    # 96 MB is six 16 MB segments, all there before the first write; and
    # max_wal_size is raised so that checkpoints keep them (from 1GB only
    # when lower than twice the pool: here it is not).
    assert (min_wal, max_wal) == ("96MB", "1GB")
    assert segments >= 6
    assert len(_made(caplog)) == 1

    caplog.clear()
    with embedded.running(data_dir, 96) as url:
        assert _state(url)[2] >= 6
    assert _made(caplog) == [], "a second start finds the segments and makes none"


def test_a_larger_pool_raises_max_wal_size(data_dir: Path):
    with embedded.running(data_dir, 640) as url:
        min_wal, max_wal, segments = _state(url)
    assert (min_wal, max_wal) == ("640MB", "1280MB")
    assert segments >= 40


def test_zero_keeps_no_pool(data_dir: Path, caplog):
    caplog.set_level(logging.INFO, logger="lrs.embedded")
    with embedded.running(data_dir, 0) as url:
        min_wal, max_wal, segments = _state(url)
    assert (min_wal, max_wal) == ("80MB", "1GB")  # PostgreSQL's defaults
    assert segments < 6
    assert _made(caplog) == []


def test_zero_after_a_pool_takes_its_settings_back(data_dir: Path, caplog):
    caplog.set_level(logging.INFO, logger="lrs.embedded")
    with embedded.running(data_dir, 640) as url:
        assert _state(url)[:2] == ("640MB", "1280MB")
    with embedded.running(data_dir, 0) as url:
        assert _state(url)[:2] == ("80MB", "1GB")
        # Back to the defaults, the spare segments go as they are used: a
        # checkpoint keeps what the WAL written between checkpoints needs
        # (here 5 segments) and removes the rest. 45 segments use up the pool.
        async def write_wal(conn):
            for _ in range(9):
                for _ in range(5):
                    await conn.execute(wal_pool._FILL_ONE)
                await conn.execute("CHECKPOINT")

        on_connection(url, write_wal)
        assert _state(url)[2] < 20
    assert any("WAL pool off" in r.getMessage() for r in caplog.records)
    # And a later start with 0 finds nothing to take back.
    caplog.clear()
    with embedded.running(data_dir, 0) as url:
        assert _state(url)[:2] == ("80MB", "1GB")
    assert not any("WAL pool off" in r.getMessage() for r in caplog.records)


def test_too_little_free_disk_changes_nothing(data_dir: Path, caplog):
    # PostgreSQL stops when it cannot write its WAL: a pool that would take
    # more than half of the free space is not made, and the operator told.
    caplog.set_level(logging.WARNING, logger="lrs.embedded")
    with embedded.running(data_dir, 0) as url:
        made = on_connection(url, lambda conn: wal_pool.ensure(conn, 640, free_bytes=150 << 20))
        min_wal, max_wal, segments = _state(url)
    assert made == 0
    assert (min_wal, max_wal) == ("80MB", "1GB")
    assert segments < 6
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "more than half of the 150 MB free" in warning
