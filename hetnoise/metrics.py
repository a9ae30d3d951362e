"""Evaluation metrics: per-class accuracy, precision and F1 for multi-class tasks, average precision for
multi-label."""
from __future__ import annotations

import numpy as np


def per_class_accuracy(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Accuracy on the test samples of each class (NaN for a class with no test samples)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    acc = np.full(num_classes, np.nan)
    for c in range(num_classes):
        mask = y_true == c
        if mask.any():
            acc[c] = float((y_pred[mask] == c).mean())
    return acc


def confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): rows are true classes."""
    idx = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def precision_recall_f1(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 of a confusion matrix; NaN where a class was never predicted
    (precision) or never present (recall). Under `include` noise the clean class can become a sink that
    takes in other classes' images: precision shows it, accuracy (recall) does not."""
    m = np.asarray(matrix, dtype=float)
    tp = np.diag(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision, recall = tp / m.sum(0), tp / m.sum(1)
        f1 = 2 * tp / (m.sum(0) + m.sum(1))
    return precision, recall, f1


def average_precision(y_true, scores) -> np.ndarray:
    """Average precision of each label (scikit-learn's definition); NaN for a label with no positives."""
    from sklearn.metrics import average_precision_score

    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    ap = np.full(y_true.shape[1], np.nan)
    for j in range(y_true.shape[1]):
        if y_true[:, j].any():
            ap[j] = average_precision_score(y_true[:, j], scores[:, j])
    return ap


def mean_ap(ap, labels=None) -> float:
    """Mean of the per-label APs over `labels` (all by default), skipping labels without positives."""
    ap = np.asarray(ap, dtype=float)
    sel = ap if labels is None else ap[np.asarray(list(labels), dtype=int)]
    return float(np.nanmean(sel)) if np.isfinite(sel).any() else float("nan")


def f1_at(y_true, scores, threshold: float = 0.5) -> np.ndarray:
    """Per-label F1 of the predictions `scores ≥ threshold`; NaN for a label never predicted nor present."""
    y_true, pred = np.asarray(y_true) == 1, np.asarray(scores) >= threshold
    tp, fp, fn = (pred & y_true).sum(0), (pred & ~y_true).sum(0), (~pred & y_true).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)


def exact_match(y_true, scores, threshold: float = 0.5) -> float:
    """Share of samples whose every label is predicted right at `threshold`."""
    return float(((np.asarray(scores) >= threshold) == (np.asarray(y_true) == 1)).all(1).mean())
