"""Where a LeNet-5 training step spends its time: torch.profiler over hetnoise's own step (paper recipe,
batch 128) on one device, the operators ranked by their own (self) time. It shows why LeNet-5 reaches
only a small fraction of the machine's dense rate on a CPU: small convolutions, pooling and their
backward passes, not matrix products.

Usage: python benchmarks/profile_lenet.py [--steps N] [--threads T] [--device D] [--save]
--save writes benchmarks/results/lenet_profile_<device kind>.json (operators, step time, provenance).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from hetnoise import models, records, studies, train

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50, help="profiled steps, after 10 warm-up steps")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (a sweep worker uses 1)")
    ap.add_argument("--device", default="", help="default: CUDA when present, else CPU")
    ap.add_argument("--top", type=int, default=12, help="operators listed")
    ap.add_argument("--save", action="store_true", help="write the figures under benchmarks/results/")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.threads < 1 or args.top < 1:
        raise ValueError("--steps, --threads and --top must be ≥ 1")
    torch.set_num_threads(args.threads)
    dev = train.pick_device(args.device)
    r = studies.get("multiclass").profiles["paper"].recipes["lenet5"]
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, ((args.steps + 10) * r.batch_size, 1, 28, 28), generator=g, dtype=torch.uint8).to(dev)
    y = torch.randint(0, 10, (len(x),), generator=g).to(dev)
    net = train.prepare(models.build("lenet5", 10, 1, seed=0), dev, seed=0)
    opt, sched = train.make_optimizer(net, r, 10 ** 6)
    step = train.make_step(net, opt, sched, train.loss_fn("ce"), (0.5,), (0.25,), False,
                           torch.Generator(device=dev).manual_seed(0))
    net.train()
    batches = [(x[i:i + r.batch_size], y[i:i + r.batch_size]) for i in range(0, len(x), r.batch_size)]
    for xb, yb in batches[:10]:
        step(xb, yb)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        for xb, yb in batches[10:]:
            step(xb, yb)
        if dev.type == "cuda":
            torch.cuda.synchronize()
    step_ms = 1000 * (time.perf_counter() - t0) / args.steps
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    top = [{"operator": e.key, "calls_per_step": e.count / args.steps,
            "self_ms_per_step": e.self_cpu_time_total / 1000 / args.steps,
            "share": e.self_cpu_time_total / total} for e in events[:args.top]]
    print(f"LeNet-5 training step, batch {r.batch_size}, {dev} ({records.device_name()}), {args.threads} thread(s): "
          f"{step_ms:.2f} ms per step under the profiler")
    for t in top:
        print(f"  {t['operator']:40s} {t['self_ms_per_step']:7.3f} ms  {100 * t['share']:5.1f} %  "
              f"({t['calls_per_step']:.0f} calls)")
    out = {"device": records.device_name(), "device_type": dev.type, "threads": args.threads, "steps": args.steps,
           "batch_size": r.batch_size, "step_ms_profiled": step_ms, "top": top, "provenance": records.provenance()}
    if args.save:
        records.atomic_write_text(RESULTS / f"lenet_profile_{dev.type}.json", json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
