"""Every annotation in the domains can be evaluated.

With ``from __future__ import annotations`` an annotation naming something never imported (``Day.date: date``
without ``from datetime import date``) is a string nobody reads until a tool asks for it: dataclasses.fields,
pydantic, typing.get_type_hints or a debugger then fail with a NameError. This asks for all of them.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "services").glob("*/domain/*.py")
    if p.name != "__init__.py"
)


def test_the_attendance_standing_day_names_its_date_type() -> None:
    from datetime import date

    from services.attendance.domain.standing import Day

    assert typing.get_type_hints(Day)["date"] is date


@pytest.mark.parametrize("name", MODULES)
def test_every_annotation_of_a_domain_module_evaluates(name: str) -> None:
    module = importlib.import_module(name)
    own = [
        obj
        for _n, obj in vars(module).items()
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == name
    ]
    for obj in own:
        typing.get_type_hints(obj)  # raises NameError for an annotation naming what the module lacks
        for member in vars(obj).values() if inspect.isclass(obj) else ():
            if inspect.isfunction(member):
                typing.get_type_hints(member)
