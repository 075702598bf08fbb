"""Tests of the Packer template engine: syntax, every function, errors and the API."""

from __future__ import annotations

import datetime
import os
import re
import uuid
from dataclasses import dataclass

import pytest

from nbdocker.errors import UserError
from nbdocker.template.interpolate import (BUILD_DATA_KEYS, PACKER_VERSION, Context,
                                           InterpolationError, parse, render,
                                           render_until_stable)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
NOW_UNIX = "1714979289"


@dataclass
class ImageRef:
    name: str
    tag: str


def make_context(**overrides) -> Context:
    values = {
        "variables": {"image_name": "ubuntu:22.04", "count": "3", "tag": "v1-2-3", "empty": ""},
        "data": {"Path": "/tmp/script.sh", "Vars": "A='1'", "Nested": {"Key": "v", "N": 2},
                 "List": ["a", "b", "c"], "Zero": 0, "Nil": None},
        "build_name": "docker",
        "build_type": "docker",
        "template_dir": "/templates",
        "env": {"HOME": "/root", "EMPTY": ""},
        "now": NOW,
    }
    values.update(overrides)
    return Context(**values)


def render_with(text: str, **overrides) -> str:
    return render(text, make_context(**overrides))


# --- Rendering: one row per behaviour -------------------------------------------------

