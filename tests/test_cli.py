"""The `lrs` command line, run as a user would: as a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests import live


def lrs(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "lrs", *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"lrs {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture
def db_env(empty_database):
    env = {"LRS_DATABASE_URL": empty_database}
    lrs("migrate", env=env)
    return env


def test_help_for_every_command():
    assert "serve" in lrs("--help").stdout
    for command in (["serve"], ["migrate"], ["tenant", "create"], ["tenant", "list"],
                    ["credential", "create"], ["credential", "list"], ["credential", "revoke"],
                    ["token", "issue"], ["token", "revoke"],
                    ["token", "rotate-key"], ["backup"], ["restore"]):
        out = lrs(*command, "--help").stdout
        assert "usage: lrs" in out


def test_migrate_reports_what_it_did(empty_database):
    env = {"LRS_DATABASE_URL": empty_database}
    assert "applied 0001_" in lrs("migrate", env=env).stdout
    assert "up to date" in lrs("migrate", env=env).stdout


def test_admin_commands_on_a_new_database_bring_it_up_to_date(empty_database):
    env = {"LRS_DATABASE_URL": empty_database}
    # As `lrs serve` does, unless told not to: then the answer names the fix.
    held_back = lrs("tenant", "create", "agency-a", env={**env, "LRS_MIGRATE": "false"},
                    check=False)
    assert held_back.returncode == 1
    assert "migrations are pending: run `lrs migrate` first" in held_back.stderr
    created = json.loads(lrs("tenant", "create", "agency-a", "--json", env=env).stdout)
    assert created["name"] == "agency-a"
    assert "up to date" in lrs("migrate", env=env).stdout


def test_tenants_credentials_and_tokens(db_env, empty_database):
    created = json.loads(lrs("tenant", "create", "agency-a", "--json", env=db_env).stdout)
    assert created["name"] == "agency-a"
    duplicate = lrs("tenant", "create", "agency-a", env=db_env, check=False)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert "agency-a" in lrs("tenant", "list", env=db_env).stdout

    cred = json.loads(lrs("credential", "create", "--tenant", "agency-a", "--scope",
                          "statements/read", "--scope", "statements/write", "--json",
                          env=db_env).stdout)
    assert set(cred) >= {"key", "secret", "tenant", "scopes"}
    assert cred["scopes"] == ["statements/read", "statements/write"]
    listing = lrs("credential", "list", "--json", env=db_env).stdout
    assert cred["key"] in listing
    assert cred["secret"] not in listing  # shown once, stored hashed

    token = json.loads(lrs("token", "issue", "--tenant", "agency-a", "--scope", "all",
                           "--ttl", "60", "--json", env=db_env).stdout)
    assert token["token"].count(".") == 2 and token["expires_in"] == 60

    assert "revoked" in lrs("credential", "revoke", cred["key"], env=db_env).stdout
    again = lrs("credential", "revoke", cred["key"], env=db_env, check=False)
    assert again.returncode == 1

    unknown = lrs("credential", "create", "--tenant", "nobody", "--scope", "all", env=db_env,
                  check=False)
    assert unknown.returncode == 1 and "no tenant named" in unknown.stderr
    # As GET /admin/tenants/nobody/credentials answers 404: not an empty list.
    unlisted = lrs("credential", "list", "--tenant", "nobody", env=db_env, check=False)
    assert unlisted.returncode == 1 and "no tenant named" in unlisted.stderr
    assert cred["key"] in lrs("credential", "list", "--tenant", "agency-a", env=db_env).stdout


def test_bad_setting_fails_with_its_name():
    result = lrs("migrate", env={"LRS_DATABASE_URL": "mysql://nope"}, check=False)
    assert result.returncode == 2
    assert "LRS_DATABASE_URL" in result.stderr



def test_serve_with_an_unreadable_database_url_stops_in_one_line():
    # Found by a probe of the operations surface: a traceback, from the driver.
    result = lrs("serve", "--port", "0", check=False,
                 env={"LRS_DATABASE_URL": "postgresql://lrs:hunter2@127.0.0.1:notaport/lrs"})
    assert result.returncode == 2
    assert result.stderr.startswith("lrs: LRS_DATABASE_URL")
    assert len(result.stderr.splitlines()) == 1 and "hunter2" not in result.stderr

def test_serve_with_an_address_or_data_folder_it_cannot_use_stops_naming_the_setting(tmp_path):
    """uvicorn's own words for these were "[Errno -2] Name or service not
    known" and "[Errno 98] ... address already in use", after the database
    had started; an unusable data folder was a "database error"."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [(("--host", "nohost.invalid", "--port", "0"), "LRS_HOST (--host) 'nohost.invalid'"),
             (("--port", str(taken.getsockname()[1])), "cannot listen on LRS_HOST '127.0.0.1', LRS_PORT"),
             (("--port", "0", "--data-dir", str(a_file / "lrs")), "LRS_DATA_DIR (--data-dir)")]
    env = {"LRS_DATABASE_URL": ""}
    with taken:
        for args, message in cases:
            result = lrs("serve", *args, env=env, check=False)
            assert result.returncode in (1, 2), result.stderr
            assert result.stderr.startswith(f"lrs: {message}"), result.stderr
            assert len(result.stderr.splitlines()) == 1, result.stderr


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(proc)
    return found


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LRS_DATABASE_URL"}
    return live.serve("--port", str(port), "--data-dir", str(data_dir), env=env,
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_serve_embedded_first_start_restart_and_clean_stop(tmp_path):
    """The README's first command, end to end: embedded PostgreSQL, the
    printed credential works, SIGTERM leaves no postgres behind, and a second
    start reuses the data."""
    data_dir, port = tmp_path / "lrs-data", live.free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port)
    try:
        live.wait_ready(url, proc, 60)
        assert _postgres_of(data_dir), "the embedded PostgreSQL runs in the data folder"
        # The CLI joins the running embedded server.
        lrs("tenant", "create", "second", "--data-dir", str(data_dir),
            env={"LRS_DATABASE_URL": ""})
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    key = next(line.split()[-1] for line in output.splitlines() if line.strip().startswith("key:"))
    secret = next(line.split()[-1] for line in output.splitlines()
                  if line.strip().startswith("secret:"))
    assert "curl -u" in output
    # The wait for the embedded PostgreSQL's WAL segments is told, in JSON
    # lines like the workers' (lrs.store.wal_pool).
    assert re.search(r'"message":"making \d+ WAL segments in advance \(512 MB', output)
    assert not _postgres_of(data_dir), "SIGTERM stops the embedded PostgreSQL"

    proc = _serve(data_dir, port)
    try:
        assert live.wait_ready(url, proc, 30) < 5
        response = httpx.post(
            f"{url}/xapi/statements", auth=(key, secret),
            headers={"X-Experience-API-Version": "2.0.0"},
            json={"actor": {"mbox": "mailto:a@example.org"},
                  "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                  "object": {"id": "http://example.org/course"}})
        assert response.status_code == 200, response.text
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert "secret:" not in output  # printed on the first start only
    assert "WAL segments" not in output  # made on the first start only
    assert not _postgres_of(data_dir)
    shutil.rmtree(data_dir)  # 0.5 GB of WAL, which pytest would keep for three runs
