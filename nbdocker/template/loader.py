"""The loading pipeline: read the source, select the builds and decode each build's components."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any, Mapping, Sequence

from ..errors import Position, Problem, TemplateError
from . import interpolate
from .decode_components import RawComponent, RawTemplate
from .decode_options import OptionDecoder
from .decode_render import PrepareRenderer, clip_text
from .inspect import SENSITIVE_MASK
from .json_format import Node, parse
from .model import Build, Component
from .report import Report
from .suggest import did_you_mean, quote_list, sentences
from .validate import Check, check_component, check_sequence, parse_max_retries


def mask(text: str, secrets: Sequence[str]) -> str:
    """Replace each secret in ``text`` with ``<sensitive>``.

    Each line of a multi-line secret is replaced on its own, as Packer does, so a secret
    that a program prints across several lines is still hidden. Longer secrets are
    replaced first so that a secret containing another is hidden whole.
    """
    pieces = set()
    for secret in secrets:
        if not secret.strip():
            continue
        pieces.add(secret)
        pieces.update(line for line in secret.splitlines() if line.strip())
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, SENSITIVE_MASK)
    return text


# -- reading ---------------------------------------------------------------------------------


def _read_source(source: str | os.PathLike, text: str | None,
                 directory: str | None) -> tuple[str, str, str | None, str, str | None]:
    """Return (display name, text, absolute path, directory, template_dir)."""
    if text is not None:
        display = os.fspath(source) if source is not None else "<template>"
        directory = os.path.abspath(directory or os.getcwd())
        return display, text, None, directory, directory
    source = os.fspath(source)
    if source == "-":
        return "<stdin>", sys.stdin.read(), None, os.path.abspath(directory or os.getcwd()), None

    absolute = os.path.abspath(source)
    if source.endswith((".pkr.hcl", ".hcl")):
        raise TemplateError(Problem(f"{source!r} is an HCL2 template; this loader reads JSON "
                                    "templates (.json)"))
    try:
        with open(absolute, encoding="utf-8") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise TemplateError(Problem(f"template file {source!r} not found (looked for "
                                    f"{absolute!r})")) from None
    except IsADirectoryError:
        raise TemplateError(Problem(f"{source!r} is a directory; pass the path of a JSON "
                                    "template file")) from None
    except UnicodeDecodeError as err:
        raise TemplateError(Problem(f"template file {source!r} is not UTF-8 text: {err}")) from None
    except OSError as err:
        raise TemplateError(Problem(f"cannot read template file {source!r}: "
                                    f"{err.strerror}")) from None
    folder = os.path.dirname(absolute)
    return source, content, absolute, os.path.abspath(directory or folder), folder


def _parse_json(text: str, display: str, report: Report) -> Node:
    duplicates: list[Problem] = []
    try:
        root = parse(text, display, duplicates)
    except TemplateError as err:
        raise TemplateError(err.problems) from None
    for problem in duplicates:
        report.add(problem)
    return root


def _names(values: Sequence[str] | str) -> list[str]:
    """Accept a list of names, or one string with names separated by commas (``a,b``)."""
    if isinstance(values, (str, os.PathLike)):
        return [name for name in os.fspath(values).split(",") if name]
    return [os.fspath(value) for value in values]


def _paths(values: Sequence[str] | str) -> list[str]:
    """Accept a list of paths, or a single path."""
    if isinstance(values, (str, os.PathLike)):
        return [os.fspath(values)]
    return [os.fspath(value) for value in values]


def _as_variable_value(value: Any) -> str:
    """Turn a Python value given for a variable into the string that ``user`` returns."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _masked(problems: list[Problem], secrets: Sequence[str]) -> list[Problem]:
    if not secrets:
        return list(problems)
    return [Problem(mask(p.message, secrets), p.path, p.position, p.severity) for p in problems]


def _check_unique_names(builders: list[RawComponent], names: dict[str, str],
                        report: Report) -> None:
    """Report builders whose names (``names`` maps builder path to name) repeat."""
    first_by_name: dict[str, RawComponent] = {}
    for builder in builders:
        name = names.get(builder.path)
        if name is None:
            continue
        if name in first_by_name:
            node = builder.name_node or builder.node.value["type"]
            report.error(f"build name {name!r} is already used by {first_by_name[name].path}; give "
                         "each builder a unique name", f"{builder.path}.name", node.position)
        else:
            first_by_name[name] = builder


# -- builds ----------------------------------------------------------------------------------


