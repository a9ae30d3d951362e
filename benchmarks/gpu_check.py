"""The GPU check: on one CUDA device in about 8 minutes, the training throughput of LeNet-5 against both
baselines (with the fraction of the device's dense bf16 rate and of its data-sheet peak), the wall time
of whole grids through `hetnoise sweep` with packing (the MNIST paper grid by default), then the
throughput of ResNet18-CIFAR. Each grid packs `--pack` runs per notebook execution and trains them at once only when the
K-at-once comparison measured that faster here. Writes OUT/gpu_check.json (every stage's command, exit
status and wall time, the runs each grid finished, provenance), OUT/train_throughput.json and the
records under OUT/results; a stage past its time limit is stopped and the grids resume where they stopped.

Usage: python benchmarks/gpu_check.py --out DIR [--data DIR] [--grid EXPERIMENT:PROFILE[:KEY=VALUE]...]
       [--workers N] [--pack K] [--toy]
`--toy` runs it at toy size on any device (the smoke grid on two cells): what the tests exercise.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from hetnoise import records  # noqa: E402

DEFAULT_GRIDS = ["multiclass:paper:dataset=mnist"]
TOY_GRID = "multiclass:smoke:p=1.0:clean_class=[0,1]:strategy=exclude:epochs=1"


def grid_command(spec: str, results: Path, workers: int, pack: int, batched: bool) -> list[str]:
    """The `hetnoise sweep` command of a grid given as EXPERIMENT:PROFILE[:KEY=VALUE]..."""
    study, profile, *sets = spec.split(":")
    if not study or not profile or any("=" not in s for s in sets):
        raise ValueError(f"--grid {spec!r}: write EXPERIMENT:PROFILE[:KEY=VALUE]..., "
                         "e.g. multiclass:paper:dataset=mnist")
    return [sys.executable, "-m", "hetnoise.cli", "sweep", study, "--profile", profile, "--results",
            str(results), "--workers", str(workers), "--pack", str(pack), "--no-progress",
            *(a for s in sets for a in ("--set", s)), *(["--batched"] if batched else [])]


def stage(name: str, cmd: list[str], limit_s: float, log: Path, env: dict) -> dict:
    """Run one stage with a time limit; its output goes to `log`."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        try:
            rc = proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # the sweep's workers and kernels too
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = "timed out"
    wall = time.perf_counter() - t0
    print(f"{name}: exit {rc}, {wall:.1f} s", flush=True)
    return {"name": name, "command": " ".join(cmd[1:]), "exit": rc, "wall_s": wall, "limit_s": limit_s,
            "log": log.name}


def count_runs(results: Path, spec: str) -> int:
    study, profile, *_ = spec.split(":")
    return len(list((results / study / profile).glob("*.json")))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for the figures, logs and records")
    ap.add_argument("--data", help="data root holding mnist/ (and fashion-mnist/); default $HETNOISE_DATA")
    ap.add_argument("--grid", action="append", help=f"repeatable; default {DEFAULT_GRIDS[0]}")
    ap.add_argument("--workers", type=int, default=8, help="sweep workers sharing the device (default 8)")
    ap.add_argument("--pack", type=int, default=10, help="runs per notebook execution (default 10)")
    ap.add_argument("--bench-limit", type=float, default=120, help="seconds for each model's throughput")
    ap.add_argument("--grid-limit", type=float, default=150, help="seconds for each grid")
    ap.add_argument("--toy", action="store_true", help="toy size on any device")
    args = ap.parse_args(argv)
    if args.workers < 1 or args.pack < 1:
        raise ValueError("--workers and --pack must be ≥ 1")
    args.out = args.out.resolve()
    grids = args.grid or ([TOY_GRID] if args.toy else DEFAULT_GRIDS)
    for spec in grids:
        grid_command(spec, args.out, 1, 1, False)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1"}
    if args.data:
        env["HETNOISE_DATA"] = str(Path(args.data).resolve())
    report = {"provenance": records.provenance(), "toy": args.toy, "workers": args.workers, "pack": args.pack,
              "stages": [], "grids": []}
    try:
        report["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                               "--format=csv,noheader"], capture_output=True, text=True,
                                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        report["nvidia_smi"] = None
    bench = args.out / "train_throughput.json"

    def throughput(model: str) -> dict:
        cmd = [sys.executable, str(HERE / "train_throughput.py"), "--save", "--out", str(bench), "--model", model,
               *(["--smoke"] if args.toy else ["--rounds", "3"])]
        return stage(f"throughput {model}", cmd, args.bench_limit, args.out / f"throughput-{model}.log", env)

    report["stages"].append(throughput("lenet5"))
    figures = json.loads(bench.read_text()) if bench.is_file() else {}
    k = next(iter(figures.values()), {}).get("k_at_once", {})
    batched = k.get("speedup", 0) > 1
    report["batched"] = {"chosen": batched, "k_at_once_speedup": k.get("speedup")}
    for spec in grids:
        results = args.out / "results"
        before = count_runs(results, spec)
        s = stage(f"grid {spec}", grid_command(spec, results, args.workers, args.pack, batched), args.grid_limit,
                  args.out / f"grid-{len(report['grids'])}.log", env)
        report["stages"].append(s)
        report["grids"].append({"grid": spec, "runs_before": before, "runs_after": count_runs(results, spec),
                                "wall_s": s["wall_s"], "exit": s["exit"], "batched": batched,
                                "workers": args.workers, "pack": args.pack})
        records.atomic_write_text(args.out / "gpu_check.json", json.dumps(report, indent=1) + "\n")
    if not args.toy:
        report["stages"].append(throughput("resnet18"))
    records.atomic_write_text(args.out / "gpu_check.json", json.dumps(report, indent=1) + "\n")
    for g in report["grids"]:
        print(f"{g['grid']}: {g['runs_after'] - g['runs_before']} runs in {g['wall_s']:.0f} s "
              f"({g['runs_after']} in all), exit {g['exit']}")
    return report


if __name__ == "__main__":
    main()
