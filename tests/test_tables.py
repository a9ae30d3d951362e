"""The generic pieces of a page: what a set of runs covers."""
import pandas as pd

from hetnoise import tables


def test_coverage_says_which_seeds_stand_behind_which_p():
    def frame(cells):
        return pd.DataFrame([{"seed": seed, "p": p} for seed, ps in cells.items() for p in ps])
    every = (0.0, 0.5, 0.9, 1.0)
    assert tables.coverage(frame({0: every, 1: every, 2: every})) == "seeds 0–2 at every p"
    assert tables.coverage(frame({0: every, 1: every[:3]})) == "seed 0 at every p, seed 1 at p ≤ 0.9"
    gaps = frame({0: every, 2: every, 1: (0.0, 1.0)})
    assert tables.coverage(gaps) == "seeds 0, 2 at every p, seed 1 at p = 0, 1"
    part = pd.concat([frame({0: every, 1: every[:2]})] * 2 + [frame({1: (0.9,)})])  # two runs a cell, one at 0.9
    assert tables.coverage(part) == "seed 0 at every p, seed 1 at p ≤ 0.5 and part of p = 0.9"
    assert tables.coverage(pd.DataFrame()) == "–"
    first = frame({0: every[:2]})  # one seed, part of the grid
    assert tables.coverage(first) == "seed 0 at every p" and tables.coverage(first, every) == "seed 0 at p ≤ 0.5"
