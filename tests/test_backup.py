"""`lrs backup` and `lrs restore`, as an operator runs them: every tenant's
statements, documents and credentials come back in a new database, served
by a new LRS, and the LRS goes on storing after them."""

from __future__ import annotations

import json

import httpx

from tests.conftest import new_empty_database, on_connection, server_with
from tests.test_cli import lrs

V2 = {"X-Experience-API-Version": "2.0.0"}
STATEMENT = {"actor": {"mbox": "mailto:ana@agency-a.example"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://agency-a.example/course/1"}}
STATE = {"activityId": "http://agency-a.example/course/1", "stateId": "bookmark",
         "agent": json.dumps({"mbox": "mailto:ana@agency-a.example"})}


def new_agency(env: dict[str, str]) -> tuple[str, str]:
    """LRS_DATABASE_URL migrated, with tenant agency-a and an all-scopes
    credential of it: its key and secret."""
    lrs("migrate", env=env)
    lrs("tenant", "create", "agency-a", env=env)
    cred = json.loads(lrs("credential", "create", "--tenant", "agency-a", "--scope", "all",
                          "--json", env=env).stdout)
    return cred["key"], cred["secret"]


def served_on(settings, env: dict[str, str]):
    """A test server on env's LRS_DATABASE_URL, for a `with` block."""
    return server_with(settings.replace(database_url=env["LRS_DATABASE_URL"]))


def test_backup_restores_statements_documents_and_credentials(tmp_path, postgres_url, settings):
    source = {"LRS_DATABASE_URL": new_empty_database(postgres_url)}
    auth = new_agency(source)
    with served_on(settings, source) as server:
        posted = httpx.post(f"{server.url}/xapi/statements", json=STATEMENT, auth=auth,
                            headers=V2)
        assert posted.status_code == 200, posted.text
        statement_id = posted.json()[0]
        stored = httpx.get(f"{server.url}/xapi/statements", auth=auth, headers=V2,
                           params={"statementId": statement_id}).json()
        put = httpx.put(f"{server.url}/xapi/activities/state", params=STATE, auth=auth,
                        headers={**V2, "Content-Type": "application/json"},
                        content=b'{"page": 7}')
        assert put.status_code == 204, put.text

    backup = tmp_path / "lrs.dump"
    assert "backed up to" in lrs("backup", str(backup), env=source).stdout
    assert backup.stat().st_mode & 0o077 == 0, "only its owner may read a backup"

    target = {"LRS_DATABASE_URL": new_empty_database(postgres_url)}
    assert "restored" in lrs("restore", str(backup), env=target).stdout
    with served_on(settings, target) as server:
        read = httpx.get(f"{server.url}/xapi/statements", auth=auth, headers=V2,
                         params={"statementId": statement_id})
        assert read.status_code == 200 and read.json() == stored
        state = httpx.get(f"{server.url}/xapi/activities/state", params=STATE, auth=auth,
                          headers=V2)
        assert state.status_code == 200 and state.json() == {"page": 7}
        later = httpx.post(f"{server.url}/xapi/statements", json=STATEMENT, auth=auth,
                           headers=V2)
        assert later.status_code == 200, later.text
        listed = httpx.get(f"{server.url}/xapi/statements", auth=auth, headers=V2).json()
        assert [s["id"] for s in listed["statements"]] == [later.json()[0], statement_id]

    again = lrs("restore", str(backup), env=target, check=False)
    assert again.returncode == 1 and "already holds an LRS" in again.stderr


def test_failed_backup_leaves_no_file_and_names_the_cause(tmp_path):
    backup = tmp_path / "lrs.dump"
    failed = lrs("backup", str(backup), check=False,
                 env={"LRS_DATABASE_URL": "postgresql://lrs:hunter2@127.0.0.1:1/lrs"})
    assert failed.returncode == 1 and "database error" in failed.stderr
    assert "hunter2" not in failed.stderr
    assert list(tmp_path.iterdir()) == []


def test_restore_of_something_else_fails_whole(tmp_path, empty_database):
    not_a_backup = tmp_path / "lrs.dump"
    not_a_backup.write_bytes(b"PGDMP but not really" * 100)
    env = {"LRS_DATABASE_URL": empty_database}
    failed = lrs("restore", str(not_a_backup), env=env, check=False)
    assert failed.returncode == 1 and "pg_restore failed" in failed.stderr
    assert "applied 0001_" in lrs("migrate", env=env).stdout, "nothing was restored"


def test_backup_to_a_missing_folder_is_refused(tmp_path, empty_database):
    refused = lrs("backup", str(tmp_path / "no-such-folder" / "lrs.dump"), check=False,
                  env={"LRS_DATABASE_URL": empty_database})
    assert refused.returncode == 1 and "existing folder" in refused.stderr
    assert list(tmp_path.iterdir()) == []
    # Of an embedded database: refused before it is started (or made).
    refused = lrs("backup", "--data-dir", str(tmp_path / "data"),
                  str(tmp_path / "no-such-folder" / "lrs.dump"), check=False,
                  env={"LRS_DATABASE_URL": ""})
    assert refused.returncode == 1 and "existing folder" in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_restore_of_a_missing_file_is_refused(tmp_path, empty_database):
    missing = lrs("restore", str(tmp_path / "nothing.dump"), check=False,
                  env={"LRS_DATABASE_URL": empty_database})
    assert missing.returncode == 1 and "no backup file" in missing.stderr


def test_restore_of_what_is_no_backup_starts_no_embedded_database(tmp_path):
    # Found by probes of the operations surface and of the docs: the embedded
    # PostgreSQL was initialised (39 MB in NEW) before the file was looked
    # for, then before it was read.
    not_an_archive = tmp_path / "notes.dump"
    not_an_archive.write_text("hello\n")
    for path, message in ((tmp_path / "nothing.dump", "no backup file"),
                          (not_an_archive, "pg_restore failed")):
        data_dir = tmp_path / "new"
        refused = lrs("restore", "--data-dir", str(data_dir), str(path),
                      check=False, env={"LRS_DATABASE_URL": ""})
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert not data_dir.exists()


def test_a_backup_of_a_newer_lrs_or_of_something_else_is_refused_untouched(tmp_path,
                                                                          postgres_url):
    """A backup whose migrations this LRS does not know (made by a newer
    version) could not be served, and a dump of some other database is no
    LRS: both are refused before anything is written."""
    source = new_empty_database(postgres_url)
    lrs("migrate", env={"LRS_DATABASE_URL": source})
    on_connection(source, lambda conn: conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) "
        "VALUES (9999, 'from_the_future', 'x')"))
    newer = tmp_path / "newer.dump"
    lrs("backup", str(newer), env={"LRS_DATABASE_URL": source})
    other = new_empty_database(postgres_url)
    on_connection(other, lambda conn: conn.execute("CREATE TABLE notes (body text)"))
    unrelated = tmp_path / "other.dump"
    lrs("backup", str(unrelated), env={"LRS_DATABASE_URL": other})

    target = {"LRS_DATABASE_URL": new_empty_database(postgres_url)}
    refused = lrs("restore", str(newer), env=target, check=False)
    assert refused.returncode == 1 and "newer LRS (migration 9999" in refused.stderr
    refused = lrs("restore", str(unrelated), env=target, check=False)
    assert refused.returncode == 1 and "not a backup of an LRS" in refused.stderr
    assert "applied 0001_" in lrs("migrate", env=target).stdout, "nothing was restored"
    # Into a new embedded database: refused before one is made.
    for path in (newer, unrelated):
        refused = lrs("restore", "--data-dir", str(tmp_path / "new"), str(path),
                      env={"LRS_DATABASE_URL": ""}, check=False)
        assert refused.returncode == 1 and "LRS" in refused.stderr, refused.stderr
        assert not (tmp_path / "new").exists()
