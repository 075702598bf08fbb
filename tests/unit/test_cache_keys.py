"""Step cache keys: what invalidates a step, what makes it uncacheable, and cache tags."""

from __future__ import annotations

import json
import os

import pytest

from nbdocker import api
from nbdocker.build import cache
from nbdocker.build.docker_builder import PENDING_ID
from nbdocker.errors import UserError

RUN_UUID = "0b7c7e54-5f4e-4c57-9d6b-3a4a0b0c1d2e"
BASE_ID = "sha256:" + "1" * 64


def template(*provisioners: dict, variables: dict | None = None, **builder) -> str:
    """Return a JSON template with one docker builder and the given provisioners."""
    config = {"type": "docker", "image": "busybox:latest", "commit": True, "pull": False,
              **builder}
    return json.dumps({"builders": [config], "provisioners": list(provisioners),
                       "variables": variables or {}})


def keys(text: str, *, image_id: str = BASE_ID, namespace: str = "",
         variables: dict | None = None) -> list[str | None]:
    """Load ``text`` as the builder would and return its step keys, as plan_cache does."""
    build = api.load(text, variables=variables).builds[0]
    data = {"ID": PENDING_ID, "PackerRunUUID": RUN_UUID}

    def render(value: str, **fields) -> str:
        return build.render(value, {**data, **fields})

    start = cache.base_key(image_id, build.builder.config, namespace,
                           build=f"{build.name}.{build.type}")
    return [step.key for step in cache.step_keys(build.provisioners, start, render,
                                                 [PENDING_ID, RUN_UUID])]


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


# -- chaining ------------------------------------------------------------------------------


def test_step_keys_stable_across_loads():
    # The loader draws remote_file at random; that must not reach the key.
    text = template(shell("echo one"), shell("echo two"))
    assert keys(text) == keys(text)


def test_step_keys_all_cacheable():
    assert all(keys(template(shell("echo one"), shell("echo two"))))


def test_step_keys_edit_last_changes_only_last():
    before = keys(template(shell("echo one"), shell("echo two"), shell("echo three")))
    after = keys(template(shell("echo one"), shell("echo two"), shell("echo THREE")))
    assert before[:2] == after[:2]
    assert before[2] != after[2]


def test_step_keys_edit_middle_changes_it_and_later():
    before = keys(template(shell("echo one"), shell("echo two"), shell("echo three")))
    after = keys(template(shell("echo one"), shell("echo TWO"), shell("echo three")))
    assert before[0] == after[0]
    assert before[1] != after[1]
    assert before[2] != after[2]


def test_step_keys_reorder_changes_keys():
    before = keys(template(shell("echo one"), shell("echo two")))
    after = keys(template(shell("echo two"), shell("echo one")))
    assert before[1] != after[1]


# -- what a step's key covers --------------------------------------------------------------


def test_step_keys_script_content(tmp_path):
    script = tmp_path / "setup.sh"
    script.write_text("echo v1\n")
    text = template(shell("echo first"), {"type": "shell", "script": str(script)})
    before = keys(text)
    script.write_text("echo v2\n")
    after = keys(text)
    assert before[0] == after[0]
    assert before[1] != after[1]


def test_step_keys_scripts_list_content(tmp_path):
    first, second = tmp_path / "a.sh", tmp_path / "b.sh"
    first.write_text("echo a\n")
    second.write_text("echo b\n")
    text = template({"type": "shell", "scripts": [str(first), str(second)]})
    before = keys(text)
    second.write_text("echo B\n")
    assert keys(text) != before


def test_step_keys_uploaded_file_content(tmp_path):
    source = tmp_path / "app.conf"
    source.write_text("port=1\n")
    text = template(shell("true"), {"type": "file", "source": str(source),
                                     "destination": "/etc/app.conf"})
    before = keys(text)
    source.write_text("port=2\n")
    after = keys(text)
    assert before[0] == after[0]
    assert before[1] != after[1]


def test_step_keys_uploaded_file_mode(tmp_path):
    source = tmp_path / "run.sh"
    source.write_text("true\n")
    os.chmod(source, 0o644)
    text = template({"type": "file", "source": str(source), "destination": "/run.sh"})
    before = keys(text)
    os.chmod(source, 0o755)
    assert keys(text) != before


