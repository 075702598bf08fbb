"""The validated template model that the build runner consumes.

template/ turns text into these objects without any Docker code, and build/ runs them.
Option values in ``Component.config`` are already decoded to their Python types
(bool, int, float seconds for durations, list, dict), defaults filled in, relative
paths resolved, and strings rendered once. Keys that Packer renders at run time
(``run_command``, shell ``execute_command``, ``inline``, shell-local ``execute_command``,
checksum ``output`` ...) keep their template text and are rendered by ``Build.render``
with the run's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import Position, Problem

#: Renders a template string at run time: ``render(text, data)``, where ``data`` holds the
#: dot variables (``Path``, ``Vars``, ``Image`` ...) and the shared build data (``ID``,
#: ``ImageSha256`` ...) that ``{{build `X`}}`` reads. Raises TemplateError. The loader's
#: renderers also take an optional ``path=`` keyword (the key path of the value, such as
#: ``provisioners[0].inline``) that the error then names.
Renderer = Callable[[str, Mapping[str, Any]], str]


@dataclass
class Component:
    """One builder, provisioner or post-processor, decoded and validated."""

    type: str
    config: dict[str, Any]
    path: str
    position: Position | None = None
    name: str = ""
    pause_before: float = 0.0
    timeout: float = 0.0
    max_retries: int = 0
    keep_input_artifact: bool | None = None
    #: Options the template sets explicitly; the other keys of ``config`` contain defaults.
    explicit_options: frozenset[str] = frozenset()
    #: Keys of ``config`` whose strings are template text for ``Build.render``: the
    #: run-time options, and values that still hold ``{{.X}}`` placeholders for build data.
    runtime_keys: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Name to show for this component: its name if set, else its type."""
        return self.name or self.type


@dataclass
class Build:
    """One build of a template: a builder with the provisioners and post-processors for it."""

    name: str
    builder: Component
    provisioners: list[Component]
    post_processors: list[list[Component]]
    render: Renderer
    error_cleanup_provisioner: Component | None = None

    @property
    def type(self) -> str:
        """Builder type, such as ``docker``."""
        return self.builder.type


@dataclass
class Variable:
    """A user variable declared in the template's ``variables`` section."""

    name: str
    default: str | None
    required: bool = False
    sensitive: bool = False
    position: Position | None = None


@dataclass
class Template:
    """A parsed, validated template with its builds selected and ready to run."""

    path: str | None
    directory: str
    builds: list[Build]
    description: str = ""
    variables: dict[str, Variable] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    sensitive_values: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    min_packer_version: str = ""
