"""Training throughput of hetnoise.train against the reference a user would otherwise write.

Reference (a): a torchvision Dataset that turns each uint8 image into a PIL image and applies per-sample
ToTensor/Normalize (plus RandomCrop/RandomHorizontalFlip when the recipe augments), a shuffling DataLoader
with its default `num_workers=0`, and an fp32 training step. hetnoise (b): `train.run_epoch` on
device-resident uint8 tensors, batches cut by index, batch augmentation, bf16/channels_last/fused on CUDA.
Both train the same architecture with the paper recipe's optimiser on the same synthetic images, one
epoch each in turn, after one warm-up epoch each; images/s is the median over rounds.

LeNet-5 also gets the K-at-once comparison: K models trained by `ensemble.fit_many` in one vmapped run
against the same K trained one after another.

Usage: python benchmarks/train_throughput.py [--model lenet5|resnet18] [--smoke] [--out FILE]
Without --smoke the figures are merged into benchmarks/results/train_throughput.json under the device
kind (cpu / cuda); --smoke runs at toy size and writes only to --out.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from dataclasses import replace

from hetnoise import ensemble, models, records, settings, train

RESULTS = Path(__file__).resolve().parent / "results" / "train_throughput.json"
SETUPS = {"lenet5": {"size": 28, "channels": 1, "batch_size": 128},
          "resnet18": {"size": 32, "channels": 3, "batch_size": 256}}
# Dense bf16 tensor-core peak (TFLOPS, no sparsity) by device-name fragment; the first match wins.
PEAK_BF16_TFLOPS = [("H100 PCIe", 756), ("H100 NVL", 835), ("H100", 989), ("H200", 989), ("B200", 2250),
                    ("A100", 312), ("L40S", 362), ("L4", 121)]


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


def reference_loader(x, y, batch_size: int, mean, std, augment: bool, seed: int = 0) -> DataLoader:
    """The DataLoader of the reference path: per-sample PIL transforms, shuffled, full batches."""
    steps = [transforms.RandomCrop(x.shape[-1], padding=4), transforms.RandomHorizontalFlip()] if augment else []
    tf = transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])
    return DataLoader(ArrayImages(x, y, tf), batch_size=batch_size, shuffle=True, drop_last=True,
                      generator=torch.Generator().manual_seed(seed))


def reference_optimizer(model, r: train.Recipe):
    """The recipe's optimiser, plain (not fused)."""
    if r.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=0.9, nesterov=True, weight_decay=r.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)


def reference_epoch(model, loader, opt, dev) -> None:
    """One fp32 epoch of the reference loop."""
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(dev), yb.to(dev)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def reference_fit(model, x, y, r: train.Recipe, *, mean, std, device="cpu", seed: int = 0):
    """Train `model` for `r.epochs` epochs on the reference path (no checkpointing): the plain baseline."""
    dev = torch.device(device)
    torch.manual_seed(seed)
    model.to(dev)
    loader, opt = reference_loader(x, y, r.batch_size, mean, std, r.augment, seed), reference_optimizer(model, r)
    for _ in range(r.epochs):
        reference_epoch(model, loader, opt, dev)
    return model


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
    """The dense bf16 peak of a GPU by name, or None when it is not in the table."""
    return next((p for frag, p in PEAK_BF16_TFLOPS if frag in device_name), None)


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


def throughput(name: str, dev: torch.device, steps: int, rounds: int, batch_size: int | None = None) -> dict:
    """Images/s of the reference and hetnoise paths for one model, measured alternately."""
    setup = SETUPS[name]
    bs = batch_size or setup["batch_size"]
    r = replace(settings.PROFILES["multiclass"]["paper"].recipes[name], batch_size=bs)
    x, y = synthetic(steps * bs, setup["channels"], setup["size"])
    mean, std = (0.5,) * setup["channels"], (0.25,) * setup["channels"]
    ref_net = build(name, setup["channels"]).to(dev)
    ref_loader, ref_opt = reference_loader(x, y, bs, mean, std, r.augment), reference_optimizer(ref_net, r)
    fast = {}
    for label, compiled in (("hetnoise", False), ("hetnoise_compiled", True)):
        if compiled and dev.type != "cuda":
            continue
        net = train.prepare(build(name, setup["channels"]), dev)
        opt, sched = train.make_optimizer(net, r, 10 ** 6)
        gen = torch.Generator(device=dev).manual_seed(0)
        step = train.make_step(net, opt, sched, train.loss_fn("ce"), mean, std, r.augment, gen, compiled)
        xd, yd = x.to(dev), y.to(dev)
        fast[label] = lambda step=step, xd=xd, yd=yd, gen=gen: train.run_epoch(step, xd, yd, bs, gen)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = alternate({"reference": lambda: reference_epoch(ref_net, ref_loader, ref_opt, dev), **fast}, rounds, sync)
    per_s = {k: [steps * bs / t for t in v] for k, v in times.items()}
    out = {"image_size": setup["size"], "channels": setup["channels"], "batch_size": bs, "augment": r.augment,
           "optimizer": r.optimizer, "images_per_epoch": steps * bs, "rounds": rounds,
           "reference_dataloader_workers": 0, "images_per_s_by_round": per_s,
           **{f"{k}_images_per_s": statistics.median(v) for k, v in per_s.items()}}
    out["ratio"] = out["hetnoise_images_per_s"] / out["reference_images_per_s"]
    out["flops_per_image"] = flops_per_image(name, setup["channels"], setup["size"])
    if dev.type == "cuda":
        peak = peak_tflops(torch.cuda.get_device_name(dev))
        out["peak_bf16_tflops"] = peak
        out["fraction_of_peak"] = (out["hetnoise_images_per_s"] * out["flops_per_image"]["train"] / (peak * 1e12)
                                   if peak else None)
    return out


