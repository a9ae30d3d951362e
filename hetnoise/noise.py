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
import numbers
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
    intended_rate: np.ndarray  # per label: p inside the group (chance a positive/bit is chosen), 0 outside
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
                    n_rows=int(self.changed.shape[0]), intended_rate=_floats(self.intended_rate),
                    realised_rate=_floats(self.realised_rate),
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
    p: float = 1.0  # probability that a target in range is perturbed

    def to_dict(self) -> dict:
        """A small JSON-serialisable summary (no per-sample arrays); NaN becomes None."""
        return dict(low=self.low, high=self.high, sigma=self.sigma, p=self.p, n=int(self.changed.size),
                    n_in_range=int(self.n_in_range), n_changed=int(self.changed.sum()),
                    mean_shift=_float(self.mean_shift), rms_shift=_float(self.rms_shift), warnings=list(self.warnings))


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
    """A probability as float; ValueError naming `name` for a bool, a string, NaN or a value outside [0, 1].

    Python and numpy reals (ints 0 and 1 included) pass; True is refused, not silently read as p = 1."""
    if isinstance(p, np.ndarray) and p.ndim == 0:
        p = p.item()
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise ValueError(f"{name}={p!r} must be a number in [0, 1], not a {type(p).__name__}")
    value = float(p)
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
            raise ValueError(f"{name} must hold whole numbers; found {a[bad].flat[0].item()!r}")
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _check_num_classes(num_classes) -> int:
    """num_classes as int; ValueError unless a positive int."""
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive int")
    return int(num_classes)


def _check_labels(labels, num_classes) -> tuple[np.ndarray, int]:
    """Validated 1-D int64 labels and the number of classes."""
    y = _check_int_array("labels", labels, 1)
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be non-negative; found {int(y.min())}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("num_classes=None needs at least one label; pass num_classes for empty labels")
        num_classes = int(y.max()) + 1
    _check_num_classes(num_classes)
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
    if np.ndim(p) != 1 or len(p) != num_classes:
        raise ValueError(f"p must be a float or a vector of length num_classes={num_classes}; got shape {np.shape(p)}")
    items = p.tolist() if isinstance(p, np.ndarray) else list(p)  # not np.asarray: it would turn True into 1.0
    vec = np.array([_check_rate(f"p[{c}]", rate) for c, rate in enumerate(items)])
    nonzero = [int(c) for c in clean if vec[c] != 0]
    if nonzero:
        raise ValueError(f"p gives non-zero rates to clean classes {nonzero}; set them to 0 or drop them from clean")
    return vec


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
    _check_num_classes(num_classes)
    clean, rates, targets = _setup_classes(int(num_classes), p, clean, strategy)
    T = np.eye(num_classes)
    m = len(targets) - 1  # a corruptible class is always in the target list, so m choices remain
    for i in np.setdiff1d(np.arange(num_classes), clean):
        if rates[i] > 0:
            T[i, targets] = rates[i] / m
            T[i, i] = 1.0 - rates[i]
    return T


def unmemorised_accuracy(num_classes: int, p, clean=(), strategy: str = "exclude", counts=None) -> float:
    """Accuracy on the noisy labels of a predictor that gives each image the most likely noisy label of
    its true class (row maxima of the transition matrix, weighted by class counts): the most a network
    reaches on noisy training labels without memorising individual images."""
    T = transition_matrix(num_classes, p, clean, strategy)
    w = np.ones(num_classes) if counts is None else np.asarray(counts, dtype=float)
    return float((T.max(1) * w).sum() / w.sum())


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
    pvals = _binom_pvalues(n_changed, counts, rates)
    msgs = [f"class {c}: realised change rate {realised[c]:.4f} over {counts[c]} samples departs from "
            f"intended {rates[c]:.4f} (binomial p-value {pvals[c]:.1e})" for c in np.flatnonzero(pvals < ALARM_PVALUE)]
    _emit(msgs)
    return ClassNoiseReport(changed=changed, intended_rate=rates.copy(), realised_rate=realised,
                            counts=counts, empirical_matrix=emp, strategy=strategy,
                            clean=clean.tolist(), warnings=msgs)


