"""Tests for the position-keeping JSON parser of nbdocker.template.json_format."""

from __future__ import annotations

import json

import pytest

from nbdocker.errors import Position, TemplateError
from nbdocker.template import load_template
from nbdocker.template.json_format import MAX_DEPTH, parse

from .template_cases import template


def parse_ok(text: str):
    problems = []
    node = parse(text, "t.json", problems)
    assert problems == []
    return node


def test_json_value_positions():
    node = parse_ok('{\n  "a": [1,\n        "x"],\n  "b": {"c": null}\n}')
    assert node.position == Position("t.json", 1, 1)
    assert node.value["a"].position == Position("t.json", 2, 8)
    assert node.value["a"].value[1].position == Position("t.json", 3, 9)
    assert node.value["b"].value["c"].position == Position("t.json", 4, 14)


def test_json_key_positions():
    node = parse_ok('{\n  "a": 1,\n    "b": 2\n}')
    assert node.value["a"].key_position == Position("t.json", 2, 3)
    assert node.value["b"].key_position == Position("t.json", 3, 5)


def test_json_plain_matches_stdlib():
    text = '{"a": [1, 2.5, -3e2, true, false, null], "b": {"c": "\\u00e9\\n\\ud83d\\ude00"}}'
    assert parse_ok(text).plain() == json.loads(text)


def test_json_key_order_kept():
    node = parse_ok('{"z": 1, "a": 2, "m": 3}')
    assert list(node.plain()) == ["z", "a", "m"]


def test_json_position_at_maps_escapes():
    node = parse_ok('{"k": "a\\tb\\u00e9{{user `x`}}"}').value["k"]
    # Decoded "a\tbé{{user..." : offset 4 is the first "{", which sits after 2 + 6
    # source characters of escapes.
    assert node.value.index("{{") == 4
    assert node.position_at(4) == Position("t.json", 1, 7 + 1 + 1 + 2 + 1 + 6)


def test_json_position_at_negative_offset_is_value_position():
    node = parse_ok('{"k": "abc"}').value["k"]
    assert node.position_at(-1) == node.position


def test_json_every_duplicate_reported():
    problems = []
    parse('{"a": 1, "a": 2, "b": {"c": 1, "c": 2}}', "t.json", problems)
    assert [p.path for p in problems] == ["a", "b.c"]


def test_json_duplicate_names_first_position():
    problems = []
    parse('{\n  "a": 1,\n  "a": 2\n}', "t.json", problems)
    assert "first defined at line 2, column 3" in problems[0].message
    assert problems[0].position == Position("t.json", 3, 3)


def test_json_syntax_error_excerpt_has_caret():
    with pytest.raises(TemplateError) as info:
        parse('{\n  "a": 1\n  "b": 2\n}', "t.json", [])
    message = info.value.problems[0].message
    assert "    2 |   \"a\": 1" in message or "  2 |   \"a\": 1" in message
    assert message.splitlines()[-1].endswith("|   ^")


def test_json_syntax_error_caret_keeps_tabs():
    with pytest.raises(TemplateError) as info:
        parse('{\n\t\t"a" 1\n}', "t.json", [])
    assert info.value.problems[0].message.splitlines()[-1].endswith("| \t\t    ^")


def test_json_syntax_error_says_what_was_expected():
    with pytest.raises(TemplateError) as info:
        parse('{"a" 1}', "t.json", [])
    assert "expected ':' after the key 'a'" in str(info.value)


def test_json_syntax_error_keeps_duplicates():
    with pytest.raises(TemplateError) as info:
        parse('{"a": 1, "a": 2, "b": }', "t.json", [])
    assert len(info.value.problems) == 2


def test_json_nesting_limit():
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(TemplateError) as info:
        parse(text, "t.json", [])
    assert "nested more than" in str(info.value)


def test_json_byte_order_mark_accepted():
    assert parse_ok("\ufeff{}").plain() == {}


def test_json_lone_surrogate_replaced():
    assert parse_ok('"\\ud800x"').plain() == "\ufffdx"


def test_json_long_number_rejected():
    with pytest.raises(TemplateError) as info:
        parse("1" * 500, "t.json", [])
    assert "too long" in str(info.value)


def test_json_huge_exponent_rejected():
    with pytest.raises(TemplateError) as info:
        parse("1e999", "t.json", [])
    assert "out of range" in str(info.value)


@pytest.mark.parametrize("text", ["NaN", "-", "1.", "1e", "[1,]", '{"a":1,}', "'a'", "{,}",
                                  '"\\x"', '"\\u12"', '"a\tb"', "[1 2]", "{\"a\"}", "tru"])
def test_json_invalid_text_raises(text):
    with pytest.raises(TemplateError):
        parse(text, "t.json", [])


def test_json_positions_use_display_name():
    with pytest.raises(TemplateError) as info:
        load_template("<cell>", text=template(BASE_WITH_DUPLICATE))
    assert info.value.problems[0].position.file == "<cell>"


BASE_WITH_DUPLICATE = '"image": "a", "image": "b", "commit": true'
