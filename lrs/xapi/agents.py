"""Who an Agent or Identified Group is: its one Inverse Functional Identifier
(IFI) written as one key string.

xAPI 1.0.3 Communication 2.1.3 (`agent` parameter; 2.0 LRS 4.1.6.1): "Agents
or Identified Groups are equal when the same Inverse Functional Identifier is
used in each Object compared and those Inverse Functional Identifiers have
equal values." The key is that comparison made into a string, so index rows,
the `agent` filter and document rows (State, Agent Profile) all agree.

Key format, one per IFI property (1.0.3 Data 2.4.2.3):

    mbox:mailto:<local part>@<domain, lowercased>
    mbox_sha1sum:<40 hex digits, lowercased>
    openid:<uri, as sent>
    account:<homePage, "|" written as "%7C">|<name, as sent>

The prefix names the IFI property, so two IFIs of different kinds never
collide. An account key splits unambiguously at its first "|" because the
homePage part cannot contain one; the only keys that meet are a homePage
with a raw "|" (not a legal IRI character, RFC 3987 2.2) and the same IRL
percent-encoded, which name the same page.

Normalisation is limited to what the spec calls case-insensitive (1.0.3 Data
2.3.1 and 2.4.2.3: "the domain portions of email addresses are case
insensitive"; the "mailto" scheme, RFC 3986 3.1; hex digits). Everything else
(openid, account homePage and name, the e-mail local part) is compared as an
exact string (1.0.3 Data 3.1, 2.0 LRS 4.2.7: simple string comparison). An
Anonymous Group has no IFI and so no key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from lrs.errors import ValidationError

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def agent_key(agent: Mapping) -> str:
    """The key of an Agent or Identified Group (see the module docstring).

    Raises ValidationError for an object with no IFI (an Anonymous Group):
    callers that meet those on purpose use `agent_key_or_none`."""
    key = agent_key_or_none(agent)
    if key is None:
        raise ValidationError("agent", "has no inverse functional identifier "
                                       "(mbox, mbox_sha1sum, openid or account)")
    return key


def agent_key_or_none(agent: Mapping) -> str | None:
    """The key, or None when `agent` carries no IFI (an Anonymous Group).

    The validator guarantees at most one IFI; if more slip through, the
    first in IFI_PROPERTIES order wins so the result is still deterministic."""
    mbox = agent.get("mbox")
    if type(mbox) is str:
        return "mbox:" + normalize_mbox(mbox)
    sha1 = agent.get("mbox_sha1sum")
    if type(sha1) is str:
        return "mbox_sha1sum:" + sha1.lower()
    openid = agent.get("openid")
    if type(openid) is str:
        return "openid:" + openid
    account = agent.get("account")
    if type(account) is dict:
        home = str(account.get("homePage", "")).replace("|", "%7C")
        return f"account:{home}|{account.get('name', '')}"
    return None


def ifi_keys(agent: Mapping) -> list[str]:
    """Every key under which `agent` may be found, its own key first.

    For an mbox, also the mbox_sha1sum key of its hash: 1.0.3 Data 2.4.2.3
    (2.0 LRS 4.2.2.1) "An LRS MAY include Agents with a matching hash when a
    request is based on an mbox" (STGET-09). Use it to widen the `agent`
    filter, not to build index rows: the filter then finds statements that
    name the person by hash. Empty for an Anonymous Group."""
    key = agent_key_or_none(agent)
    if key is None:
        return []
    keys = [key]
    mbox = agent.get("mbox")
    if type(mbox) is str:
        # 1.0.3 Data 2.4.2.3: clients SHOULD lowercase the domain before
        # hashing. Hash both spellings so a client that did not still matches.
        for spelling in dict.fromkeys((normalize_mbox(mbox), mbox)):
            keys.append("mbox_sha1sum:" + mbox_sha1sum(spelling))
    return keys


def normalize_mbox(mbox: str) -> str:
    """`mbox` with the scheme and the e-mail domain lowercased.

    The local part keeps its case: RFC 5321 2.4 leaves it case-sensitive and
    xAPI only exempts the domain."""
    scheme, colon, address = mbox.partition(":")
    if not colon:
        return mbox
    local, at, domain = address.rpartition("@")
    if not at:
        return scheme.lower() + ":" + address
    return f"{scheme.lower()}:{local}@{domain.lower()}"


def mbox_sha1sum(mbox: str) -> str:
    """The hex SHA-1 of a mailto IRI exactly as given, the value an
    `mbox_sha1sum` property holds (1.0.3 Data 2.4.2.3)."""
    return hashlib.sha1(mbox.encode("utf-8")).hexdigest()


def is_group(actor: Mapping) -> bool:
    return actor.get("objectType") == "Group"


def member_agents(actor: Mapping) -> list[Mapping]:
    """The members listed in a Group (Anonymous or Identified); [] otherwise."""
    if not is_group(actor):
        return []
    members = actor.get("member")
    return [m for m in members if type(m) is dict] if isinstance(members, list) else []


def matching_keys(actor: Mapping) -> Iterator[str]:
    """The keys the `agent` filter matches `actor` by: its own key (when it
    has an IFI) and, for a Group, each member's key. 1.0.3 Communication
    2.1.3: "Groups that have members which match the specified Agent based on
    their Inverse Functional Identifier ... are considered a match"."""
    key = agent_key_or_none(actor)
    if key is not None:
        yield key
    for member in member_agents(actor):
        member_key = agent_key_or_none(member)
        if member_key is not None:
            yield member_key
