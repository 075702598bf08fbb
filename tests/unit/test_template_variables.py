"""Tests for user variables: precedence, var files, references, env, sensitive values."""

from __future__ import annotations

import json

import pytest

from nbdocker.errors import TemplateError
from nbdocker.template import load_template

from .template_cases import template

IMAGE_FROM_VARIABLE = '"image": "{{user `image`}}", "commit": true'


def write_var_file(directory, name: str, values) -> str:
    path = directory / name
    path.write_text(json.dumps(values))
    return str(path)


def load(text: str, **kwargs):
    return load_template("t.json", text=text, **kwargs)


def test_variables_default_used():
    loaded = load(template(IMAGE_FROM_VARIABLE, variables='"image": "alpine"'))
    assert loaded.builds[0].builder.config["image"] == "alpine"


def test_variables_var_file_beats_default(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", {"image": "debian"})
    loaded = load(template(IMAGE_FROM_VARIABLE, variables='"image": "alpine"'),
                  var_files=[var_file])
    assert loaded.values["image"] == "debian"


def test_variables_later_var_file_wins(tmp_path):
    first = write_var_file(tmp_path, "a.json", {"image": "debian"})
    second = write_var_file(tmp_path, "b.json", {"image": "fedora"})
    loaded = load(template(IMAGE_FROM_VARIABLE, variables='"image": "alpine"'),
                  var_files=[first, second])
    assert loaded.values["image"] == "fedora"


def test_variables_cli_value_beats_var_file(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", {"image": "debian"})
    loaded = load(template(IMAGE_FROM_VARIABLE, variables='"image": "alpine"'),
                  var_files=[var_file], variables={"image": "busybox"})
    assert loaded.values["image"] == "busybox"


def test_variables_var_file_non_string(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", {"image": "debian", "count": 3})
    with pytest.raises(TemplateError) as info:
        load(template(IMAGE_FROM_VARIABLE, variables='"image": "alpine", "count": "1"'),
             var_files=[var_file])
    problem = info.value.problems[0]
    assert "variable 'count' in var file" in problem.message
    assert var_file in problem.message
    assert problem.position.file == var_file


def test_variables_var_file_missing(tmp_path):
    with pytest.raises(TemplateError) as info:
        load(template(), var_files=[str(tmp_path / "nope.json")])
    assert "var file" in str(info.value)
    assert "not found" in str(info.value)


def test_variables_var_file_bad_json(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{"image": "a",}')
    with pytest.raises(TemplateError) as info:
        load(template(), var_files=[str(path)])
    assert info.value.problems[0].position.file == str(path)


def test_variables_var_file_not_object(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", ["a"])
    with pytest.raises(TemplateError) as info:
        load(template(), var_files=[var_file])
    assert "must contain a JSON object" in str(info.value)


def test_variables_undeclared_var_file_value_warns(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", {"imag": "debian"})
    loaded = load(template(variables='"image": "alpine"'), var_files=[var_file])
    assert "did you mean 'image'?" in loaded.warnings[0].message


def test_variables_undeclared_cli_value_is_usable():
    loaded = load(template('"image": "{{user `extra`}}", "commit": true'),
                  variables={"extra": "alpine"})
    assert loaded.builds[0].builder.config["image"] == "alpine"


def test_variables_required_error_names_fix():
    with pytest.raises(TemplateError) as info:
        load(template(variables='"token": null'))
    assert "required variable 'token' is not set; pass it with -var token=VALUE" in str(info.value)


def test_variables_required_set_by_var_file(tmp_path):
    var_file = write_var_file(tmp_path, "v.json", {"token": "t"})
    loaded = load(template(variables='"token": null'), var_files=[var_file])
    assert loaded.values["token"] == "t"


def test_variables_chain_of_references():
    loaded = load(template(variables='"c": "{{user `b`}}!", "b": "{{user `a`}}-b", "a": "a"'))
    assert loaded.values["c"] == "a-b!"


def test_variables_cli_value_feeds_default():
    loaded = load(template(variables='"name": "x", "tag": "{{user `name`}}:1"'),
                  variables={"name": "web"})
    assert loaded.values["tag"] == "web:1"


def test_variables_env_in_default():
    loaded = load(template(variables='"home": "{{env `HOME`}}"'), env={"HOME": "/home/u"})
    assert loaded.values["home"] == "/home/u"


def test_variables_env_outside_variables_rejected():
    with pytest.raises(TemplateError) as info:
        load(template('"image": "{{env `IMAGE`}}", "commit": true'), env={"IMAGE": "a"})
    assert "allowed only in the default values of the variables section" in str(info.value)


def test_variables_unset_required_reported_once():
    with pytest.raises(TemplateError) as info:
        load(template(variables='"a": null, "b": "{{user `a`}}"'))
    assert len(info.value.problems) == 1


def test_variables_declared_model():
    loaded = load(template(variables='"a": "x", "b": null'), variables={"b": "y"},
                  )
    assert loaded.variables["a"].default == "x"
    assert loaded.variables["b"].required
    assert loaded.variables["b"].default is None
    assert loaded.variables["a"].position.line == 5


def test_variables_sensitive_values_collected():
    loaded = load(template(variables='"password": "hunter2", "user": "me"',
                           extra=',\n  "sensitive-variables": ["password"]'))
    assert loaded.sensitive_values == ["hunter2"]
    assert loaded.variables["password"].sensitive


def test_variables_sensitive_value_from_cli():
    loaded = load(template(variables='"password": null',
                           extra=',\n  "sensitive-variables": ["password"]'),
                  variables={"password": "s3cret"})
    assert loaded.sensitive_values == ["s3cret"]


def test_variables_sensitive_value_masked_in_errors():
    text = template('"image": "{{user `password`}}", "commit": true',
                    variables='"password": "Bad Secret"',
                    extra=',\n  "sensitive-variables": ["password"]')
    with pytest.raises(TemplateError) as info:
        load(text)
    assert "Bad Secret" not in str(info.value)
    assert "<sensitive>" in str(info.value)


def test_variables_login_password_is_sensitive():
    loaded = load(template('"image": "a", "commit": true, "login": true, '
                           '"login_password": "pw123", "login_username": "u"'))
    assert "pw123" in loaded.sensitive_values


def test_variables_rendered_at_load_time_once():
    # Builder names and option values see the same values.
    loaded = load(template('"image": "{{user `image`}}", "commit": true, "name": "{{user `image`}}"',
                           variables='"image": "alpine"'))
    assert loaded.builds[0].name == "alpine"


def test_variables_unset_required_not_reported_at_uses():
    with pytest.raises(TemplateError) as info:
        load(template('"image": "{{user `image`}}", "commit": true', variables='"image": null'))
    assert [p.path for p in info.value.problems] == ["variables.image"]
