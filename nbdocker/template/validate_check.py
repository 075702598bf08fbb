"""The Check object: one component's decoded options, with helpers that report at an option."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Position
from .decode_components import RawComponent
from .decode_options import Decoded
from .report import Report
from .suggest import quote_list


@dataclass
class Check:
    """One component's decoded options, with helpers to report at an option's position."""

    component: RawComponent
    decoded: Decoded
    report: Report
    directory: str

    @property
    def config(self) -> dict[str, Any]:
        return self.decoded.config

    def where(self, key: str) -> tuple[str, Position | None]:
        """Return the key path and position of option ``key``, or the component's."""
        if key in self.decoded.nodes:
            path, node = self.decoded.nodes[key]
            return path, node.position
        return self.component.path, self.component.position

    def error(self, key: str, message: str) -> None:
        if key in self.decoded.invalid:
            return
        path, position = self.where(key)
        self.report.error(message, path, position)

    def warning(self, key: str, message: str) -> None:
        path, position = self.where(key)
        self.report.warning(message, path, position)

    def is_set(self, key: str) -> bool:
        """Return whether option ``key`` has a value; an invalid value counts as set."""
        if key in self.decoded.invalid:
            return True
        value = self.config.get(key)
        return value is not None and value is not False and value != "" and value != [] \
            and value != {}

    def element(self, key: str, index: int) -> tuple[str, Position | None]:
        """Return the path and position of element ``index`` of list option ``key``."""
        if key in self.decoded.nodes:
            path, node = self.decoded.nodes[key]
            if node.kind == "array" and index < len(node.value):
                return f"{path}[{index}]", node.value[index].position
            return path, node.position
        return self.component.path, self.component.position


def check_exactly_one(check: Check, names: tuple[str, ...], missing: str) -> list[str]:
    """Report unless exactly one of ``names`` is set; return the names that are set."""
    chosen = [name for name in names if check.is_set(name)]
    if len(chosen) > 1:
        check.error(chosen[1], f"{' and '.join(chosen)} are both set; set only one of "
                               f"{quote_list(names, 'or')}")
    elif not chosen:
        check.error("", f"{missing}: set one of {quote_list(names, 'or')}")
    return chosen
