"""Tests for fix_template (packer fix) and inspect_template (packer inspect)."""

from __future__ import annotations

import json

import pytest

from nbdocker.errors import TemplateError
from nbdocker.template import fix_template, inspect_template, load_template

OLD_STYLE = """{
  "variables": {"repo": "me/app"},
  "builders": [{"type": "docker", "image": "a", "commit": true, "login_email": "me@x.org"},
               {"type": "docker", "name": "old", "image": "a", "export_path": "a.tar"}],
  "post-processors": [
    [{"type": "docker-tag", "repository": "{{user `repo`}}", "tag": "latest", "force": true,
      "only": ["docker"]},
     {"type": "docker-push", "login_email": "me@x.org", "only": ["docker"]}],
    {"type": "docker-import", "repository": "x/y", "login_email": "me@x.org", "only": ["old"]}
  ]
}"""


def fixed(text: str) -> dict:
    return json.loads(fix_template("t.json", text=text))


def test_fix_removes_login_email_from_builder():
    assert "login_email" not in fixed(OLD_STYLE)["builders"][0]


def test_fix_removes_login_email_from_post_processors():
    document = fixed(OLD_STYLE)
    assert "login_email" not in document["post-processors"][0][1]
    assert "login_email" not in document["post-processors"][1]


def test_fix_renames_tag_in_place():
    tag = fixed(OLD_STYLE)["post-processors"][0][0]
    assert list(tag) == ["type", "repository", "tags", "force", "only"]
    assert tag["tags"] == ["latest"]


def test_fix_merges_tag_and_tags_once():
    text = '{"post-processors": [{"type": "docker-tag", "tags": ["1", "2"], "tag": "2,latest"}]}'
    assert fixed(text)["post-processors"][0]["tags"] == ["2", "latest", "1"]


def test_fix_keeps_key_order_and_indents_two_spaces():
    output = fix_template("t.json", text='{"z": "1", "builders": [{"type": "docker"}], "a": "2"}')
    assert output == ('{\n  "z": "1",\n  "builders": [\n    {\n      "type": "docker"\n    }\n  ],\n'
                      '  "a": "2"\n}\n')


def test_fix_leaves_template_text_alone():
    output = fix_template("t.json", text=OLD_STYLE)
    assert "{{user `repo`}}" in output


def test_fix_result_loads_without_warnings():
    loaded = load_template("t.json", text=fix_template("t.json", text=OLD_STYLE))
    assert loaded.warnings == []


def test_fix_string_post_processors_untouched():
    assert fixed('{"post-processors": ["manifest", ["docker-push"]]}') == {
        "post-processors": ["manifest", ["docker-push"]]}


def test_fix_invalid_json_raises():
    with pytest.raises(TemplateError):
        fix_template("t.json", text='{"builders": [}')


def test_fix_duplicate_keys_raise():
    with pytest.raises(TemplateError):
        fix_template("t.json", text='{"a": "1", "a": "2"}')


def test_fix_non_ascii_kept():
    assert "café" in fix_template("t.json", text='{"description": "café"}')


INSPECTED = """{
  "description": "Web server image",
  "variables": {"password": null, "region": "eu", "token": "abc", "version": "1.0"},
  "sensitive-variables": ["token"],
  "builders": [
    {"type": "docker", "name": "web", "image": "a", "commit": true},
    {"type": "docker", "image": "b", "commit": true}
  ],
  "provisioners": [{"type": "shell", "inline": ["a"]}, {"type": "file", "source": "a", "destination": "/a"}],
  "post-processors": [
    [{"type": "docker-tag", "repository": "a/b"}, {"type": "docker-push", "name": "publish"}],
    "manifest"
  ]
}"""

EXPECTED = """Description:

Web server image

Required variables:

  password

Optional variables and their defaults:

  region   = eu
  token    = <sensitive>
  version  = 1.0

Builders:

  docker
  web    (docker)

Provisioners:

  shell
  file

Post-processors:

  0:
    docker-tag
    docker-push (publish)
  1:
    manifest

Note: If your build names contain user variables or template
functions such as 'timestamp', these are processed at build time,
and therefore only show in their raw form here.
"""


def test_inspect_full_output():
    assert inspect_template("t.json", text=INSPECTED) == EXPECTED


def test_inspect_shows_given_values(tmp_path):
    var_file = tmp_path / "v.json"
    var_file.write_text('{"region": "us"}')
    output = inspect_template("t.json", text=INSPECTED, variables={"version": "2.0"},
                              var_files=[str(var_file)])
    assert "  region   = us" in output
    assert "  version  = 2.0" in output


def test_inspect_masks_sensitive_given_value():
    output = inspect_template("t.json", text=INSPECTED, variables={"token": "zzz"})
    assert "zzz" not in output


def test_inspect_without_variables_or_components():
    output = inspect_template("t.json", text='{"builders": [{"type": "docker"}]}')
    assert "Variables:\n\n  <No variables>" in output
    assert "Provisioners:\n\n  <No provisioners>" in output
    assert "Post-processors:\n\n  <No post-processors>" in output


def test_inspect_does_not_validate_options():
    output = inspect_template("t.json", text='{"builders": [{"type": "docker", "imagee": "x"}]}')
    assert "Builders:\n\n  docker\n" in output


def test_inspect_structural_error_raises():
    with pytest.raises(TemplateError):
        inspect_template("t.json", text='{"builders": [{"type": "docker"}], "extra": 1}')


def test_inspect_error_cleanup_provisioner():
    text = '{"builders": [{"type": "docker"}], "error-cleanup-provisioner": {"type": "shell-local"}}'
    assert "Error cleanup provisioner:\n\n  shell-local" in inspect_template("t.json", text=text)