RENDER_CASES = [
    # Plain text and escapes of the delimiters.
    ("", ""),
    ("no actions here }} {", "no actions here }} {"),
    ('{{"{{"}}user `x`{{"}}"}}', "{{user `x`}}"),
    ("{{`{{`}}", "{{"),

    # user, env and other Packer functions.
    ("{{user `image_name`}}", "ubuntu:22.04"),
    ('{{ user "image_name" }}', "ubuntu:22.04"),
    ("[{{user `empty`}}]", "[]"),
    ("{{timestamp}}", NOW_UNIX),
    ("{{isotime}}", "2024-05-06T07:08:09Z"),
    ('{{isotime "2006-01-02"}}', "2024-05-06"),
    ('{{strftime "%Y%m%d-%H%M%S"}}', "20240506-070809"),
    ("{{template_dir}}", "/templates"),
    ("{{build_name}}", "docker"),
    ("{{build_type}}", "docker"),
    ("{{packer_version}}", "1.16.0"),
    ("{{build `ID`}}", "{{.ID}}"),
    ("{{ build `PackerRunUUID` }}", "{{.PackerRunUUID}}"),
    ('{{split "a-b-c" "-" 0}}', "a"),
    ('{{split "a-b-c" "-" 2}}', "c"),
    ('{{split "abc" "" 1}}', "b"),
    ('{{split (user "tag") "-" 1}}', "2"),
    ('{{replace "-" "/" 1 "a-b-c"}}', "a/b-c"),
    ('{{replace "-" "/" -1 "a-b-c"}}', "a/b/c"),
    ('{{replace "" "." 2 "ab"}}', ".a.b"),
    ('{{replace_all "-" "/" "a-b-c"}}', "a/b/c"),
    ('{{lower "MiXeD"}}', "mixed"),
    ('{{upper "MiXeD é"}}', "MIXED É"),
    ('{{upper "straße"}}', "STRAßE"),

    # Go built-ins.
    ("{{and 1 2 3}}", "3"),
    ('{{and 1 0 "x"}}', "0"),
    ('{{or 0 "" "x"}}', "x"),
    ("{{or 0 false}}", "false"),
    ("{{not 0}}", "true"),
    ('{{not "x"}}', "false"),
    ("{{eq 1 1}}", "true"),
    ("{{eq 1 2 3 1}}", "true"),
    ('{{eq "a" "b"}}', "false"),
    ("{{eq 1.5 1.5}}", "true"),
    ("{{eq .Nil nil}}", "true"),
    ('{{eq "a" nil}}', "false"),
    ('{{ne "a" "b"}}', "true"),
    ("{{lt 1 2}}", "true"),
    ('{{lt "b" "a"}}', "false"),
    ("{{le 2 2}}", "true"),
    ("{{gt 2.5 1.5}}", "true"),
    ("{{ge 1 2}}", "false"),
    ('{{len "héllo"}}', "6"),
    ("{{len .List}}", "3"),
    ("{{len .Nested}}", "2"),
    ('{{index "abc" 1}}', "98"),
    ("{{index .List 2}}", "c"),
    ('{{index .Nested "Key"}}', "v"),
    ('{{slice "abcdef" 1 3}}', "bc"),
    ('{{slice "abcdef" 2}}', "cdef"),
    ('{{slice "abcdef"}}', "abcdef"),
    ("{{slice .List 1 2 3}}", "[b]"),
    ('{{print "a" "b" 1 2 "c"}}', "ab1 2c"),
    ("{{print 1.0 2.5 1e6 123456.0 0.00001 -0.0}}", "1 2.5 1e+06 123456 1e-05 -0"),
    ("{{print nil true}}", "<nil> true"),
    ('{{println "a" 1}}', "a 1\n"),
    ('{{printf "%s-%d" "x" 42}}', "x-42"),
    ('{{printf "%05d|%-4s|%4s|%x|%X|%o|%b" 42 "ab" "ab" 255 255 8 5}}',
     "00042|ab  |  ab|ff|FF|10|101"),
    ('{{printf "%q %v %t %c %U" "a\\n\\"" 1.5 true 65 65}}', '"a\\n\\"" 1.5 true A U+0041'),
    ('{{printf "%.2f|%8.3f|%e|%g|%+d" 3.14159 2.5 1234.5678 0.000012 5}}',
     "3.14|   2.500|1.234568e+03|1.2e-05|+5"),
    ('{{printf "%d %s" "x"}}', "%!d(string=x) %!s(MISSING)"),
    ('{{printf "%d" 1 2}}', "1%!(EXTRA int=2)"),
    ('{{printf "%v|%s" .List .Nested}}', "[a b c]|map[Key:v N:%!s(int=2)]"),
    ('{{printf "100%%"}}', "100%"),
    ('{{html "<a href=\'x\'>&\\"</a>"}}', "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"),
    ('{{js "it\'s <b>=\\"\\\\\\n"}}', "it\\'s \\u003Cb\\u003E\\u003D\\\"\\\\\\u000A"),
    ('{{urlquery "a b/c?d=é&e"}}', "a+b%2Fc%3Fd%3D%C3%A9%26e"),
    ("{{html 1 2}}", "1 2"),

    # Pipes: the piped value is the last argument.
    ('{{ user "image_name" | upper }}', "UBUNTU:22.04"),
    ('{{ "a-b" | replace_all "-" "_" | upper }}', "A_B"),
    ('{{ "a-b-c" | replace "-" "+" 1 }}', "a+b-c"),
    ("{{ 3 | printf \"%d-%s\" 1 }}", "1-%!s(int=3)"),
    ("{{ isotime | lower }}", "2024-05-06t07:08:09z"),
    ("{{ 0 | and 1 }}", "0"),
    ('{{ "" | or "x" }}', "x"),

    # Nesting with parentheses.
    ('{{ upper (user "image_name") }}', "UBUNTU:22.04"),
    ('{{ printf "%s/%s" (lower "A") (upper (lower "B")) }}', "a/B"),
    ('{{ (user "count") }}', "3"),
    ("{{ (.Nested).Key }}", "v"),

    # Fields, dot and variables.
    ("{{.Path}}", "/tmp/script.sh"),
    ("{{ .Nested.Key }}", "v"),
    ("{{ $.Path }}", "/tmp/script.sh"),
    ("{{ .Nested }}", "map[Key:v N:2]"),
    ("{{ .List }}", "[a b c]"),
    ("{{ .Nil }}", "<no value>"),
    ("{{ .ID }}", "{{.ID}}"),
    ('{{ $x := user "count" }}[{{ $x }}]', "[3]"),
    ('{{ $x := 1 }}{{ $x = "two" }}{{ $x }}', "two"),
    ("{{ $ := 1 }}", ""),
    ("{{ $n := .Nested }}{{ $n.Key }}", "v"),
    ("{{ (index .List 0) }}", "a"),

    # if, else and with.
    ("{{if true}}yes{{end}}", "yes"),
    ("{{if 0}}yes{{else}}no{{end}}", "no"),
    ('{{if ""}}a{{else if .Zero}}b{{else if .Path}}c{{else}}d{{end}}', "c"),
    ("{{if .List}}has items{{end}}", "has items"),
    ("{{with .Nested}}{{.Key}}-{{$.Path}}{{end}}", "v-/tmp/script.sh"),
    ("{{with .Zero}}x{{else}}empty{{end}}", "empty"),
    ("{{with .Zero}}x{{else with .Path}}{{.}}{{end}}", "/tmp/script.sh"),
    ('{{if $x := user "count"}}{{$x}}{{end}}', "3"),
    ("{{if eq (user `count`) `3`}}three{{end}}", "three"),

    # Trim markers and comments.
    ("a  {{- `x` -}}  b", "axb"),
    ("a \n\t{{- `x` }} b", "ax b"),
    ("a {{ `x` -}} \n b", "a xb"),
    ("a {{-3}} b", "a -3 b"),
    ("a {{- -3}} b", "a-3 b"),
    ("a{{/* comment */}}b", "ab"),
    ("a {{- /* comment */ -}} b", "ab"),
    ("a{{/* } */}}b", "ab"),
    ("{{ `x`   -}}  y", "xy"),
    ("line1\n{{- if true }}\nline2\n{{- end }}", "line1\nline2"),

    # Quoting and literals.
    ('{{"tab\\there"}}', "tab\there"),
    ('{{"\\x41\\101\\u00e9\\U0001F600\\a"}}', "AAé\U0001F600\a"),
    ('{{"\\xc3\\xa9"}}', "é"),
    ('{{"\\xff"}}', "\ufffd"),
    ("{{`raw \\n \"quotes\"`}}", 'raw \\n "quotes"'),
    ("{{`multi\r\nline`}}", "multi\nline"),
    ("{{'a'}} {{'\\n'}} {{'\\''}} {{'é'}}", "97 10 39 233"),
    ("{{ 0x1F }} {{ 0X1f }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}", "31 31 15 15 5 1000"),
    ("{{ 1.5 }} {{ .5 }} {{ 1e3 }} {{ -2.5e-3 }} {{ 0x1p4 }} {{ +7 }}",
     "1.5 0.5 1000 -0.0025 16 7"),
    ('{{ split "a-b" "-" 1e0 }}', "b"),
    ("{{ true }} {{ false }}", "true false"),
    ("{{\n  user\n  `count`\n}}", "3"),
]


