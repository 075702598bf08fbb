"""Decode a component's options by its schema: types, rendering, paths, choices, references."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import Position
from . import references
from .decode_render import PrepareRenderer
from .decode_values import (_INVALID, _to_bool, _to_duration, _to_int, _to_string, _to_strings,
                            shown_value)
from .json_format import Node
from .report import Report
from .schema import BLOCK, BOOL, DURATION, INT, INTS, MAP, STRING, STRINGS, Option, Schema
from .suggest import close_matches, did_you_mean, quote_list, sentences


@dataclass
class Decoded:
    """A component's decoded options."""

    config: dict[str, Any]
    #: Options the template sets, as opposed to defaults.
    explicit: set[str]
    #: Key path and Node of each option the template sets, for checks that point at a value.
    nodes: dict[str, tuple[str, Node]]
    #: Options whose value was reported as invalid, and options that an unknown key
    #: probably meant. Checks treat them as set, so one mistake gives one message.
    invalid: set[str] = field(default_factory=set)


class OptionDecoder:
    """Decode option values by their schema: weak typing, rendering, paths, references."""

    def __init__(self, renderer: PrepareRenderer, directory: str, report: Report,
                 secrets: list[str], positions: dict[str, Position]):
        self.renderer = renderer
        self.directory = directory
        self.report = report
        self.secrets = secrets
        self.positions = positions

    def decode(self, schema: Schema, members: list[tuple[str, Node, str]], owner: str) -> Decoded:
        """Decode ``members`` (key, value node, key path) against ``schema``.

        ``owner`` is the component's path, for messages. Every option missing from
        ``members`` gets its default, except deprecated and ignored ones.
        """
        config: dict[str, Any] = {}
        explicit: set[str] = set()
        nodes: dict[str, tuple[str, Node]] = {}
        invalid: set[str] = set()
        for key, node, path in members:
            if key in schema.common:
                continue
            option = schema.options.get(key)
            if option is None:
                meant = self._unknown_key(schema, key, node, path, owner)
                if meant:
                    invalid.add(meant)
                continue
            self.positions[path] = node.position
            if node.kind == "array":
                for index, item in enumerate(node.value):
                    self.positions[f"{path}[{index}]"] = item.position
            if option.deprecated:
                self.report.warning(f"{key} is deprecated in {schema.type}: {option.deprecated}. "
                                    "Run `nbdocker fix` to update the template", path,
                                    node.key_position)
            if node.kind == "null":
                continue
            value = self.value(option, node, path)
            if value is _INVALID:
                explicit.add(key)
                invalid.add(key)
                continue
            explicit.add(key)
            nodes[key] = (path, node)
            if option.ignored or (option.deprecated and not option.replaced_by):
                continue
            config[key] = value
        for name, option in schema.options.items():
            if name not in config and not option.ignored and not option.deprecated:
                default = copy.deepcopy(option.default)
                if option.local_path and isinstance(default, str) and default:
                    default = resolve_path(default, self.directory)
                config[name] = default
        return Decoded(config, explicit, nodes, invalid)

    def _unknown_key(self, schema: Schema, key: str, node: Node, path: str, owner: str) -> str:
        """Report an unknown key; return the option it probably meant, or ``""``."""
        if key.startswith(("packer_", *schema.ignored_prefixes)):
            return ""
        matches = close_matches(key, schema.known_keys())
        message = f"unknown option {key!r} in {owner}{did_you_mean(key, schema.known_keys())}"
        if key == "name" and schema.kind == "provisioner":
            message = sentences(message, "Provisioners in JSON templates have no name option")
        elif key.startswith("_"):
            message = sentences(message, "Keys that start with '_' are comments only at the root "
                                         "of a template")
        elif not matches:
            message = sentences(message, f"The {schema.type} {schema.kind} accepts "
                                         f"{quote_list(schema.known_keys())}")
        self.report.error(message, path, node.key_position)
        return matches[0] if matches else ""

    def value(self, option: Option, node: Node, path: str) -> Any:
        """Decode one option value, or return ``_INVALID`` after reporting the problem."""
        render = None if option.runtime else self.renderer.render

        def check(text: str, text_node: Node, text_path: str) -> bool:
            return self.renderer.check(text, text_node, text_path, fields=option.fields)

        kind = option.kind
        if kind == STRING:
            value = _to_string(node, path, self.report, render, check)
        elif kind == BOOL:
            value = self._scalar(node, path, option, _to_bool)
        elif kind == INT:
            value = self._scalar(node, path, option, _to_int)
        elif kind == DURATION:
            text = self._rendered_scalar(node, path)
            value = _INVALID if text is _INVALID else _to_duration(node, text, path, self.report)
        elif kind == STRINGS:
            value = _to_strings(node, path, self.report, render, check)
        elif kind == INTS:
            value = self._ints(node, path)
        elif kind == MAP:
            value = self._map(node, path, render, check)
        elif kind == BLOCK:
            value = self._block(option, node, path)
        else:  # pragma: no cover - every schema option has one of the kinds above
            raise AssertionError(f"unknown option kind {kind!r}")
        if value is _INVALID:
            return value
        return self._post_checks(option, value, node, path)

    def _rendered_scalar(self, node: Node, path: str) -> Any:
        if node.kind == "string":
            return self.renderer.render(node.value, node, path)
        return node.value

    def _scalar(self, node: Node, path: str, option: Option, convert: Callable) -> Any:
        if node.kind in ("array", "object"):
            self.report.error(f"{option.name} must be {option.kind}, got {shown_value(node)}", path,
                              node.position)
            return _INVALID
        raw = self._rendered_scalar(node, path)
        if raw is _INVALID:
            return raw
        value = convert(raw, node.kind)
        if value is _INVALID:
            self.report.error(f"{option.name} must be {option.kind}, got {raw!r}", path,
                              node.position)
        return value

    def _ints(self, node: Node, path: str) -> Any:
        if node.kind == "object":
            self.report.error(f"expected {INTS}, got an object", path, node.position)
            return _INVALID
        if node.kind == "array":
            items = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        else:
            items = [(node, path)]
        result: list[int] = []
        ok = True
        for item, item_path in items:
            raw = self._rendered_scalar(item, item_path) if item.kind != "array" else _INVALID
            if raw is _INVALID:
                if item.kind == "array":
                    self.report.error("expected an integer, got an array", item_path, item.position)
                ok = False
                continue
            pieces = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else [raw]
            for piece in pieces:
                if piece == "" and isinstance(raw, str):
                    continue
                value = _to_int(piece, "string" if isinstance(piece, str) else item.kind)
                if value is _INVALID or isinstance(piece, bool):
                    self.report.error(f"expected an integer, got {piece!r}", item_path,
                                      item.position)
                    ok = False
                else:
                    result.append(value)
        return result if ok else _INVALID

    def _map(self, node: Node, path: str, render: Callable | None, check: Callable) -> Any:
        if node.kind != "object":
            self.report.error(f"expected {MAP}, got {shown_value(node)}", path, node.position)
            return _INVALID
        result: dict[str, str] = {}
        ok = True
        for key, child in node.value.items():
            child_path = f"{path}.{key}"
            self.positions[child_path] = child.position
            if render is not None:
                key_node = Node("string", key, child.key_position or child.position, raw=key)
                key = render(key, key_node, child_path)
                if key is _INVALID:
                    ok = False
                    continue
            value = _to_string(child, child_path, self.report, render, check)
            if value is _INVALID:
                ok = False
                continue
            result[key] = value
        return result if ok else _INVALID

    def _block(self, option: Option, node: Node, path: str) -> Any:
        if node.kind != "object":
            self.report.error(f"{option.name} must be an object, got {shown_value(node)}", path,
                              node.position)
            return _INVALID
        members = [(key, child, f"{path}.{key}") for key, child in node.value.items()]
        return self.decode(option.block, members, path).config

    def _post_checks(self, option: Option, value: Any, node: Node, path: str) -> Any:
        if option.local_path:
            value = self._local_paths(option, value, node, path)
        if option.choices:
            wrong = [(item, item_node, item_path) for item, item_node, item_path
                     in _items(value, node, path) if item not in option.choices]
            for item, item_node, item_path in wrong:
                self.report.error(f"{option.name} must be one of "
                                  f"{quote_list(option.choices, 'or')}, got {item!r}"
                                  f"{did_you_mean(item, option.choices)}", item_path,
                                  item_node.position)
            if wrong:
                return _INVALID
        if option.reference:
            for item, item_node, item_path in _items(value, node, path):
                message = references.check(item, option.reference) if item else None
                if message:
                    self.report.error(message, item_path, item_node.position)
        if option.secret and isinstance(value, str) and value:
            self.secrets.append(value)
        return value

    def _local_paths(self, option: Option, value: Any, node: Node, path: str) -> Any:
        is_list = isinstance(value, list)
        resolved = []
        for item, item_node, item_path in _items(value, node, path):
            if not item or "{{" in item:
                resolved.append(item)
                continue
            absolute = resolve_path(item, self.directory)
            resolved.append(absolute)
            if option.local_path == "file" and not os.path.isfile(absolute):
                state = "is a directory, not a file" if os.path.isdir(absolute) else "not found"
                self.report.error(f"{option.name} file {item!r} {state}: looked for {absolute!r}"
                                  f"{_relative_note(item, self.directory)}", item_path,
                                  item_node.position)
            elif option.local_path == "dir" and not os.path.isdir(absolute):
                state = "is a file, not a directory" if os.path.exists(absolute) else "not found"
                self.report.error(f"{option.name} directory {item!r} {state}: looked for "
                                  f"{absolute!r}{_relative_note(item, self.directory)}", item_path,
                                  item_node.position)
        return resolved if is_list else resolved[0]


def resolve_path(value: str, directory: str) -> str:
    """Return ``value`` as an absolute, normalized path, relative ones taken from ``directory``."""
    expanded = os.path.expanduser(value)
    return os.path.normpath(os.path.join(directory, expanded))


def _relative_note(value: str, directory: str) -> str:
    if os.path.isabs(os.path.expanduser(value)):
        return ""
    return f" (relative paths are resolved against {directory!r})"


def _items(value: Any, node: Node, path: str):
    """Yield (item, node, path) for a string or each string of a list option."""
    if isinstance(value, list):
        same_length = node.kind == "array" and len(node.value) == len(value)
        element_nodes = node.value if same_length else None
        for index, item in enumerate(value):
            if not isinstance(item, str):
                continue
            if element_nodes is not None:
                yield item, element_nodes[index], f"{path}[{index}]"
            else:
                yield item, node, path
    elif isinstance(value, str):
        yield value, node, path
