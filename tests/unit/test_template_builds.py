"""Tests for build assembly: selection, only/except/override, chains, configs, Build.render."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from nbdocker.errors import TemplateError
from nbdocker.template import load_template
from nbdocker.template.decode import parse_duration

from .template_cases import BASE, template

TWO_BUILDERS = """{
  "builders": [
    {"type": "docker", "name": "web", "image": "nginx", "commit": true},
    {"type": "docker", "name": "db", "image": "postgres", "commit": true}
  ],
  "provisioners": [
    {"type": "shell", "inline": ["echo all"]},
    {"type": "shell", "inline": ["echo web"], "only": ["web"]},
    {"type": "shell", "inline": ["echo not web"], "except": ["web"]},
    {"type": "shell", "inline": ["echo base"], "timeout": "5m",
     "override": {"db": {"inline": ["echo override"], "pause_before": "9s"}}}
  ],
  "post-processors": [
    [{"type": "docker-tag", "repository": "me/app", "name": "tag"},
     {"type": "docker-push", "name": "push"}],
    {"type": "manifest", "only": ["db"]}
  ]
}"""


def load(text: str, **kwargs):
    return load_template("t.json", text=text, **kwargs)


def inline(build, index):
    return build.provisioners[index].config["inline"]


def test_builds_in_template_order():
    assert [b.name for b in load(TWO_BUILDERS).builds] == ["web", "db"]


def test_builds_only_selects():
    assert [b.name for b in load(TWO_BUILDERS, only=["db"]).builds] == ["db"]


def test_builds_except_skips():
    assert [b.name for b in load(TWO_BUILDERS, except_=["db"]).builds] == ["web"]


def test_builds_none_selected_lists_names():
    with pytest.raises(TemplateError) as info:
        load(TWO_BUILDERS, only=["cache"])
    assert "no builds to run" in str(info.value)
    assert "'web' and 'db'" in str(info.value)


def test_builds_provisioner_only_and_except():
    web, db = load(TWO_BUILDERS).builds
    assert [inline(web, i) for i in range(3)] == [["echo all"], ["echo web"], ["echo base"]]
    assert [inline(db, i) for i in range(3)] == [["echo all"], ["echo not web"], ["echo override"]]


def test_builds_override_applies_to_named_build_only():
    web, db = load(TWO_BUILDERS).builds
    assert web.provisioners[-1].config["inline"] == ["echo base"]
    assert db.provisioners[-1].config["inline"] == ["echo override"]


def test_builds_override_keeps_common_options():
    db = load(TWO_BUILDERS).builds[1]
    assert db.provisioners[-1].timeout == 300.0


def test_builds_override_unknown_option_path():
    text = template(provisioners='{"type": "shell", "inline": ["a"], '
                                 '"override": {"docker": {"inlinee": ["b"]}}}')
    with pytest.raises(TemplateError) as info:
        load(text)
    assert info.value.problems[0].path == "provisioners[0].override.docker.inlinee"


def test_builds_post_processor_only_skips_element():
    web, db = load(TWO_BUILDERS).builds
    assert [[p.type for p in seq] for seq in web.post_processors] == [["docker-tag", "docker-push"]]
    assert [[p.type for p in seq] for seq in db.post_processors] == [
        ["docker-tag", "docker-push"], ["manifest"]]


def test_builds_except_truncates_sequence():
    web = load(TWO_BUILDERS, except_=["tag"]).builds[0]
    assert web.post_processors == []


def test_builds_except_keeps_earlier_steps():
    web = load(TWO_BUILDERS, except_=["push"]).builds[0]
    assert [[p.type for p in seq] for seq in web.post_processors] == [["docker-tag"]]


def test_builds_post_processor_name_defaults_to_type():
    build = load(template(post_processors='"manifest"')).builds[0]
    assert build.post_processors[0][0].name == "manifest"


def test_builds_chain_skipped_tag_push_error():
    text = template(post_processors='[{"type": "docker-tag", "repository": "a/b", '
                                    '"except": ["docker"]}, "docker-push"]')
    with pytest.raises(TemplateError) as info:
        load(text)
    assert "add a docker-tag post-processor before docker-push" in str(info.value)


def test_builds_chain_import_then_push_is_fine():
    text = template('"image": "a", "export_path": "out.tar"',
                    post_processors='[{"type": "docker-import", "repository": "a/b"}, "docker-push"]')
    assert len(load(text).builds[0].post_processors[0]) == 2


def test_builds_chain_artifice_then_import():
    text = template('"image": "a", "discard": true',
                    post_processors='[{"type": "artifice", "files": ["rootfs.tar"]}, '
                                    '{"type": "docker-import", "repository": "a/b"}]')
    assert load(text).builds[0].post_processors[0][1].type == "docker-import"


def test_builds_cleanup_provisioner_every_build():
    text = TWO_BUILDERS.replace('"post-processors"', '"error-cleanup-provisioner": '
                                '{"type": "shell-local", "inline": ["echo cleanup"]},\n  "post-processors"')
    builds = load(text).builds
    assert all(b.error_cleanup_provisioner.type == "shell-local" for b in builds)


def test_builds_component_common_fields():
    text = template(provisioners='{"type": "shell", "inline": ["a"], "pause_before": "10s", '
                                 '"timeout": "2m", "max_retries": 3}',
                    post_processors='{"type": "manifest", "keep_input_artifact": true}')
    build = load(text).builds[0]
    provisioner = build.provisioners[0]
    assert (provisioner.pause_before, provisioner.timeout, provisioner.max_retries) == (10.0, 120.0, 3)
    assert build.post_processors[0][0].keep_input_artifact is True
    assert provisioner.path == "provisioners[0]"
    assert provisioner.position.line == 3


def test_builds_max_retries_from_variable():
    text = template(provisioners='{"type": "shell", "inline": ["a"], "max_retries": "{{user `n`}}"}',
                    variables='"n": "2"')
    assert load(text).builds[0].provisioners[0].max_retries == 2


def test_builds_keep_input_artifact_default_none():
    build = load(template(post_processors='"manifest"')).builds[0]
    assert build.post_processors[0][0].keep_input_artifact is None


def test_builds_docker_defaults():
    config = load(template()).builds[0].builder.config
    assert config["pull"] is True
    assert config["fix_upload_owner"] is True
    assert config["container_dir"] == "/packer-files"
    assert config["run_command"] == ["-d", "-i", "-t", "--entrypoint=/bin/sh", "--", "{{.Image}}"]


def test_builds_weak_typing():
    text = template('"image": "a", "commit": "1", "privileged": 1, "pause_before_connecting": "1m30s", '
                    '"changes": "USER a, WORKDIR /b"',
                    provisioners='{"type": "shell", "inline": ["a"], "valid_exit_codes": "0,3010"}')
    build = load(text).builds[0]
    config = build.builder.config
    assert config["commit"] is True
    assert config["privileged"] is True
    assert config["pause_before_connecting"] == 90.0
    assert config["changes"] == ["USER a", "WORKDIR /b"]
    assert build.provisioners[0].config["valid_exit_codes"] == [0, 3010]


def test_builds_number_lifted_to_string():
    text = template(post_processors='{"type": "docker-tag", "repository": "a/b", "tags": [14.04, 2]}')
    assert load(text).builds[0].post_processors[0][0].config["tags"] == ["14.04", "2"]


def test_builds_deprecated_tag_merged_into_tags():
    text = template(post_processors='{"type": "docker-tag", "repository": "a/b", "tags": ["1"], '
                                    '"tag": "latest,1"}')
    config = load(text).builds[0].post_processors[0][0].config
    assert config["tags"] == ["1", "latest"]
    assert "tag" not in config


def test_builds_explicit_options():
    builder = load(template()).builds[0].builder
    assert builder.explicit_options == frozenset({"image", "commit"})


def test_builds_script_paths_absolute(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "a.sh").write_text("true\n")
    (tmp_path / "b.sh").write_text("true\n")
    text = template(provisioners='{"type": "shell", "script": "scripts/a.sh"}, '
                                 '{"type": "shell", "scripts": ["b.sh"]}')
    build = load(text, directory=str(tmp_path)).builds[0]
    assert build.provisioners[0].config["scripts"] == [str(tmp_path / "scripts" / "a.sh")]
    assert build.provisioners[1].config["scripts"] == [str(tmp_path / "b.sh")]


def test_builds_file_sources_absolute(tmp_path):
    (tmp_path / "site").mkdir()
    text = template(provisioners='{"type": "file", "source": "site/", "destination": "/srv"}')
    config = load(text, directory=str(tmp_path)).builds[0].provisioners[0].config
    assert config["sources"] == [str(tmp_path / "site") + "/"]
    assert config["source"] == config["sources"][0]


def test_builds_file_download_destination_absolute(tmp_path):
    text = template(provisioners='{"type": "file", "source": "/etc/hosts", "destination": "out/hosts", '
                                 '"direction": "download"}')
    config = load(text, directory=str(tmp_path)).builds[0].provisioners[0].config
    assert config["destination"] == str(tmp_path / "out" / "hosts")
    assert config["sources"] == ["/etc/hosts"]


def test_builds_output_paths_absolute(tmp_path):
    text = template('"image": "a", "export_path": "out/image.tar"',
                    post_processors='[{"type": "docker-import", "repository": "a/b"}, '
                                    '{"type": "docker-save", "path": "saved.tar"}], "manifest"')
    build = load(text, directory=str(tmp_path)).builds[0]
    assert build.builder.config["export_path"] == str(tmp_path / "out" / "image.tar")
    assert build.post_processors[0][1].config["path"] == str(tmp_path / "saved.tar")
    assert build.post_processors[1][0].config["output"] == str(tmp_path / "packer-manifest.json")


def test_builds_volume_host_paths(tmp_path):
    text = template(BASE + ', "volumes": {"./data": "/data", "cache": "/cache"}')
    volumes = load(text, directory=str(tmp_path)).builds[0].builder.config["volumes"]
    assert volumes == {str(tmp_path / "data"): "/data", "cache": "/cache"}


def test_builds_shell_defaults():
    config = load(template(provisioners='{"type": "shell", "inline": ["a"]}')).builds[0] \
        .provisioners[0].config
    assert config["execute_command"] == "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
    assert config["env_var_format"] == "%s='%s' "
    assert config["remote_path"] == f"/tmp/{config['remote_file']}"
    assert config["remote_file"].startswith("script_")
    assert config["start_retry_timeout"] == 300.0


def test_builds_shell_env_var_file_defaults():
    config = load(template(provisioners='{"type": "shell", "inline": ["a"], "use_env_var_file": true}')) \
        .builds[0].provisioners[0].config
    assert config["execute_command"] == "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"
    assert config["env_var_format"] == "export %s='%s'\n"


def test_builds_shell_local_command_into_inline():
    config = load(template(provisioners='{"type": "shell-local", "command": "date"}')).builds[0] \
        .provisioners[0].config
    assert config["inline"] == ["date"]
    assert config["execute_command"] == ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]


def test_builds_runtime_keys_keep_template_text():
    text = template(provisioners='{"type": "shell", "inline": ["echo {{build `ID`}}"]}')
    provisioner = load(text).builds[0].provisioners[0]
    assert provisioner.config["inline"] == ["echo {{build `ID`}}"]
    assert "inline" in provisioner.runtime_keys
    assert "execute_command" in provisioner.runtime_keys


def test_builds_build_data_placeholder():
    text = template(provisioners='{"type": "file", "content": "x", "destination": "/tmp/{{build `ID`}}"}')
    provisioner = load(text).builds[0].provisioners[0]
    assert "{{" in provisioner.config["destination"]
    assert "destination" in provisioner.runtime_keys


def test_builds_render_uses_data_and_variables():
    text = template(variables='"greeting": "hi"')
    build = load(text).builds[0]
    rendered = build.render("{{user `greeting`}} {{build `ID`}} {{.Path}} {{build_name}}",
                            {"ID": "c0ffee", "Path": "/tmp/s.sh"})
    assert rendered == "hi c0ffee /tmp/s.sh docker"


def test_builds_render_error_names_path():
    build = load(template()).builds[0]
    with pytest.raises(TemplateError) as info:
        build.render("{{user `missing`}}", {}, path="provisioners[0].inline")
    assert info.value.problems[0].path == "provisioners[0].inline"


def test_builds_render_plain_text_unchanged():
    build = load(template()).builds[0]
    assert build.render("echo hi", {}) == "echo hi"


def test_builds_one_time_per_load():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    text = template('"image": "a", "commit": true, "message": "{{timestamp}}"',
                    variables='"stamp": "{{timestamp}}"')
    loaded = load(text, now=now)
    expected = str(int(now.timestamp()))
    assert loaded.values["stamp"] == expected
    assert loaded.builds[0].builder.config["message"] == expected
    assert loaded.builds[0].render("{{timestamp}}", {}) == expected


def test_builds_builder_name_rendered():
    text = template('"image": "a", "commit": true, "name": "{{user `n`}}-1"', variables='"n": "web"')
    assert load(text).builds[0].name == "web-1"


def test_builds_only_accepts_written_name():
    text = """{
      "variables": {"n": "web"},
      "builders": [{"type": "docker", "name": "{{user `n`}}", "image": "a", "commit": true}],
      "provisioners": [{"type": "shell", "inline": ["a"], "only": ["{{user `n`}}"]},
                       {"type": "shell", "inline": ["b"], "only": ["web"]}]
    }"""
    assert len(load(text).builds[0].provisioners) == 2


def test_builds_template_fields(tmp_path):
    text = template(extra=',\n  "description": "demo",\n  "min_packer_version": "1.7.0"')
    loaded = load(text, directory=str(tmp_path))
    assert loaded.description == "demo"
    assert loaded.min_packer_version == "1.7.0"
    assert loaded.directory == str(tmp_path)
    assert loaded.path is None


def test_builds_mistakes_reported_together():
    text = template('"imagee": "a", "commit": "maybe"',
                    provisioners='{"type": "shell"}',
                    post_processors='"docker-push"')
    with pytest.raises(TemplateError) as info:
        load(text)
    paths = [p.path for p in info.value.problems]
    assert paths == ["builders[0].imagee", "builders[0].commit", "provisioners[0]"]


def test_parse_duration_go_syntax():
    assert parse_duration("1h5m") == 3900.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("-1.5s") == -1.5
    assert parse_duration("0") == 0.0
    assert parse_duration("1.5h") == 5400.0


@pytest.mark.parametrize("text", ["", "1", "1x", "h", "1h 5m", ".s", "5 seconds"])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


def test_builds_directory_default_is_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert load(template()).directory == os.fspath(tmp_path)