@pytest.mark.parametrize(("text", "expected"), RENDER_CASES)
def test_render_table(text, expected):
    assert render_with(text) == expected


# --- Errors: one row per failure, with a fragment of its message -----------------------

ERROR_CASES = [
    # user
    ("{{user `imag_name`}}", {},
     "user variable 'imag_name' is not defined; did you mean 'image_name'?"),
    ("{{user `IMAGE_NAME`}}", {}, "did you mean 'image_name'?"),
    ("{{user `x`}}", {"variables": {}}, "the template defines no variables"),
    ("{{user `zzz`}}", {}, "defined variables: count, empty, image_name, tag"),
    ("{{user}}", {}, "wrong number of arguments for user: expected 1, got 0"),
    ("{{user 1}}", {}, "invalid argument 1 for user: expected a string, got int '1'"),
    ("{{user nil}}", {}, "expected a string, got nil"),
    # env and the other context-dependent functions
    ("{{env `HOME`}}", {}, "env vars are not allowed here"),
    ("{{template_dir}}", {"template_dir": None}, "template path not available"),
    ("{{build_name}}", {"build_name": None}, "build_name not available here"),
    ("{{build_type}}", {"build_type": None}, "build_type not available here"),
    ("{{build `Foo`}}", {}, "build data 'Foo' is not defined"),
    ("{{build `Foo`}}", {}, "Declared keys: ID, ConnType, PackerRunUUID"),
    ("{{build `id`}}", {}, "did you mean 'ID'?"),
    ("{{build `Digest`}}", {"build_data": {"ID": "c1"}}, "'Digest' is not available in this step"),
    ("{{build `Foo`}}", {"build_data": {"ID": "c1"}}, "is not defined. Available keys: ID"),
    ("{{isotime `2006` `01`}}", {}, "isotime takes at most one layout, got 2"),
    ("{{strftime `%Q`}}", {}, "strftime directive '%Q' is not supported"),
    ("{{strftime `100%`}}", {}, "ends with a lone '%'"),
    # split
    ('{{split "a-b" "-" 2}}', {}, "split: index 2 is out of range"),
    ('{{split "a-b" "-" -1}}', {}, "split: index -1 is out of range"),
    ('{{split "a-b" "-" "1"}}', {},
     "invalid argument 3 for split: expected an integer, got string '1'"),
    ('{{split "a-b" "-" 1.5}}', {}, "expected an integer, got 1.5"),
    ('{{split "a-b" "-"}}', {}, "wrong number of arguments for split: expected 3, got 2"),
    # rejected and unknown functions
    ("{{sed `s/a/b/` `x`}}", {}, "use replace or replace_all instead"),
    ("{{clean_resource_name `x`}}", {}, "is not defined for the docker builder"),
    ("{{call `x`}}", {}, "function 'call' is not supported"),
    ("{{consul_key `a`}}", {}, "nbdocker reads no secret stores"),
    ("{{vault `a` `b`}}", {}, "function 'vault' is not supported"),
    ("{{aws_secretsmanager `a`}}", {}, "function 'aws_secretsmanager' is not supported"),
    ("{{usr `x`}}", {}, "function 'usr' not defined; did you mean 'user'?"),
    ("{{isotme}}", {}, "did you mean 'isotime'?"),
    ("{{frobnicate}}", {}, "function 'frobnicate' not defined"),
    # fields
    ("{{.Pth}}", {}, "field .Pth is not defined here; did you mean 'Path'?"),
    ("{{.Pth}}", {},
     "did you mean 'Path'? Available fields: .List, .Nested, .Nil, .Path, .Vars, .Zero"),
    ("{{.Path}}", {"data": {}}, "no dot fields are available here"),
    ("{{.Nested.Kye}}", {}, "map has no key 'Kye'; did you mean 'Key'? Keys: Key, N"),
    ("{{.Path.Base}}", {}, "can't read field .Base of string '/tmp/script.sh'"),
    ("{{with .Zero}}{{else with .Path}}{{.Name}}{{end}}", {}, "can't read field .Name of string"),
    ("{{ .Nil.X }}", {}, "can't read field .X of nil"),
    ("{{ build_name.X }}", {}, "can't read field .X of string 'docker'"),
    # unsupported control structures
    ("{{range .List}}{{.}}{{end}}", {}, "{{range}} is not supported in Packer templates"),
    ('{{define "x"}}{{end}}', {}, "{{define}} is not supported"),
    ('{{template "x"}}', {}, "{{template}} is not supported"),
    ('{{block "x" .}}{{end}}', {}, "{{block}} is not supported"),
    ("{{break}}", {}, "{{break}} is not supported"),
    ("{{continue}}", {}, "{{continue}} is not supported"),
    ("{{ $i, $x := .List }}", {}, "declaring two variables is only valid in {{range}}"),
    # lexical errors
    ("a {{ user `x`", {}, "unclosed action"),
    ("{{", {}, "unclosed action"),
    ("{{/* never closed }}", {}, "unclosed comment"),
    ("{{/* c */ x}}", {}, "comment ends before closing delimiter"),
    ('{{ "abc }}', {}, "unterminated quoted string"),
    ('{{ "a\nb" }}', {}, "unterminated quoted string"),
    ("{{ `abc }}", {}, "unterminated raw string"),
    ("{{ 'a }}", {}, "unterminated character constant"),
    ("{{ 'ab' }}", {}, "must hold exactly one character"),
    ('{{ "\\q" }}', {}, "invalid escape '\\q'"),
    ('{{ "\\x4" }}', {}, "expected 2 hex digits"),
    ('{{ "\\ud800" }}', {}, "not a Unicode code point"),
    ('{{ "\\400" }}', {}, "invalid octal escape"),
    ('{{ "\\\'" }}', {}, "invalid escape"),
    ("{{ 08 }}", {}, "bad number syntax: '08'"),
    ("{{ 1x }}", {}, "bad number syntax"),
    ("{{ 1-2 }}", {}, "bad number syntax"),
    ("{{ 3i }}", {}, "complex number '3i' is not supported"),
    ("{{ 9223372036854775808 }}", {}, "out of range: integers are 64-bit"),
    ("{{ 1e400 }}", {}, "out of range for float64"),
    ("{{ user`x` }}", {}, "bad character '`' after 'user'"),
    ("{{ $x+1 }}", {}, "bad character '+' after '$x'"),
    ("{{ : }}", {}, "expected ':=' after ':'"),
    ("{{ \u00a7 }}", {}, "unrecognized character in action"),
    ("{{ (user `x` }}", {}, "unclosed left parenthesis"),
    ("{{ user `x`) }}", {}, "unexpected right parenthesis"),
    # parse errors
    ("{{}}", {}, "missing value for command"),
    ("{{ }}", {}, "missing value for command"),
    ("{{ () }}", {}, "missing value for parenthesized pipeline"),
    ("{{ user `x` | }}", {}, "missing command after '|'"),
    ("{{ | upper }}", {}, "unexpected '|' in command"),
    ('{{ "x" | "y" }}', {}, "cannot pipe a value into '\"y\"'"),
    ("{{ upper `x` | .Path }}", {}, "stage 2 of a pipeline must be a function"),
    ('{{ "x" 3 }}', {}, "is not a function, so it cannot take the argument '3'"),
    ("{{ .Path `x` }}", {}, "'.Path' is not a function"),
    ('{{ (upper "x") "y" }}', {}, "'(upper \"x\")' is not a function"),
    ("{{ nil }}", {}, "nil is not a command"),
    ('{{ print "a""b" }}', {}, "unexpected '\"b\"' after '\"a\"': separate arguments with spaces"),
    ("{{ print , }}", {}, "unexpected ','"),
    ("{{ `x`.Y }}", {}, "unexpected '.Y' after '`x`'"),
    ("{{end}}", {}, "unexpected {{end}} without a matching {{if}} or {{with}}"),
    ("{{else}}", {}, "unexpected {{else}}"),
    ("{{if true}}x", {}, "{{if}} has no matching {{end}}"),
    ("{{with .Path}}x{{else}}y", {}, "{{with}} ... {{else}} has no matching {{end}}"),
    ("{{if true}}x{{else}}y{{else}}z{{end}}", {}, "has no matching {{end}}"),
    ("{{if}}x{{end}}", {}, "missing value for if"),
    ("{{if true}}x{{end 1}}", {}, "unexpected '1' in {{end}}"),
    ("{{if true}}x{{else 1}}y{{end}}", {}, "unexpected '1' in {{else}}"),
    ("{{if true}}{{else with .Path}}{{end}}", {}, "unexpected 'with' in {{else}}"),
    ("{{ $y }}", {}, "undefined variable '$y'"),
    ("{{ $y = 1 }}", {}, "undefined variable '$y': declare it with ':='"),
    ("{{ $y := $y }}", {}, "undefined variable '$y'"),
    ("{{if true}}{{$z := 1}}{{end}}{{$z}}", {}, "undefined variable '$z'"),
    ("{{if $z := 0}}{{else}}{{end}}{{$z}}", {}, "undefined variable '$z'"),
    ("{{" + "(" * 60 + "1" + ")" * 60 + "}}", {}, "nested more than 50 levels deep"),
    ("{{if 1}}" * 60 + "{{end}}" * 60, {}, "nested more than 50 levels deep"),
    # calls and types
    ("{{ printf }}", {}, "wrong number of arguments for printf: expected at least 1, got 0"),
    ("{{ printf 3 }}", {}, "invalid argument 1 for printf: expected a string, got int '3'"),
    ("{{ upper nil }}", {}, "expected a string, got nil"),
    ("{{ upper .List }}", {}, "got []interface {} '[a b c]'"),
    ("{{ eq 1 }}", {}, "wrong number of arguments for eq: expected at least 2, got 1"),
    ("{{ and }}", {}, "wrong number of arguments for and: expected at least 1, got 0"),
    ("{{ not 1 2 }}", {}, "wrong number of arguments for not: expected 1, got 2"),
    ('{{ `x` | not 1 }}', {}, "wrong number of arguments for not: expected 1, got 2"),
    ("{{ eq 1 1.0 }}", {}, "incompatible types for comparison: int and float64"),
    ('{{ eq "1" 1 }}', {}, "incompatible types for comparison: string and int"),
    ("{{ eq .List .List }}", {}, "non-comparable type"),
    ("{{ lt true false }}", {}, "invalid type for comparison: bool"),
    ('{{ lt 1 "2" }}', {}, "incompatible types for comparison: int and string"),
    ("{{ gt nil 1 }}", {}, "invalid type for comparison"),
    ("{{ len 3 }}", {}, "len of int value '3' is not defined"),
    ("{{ len nil }}", {}, "len of <nil>"),
    ("{{ index .List 3 }}", {}, "index out of range: 3"),
    ("{{ index .List -1 }}", {}, "index out of range: -1"),
    ('{{ index .List "a" }}', {}, "cannot index []interface {} with string"),
    ('{{ index .Nested "Kye" }}', {}, "map has no key 'Kye'; did you mean 'Key'?"),
    ("{{ index nil 1 }}", {}, "index of untyped nil"),
    ("{{ index 5 1 }}", {}, "can't index item of type int"),
    ("{{ slice `abc` 1 2 3 }}", {}, "cannot 3-index slice a string"),
    ("{{ slice .List 1 2 3 4 }}", {}, "too many slice indexes: 4"),
    ("{{ slice `abc` 2 1 }}", {}, "invalid slice index: 2 > 1"),
    ("{{ slice `abc` 4 }}", {}, "index out of range: 4"),
    ("{{ slice .List 0 3 2 }}", {}, "invalid slice index: 3 > 2"),
    ("{{ slice nil }}", {}, "slice of untyped nil"),
    ("{{ slice 3 }}", {}, "can't slice item of type int"),
]


