"""A study's grid under a profile, cell by cell: what `hetnoise sweep` runs. Each study declares its grids
(`Study.grids`): a profile is a list of blocks; each block maps a parameter to the list of its values and
expands to their Cartesian product, so a grid may hold cells of different shapes (for example the
multi-task study's single-task baseline, which has no p)."""
from __future__ import annotations

from pathlib import Path

from hetnoise import settings, studies, tables
from hetnoise.records import repo_root


def notebook(study: str) -> Path:
    """The notebook a study runs."""
    return repo_root() / "notebooks" / f"{study}.ipynb"


def available() -> list[str]:
    """Studies whose notebook exists in this checkout."""
    return [name for name in studies.ALL if notebook(name).is_file()]


def profiles(study: str) -> list[str]:
    """The profiles that have a grid."""
    return list(studies.get(study).grids)


def check(study: str, profile: str | None = None) -> None:
    """ValueError naming the choices when a study or profile is unknown (a profile's earlier name is known)."""
    grids = studies.get(study).grids
    if profile is not None and settings.profile_name(study, profile) not in grids:
        raise ValueError(f"profile {profile!r} is unknown for {study}; choose one of {sorted(grids)}")


def cells(study: str, profile: str, overrides: dict | None = None) -> list[dict]:
    """Every cell of a profile's grid as notebook parameters; `overrides` maps a parameter to a list of
    values (replacing or adding that axis in every block), e.g. {"p": [0, 1], "seed": [0, 1]}."""
    check(study, profile)
    profile, params = settings.profile_name(study, profile), studies.get(study).params
    for key, values in (overrides or {}).items():
        if key not in params or not params[key].identity or key == "profile":
            allowed = [k for k, v in params.items() if v.identity and k != "profile"]
            raise ValueError(f"{study}: --set {key}=… is not a parameter a sweep can set; choose from "
                             f"{', '.join(allowed)}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{study}: {key} needs a non-empty list of values, got {values!r}")
    return tables.expand(studies.get(study).grids[profile], profile, overrides)


def published() -> list[tuple[str, object]]:
    """Every published grid: (study, its `Grid`), in the registry's order."""
    return [(name, grid) for name, study in studies.ALL.items() for grid in study.published]
