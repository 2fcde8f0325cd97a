"""Settings: one table, typed, failing with the variable's name."""

from __future__ import annotations

import dataclasses

import pytest

from lrs import config
from lrs.config import SettingsError


def test_defaults_match_the_table():
    loaded = config.load({})
    assert loaded == config.Settings()
    for setting in config.SETTINGS:
        assert hasattr(loaded, setting.name)
    assert {s.name for s in config.SETTINGS} == {f.name for f in dataclasses.fields(config.Settings)}


@pytest.mark.parametrize(("name", "value"), [
    ("LRS_PORT", "eighty"), ("LRS_PORT", "70000"), ("LRS_WORKERS", "0"),
    ("LRS_MIGRATE", "maybe"), ("LRS_DATABASE_URL", "mysql://x"), ("LRS_LOG_LEVEL", "loud"),
    ("LRS_SHUTDOWN_TIMEOUT", "-1"), ("LRS_PAGE_LIMIT", "1.5"), ("LRS_EMBEDDED_WAL_MB", "16"),
])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        config.load({name: value})


def test_values_are_typed():
    loaded = config.load({"LRS_PORT": "9000", "LRS_MIGRATE": "false", "LRS_WORKERS": "3",
                          "LRS_DATABASE_URL": "postgresql://u@h/db"})
    assert (loaded.port, loaded.migrate, loaded.workers) == (9000, False, 3)
    assert loaded.database_url == "postgresql://u@h/db"
    assert loaded.base_url == "http://127.0.0.1:9000"


def test_cors_origins_are_kept_as_browsers_send_them():
    loaded = config.load({"LRS_CORS_ORIGINS": " HTTPS://Learn.Example/ ,http://a.example:8080"})
    assert loaded.cors_origins == ("https://learn.example", "http://a.example:8080")


def test_options_override_and_are_checked():
    assert config.load({"LRS_PORT": "9000"}, port=9100).port == 9100
    with pytest.raises(SettingsError, match="--workers"):
        config.load({}, workers=0)


def test_pool_bounds_are_consistent():
    with pytest.raises(SettingsError, match="LRS_POOL_MIN"):
        config.load({"LRS_POOL_MIN": "20", "LRS_POOL_MAX": "5"})


def test_readme_carries_the_settings_table():
    from pathlib import Path
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert config.markdown_table() in readme


@pytest.mark.parametrize("value", ["inf", "1e400", "-inf", "Infinity"])
@pytest.mark.parametrize("name", [s.env for s in config.SETTINGS if s.type_name == "float"])
def test_a_float_setting_must_be_finite(name, value):
    # Found by a probe of the operations surface: inf (and 1e400, which
    # float() reads as inf) was taken, switching the documented bound off.
    with pytest.raises(SettingsError, match=name):
        config.load({name: value})


@pytest.mark.parametrize("url", ["postgresql://u:secretpw@127.0.0.1:notaport/x",
                                 "postgresql://u:secretpw@[::1", "postgresql://u:secretpw@h:99999/x",
                                 "postgresql://u:secretpw@h1:5432,h2:port/x"])
def test_a_database_url_whose_host_or_port_cannot_be_read_is_refused(url):
    # Found by a probe of the operations surface: these ended `lrs serve`
    # in a traceback from the database driver, after the settings were read.
    with pytest.raises(SettingsError, match="LRS_DATABASE_URL") as refused:
        config.load({"LRS_DATABASE_URL": url})
    assert "secretpw" not in str(refused.value)


def test_a_database_url_of_several_hosts_is_taken():
    # asyncpg and libpq try each in turn (a primary and its standbys).
    url = "postgresql://u:pw@h1:5432,[::1]:5433,h3/x?target_session_attrs=read-write"
    assert config.load({"LRS_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize("secret", ["x", "hunter2", "a" * 31, "é" * 15])
def test_a_short_jwt_secret_is_refused_without_being_repeated(secret):
    # Found by a probe of the operations surface: LRS_JWT_SECRET=x was taken,
    # and a token the LRS issued gave the key away to guessing in
    # milliseconds, after which anyone could mint an admin token.
    with pytest.raises(SettingsError, match="LRS_JWT_SECRET") as refused:
        config.load({"LRS_JWT_SECRET": secret})
    assert secret not in str(refused.value).replace("LRS_JWT_SECRET", "")
    assert config.load({"LRS_JWT_SECRET": "k" * 32}).jwt_secret == "k" * 32


def test_token_ttl_is_at_most_366_days():
    # LRS_TOKEN_TTL=99999999999 minted tokens of no credential for 3,168 years.
    with pytest.raises(SettingsError, match="LRS_TOKEN_TTL"):
        config.load({"LRS_TOKEN_TTL": str(config.MAX_TOKEN_TTL + 1)})
    assert config.load({"LRS_TOKEN_TTL": str(config.MAX_TOKEN_TTL)}).token_ttl == \
        config.MAX_TOKEN_TTL


@pytest.mark.parametrize("url", ["notaurl", "example.org", "ftp://example.org", "https://",
                                 "https://lrs.example.gov:port", "https://lrs example.gov"])
def test_a_public_url_must_be_an_absolute_http_url(url):
    # It is every authority's homePage, an IRL the LRS would itself refuse.
    with pytest.raises(SettingsError, match="LRS_PUBLIC_URL"):
        config.load({"LRS_PUBLIC_URL": url})
    assert config.load({"LRS_PUBLIC_URL": "https://lrs.example.gov/"}).base_url == \
        "https://lrs.example.gov"


def test_max_header_bytes_has_a_floor():
    # LRS_MAX_HEADER_BYTES=10 was taken, and every request, /health too, got 400.
    with pytest.raises(SettingsError, match="LRS_MAX_HEADER_BYTES"):
        config.load({"LRS_MAX_HEADER_BYTES": "10"})
