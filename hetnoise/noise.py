"""Label-noise processes of Khanal & Kanan (class, multi-label) and the proposed regression extension.

Multi-class (paper §3.1): a sample whose true class is not clean is, with its class's probability p,
relabelled with a class drawn uniformly from the *target list* minus its own class. The target list is
every corrupted (non-clean) class for ``strategy="exclude"`` (the paper's strategy 2) or every class
for ``strategy="include"`` (strategy 1). ``clean=[]`` corrupts every class (the multi-task Task2 noise).

Corruption is *nested*: each sample gets two independent uniforms, u (corrupt when u < p of its class)
and v (which replacement), both drawn independently of p. With one seed, the samples corrupted at a
lower p are a subset of those corrupted at a higher p, and they receive the same replacement.

Every function returns a new array and a report dataclass; inputs are never modified.
"""
from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np

try:  # scipy ships with scikit-learn, a dependency; the fallbacks keep this module numpy-only if not.
    from scipy import stats as _scipy_stats
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _scipy_stats = None

STRATEGIES = ("exclude", "include")
MODES = ("swap", "flip")
ALARM_PVALUE = 1e-5  # a class/label is flagged when its realised rate is this unlikely under the intended one


# --------------------------------------------------------------------------------------------- reports
@dataclass
class ClassNoiseReport:
    """What `corrupt_classes` did: per-sample changes, per-class intended vs realised rates, confusion."""

    changed: np.ndarray  # bool per sample: noisy label differs from the true one
    intended_rate: np.ndarray  # per class: probability a sample of the class is relabelled
    realised_rate: np.ndarray  # per class: fraction of its samples relabelled (NaN for an absent class)
    counts: np.ndarray  # per class: number of samples
    empirical_matrix: np.ndarray  # row-normalised confusion true -> noisy (NaN row for an absent class)
    strategy: str = "exclude"
    clean: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """A small JSON-serialisable summary (no per-sample arrays); NaN becomes None."""
        n = int(self.counts.sum())
        n_changed = int(self.changed.sum())
        return dict(strategy=self.strategy, clean=[int(c) for c in self.clean],
                    num_classes=len(self.counts), intended_rate=_floats(self.intended_rate),
                    realised_rate=_floats(self.realised_rate), counts=[int(c) for c in self.counts],
                    n=n, n_changed=n_changed, overall_rate=n_changed / n if n else None,
                    warnings=list(self.warnings))


@dataclass
class MultiLabelNoiseReport:
    """What `corrupt_multilabel` did: per-label change rates, rows affected, swaps with no free label."""

    changed: np.ndarray  # bool, same shape as Y: bit differs from the original
    mode: str
    p: float
    group: list
    realised_rate: np.ndarray  # per label: fraction of rows whose bit changed
    moved_out_rate: np.ndarray  # per label: fraction of its positives that were removed (NaN if none)
    positives_before: np.ndarray  # per label: number of positive rows before
    positives_after: np.ndarray  # per label: number of positive rows after
    rows_affected: int  # rows with at least one changed bit
    n_selected: int  # swap: positives chosen to move; flip: bits chosen to flip
    n_no_free_label: int  # swap: chosen positives that stayed because the row had no free group label
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """A small JSON-serialisable summary (no per-sample arrays); NaN becomes None."""
        return dict(mode=self.mode, p=float(self.p), group=[int(g) for g in self.group],
                    n_rows=int(self.changed.shape[0]), realised_rate=_floats(self.realised_rate),
                    moved_out_rate=_floats(self.moved_out_rate),
                    positives_before=[int(c) for c in self.positives_before],
                    positives_after=[int(c) for c in self.positives_after],
                    rows_affected=int(self.rows_affected), n_changed_bits=int(self.changed.sum()),
                    n_selected=int(self.n_selected), n_no_free_label=int(self.n_no_free_label),
                    warnings=list(self.warnings))


@dataclass
class RegressionNoiseReport:
    """What `corrupt_regression` did: which targets were in range and how far they moved."""

    changed: np.ndarray  # bool per target: inside [low, high] and so perturbed (sigma > 0)
    low: float
    high: float
    sigma: float
    n_in_range: int
    mean_shift: float  # mean of noisy - true over perturbed targets (truncation pulls towards the centre)
    rms_shift: float  # root-mean-square of noisy - true over perturbed targets (<= sigma)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """A small JSON-serialisable summary (no per-sample arrays); NaN becomes None."""
        return dict(low=self.low, high=self.high, sigma=self.sigma, n=int(self.changed.size),
                    n_in_range=int(self.n_in_range), mean_shift=_float(self.mean_shift),
                    rms_shift=_float(self.rms_shift), warnings=list(self.warnings))


