"""The registry: every study of the project, in the order the book shows them. Generic code (settings,
grids, records, sweep, command line, book) iterates this list and names no study itself; a new study is
its module plus one line here."""
from __future__ import annotations

from hetnoise import features, mtl, multiclass, multilabel, regression
from hetnoise.spec import Study

ALL: dict[str, Study] = {s.name: s for s in (multiclass.STUDY, mtl.STUDY, multilabel.STUDY, regression.STUDY,
                                             features.STUDY)}


def get(name: str) -> Study:
    """The study of that name; ValueError naming the choices when there is none."""
    if name not in ALL:
        raise ValueError(f"study {name!r} is unknown; choose one of {', '.join(ALL)}")
    return ALL[name]
