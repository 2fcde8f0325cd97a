import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.errors import ValidationError
from lrs.xapi.agents import (
    agent_key,
    agent_key_or_none,
    ifi_keys,
    matching_keys,
    mbox_sha1sum,
    normalize_mbox,
)


def test_keys_name_the_ifi_property():
    assert agent_key({"mbox": "mailto:a@example.org"}) == "mbox:mailto:a@example.org"
    assert agent_key({"mbox_sha1sum": "ABCDEF" + "0" * 34}) == "mbox_sha1sum:abcdef" + "0" * 34
    assert agent_key({"openid": "http://openid.example.org/12345"}) == \
        "openid:http://openid.example.org/12345"
    assert agent_key({"account": {"homePage": "http://www.example.com", "name": "1625378"}}) \
        == "account:http://www.example.com|1625378"


def test_identified_group_has_a_key():
    group = {"objectType": "Group", "name": "g", "openid": "http://example.com/g",
             "member": [{"mbox": "mailto:m@example.com"}]}
    assert agent_key(group) == "openid:http://example.com/g"


def test_anonymous_group_has_no_key():
    group = {"objectType": "Group", "member": [{"mbox": "mailto:m@example.com"}]}
    assert agent_key_or_none(group) is None
    assert ifi_keys(group) == []
    with pytest.raises(ValidationError):
        agent_key(group)


def test_email_domain_and_scheme_are_case_insensitive_local_part_is_not():
    # xAPI 1.0.3 Data 2.4.2.3: "The domain portions of email addresses are
    # case insensitive."
    assert agent_key({"mbox": "MAILTO:Bob@Example.COM"}) == "mbox:mailto:Bob@example.com"
    assert agent_key({"mbox": "mailto:bob@example.com"}) != \
        agent_key({"mbox": "mailto:Bob@example.com"})


def test_openid_and_account_are_exact():
    assert agent_key({"openid": "http://A.example"}) != agent_key({"openid": "http://a.example"})
    a = {"account": {"homePage": "http://example.com", "name": "Bob"}}
    b = {"account": {"homePage": "http://example.com", "name": "bob"}}
    assert agent_key(a) != agent_key(b)


def test_account_encoding_is_collision_free():
    a = {"account": {"homePage": "http://x.org/a", "name": "b|c"}}
    b = {"account": {"homePage": "http://x.org/a|b", "name": "c"}}
    assert agent_key(a) != agent_key(b)


def test_ifi_keys_add_the_sha1_of_an_mbox():
    mbox = "mailto:bob@example.com"
    digest = hashlib.sha1(mbox.encode()).hexdigest()
    assert ifi_keys({"mbox": mbox}) == [f"mbox:{mbox}", f"mbox_sha1sum:{digest}"]
    assert mbox_sha1sum(mbox) == digest


def test_ifi_keys_hash_both_spellings_of_a_mixed_case_domain():
    keys = ifi_keys({"mbox": "mailto:bob@Example.com"})
    assert keys[0] == "mbox:mailto:bob@example.com"
    assert "mbox_sha1sum:" + mbox_sha1sum("mailto:bob@example.com") in keys
    assert "mbox_sha1sum:" + mbox_sha1sum("mailto:bob@Example.com") in keys


def test_ifi_keys_of_other_ifis_are_just_the_key():
    assert ifi_keys({"openid": "http://x.org/"}) == ["openid:http://x.org/"]


def test_matching_keys_include_group_members():
    group = {"objectType": "Group", "mbox": "mailto:g@example.com",
             "member": [{"mbox": "mailto:a@example.com"}, {"openid": "http://x.org/b"}]}
    assert list(matching_keys(group)) == [
        "mbox:mailto:g@example.com", "mbox:mailto:a@example.com", "openid:http://x.org/b"]
    anonymous = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}
    assert list(matching_keys(anonymous)) == ["mbox:mailto:a@example.com"]


def test_members_of_an_agent_are_ignored():
    # Only Groups have members; a stray property on an Agent is not one.
    agent = {"mbox": "mailto:a@example.com", "member": [{"mbox": "mailto:b@example.com"}]}
    assert list(matching_keys(agent)) == ["mbox:mailto:a@example.com"]


def test_normalize_mbox_leaves_odd_values_alone():
    assert normalize_mbox("no-colon") == "no-colon"
    assert normalize_mbox("MAILTO:nobody") == "mailto:nobody"



@given(home=st.text(), name=st.text(), home2=st.text(), name2=st.text())
def test_account_keys_equal_only_for_equal_accounts(home, name, home2, name2):
    def key(h, n):
        return agent_key({"account": {"homePage": h, "name": n}})
    same = (home.replace("|", "%7C"), name) == (home2.replace("|", "%7C"), name2)
    assert (key(home, name) == key(home2, name2)) == same
