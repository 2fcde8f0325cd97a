"""The Person object of the Agents resource (xAPI 1.0.3 Communication 2.4,
2.0 LRS 4.1.6.3): every property an array, several identifiers allowed.

What we combine: this LRS has no directory service, so a Person holds one
persona: the requested Agent's IFI (AGT-03: an unknown agent still gets a
Person of what the request said), and the names given to that same IFI by
the request and by the statements that name the agent as actor or object
(or as a member of such a Group), newest first. A name is only ever joined
to the IFI it was sent with, so nothing links two personas."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from lrs.xapi.agents import agent_key_or_none, member_agents


def person(agent: Mapping, names: Iterable[str] = ()) -> dict:
    """A Person of `agent` (a validated Agent) and `names` seen for it."""
    found = list(dict.fromkeys(
        n for n in (agent.get("name"), *names) if isinstance(n, str)))
    result: dict = {"objectType": "Person"}
    if found:
        result["name"] = found
    for prop in ("mbox", "mbox_sha1sum", "openid"):
        if prop in agent:
            result[prop] = [agent[prop]]
    if "account" in agent:
        account = agent["account"]
        result["account"] = [{"homePage": account["homePage"], "name": account["name"]}]
    return result


def names_in(statement: Mapping, key: str) -> Iterator[str]:
    """Names the statement gives to the Agent (or Group) whose key is `key`."""
    for role in ("actor", "object"):
        actor = statement.get(role)
        if type(actor) is not dict:
            continue
        for candidate in (actor, *member_agents(actor)):
            name = candidate.get("name")
            if isinstance(name, str) and agent_key_or_none(candidate) == key:
                yield name
