"""The Performance page's blocks, drawn from the figures the benchmarks saved in benchmarks/results/ and from
the run records: one call per block, so the page holds prose and calls. Kept beside the benchmarks, not in
the package: nothing in `hetnoise` reads benchmark output."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Markdown, display
from torch.utils.flop_counter import FlopCounterMode

from hetnoise import grids, models, mtl, records, studies, tables

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = {"cpu": "CPU", "cuda": "GPU (CUDA)"}
NAMES = {"torchvision_reference": "torchvision reference", "hetnoise_compiled": "hetnoise compiled",
         "hetnoise_fast": "hetnoise fast"}
COCO_TRAIN = round(0.2 * 118_287)  # mini MS-COCO: 20 % of COCO 2017 train; a tenth of it validates


def saved(name: str) -> dict:
    """A benchmark's saved figures (empty when it has not been run)."""
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else {}


def measured(entry: dict) -> str:
    """Device, threads, revision and time of one benchmark entry."""
    load = entry.get("loadavg_1min_at_start")
    return (f"{entry['device']}, torch {entry['torch']}, {entry['threads']} threads, revision "
            f"`{entry['git_revision'][:7]}`, {entry['measured_at'][:16].replace('T', ' ')} UTC"
            + (f", 1-minute load {load:.2f} at the start" if load is not None else ""))


def throughput() -> None:
    """Images/s of every path of the throughput benchmark, per device and model, with the dense rates."""
    bench = saved("train_throughput.json")
    if not bench:
        display(Markdown("No benchmark figures yet: `train_throughput.json` is missing. Run "
                         "`python benchmarks/train_throughput.py --save` and rebuild the book."))
    for kind, entry in bench.items():
        for name, figures in entry["models"].items():
            dense = figures["fraction_of_dense"]
            rows = [{"path": NAMES.get(k, k), "images/s": round(v),
                     "÷ plain": round(v / figures["images_per_s"]["plain"], 2),
                     **{f"% of dense {d}": round(100 * dense[d][k], 1) for d in dense}}
                    for k, v in figures["images_per_s"].items()]
            peak = (f"; {100 * figures['fraction_of_peak']:.2f} % of the {figures['peak_bf16_tflops']}-TFLOPS bf16 "
                    "data-sheet peak" if figures.get("fraction_of_peak") else "")
            display(Markdown(f"**{name}, {KINDS.get(kind, kind)}** — {figures['image_size']}×{figures['image_size']} "
                             f"images, batch {figures['batch_size']}, "
                             f"{figures['flops_per_image']['train'] / 1e6:,.1f} MFLOP per training image; hetnoise "
                             f"÷ plain **{figures['ratio']:.2f}**, ÷ torchvision reference "
                             f"{figures['ratio_to_torchvision_reference']:.2f}{peak}. "
                             f"Measured on {measured(figures)}."))
            display(pd.DataFrame(rows).style.hide(axis="index").format(precision=1, thousands=","))
        rates = entry.get("dense_flops_per_s", {})
        shown = ", ".join(f"{k} {rates[k] / 1e12:,.2f} TFLOP/s" for k in ("fp32", "tf32", "bf16") if k in rates)
        if shown:
            display(Markdown(f"*Dense matrix products on this {KINDS.get(kind, kind)}*: {shown}."))
    if "cuda" in bench:
        tf32 = "tf32" in bench["cuda"].get("dense_flops_per_s", {})
        display(Markdown(
            "On CUDA, fp32 convolutions run on TF32 tensor cores by default (`torch.backends.cudnn.allow_tf32`), "
            "so a fraction of the fp32 rate above 100 % means the path used TF32, not that it beat the machine"
            + ("." if tf32 else "; this run predates the TF32 rate, which the benchmark now also measures.")))


def k_at_once() -> None:
    """K LeNet-5s trained one after another against at once, per device."""
    rows = []
    for kind, entry in saved("train_throughput.json").items():
        k = entry.get("k_at_once")
        if k:
            rows.append({"device": f"{entry['device']} ({KINDS.get(kind, kind)})", "models K": k["k"],
                         "images per model": k["images_per_model"], "K separate runs (s)": round(k["separate_s"], 2),
                         "K at once (s)": round(k["batched_s"], 2), "speed-up": round(k["speedup"], 2),
                         "measured": f"`{k['git_revision'][:7]}`, {k['measured_at'][:10]}"})
    if rows:
        display(Markdown("**K LeNet-5 models, one epoch each (including their validation passes).** A sweep trains "
                         "a pack's runs at once only when asked (`--batched`); this speed-up says where that pays."))
        display(pd.DataFrame(rows).style.hide(axis="index").format(precision=2, thousands=","))


