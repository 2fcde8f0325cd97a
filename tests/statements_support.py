"""Builders and small HTTP helpers shared by the Statements-resource tests."""

from __future__ import annotations

import uuid

import httpx
import orjson

from lrs import ingest
from lrs.auth.principal import Principal
from lrs.store.statement_insert import WriteBatch

CONSISTENT = "X-Experience-API-Consistent-Through"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"


def new_id() -> str:
    return str(uuid.uuid4())


def agent(name: str = "ann") -> dict:
    return {"objectType": "Agent", "mbox": f"mailto:{name}@example.com"}


def activity(slug: str = "a1", **definition: object) -> dict:
    out: dict = {"objectType": "Activity", "id": f"http://example.com/activities/{slug}"}
    if definition:
        out["definition"] = definition
    return out


def statement(**fields: object) -> dict:
    """A valid statement; keyword arguments replace or add properties."""
    out: dict = {
        "actor": agent(),
        "verb": {"id": EXPERIENCED, "display": {"en-US": "experienced"}},
        "object": activity(),
    }
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


def write_batch(tenant_id: int, statements: list[dict], *, define: bool = False,
                version: str = "2.0.0", tenant: str = "tests") -> WriteBatch:
    """What POST /statements hands the statement writer for `statements`
    (ingest.receive, then ingest.batch), sent with a platform's credential of
    tenant `tenant_id`; `define`: the credential may update activity
    definitions. For tests of the store below HTTP (write_group)."""
    scopes = {"statements/write", "define"} if define else {"statements/write"}
    principal = Principal(tenant_id, tenant, f"{tenant}-key", frozenset(scopes),
                          {"objectType": "Agent", "mbox": "mailto:platform@example.com"})
    received = ingest.receive(orjson.dumps(statements), "application/json", version,
                              max_statements=len(statements))
    return ingest.batch(received, version=version, principal=principal)


def voiding(target: str, **fields: object) -> dict:
    return statement(verb={"id": VOIDED, "display": {"en-US": "voided"}},
                     object={"objectType": "StatementRef", "id": target}, **fields)


def post(client: httpx.Client, body: object, **kwargs: object) -> httpx.Response:
    return client.post("/xapi/statements", content=orjson.dumps(body),
                       headers={"Content-Type": "application/json"}, **kwargs)


def put(client: httpx.Client, statement_id: str | None, body: object) -> httpx.Response:
    params = {} if statement_id is None else {"statementId": statement_id}
    return client.put("/xapi/statements", params=params, content=orjson.dumps(body),
                      headers={"Content-Type": "application/json"})


def stored(client: httpx.Client, body: object) -> list[str]:
    """POST and return the ids, failing loudly if the LRS refused."""
    response = post(client, body)
    assert response.status_code == 200, response.text
    return response.json()


def get_one(client: httpx.Client, statement_id: str, **params: str) -> httpx.Response:
    return client.get("/xapi/statements", params={"statementId": statement_id, **params})


def listing(client: httpx.Client, **params: object) -> dict:
    response = client.get("/xapi/statements", params={
        k: (orjson.dumps(v).decode() if isinstance(v, dict) else v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    return response.json()


def listed_ids(client: httpx.Client, **params: object) -> list[str]:
    return [s["id"] for s in listing(client, **params)["statements"]]


def error_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"] == "application/json", response.text
    return response.json()["error"]


def follow(client, first: dict) -> list[str]:
    """Every id of the list that starts with page `first`, following `more`."""
    ids, page = [s["id"] for s in first["statements"]], first
    while page["more"]:
        assert page["more"].startswith("/xapi/statements?more=")  # relative IRL
        response = client.get(page["more"])
        assert response.status_code == 200, response.text
        assert CONSISTENT in response.headers
        page = response.json()
        ids += [s["id"] for s in page["statements"]]
    return ids
