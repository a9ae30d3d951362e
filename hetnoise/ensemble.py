"""K small models trained at once in one process: the LeNet-5 grid's cells share their images and differ
only in their noisy labels and seed, so their parameters are stacked (`torch.func`) and one vmapped
forward and backward serves all K. Each model keeps its own labels, batch order (its seed's generator,
exactly as `train.fit` would draw it) and best-validation-loss checkpoint.
"""
from __future__ import annotations

import copy
import json
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from hetnoise import records, train

RESULTS = records.repo_root() / "benchmarks" / "results" / "train_throughput.json"


def measured_faster(dev: torch.device) -> bool:
    """Whether the committed benchmark (`k_at_once` in RESULTS) found K at once faster than K separate runs
    on this kind of device; False where it has not been measured."""
    try:
        return json.loads(RESULTS.read_text())[dev.type]["k_at_once"]["speedup"] > 1
    except (OSError, ValueError, KeyError, TypeError):
        return False


def can_batch(model: nn.Module) -> bool:
    """Whether `model` can be stacked: BatchNorm's running statistics cannot be updated under vmap."""
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def fit_many(models: list[nn.Module], x_train, ys_train, x_val, y_val, r: train.Recipe, *, mean, std,
             seeds: list[int], device="", loss: str = "ce", log=print, batched: bool | None = None
             ) -> list[train.History]:
    """Train each `models[k]` on `x_train` with labels `ys_train[k]` and seed `seeds[k]` under recipe `r`,
    leave it holding its best-validation-loss weights and return its History, as `train.fit` would.

    `batched=None` trains all K at once where the benchmark measured that faster on this kind of device
    (`measured_faster`) and the models allow it, else one at a time through `train.fit`. `y_val` is one
    label vector for all models or one per model. Batched, every History's `seconds` is the shared wall
    time of the K-model run.
    """
    ys, y_vals = _check(models, x_train, ys_train, x_val, y_val, seeds)
    dev = train.pick_device(device)
    if batched is None:
        batched = measured_faster(dev) and can_batch(models[0])
    if batched and not can_batch(models[0]):
        raise ValueError("batched=True needs models without BatchNorm; use batched=False (one at a time)")
    if not batched:
        return [train.fit(m, x_train, y, x_val, yv, r, mean=mean, std=std, device=device, seed=s, loss=loss,
                          log=log) for m, y, yv, s in zip(models, ys, y_vals, seeds)]
    return _fit_stacked(models, x_train, ys, x_val, y_vals, r, mean, std, seeds, dev, loss, log)


def _check(models, x_train, ys_train, x_val, y_val, seeds):
    """The per-model label lists, after checking that counts and shapes agree."""
    k = len(models)
    if k == 0:
        raise ValueError("models is empty; pass at least one model")
    if len(ys_train) != k or len(seeds) != k:
        raise ValueError(f"{k} models need {k} label vectors and {k} seeds; got {len(ys_train)} and {len(seeds)}")
    shapes = [{n: p.shape for n, p in m.named_parameters()} for m in models]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("models must share one architecture (the same parameter names and shapes)")
    ys = [torch.as_tensor(y) for y in ys_train]
    if any(len(y) != len(x_train) for y in ys):
        raise ValueError(f"every label vector needs one label per training image ({len(x_train)})")
    y_val = torch.as_tensor(y_val)
    y_vals = list(y_val) if y_val.dim() == 2 and len(y_val) == k and y_val.shape[1] == len(x_val) else [y_val] * k
    if any(len(y) != len(x_val) for y in y_vals):
        raise ValueError(f"y_val needs {len(x_val)} labels, or one row of them per model")
    return ys, y_vals


