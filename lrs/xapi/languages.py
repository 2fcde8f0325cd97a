"""Accept-Language negotiation for language maps.

xAPI 1.0.3 Communication 2.1.3 "Language Filtering Requirements for Canonical
Format Statements" (2.0 LRS 4.1.6.1, same text): choose the language with the
Accept-Language header as RFC 2616 14.4 describes, "applied to each language
map individually ... rather than to the resource (list of Statements) as a
whole". So the header is parsed once per request (`parse_accept_language`)
and every language map picks its own key (`pick_language`).

Language tags are case-insensitive (RFC 5646 2.1.1), so matching ignores
case; the key returned is always the map's own spelling.

Each language of a map gets the quality RFC 2616 gives it: that of the
longest range in the header matching it (a range matches a tag it equals or
is a prefix of, "en" matching "en-GB"), "*" matching only what no other
range does. The map shows its best acceptable language. When it has none,
the nearest the reader would take stands in (`pick_language`), but never one
the header refused with quality 0 unless the map holds nothing else: every
non-empty map yields one entry (STGET-21).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

# Tried, in this order, when the map holds nothing the reader accepts (and
# always when the client sent no Accept-Language): "und" is RFC 5646's
# "undetermined" language, so a map that has it meant it as the neutral
# choice; English is the language most xAPI content is written in. After
# these, the map's first key.
FALLBACKS = ("und", "en-us", "en")


# Ranges of an Accept-Language header kept: browsers send a handful. Past
# this many the rest are ignored, so that a reader cannot make every language
# map of every statement it reads cost more (module docstring: each map
# tries the reader's ranges in turn when it holds none of them).
MAX_RANGES = 32


@dataclasses.dataclass(frozen=True)
class Preferences:
    """A reader's Accept-Language: its language ranges, lower-cased, with
    their quality values, in the header's order."""

    ranges: tuple[tuple[str, float], ...] = ()

    @functools.cached_property
    def _by_range(self) -> dict[str, tuple[float, int]]:
        """Each range's quality and position; a range given twice counts
        where it came first."""
        found: dict[str, tuple[float, int]] = {}
        for position, (lang_range, quality) in enumerate(self.ranges):
            found.setdefault(lang_range, (quality, position))
        return found

    def quality(self, tag: str) -> tuple[float, int] | None:
        """The quality of language `tag` (lower-cased) and the position of
        the range that gives it: RFC 2616 14.4, the longest range matching
        it (a range matches the tag or a prefix of it ending at a subtag),
        else "*". None when no range matches. One look-up per subtag, not a
        scan of the ranges: a map may hold thousands of languages."""
        by_range = self._by_range
        prefix = tag
        while (found := by_range.get(prefix)) is None:
            cut = prefix.rfind("-")
            if cut < 0:
                return by_range.get("*")
            prefix = prefix[:cut]
        return found

    def refuses(self, tag: str) -> bool:
        found = self.quality(tag)
        return found is not None and found[0] == 0

    @functools.cached_property
    def ranked(self) -> tuple[str, ...]:
        """The acceptable ranges, most preferred first (ties in the
        header's order)."""
        order = sorted(range(len(self.ranges)), key=lambda i: (-self.ranges[i][1], i))
        return tuple(self.ranges[i][0] for i in order if self.ranges[i][1] > 0)


def parse_accept_language(header: str | None) -> Preferences:
    """The language ranges of an Accept-Language header.

    RFC 7231 5.3.5 / RFC 2616 14.4: comma-separated ranges, each with an
    optional ";q=" weight in [0, 1] (default 1); q=0 is "not acceptable".
    Malformed items are skipped rather than failing the request: the header
    only steers a choice we can always make some other way. At most
    MAX_RANGES are kept, the first ones.
    """
    if not header:
        return Preferences()
    ranges = []
    for item in header.split(","):
        parsed = _parse_range(item)
        if parsed is not None:
            ranges.append((parsed[0].lower(), parsed[1]))
            if len(ranges) == MAX_RANGES:
                break
    return Preferences(tuple(ranges))


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

    The key of the highest quality (module docstring); between equals, the
    one whose range comes first in the header, then map order. When no key
    is acceptable, the nearest one, passing over refused keys unless there
    are no others: for each acceptable range, most preferred first, a key
    that is a prefix of it (the RFC 4647 3.4 "lookup" fallback, a step
    beyond RFC 2616: "en-US" finds "en"); then, for each range, a key with
    the same primary language ("en-US" takes "en-GB"); then "und", "en-US",
    "en"; then the first key. None only for an empty map.
    """
    if not lmap:
        return None
    lowered = {key.lower(): key for key in lmap}
    best, best_rank = None, None
    for low, key in lowered.items():
        found = prefs.quality(low)
        if found is not None and found[0] > 0:
            rank = (-found[0], found[1])
            if best_rank is None or rank < best_rank:
                best, best_rank = key, rank
    if best is not None:
        return best
    candidates = {low: key for low, key in lowered.items() if not prefs.refuses(low)} or lowered
    ranked = [pref for pref in prefs.ranked if pref != "*"]
    for pref in ranked:
        parts = pref.split("-")
        while len(parts) > 1:
            parts.pop()
            found_key = candidates.get("-".join(parts))
            if found_key is not None:
                return found_key
    if ranked:
        by_primary: dict[str, str] = {}  # the first key of each primary language with a subtag
        for low, key in candidates.items():
            primary, dash, _ = low.partition("-")
            if dash:
                by_primary.setdefault(primary, key)
        for pref in ranked:
            found_key = by_primary.get(pref.partition("-")[0])
            if found_key is not None:
                return found_key
    for fallback in FALLBACKS:
        if fallback in candidates:
            return candidates[fallback]
    return next(iter(candidates.values()))


def reduce_language_map(lmap: Mapping[str, str], prefs: Preferences) -> dict[str, str]:
    """`lmap` cut down to the one entry `pick_language` chooses.

    STGET-21/23: in canonical format every returned language map holds
    exactly one language. An empty map stays empty."""
    key = pick_language(lmap, prefs)
    return {} if key is None else {key: lmap[key]}