def _float(x) -> float | None:
    """A Python float, or None for NaN (JSON has no NaN)."""
    return None if x is None or np.isnan(x) else float(x)


def _floats(a) -> list:
    """A list of Python floats with NaN as None."""
    return [_float(x) for x in np.asarray(a, dtype=float)]


# ---------------------------------------------------------------------------------------- validation
def _rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative int or a numpy Generator")
    return np.random.default_rng(int(seed))


def _check_rate(name: str, p) -> float:
    """A probability as float; ValueError for NaN or a value outside [0, 1]."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={p!r} must be a number in [0, 1]") from None
    if not 0 <= value <= 1:  # also catches NaN
        raise ValueError(f"{name}={p!r} must lie in [0, 1]")
    return value


def _check_int_array(name: str, values, ndim: int) -> np.ndarray:
    """Integer-valued array (floats allowed if whole) as int64; ValueError otherwise."""
    a = np.asarray(values)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            raise ValueError(f"{name} must hold whole numbers; found {a[bad].flat[0]!r}")
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _check_labels(labels, num_classes) -> tuple[np.ndarray, int]:
    """Validated 1-D int64 labels and the number of classes."""
    y = _check_int_array("labels", labels, 1)
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be non-negative; found {int(y.min())}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("num_classes=None needs at least one label; pass num_classes for empty labels")
        num_classes = int(y.max()) + 1
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive int")
    if y.size and y.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}; found {int(y.max())} (num_classes={num_classes})")
    return y, int(num_classes)


def _check_index_set(name: str, values, size: int, allow_empty: bool) -> np.ndarray:
    """Sorted distinct int indices in 0..size-1; ValueError for out-of-range, duplicate or empty."""
    a = _check_int_array(name, np.asarray(list(values) if not np.isscalar(values) else [values]), 1)
    if not allow_empty and a.size == 0:
        raise ValueError(f"{name}={list(a)} must not be empty")
    bad = a[(a < 0) | (a >= size)]
    if bad.size:
        raise ValueError(f"{name} entries must lie in 0..{size - 1}; found {int(bad[0])}")
    uniq, n = np.unique(a, return_counts=True)
    if (n > 1).any():
        raise ValueError(f"{name} has duplicate entries: {uniq[n > 1].tolist()}")
    return uniq


def _check_strategy(strategy) -> str:
    """The strategy name; ValueError for an unknown one."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is unknown; choose 'exclude' or 'include'")
    return strategy


def _class_rates(p, num_classes: int, clean: np.ndarray) -> np.ndarray:
    """Per-class corruption probability: p for non-clean classes (scalar p) or the validated vector.

    A vector must give rate 0 to every clean class: a non-zero rate there contradicts `clean`, so it
    is an error rather than silently ignored.
    """
    if np.ndim(p) == 0:
        rates = np.full(num_classes, _check_rate("p", p))
        rates[clean] = 0.0
        return rates
    vec = np.asarray(p, dtype=float).ravel() if np.ndim(p) == 1 else None
    if vec is None or vec.size != num_classes:
        raise ValueError(f"p must be a float or a vector of length num_classes={num_classes}; got shape {np.shape(p)}")
    for c, rate in enumerate(vec):
        _check_rate(f"p[{c}]", rate)
    nonzero = [int(c) for c in clean if vec[c] != 0]
    if nonzero:
        raise ValueError(f"p gives non-zero rates to clean classes {nonzero}; set them to 0 or drop them from clean")
    return vec.copy()


def _targets(num_classes: int, clean: np.ndarray, strategy: str) -> np.ndarray:
    """The sorted corrupt target list: non-clean classes (exclude) or every class (include)."""
    if strategy == "include":
        return np.arange(num_classes)
    return np.setdiff1d(np.arange(num_classes), clean)


def _check_feasible(rates: np.ndarray, targets: np.ndarray, strategy: str) -> None:
    """ValueError when some class must be corrupted but the target list offers no other class."""
    if len(targets) < 2 and (rates > 0).any():
        raise ValueError(f"strategy={strategy!r} leaves {len(targets)} class(es) in the target list "
                         f"{targets.tolist()}, so a corrupted label has no replacement; use p=0, fewer "
                         "clean classes or strategy='include'")