def _binom_pvalues(k, n, p) -> np.ndarray:
    """Two-sided binomial p-values, 2 * min(P(X <= k), P(X >= k)) capped at 1, elementwise.

    1.0 where n == 0; exact for p in {0, 1}; a continuity-corrected normal approximation without scipy.
    """
    k, n, p = (np.atleast_1d(np.asarray(a, dtype=float)) for a in np.broadcast_arrays(k, n, p))
    out = np.ones(k.shape)
    degenerate = (p == 0) | (p == 1)
    out[degenerate & (k != n * p)] = 0.0
    live = (n > 0) & ~degenerate
    if not live.any():
        return out
    k, n, p = k[live], n[live], p[live]
    if _scipy_stats is not None:
        tail = np.minimum(_scipy_stats.binom.cdf(k, n, p), _scipy_stats.binom.sf(k - 1, n, p))
        out[live] = np.minimum(1.0, 2 * tail)
    else:
        z = np.maximum(np.abs(k - n * p) - 0.5, 0) / np.sqrt(n * p * (1 - p))
        out[live] = [math.erfc(x / math.sqrt(2)) for x in z]
    return out


def _emit(msgs: list) -> None:
    """Send each report warning through the warnings module as well."""
    for msg in msgs:
        _warnings.warn(msg, stacklevel=4)  # point at the caller of corrupt_*


# ------------------------------------------------------------------------------------ multi-label noise
def _check_multihot(Y) -> np.ndarray:
    """Y as a 2-D bool matrix; ValueError when not 2-D or not all 0/1."""
    a = np.asarray(Y)
    if a.ndim != 2:
        raise ValueError(f"Y must be a 2-D multi-hot matrix, got shape {a.shape}")
    if a.dtype.kind != "b":
        if a.dtype.kind not in "iuf":
            raise ValueError(f"Y must hold 0/1 values, got dtype {a.dtype}")
        bad = (a != 0) & (a != 1)
        if bad.any():
            raise ValueError(f"Y must hold only 0 and 1; found {a[bad].flat[0].item()!r}")
    return a.astype(bool)