@pytest.mark.parametrize(("text", "overrides", "fragment"), ERROR_CASES)
def test_render_errors(text, overrides, fragment):
    with pytest.raises(InterpolationError, match=re.escape(fragment)):
        render_with(text, **overrides)


# --- Go reference-time layouts (isotime) and strftime ------------------------------------

LAYOUT_CASES = [
    ("2006-01-02T15:04:05Z07:00", NOW, "2024-05-06T07:08:09Z"),
    ("20060102150405", NOW, "20240506070809"),
    ("Mon Jan 2", NOW, "Mon May 6"),
    ("Monday, January 02 2006", NOW, "Monday, May 06 2024"),
    ("2006-1-2 3:4:5", NOW, "2024-5-6 7:8:9"),
    ("Jan _2 06", NOW, "May  6 24"),
    ("__2 002", NOW, "127 127"),
    ("3:04PM 03:04pm", NOW, "7:08AM 07:08am"),
    ("3PM", datetime.datetime(2024, 5, 6, 0, 30, tzinfo=UTC), "12AM"),
    ("3PM", datetime.datetime(2024, 5, 6, 13, 30, tzinfo=UTC), "1PM"),
    ("MST -0700 -07:00 -07 -070000 -07:00:00", NOW, "UTC +0000 +00:00 +00 +000000 +00:00:00"),
    ("Z0700 Z07:00 Z07", NOW, "Z Z Z"),
    ("15:04:05.000", NOW, "07:08:09.123"),
    ("15:04:05,000000", NOW, "07:08:09,123456"),
    ("15:04:05.000000000", NOW, "07:08:09.123456000"),
    ("05.999999999", NOW, "09.123456"),
    ("05.9", datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), "09"),
    ("05.000x", NOW, "09.123x"),
    ("Janet Month 2006_2006", NOW, "Janet Month 2024_2024"),
    ("05.0007", NOW, "09.0007"),
    ("literal text: +", NOW, "literal text: +"),
]


