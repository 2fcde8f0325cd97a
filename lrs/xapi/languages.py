"""Accept-Language negotiation for language maps.

xAPI 1.0.3 Communication 2.1.3 "Language Filtering Requirements for Canonical
Format Statements" (2.0 LRS 4.1.6.1, same text): choose the language with the
Accept-Language header as RFC 2616 14.4 describes, "applied to each language
map individually ... rather than to the resource (list of Statements) as a
whole". So the header is parsed once per request (`parse_accept_language`)
and every language map picks its own key (`pick_language`).

Language tags are case-insensitive (RFC 5646 2.1.1), so matching ignores
case; the key returned is always the map's own spelling.

A language the header gives quality 0 is "not acceptable" (RFC 2616 14.4):
it is never chosen, not even as a fallback, unless the map holds nothing
else (every non-empty map yields one entry, STGET-21).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

# Tried, in this order, when no preference matches (and always when the
# client sent no Accept-Language): "und" is RFC 5646's "undetermined"
# language, so a map that has it meant it as the neutral choice; English is
# the language most xAPI content is written in. After these, the map's first
# key, so every non-empty map yields exactly one entry (STGET-21).
FALLBACKS = ("und", "en-us", "en")


@dataclasses.dataclass(frozen=True)
class Preferences:
    """A reader's Accept-Language."""

    ranked: tuple[str, ...] = ()  # the acceptable ranges, most preferred first
    refused: tuple[str, ...] = ()  # the ranges with quality 0, lower-cased

    def refuses(self, key: str) -> bool:
        """Whether `key` (lower-cased) is not acceptable: the longest range
        that matches it has quality 0 (RFC 2616 14.4). "*" matches only
        what no other range does."""
        if not self.refused:
            return False
        longest, refused = -1, False
        for ranges, quality_zero in ((self.ranked, False), (self.refused, True)):
            for lang_range in ranges:
                low = lang_range.lower()
                if low == "*":
                    length = 0
                elif key == low or key.startswith(low + "-"):
                    length = len(low)
                else:
                    continue
                if length > longest:
                    longest, refused = length, quality_zero
        return refused


def parse_accept_language(header: str | None) -> Preferences:
    """The language ranges of an Accept-Language header.

    RFC 7231 5.3.5 / RFC 2616 14.4: comma-separated ranges, each with an
    optional ";q=" weight in [0, 1] (default 1). Acceptable ranges are ranked
    by weight, ties in the header's order; those with q=0 are kept apart as
    refused. "*" is a range like the others. Malformed items are skipped
    rather than failing the request: the header only steers a choice we can
    always make some other way.
    """
    if not header:
        return Preferences()
    weighted: list[tuple[float, int, str]] = []
    refused: list[str] = []
    for position, item in enumerate(header.split(",")):
        parsed = _parse_range(item)
        if parsed is None:
            continue
        if parsed[1] > 0:
            weighted.append((-parsed[1], position, parsed[0]))
        else:
            refused.append(parsed[0].lower())
    weighted.sort()
    return Preferences(tuple(tag for _, _, tag in weighted), tuple(refused))


def _parse_range(item: str) -> tuple[str, float] | None:
    tag, *params = (part.strip() for part in item.split(";"))
    if not tag or not _is_range(tag):
        return None
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            if not 0.0 <= quality <= 1.0:
                return None
    return tag, quality


def _is_range(tag: str) -> bool:
    # RFC 4647 2.1 language-range: "*" or 1*8ALPHA *("-" 1*8alphanum).
    if tag == "*":
        return True
    subtags = tag.split("-")
    return (subtags[0].isascii() and subtags[0].isalpha()
            and all(0 < len(s) <= 8 and s.isascii() and s.isalnum() for s in subtags))


def pick_language(lmap: Mapping[str, object], prefs: Preferences) -> str | None:
    """The key of `lmap` to show a reader with preferences `prefs`.

    For each range in preference order: a key equal to it, else a key it is a
    prefix of ("en" matches "en-GB", RFC 2616 14.4), else (a step beyond RFC
    2616, the RFC 4647 3.4 "lookup" fallback) a key that is a prefix of it
    ("en-US" finds "en"). "*" matches the first key. Then, for each range, a
    key with the same primary language ("en-US" takes "en-GB"). With no
    match: "und", "en-US", "en", then the map's first key. Keys the reader
    refused are passed over throughout, unless there are no others. None
    only for an empty map.
    """
    if not lmap:
        return None
    lowered = {key.lower(): key for key in lmap}
    if prefs.refused:
        lowered = {low: key for low, key in lowered.items()
                   if not prefs.refuses(low)} or lowered
    for pref in prefs.ranked:
        found = _match(pref.lower(), lowered)
        if found is not None:
            return found
    # A second pass before giving up on the reader's wishes: the same primary
    # language in another region ("en-US" reader, only "en-GB" on offer).
    for pref in prefs.ranked:
        primary = pref.lower().split("-")[0] + "-"
        for low, key in lowered.items():
            if low.startswith(primary):
                return key
    for fallback in FALLBACKS:
        if fallback in lowered:
            return lowered[fallback]
    return next(iter(lowered.values()))


def _match(pref: str, lowered: dict[str, str]) -> str | None:
    if pref == "*":
        return next(iter(lowered.values()))
    exact = lowered.get(pref)
    if exact is not None:
        return exact
    prefix = pref + "-"
    for low, key in lowered.items():
        if low.startswith(prefix):
            return key
    # Truncate the range one subtag at a time (RFC 4647 3.4).
    parts = pref.split("-")
    while len(parts) > 1:
        parts.pop()
        candidate = lowered.get("-".join(parts))
        if candidate is not None:
            return candidate
    return None


def reduce_language_map(lmap: Mapping[str, str], prefs: Preferences) -> dict[str, str]:
    """`lmap` cut down to the one entry `pick_language` chooses.

    STGET-21/23: in canonical format every returned language map holds
    exactly one language. An empty map stays empty."""
    key = pick_language(lmap, prefs)
    return {} if key is None else {key: lmap[key]}
