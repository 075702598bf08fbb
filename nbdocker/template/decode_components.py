"""Sort out the builders, provisioners and post-processor sequences, with their common options."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Position
from .decode_values import (_INVALID, _json_scalar, _to_bool, _to_duration, _to_strings,
                            shown_value)
from .json_format import Node, describe_kind
from .report import Report
from .schema import BOOL, UNSUPPORTED_TYPES, Schema, schemas_for
from .suggest import did_you_mean, quote_list, sentences


#: The root key that contains each kind of component.
_SECTIONS = {"builder": "builders", "provisioner": "provisioners",
             "post-processor": "post-processors"}


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
