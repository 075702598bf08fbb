"""Tests for Docker reference checks and the corrections they propose."""

from __future__ import annotations

import pytest

from nbdocker.template import references

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("value", [
    "ubuntu", "ubuntu:22.04", "library/ubuntu:latest", "my-org/my_app:1.0-rc.1",
    "localhost:5000/team/app", "registry.example.com/a/b/c:TAG", f"ubuntu@{DIGEST}",
    f"ubuntu:22.04@{DIGEST}", "[::1]:5000/app", "a__b/c---d", "Registry.Example.com/app",
])
def test_reference_valid_images(value):
    assert references.image_error(value) is None


@pytest.mark.parametrize("value, fragment", [
    ("ubuntu: 14.04", "cannot contain spaces"),
    ("Ubuntu", "must be lowercase"),
    ("ubuntu:", "the tag after ':' is empty"),
    ("ubuntu:.1", "a tag is 1 to 128"),
    ("ubuntu@sha256:abc", "a digest looks like"),
    ("a//b", "each part of a repository path"),
    ("-a", "each part of a repository path"),
    ("", "the repository name is empty"),
    ("a" * 256, "longer than 255"),
    ("bad_host:5000x/app", "not a valid registry host"),
])
def test_reference_invalid_images(value, fragment):
    assert fragment in references.image_error(value)


@pytest.mark.parametrize("value, kind, expected", [
    ("ubuntu: 14.04", "image", "ubuntu:14.04"),
    ("how2dock / packer", "repository", "how2dock/packer"),
    ("MyUser/App:Latest", "image", "myuser/app:Latest"),
    ("Registry.Example.com/App", "repository", "registry.example.com/app"),
    (" 1.0 ", "tag", "1.0"),
])
def test_reference_suggestions(value, kind, expected):
    assert references.suggest(value, kind) == expected


def test_reference_no_suggestion_if_invalid():
    assert references.suggest("ubuntu: !!", "image") is None


def test_reference_check_skips_template_text():
    assert references.check("{{.ID}} x", "image") is None


def test_reference_repository_rejects_digest():
    assert "digest" in references.repository_error(f"a/b@{DIGEST}")


def test_reference_repository_may_carry_tag():
    assert references.repository_error("a/b:1.0") is None


def test_reference_check_message():
    message = references.check("how2dock / packer", "repository")
    assert message == ("invalid repository 'how2dock / packer': a repository cannot contain "
                       "spaces; did you mean 'how2dock/packer'?")


@pytest.mark.parametrize("value", ["latest", "1.0", "v1_2-3", "A" * 128])
def test_reference_valid_tags(value):
    assert references.tag_error(value) is None


@pytest.mark.parametrize("value", ["", "-x", ".x", "a b", "A" * 129, "a/b", "a:b"])
def test_reference_invalid_tags(value):
    assert references.tag_error(value) is not None