def _check_mode(mode) -> str:
    """The multi-label mode; ValueError for an unknown one."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is unknown; choose 'swap' or 'flip'")
    return mode


def corrupt_multilabel(Y, p, group, mode: str = "swap", seed=0):
    """Corrupt the labels in `group` of a multi-hot matrix with probability p (paper §3.3).

    `swap` (the paper's): each positive label in `group` is, with probability p, moved to a group label
    that is not positive in the original row, so rows keep their number of positives; when a row has
    fewer free group labels than chosen positives, the surplus (chosen at random) stay put and are
    counted. `flip`: each bit in `group` flips with probability p. Returns (new matrix of Y's dtype,
    MultiLabelNoiseReport).
    """
    B = _check_multihot(Y)
    p = _check_rate("p", p)
    group = _check_index_set("group", group, B.shape[1], allow_empty=False)
    mode = _check_mode(mode)
    rng = _rng(seed)
    sub = B[:, group]
    chosen = rng.random(sub.shape, dtype=np.float32) < p  # float32: half the memory traffic
    if mode == "flip":
        new_sub, n_selected, n_stuck = sub ^ chosen, int(chosen.sum()), 0
    else:
        chosen &= sub
        new_sub, n_stuck = _swap(sub, chosen, rng)
        n_selected = int(chosen.sum())
    new_B = B.copy()
    new_B[:, group] = new_sub
    noisy = np.array(Y, copy=True)
    noisy[:, group] = new_sub.astype(noisy.dtype)
    return noisy, _multilabel_report(B, new_B, mode, p, group, n_selected, n_stuck)


def _swap(sub: np.ndarray, chosen: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Move each chosen positive to a distinct, random, originally-free column of its row.

    One argsort per row ranks the chosen positives first and the free columns next, each in random
    order; the k-th chosen positive then goes to the k-th free column.
    """
    new = sub.copy()
    rows = np.flatnonzero(chosen.any(1))
    if rows.size == 0:
        return new, 0
    s, c = sub[rows], chosen[rows]
    not_chosen = ~c  # integer keys, exact: random low 29 bits; bits 29-30 rank chosen < free < the rest
    key = rng.integers(0, 1 << 29, size=s.shape, dtype=np.int32)
    key |= (not_chosen.astype(np.int32) << 29) + ((s & not_chosen).astype(np.int32) << 29)
    order = np.argsort(key, axis=1)
    n_chosen, n_free = c.sum(1), (~s).sum(1)
    n_move = np.minimum(n_chosen, n_free)
    q = np.arange(s.shape[1])
    take = q[None, :] < n_move[:, None]
    src = order[take]
    dst = np.take_along_axis(order, np.minimum(n_chosen[:, None] + q[None, :], s.shape[1] - 1), 1)[take]
    r = np.repeat(rows, n_move)
    new[r, src] = False
    new[r, dst] = True
    return new, int((n_chosen - n_move).sum())


def expected_change_rate(Y, p, group, mode: str = "swap") -> np.ndarray:
    """Per label, the exact probability that `corrupt_multilabel` changes its bit, averaged over rows.

    Flip: p inside the group. Swap: in a row with s positives and f = |group| - s free group labels,
    a positive leaves w.p. p * E[min(1 + S', f) / (1 + S')] with S' ~ Bin(s - 1, p) (it is chosen, then
    not among the surplus that stay), and a free label receives one w.p. E[min(S, f)] / f, S ~ Bin(s, p).
    """
    B = _check_multihot(Y)
    p = _check_rate("p", p)
    group = _check_index_set("group", group, B.shape[1], allow_empty=False)
    mode = _check_mode(mode)
    rate = np.zeros(B.shape[1])
    if B.shape[0] == 0:
        return rate
    if mode == "flip":
        rate[group] = p
        return rate
    sub = B[:, group]
    leave, receive = _swap_tables(len(group), p)
    s = sub.sum(1)
    rate[group] = np.where(sub, leave[s][:, None], receive[s][:, None]).mean(0)
    return rate


def _swap_tables(g: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """For s = 0..g positives in a group of g: P(a positive leaves), P(a free label receives one)."""
    leave, receive = np.zeros(g + 1), np.zeros(g + 1)
    for s in range(g + 1):
        f = g - s
        if s:
            leave[s] = p * sum(_binom_pmf(k, s - 1, p) * min(1 + k, f) / (1 + k) for k in range(s))
        if f:
            receive[s] = sum(_binom_pmf(k, s, p) * min(k, f) for k in range(s + 1)) / f
    return leave, receive


def _binom_pmf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) = k), exact for p in {0, 1}."""
    return math.comb(n, k) * p ** k * (1 - p) ** (n - k)


def _multilabel_report(B, new_B, mode, p, group, n_selected, n_stuck) -> MultiLabelNoiseReport:
    """Build the report; warn for labels whose realised rate is implausible under p."""
    changed = B != new_B
    pos = B.sum(0)
    moved_out = (B & ~new_B).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        moved_out_rate = moved_out / pos
    # flip: each bit of the group changes w.p. p; swap: each positive of the group leaves w.p. p
    k, n = ((changed[:, group].sum(0), np.full(len(group), B.shape[0])) if mode == "flip"
            else (moved_out[group], pos[group]))
    pvals = _binom_pvalues(k, n, p)
    what = "bits flipped" if mode == "flip" else "positives moved"
    msgs = [f"label {group[i]}: {k[i]} of {n[i]} {what} ({k[i] / n[i]:.4f}) departs from intended p={p:.4f} "
            f"(binomial p-value {pvals[i]:.1e})" for i in np.flatnonzero(pvals < ALARM_PVALUE)]
    if n_stuck:
        msgs.append(f"{n_stuck} of {n_selected} chosen positives found no free label in the group and "
                    "kept their place")
    _emit(msgs)
    intended = np.zeros(B.shape[1])
    intended[group] = p
    return MultiLabelNoiseReport(changed=changed, mode=mode, p=p, group=group.tolist(), intended_rate=intended,
                                 realised_rate=changed.mean(0), moved_out_rate=moved_out_rate,
                                 positives_before=pos, positives_after=new_B.sum(0),
                                 rows_affected=int(changed.any(1).sum()), n_selected=n_selected,
                                 n_no_free_label=n_stuck, warnings=msgs)


# ------------------------------------------------------------------------------------- regression noise
def _check_finite(name: str, value) -> float:
    """A real number as float; ValueError naming `name` for a bool, a string, NaN or an infinity."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} must be a number, not a {type(value).__name__}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}={value!r} must be a finite number")
    return x


