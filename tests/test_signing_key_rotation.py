"""Rotating the LRS's signing key (`lrs token rotate-key`, POST
/admin/signing-key/rotate), as an operator does after a backup or the database
leaked: every token the LRS issued and every `more` cursor it handed out stop
working in every process on the next request, without a restart; key/secret
pairs keep working, and new tokens work everywhere.

On a database of its own: a rotation ends the tokens of everything sharing
the database, and the rest of the run shares one."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import make_tenant, server_with
from tests.test_cli import lrs

V2 = {"X-Experience-API-Version": "2.0.0"}
STATEMENT = {"actor": {"mbox": "mailto:learner@example.org"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
             "object": {"id": "http://example.org/rotation"}}


@pytest.fixture
def own_database(empty_database):
    lrs("migrate", env={"LRS_DATABASE_URL": empty_database})
    return empty_database


def _token(server, tenant) -> dict:
    response = httpx.post(f"{server.url}/oauth/token", auth=(tenant.key, tenant.secret),
                          data={"grant_type": "client_credentials", "scope": "all"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", **V2}


def _status(server, headers: dict, **params) -> int:
    return httpx.get(f"{server.url}/xapi/statements", headers=headers, params=params,
                     timeout=30).status_code


def _refused_soon(server, headers: dict) -> bool:
    """The rotation reaches a process by a notification: allow it a moment."""
    deadline = time.monotonic() + 5
    while _status(server, headers) != 401:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_rotated_key_ends_every_token_and_cursor_in_every_process(settings, own_database):
    tenant = make_tenant(own_database)
    own = settings.replace(database_url=own_database)
    with server_with(own) as first, server_with(own) as second:
        for _ in range(2):
            stored = httpx.post(f"{first.url}/xapi/statements", json=STATEMENT, headers=V2,
                                auth=(tenant.key, tenant.secret))
            assert stored.status_code == 200, stored.text
        token = _token(first, tenant)
        assert [_status(first, token), _status(second, token)] == [200, 200]
        page = httpx.get(f"{first.url}/xapi/statements", params={"limit": 1}, headers=token)
        more = page.json()["more"]
        assert more and httpx.get(f"{second.url}{more}", headers=token).status_code == 200

        rotated = json.loads(lrs("token", "rotate-key", "--json",
                                 env={"LRS_DATABASE_URL": own_database}).stdout)
        assert "rotated_at" in rotated

        assert _refused_soon(first, token) and _refused_soon(second, token)
        refused = httpx.get(f"{first.url}/xapi/statements", headers=token)
        assert "signature" in refused.json()["error"]["message"]
        basic = {"auth": (tenant.key, tenant.secret), "headers": V2}
        stale = httpx.get(f"{second.url}{more}", **basic)
        assert stale.status_code == 400 and "more" in stale.text
        assert httpx.get(f"{first.url}/xapi/statements", **basic).status_code == 200
        # A token issued now, by either process, works in both.
        fresh = _token(second, tenant)
        assert [_status(first, fresh), _status(second, fresh)] == [200, 200]


def test_only_an_operator_rotates_the_key_over_the_admin_api(settings, own_database):
    agency, operator = make_tenant(own_database), make_tenant(own_database, scopes=("admin",))
    with server_with(settings.replace(database_url=own_database)) as server:
        token = _token(server, agency)
        url = f"{server.url}/admin/signing-key/rotate"
        assert httpx.post(url, auth=(agency.key, agency.secret)).status_code == 403
        assert _status(server, token) == 200
        response = httpx.post(url, auth=(operator.key, operator.secret))
        assert response.status_code == 200, response.text
        assert "rotated_at" in response.json()
        assert _refused_soon(server, token)


def test_a_key_set_by_lrs_jwt_secret_is_not_rotated_in_the_database(own_database):
    env = {"LRS_DATABASE_URL": own_database, "LRS_JWT_SECRET": "x" * 40}
    refused = lrs("token", "rotate-key", env=env, check=False)
    assert refused.returncode == 1 and "LRS_JWT_SECRET" in refused.stderr
