"""Ending every token of one agency at once (`lrs token revoke`, POST
/admin/tenants/NAME/tokens/revoke): the LRS's own tokens of that tenant issued
before then are refused, whoever issued them; other agencies' tokens, the
agency's key/secret pairs and its later tokens keep working."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest

from tests.test_cli import lrs

V2 = {"X-Experience-API-Version": "2.0.0"}


def _cli_token(env: dict, tenant: str) -> dict:
    issued = json.loads(lrs("token", "issue", "--tenant", tenant, "--scope", "all", "--json",
                            env=env).stdout)
    return {"Authorization": f"Bearer {issued['token']}", **V2}


def _traded_token(server, tenant) -> dict:
    response = httpx.post(f"{server.url}/oauth/token", auth=(tenant.key, tenant.secret),
                          data={"grant_type": "client_credentials", "scope": "all"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", **V2}


def _status(server, headers: dict) -> int:
    return httpx.get(f"{server.url}/xapi/statements", headers=headers, timeout=30).status_code


def _wait_past(instant: str) -> None:
    """Tokens carry `iat` in whole seconds: one issued in the second of a
    revocation is revoked too."""
    until = dt.datetime.fromisoformat(instant).timestamp()
    while time.time() < until:
        time.sleep(0.05)


def test_the_cli_revokes_one_agencys_tokens(server, tenant, new_tenant, database_url):
    env = {"LRS_DATABASE_URL": database_url}
    other = new_tenant()
    ours = [_cli_token(env, tenant.name), _traded_token(server, tenant)]
    theirs = [_cli_token(env, other.name), _traded_token(server, other)]
    assert [_status(server, h) for h in ours + theirs] == [200] * 4

    revoked = json.loads(lrs("token", "revoke", "--tenant", tenant.name, "--json",
                             env=env).stdout)
    assert revoked["tenant"] == tenant.name
    for headers in ours:
        response = httpx.get(f"{server.url}/xapi/statements", headers=headers)
        assert response.status_code == 401
        assert "revoked" in response.json()["error"]["message"]
    assert [_status(server, h) for h in theirs] == [200, 200]
    basic = httpx.get(f"{server.url}/xapi/statements", headers=V2,
                      auth=(tenant.key, tenant.secret))
    assert basic.status_code == 200

    _wait_past(revoked["tokens_revoked_before"])
    assert _status(server, _cli_token(env, tenant.name)) == 200
    assert _status(server, _traded_token(server, tenant)) == 200

    unknown = lrs("token", "revoke", "--tenant", "nobody", env=env, check=False)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


@pytest.fixture
def operator(new_tenant):
    return new_tenant(scopes=("admin",))


def test_the_admin_api_revokes_one_agencys_tokens(server, tenant, new_tenant, operator):
    other = new_tenant()
    ours, theirs = _traded_token(server, tenant), _traded_token(server, other)
    url = f"{server.url}/admin/tenants/{tenant.name}/tokens/revoke"

    # An agency's own credential cannot do it; an operator's can.
    assert httpx.post(url, auth=(tenant.key, tenant.secret)).status_code == 403
    assert _status(server, ours) == 200
    response = httpx.post(url, auth=(operator.key, operator.secret))
    assert response.status_code == 200, response.text
    assert response.json()["tenant"] == tenant.name
    assert _status(server, ours) == 401
    assert _status(server, theirs) == 200

    missing = httpx.post(f"{server.url}/admin/tenants/nobody/tokens/revoke",
                         auth=(operator.key, operator.secret))
    assert missing.status_code == 404
