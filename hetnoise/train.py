"""The training loop every study uses (`fit_epochs`): train an epoch, validate, keep each model's
weights of its lowest validation loss, log. A study supplies only its epoch of steps and its validation;
`fit` is the one-model case. Data stays on the device as uint8; batches are cut by index, augmented and
normalised whole. On CUDA: fused optimiser and cuDNN autotuning, and bf16 autocast with channels_last for
all but LeNet-5 (`speed_for`); `torch.compile` on request. `engine="fast"` also fuses the optimiser on the
CPU (faster, not bit-identical). Recipes are declared in `spec` and chosen per profile by each study.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hetnoise import metrics, models
from hetnoise.spec import Recipe


ENGINES = ("exact", "fast")


@dataclass(frozen=True)
class Speed:
    """How a model runs on a device: bf16 autocast, channels_last layout, fused optimiser."""
    bf16: bool = False
    channels_last: bool = False
    fused: bool = False


def speed_for(model: nn.Module, dev: torch.device, engine: str = "exact") -> Speed:
    """The settings measured fastest for `model` on `dev`. CUDA: fused optimiser; bf16 and channels_last
    except for LeNet-5, where they cost time (H100 ablation). CPU: fp32 and NCHW; the fused optimiser only
    with engine="fast", as its results differ in the last bits from the for-loop one."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is unknown; choose one of {list(ENGINES)}")
    cuda = dev.type == "cuda"
    small = any(isinstance(m, models.LeNet5) for m in model.modules())
    return Speed(bf16=cuda and not small, channels_last=cuda and not small, fused=cuda or engine == "fast")


def pick_device(device: str = "") -> torch.device:
    """The requested device, or CUDA when present, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class History:
    """Per-epoch figures of one model, its best epoch by validation loss and the time taken; `best_state`
    holds the weights of that epoch when the model was left at its final epoch (not recorded)."""
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = float("inf")
    seconds: float = 0.0
    best_state: dict | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "best_epoch": self.best_epoch, "best_val_loss": self.best_val_loss,
                "seconds": self.seconds}


def class_figures(logits: torch.Tensor, y: torch.Tensor, prefix: str = "test") -> dict:
    """Accuracy, per-class accuracy (recall) and per-class precision of arg-max predictions (NaN for a class
    never present or never predicted), to 6 decimals (ratios of counts below a million lose nothing): what a
    run reports of its test set after each epoch."""
    pred, truth = logits.argmax(1).cpu().numpy(), y.cpu().numpy()
    precision, recall, _ = metrics.precision_recall_f1(metrics.confusion(truth, pred, logits.shape[1]))
    return {f"{prefix}_acc": round(float((pred == truth).mean()), 6),
            f"{prefix}_per_class_acc": [round(v, 6) for v in recall.tolist()],
            f"{prefix}_per_class_precision": [round(v, 6) for v in precision.tolist()]}


def normalise(x_uint8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 N×C×H×W → float, scaled to [0, 1] and standardised per channel."""
    return (x_uint8.float().div_(255) - mean) / std