def corrupt_regression(y, low, high, sigma, seed=0, p=1.0):
    """Add N(0, sigma^2) noise, truncated to stay in [low, high], to targets inside [low, high] (§6), each
    with probability p.

    Targets outside the range are untouched. Truncation makes the noise pull values towards the centre of
    the range. Targets, bounds and sigma must be finite and low < high (ValueError otherwise). Nested like
    the class noise: the draws are made for every target in range and a uniform u per target, drawn after
    them, picks those with u < p; so with one seed the targets changed at a lower p are a subset of those
    changed at a higher p, with the same new values, and p = 1 gives what it gave before p existed.
    Returns (new float64 array, RegressionNoiseReport).
    """
    t = np.asarray(y)
    if t.dtype.kind not in "iuf":
        raise ValueError(f"y must hold numbers, got dtype {t.dtype}")
    t = t.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise ValueError(f"y must hold finite numbers; found {t.flat[bad[0]]} at flat index {bad[0]}")
    low, high = _check_finite("low", low), _check_finite("high", high)
    if not low < high:
        raise ValueError(f"low={low} must be < high={high}")
    sigma = _check_finite("sigma", sigma)
    if sigma < 0:
        raise ValueError(f"sigma={sigma} must be finite and >= 0")
    p = _check_rate("p", p)
    rng = _rng(seed)
    in_range = (t >= low) & (t <= high)
    drawn = in_range & (sigma > 0)
    noisy = t.copy()
    if drawn.any():
        noisy[drawn] = _truncated_normal(t[drawn], sigma, low, high, rng)
    changed = drawn & (rng.random(t.shape) < p)
    noisy[drawn & ~changed] = t[drawn & ~changed]
    return noisy, _regression_report(t, noisy, changed, in_range, low, high, sigma, p)


def _truncated_normal(mu: np.ndarray, sigma: float, low: float, high: float, rng) -> np.ndarray:
    """Draws of N(mu, sigma^2) restricted to [low, high], via scipy's truncnorm when available."""
    a, b = (low - mu) / sigma, (high - mu) / sigma
    if _scipy_stats is not None:
        draws = _scipy_stats.truncnorm.rvs(a, b, loc=mu, scale=sigma, size=mu.shape, random_state=rng)
    else:
        draws = mu + sigma * _truncated_std_normal(a, b, rng)
    return np.clip(draws, low, high)  # guard against rounding one ulp past a bound


def _truncated_std_normal(a: np.ndarray, b: np.ndarray, rng) -> np.ndarray:
    """Vectorised rejection sampling of N(0, 1) on [a, b] where a <= 0 <= b.

    Wide intervals (b - a > 1) propose from N(0, 1) (acceptance > 0.34); narrow ones propose uniformly
    on [a, b] and accept with exp(-z^2 / 2) (acceptance > 0.88), so the loop ends quickly.
    """
    out = np.empty(a.shape)
    todo = np.arange(a.size)
    while todo.size:
        aa, bb = a[todo], b[todo]
        wide = (bb - aa) > 1
        z = np.where(wide, rng.standard_normal(todo.size), aa + (np.where(wide, 0, bb - aa)) * rng.random(todo.size))
        accept = np.where(wide, (z >= aa) & (z <= bb), rng.random(todo.size) < np.exp(-0.5 * z * z))
        out[todo[accept]] = z[accept]
        todo = todo[~accept]
    return out


def _regression_report(t, noisy, changed, in_range, low, high, sigma, p=1.0) -> RegressionNoiseReport:
    """Build the report; warn when the range holds no target (nothing was corrupted) or when the share
    of targets in range that were changed is implausible under p."""
    shift = noisy[changed] - t[changed]
    msgs = []
    if t.size and not in_range.any():
        msgs.append(f"no target lies in [low, high] = [{low}, {high}]; nothing was corrupted")
    k, n = int(changed.sum()), int(in_range.sum())
    if sigma > 0 and n and _binom_pvalues(np.array([k]), np.array([n]), p)[0] < ALARM_PVALUE:
        msgs.append(f"{k} of {n} targets in range changed ({k / n:.4f}) departs from intended p={p:.4f}")
    _emit(msgs)
    return RegressionNoiseReport(changed=changed, low=low, high=high, sigma=sigma,
                                 n_in_range=int(in_range.sum()),
                                 mean_shift=float(shift.mean()) if shift.size else math.nan,
                                 rms_shift=float(np.sqrt((shift ** 2).mean())) if shift.size else math.nan,
                                 warnings=msgs, p=p)
