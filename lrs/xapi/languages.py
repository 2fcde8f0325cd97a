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
from collections.abc import Mapping

# Tried, in this order, when the map holds nothing the reader accepts (and
# always when the client sent no Accept-Language): "und" is RFC 5646's
# "undetermined" language, so a map that has it meant it as the neutral
# choice; English is the language most xAPI content is written in. After
# these, the map's first key.
FALLBACKS = ("und", "en-us", "en")


@dataclasses.dataclass(frozen=True)
class Preferences:
    """A reader's Accept-Language: its language ranges, lower-cased, with
    their quality values, in the header's order."""

    ranges: tuple[tuple[str, float], ...] = ()

    def quality(self, tag: str) -> tuple[float, int] | None:
        """The quality of language `tag` (lower-cased) and the position of
        the range that gives it: RFC 2616 14.4, the longest range matching
        it. None when no range matches."""
        found, longest = None, -1
        for position, (lang_range, quality) in enumerate(self.ranges):
            if lang_range == "*":
                length = 0
            elif tag == lang_range or tag.startswith(lang_range + "-"):
                length = len(lang_range)
            else:
                continue
            if length > longest:
                found, longest = (quality, position), length
        return found

    def refuses(self, tag: str) -> bool:
        found = self.quality(tag)
        return found is not None and found[0] == 0

    @property
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
    only steers a choice we can always make some other way.
    """
    if not header:
        return Preferences()
    ranges = []
    for item in header.split(","):
        parsed = _parse_range(item)
        if parsed is not None:
            ranges.append((parsed[0].lower(), parsed[1]))
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
    for pref in ranked:
        primary = pref.split("-")[0] + "-"
        for low, key in candidates.items():
            if low.startswith(primary):
                return key
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