def _per_model_loss(kind: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """K losses, each the mean over its own model's batch (K×B×C logits)."""
    if kind == "ce":
        return F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none").flatten(1).mean(1)
    raise ValueError(f"loss={kind!r} is unknown; choose 'ce' or 'bce'")


def _fit_stacked(models, x_train, ys, x_val, y_vals, r, mean, std, seeds, dev, loss, log):
    k, n = len(models), len(x_train)
    torch.manual_seed(seeds[0])  # dropout masks: one stream for all K
    for m in models:
        train.prepare(m, dev)
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    forward = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, 0), randomness="different")
    x_train, x_val = x_train.to(dev), x_val.to(dev)
    y_train, rows = torch.stack(ys).to(dev), torch.arange(k, device=dev)[:, None]
    y_val = torch.stack(y_vals)
    mean_t, std_t = train._stats(mean, std, dev)
    steps = max(1, n // r.batch_size)
    opt, sched = train.make_optimizer(list(params.values()), r, r.epochs * steps)
    gens = [torch.Generator(device=dev).manual_seed(s) for s in seeds]
    best = {name: p.detach().clone() for name, p in params.items()}
    best_loss = torch.full((k,), float("inf"))
    hists, t0 = [train.History() for _ in range(k)], time.perf_counter()
    for epoch in range(1, r.epochs + 1):
        te = time.perf_counter()
        base.train()
        perms = torch.stack([torch.randperm(n, device=dev, generator=g) for g in gens])
        total = torch.zeros(k, device=dev)
        for s in range(steps):
            idx = perms[:, s * r.batch_size:(s + 1) * r.batch_size]
            xb = x_train[idx]
            if r.augment:
                xb = torch.stack([train.crop_flip(xb[j], 4, g) for j, g in enumerate(gens)])
            xb = normalise_stack(xb, mean_t, std_t)
            with train._autocast(dev):
                logits = forward(params, buffers, xb)
            batch_loss = _per_model_loss(loss, logits.float(), y_train[rows, idx])
            opt.zero_grad(set_to_none=True)
            batch_loss.sum().backward()
            opt.step()
            sched.step()
            total += batch_loss.detach()
        val_logits = _predict_stacked(forward, base, params, buffers, x_val, mean_t, std_t, dev)
        val_loss = _per_model_loss(loss, val_logits, y_val)
        seconds = time.perf_counter() - te
        improved = val_loss < best_loss
        best_loss = torch.where(improved, val_loss, best_loss)
        for name, p in params.items():
            best[name][improved.to(dev)] = p.detach()[improved.to(dev)]
        train_loss = (total / steps).cpu()
        for j, h in enumerate(hists):
            row = {"epoch": epoch, "train_loss": train_loss[j].item(), "val_loss": val_loss[j].item(),
                   "seconds": seconds}
            if loss == "ce":
                row["val_acc"] = (val_logits[j].argmax(1) == y_val[j]).float().mean().item()
            h.epochs.append(row)
            if improved[j]:
                h.best_val_loss, h.best_epoch = val_loss[j].item(), epoch
        log(f"epoch={epoch} models={k} train_loss={train_loss.mean():.4f} val_loss={val_loss.min():.4f}.."
            f"{val_loss.max():.4f} seconds={seconds:.4f}")
    for j, m in enumerate(models):
        m.load_state_dict({**{name: b[j] for name, b in buffers.items()},
                           **{name: p[j] for name, p in best.items()}})
    for h in hists:
        h.seconds = time.perf_counter() - t0
    return hists


def normalise_stack(x: torch.Tensor, mean_t: torch.Tensor, std_t: torch.Tensor) -> torch.Tensor:
    """`train.normalise` for K×B×C×H×W uint8 batches."""
    return train.normalise(x.flatten(0, 1), mean_t, std_t).view(x.shape)


@torch.no_grad()
def _predict_stacked(forward, base, params, buffers, x, mean_t, std_t, dev, batch_size: int = 1024):
    """K×N×C float32 CPU logits of every model on the same uint8 images, in eval mode."""
    base.eval()
    k = len(next(iter(params.values())))
    out = []
    for i in range(0, len(x), batch_size):
        xb = train.normalise(x[i:i + batch_size], mean_t, std_t)
        with train._autocast(dev):
            out.append(forward(params, buffers, xb.expand(k, *xb.shape)).float().cpu())
    return torch.cat(out, 1)

