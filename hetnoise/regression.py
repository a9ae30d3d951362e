"""The regression study the paper proposes (§6): rotated digits, the network predicting the angle.

Every image is rotated by an angle drawn uniformly from [-max_angle, max_angle] with a fixed seed (one for
the training images, another for the test images), so the targets are balanced by construction and the
same on every machine. The errors are measured in degrees per range of true angles: the corrupted range
[low, high], the clean rest, and the clean angles within BAND degrees of the corrupted range.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

ANGLE_SEEDS = {"train": 0, "test": 1}  # fixed: the task is one data set, not part of a run's randomness
BAND = 10.0  # degrees: clean angles this close to the corrupted range form the boundary band
BIN = 5.0  # degrees: width of the angle bins of the error-per-angle curve
RANGES = ("clean", "corrupted", "boundary", "overall")


def angles(n: int, max_angle: float, split: str) -> np.ndarray:
    """The `n` rotation angles (degrees) of a split, uniform on [-max_angle, max_angle], from the split's fixed seed."""
    return np.random.default_rng(ANGLE_SEEDS[split]).uniform(-max_angle, max_angle, n)


def rotate(x: torch.Tensor, degrees: np.ndarray, batch_size: int = 4096) -> torch.Tensor:
    """uint8 N×C×H×W images, each rotated counter-clockwise about its centre by its angle (bilinear, black
    corners), returned as uint8."""
    out = torch.empty_like(x)
    theta = torch.as_tensor(np.deg2rad(degrees), dtype=torch.float32)
    for i in range(0, len(x), batch_size):
        t = theta[i:i + batch_size]
        cos, sin = torch.cos(t), torch.sin(t)
        # affine_grid maps output to input coordinates: rotating the image by +t samples it at -t
        mat = torch.stack([torch.stack([cos, -sin, torch.zeros_like(t)], 1),
                           torch.stack([sin, cos, torch.zeros_like(t)], 1)], 1)
        xb = x[i:i + batch_size].float()
        grid = F.affine_grid(mat, list(xb.shape), align_corners=False)
        out[i:i + batch_size] = F.grid_sample(xb, grid, align_corners=False).round().clamp(0, 255).to(torch.uint8)
    return out


def masks(true: np.ndarray, low: float, high: float, band: float = BAND) -> dict[str, np.ndarray]:
    """Which true angles belong to each range: corrupted [low, high], clean (the rest), boundary (clean and
    within `band` degrees of the corrupted range), overall."""
    corrupted = (true >= low) & (true <= high)
    boundary = ~corrupted & (((true >= low - band) & (true < low)) | ((true > high) & (true <= high + band)))
    return {"clean": ~corrupted, "corrupted": corrupted, "boundary": boundary, "overall": np.ones_like(corrupted)}


def errors(true: np.ndarray, pred: np.ndarray, low: float, high: float, band: float = BAND) -> dict[str, float]:
    """Test MSE, MAE and mean signed error (prediction − truth, degrees) of each range, with its size;
    NaN for an empty range."""
    err = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    out = {}
    for name, m in masks(true, low, high, band).items():
        e = err[m]
        out[f"mse_{name}"] = float((e ** 2).mean()) if e.size else math.nan
        out[f"mae_{name}"] = float(np.abs(e).mean()) if e.size else math.nan
        out[f"bias_{name}"] = float(e.mean()) if e.size else math.nan
        out[f"n_{name}"] = int(m.sum())
    return out


def error_by_angle(true: np.ndarray, pred: np.ndarray, max_angle: float, width: float = BIN) -> dict[str, list]:
    """MAE and mean signed error per bin of true angle (bins of `width` degrees from -max_angle): the error curve."""
    edges = np.arange(-max_angle, max_angle + width / 2, width)
    idx = np.clip(np.digitize(true, edges) - 1, 0, len(edges) - 2)
    err = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    count = np.bincount(idx, minlength=len(edges) - 1)
    with np.errstate(invalid="ignore"):
        mae = np.bincount(idx, np.abs(err), len(edges) - 1) / count
        bias = np.bincount(idx, err, len(edges) - 1) / count
    return {"centre": ((edges[:-1] + edges[1:]) / 2).tolist(), "mae": mae.tolist(), "bias": bias.tolist(),
            "n": count.tolist()}
