"""Tests for the public API of nbdocker.template: reading sources, check_syntax, mask."""

from __future__ import annotations

import io

import pytest

from nbdocker.errors import Position, TemplateError
from nbdocker.template import check_syntax, load_template, mask

from .template_cases import template

#: The docker example of the Packer tutorials, as students often type it: a space after
#: the colon of the image tag and around the slash of the repository.
TUTORIAL = """{
  "builders": [
    {
      "type": "docker",
      "image": "ubuntu: 14.04",
      "commit": true
    }
  ],
  "provisioners": [
    {
      "type": "shell",
      "inline": ["apt-get -y update", "apt-get install -y apache2"]
    }
  ],
  "post-processors": [
    [
      {
        "type": "docker-tag",
        "repository": "how2dock / packer",
        "tags": ["0.1"]
      },
      "docker-push"
    ]
  ]
}
"""


def test_tutorial_template_one_message_per_mistake():
    with pytest.raises(TemplateError) as info:
        load_template("tutorial.json", text=TUTORIAL)
    problems = info.value.problems
    assert [p.path for p in problems] == ["builders[0].image", "post-processors[0][0].repository"]


def test_tutorial_template_image_message():
    with pytest.raises(TemplateError) as info:
        load_template("tutorial.json", text=TUTORIAL)
    image = info.value.problems[0]
    assert image.position == Position("tutorial.json", 5, 16)
    assert "'ubuntu: 14.04'" in image.message
    assert "did you mean 'ubuntu:14.04'?" in image.message


def test_tutorial_template_repository_message():
    with pytest.raises(TemplateError) as info:
        load_template("tutorial.json", text=TUTORIAL)
    repository = info.value.problems[1]
    assert repository.position == Position("tutorial.json", 19, 23)
    assert "'how2dock / packer'" in repository.message
    assert "did you mean 'how2dock/packer'?" in repository.message


def test_tutorial_template_summary_lists_both():
    with pytest.raises(TemplateError) as info:
        load_template("tutorial.json", text=TUTORIAL)
    summary = str(info.value)
    assert summary.startswith("2 errors in the template:")
    assert "tutorial.json:5:16: builders[0].image:" in summary
    assert "tutorial.json:19:23: post-processors[0][0].repository:" in summary


def test_tutorial_template_corrected_loads():
    fixed = TUTORIAL.replace("ubuntu: 14.04", "ubuntu:14.04").replace(
        "how2dock / packer", "how2dock/packer")
    build = load_template("tutorial.json", text=fixed).builds[0]
    assert build.builder.config["image"] == "ubuntu:14.04"
    assert [p.type for p in build.post_processors[0]] == ["docker-tag", "docker-push"]


def test_load_from_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(template())
    loaded = load_template(path)
    assert loaded.path == str(path)
    assert loaded.directory == str(tmp_path)


def test_load_from_file_positions_name_the_path(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(template('"image": "a"'))
    with pytest.raises(TemplateError) as info:
        load_template(str(path))
    assert info.value.problems[0].position.file == str(path)


def test_load_from_file_template_dir(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(template(BASE_WITH_TEMPLATE_DIR))
    loaded = load_template(str(path))
    assert loaded.builds[0].builder.config["message"] == f"{tmp_path}/x"


def test_load_relative_paths_use_template_folder(tmp_path, monkeypatch):
    (tmp_path / "setup.sh").write_text("true\n")
    path = tmp_path / "t.json"
    path.write_text(template(provisioners='{"type": "shell", "script": "setup.sh"}'))
    monkeypatch.chdir("/")
    loaded = load_template(str(path))
    assert loaded.builds[0].provisioners[0].config["scripts"] == [str(tmp_path / "setup.sh")]


def test_load_missing_file(tmp_path):
    with pytest.raises(TemplateError) as info:
        load_template(tmp_path / "nope.json")
    assert "not found" in str(info.value)


def test_load_directory(tmp_path):
    with pytest.raises(TemplateError) as info:
        load_template(tmp_path)
    assert "is a directory" in str(info.value)


def test_load_hcl_rejected(tmp_path):
    path = tmp_path / "t.pkr.hcl"
    path.write_text("source {}")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert "HCL2" in str(info.value)


def test_load_not_utf8(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{"description": "\xff"}')
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert "not UTF-8" in str(info.value)


def test_load_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(template()))
    loaded = load_template("-")
    assert loaded.builds[0].name == "docker"


def test_load_stdin_has_no_template_dir(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(template(BASE_WITH_TEMPLATE_DIR)))
    with pytest.raises(TemplateError) as info:
        load_template("-")
    assert info.value.problems[0].path == "builders[0].message"


def test_load_warnings_do_not_raise():
    loaded = load_template("t.json", text=template(BASE + ', "login_email": "a@b.c"'))
    assert loaded.warnings[0].severity == "warning"


def test_load_error_carries_warnings_too():
    with pytest.raises(TemplateError) as info:
        load_template("t.json", text=template('"image": "a", "login_email": "x"'))
    severities = sorted(p.severity for p in info.value.problems)
    assert severities == ["error", "warning"]


def test_check_syntax_passes_without_option_checks():
    check_syntax("t.json", text=template('"image": "Not A Valid Image"'))


def test_check_syntax_reports_structure():
    with pytest.raises(TemplateError) as info:
        check_syntax("t.json", text='{"builders": [{"image": "a"}], "buildres": []}')
    assert len(info.value.problems) == 2


def test_check_syntax_reports_duplicate_builder_names():
    text = '{"builders": [{"type": "docker"}, {"type": "docker"}]}'
    with pytest.raises(TemplateError) as info:
        check_syntax("t.json", text=text)
    assert "already used" in str(info.value)


def test_check_syntax_json_error():
    with pytest.raises(TemplateError) as info:
        check_syntax("t.json", text='{"builders": [}')
    assert info.value.problems[0].position.line == 1


def test_mask_replaces_secret():
    assert mask("login with hunter2 now", ["hunter2"]) == "login with <sensitive> now"


def test_mask_multiline_secret_line_by_line():
    secret = "-----BEGIN KEY-----\nabc123\n-----END KEY-----"
    assert mask("got abc123 back", [secret]) == "got <sensitive> back"
    assert "-----BEGIN KEY-----" not in mask(secret, [secret])


def test_mask_longer_secret_first():
    assert mask("pass-word", ["pass", "pass-word"]) == "<sensitive>"


def test_mask_ignores_empty_secrets():
    assert mask("text", ["", "\n"]) == "text"


BASE = '"image": "ubuntu:22.04", "commit": true'
BASE_WITH_TEMPLATE_DIR = BASE + ', "message": "{{template_dir}}/x"'
