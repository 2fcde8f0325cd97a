"""Canonical activity definitions written by two LRS processes at once.

Each process merges a definition into the canonical one it was handed and
writes it only if that is still the stored one (lrs_write_statements), so
two processes adding names in different languages to one activity at the
same time must each retry rather than overwrite the other: every name
sent ends up in the canonical definition, and every write is answered 200."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from lrs.app import create_app

ACTIVITY = "http://example.org/courses/shared-induction"
V2 = {"X-Experience-API-Version": "2.0.0"}


def _statement(language: str) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:{language}@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": ACTIVITY,
                       "definition": {"name": {language: f"Induction ({language})"}}}}


def test_two_processes_adding_languages_at_once_lose_none(settings, new_tenant):
    tenant = new_tenant()
    languages = [f"x-l{i:03d}" for i in range(120)]
    apps = [create_app(settings), create_app(settings)]

    async def scenario() -> tuple[list[int], dict]:
        async with apps[0].router.lifespan_context(apps[0]), \
                apps[1].router.lifespan_context(apps[1]):
            clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://lrs", headers=V2, timeout=30,
                                         auth=(tenant.key, tenant.secret)) for app in apps]
            try:
                gate = asyncio.Semaphore(32)

                async def post(n: int, language: str) -> int:
                    async with gate:
                        response = await clients[n % 2].post("/xapi/statements",
                                                              json=_statement(language))
                        return response.status_code

                statuses = await asyncio.gather(*(post(n, lang)
                                                  for n, lang in enumerate(languages)))
                activity = (await clients[0].get("/xapi/activities",
                                                 params={"activityId": ACTIVITY})).json()
            finally:
                for client in clients:
                    await client.aclose()
        return statuses, activity

    statuses, activity = asyncio.run(scenario())
    assert statuses == [200] * len(languages)
    assert activity["definition"]["name"] == {
        language: f"Induction ({language})" for language in languages}
