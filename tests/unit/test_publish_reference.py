"""Docker's image reference grammar, and the fixes proposed for common mistakes."""

from __future__ import annotations

import pytest

from nbdocker.engine.images import InvalidReference, Reference, parse_reference, search_filters
from nbdocker.errors import UserError

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("text, expected", [
    ("busybox", Reference("", "busybox")),
    ("busybox:latest", Reference("", "busybox", "latest")),
    ("library/busybox:1.36", Reference("", "library/busybox", "1.36")),
    ("127.0.0.1:5001/nbdocker/hello:1.0", Reference("127.0.0.1:5001", "nbdocker/hello", "1.0")),
    ("localhost/a", Reference("localhost", "a")),
    ("localhost:5000/a/b/c", Reference("localhost:5000", "a/b/c")),
    ("registry.example.org/team/app", Reference("registry.example.org", "team/app")),
    ("[::1]:5000/app:v2", Reference("[::1]:5000", "app", "v2")),
    (f"busybox@{DIGEST}", Reference("", "busybox", "", DIGEST)),
    (f"busybox:1@{DIGEST}", Reference("", "busybox", "1", DIGEST)),
    ("a_b__c.d-e---f", Reference("", "a_b__c.d-e---f")),
    ("app:V1_x.y-z", Reference("", "app", "V1_x.y-z")),
])
def test_parse_reference_valid(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", [
    "busybox", "127.0.0.1:5001/nbdocker/hello:1.0", f"busybox:1@{DIGEST}", "localhost/a",
])
def test_parse_reference_round_trip(text):
    assert str(parse_reference(text)) == text


@pytest.mark.parametrize("text, fragment", [
    ("my image", "whitespace"),
    ("MyImage", "lowercase"),
    ("nbdocker/Hello:1.0", "lowercase"),
    ("app:", "tag after ':' is empty"),
    ("app:-bad", "tag '-bad' is invalid"),
    ("app:" + "x" * 129, "is invalid"),
    ("-app", "name component '-app' is invalid"),
    ("a..b", "name component 'a..b' is invalid"),
    ("a/", "name component '' is invalid"),
    ("http://host/app", "scheme"),
    ("app@sha256:short", "digest"),
    ("bad_host_/app", "name component"),
    ("a" * 256, "longer than 255"),
])
def test_parse_reference_invalid(text, fragment):
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("text, suggestion", [
    ("127.0.0.1:5001/NBdocker/Hello World:1.0", "127.0.0.1:5001/nbdocker/hello-world:1.0"),
    ("my image", "my-image"),
    ("MyImage:Latest", "myimage:Latest"),
    ("hello:1 0", "hello:1-0"),
    ("http://127.0.0.1:5001/app", "127.0.0.1:5001/app"),
])
def test_parse_reference_suggests_fix(text, suggestion):
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert f"Did you mean {suggestion!r}?" in str(caught.value)


def test_parse_reference_names_the_value():
    with pytest.raises(InvalidReference, match="Invalid target 'A B'"):
        parse_reference("A B", what="target")


def test_parse_reference_empty():
    with pytest.raises(InvalidReference, match="Missing image reference"):
        parse_reference("  ")


def test_parse_reference_digest_rejected_when_not_allowed():
    with pytest.raises(InvalidReference, match="digest"):
        parse_reference(f"busybox@{DIGEST}", allow_digest=False)


def test_invalid_reference_is_user_error():
    assert issubclass(InvalidReference, UserError)


@pytest.mark.parametrize("text, registry", [
    ("busybox", "docker.io"),
    ("127.0.0.1:5001/a", "127.0.0.1:5001"),
    ("docker.io/library/busybox", "docker.io"),
    ("Registry.Example.org/a", "registry.example.org"),
])
def test_reference_registry(text, registry):
    assert parse_reference(text).registry == registry


def test_reference_with_tag_drops_digest():
    assert str(parse_reference(f"a:1@{DIGEST}").with_tag("2")) == "a:2"


# -- search filters --------------------------------------------------------------------------

def test_search_filters_valid():
    assert search_filters(["is-official=true", "stars=3", "is-automated=FALSE"]) == {
        "is-official": "true", "stars": "3", "is-automated": "false"}


def test_search_filters_dict_with_bool():
    assert search_filters({"is-official": True}) == {"is-official": "true"}


def test_search_filters_empty():
    assert search_filters(None) == {}


@pytest.mark.parametrize("item, fragment", [
    ("foo=bar", "Invalid search filter 'foo'"),
    ("stars=many", "Invalid value 'many' for the search filter 'stars'"),
    ("stars=-1", "Invalid value '-1'"),
    ("is-official=yes", "use true or false"),
    ("is-official", "write KEY=VALUE"),
])
def test_search_filters_invalid(item, fragment):
    with pytest.raises(UserError) as caught:
        search_filters([item])
    assert fragment in str(caught.value)
