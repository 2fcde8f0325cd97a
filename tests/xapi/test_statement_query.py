"""lrs.xapi.statement_query: GET /statements parameters, without a database."""

from __future__ import annotations

import pytest

from lrs.errors import BadRequest
from lrs.xapi import indexing
from lrs.xapi.indexing import index_key
from lrs.xapi.statement_query import Listing, Single, parse


def test_plain_keys_are_kept():
    assert index_key("mbox:mailto:a@example.com") == "mbox:mailto:a@example.com"
    assert index_key("x" * indexing.MAX_PLAIN_KEY) == "x" * indexing.MAX_PLAIN_KEY


@pytest.mark.parametrize("key", ["account:http://e.org|a\x00b",
                                 "x" * (indexing.MAX_PLAIN_KEY + 1),
                                 "é" * (indexing.MAX_PLAIN_KEY // 2 + 1)])
def test_keys_postgres_cannot_index_are_hashed(key):
    hashed = index_key(key)
    assert hashed.startswith("#sha256:") and len(hashed) == 8 + 64
    assert hashed == index_key(key)
    assert hashed != index_key(key + "y")


def test_filters_use_index_keys():
    long_iri = "http://example.com/" + "a" * 2000
    query = parse({"activity": long_iri, "verb": long_iri}, "2.0.0", page_limit=100)
    assert isinstance(query, Listing)
    assert query.filters["activity"] == index_key(long_iri) == query.filters["verb"]


@pytest.mark.parametrize("limit", ["²", "١", "+1", "-1", "1.0", ""])
def test_a_limit_that_is_not_ascii_digits_is_400(limit):
    with pytest.raises(BadRequest):
        parse({"limit": limit}, "2.0.0", page_limit=100)


@pytest.mark.parametrize(("limit", "expected"),
                         [("0", 100), ("7", 7), ("100", 100), ("10000", 100)])
def test_limit_zero_or_too_large_is_the_page_limit(limit, expected):
    query = parse({"limit": limit}, "1.0.3", page_limit=100)
    assert isinstance(query, Listing) and query.limit == expected


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_outside_the_utc_range_is_400(since):
    with pytest.raises(BadRequest):
        parse({"since": since}, "2.0.0", page_limit=100)


def test_a_single_statement_query():
    query = parse({"voidedStatementId": "ABCDEF00-0000-4000-8000-000000000000", "format": "ids"},
                  "2.0.0", page_limit=100)
    assert query == Single("abcdef00-0000-4000-8000-000000000000", True, "ids", False)