@pytest.mark.parametrize("change", ["edit", "add", "empty_dir", "symlink"])
def test_step_keys_uploaded_directory(tmp_path, change):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>v1</h1>\n")
    text = template({"type": "file", "source": str(site), "destination": "/srv/site"})
    before = keys(text)
    if change == "edit":
        (site / "index.html").write_text("<h1>v2</h1>\n")
    elif change == "add":
        (site / "about.html").write_text("about\n")
    elif change == "empty_dir":
        (site / "assets").mkdir()
    else:
        (site / "home.html").symlink_to("index.html")
    assert keys(text) != before


def test_step_keys_inline_file_content():
    before = keys(template({"type": "file", "content": "a\n", "destination": "/a"}))
    after = keys(template({"type": "file", "content": "b\n", "destination": "/a"}))
    assert before != after


def test_step_keys_environment_vars():
    before = keys(template(shell("true"), shell("env", environment_vars=["MODE=dev"])))
    after = keys(template(shell("true"), shell("env", environment_vars=["MODE=prod"])))
    assert before[0] == after[0]
    assert before[1] != after[1]


def test_step_keys_env_map():
    before = keys(template(shell("env", env={"MODE": "dev"})))
    after = keys(template(shell("env", env={"MODE": "prod"})))
    assert before != after


def test_step_keys_user_variable_in_inline():
    text = template(shell("true"), shell("echo {{user `greeting`}}"),
                    variables={"greeting": "hello"})
    before = keys(text)
    after = keys(text, variables={"greeting": "bonjour"})
    assert before[0] == after[0]
    assert before[1] != after[1]


def test_step_keys_execute_command():
    before = keys(template(shell("true")))
    after = keys(template(shell("true", execute_command="sudo {{.Vars}} sh {{.Path}}")))
    assert before != after


def test_step_keys_given_remote_path():
    before = keys(template(shell("true", remote_path="/opt/a/run.sh")))
    after = keys(template(shell("true", remote_path="/opt/b/run.sh")))
    assert before != after


@pytest.mark.parametrize("option", [{"pause_after": "5s"}, {"timeout": "5m"},
                                    {"pause_before": "2s"}, {"max_retries": 2}])
def test_step_keys_ignore_timing_options(option):
    assert keys(template(shell("true"))) == keys(template(shell("true", **option)))


# -- what the first key covers -------------------------------------------------------------


def test_base_key_image_id():
    text = template(shell("true"))
    assert keys(text, image_id="sha256:" + "2" * 64) != keys(text)


def test_base_key_namespace():
    text = template(shell("true"))
    assert keys(text, namespace="other") != keys(text)


@pytest.mark.parametrize("option", [{"exec_user": "nobody"}, {"privileged": True},
                                    {"run_command": ["-d", "-i", "-t", "--entrypoint=/bin/ash",
                                                     "--", "{{.Image}}"]}])
def test_base_key_builder_options(option):
    assert keys(template(shell("true"), **option)) != keys(template(shell("true")))


def test_base_key_build_name():
    before = keys(template(shell("echo $PACKER_BUILD_NAME"), name="one"))
    after = keys(template(shell("echo $PACKER_BUILD_NAME"), name="two"))
    assert before != after


def test_base_key_volumes_uncacheable(tmp_path):
    text = template(shell("true"), volumes={str(tmp_path): "/host"})
    assert keys(text) == [None]


@pytest.mark.parametrize("flag", [["-v", "/srv:/srv"], ["--volume=/srv:/srv"],
                                  ["--mount=type=bind,src=/srv,dst=/srv"]])
def test_base_key_run_command_mounts_uncacheable(flag):
    run_command = ["-d", "-i", "-t", *flag, "--entrypoint=/bin/sh", "--", "{{.Image}}"]
    assert cache.base_key(BASE_ID, {"run_command": run_command}) is None


# -- steps that end the cacheable prefix ---------------------------------------------------


@pytest.mark.parametrize("text", ["echo {{build `ID`}}", "echo {{ build `PackerRunUUID` }}",
                                  "echo {{uuid}}"])
def test_step_keys_run_dependent_inline_ends_prefix(text):
    assert keys(template(shell("true"), shell(text), shell("true"))) == [
        keys(template(shell("true")))[0], None, None]


def test_step_keys_build_id_in_environment_ends_prefix():
    result = keys(template(shell("true"), shell("env", environment_vars=["C={{build `ID`}}"])))
    assert result[0] is not None
    assert result[1] is None


def test_step_keys_build_id_in_destination_ends_prefix():
    result = keys(template({"type": "file", "content": "x", "destination": "/{{build `ID`}}"}))
    assert result == [None]


