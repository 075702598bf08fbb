"""Parsing the engine's JSON progress stream: decoding, events, in-band errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbdocker.build.events import LayerProgress, LogLine, Warning as WarningEvent
from nbdocker.engine.progress import (
    AuthenticationRequired, ProgressParser, StreamError, connection_problem, decode_stream,
    is_auth_failure, parse_progress,
)
from nbdocker.errors import RegistryError, UserError

DIGEST = "sha256:" + "ab" * 32

# The messages of a real push to the lab's password registry (Docker 20.10), in order.
PUSH_MESSAGES = [
    {"status": "The push refers to repository [127.0.0.1:5001/nbdocker/hello]"},
    {"status": "Preparing", "progressDetail": {}, "id": "29f13faa0f87"},
    {"status": "Pushing", "progressDetail": {"current": 19968, "total": 1984234},
     "progress": "[>   ]  19.97kB/1.984MB", "id": "29f13faa0f87"},
    {"status": "Pushing", "progressDetail": {"current": 2129920, "total": 1984234},
     "id": "29f13faa0f87"},
    {"status": "Pushed", "progressDetail": {}, "id": "29f13faa0f87"},
    {"status": f"1.0: digest: {DIGEST} size: 527"},
    {"progressDetail": {}, "aux": {"Tag": "1.0", "Digest": DIGEST, "Size": 527}},
]

PULL_MESSAGES = [
    {"status": "Pulling from nbdocker/hello", "id": "1.0"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
    {"status": "Downloading", "progressDetail": {"current": 500, "total": 1000}, "id": "aaaaaaaaaaaa"},
    {"status": "Download complete", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
    {"status": "Extracting", "progressDetail": {"current": 1000, "total": 1000}, "id": "aaaaaaaaaaaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
    {"status": f"Digest: {DIGEST}"},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5001/nbdocker/hello:1.0"},
]


def encode(messages) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\r\n" for m in messages)


def drain(generator):
    events = []
    try:
        while True:
            events.append(next(generator))
    except StopIteration as stop:
        return events, stop.value


# -- decode_stream ---------------------------------------------------------------------------

def test_decode_stream_whole_messages():
    assert list(decode_stream([encode(PUSH_MESSAGES)])) == PUSH_MESSAGES


def test_decode_stream_several_objects_without_newlines():
    data = b'{"a": 1}{"b": 2} {"c": 3}'
    assert list(decode_stream([data])) == [{"a": 1}, {"b": 2}, {"c": 3}]


@given(st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_decode_stream_any_chunk_boundaries(cuts):
    data = encode(PULL_MESSAGES + [{"status": "Grüße ✓", "id": "bbbbbbbbbbbb"}])
    points = sorted({min(cut, len(data)) for cut in cuts})
    chunks = [data[start:end] for start, end in zip([0, *points], [*points, len(data)])]
    assert list(decode_stream(chunks)) == PULL_MESSAGES + [{"status": "Grüße ✓", "id": "bbbbbbbbbbbb"}]


def test_decode_stream_garbage_line_becomes_text():
    data = b'{"a": 1}\nnot json at all\n{"b": 2}\n'
    assert list(decode_stream([data])) == [{"a": 1}, "not json at all", {"b": 2}]


def test_decode_stream_truncated_object_at_end_becomes_text():
    assert list(decode_stream([b'{"a": 1}\n{"status": "Pus'])) == [{"a": 1}, '{"status": "Pus']


def test_decode_stream_non_object_value_becomes_text():
    assert list(decode_stream([b'[1, 2]\n{"a": 1}'])) == ["[1, 2]", {"a": 1}]


def test_decode_stream_accepts_text_chunks():
    assert list(decode_stream(['{"a":', ' 1}'])) == [{"a": 1}]


def test_decode_stream_empty_input():
    assert list(decode_stream([])) == []


# -- ProgressParser --------------------------------------------------------------------------

def test_parser_push_events():
    events, summary = drain(parse_progress([encode(PUSH_MESSAGES)], "push", "x", "127.0.0.1:5001"))
    layers = [e for e in events if isinstance(e, LayerProgress)]
    assert [(e.layer, e.status) for e in layers] == [
        ("29f13faa0f87", "Preparing"), ("29f13faa0f87", "Pushing"),
        ("29f13faa0f87", "Pushing"), ("29f13faa0f87", "Pushed")]
    assert layers[1].current == 19968
    assert layers[1].total == 1984234
    assert all(e.operation == "push" for e in layers)
    assert summary.digest == DIGEST
    assert summary.size == 527
    assert summary.digests == {"1.0": DIGEST}
    assert summary.layers == {"29f13faa0f87": "Pushed"}


def test_parser_keeps_current_above_total():
    # Push progress counts compressed bytes against an uncompressed total; views decide.
    events, _ = drain(parse_progress([encode(PUSH_MESSAGES)], "push"))
    over = [e for e in events if isinstance(e, LayerProgress) and e.current == 2129920]
    assert over[0].total == 1984234


def test_parser_push_status_lines_are_log_lines():
    events, _ = drain(parse_progress([encode(PUSH_MESSAGES)], "push"))
    texts = [e.text for e in events if isinstance(e, LogLine)]
    assert texts == ["The push refers to repository [127.0.0.1:5001/nbdocker/hello]",
                     f"1.0: digest: {DIGEST} size: 527"]


def test_parser_pull_header_is_log_line():
    events, _ = drain(parse_progress([encode(PULL_MESSAGES)], "pull"))
    assert events[0] == LogLine(text="1.0: Pulling from nbdocker/hello", stream="ui",
                                time=events[0].time)
    assert {e.layer for e in events if isinstance(e, LayerProgress)} == {"aaaaaaaaaaaa"}


def test_parser_pull_summary():
    _, summary = drain(parse_progress([encode(PULL_MESSAGES)], "pull"))
    assert summary.digest == DIGEST
    assert summary.status == "Downloaded newer image for 127.0.0.1:5001/nbdocker/hello:1.0"
    assert summary.layers == {"aaaaaaaaaaaa": "Pull complete"}


def test_parser_progress_without_total_is_none():
    parser = ProgressParser("pull")
    [event] = parser.feed({"status": "Downloading", "id": "a", "progressDetail": {"current": 5}})
    assert event.current == 5
    assert event.total is None


@pytest.mark.parametrize("detail", [
    {"current": -1, "total": 10}, {"current": "5", "total": 10}, {"current": True, "total": 10},
    "not a dict", None,
])
def test_parser_ignores_malformed_progress_detail(detail):
    [event] = ProgressParser("pull").feed({"status": "Downloading", "id": "a", "progressDetail": detail})
    assert event.current is None


def test_parser_zero_total_is_none():
    [event] = ProgressParser("pull").feed(
        {"status": "Downloading", "id": "a", "progressDetail": {"current": 0, "total": 0}})
    assert event.total is None


def test_parser_message_without_status_yields_nothing():
    assert ProgressParser("push").feed({"progressDetail": {}}) == []


def test_parser_build_name_on_events():
    [event] = ProgressParser("push", build="web").feed({"status": "Preparing", "id": "a"})
    assert event.build == "web"


def test_parse_progress_reports_garbage_as_warning():
    events, _ = drain(parse_progress([b'oops\n{"status": "x"}\n'], "pull"))
    assert isinstance(events[0], WarningEvent)
    assert "oops" in events[0].message
    assert events[1].text == "x"


# -- in-band errors --------------------------------------------------------------------------

def test_parser_error_detail_raises_stream_error():
    message = {"errorDetail": {"message": "blob upload unknown"}, "error": "blob upload unknown"}
    with pytest.raises(StreamError) as caught:
        ProgressParser("push", "r:1", "127.0.0.1:5001").feed(message)
    assert str(caught.value) == "Pushing r:1 failed: blob upload unknown"


def test_parser_error_string_alone_raises():
    with pytest.raises(StreamError, match="disk full"):
        ProgressParser("pull", "r:1").feed({"error": "disk full"})


def test_parser_error_after_progress_stops_stream():
    data = encode([PUSH_MESSAGES[1], {"errorDetail": {"message": "boom"}}, PUSH_MESSAGES[4]])
    generator = parse_progress([data], "push", "r:1")
    assert next(generator).status == "Preparing"
    with pytest.raises(StreamError, match="boom"):
        next(generator)


def test_parser_401_code_raises_authentication_required():
    message = {"errorDetail": {"code": 401, "message": "whatever"}}
    with pytest.raises(AuthenticationRequired) as caught:
        ProgressParser("push", "127.0.0.1:5001/a:1", "127.0.0.1:5001").feed(message)
    assert "run %docker_login 127.0.0.1:5001" in str(caught.value).lower()
    assert caught.value.registry == "127.0.0.1:5001"


@pytest.mark.parametrize("text", [
    "no basic auth credentials",
    "unauthorized: authentication required",
    "denied: requested access to the resource is denied",
    "pull access denied for x, repository does not exist or may require 'docker login'",
])
def test_parser_auth_messages_raise_authentication_required(text):
    with pytest.raises(AuthenticationRequired):
        ProgressParser("push", "h:1/a", "h:1").feed({"errorDetail": {"message": text}})


def test_parser_connection_refused_raises_registry_error():
    text = 'Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused'
    with pytest.raises(RegistryError) as caught:
        ProgressParser("push", "127.0.0.1:5999/a:1", "127.0.0.1:5999").feed({"errorDetail": {"message": text}})
    assert "not reachable (connection refused)" in str(caught.value)


def test_stream_errors_are_user_errors():
    assert issubclass(StreamError, UserError)
    assert issubclass(AuthenticationRequired, UserError)


def test_stream_error_message_is_one_line():
    with pytest.raises(StreamError) as caught:
        ProgressParser("pull", "a").feed({"error": "line one\nline two"})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("dial tcp: lookup index.docker.io: no such host", "no such host"),
    ("connect: Connection Refused", "connection refused"),
    ("manifest unknown", None),
])
def test_connection_problem_phrases(text, expected):
    assert connection_problem(text) == expected


def test_is_auth_failure_by_code():
    assert is_auth_failure("", 401)


def test_is_auth_failure_other_text():
    assert not is_auth_failure("manifest unknown")