def crop_flip(x: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, for a whole batch at once."""
    b, c, h, w = x.shape
    dev = x.device
    xp = F.pad(x, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, b), generator=generator, device=generator.device if generator
                            else "cpu").to(dev))
    rows = dy[:, None] + torch.arange(h, device=dev)
    cols = dx[:, None] + torch.arange(w, device=dev)
    out = xp[torch.arange(b, device=dev)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    out = out.permute(0, 3, 1, 2)
    flip = torch.rand(b, generator=generator, device=generator.device if generator else "cpu").to(dev) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def make_optimizer(model: nn.Module | list[torch.Tensor], r: Recipe, steps: int, fused: bool | None = None):
    """Optimiser and per-step scheduler of a recipe, for a model or a list of parameters; the optimiser is
    fused when `fused` says so (by default on CUDA)."""
    params = list(model.parameters()) if isinstance(model, nn.Module) else list(model)
    fused = {"fused": True} if (params[0].is_cuda if fused is None else fused) else {}
    if r.optimizer == "adam":
        opt = torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay, **fused)
    elif r.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=r.lr, momentum=0.9, nesterov=True, weight_decay=r.weight_decay, **fused)
    else:
        raise ValueError(f"optimizer={r.optimizer!r} is unknown; choose 'adam' or 'sgd'")
    if r.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    elif r.schedule == "constant":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    else:
        raise ValueError(f"schedule={r.schedule!r} is unknown; choose 'constant' or 'cosine'")
    return opt, sched


def loss_fn(kind: str):
    """Cross-entropy for single-label targets, binary cross-entropy for multi-hot targets, mean squared
    error for one real target per sample (a network with one output)."""
    if kind == "ce":
        return lambda logits, y: F.cross_entropy(logits, y)
    if kind == "bce":
        return lambda logits, y: F.binary_cross_entropy_with_logits(logits, y.float())
    if kind == "mse":
        return lambda out, y: F.mse_loss(out.squeeze(-1), y.float())
    raise ValueError(f"loss={kind!r} is unknown; choose 'ce', 'bce' or 'mse'")


def channel_stats(mean, std, dev) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std as 1×C×1×1 tensors on `dev`, for `normalise`."""
    return (torch.tensor(mean, device=dev).view(1, -1, 1, 1), torch.tensor(std, device=dev).view(1, -1, 1, 1))


def autocast(dev: torch.device, bf16: bool | None = None):
    """bf16 autocast when `bf16` (by default on CUDA); full precision otherwise."""
    on = dev.type == "cuda" if bf16 is None else bf16
    return torch.autocast("cuda", dtype=torch.bfloat16) if on else torch.autocast(dev.type, enabled=False)


def memory_format(x: torch.Tensor, dev: torch.device, channels_last: bool | None = None) -> torch.Tensor:
    """channels_last when asked (by default on CUDA), as `prepare` lays out the weights."""
    on = dev.type == "cuda" if channels_last is None else channels_last
    return x.contiguous(memory_format=torch.channels_last) if on else x


def batch(x: torch.Tensor, augment: bool, gen: torch.Generator, mean_t, std_t, dev,
          channels_last: bool | None = None) -> torch.Tensor:
    """A uint8 batch made ready for the network: augmented (when asked), normalised, laid out for `dev`."""
    if augment:
        x = crop_flip(x, 4, gen)
    return memory_format(normalise(x, mean_t, std_t), dev, channels_last)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, mean, std, batch_size: int = 1024, **kw) -> torch.Tensor:
    """Logits for uint8 images `x` (on any device), in eval mode, returned on the CPU as float32."""
    dev = next(model.parameters()).device
    mean_t, std_t = channel_stats(mean, std, dev)
    sp = speed_for(model, dev)
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = normalise(x[i:i + batch_size].to(dev, non_blocking=True), mean_t, std_t)
        with autocast(dev, sp.bf16):
            out.append(model(memory_format(xb, dev, sp.channels_last), **kw).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def prepare(model: nn.Module, dev: torch.device, seed: int | None = None) -> nn.Module:
    """Move `model` to `dev` (on CUDA also cuDNN autotuning, and channels_last weights where `speed_for`
    says so); with `seed`, give its dropout a stream of its own (`models.seed_dropout`)."""
    model.to(dev)
    if speed_for(model, dev).channels_last:
        model.to(memory_format=torch.channels_last)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if seed is not None:
        models.seed_dropout(model, seed, dev)
    return model


def make_step(model: nn.Module, opt, sched, criterion, mean, std, augment: bool, gen: torch.Generator,
              compile: bool = False):
    """One optimiser step on a uint8 batch: augment and normalise on the device, forward as `speed_for` says.
    Returns `step(x_uint8, y) -> (loss, accuracy on y)` as one detached 2-vector (accuracy 0 for
    multi-label targets); `compile` runs the forward through `torch.compile`."""
    dev = next(model.parameters()).device
    mean_t, std_t = channel_stats(mean, std, dev)
    sp = speed_for(model, dev)
    forward = torch.compile(model) if compile else model

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        xb = batch(xb, augment, gen, mean_t, std_t, dev, sp.channels_last)
        with autocast(dev, sp.bf16):
            logits = forward(xb).float()
        batch_loss = criterion(logits, yb)
        opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        opt.step()
        sched.step()
        return torch.stack([batch_loss.detach(), batch_accuracy(logits.detach(), yb)])

    return step


def batch_accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Share of a batch whose arg-max matches its (possibly noisy) label, over the last two dimensions
    (so K×B logits give K values); zero for multi-label targets, where it has no meaning."""
    if y.dtype.is_floating_point or y.dim() != logits.dim() - 1:
        return torch.zeros(logits.shape[:-2], device=logits.device)
    return (logits.argmax(-1) == y).float().mean(-1)


def run_epoch(step, x: torch.Tensor, y: torch.Tensor, batch_size: int, gen: torch.Generator) -> torch.Tensor:
    """One pass over a shuffled order of device-resident `x`, `y` in full batches (the last partial
    batch is dropped); returns the means of what `step` returns (loss, accuracy) as a device tensor."""
    n = len(x)
    steps = max(1, n // batch_size)
    perm = torch.randperm(n, device=x.device, generator=gen)
    total = torch.zeros(2, device=x.device)
    for s in range(steps):
        idx = perm[s * batch_size:(s + 1) * batch_size]
        total += step(x[idx], y[idx])
    return total / steps


def fit_epochs(epochs: int, train_epoch, validate, keep, *, select: str = "val_loss", log=print,
               label: str = "") -> list[History]:
    """The one epoch loop. Each epoch `train_epoch()` and then `validate()` return one dict of figures per
    model; the models whose `select` figure reached a new low are passed to `keep(improved)` (a list of
    booleans) to store their weights. Returns one History per model."""
    hists, t0 = [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        trained = train_epoch()
        validated = validate()
        seconds = time.perf_counter() - te
        rows = [{"epoch": epoch, **t, **v, "seconds": seconds} for t, v in zip(trained, validated)]
        hists = hists or [History() for _ in rows]
        improved = [row[select] < h.best_val_loss for h, row in zip(hists, rows)]
        for h, row, better in zip(hists, rows, improved):
            h.epochs.append(row)
            if better:
                h.best_val_loss, h.best_epoch = row[select], epoch
        if any(improved):
            keep(improved)
        shown = rows[0] if len(rows) == 1 else {"epoch": epoch, "models": len(rows), f"min_{select}": min(
            r[select] for r in rows), f"max_{select}": max(r[select] for r in rows), "seconds": seconds}
        log(" ".join([label] * bool(label) + [f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                               for k, v in shown.items()]))
    for h in hists:
        h.seconds = time.perf_counter() - t0
    return hists


def best_weights(model: nn.Module):
    """(keep, restore, best) for `fit_epochs` with one model: keep copies its weights, restore loads the
    copy, best returns it (None before any)."""
    saved = {}

    def keep(_improved):
        saved["state"] = copy.deepcopy(model.state_dict())

    def restore():
        if saved:
            model.load_state_dict(saved["state"])

    return keep, restore, lambda: saved.get("state")


def fit(model: nn.Module, x_train, y_train, x_val, y_val, r: Recipe, *, mean, std, device="", seed: int = 0,
        loss: str = "ce", log=print, compile: bool = False, label: str = "", test: tuple | None = None,
        restore: bool = True, engine: str = "exact") -> History:
    """Train `model` with recipe `r` and leave it holding the weights of its lowest validation loss, or with
    `restore=False` those of its last epoch (the History then holds the best ones). `test=(x, y)` adds the
    test set's `class_figures` to every epoch's row; the test set never chooses anything.
    `compile=True` uses `torch.compile` for the training forward (off by default: not measured to pay off);
    `engine` is one of `ENGINES` (`speed_for`)."""
    dev = pick_device(device)
    torch.manual_seed(seed)
    prepare(model, dev, seed)
    x_train, y_train, x_val, y_val = x_train.to(dev), y_train.to(dev), x_val.to(dev), y_val.cpu()
    criterion = loss_fn(loss)
    opt, sched = make_optimizer(model, r, r.epochs * max(1, len(x_train) // r.batch_size),
                                speed_for(model, dev, engine).fused)
    gen = torch.Generator(device=dev).manual_seed(seed)
    step = make_step(model, opt, sched, criterion, mean, std, r.augment, gen, compile)

    def train_epoch():
        model.train()
        loss_, acc = run_epoch(step, x_train, y_train, r.batch_size, gen).tolist()
        return [{"train_loss": loss_, **({"train_acc": acc} if loss == "ce" else {})}]

    def validate():
        logits = predict(model, x_val, mean, std)
        row = {"val_loss": criterion(logits, y_val).item()}
        if loss == "ce":
            row["val_acc"] = (logits.argmax(1) == y_val).float().mean().item()
        if test is not None:
            row.update(class_figures(predict(model, test[0], mean, std), torch.as_tensor(test[1])))
        return [row]

    keep, load_best, best = best_weights(model)
    (hist,) = fit_epochs(r.epochs, train_epoch, validate, keep, log=log, label=label)
    if restore:
        load_best()
    else:
        hist.best_state = best()
    return hist
