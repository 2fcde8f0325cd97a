"""`lrs backup` and `lrs restore` against an external PostgreSQL older than
the embedded one (Debian's postgresql-15, installed when missing), reached
over TCP with a password full of URL-special characters. Two faults were
found this way by hand before this test existed: the password went to
pg_dump still percent-encoded, and the embedded pg_restore (a newer major
version) sent a setting PostgreSQL 15 refuses.

Loopback only; the cluster lives in a temporary folder and is stopped
whatever happens."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from tests import live
from tests.conftest import run
from tests.test_backup import STATEMENT, V2, new_agency, served_on
from tests.test_cli import lrs

PG15 = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "p@ss w%rd:/x"  # every character a URL would have to escape


@pytest.fixture(scope="module")
def postgres15() -> Iterator[str]:
    """A PostgreSQL 15 cluster on a loopback port, with a role `lrs` that
    logs in with PASSWORD and two empty databases it owns; the URL of one,
    without its database name."""
    live.ensure_debian_package("postgresql-15", str(PG15 / "postgres"))
    folder = Path(tempfile.mkdtemp(prefix="lrs-pg15-"))
    user = "postgres" if os.geteuid() == 0 else None  # it will not run as root
    if user:
        folder.chmod(0o755)
        shutil.chown(folder, user)
    port = live.free_port()

    def pg(*args: str) -> None:
        subprocess.run([str(PG15 / args[0]), *args[1:]], check=True, user=user, timeout=60,
                       capture_output=True)

    pg("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth-local=trust",
       "--auth-host=scram-sha-256", "--no-sync")
    pg("pg_ctl", "start", "-D", str(folder / "data"), "-l", str(folder / "postgres.log"), "-w",
       "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}")
    try:
        async def create() -> None:
            conn = await asyncpg.connect(host=str(folder), port=port, user="postgres")
            try:
                await conn.execute(f"CREATE ROLE lrs LOGIN PASSWORD '{PASSWORD}'")
                for name in ("lrs", "lrs_restored"):
                    await conn.execute(f"CREATE DATABASE {name} OWNER lrs")
            finally:
                await conn.close()

        run(create())
        yield f"postgresql://lrs:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    finally:
        pg("pg_ctl", "stop", "-D", str(folder / "data"), "-m", "immediate", "-w")
        shutil.rmtree(folder, ignore_errors=True)


def test_backup_and_restore_with_postgres_15_and_a_password_to_escape(postgres15, tmp_path,
                                                                      settings):
    source = {"LRS_DATABASE_URL": f"{postgres15}/lrs"}
    auth = new_agency(source)
    with served_on(settings, source) as server:
        posted = httpx.post(f"{server.url}/xapi/statements", json=[STATEMENT] * 3, auth=auth,
                            headers=V2)
        assert posted.status_code == 200, posted.text

    backup = tmp_path / "lrs.dump"
    made = lrs("backup", str(backup), env=source)
    target = {"LRS_DATABASE_URL": f"{postgres15}/lrs_restored"}
    restored = lrs("restore", str(backup), env=target)
    assert "restored" in restored.stdout
    for done in (made, restored):  # the password is nowhere in what the commands said
        assert PASSWORD not in done.stdout + done.stderr
        assert quote(PASSWORD, safe="") not in done.stdout + done.stderr

    with served_on(settings, target) as server:
        read = httpx.get(f"{server.url}/xapi/statements", auth=auth, headers=V2)
        assert read.status_code == 200
        assert sorted(s["id"] for s in read.json()["statements"]) == sorted(posted.json())
