"""Property tests of the template engine: any input, good or bad, behaves predictably."""

from __future__ import annotations

import datetime

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nbdocker.template.interpolate import Context, InterpolationError, parse, render
from nbdocker.template.interpolate_funcs import go_quote
from nbdocker.template.interpolate_parse import SPACE_CHARS

NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)

# Pieces of template syntax, so that generated text reaches the parser and the
# functions rather than failing on the first character.
FRAGMENTS = [
    "{{", "}}", "{{- ", " -}}", "{{/*", "*/}}", " ", "\n", "`", '"', "'", "\\", "(", ")",
    "|", ",", ":=", "=", "$", "$x", "$x := ", ".", ".Path", ".Nested", ".Key", ".List",
    "nil", "true", "false", "0", "1", "-3", "1.5", "1e3", "0x1F", "'a'", "`image_name`",
    '"%d %s %v %q %x %5.2f"', '"-"', "`ID`", "`%Y-%m-%d`", "`2006-01-02`",
    "if", "else", "end", "with", "range", "user", "env", "timestamp", "isotime", "strftime",
    "pwd", "template_dir", "build_name", "build_type", "packer_version", "build", "split",
    "replace", "replace_all", "lower", "upper", "sed", "and", "or", "not", "eq", "ne", "lt",
    "le", "gt", "ge", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "uuid",
]

template_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40,
).map("".join)


def make_context() -> Context:
    return Context(
        variables={"image_name": "ubuntu:22.04", "count": "3"},
        data={"Path": "/tmp/script.sh", "Nested": {"Key": "v"}, "List": ["a", 1, 2.5]},
        build_name="docker",
        build_type="docker",
        template_dir="/templates",
        env={"HOME": "/root"},
        now=NOW,
    )


@settings(max_examples=1000, deadline=None)
@given(template_text)
def test_parse_raises_only_interpolation_error(text):
    try:
        parse(text)
    except InterpolationError as error:
        assert error.offset == -1 or 0 <= error.offset < len(text)


@settings(max_examples=1000, deadline=None)
@given(template_text, st.booleans(), st.booleans())
def test_render_raises_only_interpolation_error(text, env_allowed, run_time):
    ctx = make_context()
    ctx.env_allowed = env_allowed
    ctx.build_data = {"ID": "c0ffee"} if run_time else None
    try:
        result = render(text, ctx)
    except InterpolationError as error:
        assert 0 <= error.offset < len(text)
    else:
        assert isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_render_any_text_raises_only_interpolation_error(text):
    try:
        render(text, make_context())
    except InterpolationError:
        pass


@given(st.text())
def test_render_text_without_actions_unchanged(text):
    assume("{{" not in text)
    assert render(text, make_context()) is text


@given(st.text())
def test_parse_text_without_actions_uses_nothing(text):
    assume("{{" not in text)
    parsed = parse(text)
    assert parsed.functions == frozenset()
    assert parsed.fields == frozenset()


@settings(max_examples=500, deadline=None)
@given(template_text)
def test_render_deterministic(text):
    assume("uuid" not in text)
    ctx = make_context()
    try:
        first = render(text, ctx)
    except InterpolationError as error:
        first = ("error", error.message, error.offset)
    try:
        second = render(text, ctx)
    except InterpolationError as error:
        second = ("error", error.message, error.offset)
    assert first == second


@given(st.text())
def test_raw_string_renders_its_content(text):
    assume("`" not in text)
    assert render("{{`" + text + "`}}", make_context()) == text.replace("\r", "")


@given(st.text())
def test_quoted_string_round_trips(text):
    assert render("{{" + go_quote(text) + "}}", make_context()) == text


@given(st.text(), st.text())
def test_trim_markers_strip_adjacent_spaces(before, after):
    assume("{{" not in before + after)
    assume(not before.endswith("{"))
    assume(not after.startswith("}"))
    rendered = render(before + "{{- `x` -}}" + after, make_context())
    assert rendered == before.rstrip(SPACE_CHARS) + "x" + after.lstrip(SPACE_CHARS)


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_integer_literals_print_as_written(number):
    assert render("{{ " + str(number) + " }}", make_context()) == str(number)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
       st.text(min_size=1, max_size=3), st.integers(min_value=0, max_value=5))
def test_split_matches_python_split(text, separator, index):
    pieces = text.split(separator)
    template = "{{ split " + go_quote(text) + " " + go_quote(separator) + f" {index} " + "}}"
    if index < len(pieces):
        assert render(template, make_context()) == pieces[index]
    else:
        try:
            render(template, make_context())
        except InterpolationError as error:
            assert "out of range" in error.message
        else:
            raise AssertionError("split past the last piece did not raise")
