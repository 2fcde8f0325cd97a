"""Checks for xAPI's formatted strings: IRI, UUID, mailto IRI, SHA-1 hex,
RFC 5646 language tag, timestamp, ISO 8601 duration, statement version.

Each `is_*` answers True/False and never raises; `parse_timestamp` raises
ValidationError naming the path it was given. Pure: regexes are compiled once
at import, results that repeat a lot (language tags) are memoised.

xAPI 1.0.3 Data 2.2 and 2.0 LRS 4.2.1: reject "any non-format-following key
or value, including the empty string, where a string with a particular format
(such as mailto IRI, UUID, or IRI) is required", and IRI/IRL values without a
scheme.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from lrs.errors import ValidationError
from lrs.xapi.versions import V1

# --- IRI / IRL ---------------------------------------------------------------
# Best-effort RFC 3987 (1.0.3 Data 2.2 "MAY use best-effort validation"; 2.0
# LRS 4.2.4.1 "may choose not to validate IRIs"): a scheme (RFC 3986 3.1:
# ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), a colon, and a non-empty rest
# made of characters an IRI may hold: no spaces or controls, none of
# <>"{}|\^`, and "%" only as a percent-encoded octet. The ADL suite's bad
# IRIs ("ab=c://should.fail.com", "should error", "abc") all fail this.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20\x7f-\x9f<>\"{}|\\^`]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Identifiers repeat (verbs, activity types, extension keys, homePages):
# remember ones already found good. Bounded; cleared when full.
_GOOD_IRIS: dict[str, bool] = {}
_GOOD_IRIS_MAX = 16384

# --- UUID ----------------------------------------------------------------------
# 1.0.3 Data 4.4, 2.0 LRS 4.2.7: "standard string form" 8-4-4-4-12 hex digits.
# Variant 2 is only recommended, so any version/variant nibble is accepted.
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# --- mbox / mbox_sha1sum ---------------------------------------------------------
# 1.0.3 Data 2.4.2.3: 'The required format is "mailto:email address"'. We read
# the scheme as the literal lowercase "mailto:" (the format is given
# literally) and the address as local@domain with neither part empty.
_MAILTO = re.compile(r"mailto:[^@\s\x00-\x1f\x7f<>\"]+@[^@\s\x00-\x1f\x7f<>\"]+")
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")

# --- Language tags (RFC 5646 section 2.1) ------------------------------------------
_LANGTAG = re.compile(
    r"(?:"
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4}|[A-Za-z]{5,8})"  # language
    r"(?:-[A-Za-z]{4})?"                                                  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"                                     # region
    r"(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)"       # variants
    r"(?P<extensions>(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*)"        # extensions
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"                                   # private use
    r"|[Xx](?:-[A-Za-z0-9]{1,8})+"                                        # private use only
    r")")
# RFC 5646 2.2.8: irregular grandfathered tags do not fit the grammar above.
_GRANDFATHERED = frozenset((
    "en-gb-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak",
    "i-klingon", "i-lux", "i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay",
    "i-tsu", "sgn-be-fr", "sgn-be-nl", "sgn-ch-de"))
_GOOD_TAGS: dict[str, bool] = {}
_GOOD_TAGS_MAX = 4096

# --- Durations (ISO 8601:2004 4.4.3.2) -------------------------------------------
# PnW alone, or PnYnMnDTnHnMnS with any component left out, at least one
# present, and T only when a time component follows. 4.4.3.3 (the
# "alternative format" P0003-04-01T...) is rejected because components here
# carry unit letters. A decimal fraction is allowed on the lowest-order
# component present (ISO 8601 4.4.3.2), written with "." (we do not accept
# the comma: the equivalence code compares durations numerically). Digits are
# ASCII: see the timestamps below.
_NUM = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUM}W|(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)", re.ASCII)

# --- Statement "version" ---------------------------------------------------------
# 1.0.3 Data 2.4.10: formatted as for the version header and starting with
# 1.0; the ADL suite accepts "1.0" and "1.0.9" and rejects "0.9.9", "1.1.0".
# 2.0 LRS 4.2.4.2: "should not reject a statement ... except the version":
# a 2.0 LRS stores 1.0.x statements too, so 2.0 accepts 1.0[.x] and 2.0[.x].
_VERSION_V1 = re.compile(r"1\.0(?:\.(?:0|[1-9][0-9]*))?")
_VERSION_V2 = re.compile(r"(?:1|2)\.0(?:\.(?:0|[1-9][0-9]*))?")

# --- Timestamps ----------------------------------------------------------------
# 2.0 (Content 5.2.7 via the changes table, s19/s20): RFC 3339 date-time,
# offset required. RFC 3339 5.6 allows "t"/"z" in lower case and (its NOTE)
# a space for "T"; the ADL 2.0 suite sends "2008-09-15 15:53:00.601+00:00"
# and expects 200.
# Digits are ASCII (RFC 3339's and ISO 8601's DIGIT): re.ASCII, since \d
# alone also matches other scripts' digits, which int() reads.
_TS_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))", re.ASCII)
# 1.0.3 Data 4.5: any ISO 8601 combined date and time, extended or basic
# format (the suite's wording: "ISO 8601 Extended or ISO 8601 Basic"); the
# time zone is only SHOULD*, seconds may be left out (reduced precision),
# and the decimal mark may be "," as ISO 8601 allows.
_TS_ISO_EXTENDED = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?", re.ASCII)
_TS_ISO_BASIC = re.compile(
    r"(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(\d{2})?)?", re.ASCII)
# What nearly every client sends: UTC, "T", "Z", seconds and a fraction of
# up to nine digits, every field in range but the day of the month.
# datetime.fromisoformat reads that in 0.6 us with this check, against 2.3
# for the groups and int()s of the general path (timeit, CPython 3.11). It
# takes "Z" and cuts fractions past microseconds since 3.11 (3.11-3.13 agree).
_TS_COMMON_UTC = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z")
_UTC = timezone.utc
_OFFSETS: dict[tuple[str, str, str | None], timezone] = {}


def is_iri(value: object) -> bool:
    """An absolute IRI (scheme required). Also used for IRLs and URIs."""
    if type(value) is not str:
        return False
    if value in _GOOD_IRIS:
        return True
    if _IRI.fullmatch(value) is None:
        return False
    if "%" in value and _BAD_PERCENT.search(value) is not None:
        return False
    if len(_GOOD_IRIS) >= _GOOD_IRIS_MAX:
        _GOOD_IRIS.clear()
    _GOOD_IRIS[value] = True
    return True


def is_uuid(value: object) -> bool:
    return type(value) is str and _UUID.fullmatch(value) is not None


def is_mailto_iri(value: object) -> bool:
    return type(value) is str and _MAILTO.fullmatch(value) is not None


def is_sha1_hex(value: object) -> bool:
    return type(value) is str and _SHA1_HEX.fullmatch(value) is not None


def is_duration(value: object) -> bool:
    if type(value) is not str:
        return False
    match = _DURATION.fullmatch(value)
    if match is None:
        return False
    parts = [g for g in match.groups() if g is not None]
    # Only the lowest-order component present may carry a fraction.
    return all("." not in p for p in parts[:-1])


def is_statement_version(value: object, version: str) -> bool:
    if type(value) is not str:
        return False
    pattern = _VERSION_V1 if version == V1 else _VERSION_V2
    return pattern.fullmatch(value) is not None


def is_language_tag(value: object) -> bool:
    """RFC 5646 well-formed tag, plus two "valid tag" checks the ADL suite
    tests (section 2.2.5/2.2.6): no repeated variant and no repeated
    extension singleton ("zh-z-aaa-z-bbb-c-ccc" is rejected)."""
    if type(value) is not str:
        return False
    if value in _GOOD_TAGS:
        return True
    ok = _check_language_tag(value)
    if ok and len(_GOOD_TAGS) < _GOOD_TAGS_MAX:
        _GOOD_TAGS[value] = True
    return ok


def _check_language_tag(value: str) -> bool:
    if value.lower() in _GRANDFATHERED:
        return True
    match = _LANGTAG.fullmatch(value)
    if match is None:
        return False
    variants = match.group("variants")
    if variants:
        seen = variants.lower().split("-")[1:]
        if len(seen) != len(set(seen)):
            return False
    extensions = match.group("extensions")
    if extensions:
        singletons = [s for s in extensions.lower().split("-") if len(s) == 1]
        if len(singletons) != len(set(singletons)):
            return False
    return True


def parse_timestamp(value: object, path: str = "timestamp",
                    version: str = V1) -> datetime:
    """Parse an xAPI Timestamp into an aware datetime (UTC when no zone).

    Raises ValidationError(path, ...) when it is not a Timestamp under the
    rules of `version`. Readings chosen: a negative zero offset ("-00",
    "-0000", "-00:00", RFC 3339 4.3's "unknown local offset") is rejected in
    both versions (the ADL suite requires it); a 1.0.3 timestamp without a
    zone is read as UTC; leap seconds (":60") and "24:00" are rejected;
    digits beyond microseconds are truncated (1.0.3 Data 4.5 only requires
    milliseconds).
    """
    if type(value) is not str:
        raise ValidationError(path, _type_rule(value, "a Timestamp string"))
    if _TS_COMMON_UTC.fullmatch(value):
        try:
            return datetime.fromisoformat(value)  # UTC: no other year to check
        except ValueError:
            pass  # February 30th, year 0: the general path says which
    if version == V1:
        match = _TS_ISO_EXTENDED.fullmatch(value) or _TS_ISO_BASIC.fullmatch(value)
        form = "an ISO 8601 timestamp"
    else:
        match = _TS_RFC3339.fullmatch(value)
        form = "an RFC 3339 timestamp with a time zone offset"
    if match is None:
        raise ValidationError(path, f"must be {form}")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = match.groups()
    if sign is not None:
        tz = _offset(sign, oh, om)
        if tz is None:
            raise ValidationError(path, "has an invalid or negative-zero time zone offset")
    else:
        tz = _UTC
    micro = int((frac + "00000")[:6]) if frac else 0
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second) if second else 0, micro, tz)
        # The same instant in UTC must exist too: it is what is stored,
        # compared and queried (0001-01-01T00:00+01:00 would be year 0).
        parsed.astimezone(_UTC)
        return parsed
    except ValueError:
        raise ValidationError(path, "is not a real date and time") from None
    except OverflowError:
        raise ValidationError(path, "is outside the years 0001 to 9999 in UTC") from None


def _offset(sign: str, hours: str, minutes: str | None) -> timezone | None:
    key = (sign, hours, minutes)
    tz = _OFFSETS.get(key)
    if tz is None:
        h, m = int(hours), int(minutes or 0)
        if h > 23 or m > 59 or (sign == "-" and h == 0 and m == 0):
            return None
        delta = timedelta(hours=h, minutes=m)
        tz = timezone(-delta if sign == "-" else delta)
        _OFFSETS[key] = tz
    return tz


_JSON_TYPES = {str: "a string", int: "a number", float: "a number",
               bool: "a boolean", list: "an array", dict: "an object"}


def json_type(value: object) -> str:
    """How a parsed JSON value is named in error messages."""
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _type_rule(value: object, expected: str) -> str:
    if value is None:
        return "must not be null"
    return f"must be {expected}, not {json_type(value)}"


type_rule = _type_rule
