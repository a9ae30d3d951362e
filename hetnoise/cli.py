"""The `hetnoise` command: `sweep`, `status`, `publish`, `verify` and `data mini-coco`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hetnoise import grids, records, settings, studies


def parse_value(text: str):
    """A command-line value as JSON when it parses (numbers, booleans, lists), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def overrides_from(args) -> dict:
    out = {}
    if args.p is not None:
        out["p"] = args.p
    if args.seeds is not None:
        out["seed"] = args.seeds
    for item in args.set or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: write key=value, e.g. --set epochs=2")
        key, value = item.split("=", 1)
        value = parse_value(value)
        out[key] = value if isinstance(value, list) else [value]
    return out


def check_counts(args) -> None:
    """The numbers that size a sweep, checked before anything starts."""
    for name, value, low in (("--workers", args.workers, 1), ("--pack", args.pack, 1), ("--retries", args.retries, 0)):
        if value is not None and value < low:
            raise ValueError(f"{name} {value}: must be an integer ≥ {low}")


def cmd_sweep(args) -> int:
    from hetnoise import sweep

    check_counts(args)
    if args.study != "all":
        studies.get(args.study)
    names = grids.available() if args.study == "all" else [args.study]
    chosen = [e for e in names if settings.profile_name(e, args.profile) in grids.profiles(e)]
    if not chosen:
        known = sorted({p for e in names for p in grids.profiles(e)})
        raise ValueError(f"--profile {args.profile!r} is unknown; choose one of {known}")
    if args.study != "all":
        grids.check(args.study, args.profile)
    overrides, total = overrides_from(args), sweep.Summary()
    for e in chosen:  # the whole grid of every study is resolved and validated before any work starts
        sweep.plan(e, args.profile, args.results, overrides)
    for e in names:
        if e not in chosen:
            print(f"{e}: no profile {args.profile!r}, skipped")
            continue
        summary = sweep.run_sweep(e, args.profile, args.results, overrides, workers=args.workers,
                                  scheduler=args.scheduler, retries=args.retries, dry_run=args.dry_run,
                                  progress=not args.no_progress, pack=args.pack, batched=args.batched)
        if not args.dry_run:
            print(f"{e}/{args.profile}: {summary.text()}")
        total.merge(summary)
    if len(chosen) > 1 and not args.dry_run:
        print(f"all: {total.text()}")
    return 1 if total.failed else 0


def cmd_status(args) -> int:
    from hetnoise import sweep

    results = Path(args.results)
    if not results.is_dir():
        raise ValueError(f"{results}: no such folder; name the results folder a sweep wrote into "
                         "(`hetnoise sweep STUDY --results FOLDER` makes one)")
    recs, problems = records.load_records(results)
    print(f"{results}: {len(recs)} complete records")
    failures = sweep.failed_cells(results)
    for e in studies.ALL:
        for prof in grids.profiles(e):
            cells = sweep.plan(e, prof, results)
            done = sum(c.done() for c in cells)
            failed = sum(c.error in failures for c in cells)
            others = len([r for r in recs if r["study"] == e and r["profile"] == prof]) - done
            if done or failed or others:
                extra = f", {others} from other grids or protocol versions" if others else ""
                print(f"  {e}/{prof}: {done}/{len(cells)} complete, {failed} failed, "
                      f"{len(cells) - done - failed} missing{extra}")
    for path in failures:
        print(f"  failed: {path}: {sweep.last_error_line(path)}")
    for p in problems:
        print(f"  problem: {p}")
    return 1 if problems or failures else 0


def cmd_verify(args) -> int:
    from hetnoise import verify

    return verify.main(args.records)


def require_records(results: Path, study: str, profile: str) -> None:
    """Refuse a results folder that holds no run of this study and profile, naming the folder and the sweep
    that fills it: "0 records published" would read as success."""
    sweep = f"`hetnoise sweep {study} --profile {profile} --results {results}`"
    if not results.is_dir():
        raise ValueError(f"--results {results}: no such folder; name the folder a sweep wrote into, or run {sweep}")
    if not any((results / study / name).is_dir() for name in (profile, *settings.earlier_names(study, profile))):
        raise ValueError(f"--results {results}: no runs of {study}/{profile} in it (no folder {study}/{profile}); "
                         f"name the folder the sweep wrote into, or run {sweep}")


