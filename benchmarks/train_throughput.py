"""Training throughput of hetnoise.train against two baselines, with an ablation between them.

Baselines: (a) `plain`, a competent tensor-resident fp32 loop (images normalised once and kept on the
device, batches cut by index, the recipe's optimiser with torch's defaults); (b) `torchvision_reference`,
torchvision's reference style (a Dataset serving one PIL image at a time through ToTensor/Normalize, plus
RandomCrop/RandomHorizontalFlip when the recipe augments, a shuffling DataLoader: no workers on the CPU,
4 workers with pinned memory on CUDA), fp32. `plain` pools with `nn.MaxPool2d`. The ablation starts from
`plain` and adds one change at a time: uint8 images normalised per batch, LeNet-5's 2×2 pool kernel
(`models.MaxPool2x2`, CPU only), a fused optimiser, channels_last, and bf16 autocast (CUDA only);
`hetnoise` is the real `train.make_step` + `train.run_epoch` with the default engine, on the CPU also
`hetnoise_fast` (engine "fast"), and on CUDA `hetnoise_compiled` (its `torch.compile`d forward). All paths
train the same network with the paper recipe's optimiser on the same synthetic images, one epoch each in
turn after a warm-up epoch each; images/s is the median over rounds. The same run measures the device's
dense matrix-multiply rate (fp32; on CUDA also TF32, which cuDNN's fp32 convolutions use by default, and
bf16) and reports the fraction of it each path's training FLOPs reach.

LeNet-5 also gets the K-at-once comparison: K models trained by `ensemble.fit_many` in one vmapped run
against the same K trained one after another.

Usage: python benchmarks/train_throughput.py [--model lenet5|resnet18] [--smoke] [--save] [--out FILE]
The last line printed is `ratio: <hetnoise / plain>` of the last model. Figures are written only with
--save (to --out, default benchmarks/results/train_throughput.json, merged under the device kind), each
model's entry with its own provenance.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from hetnoise import ensemble, models, records, studies, train

RESULTS = Path(__file__).resolve().parent / "results" / "train_throughput.json"
SETUPS = {"lenet5": {"size": 28, "channels": 1, "batch_size": 128},
          "resnet18": {"size": 32, "channels": 3, "batch_size": 256}}
# Dense bf16 tensor-core peak (TFLOPS, no sparsity) by device-name fragment; the first match wins.
PEAK_BF16_TFLOPS = [("H100 PCIe", 756), ("H100 NVL", 835), ("H100", 989), ("H200", 989), ("B200", 2250),
                    ("A100", 312), ("L40S", 362), ("L4", 121)]
# The ablation, cumulative from `plain`: (name, the device type it runs on or "" for all, switch it turns on).
ABLATION = [("plain", "", ""), ("+uint8 batches", "", "uint8"), ("+2×2 pool kernel", "cpu", "pool"),
            ("+fused optimiser", "", "fused"), ("+channels_last", "", "channels_last"),
            ("+bf16 autocast", "cuda", "bf16")]


class ArrayImages(torchvision.datasets.VisionDataset):
    """In-memory uint8 images served one PIL image at a time, as torchvision's MNIST and CIFAR10 do."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        super().__init__(root="", transform=transform)
        self.x = x.permute(0, 2, 3, 1).squeeze(3).numpy() if x.shape[1] == 1 else x.permute(0, 2, 3, 1).numpy()
        self.y = y.numpy()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])


def reference_loader(x, y, batch_size: int, mean, std, augment: bool, seed: int = 0, workers: int = 0,
                     pin: bool = False) -> DataLoader:
    """The DataLoader of torchvision's reference style: per-sample PIL transforms, shuffled, full batches."""
    steps = [transforms.RandomCrop(x.shape[-1], padding=4), transforms.RandomHorizontalFlip()] if augment else []
    tf = transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])
    return DataLoader(ArrayImages(x, y, tf), batch_size=batch_size, shuffle=True, drop_last=True,
                      generator=torch.Generator().manual_seed(seed), num_workers=workers, pin_memory=pin,
                      persistent_workers=workers > 0)


def reference_optimizer(model, r: train.Recipe, fused: bool = False):
    """The recipe's optimiser with torch's defaults (or fused)."""
    kw = {"fused": True} if fused else {}
    if r.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=0.9, nesterov=True, weight_decay=r.weight_decay,
                               **kw)
    return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay, **kw)


