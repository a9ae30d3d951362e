"""One training loop for every study: data resident on the device as uint8, batches cut by index,
augmentation and normalisation done on whole batches, best-validation-loss checkpoint. On CUDA: bf16
autocast, channels_last, fused optimiser, cuDNN autotuning; `torch.compile` on request. The pieces
(`prepare`, `make_step`, `run_epoch`) are public so the throughput benchmark times exactly this loop.

Where the paper is silent (optimiser, learning rate, schedule, augmentation) the `RECIPES` below
are our choices; the book's "Reproduce" page lists them.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    optimizer: str = "adam"        # "adam" | "sgd" (Nesterov, momentum 0.9)
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"     # "constant" | "cosine" (per step, to zero)
    augment: bool = False          # random crop with 4-pixel padding + horizontal flip


# Paper: LeNet-5 14 epochs at batch 128 (§4.1); ResNet18 200 epochs at batch 256 (§4.1).
RECIPES = {
    ("lenet5", "paper"): Recipe(epochs=14, batch_size=128, optimizer="adam", lr=1e-3),
    ("lenet5", "cpu"): Recipe(epochs=14, batch_size=128, optimizer="adam", lr=1e-3),
    ("lenet5", "smoke"): Recipe(epochs=10, batch_size=128, optimizer="adam", lr=2e-3),
    ("resnet18", "paper"): Recipe(epochs=200, batch_size=256, optimizer="sgd", lr=0.1, weight_decay=5e-4,
                                  schedule="cosine", augment=True),
    ("resnet18", "cpu"): Recipe(epochs=15, batch_size=256, optimizer="sgd", lr=0.1, weight_decay=5e-4,
                                schedule="cosine", augment=True),
    ("resnet18", "smoke"): Recipe(epochs=2, batch_size=128, optimizer="sgd", lr=0.05, weight_decay=5e-4,
                                  schedule="cosine", augment=False),
}


def recipe(model: str, profile: str, **overrides) -> Recipe:
    """The training recipe for a model under a profile; non-empty overrides replace fields."""
    if (model, profile) not in RECIPES:
        known = sorted({p for _, p in RECIPES})
        raise ValueError(f"profile={profile!r} has no recipe for model {model!r}; choose one of {known}")
    return replace(RECIPES[model, profile], **{k: v for k, v in overrides.items() if v})


def pick_device(device: str = "") -> torch.device:
    """The requested device, or CUDA when present, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = float("inf")
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


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


def make_optimizer(model: nn.Module | list[torch.Tensor], r: Recipe, steps: int):
    """Optimiser (fused on CUDA) and per-step scheduler of a recipe, for a model or a list of parameters."""
    params = list(model.parameters()) if isinstance(model, nn.Module) else list(model)
    fused = {"fused": True} if params[0].is_cuda else {}
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
    """Cross-entropy for single-label targets, binary cross-entropy for multi-hot targets."""
    if kind == "ce":
        return lambda logits, y: F.cross_entropy(logits, y)
    if kind == "bce":
        return lambda logits, y: F.binary_cross_entropy_with_logits(logits, y.float())
    raise ValueError(f"loss={kind!r} is unknown; choose 'ce' or 'bce'")


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, mean, std, batch_size: int = 1024, **kw) -> torch.Tensor:
    """Logits for uint8 images `x` (on any device), in eval mode, returned on the CPU as float32."""
    dev = next(model.parameters()).device
    mean_t, std_t = _stats(mean, std, dev)
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = normalise(x[i:i + batch_size].to(dev, non_blocking=True), mean_t, std_t)
        with _autocast(dev):
            out.append(model(_memory_format(xb, dev), **kw).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def prepare(model: nn.Module, dev: torch.device) -> nn.Module:
    """Move `model` to `dev`; on CUDA also channels_last weights and cuDNN autotuning."""
    model.to(dev)
    if dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    return model


def make_step(model: nn.Module, opt, sched, criterion, mean, std, augment: bool, gen: torch.Generator,
              compile: bool = False):
    """One optimiser step on a uint8 batch: augment and normalise on the device, bf16 forward on CUDA.
    Returns `step(x_uint8, y) -> detached loss`; `compile` runs the forward through `torch.compile`."""
    dev = next(model.parameters()).device
    mean_t, std_t = _stats(mean, std, dev)
    forward = torch.compile(model) if compile else model

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        if augment:
            xb = crop_flip(xb, 4, gen)
        xb = _memory_format(normalise(xb, mean_t, std_t), dev)
        with _autocast(dev):
            batch_loss = criterion(forward(xb).float(), yb)
        opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        opt.step()
        sched.step()
        return batch_loss.detach()

    return step


def run_epoch(step, x: torch.Tensor, y: torch.Tensor, batch_size: int, gen: torch.Generator) -> torch.Tensor:
    """One pass over a shuffled order of device-resident `x`, `y` in full batches (the last partial
    batch is dropped); returns the mean training loss as a device tensor."""
    n = len(x)
    steps = max(1, n // batch_size)
    perm = torch.randperm(n, device=x.device, generator=gen)
    total = torch.zeros((), device=x.device)
    for s in range(steps):
        idx = perm[s * batch_size:(s + 1) * batch_size]
        total += step(x[idx], y[idx])
    return total / steps


def fit(model: nn.Module, x_train, y_train, x_val, y_val, r: Recipe, *, mean, std, device="", seed: int = 0,
        loss: str = "ce", log=print, compile: bool = False) -> History:
    """Train `model` with recipe `r`, keep the weights of the epoch with the lowest validation loss.
    `compile=True` uses `torch.compile` for the training forward (off by default: not yet measured to pay off)."""
    dev = pick_device(device)
    torch.manual_seed(seed)
    prepare(model, dev)
    x_train, y_train, x_val = x_train.to(dev), y_train.to(dev), x_val.to(dev)
    criterion = loss_fn(loss)
    opt, sched = make_optimizer(model, r, r.epochs * max(1, len(x_train) // r.batch_size))
    gen = torch.Generator(device=dev).manual_seed(seed)
    step = make_step(model, opt, sched, criterion, mean, std, r.augment, gen, compile)
    hist, best_state, t0 = History(), None, time.perf_counter()
    for epoch in range(1, r.epochs + 1):
        model.train()
        te = time.perf_counter()
        train_loss = run_epoch(step, x_train, y_train, r.batch_size, gen)
        val_logits = predict(model, x_val, mean, std)
        val_loss = criterion(val_logits, y_val.cpu()).item()
        row = {"epoch": epoch, "train_loss": train_loss.item(), "val_loss": val_loss,
               "seconds": time.perf_counter() - te}
        if loss == "ce":
            row["val_acc"] = (val_logits.argmax(1) == y_val.cpu()).float().mean().item()
        hist.epochs.append(row)
        if val_loss < hist.best_val_loss:
            hist.best_val_loss, hist.best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if best_state is not None:
        model.load_state_dict(best_state)
    hist.seconds = time.perf_counter() - t0
    return hist


def _stats(mean, std, dev):
    return (torch.tensor(mean, device=dev).view(1, -1, 1, 1), torch.tensor(std, device=dev).view(1, -1, 1, 1))


def _autocast(dev: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)


def _memory_format(x: torch.Tensor, dev: torch.device) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if dev.type == "cuda" else x
