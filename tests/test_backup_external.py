"""`lrs backup` and `lrs restore` against an external PostgreSQL older than
the embedded one (Debian's postgresql-15, installed when missing), reached
over TCP with a password full of URL-special characters. Two faults were
found this way by hand before this test existed: the password went to
pg_dump still percent-encoded, and the embedded pg_restore (a newer major
version) sent a setting PostgreSQL 15 refuses.

Loopback only; the cluster lives in a temporary folder and is stopped
whatever happens (the `postgres15` fixture, tests/conftest.py)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests import live
from tests.conftest import PASSWORD
from tests.test_backup import STATEMENT, V2, new_agency, served_on
from tests.test_cli import lrs


@live.MAY_INSTALL
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