@pytest.mark.parametrize(("layout", "moment", "expected"), LAYOUT_CASES)
def test_isotime_layouts(layout, moment, expected):
    assert render(f"{{{{isotime `{layout}`}}}}", make_context(now=moment)) == expected


STRFTIME_CASES = [
    ("%Y-%m-%d %H:%M:%S", "2024-05-06 07:08:09"),
    ("%a %A %b %B %h", "Mon Monday May May May"),
    ("%c", "Mon May  6 07:08:09 2024"),
    ("%D %x %F %T %X %R %r", "05/06/24 05/06/24 2024-05-06 07:08:09 07:08:09 07:08 07:08:09 AM"),
    ("%C %y %G %g %V %j", "20 24 2024 24 19 127"),
    ("%d %e %k %l %I %p %P", "06  6  7  7 07 AM am"),
    ("%u %w %U %W", "1 1 18 19"),
    ("%s %z %Z", f"{NOW_UNIX} +0000 UTC"),
    ("%f %L", "123456 123"),
    ("100%% %n%t", "100% \n\t"),
    ("no directives", "no directives"),
]


@pytest.mark.parametrize(("template", "expected"), STRFTIME_CASES)
def test_strftime_directives(template, expected):
    assert render(f"{{{{strftime `{template}`}}}}", make_context()) == expected


