"""Format a template's outline the way ``packer inspect`` prints a JSON template."""

from __future__ import annotations

from ..errors import TemplateError
from .decode_components import RawTemplate
from .report import Report
from .variables import read_var_file

SENSITIVE_MASK = "<sensitive>"

_NOTE = ("Note: If your build names contain user variables or template\n"
         "functions such as 'timestamp', these are processed at build time,\n"
         "and therefore only show in their raw form here.")


def format_inspection(raw: RawTemplate, cli_values: dict[str, str], var_files: list[str]) -> str:
    """Return the description, variables, builders, provisioners and post-processors.

    Variable values are shown unrendered: the template default, replaced by a var-file
    or ``-var`` value when one is given. Sensitive variables show ``<sensitive>``.
    Unlike ``packer inspect``, post-processor sequences are listed too.
    """
    lines: list[str] = []
    if raw.description:
        lines += ["Description:", "", raw.description, ""]

    lines += _variables(raw, cli_values, var_files)
    lines.append("")

    lines += ["Builders:", ""]
    if not raw.builders:
        lines.append("  <No builders>")
    names = sorted(raw.builders, key=lambda b: b.name)
    width = max((len(b.name) for b in names), default=0)
    for builder in names:
        line = f"  {builder.name:<{width}}"
        if builder.name != builder.type:
            line += f" ({builder.type})"
        lines.append(line.rstrip())
    lines.append("")

    lines += ["Provisioners:", ""]
    if not raw.provisioners:
        lines.append("  <No provisioners>")
    lines += [f"  {p.type}" for p in raw.provisioners]
    if raw.cleanup_provisioner is not None:
        lines += ["", "Error cleanup provisioner:", "", f"  {raw.cleanup_provisioner.type}"]
    lines.append("")

    lines += ["Post-processors:", ""]
    if not raw.post_processors:
        lines.append("  <No post-processors>")
    for index, sequence in enumerate(raw.post_processors):
        lines.append(f"  {index}:")
        for post_processor in sequence:
            label = post_processor.type
            if post_processor.name != post_processor.type:
                label += f" ({post_processor.name})"
            lines.append(f"    {label}")
    lines += ["", _NOTE]
    return "\n".join(lines) + "\n"


def _variables(raw: RawTemplate, cli_values: dict[str, str], var_files: list[str]) -> list[str]:
    if not raw.variables:
        return ["Variables:", "", "  <No variables>"]

    values = {name: node.value for name, node in raw.variables.items() if node.kind == "string"}
    report = Report()
    for path in var_files:
        values.update({name: node.value for name, node in read_var_file(path, report).items()
                       if name in raw.variables})
    if report.errors:
        raise TemplateError(report.problems)
    values.update({name: value for name, value in cli_values.items() if name in raw.variables})
    sensitive = {name for name, _ in raw.sensitive}

    lines: list[str] = []
    required = sorted(name for name, node in raw.variables.items() if node.kind == "null")
    if required:
        lines += ["Required variables:", ""]
        lines += [f"  {name}" for name in required]
        lines.append("")

    lines += ["Optional variables and their defaults:", ""]
    names = sorted(raw.variables)
    width = max(len(name) for name in names)
    for name in names:
        if name in required:
            continue
        value = SENSITIVE_MASK if name in sensitive else values.get(name, "")
        lines.append(f"  {name:<{width}} = {value}".rstrip())
    return lines
