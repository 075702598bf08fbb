"""The shell session's stream parsing: end markers split across chunks, and here-document limits."""

from __future__ import annotations

import pytest

from nbdocker.build.shell_session import MarkerScanner, ShellSession

MARKER = b"nbdocker-end-0123456789abcdef"


def scan(chunks: list[bytes]) -> tuple[bytes, str | None, bytes]:
    """Feed ``chunks``; return the output released, the status and the bytes held back."""
    scanner = MarkerScanner(MARKER)
    released = b"".join(scanner.feed(chunk) for chunk in chunks)
    return released, scanner.status, scanner.buffer


def test_marker_scanner_whole_marker():
    assert scan([b"hello\n" + MARKER + b" 0\n"])[:2] == (b"hello\n", "0")


def test_marker_scanner_output_without_newline():
    assert scan([b"partial" + MARKER + b" 3\n"])[:2] == (b"partial", "3")


@pytest.mark.parametrize("cut", [1, 5, len(MARKER) - 1, len(MARKER), len(MARKER) + 2])
def test_marker_scanner_marker_split(cut):
    data = b"line\n" + MARKER + b" 42\n"
    split = len(b"line\n") + cut
    assert scan([data[:split], data[split:]])[:2] == (b"line\n", "42")


def test_marker_scanner_byte_by_byte():
    data = b"a\nb" + MARKER + b" 7\n"
    assert scan([data[index:index + 1] for index in range(len(data))])[:2] == (b"a\nb", "7")


def test_marker_scanner_holds_marker_prefix():
    released, status, held_back = scan([b"text" + MARKER[:4]])
    assert released == b"text"
    assert status is None
    assert held_back == MARKER[:4]


def test_marker_scanner_releases_false_prefix():
    released, status, _ = scan([b"text" + MARKER[:4], b"more\n"])
    assert released == b"text" + MARKER[:4] + b"more\n"
    assert status is None


def test_marker_scanner_keeps_later_output_for_next_script():
    scanner = MarkerScanner(MARKER)
    assert scanner.feed(b"one\n" + MARKER + b" 0\nlate\n") == b"one\n"
    assert scanner.feed(b"more\n") == b""
    scanner.reset()
    assert scanner.feed(MARKER + b" 1\n") == b"late\nmore\n"
    assert scanner.status == "1"


def test_marker_scanner_write_failed_status():
    assert scan([MARKER + b" write-failed\n"])[1] == "write-failed"


@pytest.mark.parametrize("content, expected", [
    (b"#!/bin/sh\necho hi\n", True),
    (b"#!/bin/sh\necho hi", False),
    (b"#!/bin/sh\necho \x00\n", False),
    (b"\xff\xfe binary but newline-terminated\n", True),
    (b"", False),
])
def test_session_can_write(content, expected):
    assert ShellSession("0" * 64).can_write(content) is expected


def test_session_can_write_rejects_delimiter_line():
    session = ShellSession("0" * 64)
    assert not session.can_write(b"echo\n" + session.delimiter + b"\necho\n")
    assert not session.can_write(session.delimiter + b"\n")
