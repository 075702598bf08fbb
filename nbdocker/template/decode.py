"""Decode a parsed template: the root structure, then each component's options by its schema.

Decoding follows Packer's rules for JSON templates (weak typing, a string lifted into a
list by splitting on commas, Go durations, every string rendered once) but reports every
problem of a component instead of stopping at the first.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import Position, Problem
from . import interpolate
from . import references
from .json_format import Node, describe_kind
from .schema import (BLOCK, BOOL, DURATION, INT, INTS, MAP, STRING, STRINGS, UNSUPPORTED_TYPES,
                     Option, Schema, schemas_for)
from .suggest import close_matches, did_you_mean, quote_list, sentences

#: Root keys of a JSON template, in Packer's order.
ROOT_KEYS = ("description", "min_packer_version", "variables", "sensitive-variables", "builders",
             "provisioners", "error-cleanup-provisioner", "post-processors", "push")

#: Template functions allowed only in the default values of ``variables``. Packer also
#: limits consul_key, vault and aws_secretsmanager to variables; nbdocker's template
#: engine rejects those everywhere.
VARIABLE_ONLY_FUNCTIONS = ("env",)

_INVALID = object()

#: The root key that contains each kind of component.
_SECTIONS = {"builder": "builders", "provisioner": "provisioners",
             "post-processor": "post-processors"}


class Report:
    """Problems found so far, without duplicates, in the order found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[tuple] = set()

    def add(self, problem: Problem) -> None:
        key = (problem.severity, problem.path, problem.message, problem.position)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(problem)

    def error(self, message: str, path: str = "", position: Position | None = None) -> None:
        self.add(Problem(message, path=path, position=position))

    def warning(self, message: str, path: str = "", position: Position | None = None) -> None:
        self.add(Problem(message, path=path, position=position, severity="warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


# -- the root structure -------------------------------------------------------------------


@dataclass
class RawComponent:
    """A builder, provisioner or post-processor object before its options are decoded."""

    kind: str
    type: str
    schema: Schema
    node: Node
    path: str
    #: Builder name as written (builders) or post-processor name (defaults to the type).
    name: str = ""
    name_node: Node | None = None
    only: list[str] = field(default_factory=list)
    except_: list[str] = field(default_factory=list)
    override: dict[str, Node] = field(default_factory=dict)
    pause_before: float = 0.0
    timeout: float = 0.0
    max_retries: Node | None = None
    keep_input_artifact: bool | None = None

    @property
    def position(self) -> Position:
        return self.node.position


@dataclass
class RawTemplate:
    """The root of a template with its components sorted out but not yet decoded."""

    root: Node
    description: str = ""
    min_packer_version: str = ""
    min_version_node: Node | None = None
    variables: dict[str, Node] = field(default_factory=dict)
    sensitive: list[tuple[str, Node]] = field(default_factory=list)
    builders: list[RawComponent] = field(default_factory=list)
    provisioners: list[RawComponent] = field(default_factory=list)
    cleanup_provisioner: RawComponent | None = None
    post_processors: list[list[RawComponent]] = field(default_factory=list)


def decode_root(root: Node, report: Report) -> RawTemplate:
    """Check the root keys and sort the components out, reporting structural mistakes."""
    raw = RawTemplate(root=root)
    if root.kind != "object":
        report.error(f"a template must be a JSON object, got {describe_kind(root)}", "",
                     root.position)
        return raw

    members: dict[str, Node] = root.value
    for key, node in members.items():
        if key in ROOT_KEYS:
            continue
        if key.startswith("_"):
            if node.kind != "string":
                report.error(f"root comment {key!r} must have a string value, got "
                             f"{describe_kind(node)}; only root keys that start with '_' are "
                             "comments, and their values are strings", key, node.position)
            continue
        report.error(sentences(f"unknown root key {key!r}{did_you_mean(key, ROOT_KEYS)}",
                               f"The root keys of a template are {quote_list(ROOT_KEYS)}, and "
                               "keys that start with '_' for comments"), key, node.key_position)

    raw.description = _root_string(members, "description", report)
    raw.min_packer_version = _root_string(members, "min_packer_version", report)
    raw.min_version_node = members.get("min_packer_version")
    _decode_variables(members, raw, report)
    _decode_builders(members, raw, report)
    _decode_provisioners(members, raw, report)
    _decode_post_processors(members, raw, report)
    return raw


def _root_string(members: dict[str, Node], key: str, report: Report) -> str:
    node = members.get(key)
    if node is None or node.kind == "null":
        return ""
    if node.kind != "string":
        report.error(f"{key} must be a string, got {shown_value(node)}", key, node.position)
        return ""
    return node.value


def _decode_variables(members: dict[str, Node], raw: RawTemplate, report: Report) -> None:
    node = members.get("variables")
    if node is not None and node.kind != "null":
        if node.kind != "object":
            report.error(f"variables must be an object of names and default values, got "
                         f"{describe_kind(node)}", "variables", node.position)
        else:
            for name, value in node.value.items():
                path = f"variables.{name}"
                if value.kind not in ("string", "null"):
                    hint = ""
                    if value.kind in ("number", "bool"):
                        hint = f"; quote it: \"{value.raw or _json_scalar(value)}\""
                    report.error(f"the default value of variable {name!r} must be a string, or "
                                 f"null to make the variable required, got "
                                 f"{shown_value(value)}{hint}", path, value.position)
                    continue
                raw.variables[name] = value

    node = members.get("sensitive-variables")
    if node is None or node.kind == "null":
        return
    if node.kind != "array":
        report.error(f"sensitive-variables must be an array of variable names, got "
                     f"{describe_kind(node)}", "sensitive-variables", node.position)
        return
    for index, item in enumerate(node.value):
        path = f"sensitive-variables[{index}]"
        if item.kind != "string":
            report.error(f"sensitive-variables entries must be variable names (strings), got "
                         f"{shown_value(item)}", path, item.position)
            continue
        raw.sensitive.append((item.value, item))


def _component_list(members: dict[str, Node], key: str, noun: str, report: Report) -> list[Node]:
    node = members.get(key)
    if node is None or node.kind == "null":
        return []
    if node.kind == "object":
        report.error(f"{key} must be an array of {noun} objects, got a single object; "
                     "wrap it in [ ]", key, node.position)
        return []
    if node.kind != "array":
        report.error(f"{key} must be an array of {noun} objects, got {describe_kind(node)}",
                     key, node.position)
        return []
    return node.value


def _decode_builders(members: dict[str, Node], raw: RawTemplate, report: Report) -> None:
    items = _component_list(members, "builders", "builder", report)
    if "builders" in members and not items and members["builders"].kind == "array":
        report.error("at least one builder must be defined: add {\"type\": \"docker\", ...} to "
                     "builders", "builders", members["builders"].position)
    elif "builders" not in members:
        report.error("the template has no builders: add \"builders\": [{\"type\": \"docker\", "
                     "\"image\": ..., \"commit\": true}]", "", raw.root.position)
    for index, node in enumerate(items):
        component = _raw_component("builder", node, f"builders[{index}]", report)
        if component is None:
            continue
        name_node = node.value.get("name")
        component.name = component.type
        if name_node is not None and name_node.kind != "null":
            if name_node.kind in ("string", "number"):
                component.name = (_json_scalar(name_node) if name_node.kind == "number"
                                  else name_node.value)
                component.name_node = name_node
            else:
                report.error(f"name must be a string, got {describe_kind(name_node)}",
                             f"{component.path}.name", name_node.position)
        if not component.name:
            component.name = component.type
        raw.builders.append(component)


def _decode_provisioners(members: dict[str, Node], raw: RawTemplate, report: Report) -> None:
    for index, node in enumerate(_component_list(members, "provisioners", "provisioner", report)):
        component = _raw_component("provisioner", node, f"provisioners[{index}]", report)
        if component is not None:
            _provisioner_common(component, report)
            raw.provisioners.append(component)

    node = members.get("error-cleanup-provisioner")
    if node is not None and node.kind != "null":
        component = _raw_component("provisioner", node, "error-cleanup-provisioner", report)
        if component is not None:
            _provisioner_common(component, report)
            raw.cleanup_provisioner = component


def _decode_post_processors(members: dict[str, Node], raw: RawTemplate, report: Report) -> None:
    node = members.get("post-processors")
    if node is None or node.kind == "null":
        return
    if node.kind != "array":
        report.error("post-processors must be an array; each element is a post-processor type, "
                     f"an object, or an array of them (a sequence), got {describe_kind(node)}",
                     "post-processors", node.position)
        return
    for index, item in enumerate(node.value):
        path = f"post-processors[{index}]"
        if item.kind == "array":
            elements = [(element, f"{path}[{inner}]") for inner, element in enumerate(item.value)]
        elif item.kind in ("string", "object"):
            elements = [(item, path)]
        else:
            report.error(f"a post-processor must be a type name, an object or an array of them, "
                         f"got {describe_kind(item)}", path, item.position)
            continue
        sequence = []
        for element, element_path in elements:
            if element.kind == "array":
                report.error("a sequence of post-processors cannot contain another sequence; "
                             "put the elements in the outer array", element_path, element.position)
                continue
            if element.kind == "string":
                element = Node("object", {"type": element}, element.position, element.key_position)
                element.value["type"].key_position = element.position
            elif element.kind != "object":
                report.error(f"a post-processor must be a type name or an object, got "
                             f"{describe_kind(element)}", element_path, element.position)
                continue
            component = _raw_component("post-processor", element, element_path, report)
            if component is not None:
                _post_processor_common(component, report)
                sequence.append(component)
        if sequence:
            raw.post_processors.append(sequence)


def _raw_component(kind: str, node: Node, path: str, report: Report) -> RawComponent | None:
    """Check a component object's ``type`` and find its schema."""
    if node.kind != "object":
        report.error(f"a {kind} must be an object, got {shown_value(node)}", path, node.position)
        return None
    schemas = schemas_for(kind)
    type_node = node.value.get("type")
    if type_node is None or type_node.kind == "null":
        report.error(f"missing 'type' in this {kind}; set it to one of "
                     f"{quote_list(schemas)}", path, node.position)
        return None
    if type_node.kind != "string":
        report.error(f"type must be a string, got {shown_value(type_node)}", f"{path}.type",
                     type_node.position)
        return None
    type_name = type_node.value
    if type_name in schemas:
        return RawComponent(kind=kind, type=type_name, schema=schemas[type_name], node=node,
                            path=path)

    if len(schemas) == 1:
        supported = f"nbdocker supports only the {quote_list(schemas)} {kind}"
    else:
        supported = f"nbdocker supports the {kind} types {quote_list(schemas)}"
    reason = UNSUPPORTED_TYPES[kind].get(type_name)
    other_kind = next((other for other in ("builder", "provisioner", "post-processor")
                       if other != kind and type_name in schemas_for(other)), None)
    if reason:
        message = f"the {type_name!r} {kind} is not supported: {reason}"
    elif other_kind:
        message = (f"{type_name!r} is a {other_kind} type, not a {kind} type; move it to "
                   f"{_SECTIONS[other_kind]}")
    else:
        known = [*schemas, *UNSUPPORTED_TYPES[kind]]
        message = f"unknown {kind} type {type_name!r}{did_you_mean(type_name, known)}"
    report.error(sentences(message, supported), f"{path}.type", type_node.position)
    return None


def _provisioner_common(component: RawComponent, report: Report) -> None:
    members: dict[str, Node] = component.node.value
    path = component.path
    component.only = _name_list(members.get("only"), f"{path}.only", report)
    component.except_ = _name_list(members.get("except"), f"{path}.except", report)
    _only_and_except(component, report)
    override = members.get("override")
    if override is not None and override.kind != "null":
        if override.kind != "object":
            report.error(f"override must be an object that maps build names to options, got "
                         f"{describe_kind(override)}", f"{path}.override", override.position)
        else:
            for build_name, options in override.value.items():
                if options.kind != "object":
                    report.error(f"override.{build_name} must be an object of options, got "
                                 f"{describe_kind(options)}", f"{path}.override.{build_name}",
                                 options.position)
                    continue
                component.override[build_name] = options
    component.pause_before = _common_duration(members, "pause_before", path, report)
    component.timeout = _common_duration(members, "timeout", path, report)
    retries = members.get("max_retries")
    if retries is not None and retries.kind != "null":
        if retries.kind in ("number", "string"):
            component.max_retries = retries
        else:
            report.error(f"max_retries must be an integer, got {shown_value(retries)}",
                         f"{path}.max_retries", retries.position)


def _post_processor_common(component: RawComponent, report: Report) -> None:
    members: dict[str, Node] = component.node.value
    path = component.path
    component.name = component.type
    name = members.get("name")
    if name is not None and name.kind != "null":
        if name.kind == "string" and name.value:
            component.name = name.value
        elif name.kind != "string":
            report.error(f"name must be a string, got {shown_value(name)}", f"{path}.name",
                         name.position)
    component.only = _name_list(members.get("only"), f"{path}.only", report)
    component.except_ = _name_list(members.get("except"), f"{path}.except", report)
    _only_and_except(component, report)
    keep = members.get("keep_input_artifact")
    if keep is not None and keep.kind != "null":
        value = _to_bool(keep.value, keep.kind)
        if value is _INVALID:
            report.error(f"keep_input_artifact must be {BOOL}, got {shown_value(keep)}",
                         f"{path}.keep_input_artifact", keep.position)
        else:
            component.keep_input_artifact = value


def _only_and_except(component: RawComponent, report: Report) -> None:
    if component.only and component.except_:
        node = component.node.value["except"]
        report.error("only and except are both set; use only to name the builds this runs for, "
                     "or except to name the builds it skips, not both",
                     f"{component.path}.except", node.key_position)


def _name_list(node: Node | None, path: str, report: Report) -> list[str]:
    if node is None or node.kind == "null":
        return []
    value = _to_strings(node, path, report, render=None)
    return [] if value is _INVALID else value


def _common_duration(members: dict[str, Node], key: str, path: str, report: Report) -> float:
    node = members.get(key)
    if node is None or node.kind == "null":
        return 0.0
    value = _to_duration(node, node.value, f"{path}.{key}", report)
    return 0.0 if value is _INVALID else value


# -- rendering at load time ------------------------------------------------------------------


class PrepareRenderer:
    """Render string values at load time and turn engine errors into problems.

    Before rendering, ``{{user `x`}}`` references are checked against the known variables,
    so a typo is an error naming close matches rather than an empty string. Variables in
    ``unavailable`` are declared but have no value because of an error reported already,
    so their uses fail without a second message.
    """

    def __init__(self, context: interpolate.Context, report: Report, *,
                 unavailable: frozenset[str] = frozenset()):
        self.context = context
        self.report = report
        self.unavailable = unavailable

    def check(self, text: str, node: Node, path: str,
              fields: tuple[str, ...] | None = None) -> bool:
        """Check ``text`` for syntax errors, undefined variables and misplaced functions.

        ``fields`` lists the dot fields that a run-time option may use besides the build
        data keys; None skips that check.
        """
        if "{{" not in text:
            return True
        try:
            parsed = interpolate.parse(text)
        except interpolate.InterpolationError as err:
            self.report.error(f"invalid template text {clip_text(text)!r}: {err.message}", path,
                              node.position_at(err.offset))
            return False
        ok = True
        known = self.context.variables
        for name in sorted(parsed.user_vars):
            if name in self.unavailable and name not in known:
                ok = False
            elif name not in known:
                self.report.error(sentences(
                    f"undefined variable {name!r} in {clip_text(text)!r}"
                    f"{did_you_mean(name, known)}",
                    "Declare it in the template's variables section or pass it with "
                    f"-var {name}=VALUE"), path, node.position_at(offset_of(text, name)))
                ok = False
        if fields is not None:
            ok = self._check_fields(parsed, text, node, path, fields) and ok
        for function in sorted(parsed.functions):
            if function in VARIABLE_ONLY_FUNCTIONS:
                self.report.error(
                    f"{{{{{function}}}}} is allowed only in the default values of the "
                    f"variables section, not here in {clip_text(text)!r}; declare a "
                    f"variable such as \"home\": \"{{{{env `HOME`}}}}\" and use "
                    f"{{{{user `home`}}}} here",
                    path, node.position_at(offset_of(text, function)))
                ok = False
        return ok

    def _check_fields(self, parsed: interpolate.Parsed, text: str, node: Node, path: str,
                      fields: tuple[str, ...]) -> bool:
        allowed = (*fields, *interpolate.BUILD_DATA_KEYS)
        ok = True
        for name in sorted(parsed.fields):
            if name not in allowed:
                available = ("Here you can use the build data keys" if not fields else
                             f"Here you can use {', '.join('.' + f for f in fields)} and the "
                             "build data keys")
                self.report.error(sentences(f"unknown field .{name} in {clip_text(text)!r}"
                                            f"{did_you_mean(name, allowed)}", available),
                                  path, node.position_at(offset_of(text, name)))
                ok = False
        for key in sorted(parsed.build_keys):
            if key not in interpolate.BUILD_DATA_KEYS:
                self.report.error(sentences(
                    f"unknown build data key {key!r} in {clip_text(text)!r}"
                    f"{did_you_mean(key, interpolate.BUILD_DATA_KEYS)}",
                    f"The build data keys are {', '.join(interpolate.BUILD_DATA_KEYS)}"),
                    path, node.position_at(offset_of(text, key)))
                ok = False
        return ok

    def render(self, text: str, node: Node, path: str) -> str | object:
        """Return ``text`` rendered, or ``_INVALID`` after reporting why it cannot be."""
        if "{{" not in text:
            return text
        if not self.check(text, node, path):
            return _INVALID
        try:
            return interpolate.render(text, self.context)
        except interpolate.InterpolationError as err:
            self.report.error(f"cannot render {clip_text(text)!r}: {err.message}", path,
                              node.position_at(err.offset))
            return _INVALID


def offset_of(text: str, word: str) -> int:
    match = re.search(rf"\b{re.escape(word)}\b", text)
    return match.start() if match else 0


def clip_text(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- component options ---------------------------------------------------------------------


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


# -- weak typing -----------------------------------------------------------------------------

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False", ""}
_INT_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)")
_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}


def _to_bool(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return _INVALID


def _to_int(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else _INVALID
    if isinstance(value, str):
        if value == "":
            return 0
        if _INT_RE.fullmatch(value) and len(value) < 40:
            sign = -1 if value.startswith("-") else 1
            digits = value.lstrip("+-")
            base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower(), 10)
            return sign * int(digits[2:] if base != 10 else digits, base)
    return _INVALID


def parse_duration(text: str) -> float | None:
    """Parse a Go duration (``"1h5m"``, ``"500ms"``, ``"-1.5s"``) into seconds, or None."""
    text = text.strip()
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        return None
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_RE.match(text, position)
        if not match or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * total


def _to_duration(node: Node, value: Any, path: str, report: Report) -> Any:
    key = path.rsplit(".", 1)[-1]
    if isinstance(value, str):
        if value == "":
            return 0.0
        seconds = parse_duration(value)
        if seconds is not None:
            return seconds
        hint = f" (did you mean '{value.strip()}s'?)" if _INT_RE.fullmatch(value.strip()) else ""
        report.error(f"{key} must be {DURATION}, got {value!r}{hint}; units are ns, us, ms, s, m "
                     "and h", path, node.position)
        return _INVALID
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        report.error(f"{key} must be {DURATION}, got the number {value!r}, which has no unit; "
                     f"write \"{value}s\" for seconds", path, node.position)
        return _INVALID
    report.error(f"{key} must be {DURATION}, got {shown_value(node)}", path, node.position)
    return _INVALID


def _to_string(node: Node, path: str, report: Report, render: Callable | None,
               check: Callable | None = None) -> Any:
    """Convert to a string; render it, or for run-time options only ``check`` it."""
    key = path.rsplit(".", 1)[-1]
    if node.kind == "string":
        if render is not None:
            return render(node.value, node, path)
        if check is not None and not check(node.value, node, path):
            return _INVALID
        return node.value
    if node.kind == "number":
        return _json_scalar(node)
    if node.kind == "null":
        return ""
    hint = " in double quotes" if node.kind == "bool" else ""
    report.error(f"{key} must be a string{hint}, got {shown_value(node)}", path, node.position)
    return _INVALID


def _to_strings(node: Node, path: str, report: Report, render: Callable | None,
                check: Callable | None = None) -> Any:
    key = path.rsplit(".", 1)[-1]
    if node.kind == "string":
        text = node.value
        if render is not None:
            text = render(text, node, path)
            if text is _INVALID:
                return text
        elif check is not None and not check(text, node, path):
            return _INVALID
        # Like Packer, a string where a list is expected is split on commas.
        return [piece.strip() for piece in text.split(",")] if text.strip() else []
    if node.kind in ("number", "bool"):
        if node.kind == "bool":
            report.error(f"{key} must be {STRINGS}, got {shown_value(node)}", path, node.position)
            return _INVALID
        return [_json_scalar(node)]
    if node.kind == "object":
        report.error(f"{key} must be {STRINGS}, got an object", path, node.position)
        return _INVALID
    if node.kind == "null":
        return []
    result = []
    ok = True
    for index, item in enumerate(node.value):
        value = _to_string(item, f"{path}[{index}]", report, render, check)
        if value is _INVALID:
            ok = False
        else:
            result.append(value)
    return result if ok else _INVALID


def _json_scalar(node: Node) -> str:
    value = node.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        # Go formats whole floats without a fraction: 14.0 -> "14".
        return str(int(value))
    return str(value)


def shown_value(node: Node) -> str:
    """Describe a value for a message as the template wrote it, clipped when long."""
    if node.kind in ("object", "array"):
        text = json.dumps(node.plain(), ensure_ascii=False)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{describe_kind(node)} {text}"
    if node.kind == "string":
        return repr(node.value)
    if node.kind == "number":
        return f"the number {node.raw or node.value}"
    if node.kind == "bool":
        return "true" if node.value else "false"
    return "null"
