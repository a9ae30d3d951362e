"""The multi-label study (paper §3.3, §4.3): the two label groups of each case."""
from __future__ import annotations

CASES = (1, 2)


def label_groups(num_labels: int, case: int) -> tuple[list[int], list[int]]:
    """(corrupted, clean) label indices. The cut is after 5/8 of the labels (COCO: 50 of 80, as the
    paper's 1–50 / 51–80); case 1 corrupts the first part, case 2 the second."""
    if case not in CASES:
        raise ValueError(f"case={case!r} is unknown; choose 1 (first 5/8 of the labels corrupted) or 2 (the rest)")
    if num_labels < 2:
        raise ValueError(f"num_labels={num_labels}: two label groups need at least two labels")
    cut = min(max(1, round(num_labels * 5 / 8)), num_labels - 1)
    first, last = list(range(cut)), list(range(cut, num_labels))
    return (first, last) if case == 1 else (last, first)
