"""GET (and HEAD) /xapi/agents?agent=: a Person object for an Agent (xAPI
1.0.3 Communication 2.4, 2.0 LRS 4.1.6.3). What the Person combines is
described in lrs.xapi.persons.

Needs `statements/read` (or `all/read`): the names come from statements."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import MethodNotAllowed
from lrs.http.xrequest import begin
from lrs.store import agents as store
from lrs.xapi import persons
from lrs.xapi.documents import parse_agent


async def agents(request: Request) -> Response:
    xreq, principal, version = await begin(request)
    if xreq.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(f"{xreq.method} is not allowed on /xapi/agents",
                               headers={"Allow": "GET, HEAD"})
    principal.require("statements/read", "all/read")
    xreq.allow_params(("agent",), required=("agent",))
    # 1.0.3 2.4: "a normal Agent Object ... not a Person Object, nor ... a Group".
    key = parse_agent(xreq.params["agent"], version, allow_group=False)
    agent = orjson.loads(xreq.params["agent"])
    async with xreq.runtime.db.connection() as conn:
        payloads = await store.statements_naming(conn, principal.tenant_id, key)
    names = (n for p in payloads for n in persons.names_in(orjson.loads(p), key))
    return Response(orjson.dumps(persons.person(agent, names)), media_type="application/json")
