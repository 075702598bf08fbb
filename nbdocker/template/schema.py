"""The options each component accepts: type, default, whether it is rendered at run time.

A Schema lists every option of one builder, provisioner or post-processor type, named as
Packer names them in JSON templates. decode_options.py turns a component object into a
config dict by these schemas, and validate.py adds the checks that involve several options.
The concrete schemas live in schema_builders.py, schema_provisioners.py and
schema_post_processors.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Option kinds. The value is the phrase that error messages use for the expected type.
STRING = "a string"
BOOL = "a boolean (true or false)"
INT = "an integer"
DURATION = "a duration such as '30s', '5m' or '1h30m'"
STRINGS = "a list of strings"
INTS = "a list of integers"
MAP = "an object with string values"
BLOCK = "an object"


@dataclass(frozen=True)
class Option:
    """One option of a component."""

    name: str
    kind: str
    #: Value stored in the config when the template leaves the option out.
    default: Any = None
    #: One-line description of the option.
    help: str = ""
    #: Kept as template text at load time; ``Build.render`` renders it with the run's data.
    runtime: bool = False
    #: ``file``, ``dir`` or ``path``: a local path made absolute against the template
    #: directory; ``file`` and ``dir`` must also exist.
    local_path: str = ""
    #: Replacement advice for a deprecated option; decoding warns when it is set.
    deprecated: str = ""
    #: For a deprecated option: the option that takes over its values, such as docker-tag's
    #: ``tags`` for ``tag``. Without one, the value is dropped.
    replaced_by: str = ""
    #: Accepted for compatibility with Packer templates, but has no effect.
    ignored: bool = False
    #: For ``BLOCK`` options: the schema of the nested object.
    block: Schema | None = None
    #: Allowed values, for options that take one of a few words.
    choices: tuple[str, ...] = ()
    #: ``image``, ``repository`` or ``tag``: checked against Docker's reference grammar.
    reference: str = ""
    #: The value is a credential: it is added to ``Template.sensitive_values``.
    secret: bool = False
    #: For run-time options: the dot fields (``{{.Path}}``) the runner provides, besides
    #: the build data keys (``{{.ID}}`` ...).
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    """Every option of one component type."""

    kind: str
    type: str
    options: dict[str, Option]
    #: Keys with these prefixes are accepted and ignored (the ssh_* and winrm_* options
    #: that Packer's docker builder inherits from its communicator settings).
    ignored_prefixes: tuple[str, ...] = ()
    #: Keys that the template engine handles for every component of this kind
    #: (``type``, ``only``, ``override`` ...); they never reach ``config``.
    common: tuple[str, ...] = ()
    #: One-line description of the component.
    summary: str = ""

    def known_keys(self) -> list[str]:
        """Return every key a template may set on this component, for did-you-mean."""
        return [*self.common, *self.options]


def options(*items: Option) -> dict[str, Option]:
    """Index options by name, keeping their order for docs and messages."""
    return {item.name: item for item in items}


#: Keys that every builder accepts outside its own options.
BUILDER_COMMON = ("type", "name")
#: Keys that every provisioner accepts outside its own options. ``name`` is not among
#: them: in a JSON template Packer passes it to the provisioner, which rejects it.
PROVISIONER_COMMON = ("type", "only", "except", "override", "pause_before", "timeout",
                      "max_retries")
#: Keys that every post-processor accepts outside its own options.
POST_PROCESSOR_COMMON = ("type", "name", "only", "except", "keep_input_artifact")


def builder_schemas() -> dict[str, Schema]:
    """Return the builder schemas by type."""
    from .schema_builders import BUILDERS
    return BUILDERS


def provisioner_schemas() -> dict[str, Schema]:
    """Return the provisioner schemas by type."""
    from .schema_provisioners import PROVISIONERS
    return PROVISIONERS


def post_processor_schemas() -> dict[str, Schema]:
    """Return the post-processor schemas by type."""
    from .schema_post_processors import POST_PROCESSORS
    return POST_PROCESSORS


def schemas_for(kind: str) -> dict[str, Schema]:
    """Return the schemas of ``builder``, ``provisioner`` or ``post-processor`` components."""
    if kind == "builder":
        return builder_schemas()
    if kind == "provisioner":
        return provisioner_schemas()
    return post_processor_schemas()


#: Packer component types that nbdocker recognizes but does not run, with the reason.
UNSUPPORTED_TYPES: dict[str, dict[str, str]] = {
    "builder": {
        "docker-windows": "Windows containers are not supported",
        "amazon-ebs": "nbdocker builds Docker images only",
        "virtualbox-iso": "nbdocker builds Docker images only",
        "qemu": "nbdocker builds Docker images only",
        "null": "nbdocker builds Docker images only",
    },
    "provisioner": {
        "ansible": "it needs an Ansible installation and an SSH connection",
        "ansible-local": "it needs Ansible inside the image; run ansible-playbook from a shell "
                         "provisioner instead",
        "powershell": "Windows containers are not supported",
        "windows-shell": "Windows containers are not supported",
        "windows-restart": "Windows containers are not supported",
        "chef-solo": "run chef-solo from a shell provisioner instead",
        "puppet-masterless": "run puppet from a shell provisioner instead",
        "salt-masterless": "run salt-call from a shell provisioner instead",
        "inspec": "run inspec from a shell-local provisioner instead",
        "hcp-sbom": "it needs HCP Packer",
    },
    "post-processor": {
        "compress": "compress the exported tar file with a shell-local post-processor instead",
        "vagrant": "nbdocker produces Docker images, not Vagrant boxes",
        "amazon-import": "nbdocker produces Docker images only",
        "googlecompute-import": "nbdocker produces Docker images only",
    },
}
