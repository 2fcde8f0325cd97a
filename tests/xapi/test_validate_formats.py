"""lrs.xapi.formats_check: the formatted-string checks, per version."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.errors import ValidationError
from lrs.xapi.formats_check import (is_duration, is_iri, is_language_tag,
                                    is_mailto_iri, is_sha1_hex,
                                    is_statement_version, is_uuid,
                                    parse_timestamp)
from lrs.xapi.versions import V1, V2


@pytest.mark.parametrize("value", [
    "12345678-1234-5678-1234-567812345678", "AA97B177-9383-4934-8543-0F91A7A02836",
    "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"])
def test_uuid_valid(value):
    assert is_uuid(value)


@pytest.mark.parametrize("value", [
    "", "AA97B177-9383-4934-8543-0F91A7A028368", "MA97B177-9383-4934-8543-0F91A7A02836",
    "12345678123456781234567812345678", "{12345678-1234-5678-1234-567812345678}",
    "12345678-1234-5678-1234-567812345678\n", 12345, None])
def test_uuid_invalid(value):
    assert not is_uuid(value)


@pytest.mark.parametrize("value", [
    "http://example.com", "https://example.com/a/b?c=d#e", "urn:uuid:12345",
    "mailto:a@b.c", "http://example.com/فعل/خواندن", "tag:x.org,2024:a%20b",
    "http://adlnet.gov/expapi/verbs/completed"])
def test_iri_valid(value):
    assert is_iri(value)


@pytest.mark.parametrize("value", [
    "", "should error", "abc", "ab=c://should.fail.com", "/relative/path",
    "http://exa mple.com", "http://example.com/<x>", "1http://x", ":x", "http:",
    "http://example.com/%zz", None, 5])
def test_iri_invalid(value):
    assert not is_iri(value)


def test_mbox_and_sha1():
    assert is_mailto_iri("mailto:xapi@adlnet.gov")
    for bad in ("mailto:should.fail.com", "http://should.fail.com", "xapi@adlnet.gov",
                "mailto:@x.com", "mailto:a@", "MAILTO:a@b.c", ""):
        assert not is_mailto_iri(bad), bad
    assert is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee9")
    assert not is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee")
    assert not is_sha1_hex("zbd31e95054c018b10727ccffd2ef2ec3a016ee9")


@pytest.mark.parametrize("tag", [
    "en", "en-US", "de", "de-DE", "zh-Hant", "sr-Latn-RS", "cmn", "ase", "es-MX",
    "es-419", "zh-Hans-CN", "ja", "fr-CA", "tlh", "x-private", "en-x-priv",
    "de-CH-1901", "i-klingon", "en-GB-oed", "zh-min-nan", "en-a-bbb-x-a-ccc",
    "sl-rozaj-biske"])
def test_language_tag_valid(tag):
    assert is_language_tag(tag)


@pytest.mark.parametrize("tag", [
    "", "something", "a12345", "zh-z-aaa-z-bbb-c-ccc", "en-", "-en", "e",
    "en--US", "de-DE-1901-1901", "en-a", "123", "en US", "abcdefghi"])
def test_language_tag_invalid(tag):
    assert not is_language_tag(tag)


@pytest.mark.parametrize("value", [
    "PT4H35M59.14S", "PT16559.14S", "P3Y1M29DT4H35M59.14S", "P3Y", "P4W",
    "PT1H0M0.1S", "PT1234S", "P1D", "PT0S", "P1Y2M", "PT1.5H", "P0D"])
def test_duration_valid(value):
    assert is_duration(value)


@pytest.mark.parametrize("value", [
    "", "P", "PT", "P4W1D", "PA1H0M0S", "should fail", "P1YT", "1H", "PT1H2",
    "P0003-04-01T00:00:00", "PT1.5H2M", "-PT1S", "P1M2Y", "PT1S ", 12345,
    # Digits of other scripts (fullwidth, Arabic-Indic): ISO 8601's are ASCII.
    "PT\uff11H", "P\u0661D"])
def test_duration_invalid(value):
    assert not is_duration(value)


@pytest.mark.parametrize("value,version", [
    ("1.0", V1), ("1.0.0", V1), ("1.0.9", V1), ("1.0.3", V1),
    ("2.0.0", V2), ("2.0", V2), ("1.0.0", V2)])
def test_statement_version_valid(value, version):
    assert is_statement_version(value, version)


@pytest.mark.parametrize("value,version", [
    ("should fail", V1), ("0.9.9", V1), ("1.1.0", V1), ("2.0.0", V1), ("1.0.", V1),
    ("1.0.3-rc", V1), ("2.1.0", V2), ("0.95", V2), ("", V2), (1.0, V1)])
def test_statement_version_invalid(value, version):
    assert not is_statement_version(value, version)


UTC = timezone.utc


@pytest.mark.parametrize("value,expected", [
    ("2015-11-18T12:17:00+00:00", datetime(2015, 11, 18, 12, 17, tzinfo=UTC)),
    ("2013-05-18T05:32:34.804+00:00", datetime(2013, 5, 18, 5, 32, 34, 804000, tzinfo=UTC)),
    ("2013-04-01T12:00:00Z", datetime(2013, 4, 1, 12, tzinfo=UTC)),
    ("2008-09-15 15:53:00.601+00:00", datetime(2008, 9, 15, 15, 53, 0, 601000, tzinfo=UTC)),
    ("2020-01-01t00:00:00.123456789z", datetime(2020, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ("2020-06-01T10:00:00-05:30",
     datetime(2020, 6, 1, 10, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
])
@pytest.mark.parametrize("version", [V1, V2])
def test_timestamp_valid_both(value, expected, version):
    assert parse_timestamp(value, "t", version) == expected


@pytest.mark.parametrize("value", [
    "2015-11-18T12:17:00", "20151118T121700Z", "2015-11-18T12:17Z",
    "2015-11-18T12:17:00,5+0100", "2015-11-18T12:17:00+01"])
def test_timestamp_iso8601_only_in_1_0_3(value):
    assert parse_timestamp(value, "t", V1).year == 2015
    with pytest.raises(ValidationError):
        parse_timestamp(value, "t", V2)


@pytest.mark.parametrize("value", [
    "01/011/2015", "should fail", "2008-09-15T15:53:00.601-00",
    "2008-09-15T15:53:00.601-0000", "2008-09-15T15:53:00.601-00:00",
    "2015-02-30T00:00:00Z", "2015-13-01T00:00:00Z", "2015-01-01T24:00:00Z",
    "2015-01-01T23:59:60Z", "2015-01-01", "2015-01-01T10:00:00+24:00", "", 1234,
    "2015-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2015-00-10T00:00:00Z",
    # Digits of other scripts: int() reads them, RFC 3339 and ISO 8601 do not.
    "\uff12\uff10\uff11\uff15-01-01T00:00:00Z", "2015-01-01T00:00:0\u0661Z",
    "2015-01-01T00:00:00.\u0661Z", "2015-01-01T00:00:00+0\u0661:00"])
@pytest.mark.parametrize("version", [V1, V2])
def test_timestamp_invalid(value, version):
    with pytest.raises(ValidationError) as info:
        parse_timestamp(value, "statement.timestamp", version)
    assert info.value.path == "statement.timestamp"


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
       st.text(alphabet="0123456789", max_size=12), st.sampled_from([V1, V2]))
def test_utc_timestamps_read_exactly(moment, fraction, version):
    # The common form ("...T...Z", read by datetime.fromisoformat) and the
    # general path (more than nine fraction digits) agree on every instant:
    # digits past microseconds are cut, never rounded.
    value = moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    value += ("." + fraction if fraction else "") + "Z"
    micro = int((fraction + "000000")[:6])
    assert parse_timestamp(value, "t", version) == moment.replace(microsecond=micro,
                                                                   tzinfo=UTC)


def test_timestamp_without_zone_is_utc_in_1_0_3():
    assert parse_timestamp("2015-11-18T12:17:00", "t", V1).tzinfo is UTC