# ----------------------------------------------------------------------------------- multi-class noise
def _setup_classes(num_classes, p, clean, strategy):
    """Validated (rates, target list) shared by corrupt_classes and transition_matrix."""
    strategy = _check_strategy(strategy)
    clean = _check_index_set("clean", clean, num_classes, allow_empty=True)
    rates = _class_rates(p, num_classes, clean)
    targets = _targets(num_classes, clean, strategy)
    _check_feasible(rates, targets, strategy)
    return clean, rates, targets


def transition_matrix(num_classes: int, p, clean=(), strategy: str = "exclude") -> np.ndarray:
    """Analytic T[i, j] = P(noisy = j | true = i) of `corrupt_classes`; rows sum to 1."""
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive int")
    clean, rates, targets = _setup_classes(int(num_classes), p, clean, strategy)
    T = np.eye(num_classes)
    m = len(targets) - 1  # a corruptible class is always in the target list, so m choices remain
    for i in np.setdiff1d(np.arange(num_classes), clean):
        if rates[i] > 0:
            T[i, targets] = rates[i] / m
            T[i, i] = 1.0 - rates[i]
    return T


def corrupt_classes(labels, p, clean=(), num_classes=None, strategy: str = "exclude", seed=0):
    """Relabel non-clean samples with probability p, uniformly within the target list (paper §3.1).

    `p` is a float (every non-clean class) or a length-`num_classes` vector of per-class rates whose
    clean entries must be 0. Returns (new int64 labels, ClassNoiseReport).
    """
    y, num_classes = _check_labels(labels, num_classes)
    clean, rates, targets = _setup_classes(num_classes, p, clean, strategy)
    rng = _rng(seed)
    u = rng.random(y.size)  # decides whether to corrupt; independent of p, so corruption is nested in p
    v = rng.random(y.size)  # decides the replacement; independent of p and u
    noisy = y.copy()
    hit = u < rates[y]
    if hit.any():
        noisy[hit] = _replacement(y[hit], v[hit], targets)
    return noisy, _class_report(y, noisy, rates, num_classes, strategy, clean)


def _replacement(own: np.ndarray, v: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Uniform pick, driven by v in [0, 1), from the sorted target list with `own` removed."""
    m = len(targets) - 1
    j = np.minimum((v * m).astype(np.int64), m - 1)
    j += j >= np.searchsorted(targets, own)  # skip own position in the sorted list
    return targets[j]


def _class_report(y, noisy, rates, num_classes, strategy, clean) -> ClassNoiseReport:
    """Build the report and emit a warning for any class whose realised rate is implausible."""
    changed = noisy != y
    counts = np.bincount(y, minlength=num_classes)
    n_changed = np.bincount(y[changed], minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        realised = n_changed / counts
        conf = np.bincount(y * num_classes + noisy, minlength=num_classes ** 2).reshape(num_classes, num_classes)
        emp = conf / counts[:, None]
    msgs = []
    for c in range(num_classes):
        pval = _binom_pvalue(int(n_changed[c]), int(counts[c]), float(rates[c]))
        if pval < ALARM_PVALUE:
            msgs.append(f"class {c}: realised change rate {realised[c]:.4f} over {counts[c]} samples departs "
                        f"from intended {rates[c]:.4f} (binomial p-value {pval:.1e})")
    _emit(msgs)
    return ClassNoiseReport(changed=changed, intended_rate=rates.copy(), realised_rate=realised,
                            counts=counts, empirical_matrix=emp, strategy=strategy,
                            clean=clean.tolist(), warnings=msgs)


def _binom_pvalue(k: int, n: int, p: float) -> float:
    """Two-sided p-value of k successes in n trials under rate p (1.0 when n == 0)."""
    if n == 0:
        return 1.0
    if p in (0.0, 1.0):
        return 1.0 if k == n * p else 0.0
    if _scipy_stats is not None:
        return float(_scipy_stats.binomtest(k, n, p).pvalue)
    z = (abs(k - n * p) - 0.5) / math.sqrt(n * p * (1 - p))  # normal approximation, continuity-corrected
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def _emit(msgs: list) -> None:
    """Send each report warning through the warnings module as well."""
    for msg in msgs:
        _warnings.warn(msg, stacklevel=3)
