"""Re-running records: each record's notebook executed again with the record's parameters and thread count,
and every figure of the new record set against the old one. On a CPU at the same thread count the numbers
of a run are bit-identical; a difference names the field, the old and the new value.

A record of an earlier protocol version than the study's current one cannot be reproduced in its headline
fields (their meaning changed); its per-epoch training and validation curves, which no protocol change
touched, are compared instead, and the report says so.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hetnoise import grids, records, studies

CURVES = ("train_loss", "val_loss", "train_acc", "val_acc")  # per-epoch figures every protocol records alike


@dataclass
class Outcome:
    """One record re-run: where it lies, whether all was compared, what differs."""
    path: str
    compared: str
    differences: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.path}: {self.compared}: "
        return head + ("no difference" if not self.differences else
                       f"{len(self.differences)} differences\n" + "\n".join(f"  {d}" for d in self.differences))


def differences(old, new, where: str = "result") -> list[str]:
    """Every leaf where two JSON values differ (numbers compared exactly, NaN equal to NaN or None)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) | set(new))
                for d in (differences(old.get(key), new.get(key), f"{where}.{key}") if key in old and key in new
                          else [f"{where}.{key}: only in the {'old' if key in old else 'new'} record"])]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items, now {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{where}[{i}]")]
    if _missing(old) and _missing(new):
        return []
    return [] if old == new else [f"{where}: {old!r} → {new!r}"]


def _missing(value) -> bool:
    return value is None or isinstance(value, float) and math.isnan(value)


# Result fields that describe the execution, not what it computed.
EXECUTION = ("wall_time_s", "device", "data_source", "pack_size", "pack_index", "batched")


def compare(old: dict, new: dict) -> tuple[str, list[str]]:
    """What was compared and the differences: the whole result (less the execution's facts and the time
    per epoch) when both records share a protocol, else the per-epoch training curves; numbers as records
    keep them (`records.rounded`), so a record written with more digits compares equal to its re-run."""
    old, new = ({**r, "result": records.rounded(r["result"])} for r in (old, new))
    if old["protocol"] == new["protocol"]:
        keep = {k: v for k, v in old["result"].items() if k not in EXECUTION}
        made = {k: v for k, v in new["result"].items() if k not in EXECUTION}
        for result in (keep, made):
            if "history" in result:
                result["history"] = {**result["history"], "seconds": None,
                                     "epochs": [{k: v for k, v in e.items() if k != "seconds"}
                                                for e in result["history"]["epochs"]]}
        return "every result field", differences(keep, made)
    kept = {k for e in old["result"]["history"]["epochs"] for k in CURVES if k in e}  # what that protocol recorded
    curves, again = ([{k: e[k] for k in CURVES if k in kept and k in e} for e in r["result"]["history"]["epochs"]]
                     for r in (old, new))
    return (f"training curves only (recorded under protocol {old['protocol']}, re-run under "
            f"{new['protocol']})", differences(curves, again, "history.epochs"))


def rerun(record: dict, work: Path) -> dict:
    """The record's notebook executed again in `work` with the record's parameters and thread count."""
    import papermill

    threads = str(record["provenance"].get("torch_threads") or 1)
    saved = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
    params = {k: v for k, v in record["params"].items()}
    extra = {"save_checkpoints": False} if "save_checkpoints" in studies.get(record["study"]).params else {}
    try:
        papermill.execute_notebook(str(grids.notebook(record["study"])), str(work / "executed.ipynb"),
                                   parameters={**params, **extra, "results_dir": str(work), "run_id": ""},
                                   kernel_name="python3", cwd=str(work), progress_bar=False, log_output=False)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    made, problems = records.load_records(work, record["study"], record["profile"])
    if problems or len(made) != 1:
        raise ValueError(f"re-running {record['run_id']} wrote {len(made)} records ({'; '.join(problems)})")
    return made[0]


def verify(path: str | os.PathLike) -> Outcome:
    """Re-run one record file and compare."""
    record = records.read_record(Path(path))
    with tempfile.TemporaryDirectory(prefix="hetnoise-verify-") as work:
        again = rerun(record, Path(work))
    compared, found = compare(record, again)
    return Outcome(str(path), compared, found)


def main(paths: list[str], log=print) -> int:
    """Verify each record; exit status 1 when any differs."""
    outcomes = [verify(p) for p in paths]
    for outcome in outcomes:
        log(outcome.text())
    log(json.dumps({"records": len(outcomes), "differing": sum(bool(o.differences) for o in outcomes)}))
    return 1 if any(o.differences for o in outcomes) else 0
