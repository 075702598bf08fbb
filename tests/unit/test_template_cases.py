"""Run the table of template cases in template_cases.py through load_template."""

from __future__ import annotations

import pytest

from nbdocker.errors import TemplateError
from nbdocker.template import load_template

from .template_cases import CASES, Case


def _write_files(case: Case, directory) -> None:
    for name, content in case.files.items():
        target = directory / name
        if name.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)


def test_case_table_size():
    assert len(CASES) >= 90


def test_case_ids_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_template_case(case: Case, tmp_path):
    _write_files(case, tmp_path)
    try:
        template = load_template("template.json", text=case.text, directory=str(tmp_path),
                                 **case.kwargs)
    except TemplateError as err:
        errors = [p for p in err.problems if p.severity == "error"]
        assert case.outcome == "error", f"unexpected errors:\n{err}"
        matching = [p for p in errors if case.fragment in p.message]
        assert matching, f"no error contains {case.fragment!r}:\n{err}"
        assert len(errors) == 1, f"expected one error, got:\n{err}"
        problem = matching[0]
        assert problem.path == case.path
        assert problem.position is not None or case.line is None
        if case.line is not None:
            assert problem.position.line == case.line
        return

    assert case.outcome != "error", f"expected an error containing {case.fragment!r}"
    if case.outcome == "ok":
        assert template.warnings == [], "\n".join(map(str, template.warnings))
        return
    matching = [p for p in template.warnings if case.fragment in p.message]
    assert matching, f"no warning contains {case.fragment!r}: {template.warnings}"
    assert matching[0].path == case.path
    if case.line is not None:
        assert matching[0].position.line == case.line
