"""Enrollment's policy figures, in one object: the re-admission limit, the priority quota and how late one may join.

The defaults are the domain's (``history``, ``selection``, ``seats``); ``Settings`` takes its defaults from them and
``service_layer/policy.py`` builds this object from the settings, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.enrollment.domain.history import ReadmissionPolicy
from services.enrollment.domain.seats import JoiningPolicy
from services.enrollment.domain.selection import SelectionPolicy

DEFAULT_COMPLETION_THRESHOLD = 0.8  # a programme's share of its hours to attend, unless it says otherwise


@dataclass(frozen=True)
class AdmissionsPolicy:
    readmission: ReadmissionPolicy = field(default_factory=ReadmissionPolicy)
    selection: SelectionPolicy = field(default_factory=SelectionPolicy)
    joining: JoiningPolicy = field(default_factory=JoiningPolicy)
