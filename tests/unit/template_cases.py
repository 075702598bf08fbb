"""Table of template cases for tests/unit/test_template_cases.py: one concern per case.

Most cases use ``template()``, which puts each section on its own line so that the
expected line of an error is easy to read off:

    line 1  {
    line 2    "builders": [{"type": "docker", <builder>}],
    line 3    "provisioners": [<provisioners>],
    line 4    "post-processors": [<post_processors>],
    line 5    "variables": {<variables>}<extra>
    line 6  }

Cases that need files (scripts, Dockerfiles) list them in ``files``; the test writes them
into a temporary directory and loads the template with that directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BASE = '"image": "ubuntu:22.04", "commit": true'
SHELL = '{"type": "shell", "inline": ["echo hi"]}'
DIGEST = "sha256:" + "a" * 64


def template(builder: str = BASE, provisioners: str = "", post_processors: str = "",
             variables: str = "", extra: str = "") -> str:
    """Return a template with each section on its own line (builders on line 2)."""
    return "\n".join([
        "{",
        f'  "builders": [{{"type": "docker", {builder}}}],',
        f'  "provisioners": [{provisioners}],',
        f'  "post-processors": [{post_processors}],',
        f'  "variables": {{{variables}}}{extra}',
        "}",
    ])


@dataclass(frozen=True)
class Case:
    """One template and what loading it must give."""

    id: str
    text: str
    #: ``ok`` (no errors, no warnings), ``error`` or ``warning`` (loads, with a warning).
    outcome: str
    #: A substring of the expected message.
    fragment: str = ""
    #: Key path of the expected problem.
    path: str = ""
    #: Line of the expected problem's position.
    line: int | None = None
    #: Files to create next to the template: relative path to content (a trailing
    #: slash makes a directory).
    files: dict[str, str] = field(default_factory=dict)
    #: Extra keyword arguments for load_template (variables, only, except_, env).
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES: list[Case] = [
    # -- JSON syntax ------------------------------------------------------------------------
    Case("json-missing-comma", '{\n  "builders": [{"type": "docker"}]\n  "provisioners": []\n}',
         "error", "is a comma missing at the end of line 2", "", 3),
    Case("json-trailing-comma-object", '{\n  "builders": [],\n}', "error",
         "trailing comma before '}'", "", 2),
    Case("json-trailing-comma-array", '{\n  "builders": [\n    {"type": "docker"},\n  ]\n}',
         "error", "trailing comma before ']'", "", 3),
    Case("json-comment", '{\n  // builders\n  "builders": []\n}', "error",
         "JSON does not allow comments", "", 2),
    Case("json-single-quotes", "{\n  'builders': []\n}", "error", "double quotes", "", 2),
    Case("json-unclosed-object", '{\n  "builders": [\n', "error",
         "closes the array opened at line 2", "", 3),
    Case("json-empty-text", "   \n", "error", "the text is empty", "", 1),
    Case("json-unterminated-string", '{\n  "builders": "docker\n}', "error",
         "not closed before the end of the line", "", 2),
    Case("json-python-true", '{\n  "builders": [{"type": "docker", "commit": True}]\n}', "error",
         "'True' is not a JSON value", "", 2),
    Case("json-text-after-document", '{"builders": []}\n{}', "error",
         "expected the end of the text", "", 2),
    Case("json-leading-zero", '{\n  "builders": [{"type": "docker", "pull": 01}]\n}', "error",
         "leading zeros", "", 2),
    Case("json-invalid-escape", '{\n  "description": "C:\\Users"\n}', "error",
         "invalid escape '\\U'", "", 2),
    Case("json-duplicate-root-key",
         '{\n  "builders": [{"type": "docker", "image": "a", "commit": true}],\n'
         '  "builders": []\n}', "error", "duplicate key 'builders'", "builders", 3),
    Case("json-duplicate-option", template('"image": "a", "commit": true, "image": "b"'), "error",
         "duplicate key 'image'; it is first defined at line 2", "builders[0].image", 2),
    Case("json-top-level-array", '[\n  {"type": "docker"}\n]', "error",
         "a template must be a JSON object", "", 1),

    # -- root keys ---------------------------------------------------------------------------
    Case("root-unknown-key", template(extra=',\n  "buildres": []'), "error",
         "unknown root key 'buildres'; did you mean 'builders'?", "buildres", 6),
    Case("root-post-processors-underscore", template(extra=',\n  "post_processors": []'), "error",
         "did you mean 'post-processors'?", "post_processors", 6),
    Case("root-comment", template(extra=',\n  "_comment": "built nightly"'), "ok"),
    Case("root-comment-not-string", template(extra=',\n  "_notes": ["a", "b"]'), "error",
         "root comment '_notes' must have a string value", "_notes", 6),
    Case("root-description-not-string", template(extra=',\n  "description": 5'), "error",
         "description must be a string", "description", 6),
    Case("root-push-ignored", template(extra=',\n  "push": {"name": "x"}'), "ok"),
    Case("root-no-builders", '{\n  "provisioners": []\n}', "error", "the template has no builders",
         "", 1),
    Case("root-empty-builders", '{\n  "builders": []\n}', "error",
         "at least one builder must be defined", "builders", 2),
    Case("root-builders-object", '{\n  "builders": {"type": "docker"}\n}', "error",
         "wrap it in [ ]", "builders", 2),
    Case("root-provisioners-string", template(extra=',\n  "provisioners": "shell"').replace(
        '  "provisioners": [],\n', ""), "error", "provisioners must be an array", "provisioners", 5),
    Case("root-min-version-ok", template(extra=',\n  "min_packer_version": "1.5.0"'), "ok"),
    Case("root-min-version-too-new", template(extra=',\n  "min_packer_version": "2.0.0"'), "error",
         "requires Packer 2.0.0 or newer", "min_packer_version", 6),
    Case("root-min-version-invalid", template(extra=',\n  "min_packer_version": "one"'), "error",
         "is not a valid version", "min_packer_version", 6),

    # -- builders ----------------------------------------------------------------------------
    Case("builder-missing-type", '{\n  "builders": [{"image": "a", "commit": true}]\n}', "error",
         "missing 'type' in this builder", "builders[0]", 2),
    Case("builder-unknown-type", '{\n  "builders": [{"type": "dockr"}]\n}', "error",
         "unknown builder type 'dockr'; did you mean 'docker'?", "builders[0].type", 2),
    Case("builder-unsupported-type", '{\n  "builders": [{"type": "amazon-ebs"}]\n}', "error",
         "the 'amazon-ebs' builder is not supported", "builders[0].type", 2),
    Case("builder-duplicate-name",
         '{\n  "builders": [\n    {"type": "docker", "image": "a", "commit": true},\n'
         '    {"type": "docker", "image": "b", "commit": true}\n  ]\n}', "error",
         "build name 'docker' is already used by builders[0]", "builders[1].name", 4),
    Case("builder-rendered-names-collide",
         '{\n  "variables": {"n": "x"},\n  "builders": [\n'
         '    {"type": "docker", "name": "x", "image": "a", "commit": true},\n'
         '    {"type": "docker", "name": "{{user `n`}}", "image": "b", "commit": true}\n  ]\n}',
         "error", "build name 'x' is already used", "builders[1].name", 5),
    Case("builder-name-not-string", template(BASE + ', "name": ["a"]'), "error",
         "name must be a string", "builders[0].name", 2),

    # -- docker builder ------------------------------------------------------------------------
    Case("docker-minimal-commit", template(), "ok"),
    Case("docker-unknown-option", template('"imagee": "ubuntu", "commit": true'), "error",
         "unknown option 'imagee' in builders[0]; did you mean 'image'?", "builders[0].imagee", 2),
    Case("docker-no-artifact-option", template('"image": "ubuntu"'), "error",
         "set exactly one of commit: true", "builders[0]", 2),
    Case("docker-commit-and-discard", template(BASE + ', "discard": true'), "error",
         "commit and discard are both set", "builders[0].discard", 2),
    Case("docker-commit-and-export", template(BASE + ', "export_path": "out.tar"'), "error",
         "commit and export_path are both set", "builders[0].export_path", 2),
    Case("docker-missing-image", template('"commit": true'), "error", "missing 'image'",
         "builders[0]", 2),
    Case("docker-image-and-build",
         template(BASE + ', "build": {"path": "Dockerfile"}'), "error",
         "image and build are both set", "builders[0].build", 2, files={"Dockerfile": "FROM a\n"}),
    Case("docker-build-block", template('"commit": true, "build": {"path": "Dockerfile"}'), "ok",
         files={"Dockerfile": "FROM alpine\n"}),
    Case("docker-build-path-missing", template('"commit": true, "build": {"path": "Dockerfile"}'),
         "error", "path file 'Dockerfile' not found", "builders[0].build.path", 2),
    Case("docker-build-dir-is-file",
         template('"commit": true, "build": {"path": "Dockerfile", "build_dir": "Dockerfile"}'),
         "error", "is a file, not a directory", "builders[0].build.build_dir", 2,
         files={"Dockerfile": "FROM alpine\n"}),
    Case("docker-build-unknown-option",
         template('"commit": true, "build": {"path": "Dockerfile", "args": {}}'), "error",
         "unknown option 'args' in builders[0].build", "builders[0].build.args", 2,
         files={"Dockerfile": "FROM alpine\n"}),
    Case("docker-build-ignores-pull",
         template('"commit": true, "pull": false, "build": {"path": "Dockerfile"}'), "warning",
         "pull is ignored when build is set", "builders[0].pull", 2,
         files={"Dockerfile": "FROM alpine\n"}),
    Case("docker-export-path-directory", template('"image": "a", "export_path": "out"'), "error",
         "is an existing directory", "builders[0].export_path", 2, files={"out/": ""}),
    Case("docker-image-space", template('"image": "ubuntu: 14.04", "commit": true'), "error",
         "did you mean 'ubuntu:14.04'?", "builders[0].image", 2),
    Case("docker-image-uppercase", template('"image": "Ubuntu:22.04", "commit": true'), "error",
         "did you mean 'ubuntu:22.04'?", "builders[0].image", 2),
    Case("docker-image-digest", template(f'"image": "ubuntu@{DIGEST}", "commit": true'), "ok"),
    Case("docker-image-registry-port",
         template('"image": "localhost:5000/team/app:1.0", "commit": true'), "ok"),
    Case("docker-image-bad-digest", template('"image": "ubuntu@sha256:abc", "commit": true'),
         "error", "a digest looks like sha256:", "builders[0].image", 2),
    Case("docker-image-bad-tag", template('"image": "ubuntu:-22", "commit": true'), "error",
         "a tag is 1 to 128", "builders[0].image", 2),
    Case("docker-commit-string-true", template('"image": "a", "commit": "true"'), "ok"),
    Case("docker-commit-bad-bool", template('"image": "a", "commit": "yes"'), "error",
         "commit must be a boolean (true or false), got 'yes'", "builders[0].commit", 2),
    Case("docker-commit-array", template('"image": "a", "commit": [true]'), "error",
         "commit must be a boolean", "builders[0].commit", 2),
    Case("docker-privileged-number", template(BASE + ', "privileged": 1'), "ok"),
    Case("docker-changes", template(BASE + ', "changes": ["USER nobody", "WORKDIR /app", '
                                           '"ENV A=b", "expose 80"]'), "ok"),
    Case("docker-changes-run", template(BASE + ', "changes": ["RUN apt-get update"]'), "error",
         "uses RUN, which cannot be applied", "builders[0].changes[0]", 2),
    Case("docker-changes-typo", template(BASE + ', "changes": ["USER a", "EXPOS 80"]'), "error",
         "did you mean 'EXPOSE'?", "builders[0].changes[1]", 2),
    Case("docker-changes-comma-string", template(BASE + ', "changes": "USER a,WORKDIR /b"'), "ok"),
    Case("docker-changes-not-list", template(BASE + ', "changes": {"USER": "a"}'), "error",
         "changes must be a list of strings, got an object", "builders[0].changes", 2),
    Case("docker-communicator-ssh", template(BASE + ', "communicator": "ssh"'), "error",
         "communicator 'ssh' is not supported", "builders[0].communicator", 2),
    Case("docker-communicator-typo", template(BASE + ', "communicator": "dockr"'), "error",
         "did you mean 'docker'?", "builders[0].communicator", 2),
    Case("docker-communicator-none", template(BASE + ', "communicator": "none"'), "ok"),
    Case("docker-ecr-login", template(BASE + ', "ecr_login": true, "login_server": "x.ecr.aws"'),
         "error", "ecr_login is not supported", "builders[0].ecr_login", 2),
    Case("docker-login-email-deprecated", template(BASE + ', "login_email": "a@b.c"'), "warning",
         "Run `nbdocker fix`", "builders[0].login_email", 2),
    Case("docker-login-user-without-login", template(BASE + ', "login_username": "me"'),
         "warning", "login_username is ignored unless login is true", "builders[0].login_username", 2),
    Case("docker-ssh-options-ignored", template(BASE + ', "ssh_username": "root", "ssh_port": 22'),
         "ok"),
    Case("docker-docker-path-accepted", template(BASE + ', "docker_path": "podman"'), "ok"),
    Case("docker-packer-internal-key", template(BASE + ', "packer_force": true'), "ok"),
    Case("docker-windows-container", template(BASE + ', "windows_container": true'), "error",
         "windows_container: true is not supported", "builders[0].windows_container", 2),
    Case("docker-volume-relative-target", template(BASE + ', "volumes": {"/data": "data"}'),
         "error", "volume target 'data' must be an absolute path", "builders[0].volumes./data", 2),
    Case("docker-container-dir-relative", template(BASE + ', "container_dir": "files"'), "error",
         "container_dir must be an absolute path", "builders[0].container_dir", 2),
    Case("docker-duration-without-unit", template(BASE + ', "pause_before_connecting": 10'),
         "error", "write \"10s\" for seconds", "builders[0].pause_before_connecting", 2),
    Case("docker-duration-string-without-unit",
         template(BASE + ', "pause_before_connecting": "10"'), "error", "did you mean '10s'?",
         "builders[0].pause_before_connecting", 2),
    Case("docker-duration-ok", template(BASE + ', "pause_before_connecting": "1m30s"'), "ok"),
    Case("docker-cap-add-object", template(BASE + ', "cap_add": {"a": "b"}'), "error",
         "cap_add must be a list of strings", "builders[0].cap_add", 2),
    Case("docker-run-command-string", template(BASE + ', "run_command": "-d,-i,-t,{{.Image}}"'),
         "ok"),
    Case("docker-message-bool", template(BASE + ', "message": true'), "error",
         "message must be a string in double quotes", "builders[0].message", 2),

    # -- provisioners --------------------------------------------------------------------------
    Case("provisioner-unknown-type", template(provisioners='{"type": "shel", "inline": ["a"]}'),
         "error", "unknown provisioner type 'shel'; did you mean 'shell'?",
         "provisioners[0].type", 3),
    Case("provisioner-unsupported-type", template(provisioners='{"type": "ansible"}'), "error",
         "the 'ansible' provisioner is not supported", "provisioners[0].type", 3),
    Case("provisioner-missing-type", template(provisioners='{"inline": ["a"]}'), "error",
         "missing 'type' in this provisioner", "provisioners[0]", 3),
    Case("provisioner-not-object", template(provisioners='"shell"'), "error",
         "a provisioner must be an object", "provisioners[0]", 3),
    Case("provisioner-name-key",
         template(provisioners='{"type": "shell", "name": "setup", "inline": ["a"]}'), "error",
         "Provisioners in JSON templates have no name option", "provisioners[0].name", 3),
    Case("provisioner-only-unknown-build",
         template(provisioners='{"type": "shell", "inline": ["a"], "only": ["dockr"]}'), "error",
         "only names build 'dockr', but the template has no such build; did you mean 'docker'?",
         "provisioners[0].only", 3),
    Case("provisioner-only-and-except",
         template(provisioners='{"type": "shell", "inline": ["a"], "only": ["docker"], '
                               '"except": ["docker"]}'),
         "error", "only and except are both set", "provisioners[0].except", 3),
    Case("provisioner-override-unknown-build",
         template(provisioners='{"type": "shell", "inline": ["a"], "override": {"dokcer": {}}}'),
         "error", "override names build 'dokcer'", "provisioners[0].override.dokcer", 3),
    Case("provisioner-pause-before-bad",
         template(provisioners='{"type": "shell", "inline": ["a"], "pause_before": "5 seconds"}'),
         "error", "pause_before must be a duration", "provisioners[0].pause_before", 3),
    Case("provisioner-timeout", template(
        provisioners='{"type": "shell", "inline": ["a"], "timeout": "1m30s", "pause_before": "2s"}'),
         "ok"),
    Case("provisioner-max-retries-string",
         template(provisioners='{"type": "shell", "inline": ["a"], "max_retries": "3"}'), "ok"),
    Case("provisioner-max-retries-bad",
         template(provisioners='{"type": "shell", "inline": ["a"], "max_retries": "three"}'),
         "error", "max_retries must be an integer, got 'three'", "provisioners[0].max_retries", 3),
    Case("shell-nothing-to-run", template(provisioners='{"type": "shell"}'), "error",
         "nothing to run: set one of 'inline', 'script' or 'scripts'", "provisioners[0]", 3),
    Case("shell-inline-and-script",
         template(provisioners='{"type": "shell", "inline": ["a"], "script": "setup.sh"}'), "error",
         "inline and script are both set", "provisioners[0].script", 3,
         files={"setup.sh": "echo hi\n"}),
    Case("shell-script-missing", template(provisioners='{"type": "shell", "script": "setup.sh"}'),
         "error", "script file 'setup.sh' not found", "provisioners[0].script", 3),
    Case("shell-scripts-one-missing",
         template(provisioners='{"type": "shell", "scripts": ["a.sh", "b.sh"]}'), "error",
         "scripts file 'b.sh' not found", "provisioners[0].scripts[1]", 3, files={"a.sh": "true\n"}),
    Case("shell-script", template(provisioners='{"type": "shell", "script": "setup.sh"}'), "ok",
         files={"setup.sh": "echo hi\n"}),
    Case("shell-environment-vars-bad",
         template(provisioners='{"type": "shell", "inline": ["a"], "environment_vars": ["A=1", "B"]}'),
         "error", "environment_vars entry 'B' must be in KEY=VALUE form",
         "provisioners[0].environment_vars[1]", 3),
    Case("shell-inline-string", template(provisioners='{"type": "shell", "inline": "echo a"}'), "ok"),
    Case("shell-exit-codes-string",
         template(provisioners='{"type": "shell", "inline": ["a"], "valid_exit_codes": "0,3010"}'),
         "ok"),
    Case("shell-exit-codes-bad",
         template(provisioners='{"type": "shell", "inline": ["a"], "valid_exit_codes": ["zero"]}'),
         "error", "expected an integer, got 'zero'", "provisioners[0].valid_exit_codes[0]", 3),
    Case("shell-unknown-option", template(provisioners='{"type": "shell", "inlin": ["a"]}'),
         "error", "unknown option 'inlin' in provisioners[0]; did you mean 'inline'?",
         "provisioners[0].inlin", 3),
    Case("shell-user-variable-typo",
         template(provisioners='{"type": "shell", "inline": ["echo {{user `nme`}}"]}',
                  variables='"name": "x"'),
         "error", "undefined variable 'nme'", "provisioners[0].inline[0]", 3),
    Case("shell-env-outside-variables",
         template(provisioners='{"type": "shell", "inline": ["a"], '
                               '"environment_vars": ["H={{env `HOME`}}"]}'),
         "error", "{{env}} is allowed only in the default values of the variables section",
         "provisioners[0].environment_vars[0]", 3),
    Case("file-missing-destination",
         template(provisioners='{"type": "file", "source": "app.conf"}'), "error",
         "missing 'destination'", "provisioners[0]", 3, files={"app.conf": "x\n"}),
    Case("file-source-missing",
         template(provisioners='{"type": "file", "source": "app.conf", "destination": "/etc/"}'),
         "error", "source 'app.conf' not found", "provisioners[0].source", 3),
    Case("file-upload", template(
        provisioners='{"type": "file", "source": "app.conf", "destination": "/etc/app.conf"}'),
         "ok", files={"app.conf": "x\n"}),
    Case("file-content-and-source", template(
        provisioners='{"type": "file", "source": "a", "content": "x", "destination": "/a"}'),
         "error", "content and source(s) are both set", "provisioners[0].content", 3,
         files={"a": "x\n"}),
    Case("file-nothing-to-copy", template(provisioners='{"type": "file", "destination": "/a"}'),
         "error", "nothing to copy", "provisioners[0]", 3),
    Case("file-direction-typo", template(
        provisioners='{"type": "file", "source": "/a", "destination": "b", "direction": "downlaod"}'),
         "error", "did you mean 'download'?", "provisioners[0].direction", 3),
    Case("file-download", template(
        provisioners='{"type": "file", "source": "/etc/os-release", "destination": "out/", '
                     '"direction": "download"}'), "ok"),
    Case("file-generated-source", template(
        provisioners='{"type": "file", "source": "later.txt", "destination": "/a", '
                     '"generated": true}'), "ok"),
    Case("shell-local-nothing-to-run", template(provisioners='{"type": "shell-local"}'), "error",
         "nothing to run: set one of 'command', 'inline', 'script' or 'scripts'",
         "provisioners[0]", 3),
    Case("shell-local-command", template(
        provisioners='{"type": "shell-local", "command": "docker exec {{build `ID`}} true"}'), "ok"),
    Case("shell-local-only-on-typo",
         template(provisioners='{"type": "shell-local", "inline": ["a"], "only_on": ["linx"]}'),
         "error", "did you mean 'linux'?", "provisioners[0].only_on[0]", 3),
    Case("sleep", template(provisioners='{"type": "sleep", "duration": "10s"}'), "ok"),
    Case("sleep-bad-duration", template(provisioners='{"type": "sleep", "duration": "ten"}'),
         "error", "duration must be a duration", "provisioners[0].duration", 3),
    Case("breakpoint", template(provisioners='{"type": "breakpoint", "note": "look around"}'), "ok"),
    Case("error-cleanup-provisioner",
         template(extra=',\n  "error-cleanup-provisioner": {"type": "shell-local", "inline": ["a"]}'),
         "ok"),
    Case("error-cleanup-provisioner-bad-type",
         template(extra=',\n  "error-cleanup-provisioner": {"type": "shel-local"}'), "error",
         "did you mean 'shell-local'?", "error-cleanup-provisioner.type", 6),

    # -- post-processors -------------------------------------------------------------------------
    Case("post-processor-unknown-type", template(post_processors='"docker-tagg"'), "error",
         "unknown post-processor type 'docker-tagg'; did you mean 'docker-tag'?",
         "post-processors[0].type", 4),
    Case("post-processor-unsupported-type", template(post_processors='"compress"'), "error",
         "the 'compress' post-processor is not supported", "post-processors[0].type", 4),
    Case("post-processor-nested-sequence",
         template(post_processors='[{"type": "manifest"}, ["manifest"]]'), "error",
         "cannot contain another sequence", "post-processors[0][1]", 4),
    Case("post-processor-number", template(post_processors="5"), "error",
         "a post-processor must be a type name, an object or an array", "post-processors[0]", 4),
    Case("post-processor-string-form", template(post_processors='"manifest"'), "ok"),
    Case("docker-tag-missing-repository", template(post_processors='{"type": "docker-tag"}'),
         "error", "missing 'repository'", "post-processors[0]", 4),
    Case("docker-tag-repository-space",
         template(post_processors='{"type": "docker-tag", "repository": "how2dock / packer"}'),
         "error", "did you mean 'how2dock/packer'?", "post-processors[0].repository", 4),
    Case("docker-tag-bad-tag", template(
        post_processors='{"type": "docker-tag", "repository": "a/b", "tags": ["1.0", ".x"]}'),
         "error", "invalid tag '.x'", "post-processors[0].tags[1]", 4),
    Case("docker-tag-deprecated-tag", template(
        post_processors='{"type": "docker-tag", "repository": "a/b", "tag": "1.0"}'), "warning",
         "tag is deprecated in docker-tag", "post-processors[0].tag", 4),
    Case("docker-tag-repository-and-tags-both-tagged", template(
        post_processors='{"type": "docker-tag", "repository": "a/b:1", "tags": ["2"]}'), "error",
         "already has a tag and tags are set too", "post-processors[0].repository", 4),
    Case("docker-push-untagged-commit",
         template(post_processors='"docker-push"'), "error",
         "add a docker-tag post-processor before docker-push in the same sequence",
         "post-processors[0].type", 4),
    Case("docker-push-after-tag", template(
        post_processors='[{"type": "docker-tag", "repository": "a/b"}, "docker-push"]'), "ok"),
    Case("docker-push-tag-in-other-sequence", template(
        post_processors='{"type": "docker-tag", "repository": "a/b"}, "docker-push"'), "error",
         "add a docker-tag post-processor before docker-push", "post-processors[1].type", 4),
    Case("docker-import-after-commit", template(
        post_processors='{"type": "docker-import", "repository": "a/b"}'), "error",
         "commit already imports the image", "post-processors[0].type", 4),
    Case("docker-import-after-export", template(
        '"image": "a", "export_path": "out.tar"',
        post_processors='[{"type": "docker-import", "repository": "a/b", "tag": "1"}, "docker-push"]'),
         "ok"),
    Case("docker-tag-after-export", template(
        '"image": "a", "export_path": "out.tar"',
        post_processors='{"type": "docker-tag", "repository": "a/b"}'), "error",
         "docker-tag needs an image, but build 'docker' produces a tar file",
         "post-processors[0].type", 4),
    Case("docker-save-after-discard", template(
        '"image": "a", "discard": true',
        post_processors='{"type": "docker-save", "path": "image.tar"}'), "error",
         "docker-save needs an image", "post-processors[0].type", 4),
    Case("docker-save-missing-path", template(post_processors='"docker-save"'), "error",
         "missing 'path'", "post-processors[0]", 4),
    Case("docker-push-ecr-login", template(
        post_processors='[{"type": "docker-tag", "repository": "a/b"}, '
                        '{"type": "docker-push", "ecr_login": true}]'), "error",
         "ecr_login is not supported", "post-processors[0][1].ecr_login", 4),
    Case("docker-import-changes-typo", template(
        '"image": "a", "export_path": "out.tar"',
        post_processors='{"type": "docker-import", "repository": "a/b", "changes": ["CMDD [\\"sh\\"]"]}'),
         "error", "did you mean 'CMD'?", "post-processors[0].changes[0]", 4),
    Case("checksum-type-typo", template(
        post_processors='{"type": "checksum", "checksum_types": ["sha265"]}'), "error",
         "did you mean 'sha256'", "post-processors[0].checksum_types[0]", 4),
    Case("artifice-missing-files", template(
        '"image": "a", "discard": true', post_processors='"artifice"'), "error",
         "missing 'files'", "post-processors[0]", 4),
    Case("post-processor-only-unknown-build", template(
        post_processors='{"type": "manifest", "only": ["ubuntu"]}'), "error",
         "only names build 'ubuntu', but the template has no such build",
         "post-processors[0].only", 4),
    Case("post-processor-keep-input-artifact-bad", template(
        post_processors='{"type": "manifest", "keep_input_artifact": "maybe"}'), "error",
         "keep_input_artifact must be a boolean", "post-processors[0].keep_input_artifact", 4),
    Case("manifest-custom-data-build-data", template(
        post_processors='{"type": "manifest", "custom_data": {"image": "{{build `ImageSha256`}}"}}'),
         "ok"),
    Case("post-processor-unknown-option", template(
        post_processors='{"type": "manifest", "outptu": "m.json"}'), "error",
         "did you mean 'output'?", "post-processors[0].outptu", 4),

    # -- variables -------------------------------------------------------------------------------
    Case("variable-required-missing", template(variables='"password": null'), "error",
         "required variable 'password' is not set; pass it with -var password=VALUE",
         "variables.password", 5),
    Case("variable-required-set", template(variables='"password": null'), "ok",
         kwargs={"variables": {"password": "s3cret"}}),
    Case("variable-number-default", template(variables='"version": 1.0'), "error",
         "quote it: \"1.0\"", "variables.version", 5),
    Case("variable-refers-to-variable",
         template('"image": "{{user `image`}}", "commit": true',
                  variables='"distro": "ubuntu", "image": "{{user `distro`}}:22.04"'), "ok"),
    Case("variable-undefined-reference", template(variables='"image": "{{user `distr`}}"'),
         "error", "variable 'image' refers to undefined variable 'distr'", "variables.image", 5),
    Case("variable-cycle", template(variables='"a": "{{user `b`}}", "b": "{{user `a`}}"'),
         "error", "variables refer to each other in a cycle", "variables.a", 5),
    Case("variable-env-default", template('"image": "{{user `image`}}", "commit": true',
                                          variables='"image": "{{env `BASE_IMAGE`}}"'), "ok",
         kwargs={"env": {"BASE_IMAGE": "alpine:3.20"}}),
    Case("variable-undeclared-var", template(), "warning",
         "variable 'imag' is set with -var but not declared", "-var imag",
         kwargs={"variables": {"imag": "x"}}),
    Case("variable-builder-typo", template('"image": "{{user `imag`}}", "commit": true',
                                           variables='"image": "alpine"'), "error",
         "undefined variable 'imag' in '{{user `imag`}}'; did you mean 'image'?",
         "builders[0].image", 2),
    Case("sensitive-variable-undeclared",
         template(extra=',\n  "sensitive-variables": ["password"]'), "error",
         "sensitive-variables names 'password', which is not declared", "sensitive-variables", 6),
    Case("sensitive-variables-not-array",
         template(extra=',\n  "sensitive-variables": "password"'), "error",
         "sensitive-variables must be an array", "sensitive-variables", 6),

    # -- build selection ---------------------------------------------------------------------------
    Case("only-selects-nothing", template(), "error", "no builds to run", "-only",
         kwargs={"only": ["ubuntu"]}),
    Case("only-unknown-name", template(), "warning", "-only names build 'ubuntu'", "-only",
         kwargs={"only": ["docker", "ubuntu"]}),
    Case("except-post-processor-name", template(post_processors='"docker-push"'), "ok",
         kwargs={"except_": ["docker-push"]}),
]