def lenet_profile() -> None:
    """The operators of a LeNet-5 training step ranked by their own time, per device profiled."""
    for kind in ("cpu", "cuda"):
        prof = saved(f"lenet_profile_{kind}.json")
        if not prof:
            continue
        prov = prof["provenance"]
        display(Markdown(f"**{KINDS[kind]}: {prof['device']}, {prof['threads']} thread(s)**: "
                         f"{prof['step_ms_profiled']:.1f} ms per step under the profiler; revision "
                         f"`{prov['git_revision'][:7]}`, {prov['timestamp_utc'][:16].replace('T', ' ')} UTC."))
        display(pd.DataFrame([{"operator": t["operator"], "calls per step": round(t["calls_per_step"]),
                               "ms per step": round(t["self_ms_per_step"], 2), "share (%)": round(100 * t["share"], 1)}
                              for t in prof["top"]]).style.hide(axis="index").format(precision=2))


def cpu_records(profile: str, dataset: str) -> list[dict]:
    """The multi-class records of a profile and data set made on a CPU."""
    recs, _ = records.load_all("multiclass")
    return [r for r in recs if r["profile"] == profile and r["params"]["dataset"] == dataset
            and not r["provenance"].get("cuda_available")]


def whole_grids() -> None:
    """Wall time of whole grids: the GPU check's, and the CPU records' own per data set."""
    check = saved("gpu_check.json")
    rows = []
    for g in check.get("grids", []):
        runs, wall = g.get("runs_total", g["runs_after"]), g.get("total_wall_s", g["wall_s"])
        rows.append({"grid": g["grid"].replace("multiclass:", "").replace(":dataset=", ", "), "runs": runs,
                     "device": check["provenance"]["device_name"], "workers × pack": f"{g['workers']} × {g['pack']}",
                     "trained at once": "yes" if g["batched"] else "no", "wall time": f"{wall / 60:.1f} min",
                     "per run": f"{wall / runs:.1f} s"})
    study = studies.get("multiclass")
    for profile, dataset in (("paper", "mnist"), ("fashion", "fashion-mnist")):
        part = [r for r in cpu_records(profile, dataset) if r.get("protocol") == study.version]
        if part:
            walls = sorted(r["result"]["wall_time_s"] for r in part)
            threads = sorted({r["provenance"].get("torch_threads") for r in part})
            size = tables.grid_size(study.grids, profile, dataset=dataset)
            rows.append({"grid": f"{profile}, {dataset}",
                         "runs": len(part) if len(part) == size else f"{len(part)} of the grid's {size}",
                         "device": ", ".join(sorted({r["provenance"]["device_name"] for r in part})),
                         "workers × pack": f"{part[0]['provenance']['cpu_count']} × {part[0]['result']['pack_size']}, "
                                           f"{', '.join(map(str, threads))} thread(s) each",
                         "trained at once": "no", "wall time": f"{sum(walls) / 3600:.1f} core-hours",
                         "per run": f"{walls[len(walls) // 2]:.0f} s (median)"})
    if rows:
        display(pd.DataFrame(rows).style.hide(axis="index"))
    if check:
        prov = check["provenance"]
        display(Markdown(f"GPU check: {prov['device_name']}, revision `{prov['git_revision'][:7]}`, "
                         f"{prov['timestamp_utc'][:16].replace('T', ' ')} UTC."))


def devices_compared() -> None:
    """The GPU check's MNIST runs beside the CPU runs of the same cells: mean accuracy per p. The CPU side is
    the published records, or the saved copy of those that left published/ when a new protocol replaced them."""
    gpu = saved("gpu_mnist_grid.json")
    if not gpu:
        return
    ids = {run["run_id"] for run in gpu["runs"]}
    cpu = tables.frame([r for r in cpu_records("paper", "mnist") if r["run_id"] in ids])
    if cpu.empty:
        cpu = pd.DataFrame(saved("cpu_mnist_grid.json").get("runs", []))
    if cpu.empty:
        return
    both = cpu.merge(pd.DataFrame(gpu["runs"]), on="run_id", suffixes=("_cpu", "_gpu"))
    table = (both.groupby(["strategy_cpu", "p_cpu"])
             .agg(runs=("run_id", "size"), clean_cpu=("clean_acc_cpu", "mean"), clean_gpu=("clean_acc_gpu", "mean"),
                  corrupted_cpu=("corrupted_acc_cpu", "mean"), corrupted_gpu=("corrupted_acc_gpu", "mean"))
             .reset_index().rename(columns={"strategy_cpu": "strategy", "p_cpu": "p"}))
    for column in ("clean_cpu", "clean_gpu", "corrupted_cpu", "corrupted_gpu"):
        table[column] = 100 * table[column]
    gap = (100 * (both.corrupted_acc_gpu - both.corrupted_acc_cpu)).abs()
    display(Markdown(f"{len(both)} runs on both devices; the corrupted-class accuracy of one run differs by "
                     f"{gap.median():.1f} points at the median between the devices."))
    display(table.rename(columns={"clean_cpu": "clean, CPU", "clean_gpu": "clean, GPU",
                                  "corrupted_cpu": "corrupted, CPU", "corrupted_gpu": "corrupted, GPU"})
            .style.hide(axis="index").format(precision=1).format("{:g}", subset=["p"]))


