"""Time the noise processes: corrupt_classes on 1 M labels (10 classes), corrupt_multilabel on 100 000 x 80.

Usage: python benchmarks/bench_noise.py [--smoke] [--repeats N]. Prints the mean and best wall time.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from hetnoise import noise


def timeit(fn, repeats: int) -> tuple[float, float]:
    """Mean and minimum wall time of `repeats` calls of fn, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.mean(times)), float(np.min(times))


def main(argv=None) -> None:
    """Build the inputs, time each process and print one line per case."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for a quick check that it runs")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    n_cls, n_ml, repeats = (10_000, 1_000, 2) if args.smoke else (1_000_000, 100_000, args.repeats)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n_cls)
    Y = (rng.random((n_ml, 80)) < 0.4 / np.arange(1, 81) ** 0.8).astype(np.uint8)  # ~2.9 labels a row
    cases = [
        (f"corrupt_classes     {n_cls:>9,} labels, 10 classes, exclude, p=0.8",
         lambda: noise.corrupt_classes(y, 0.8, clean=[0], num_classes=10, seed=1)),
        (f"corrupt_classes     {n_cls:>9,} labels, 10 classes, include, p=0.8",
         lambda: noise.corrupt_classes(y, 0.8, clean=[0], num_classes=10, strategy="include", seed=1)),
        (f"corrupt_multilabel  {n_ml:>9,} x 80, swap, group 0-49, p=0.5",
         lambda: noise.corrupt_multilabel(Y, 0.5, range(50), seed=1)),
        (f"corrupt_multilabel  {n_ml:>9,} x 80, swap, all 80 labels, p=0.5",
         lambda: noise.corrupt_multilabel(Y, 0.5, range(80), seed=1)),
        (f"corrupt_multilabel  {n_ml:>9,} x 80, flip, group 0-49, p=0.5",
         lambda: noise.corrupt_multilabel(Y, 0.5, range(50), mode="flip", seed=1)),
    ]
    print(f"{'case':<66} {'mean s':>8} {'best s':>8}  ({repeats} repeats)")
    for name, fn in cases:
        mean, best = timeit(fn, repeats)
        print(f"{name:<66} {mean:8.3f} {best:8.3f}")


if __name__ == "__main__":
    main()
