"""The load benchmark's options (python -m conformance.bench) and its
agencies' identity providers (conformance/bench/idp.py). No load is run."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest

from conformance.bench import idp, workload
from conformance.bench.__main__ import _on_database, _scratch_database, main
from conformance.lib import CLIENT_STYLES


@pytest.mark.parametrize("argv, message", [
    (["--idp", "--bearer"], "--idp and --bearer are two kinds of token: give one"),
    (["--idp", "--url", "http://127.0.0.1:9/xapi", "--token", "T"],
     "--idp and --bearer start ours; for another LRS give --token"),
    (["--bearer", "--url", "http://127.0.0.1:9/xapi", "--auth", "K:S"],
     "--idp and --bearer start ours; for another LRS give --token"),
    (["--open-files", "1024", "--url", "http://127.0.0.1:9/xapi", "--auth", "K:S"],
     "--open-files starts ours with that limit"),
])
def test_token_options_that_do_not_go_together_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_each_agency_token_verifies_with_its_own_published_key_set_only():
    with idp.providers(["agency-a", "agency-b"]) as (a, b):
        assert a.jwks_url.startswith("http://127.0.0.1:")
        assert a.jwks_url == f"{a.issuer}/jwks.json"
        token = a.token()
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "agency-a-1",
                                                    "typ": "JWT"}
        key = jwt.PyJWKClient(a.jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="lrs",
                            issuer=a.issuer)
        assert claims["tenant"] == "agency-a" and claims["scope"] == "all"
        assert claims["sub"] == "platform-agency-a"
        assert claims["exp"] - claims["iat"] == 86_400
        with pytest.raises(jwt.PyJWKClientError):  # b publishes no key agency-a-1
            jwt.PyJWKClient(b.jwks_url).get_signing_key_from_jwt(token)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{a.issuer}/other.json", timeout=5)
        assert missing.value.code == 404
        missing.value.close()
    with pytest.raises(urllib.error.URLError):  # served only while the run lasts
        urllib.request.urlopen(a.jwks_url, timeout=5)


def test_another_lrs_gets_its_raw_baseline_in_a_scratch_database_with_our_empty_tables(capsys):
    with _scratch_database(argparse.Namespace(database_url=None, no_raw=False)) as url:
        said = capsys.readouterr().out
        folder = Path(re.search(r"scratch embedded PostgreSQL in (\S+),", said).group(1))
        assert folder.is_dir()
        held = asyncio.run(_on_database(url, "SELECT count(*) FROM statements"))
    assert held == 0
    assert not folder.exists()


@pytest.mark.parametrize("database_url, no_raw", [("postgresql://127.0.0.1:9/lrs", False),
                                                   (None, True)])
def test_no_scratch_database_with_database_url_or_no_raw(database_url, no_raw, capsys):
    with _scratch_database(argparse.Namespace(database_url=database_url, no_raw=no_raw)) as url:
        assert url is None
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("style", CLIENT_STYLES)
def test_write_requests_bodies_are_written_as_each_kind_of_client_writes(style, tmp_path):
    loads = workload.make_agencies([("key", "secret")], 200, seed=3)
    path = tmp_path / "post.tsv"
    assert workload.write_requests(path, loads, 100, "/xapi/", seed=3, style=style) == 2
    bodies = [line.split("\t")[3] for line in path.read_text().splitlines()]
    # The same statements whatever the style, in the order sent.
    sent = [stmt for body in bodies for stmt in json.loads(body)]
    assert sorted(map(json.dumps, sent)) == sorted(map(json.dumps, loads[0].statements[:200]))
    body = bodies[0]
    assert ('{"actor": {' in body) == (style == "python")  # json.dumps's ", " and ": "
    assert ("\\/" in body) == (style == "php")  # json_encode's escaped slashes
    assert ("://" in body) == (style != "php")


def test_an_unknown_body_style_is_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--body-style", "xml"])
    assert stopped.value.code == 2
    assert "--body-style" in capsys.readouterr().err


def test_read_queries_draw_their_values_from_the_acknowledged_statements_only(tmp_path):
    (load,) = workload.make_agencies([("key", "secret")], 400, seed=3)
    acknowledged = workload.queryable(load.statements)[:5]
    registrations = {s["context"]["registration"] for s in acknowledged}
    queries = workload.query_requests(tmp_path / "get.tsv", load, "registration", "/xapi/",
                                      seed=3, count=50, drawn_from=acknowledged)
    drawn = {q.split("registration=")[1].split("&")[0] for q in queries}
    assert drawn <= registrations and len(queries) == 50
    lines = (tmp_path / "get.tsv").read_text().splitlines()
    assert [line.split("\t")[1] for line in lines] == queries