# --- printf and value formatting ------------------------------------------------------

PRINTF_CASES = [
    ("%d", [-42], "-42"),
    ("%5d|%-5d|%05d|%+05d|% d", [42, 42, -42, 42, 42], "   42|42   |-0042|+0042| 42"),
    ("%.3d|%8.3d|%.0d|", [7, 7, 0], "007|     007||"),
    ("%x|%X|%#x|%#o|%O|%#b", [-255, 255, 255, 8, 8, 5], "-ff|FF|0xff|010|0o10|0b101"),
    ("%c|%q|%U|%#U", [0x1F600, 97, 0x41, 0x41], "\U0001F600|'a'|U+0041|U+0041 'A'"),
    ("%v|%.1f|%6.2f|%-8.2f|%08.3f", [2.5, 2.25, 3.14159, 1.5, -3.14159],
     "2.5|2.2|  3.14|1.50    |-003.142"),
    ("%e|%E|%.2e|%g|%.3g|%G", [1234.5678, 0.00012, 1e21, 1e21, 1234.0, 1e-7],
     "1.234568e+03|1.200000E-04|1.00e+21|1e+21|1.23e+03|1E-07"),
    ("%x|%X", [1.5, 1.0], "0x1.8p+00|0X1P+00"),
    ("%v %v %v", [float("inf"), float("-inf"), float("nan")], "+Inf -Inf NaN"),
    ("%s|%10s|%-10s|%.2s|%5.1s|%05s", ["abc", "r", "l", "abc", "xyz", "z"],
     "abc|         r|l         |ab|    x|    z"),
    ("%q|%+q|%#q|%q", ["é\x00\t", "é", "raw", "back`tick"],
     '"é\\x00\\t"|"\\u00e9"|`raw`|"back`tick"'),
    ("%x|% x|%#x|%X", ["hi", "hi", "hi", "é"], "6869|68 69|0x6869|C3A9"),
    ("%t|%v|%5t", [True, False, True], "true|false| true"),
    ("%v|%d|%s", [[1, "a", None], [1, 2], {"b": 2, "a": 1}],
     "[1 a <nil>]|[1 2]|map[a:%!s(int=1) b:%!s(int=2)]"),
    ("%v|%s|%d", [None, None, None], "<nil>|%!s(<nil>)|%!d(<nil>)"),
    ("%T %T %T %T", ["s", 1, 1.5, None], "string int float64 <nil>"),
    ("%d|%s|%f|%t", ["x", 1, "y", 2], "%!d(string=x)|%!s(int=1)|%!f(string=y)|%!t(int=2)"),
    ("%*d|%-*d|%.*f", [5, 1, 4, 2, 2, 3.14159], "    1|2   |3.14"),
    ("%*d", ["x", 1], "%!(BADWIDTH)1"),
    ("%.*d", [-1, 1], "%!(BADPREC)1"),
    ("%2000000d", [1], "%!(BADWIDTH)1"),
    ("%d %d", [1], "1 %!d(MISSING)"),
    ("%d", [1, "x", None], "1%!(EXTRA string=x, <nil>)"),
    ("50%", [], "50%!(NOVERB)"),
    ("%z", [1], "%!z(int=1)"),
    ("%%|%5%", [], "%|%"),
]


