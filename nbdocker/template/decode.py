"""Decode a parsed template: the root structure, then each component's options by its schema.

Decoding follows Packer's rules for JSON templates (weak typing, a string lifted into a
list by splitting on commas, Go durations, every string rendered once) but reports every
problem of a component instead of stopping at the first.

This module checks the root keys and the variables. decode_components.py sorts the
components out, and decode_options.py decodes their options. decode_values.py converts
single values, and decode_render.py renders template text at load time.
"""

from __future__ import annotations

from .decode_components import (RawComponent, RawTemplate, _decode_builders,
                                _decode_post_processors, _decode_provisioners)
from .decode_options import Decoded, OptionDecoder, resolve_path
from .decode_render import VARIABLE_ONLY_FUNCTIONS, PrepareRenderer, clip_text, offset_of
from .decode_values import _json_scalar, parse_duration, shown_value
from .json_format import Node, describe_kind
from .report import Report
from .suggest import did_you_mean, quote_list, sentences

__all__ = ["ROOT_KEYS", "VARIABLE_ONLY_FUNCTIONS", "Decoded", "OptionDecoder", "PrepareRenderer",
           "RawComponent", "RawTemplate", "Report", "clip_text", "decode_root", "offset_of",
           "parse_duration", "resolve_path", "shown_value"]


#: Root keys of a JSON template, in Packer's order.
ROOT_KEYS = ("description", "min_packer_version", "variables", "sensitive-variables", "builders",
             "provisioners", "error-cleanup-provisioner", "post-processors", "push")


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
