"""GET (and HEAD) /xapi/activities?activityId=: the Activity object with the
LRS's canonical definition (xAPI 1.0.3 Communication 2.5, 2.0 LRS 4.1.6.4).

The canonical definitions are the ones the statement writer merges into
table `activities` from statements stored by credentials holding `define`.
Reading them needs `statements/read` (or `all/read`): they come from
statements that credential could read anyway."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import BadRequest, MethodNotAllowed
from lrs.http.xrequest import begin
from lrs.store import statement_reader as reader
from lrs.xapi import jsonparse
from lrs.xapi.formats_check import is_iri


async def activities(request: Request) -> Response:
    xreq, principal, version = await begin(request)
    if xreq.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(f"{xreq.method} is not allowed on /xapi/activities",
                               headers={"Allow": "GET, HEAD"})
    principal.require("statements/read", "all/read")
    xreq.allow_params(("activityId",), required=("activityId",))
    activity_id = xreq.params["activityId"]
    if not is_iri(activity_id):
        raise BadRequest("parameter 'activityId' must be an IRI", field="activityId")
    async with xreq.runtime.db.connection() as conn:
        found = await reader.definitions(conn, principal.tenant_id, [activity_id])
    # ACT-02 (1.0.3 SHOULD*, 2.0 shall): an unknown id still gets an Activity.
    activity: dict = {"objectType": "Activity", "id": activity_id}
    definition = jsonparse.loads(found[activity_id]) if activity_id in found else None
    if definition:
        activity["definition"] = definition
    return Response(jsonparse.dumps(activity), media_type="application/json")