@pytest.mark.parametrize("step", [
    {"type": "shell-local", "inline": ["true"]},
    {"type": "file", "direction": "download", "source": "/etc/hostname",
     "destination": "out/hostname"},
    {"type": "breakpoint"},
])
def test_step_keys_host_steps_end_prefix(step):
    result = keys(template(shell("true"), step, shell("true")))
    assert result[0] is not None
    assert result[1:] == [None, None]


def test_step_keys_sleep_is_cacheable():
    assert all(keys(template({"type": "sleep", "duration": "1s"})))


# -- the committed image ---------------------------------------------------------------------


def test_final_key_changes():
    last = "a" * 64
    assert cache.final_key(last, ["ENV A=1"], "", "") != cache.final_key(last, ["ENV A=2"], "", "")


def test_final_key_author_and_message():
    last = "a" * 64
    assert cache.final_key(last, [], "me", "") != cache.final_key(last, [], "", "")
    assert cache.final_key(last, [], "", "msg") != cache.final_key(last, [], "", "")


def test_final_key_run_value_in_changes():
    changes = [f"LABEL built-in={PENDING_ID}"]
    assert cache.final_key("a" * 64, changes, "", "", run_values=[PENDING_ID]) is None


# -- host paths ------------------------------------------------------------------------------


def test_hash_path_missing(tmp_path):
    assert cache.hash_path(str(tmp_path / "nope")) == "missing"


def test_hash_path_same_tree_same_hash(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "file.txt").write_text("same\n")
    assert cache.hash_path(str(tmp_path / "a")) == cache.hash_path(str(tmp_path / "b"))


def test_hash_path_renamed_file(tmp_path):
    (tmp_path / "file.txt").write_text("same\n")
    before = cache.hash_path(str(tmp_path))
    (tmp_path / "file.txt").rename(tmp_path / "other.txt")
    assert cache.hash_path(str(tmp_path)) != before


# -- tags and namespaces ---------------------------------------------------------------------


KEY = "f" * 64


def test_reference_without_namespace():
    assert cache.reference(KEY) == f"nbdocker-cache:{KEY}"


def test_reference_with_namespace():
    assert cache.reference(KEY, "test-1a2b") == f"nbdocker-cache:test-1a2b-{KEY}"


@pytest.mark.parametrize("namespace", ["has space", "-leading", "a/b", "x" * 49])
def test_reference_invalid_namespace(namespace):
    with pytest.raises(UserError, match="NBDOCKER_CACHE_NAMESPACE"):
        cache.reference(KEY, namespace)


class FakeEngine:
    """Returns fixed list_images results and records remove_image calls."""

    def __init__(self, tags: list[str]):
        self.images = [{"Id": f"sha256:{index:064x}", "RepoTags": [tag], "Created": index,
                        "Size": 1000} for index, tag in enumerate(tags)]
        self.removed: list[str] = []

    def list_images(self, reference: str) -> list[dict]:
        return [image for image in self.images
                if any(tag.startswith(f"{reference}:") for tag in image["RepoTags"])]

    def remove_image(self, reference: str) -> None:
        self.removed.append(reference)


TAGS = [f"nbdocker-cache:{'a' * 64}", f"nbdocker-cache:ns-one-{'b' * 64}",
        f"nbdocker-cache:ns-two-{'c' * 64}", "nbdocker-cache:not-a-key"]


def test_list_entries_every_namespace():
    entries = cache.list_entries(FakeEngine(TAGS), "")
    assert sorted(entry.reference for entry in entries) == sorted(TAGS[:3])


def test_list_entries_one_namespace():
    entries = cache.list_entries(FakeEngine(TAGS), "ns-one")
    assert [entry.reference for entry in entries] == [TAGS[1]]


def test_list_entries_newest_first():
    entries = cache.list_entries(FakeEngine(TAGS), "")
    assert [entry.created for entry in entries] == [2, 1, 0]


def test_list_entries_namespace_from_environment(monkeypatch):
    monkeypatch.setenv("NBDOCKER_CACHE_NAMESPACE", "ns-two")
    assert [entry.key for entry in cache.list_entries(FakeEngine(TAGS))] == ["c" * 64]


def test_prune_only_namespace():
    engine = FakeEngine(TAGS)
    cache.prune(engine, "ns-one")
    assert engine.removed == [TAGS[1]]


def test_prune_every_namespace():
    engine = FakeEngine(TAGS)
    cache.prune(engine, "")
    assert sorted(engine.removed) == sorted(TAGS[:3])