class _BuildLoader:
    """Select the builds and decode every component for each of them."""

    def __init__(self, raw: RawTemplate, report: Report, *, values: dict[str, str], directory: str,
                 template_dir: str | None, now: datetime, secrets: list[str],
                 unavailable: frozenset[str]):
        self.raw = raw
        self.report = report
        self.values = values
        self.directory = directory
        self.template_dir = template_dir
        self.now = now
        self.secrets = secrets
        self.unavailable = unavailable
        #: Key path to position of every decoded option, for run-time render errors.
        self.positions: dict[str, Position] = {}
        self.names: dict[str, str] = {}

    def load(self, *, only: list[str], except_: list[str]) -> list[Build]:
        raw = self.raw
        self._render_names()
        _check_unique_names(raw.builders, self.names, self.report)
        self._check_build_references()

        selected = self._select(only, except_)
        builds = []
        for builder in selected:
            build = self._load_build(builder, except_)
            if build is not None:
                builds.append(build)
        return builds

    # Build names ---------------------------------------------------------------------------

    def _render_names(self) -> None:
        """Render builder names that use variables or functions, like Packer at init."""
        context = interpolate.Context(variables=self.values, template_dir=self.template_dir,
                                      now=self.now, build_data=None)
        renderer = PrepareRenderer(context, self.report, unavailable=self.unavailable)
        for builder in self.raw.builders:
            name = builder.name
            if builder.name_node is not None and "{{" in name:
                rendered = renderer.render(name, builder.name_node, f"{builder.path}.name")
                if not isinstance(rendered, str):
                    continue
                name = rendered
            self.names[builder.path] = name

    def _known_build_names(self) -> list[str]:
        """Names that only, except and override may use: written and rendered build names."""
        names = list(self.names.values())
        for builder in self.raw.builders:
            names.append(builder.name)
        # Builders of unknown types are not in raw.builders, but their names are still
        # valid references; their own error is reported already.
        builders = self.raw.root.value.get("builders") if self.raw.root.kind == "object" else None
        if builders is not None and builders.kind == "array":
            for node in builders.value:
                if node.kind == "object":
                    for key in ("name", "type"):
                        value = node.value.get(key)
                        if value is not None and value.kind == "string":
                            names.append(value.value)
                            break
        return list(dict.fromkeys(names))

    def _check_build_references(self) -> None:
        known = self._known_build_names()
        components = [*self.raw.provisioners, *(p for seq in self.raw.post_processors for p in seq)]
        if self.raw.cleanup_provisioner is not None:
            components.append(self.raw.cleanup_provisioner)
        for component in components:
            members = component.node.value
            for key, names in (("only", component.only), ("except", component.except_)):
                for index, name in enumerate(names):
                    if name in known:
                        continue
                    node = members[key]
                    if node.kind == "array" and index < len(node.value):
                        node = node.value[index]
                    position = node.position
                    self.report.error(sentences(
                        f"{key} names build {name!r}, but the template has no such build"
                        f"{did_you_mean(name, known)}", f"The builds are {quote_list(known)}"),
                        f"{component.path}.{key}", position)
            for name, node in component.override.items():
                if name not in known:
                    self.report.error(sentences(
                        f"override names build {name!r}, but the template has no such build"
                        f"{did_you_mean(name, known)}", f"The builds are {quote_list(known)}"),
                        f"{component.path}.override.{name}", node.key_position)

    def _select(self, only: list[str], except_: list[str]) -> list[RawComponent]:
        builders = [b for b in self.raw.builders if b.path in self.names]
        names = [self.names[b.path] for b in builders]
        post_processor_names = {p.name for seq in self.raw.post_processors for p in seq}
        for name in only:
            if name not in names:
                self.report.warning(f"-only names build {name!r}, but the template has no such "
                                    f"build{did_you_mean(name, names)}", "-only")
        for name in except_:
            if name not in names and name not in post_processor_names:
                hint = did_you_mean(name, [*names, *post_processor_names])
                self.report.warning(f"-except names {name!r}, which is neither a build nor a "
                                    f"post-processor{hint}", "-except")
        selected = [b for b, name in zip(builders, names)
                    if (not only or name in only) and name not in except_]
        if not selected and builders and (only or except_):
            self.report.error(f"no builds to run: -only {','.join(only) or '(none)'} and -except "
                              f"{','.join(except_) or '(none)'} leave none of the builds "
                              f"{quote_list(names)}", "-only" if only else "-except")
        return selected

    # One build -----------------------------------------------------------------------------

    def _load_build(self, builder: RawComponent, except_: list[str]) -> Build | None:
        name = self.names[builder.path]
        context = interpolate.Context(variables=self.values, build_name=name,
                                      build_type=builder.type, template_dir=self.template_dir,
                                      now=self.now, build_data=None)
        renderer = PrepareRenderer(context, self.report, unavailable=self.unavailable)
        decoder = OptionDecoder(renderer, self.directory, self.report, self.secrets,
                                self.positions)

        errors_before = len(self.report.errors)
        builder_component = self._component(builder, decoder, name)
        builder_ok = len(self.report.errors) == errors_before

        provisioners = [self._component(p, decoder, name) for p in self.raw.provisioners
                        if _applies(p, builder, name)]
        cleanup = None
        if self.raw.cleanup_provisioner is not None:
            cleanup = self._component(self.raw.cleanup_provisioner, decoder, name)

        sequences = []
        for sequence in self.raw.post_processors:
            kept: list[RawComponent] = []
            for post_processor in sequence:
                if not _applies(post_processor, builder, name):
                    continue
                # Like Packer, -except on a post-processor's name skips it and the rest of
                # its sequence.
                if post_processor.name in except_:
                    break
                kept.append(post_processor)
            if not kept:
                continue
            if builder_ok:
                check_sequence(name, builder_component.config, kept, self.report)
            sequences.append([self._component(p, decoder, name) for p in kept])

        return Build(name=name, builder=builder_component, provisioners=provisioners,
                     post_processors=sequences, render=self._renderer(name, builder.type),
                     error_cleanup_provisioner=cleanup)

    def _component(self, raw: RawComponent, decoder: OptionDecoder, build_name: str) -> Component:
        members = [(key, node, f"{raw.path}.{key}") for key, node in raw.node.value.items()]

        # An override for this build (by rendered or written name) replaces whole options.
        written_name = _raw_name(self.raw, build_name, self.names)
        override_name = build_name if build_name in raw.override else written_name
        override = raw.override.get(override_name)
        if override is not None:
            prefix = f"{raw.path}.override.{override_name}"
            members = [member for member in members if member[0] not in override.value]
            members += [(key, node, f"{prefix}.{key}") for key, node in override.value.items()]

        decoded = decoder.decode(raw.schema, members, raw.path)
        check_component(Check(raw, decoded, self.report, self.directory))
        self.positions[raw.path] = raw.position
        name = {"builder": build_name, "post-processor": raw.name}.get(raw.kind, "")
        return Component(
            type=raw.type, config=decoded.config, path=raw.path, position=raw.position, name=name,
            pause_before=raw.pause_before, timeout=raw.timeout,
            max_retries=self._max_retries(raw, decoder),
            keep_input_artifact=raw.keep_input_artifact, explicit_options=frozenset(decoded.explicit),
            runtime_keys=_runtime_keys(raw, decoded.config))

    def _max_retries(self, raw: RawComponent, decoder: OptionDecoder) -> int:
        node = raw.max_retries
        if node is None:
            return 0
        path = f"{raw.path}.max_retries"
        if node.kind == "number":
            if isinstance(node.value, int):
                return node.value
            text = str(node.value)
        else:
            text = decoder.renderer.render(node.value, node, path)
            if not isinstance(text, str):
                return 0
        value = parse_max_retries(text) if text.strip() else 0
        if value is None:
            self.report.error(f"max_retries must be an integer, got {text!r}", path, node.position)
            return 0
        return value

    def _renderer(self, build_name: str, build_type: str):
        values, template_dir, now = self.values, self.template_dir, self.now
        positions, secrets = self.positions, self.secrets

        def render(text: str, data: Mapping[str, Any] | None = None, *, path: str = "") -> str:
            """Render run-time template text with the run's data (``Build.render``)."""
            if "{{" not in text:
                return text
            data = dict(data or {})
            context = interpolate.Context(variables=values, data=data, build_data=data,
                                          build_name=build_name, build_type=build_type,
                                          template_dir=template_dir, now=now)
            try:
                return interpolate.render(text, context)
            except interpolate.InterpolationError as err:
                message = mask(f"cannot render {clip_text(text)!r}: {err.message}", secrets)
                position = _nearest_position(positions, path)
                raise TemplateError(Problem(message, path=path, position=position)) from None

        return render


def _applies(component: RawComponent, builder: RawComponent, name: str) -> bool:
    names = {name, builder.name}
    if component.only and not names & set(component.only):
        return False
    return not names & set(component.except_)


def _raw_name(raw: RawTemplate, build_name: str, names: dict[str, str]) -> str:
    for builder in raw.builders:
        if names.get(builder.path) == build_name:
            return builder.name
    return build_name


def _nearest_position(positions: dict[str, Position], path: str) -> Position | None:
    """Return the position of ``path``, or of its closest recorded parent key path."""
    while path:
        if path in positions:
            return positions[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return None
        path = path[:cut]
    return None


def _runtime_keys(raw: RawComponent, config: dict[str, Any]) -> tuple[str, ...]:
    keys = []
    for key, value in config.items():
        option = raw.schema.options.get(key)
        if option is not None and option.runtime:
            keys.append(key)
        elif _has_template_text(value):
            keys.append(key)
    return tuple(keys)


def _has_template_text(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, list):
        return any(_has_template_text(item) for item in value)
    if isinstance(value, dict):
        return any(_has_template_text(k) or _has_template_text(v) for k, v in value.items())
    return False