def reference_epoch(model, loader, opt, dev) -> None:
    """One fp32 epoch of the torchvision-reference loop."""
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def reference_fit(model, x, y, r: train.Recipe, *, mean, std, device="cpu", seed: int = 0):
    """Train `model` for `r.epochs` epochs on the torchvision-reference path (no checkpointing)."""
    dev = torch.device(device)
    torch.manual_seed(seed)
    model.to(dev)
    loader, opt = reference_loader(x, y, r.batch_size, mean, std, r.augment, seed), reference_optimizer(model, r)
    for _ in range(r.epochs):
        reference_epoch(model, loader, opt, dev)
    return model


def ablation_paths(dev_type: str) -> list[tuple[str, dict]]:
    """The ablation's steps that run on `dev_type`, each with all its switches (those of the steps before)."""
    on, out = set(), []
    for label, device, switch in ABLATION:
        if device in ("", dev_type):
            on |= {switch} - {""}
            out.append((label, {k: k in on for k in ("uint8", "pool", "fused", "channels_last", "bf16")}))
    return out


def aten_pool(net):
    """`net` with `nn.MaxPool2d(2)` in place of `models.MaxPool2x2`: the plain loop's pooling."""
    for m in net.modules():
        for name, child in m.named_children():
            if isinstance(child, models.MaxPool2x2):
                setattr(m, name, torch.nn.MaxPool2d(2))
    return net