def train_flops(net: torch.nn.Module, channels: int, size: int) -> float:
    """Forward plus backward FLOPs per image, counted on one CPU batch of two."""
    x = torch.zeros(2, channels, size, size)
    with FlopCounterMode(display=False) as count:
        net(x).sum().backward()
    return count.get_total_flops() / 2


def priced_studies() -> list[tuple]:
    """Each study of the paper at its `paper` profile: (name, runs, network, epochs, training images per
    epoch, benchmarked model, training FLOPs relative to it)."""
    cells = {name: grids.cells(name, "paper") for name in ("multiclass", "mtl", "multilabel")}
    paper = {name: studies.get(name).profiles["paper"] for name in cells}
    resnet = train_flops(models.resnet18(10), 3, 32)
    wide = train_flops(mtl.build_model([50, 50], paper["mtl"].defaults["width"], "mish", 3), 3, 32)
    return [
        ("multi-class, MNIST", sum(c["dataset"] == "mnist" for c in cells["multiclass"]), "LeNet-5",
         paper["multiclass"].recipes["lenet5"].epochs, 54_000, "lenet5", 1.0),
        ("multi-class, CIFAR-10", sum(c["dataset"] == "cifar10" for c in cells["multiclass"]), "ResNet18",
         paper["multiclass"].recipes["resnet18"].epochs, 45_000, "resnet18", 1.0),
        ("multi-task, CIFAR-100", len(cells["mtl"]), "2×-wide Mish ResNet18, two heads",
         paper["mtl"].recipes["resnet18"].epochs, 2 * 22_500, "resnet18", wide / resnet),
        ("multi-label, mini MS-COCO", len(cells["multilabel"]), "ResNet18, ImageNet stem, 128×128",
         paper["multilabel"].recipes["resnet18"].epochs, COCO_TRAIN - round(0.1 * COCO_TRAIN), "resnet18",
         train_flops(models.resnet18(80, stem="imagenet"), 3, 128) / resnet),
    ]


def duration(seconds: float) -> str:
    """A duration in the largest unit that fits."""
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def whole_paper() -> None:
    """Training time of every study of the paper at the measured throughput, per device."""
    bench = saved("train_throughput.json")
    priced = priced_studies() if bench else []
    for kind, entry in bench.items():
        rows, total = [], 0.0
        for study, runs, net, epochs, images, benchmarked, scale in priced:
            figures = entry["models"].get(benchmarked)
            if figures is None:
                continue
            speed = figures["images_per_s"]["hetnoise"] / scale
            seconds = runs * epochs * images / speed
            total += seconds
            rows.append({"study": study, "runs": runs, "network": net, "epochs": epochs, "images per epoch": images,
                         "images/s": round(speed, 1), "throughput": "measured" if scale == 1.0 else
                         f"FLOP-scaled (×{1 / scale:.2f} of ResNet18)", "training time": duration(seconds)})
            k = entry.get("k_at_once")
            if benchmarked == "lenet5" and k and k["speedup"] > 1:
                rows.append({"study": study + f", {k['k']} at once", "runs": runs, "network": net, "epochs": epochs,
                             "images per epoch": images, "images/s": round(speed * k["speedup"], 1),
                             "throughput": f"measured × K-at-once speed-up {k['speedup']:.2f}",
                             "training time": duration(seconds / k["speedup"])})
        display(Markdown(f"**{KINDS.get(kind, kind)}: {entry['device']}, {entry['threads']} threads** — the paper's "
                         f"studies one run at a time: {duration(total)}."))
        display(pd.DataFrame(rows).style.hide(axis="index").format(precision=1, thousands=","))
    if bench and "cuda" not in bench:
        display(Markdown("GPU times are absent until the benchmark has been run on a GPU."))
