"""Agents and Groups: xAPI 1.0.3 Data 2.4.2, 2.0 LRS 4.2.2.1.

An Agent has exactly one Inverse Functional Identifier (mbox, mbox_sha1sum,
openid, account). A Group is Anonymous (no IFI, `member` required) or
Identified (exactly one IFI, `member` optional); members are Agents only.
"""

from __future__ import annotations

from lrs.xapi.formats_check import is_iri, is_mailto_iri, is_sha1_hex, type_rule
from lrs.xapi.validate_common import (
    check_format,
    check_iri,
    check_keys,
    check_string,
    fail,
    require_object,
)

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_AGENT_KEYS = frozenset(("objectType", "name") + IFIS)
_GROUP_KEYS = frozenset(("objectType", "name", "member") + IFIS)
_ACCOUNT_KEYS = frozenset(("homePage", "name"))


def check_actor(value: object, path: str, *, object_type_required: bool = False) -> str:
    """An Agent or a Group; returns "Agent" or "Group".

    `object_type_required`: 1.0.3 Data 2.4.4.2 / 2.0 LRS 4.2.2.3, an Agent
    used as a statement's object must say objectType "Agent"."""
    obj = require_object(value, path, "an Agent or Group object")
    kind = obj.get("objectType")
    if kind == "Group":
        check_group(obj, path)
        return "Group"
    if kind is None and "objectType" not in obj:
        if object_type_required:
            fail(f"{path}.objectType", "is required when an Agent or Group is the object")
    elif kind != "Agent":
        _bad_object_type(kind, f"{path}.objectType", '"Agent" or "Group"')
    check_agent(obj, path)
    return "Agent"


def check_agent(obj: dict, path: str) -> None:
    check_keys(obj, _AGENT_KEYS, path)
    if "name" in obj:
        check_string(obj["name"], f"{path}.name")
    if _count_ifis(obj, path) != 1:
        fail(path, "an Agent needs exactly one of mbox, mbox_sha1sum, openid, account")


def check_group(obj: dict, path: str, *, identified_only: bool = False) -> None:
    check_keys(obj, _GROUP_KEYS, path)
    if "name" in obj:
        check_string(obj["name"], f"{path}.name")
    count = _count_ifis(obj, path)
    if count > 1:
        fail(path, "a Group has at most one of mbox, mbox_sha1sum, openid, account")
    if count == 0 and identified_only:
        fail(path, "must be an Identified Group (one of mbox, mbox_sha1sum, openid, account)")
    if "member" in obj:
        members = obj["member"]
        mpath = f"{path}.member"
        if type(members) is not list:
            fail(mpath, type_rule(members, "an array of Agents"))
        # Reading: an Anonymous Group with no members identifies nothing, so
        # its required "member" must list at least one Agent.
        if count == 0 and not members:
            fail(mpath, "an Anonymous Group needs at least one member")
        for i, member in enumerate(members):
            check_member(member, f"{mpath}[{i}]")
    elif count == 0:
        fail(f"{path}.member", "is required for an Anonymous Group (a Group with no IFI)")


def check_member(value: object, path: str) -> None:
    """1.0.3 Data 2.4.2.2: Groups MUST NOT contain Group Objects in member."""
    obj = require_object(value, path, "an Agent object")
    if "objectType" in obj:
        kind = obj["objectType"]
        if kind == "Group":
            fail(f"{path}.objectType", "a Group member must be an Agent, not a Group")
        if kind != "Agent":
            _bad_object_type(kind, f"{path}.objectType", '"Agent"')
    check_agent(obj, path)


def _count_ifis(obj: dict, path: str) -> int:
    count = 0
    if "mbox" in obj:
        count += 1
        check_format(obj["mbox"], f"{path}.mbox", is_mailto_iri, "a string",
                     'must be a mailto IRI ("mailto:name@example.com")')
    if "mbox_sha1sum" in obj:
        count += 1
        check_format(obj["mbox_sha1sum"], f"{path}.mbox_sha1sum", is_sha1_hex, "a string",
                     "must be the 40-character hex SHA-1 of a mailto IRI")
    if "openid" in obj:
        count += 1
        if not is_iri(obj["openid"]):
            check_iri(obj["openid"], f"{path}.openid", "a URI")
    if "account" in obj:
        count += 1
        check_account(obj["account"], f"{path}.account")
    return count


def check_account(value: object, path: str) -> None:
    """1.0.3 Data 2.4.2.4: homePage (IRL) and name (string), both required."""
    obj = require_object(value, path, "an account object")
    check_keys(obj, _ACCOUNT_KEYS, path)
    if "homePage" not in obj:
        fail(f"{path}.homePage", "is required")
    check_iri(obj["homePage"], f"{path}.homePage", "an IRL")
    if "name" not in obj:
        fail(f"{path}.name", "is required")
    check_string(obj["name"], f"{path}.name")


def _bad_object_type(kind: object, path: str, expected: str) -> None:
    if type(kind) is not str:
        fail(path, type_rule(kind, "a string"))
    fail(path, f"must be {expected} (case-sensitive), got {kind!r}")