def tensor_epoch(net, r: train.Recipe, x, y, dev, mean, std, *, uint8: bool, pool: bool, fused: bool,
                 channels_last: bool, bf16: bool):
    """One epoch of the tensor-resident loop with the ablation's switches: `plain` with all of them off."""
    net = net if pool else aten_pool(net)
    net.to(dev)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    opt = reference_optimizer(net, r, fused)
    mean_t, std_t = train.channel_stats(mean, std, dev)
    xd, yd = x.to(dev), y.to(dev)
    xd = xd if uint8 else train.normalise(xd, mean_t, std_t)
    gen, bs = torch.Generator(device=dev).manual_seed(0), r.batch_size

    def epoch():
        net.train()
        perm = torch.randperm(len(xd), device=dev, generator=gen)
        for s in range(len(xd) // bs):
            idx = perm[s * bs:(s + 1) * bs]
            xb = train.crop_flip(xd[idx], 4, gen) if r.augment else xd[idx]
            xb = train.normalise(xb, mean_t, std_t) if uint8 else xb
            xb = xb.contiguous(memory_format=torch.channels_last) if channels_last else xb
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(net(xb).float(), yd[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return epoch


def synthetic(n: int, channels: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 images and labels: throughput does not depend on what the pixels show."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8), \
        torch.randint(0, 10, (n,), generator=g)


def build(name: str, channels: int, seed: int = 0):
    torch.manual_seed(seed)
    return models.build(name, 10, channels)


def flops_per_image(name: str, channels: int, size: int) -> dict:
    """Forward and training (forward + backward) FLOPs per image, counted on a CPU copy."""
    net, x = build(name, channels), torch.zeros(2, channels, size, size)
    with FlopCounterMode(display=False) as fwd:
        out = net(x)
    with FlopCounterMode(display=False) as bwd:
        out.sum().backward()
    return {"forward": fwd.get_total_flops() / 2, "train": (fwd.get_total_flops() + bwd.get_total_flops()) / 2}


def peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU by name (its data sheet), or None when it is not in the table."""
    return next((p for frag, p in PEAK_BF16_TFLOPS if frag in device_name), None)


def dense_rate(dev: torch.device, dtype: torch.dtype, n: int, rounds: int = 5, tf32: bool = False,
               budget_s: float = 0.5) -> float:
    """FLOP/s of an n×n×n matrix product on `dev` in `dtype` (fp32 on CUDA with TF32 tensor cores only
    when `tf32`): the machine's own dense rate that training throughput is compared with; the fastest round
    after a warm-up, over at least `rounds` rounds and `budget_s` seconds, as other work on a shared machine
    only slows a round down (a short product on a busy machine needs many rounds to meet one undisturbed)."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a, b = (torch.randn(n, n, device=dev, dtype=dtype) for _ in range(2))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times, start = [], time.perf_counter()
    while len(times) <= rounds or time.perf_counter() - start < budget_s:
        sync()
        t0 = time.perf_counter()
        a @ b
        sync()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / min(times[1:])


def alternate(paths: dict, rounds: int, sync) -> dict[str, list[float]]:
    """Seconds of each path's epoch, the paths taking turns, after one warm-up epoch each."""
    for run in paths.values():
        run()
    sync()
    times = {name: [] for name in paths}
    for _ in range(rounds):
        for name, run in paths.items():
            t0 = time.perf_counter()
            run()
            sync()
            times[name].append(time.perf_counter() - t0)
    return times


def throughput(name: str, dev: torch.device, steps: int, rounds: int, dense: dict,
               batch_size: int | None = None) -> dict:
    """Images/s of the baselines, the ablation and hetnoise for one model, measured alternately."""
    setup = SETUPS[name]
    bs = batch_size or setup["batch_size"]
    r = replace(studies.get("multiclass").profiles["paper"].recipes[name], batch_size=bs)
    x, y = synthetic(steps * bs, setup["channels"], setup["size"])
    mean, std = (0.5,) * setup["channels"], (0.25,) * setup["channels"]
    cuda = dev.type == "cuda"
    workers = min(4, os.cpu_count() or 1) if cuda else 0
    ref_net = build(name, setup["channels"]).to(dev)
    ref_loader = reference_loader(x, y, bs, mean, std, r.augment, workers=workers, pin=cuda)
    ref_opt = reference_optimizer(ref_net, r)
    paths = {"torchvision_reference": lambda: reference_epoch(ref_net, ref_loader, ref_opt, dev)}
    for label, switches in ablation_paths(dev.type):
        paths[label] = tensor_epoch(build(name, setup["channels"]), r, x, y, dev, mean, std, **switches)
    hetnoise_paths = [("hetnoise", False, "exact")] + ([("hetnoise_compiled", True, "exact")] if cuda else
                                                        [("hetnoise_fast", False, "fast")])
    for label, compiled, engine in hetnoise_paths:
        net = train.prepare(build(name, setup["channels"]), dev)
        opt, sched = train.make_optimizer(net, r, 10 ** 6, train.speed_for(net, dev, engine).fused)
        gen = torch.Generator(device=dev).manual_seed(0)
        step = train.make_step(net, opt, sched, train.loss_fn("ce"), mean, std, r.augment, gen, compiled)
        xd, yd = x.to(dev), y.to(dev)
        paths[label] = lambda step=step, xd=xd, yd=yd, gen=gen: train.run_epoch(step, xd, yd, bs, gen)
    times = alternate(paths, rounds, torch.cuda.synchronize if cuda else (lambda: None))
    per_s = {k: statistics.median(steps * bs / t for t in v) for k, v in times.items()}
    flops = flops_per_image(name, setup["channels"], setup["size"])
    out = {"image_size": setup["size"], "channels": setup["channels"], "batch_size": bs, "augment": r.augment,
           "optimizer": r.optimizer, "images_per_epoch": steps * bs, "rounds": rounds,
           "reference_dataloader_workers": workers, "seconds_by_round": times, "images_per_s": per_s,
           "flops_per_image": flops,
           "fraction_of_dense": {rate: {k: v * flops["train"] / dense[rate] for k, v in per_s.items()}
                                 for rate in dense},
           "ratio": per_s["hetnoise"] / per_s["plain"],
           "ratio_to_torchvision_reference": per_s["hetnoise"] / per_s["torchvision_reference"]}
    if cuda:
        out["peak_bf16_tflops"] = peak = peak_tflops(torch.cuda.get_device_name(dev))
        out["fraction_of_peak"] = per_s["hetnoise"] * flops["train"] / (peak * 1e12) if peak else None
    return out


def k_at_once(k: int, n: int, dev: torch.device, rounds: int) -> dict:
    """Wall time of one epoch of K LeNet-5s (own labels and seeds): one vmapped run against K separate runs."""
    x, _ = synthetic(n + 256, 1, 28)
    g = torch.Generator().manual_seed(1)
    ys = [torch.randint(0, 10, (n,), generator=g) for _ in range(k)]
    r = replace(studies.get("multiclass").profiles["paper"].recipes["lenet5"], epochs=1)
    inits = [build("lenet5", 1, seed) for seed in range(k)]

    def run(batched):
        nets = [copy.deepcopy(m) for m in inits]
        ensemble.fit_many(nets, x[:n], ys, x[n:], ys[0][:256], r, mean=(0.5,), std=(0.25,), seeds=list(range(k)),
                          device=str(dev), log=lambda s: None, batched=batched)

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = alternate({"separate": lambda: run(False), "batched": lambda: run(True)}, rounds, sync)
    sep, bat = statistics.median(times["separate"]), statistics.median(times["batched"])
    return {"model": "lenet5", "k": k, "images_per_model": n, "epochs": 1, "batch_size": r.batch_size,
            "validation_images": 256, "rounds": rounds, "seconds_by_round": times, "separate_s": sep,
            "batched_s": bat, "speedup": sep / bat}


def save(path: Path, kind: str, figures: dict) -> None:
    """Merge this run's figures into the JSON file under the device kind, entry by entry (each model, the
    K-at-once comparison and the dense rates keep the provenance of the run that measured them)."""
    doc = json.loads(path.read_text()) if path.is_file() else {}
    entry = doc.setdefault(kind, {"models": {}})
    entry["models"].update(figures.pop("models"))
    entry.update(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    records.atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(SETUPS), action="append", help="repeatable; default: both")
    ap.add_argument("--smoke", action="store_true", help="toy size (a few seconds)")
    ap.add_argument("--save", action="store_true", help="write the figures (default: print only)")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"JSON file --save merges into (default {RESULTS})")
    ap.add_argument("--device", default="", help="default: CUDA when present, else CPU")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    ap.add_argument("--rounds", type=int, default=0, help="measured epochs per path (default 5; smoke 1)")
    ap.add_argument("--k", type=int, default=0, help="models in the K-at-once comparison (default 8; smoke 2)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.rounds < 0 or args.k < 0:
        raise ValueError("--threads must be ≥ 1, --rounds and --k ≥ 0")
    torch.set_num_threads(args.threads)
    dev = train.pick_device(args.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # for every path alike
    names = args.model or ["resnet18", "lenet5"]
    rounds = args.rounds or (1 if args.smoke else 5)
    prov = records.provenance()
    where = {"device": torch.cuda.get_device_name(dev) if cuda else records.device_name(), "device_type": dev.type,
             "torch": torch.__version__, "threads": torch.get_num_threads(), "smoke": args.smoke,
             "git_revision": prov["git_revision"], "measured_at": prov["timestamp_utc"]}
    print(f"device {where['device']} ({dev.type}), torch {torch.__version__}, {args.threads} threads, "
          f"1-minute load {os.getloadavg()[0]:.2f}")
    n = 256 if args.smoke else 4096
    dense = {"fp32": dense_rate(dev, torch.float32, n)}
    if cuda:  # cuDNN convolutions run fp32 on TF32 tensor cores by default: compare them with that rate
        dense["tf32"] = dense_rate(dev, torch.float32, 8192, tf32=True)
        dense["bf16"] = dense_rate(dev, torch.bfloat16, 8192)
    print("dense matrix product: " + ", ".join(f"{k} {v / 1e9:,.0f} GFLOP/s" for k, v in dense.items()))
    figures = {**where, "dense_flops_per_s": {**dense, **where}, "models": {}}
    if "lenet5" in names:
        k = args.k or (2 if args.smoke else 8)
        n_k = 256 if args.smoke else (128 * 40 if dev.type == "cpu" else 128 * 200)
        ka = k_at_once(k, n_k, dev, rounds)
        figures["k_at_once"] = {**ka, **where, "loadavg_1min_at_end": os.getloadavg()[0]}
        print(f"K-at-once LeNet-5, K={k}, {n_k} images each, 1 epoch: {ka['batched_s']:.2f} s batched, "
              f"{ka['separate_s']:.2f} s separate ({ka['speedup']:.2f}×)")
    for name in names:
        steps = 2 if args.smoke else {("lenet5", "cpu"): 40, ("resnet18", "cpu"): 3}.get((name, dev.type),
                                                                                       {"lenet5": 200}.get(name, 50))
        bs = (16 if name == "resnet18" else None) if args.smoke else None
        load = os.getloadavg()[0]
        f = throughput(name, dev, steps, rounds, dense, bs)
        figures["models"][name] = {**f, **where, "loadavg_1min_at_start": load,
                                   "loadavg_1min_at_end": os.getloadavg()[0]}
        print(f"model: {name} ({f['image_size']}×{f['image_size']}, batch {f['batch_size']}, "
              f"{f['images_per_epoch']} images an epoch, {rounds} rounds, "
              f"{f['flops_per_image']['train'] / 1e6:.2f} MFLOP per training image)")
        for key, v in f["images_per_s"].items():
            frac = "  ".join(f"{v * f['flops_per_image']['train'] / rate:6.1%} of dense {kind}"
                             for kind, rate in dense.items())
            print(f"  {key:22s} {v:10.1f} images/s  {frac}")
        if cuda:
            frac = f["fraction_of_peak"]
            print(f"  hetnoise: fraction of the data-sheet bf16 peak ({f['peak_bf16_tflops']} TFLOPS): "
                  + (f"{frac:.3%}" if frac is not None else "peak unknown for this device"))
        print(f"ratio to torchvision_reference: {f['ratio_to_torchvision_reference']:.2f}")
        print(f"ratio: {f['ratio']:.2f}")
    if args.save:
        save(args.out, dev.type, copy.deepcopy(figures))
    return figures


if __name__ == "__main__":
    main()
