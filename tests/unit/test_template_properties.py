"""Property tests: whatever the text, the template API raises nothing but TemplateError."""

from __future__ import annotations

import json
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbdocker.errors import TemplateError
from nbdocker.template import check_syntax, fix_template, inspect_template, load_template
from nbdocker.template.schema import schemas_for

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

#: Pieces of JSON and of templates, so random text often gets past the first character.
TOKENS = ['{', '}', '[', ']', ',', ':', ' ', '\n', '"', '\\', '"builders"', '"type"', '"docker"',
          '"shell"', '"image"', '"commit"', '"inline"', '"post-processors"', '"provisioners"',
          '"variables"', 'true', 'false', 'null', '0', '-1.5e3', '"{{user `x`}}"', '"{{', '}}"',
          '"{{build `ID`}}"', '"\\u00e9"', '"\\ud800"', '//', "'", '01', '"_c"']

KEYS = sorted({key for kind in ("builder", "provisioner", "post-processor")
               for schema in schemas_for(kind).values() for key in schema.known_keys()}
              | {"builders", "provisioners", "post-processors", "variables", "name", "x", "_c",
                 "sensitive-variables", "error-cleanup-provisioner", "path", "build"})
TYPES = ["docker", "shell", "file", "shell-local", "sleep", "breakpoint", "docker-tag",
         "docker-push", "docker-import", "docker-save", "manifest", "checksum", "artifice",
         "dockr", ""]
STRINGS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["{{user `x`}}", "{{env `HOME`}}", "{{build `ID`}}", "{{.Image}}", "{{",
                     "{{timestamp}}", "{{template_dir}}", "ubuntu: 14.04", "a/b", "10s", "true",
                     "5", "USER a,RUN b", "{{user `x`", "{{ if }}", "{{uuid}}", "x=1", "~/a"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False), STRINGS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
COMPONENT = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6).flatmap(
    lambda options: st.sampled_from(TYPES).map(lambda kind: {**options, "type": kind}))
TEMPLATES = st.fixed_dictionaries(
    {"builders": st.lists(COMPONENT, max_size=3)},
    optional={
        "provisioners": st.one_of(st.lists(COMPONENT, max_size=3), VALUES),
        "post-processors": st.lists(st.one_of(COMPONENT, st.lists(COMPONENT, max_size=3),
                                              st.sampled_from(TYPES), VALUES), max_size=3),
        "variables": st.one_of(st.dictionaries(st.sampled_from(["x", "y", "HOME"]),
                                               st.one_of(st.none(), STRINGS)), VALUES),
        "sensitive-variables": st.one_of(st.lists(st.sampled_from(["x", "y", "z"])), VALUES),
        "error-cleanup-provisioner": st.one_of(COMPONENT, VALUES),
        "min_packer_version": st.one_of(STRINGS, VALUES),
        "_c": VALUES,
        "x": VALUES,
    })
VARIABLES = st.dictionaries(st.sampled_from(["x", "y", "z"]), STRINGS, max_size=3)
NAMES = st.lists(st.sampled_from(["docker", "a", "docker-push", ""]), max_size=2)


def run_everything(text: str, **kwargs) -> None:
    """Call every entry point; only TemplateError may escape."""
    with tempfile.TemporaryDirectory() as directory:
        for call in (
            lambda: load_template("t.json", text=text, directory=directory, env={}, **kwargs),
            lambda: check_syntax("t.json", text=text),
            lambda: inspect_template("t.json", text=text, variables=kwargs.get("variables")),
            lambda: fix_template("t.json", text=text),
        ):
            try:
                call()
            except TemplateError:
                pass


@SETTINGS
@given(st.text(max_size=200))
def test_properties_any_text(text):
    run_everything(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_properties_json_like_text(text):
    run_everything(text)


@SETTINGS
@given(TEMPLATES, VARIABLES, NAMES, NAMES)
def test_properties_template_shaped(document, variables, only, except_):
    run_everything(json.dumps(document), variables=variables, only=only, except_=except_)


@SETTINGS
@given(TEMPLATES, st.data())
def test_properties_mutated_templates(document, data):
    text = json.dumps(document, indent=1)
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 5))
    insert = data.draw(st.sampled_from(TOKENS))
    run_everything(text[:position] + insert + text[position + cut:])