def k_at_once(k: int, n: int, dev: torch.device, rounds: int) -> dict:
    """Wall time of one epoch of K LeNet-5s (own labels and seeds): one vmapped run against K separate runs."""
    x, _ = synthetic(n + 256, 1, 28)
    g = torch.Generator().manual_seed(1)
    ys = [torch.randint(0, 10, (n,), generator=g) for _ in range(k)]
    r = replace(settings.PROFILES["multiclass"]["paper"].recipes["lenet5"], epochs=1)
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
    """Merge this run's figures into the JSON file under the device kind, model by model."""
    doc = json.loads(path.read_text()) if path.is_file() else {}
    entry = doc.setdefault(kind, {"models": {}})
    entry["models"].update(figures.pop("models"))
    entry.update(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    records.atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(SETUPS), action="append", help="repeatable; default: both")
    ap.add_argument("--smoke", action="store_true", help="toy size (a few seconds); writes only to --out")
    ap.add_argument("--out", type=Path, help=f"JSON file to merge the figures into (default {RESULTS})")
    ap.add_argument("--device", default="", help="default: CUDA when present, else CPU")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    ap.add_argument("--rounds", type=int, default=0, help="measured epochs per path (default 5; smoke 1)")
    ap.add_argument("--k", type=int, default=0, help="models in the K-at-once comparison (default 8; smoke 2)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.rounds < 0 or args.k < 0:
        raise ValueError("--threads must be ≥ 1, --rounds and --k ≥ 0")
    torch.set_num_threads(args.threads)
    dev = train.pick_device(args.device)
    names = args.model or sorted(SETUPS)
    rounds = args.rounds or (1 if args.smoke else 5)
    load = os.getloadavg()[0]
    figures = {"device": records.device_name() if dev.type == "cpu" else torch.cuda.get_device_name(dev),
               "device_type": dev.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "loadavg_1min_at_start": load, "smoke": args.smoke, "provenance": records.provenance(), "models": {}}
    print(f"device {figures['device']} ({dev.type}), torch {torch.__version__}, {args.threads} threads, "
          f"load {load:.2f}")
    if "lenet5" in names:
        k = args.k or (2 if args.smoke else 8)
        n = 256 if args.smoke else (128 * 40 if dev.type == "cpu" else 128 * 200)
        figures["k_at_once"] = ka = k_at_once(k, n, dev, rounds)
        print(f"K-at-once LeNet-5, K={k}, {n} images each, 1 epoch: {ka['batched_s']:.2f} s batched, "
              f"{ka['separate_s']:.2f} s separate ({ka['speedup']:.2f}×)")
    for name in names:
        steps = 2 if args.smoke else {("lenet5", "cpu"): 40, ("resnet18", "cpu"): 2}.get((name, dev.type), 100)
        bs = (16 if name == "resnet18" else None) if args.smoke else None
        f = figures["models"][name] = throughput(name, dev, steps, rounds, bs)
        f["measured_at"] = figures["provenance"]["timestamp_utc"]
        print(f"model: {name} ({f['image_size']}×{f['image_size']}, batch {f['batch_size']}, "
              f"{f['images_per_epoch']} images an epoch, {rounds} rounds)")
        for key in ("reference", "hetnoise", "hetnoise_compiled"):
            if f"{key}_images_per_s" in f:
                print(f"  {key:18s} {f[key + '_images_per_s']:10.1f} images/s")
        print(f"  training FLOPs per image {f['flops_per_image']['train'] / 1e6:.2f} M")
        if dev.type == "cuda":
            frac = f["fraction_of_peak"]
            print(f"  fraction of bf16 peak ({f['peak_bf16_tflops']} TFLOPS): "
                  + (f"{frac:.3%}" if frac is not None else "peak unknown for this device"))
        print(f"ratio: {f['ratio']:.2f}")
    figures["loadavg_1min_at_end"] = os.getloadavg()[0]
    out = args.out or (None if args.smoke else RESULTS)
    if out:
        save(out, dev.type, copy.deepcopy(figures))
    return figures


if __name__ == "__main__":
    main()