def cmd_publish(args) -> int:
    grids.check(args.study, args.profile)
    profile = settings.profile_name(args.study, args.profile)
    require_records(Path(args.results), args.study, profile)
    n = records.publish(args.results, args.study, profile)
    print(f"{n} records of {args.study}/{profile} published to {records.published_dir()}")
    return 0


def cmd_mini_coco(args) -> int:
    from hetnoise import coco

    path = coco.build_mini_coco(coco_root=args.coco_root, out_dir=args.out, minitrain_json=args.minitrain_json,
                                fraction=args.fraction, draws=args.draws, seed=args.seed)
    print(coco.describe_build(path))
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hetnoise", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sweep", help="run a study's notebook for every cell of a profile's grid")
    s.add_argument("study", help=f"one of {', '.join(studies.ALL)} or 'all'")
    s.add_argument("--profile", default="smoke", help="a profile of the study, e.g. smoke, paper (default smoke)")
    s.add_argument("--results", default=str(records.results_dir()), help="results folder (default results/)")
    s.add_argument("--p", type=float, nargs="+", help="replace the grid's corruption probabilities")
    s.add_argument("--seeds", type=int, nargs="+", help="replace the grid's seeds")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="set or sweep any notebook parameter")
    s.add_argument("--workers", type=int, help="local workers (default: one per GPU, else 1)")
    s.add_argument("--scheduler", help="address of an existing Dask scheduler to submit to")
    s.add_argument("--retries", type=int, default=1, help="extra attempts for a failing cell (default 1)")
    s.add_argument("--batched", action="store_true",
                   help="train a pack's LeNet-5s at once (stacked) instead of one after another; "
                        "recorded in each record")
    s.add_argument("--pack", type=int, default=1, metavar="K",
                   help="run up to K cells that differ only in their study's packable parameters (such as clean "
                        "class, strategy and seed) in one notebook execution (default 1: one execution per cell)")
    s.add_argument("--dry-run", action="store_true", help="list the cells and which are done")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)
    st = sub.add_parser("status", help="what a results folder holds, per study and profile")
    st.add_argument("results", nargs="?", default=str(records.results_dir()))
    st.set_defaults(func=cmd_status)
    pb = sub.add_parser("publish", help="copy finished records into published/, the report's results")
    pb.add_argument("study")
    pb.add_argument("--profile", required=True)
    pb.add_argument("--results", default=str(records.results_dir()))
    pb.set_defaults(func=cmd_publish)
    v = sub.add_parser("verify", help="re-run records with their parameters and thread count; print what differs")
    v.add_argument("records", nargs="+", metavar="RECORD", help="record files (<results>/<study>/<profile>/<id>.json)")
    v.set_defaults(func=cmd_verify)
    d = sub.add_parser("data", help="build data sets")
    dsub = d.add_subparsers(dest="dataset", required=True)
    mc = dsub.add_parser("mini-coco", help="draw mini MS-COCO from a COCO 2017 folder and cache it at 128×128")
    mc.add_argument("--coco-root", required=True, help="folder with annotations/, train2017/, val2017/")
    mc.add_argument("--out", help="cache folder (default $HETNOISE_DATA/mini-coco, i.e. ~/.cache/hetnoise/mini-coco)")
    mc.add_argument("--minitrain-json", help="an existing COCO minitrain annotation file to take the images from")
    mc.add_argument("--fraction", type=float, default=0.2)
    mc.add_argument("--draws", type=int, default=10)
    mc.add_argument("--seed", type=int, default=0)
    mc.set_defaults(func=cmd_mini_coco)
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"hetnoise: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hetnoise: interrupted; finished cells are kept, run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