@pytest.mark.parametrize(("template", "args", "expected"), PRINTF_CASES)
def test_printf_verbs(template, args, expected):
    # Arguments reach printf through data so that any Python value can be passed.
    data = {f"A{i}": value for i, value in enumerate(args)}
    arguments = " ".join(f".A{i}" for i in range(len(args)))
    text = f"{{{{printf .Format {arguments}}}}}"
    assert render(text, make_context(data={"Format": template, **data})) == expected


# --- API ----------------------------------------------------------------------------


def test_render_plain_text_fast_path():
    text = "plain } text { without actions " * 100
    assert render(text, make_context()) is text


def test_render_same_result_twice():
    ctx = make_context()
    text = "{{timestamp}} {{isotime}} {{strftime `%s`}} {{user `tag`}}"
    assert render(text, ctx) == render(text, ctx)


def test_render_time_fixed_per_context():
    ctx = Context()
    assert render("{{timestamp}}", ctx) == render("{{timestamp}}", ctx)


def test_context_now_converted_to_utc():
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    ctx = Context(now=datetime.datetime(2024, 5, 6, 9, 8, 9, tzinfo=plus_two))
    assert render("{{isotime}}", ctx) == "2024-05-06T07:08:09Z"


def test_context_naive_now_read_as_utc():
    ctx = Context(now=datetime.datetime(2024, 5, 6, 7, 8, 9))
    assert render("{{timestamp}}", ctx) == NOW_UNIX


def test_context_defaults_to_current_utc_time():
    before = datetime.datetime.now(UTC)
    ctx = Context()
    assert ctx.now.tzinfo == UTC
    assert before <= ctx.now <= datetime.datetime.now(UTC)


def test_env_reads_context_environment():
    ctx = make_context(env_allowed=True)
    assert render("{{env `HOME`}}|{{env `MISSING`}}|{{env `EMPTY`}}", ctx) == "/root||"


def test_env_defaults_to_process_environment(monkeypatch):
    monkeypatch.setenv("NBDOCKER_TEST_VALUE", "from-os")
    ctx = Context(env_allowed=True)
    assert render("{{env `NBDOCKER_TEST_VALUE`}}", ctx) == "from-os"


def test_user_undefined_renders_empty_when_not_required():
    ctx = make_context(user_vars_required=False)
    assert render("[{{user `nope`}}]", ctx) == "[]"


def test_pwd_returns_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert render("{{pwd}}", Context()) == os.getcwd()


def test_template_dir_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert render("{{template_dir}}", Context(template_dir="sub")) == str(tmp_path / "sub")


def test_packer_version_constant():
    assert render("{{packer_version}}", Context()) == PACKER_VERSION


def test_uuid_is_time_ordered_version_7():
    values = [render("{{uuid}}", Context()) for _ in range(200)]
    parsed = [uuid.UUID(value) for value in values]
    assert all(item.version == 7 for item in parsed)
    assert all(item.variant == uuid.RFC_4122 for item in parsed)
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_uuid_timestamp_is_current_time():
    before = datetime.datetime.now(UTC).timestamp() * 1000
    millis = uuid.UUID(render("{{uuid}}", Context())).int >> 80
    assert before - 1000 <= millis <= datetime.datetime.now(UTC).timestamp() * 1000 + 1000


@pytest.mark.parametrize("key", BUILD_DATA_KEYS)
def test_build_placeholder_for_every_declared_key(key):
    assert render(f"{{{{build `{key}`}}}}", Context()) == f"{{{{.{key}}}}}"


def test_build_placeholder_renders_again_at_run_time():
    prepared = render("id={{build `ID`}} sha={{ build `SourceImageSha256` }}", Context())
    run_time = Context(build_data={"ID": "c0ffee", "SourceImageSha256": "sha256:ab"})
    assert render(prepared, run_time) == "id=c0ffee sha=sha256:ab"


def test_build_reads_run_time_data():
    ctx = Context(build_data={"ID": "c0ffee", "Port": 0})
    assert render("{{build `ID`}}:{{build `Port`}}", ctx) == "c0ffee:0"


