"""GET /statements `format`: how much of Agents, Groups, Activities and Verbs
a reader gets (1.0.3 Communication 2.1.3; 2.0 LRS 4.1.6.1).

- exact: "populated exactly as they were when the Statement was received".
- ids: "only include minimum information necessary in Agent, Activity, Verb
  and Group Objects to identify them. For Anonymous Groups this means
  including the minimum information needed to identify each member."
- canonical: "Activity Objects and Verbs populated with the canonical
  definition of the Activity Objects and Display of the Verbs as determined
  by the LRS, after applying the language filtering process", Agents and
  Groups as in exact.

Every function here returns new dicts along the paths it changes and shares
the rest with its input, which it never mutates (a stored statement may be
cached and served to many readers).

Readings chosen:
- ids keeps `objectType` where the statement had it (a Group must say it is
  one; an Agent object must carry it, 1.0.3 Data 2.4.4.2) and the one IFI; an
  Identified Group loses its member list (its IFI identifies it); an
  Anonymous Group keeps objectType and each member's objectType/IFI. A Verb
  keeps only `id` in both versions (1.0.3 Data 2.4.3 SHOULD* NOT include
  display; 2.0 dropped that line as implied by the ids rule itself). An
  Activity keeps only `id`: its `objectType` may be left out (1.0.3 Data
  2.4.4, "If not specified, objectType is assumed to be Activity"), so it is
  not needed to identify it, and ADL's suites (XAPI-00171, both versions)
  want the SubStatement's Activity as one key. The rule is applied
  everywhere these objects occur: actor, object, context (instructor, team,
  contextActivities, contextAgents, contextGroups), authority, and the same
  places in a SubStatement.
- canonical takes each Activity's definition from the `canonical` callback
  (the LRS's merged definition), or the statement's own when the LRS has
  none, then cuts `name`, `description` and every interaction component's
  `description` to one language. The LRS keeps no canonical Verb display, so
  the statement's own display is cut to one language (1.0.3 SHOULD* return
  one language in each canonical map; 2.0 shall). Attachment display maps
  are not Activity or Verb maps and are returned as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lrs.xapi.agents import IFI_PROPERTIES
from lrs.xapi.definitions import COMPONENT_LISTS, LANGUAGE_MAP_PROPERTIES
from lrs.xapi.languages import Preferences, reduce_language_map
from lrs.xapi.versions import V1

FORMATS = ("exact", "ids", "canonical")

CanonicalLookup = Callable[[str], dict | None]
_Transform = Callable[[Mapping], Mapping]


def format_statement(stmt: dict, fmt: str, *, languages: Preferences,
                     canonical: CanonicalLookup | None = None,
                     version: str) -> dict:
    """`stmt` as the reader asked for it. `languages` is the parsed
    Accept-Language (languages.parse_accept_language); `canonical` maps an
    Activity id to the LRS's canonical definition (None when unknown);
    `version` is the request's version: 1.0.x readers also get
    downgrade_for_v1."""
    if fmt == "exact":
        out = stmt
    elif fmt == "ids":
        out = _walk(stmt, actor=ids_actor, activity=ids_activity, verb=ids_verb)
    elif fmt == "canonical":
        out = _walk(stmt, actor=_same,
                    activity=lambda a: canonical_activity(a, languages, canonical),
                    verb=lambda v: canonical_verb(v, languages))
    else:
        raise ValueError(f"unknown statement format {fmt!r}")
    return downgrade_for_v1(out) if version == V1 else out


def downgrade_for_v1(stmt: dict) -> dict:
    """A statement as a 1.0.x reader sees it: unchanged.

    A statement accepted through 2.0 may say "version": "2.0.0" and carry
    context.contextAgents / contextGroups. Neither is removed or rewritten:
    - 1.0.3 Communication 3.3 "Conversion Requirements": "Statements of newer
      versions MUST NOT be converted into a prior version format, e.g., in
      order to handle version differences."
    - 1.0.3 Data 2.4.10 and 2.0 LRS 4.2.4.3: statements "MUST retain the
      version they are accepted with".
    - 1.0.3 Communication 3.3 "Client Requirements": a client "SHOULD
      tolerate receiving data structures with additional properties" and
      "SHOULD ignore any properties not defined in version 1.0.0".
    The function exists so the read path has one place to change if that
    reading ever changes; today it returns `stmt` itself."""
    return stmt


def _same(obj: Mapping) -> Mapping:
    return obj


def _walk(stmt: Mapping, *, actor: _Transform, activity: _Transform,
          verb: _Transform, sub: bool = False) -> dict:
    """Apply the three transforms wherever an Agent/Group, Activity or Verb
    occurs in a statement or SubStatement."""
    out = dict(stmt)
    if type(out.get("actor")) is dict:
        out["actor"] = actor(out["actor"])
    if type(out.get("verb")) is dict:
        out["verb"] = verb(out["verb"])
    if not sub and type(out.get("authority")) is dict:
        out["authority"] = actor(out["authority"])
    obj = out.get("object")
    if type(obj) is dict:
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = activity(obj)
        elif kind in ("Agent", "Group"):
            out["object"] = actor(obj)
        elif kind == "SubStatement" and not sub:
            out["object"] = _walk(obj, actor=actor, activity=activity, verb=verb, sub=True)
    if type(out.get("context")) is dict:
        out["context"] = _walk_context(out["context"], actor, activity)
    return out


def _walk_context(context: Mapping, actor: _Transform, activity: _Transform) -> dict:
    out = dict(context)
    for role in ("instructor", "team"):
        if type(out.get(role)) is dict:
            out[role] = actor(out[role])
    groups = out.get("contextActivities")
    if type(groups) is dict:
        out["contextActivities"] = {
            kind: [activity(a) for a in value] if isinstance(value, list) else activity(value)
            for kind, value in groups.items()}
    for key, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
        entries = out.get(key)
        if isinstance(entries, list):
            out[key] = [{**e, inner: actor(e[inner])}
                        if type(e) is dict and type(e.get(inner)) is dict else e
                        for e in entries]
    return out


# --- ids ---------------------------------------------------------------------

def ids_actor(actor: Mapping) -> dict:
    """An Agent or Group reduced to what identifies it (see module docstring)."""
    out = {k: actor[k] for k in ("objectType", *IFI_PROPERTIES) if k in actor}
    if actor.get("objectType") == "Group" and len(out) == 1:
        members = actor.get("member")
        if isinstance(members, list):
            out["member"] = [ids_actor(m) if type(m) is dict else m for m in members]
    return out


def ids_activity(activity: Mapping) -> dict:
    return {"id": activity["id"]} if "id" in activity else {}


def ids_verb(verb: Mapping) -> dict:
    return {"id": verb["id"]} if "id" in verb else dict(verb)


# --- canonical -----------------------------------------------------------------

def canonical_activity(activity: Mapping, languages: Preferences,
                       canonical: CanonicalLookup | None) -> Mapping:
    """The Activity with the LRS's definition, each language map cut to the
    reader's language (STGET-20..22)."""
    definition = canonical(activity["id"]) if canonical is not None and "id" in activity \
        else None
    if definition is None:
        definition = activity.get("definition")
    if type(definition) is not dict:
        return activity
    return {**activity, "definition": one_language_definition(definition, languages)}


def one_language_definition(definition: Mapping, languages: Preferences) -> dict:
    """`definition` with name, description and every interaction component's
    description holding one language (1.0.3 Communication 2.1.3: "The LRS MUST
    return only one language in each of these maps")."""
    out = dict(definition)
    for prop in LANGUAGE_MAP_PROPERTIES:
        if type(out.get(prop)) is dict:
            out[prop] = reduce_language_map(out[prop], languages)
    for prop in COMPONENT_LISTS:
        components = out.get(prop)
        if isinstance(components, list):
            out[prop] = [
                {**c, "description": reduce_language_map(c["description"], languages)}
                if type(c) is dict and type(c.get("description")) is dict else c
                for c in components]
    return out


def canonical_verb(verb: Mapping, languages: Preferences) -> Mapping:
    display = verb.get("display")
    if type(display) is not dict:
        return verb
    return {**verb, "display": reduce_language_map(display, languages)}
