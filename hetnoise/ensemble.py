"""K LeNet-5s trained in one process, each with its own labels, seed, batch order, dropout stream and
best-validation checkpoint, as `train.fit` would train it alone. `batched=True` stacks their parameters
(`torch.func`) so one vmapped forward and backward serves all K; the choice is the caller's, recorded in
each run's record, and never read from benchmark output.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from hetnoise import models, train


def fit_many(nets: list[nn.Module], x_train, ys_train, x_val, y_val, r: train.Recipe, *, mean, std,
             seeds: list[int], device="", loss: str = "ce", log=print, batched: bool = False,
             labels: list[str] | None = None, test: tuple | None = None, restore: bool = True,
             engine: str = "exact") -> list[train.History]:
    """Train each `nets[k]` on `x_train` with labels `ys_train[k]` and seed `seeds[k]` under recipe `r`,
    leave it holding its best-validation-loss weights (or, with `restore=False`, its last epoch's, the best
    ones in its History) and return its History. `batched=False` trains them one after another through
    `train.fit`; `batched=True` all at once (LeNet-5 only), where every History's `seconds` is the shared
    wall time. `y_val` is one label vector for all, or one row per model; `test=(x, y)` adds the test set's
    figures to every epoch (`train.class_figures`); `engine` is one of `train.ENGINES`."""
    ys, y_vals = _check(nets, x_train, ys_train, x_val, y_val, seeds)
    labels = labels or [""] * len(nets)
    if not batched:
        return [train.fit(m, x_train, y, x_val, yv, r, mean=mean, std=std, device=device, seed=s, loss=loss,
                          log=log, label=lab, test=test, restore=restore, engine=engine)
                for m, y, yv, s, lab in zip(nets, ys, y_vals, seeds, labels)]
    if not all(isinstance(m, models.LeNet5) for m in nets):
        raise ValueError("batched=True trains LeNet-5s only (BatchNorm statistics cannot be stacked); "
                         "use batched=False")
    return _fit_stacked(nets, x_train, ys, x_val, y_vals, r, mean, std, seeds, train.pick_device(device), loss,
                        log, test, restore, engine)


def _check(nets, x_train, ys_train, x_val, y_val, seeds):
    """The per-model label lists, after checking that counts and shapes agree."""
    k = len(nets)
    if k == 0:
        raise ValueError("nets is empty; pass at least one model")
    if len(ys_train) != k or len(seeds) != k:
        raise ValueError(f"{k} models need {k} label vectors and {k} seeds; got {len(ys_train)} and {len(seeds)}")
    shapes = [{n: p.shape for n, p in m.named_parameters()} for m in nets]
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


def per_model_loss(kind: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """K losses, each the mean over its own model's batch (K×B×C logits)."""
    if kind == "ce":
        return F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none").flatten(1).mean(1)
    raise ValueError(f"loss={kind!r} is unknown; choose 'ce' or 'bce'")


def _fit_stacked(nets, x_train, ys, x_val, y_vals, r, mean, std, seeds, dev, loss, log, test=None, restore=True,
                 engine="exact"):
    """All K at once through `train.fit_epochs`: stacked parameters, per-model batch order, augmentation and
    dropout masks drawn from each model's own generators in the order `train.fit` draws them."""
    k, n = len(nets), len(x_train)
    for m, s in zip(nets, seeds):
        train.prepare(m, dev, s)
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")
    forward = vmap(lambda p, b, x, m1, m2: functional_call(base, (p, b), (x,), {"masks": (m1, m2)}))
    evaluate = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))
    x_train, x_val = x_train.to(dev), x_val.to(dev)
    y_train, rows = torch.stack(ys).to(dev), torch.arange(k, device=dev)[:, None]
    y_val = torch.stack(y_vals)
    mean_t, std_t = train.channel_stats(mean, std, dev)
    steps = max(1, n // r.batch_size)
    sp = train.speed_for(nets[0], dev, engine)
    opt, sched = train.make_optimizer(list(params.values()), r, r.epochs * steps, sp.fused)
    gens = [torch.Generator(device=dev).manual_seed(s) for s in seeds]
    best = {name: p.detach().clone() for name, p in params.items()}

    def train_epoch():
        base.train()
        perms = torch.stack([torch.randperm(n, device=dev, generator=g) for g in gens])
        total = torch.zeros(2, k, device=dev)
        for s in range(steps):
            idx = perms[:, s * r.batch_size:(s + 1) * r.batch_size]
            xb = torch.stack([train.batch(x_train[i], r.augment, g, mean_t, std_t, dev, sp.channels_last)
                              for i, g in zip(idx, gens)])
            masks = [[models.dropout_mask(shape, m.dropout, m.generator, dev) for shape in m.mask_shapes(len(i))]
                     for m, i in zip(nets, idx)]
            with train.autocast(dev, sp.bf16):
                logits = forward(params, buffers, xb, *(torch.stack(ms) for ms in zip(*masks)))
            yb = y_train[rows, idx]
            batch_loss = per_model_loss(loss, logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            batch_loss.sum().backward()
            opt.step()
            sched.step()
            total += torch.stack([batch_loss.detach(), train.batch_accuracy(logits.detach(), yb)])
        means = (total / steps).tolist()
        return [{"train_loss": lo, **({"train_acc": acc} if loss == "ce" else {})} for lo, acc in zip(*means)]

    def validate():
        logits = _predict_stacked(evaluate, base, params, buffers, x_val, mean_t, std_t, dev, sp.bf16)
        val_loss = per_model_loss(loss, logits, y_val)
        out = [{"val_loss": v} for v in val_loss.tolist()]
        if loss == "ce":
            for row, lg, yv in zip(out, logits, y_val):
                row["val_acc"] = (lg.argmax(1) == yv).float().mean().item()
        if test is not None:
            test_logits = _predict_stacked(evaluate, base, params, buffers, test[0].to(dev), mean_t, std_t, dev,
                                           sp.bf16)
            for row, lg in zip(out, test_logits):
                row.update(train.class_figures(lg, torch.as_tensor(test[1])))
        return out

    def keep(improved):
        sel = torch.tensor(improved, device=dev)
        for name, p in params.items():
            best[name][sel] = p.detach()[sel]

    hists = train.fit_epochs(r.epochs, train_epoch, validate, keep, log=log)
    for j, (m, hist) in enumerate(zip(nets, hists)):
        state = {**{name: b[j] for name, b in buffers.items()}, **{name: p[j] for name, p in best.items()}}
        if restore:
            m.load_state_dict(state)
        else:
            m.load_state_dict({**{name: b[j] for name, b in buffers.items()},
                               **{name: p[j].detach() for name, p in params.items()}})
            hist.best_state = {name: value.clone() for name, value in state.items()}
    return hists


@torch.no_grad()
def _predict_stacked(evaluate, base, params, buffers, x, mean_t, std_t, dev, bf16: bool, batch_size: int = 1024):
    """K×N×C float32 CPU logits of every model on the same uint8 images, in eval mode."""
    base.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = train.normalise(x[i:i + batch_size], mean_t, std_t)
        with train.autocast(dev, bf16):
            out.append(evaluate(params, buffers, xb).float().cpu())
    return torch.cat(out, 1)