def test_dot_field_error_lists_shared_names_once():
    data = {"ID": "c1", "Path": "/p"}
    with pytest.raises(InterpolationError, match=r"Available fields: \.ID, \.Path$"):
        render("{{.Pth1}}", Context(data=data, build_data=data))


def test_dot_field_prefers_template_data_over_build_data():
    ctx = Context(data={"ID": "from-data"}, build_data={"ID": "from-build"})
    assert render("{{.ID}}", ctx) == "from-data"


def test_dataclass_fields_readable():
    ctx = Context(data={"Image": ImageRef("ubuntu", "22.04")})
    assert render("{{.Image.name}}:{{.Image.tag}}", ctx) == "ubuntu:22.04"


def test_dataclass_unknown_field_rejected():
    ctx = Context(data={"Image": ImageRef("ubuntu", "22.04")})
    with pytest.raises(InterpolationError, match="ImageRef has no field 'tga'; did you mean 'tag'"):
        render("{{.Image.tga}}", ctx)


def test_interpolation_error_not_user_error():
    assert not issubclass(InterpolationError, UserError)


def test_interpolation_error_str_is_message():
    error = InterpolationError("broken", 4)
    assert str(error) == "broken"
    assert error.message == "broken"
    assert error.offset == 4


def test_error_offset_points_at_failing_action():
    text = "echo {{user `image_name`}}\necho {{user `imag`}} done"
    with pytest.raises(InterpolationError) as caught:
        render(text, make_context())
    assert caught.value.offset == text.index("{{user `imag`}}")


def test_error_offset_for_syntax_error():
    text = "ok {{`a`}} then {{ bad( }}"
    with pytest.raises(InterpolationError) as caught:
        parse(text)
    assert caught.value.offset == text.index("{{ bad(")


def test_error_offset_inside_if_body():
    text = "{{if true}}\n  {{user `x`}}\n{{end}}"
    with pytest.raises(InterpolationError) as caught:
        render(text, make_context())
    assert caught.value.offset == text.index("{{user")


def test_error_offset_of_unclosed_if_is_the_if():
    text = "a {{if true}} b {{user `image_name`}}"
    with pytest.raises(InterpolationError) as caught:
        parse(text)
    assert caught.value.offset == 2


def test_parse_reports_names():
    parsed = parse("{{user `a`}} {{ .Path }} {{ build `ID` }} {{ \"b\" | user }} "
                   "{{ with .X }}{{ .Y }}{{ end }} {{ $.Z }} {{ .Q.R | lower }}")
    assert parsed.functions == {"user", "build", "lower"}
    assert parsed.fields == {"Path", "X", "Z", "Q"}
    assert parsed.user_vars == {"a", "b"}
    assert parsed.build_keys == {"ID"}


def test_parse_skips_computed_user_names():
    assert parse("{{ user (print `a` `b`) }}").user_vars == frozenset()


def test_parse_plain_text():
    parsed = parse("plain")
    assert parsed.functions == frozenset()
    assert parsed.fields == frozenset()
    assert parsed.text == "plain"


def test_parse_runs_no_function():
    # env is not allowed here and template_dir has no value, but parse only checks syntax.
    assert parse("{{env `HOME`}} {{template_dir}}").functions == {"env", "template_dir"}


def test_parse_raises_only_interpolation_error():
    with pytest.raises(InterpolationError, match="unclosed action"):
        parse("{{ user")


def test_render_until_stable_follows_references():
    ctx = Context(variables={"a": "{{user `b`}}-a", "b": "{{user `c`}}-b", "c": "c"})
    assert render_until_stable("{{user `a`}}", ctx) == "c-b-a"


def test_render_until_stable_plain_text():
    assert render_until_stable("plain", Context()) == "plain"


def test_render_until_stable_rejects_growing_value():
    ctx = Context(variables={"a": "x{{user `a`}}"})
    with pytest.raises(InterpolationError, match="still changes after 5 passes"):
        render_until_stable("{{user `a`}}", ctx, max_passes=5)


def test_render_until_stable_later_pass_error():
    ctx = Context(variables={"a": "{{user `missing`}}"})
    with pytest.raises(InterpolationError, match="the output of render pass 1") as caught:
        render_until_stable("value: {{user `a`}}", ctx)
    assert caught.value.offset == -1


def test_render_until_stable_first_pass_offset():
    with pytest.raises(InterpolationError) as caught:
        render_until_stable("ab{{user `missing`}}", Context(variables={"a": "1"}))
    assert caught.value.offset == 2


def test_render_large_text_with_many_actions():
    line = "echo {{user `image_name`}} {{ .Path }} {{ timestamp }}\n"
    text = line * 100
    expected = f"echo ubuntu:22.04 /tmp/script.sh {NOW_UNIX}\n" * 100
    assert render(text, make_context()) == expected
