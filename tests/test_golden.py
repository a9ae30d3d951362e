"""Golden runs: one tiny fixed CPU run per study through its notebook, numbers pinned. Code or text
changes must leave them equal; a change that alters results must bump the study's protocol version
(`version` in the study's module), which gives every run a new id, and pin the new numbers here. A torch
upgrade may move the last digits of these numbers (other kernels): then re-run this test, check that the
differences are in the last digits only, and pin the numbers it prints."""
import json

import pytest

from conftest import papermill
from hetnoise import records, settings, studies

GOLDEN = {
    "multiclass": {
        "params": {"profile": "smoke", "p": 0.6, "clean_class": 3, "strategy": "include", "epochs": 2, "seed": 1},
        "protocol": 2,  # protocol 2 reads the last epoch, which here is also the epoch of lowest validation loss
        "numbers": {"clean_acc": 1.0, "corrupted_acc": 0.2405739072405739,
                    "per_class_acc": [1.0, 0.19444444444444445, 0.0, 1.0, 0.1111111111111111, 0.05405405405405406,
                                      0.75, 0.05555555555555555, 0.0, 0.0],
                    "train_loss": [2.2953336238861084, 2.2356743812561035],
                    "val_loss": [2.2499821186065674, 2.0574724674224854]}},
    "mtl": {
        "params": {"profile": "smoke", "p": 0.5, "epochs": 1},
        "protocol": 2,
        "numbers": {"task1_acc": 0.36666666666666664, "task2_acc": 0.2,
                    "task1_train_loss": [0.5599367022514343], "task1_val_loss": [3.2003517150878906],
                    "task2_train_loss": [1.5612120628356934], "task2_val_loss": [1.86725914478302]}},
    "multilabel": {
        "params": {"profile": "smoke", "p": 0.5, "case": 2, "epochs": 1},
        "protocol": 1,
        "numbers": {"map_clean": 0.8290088605036511, "map_corrupted": 0.3789188059815616,
                    "map_overall": 0.6489728386948153, "exact_match": 0.082,
                    "train_loss": [0.44077199697494507], "val_loss": [0.40409669280052185]},
        "cpu_numbers": {"AMD EPYC": {
            "map_clean": 0.8247319201600188, "map_corrupted": 0.3779413468651237, "map_overall": 0.6460156908420609,
            "exact_match": 0.076, "train_loss": [0.4410293698310852], "val_loss": [0.40382981300354004]}}},
    "regression": {
        "params": {"profile": "smoke", "p": 0.5, "epochs": 2, "seed": 1},
        "protocol": 1,
        "numbers": {"mse_clean": 75.30161852331331, "mse_corrupted": 74.66027449968283,
                    "mse_boundary": 54.386754446406464, "mae_overall": 6.790320809092347,
                    "train_loss": [0.15800893306732178, 0.07240557670593262],
                    "val_loss": [0.03018983267247677, 0.026942409574985504]},
        "cpu_numbers": {"AMD EPYC": {
            "mse_clean": 76.71076500703367, "mse_corrupted": 72.81717233257315, "mse_boundary": 55.868261038703146,
            "mae_overall": 6.800942339308206, "train_loss": [0.1580127477645874, 0.0724102184176445],
            "val_loss": [0.030013803392648697, 0.026836678385734558]}}},
}


def pinned(study: str) -> dict:
    """The numbers pinned for this machine's CPU: convolution kernels differ between CPU families, so a
    study whose numbers differ there has them pinned per CPU model (`cpu_numbers`), else the default."""
    golden = GOLDEN[study]
    return golden.get("cpu_numbers", {}).get(records.device_name(), golden["numbers"])


def numbers(record: dict, names) -> dict:
    """The pinned figures of a record: result fields, and per-epoch curves by name."""
    res, epochs = record["result"], record["result"]["history"]["epochs"]
    return {k: res[k] if k in res else [e[k] for e in epochs] for k in names}


@pytest.mark.slow
@pytest.mark.parametrize("study", sorted(GOLDEN))
def test_golden_run(study, tmp_path):
    golden = GOLDEN[study]
    proc = papermill(f"{study}.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, **golden["params"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,), problems = records.load_records(tmp_path / "results", study)
    assert not problems
    assert record["run_id"] == settings.resolve(study, golden["params"])["run_id"]
    if studies.get(study).version != golden["protocol"]:
        pytest.fail(f"the {study} study's version is {studies.get(study).version} but the golden numbers are of "
                    f"protocol {golden['protocol']}: pin this run's numbers in tests/test_golden.py:\n"
                    f"{json.dumps(numbers(record, pinned(study)))}")
    expected = pinned(study)
    got = numbers(record, expected)
    if any(got[k] != pytest.approx(v, rel=1e-5, abs=1e-7) for k, v in expected.items()):
        pytest.fail(f"{study}: the golden run's results changed while the {study} study's version is still "
                    f"{golden['protocol']}. If the change is meant to alter results, bump the protocol version and "
                    f"pin the new numbers; if not, the change has a bug (on a CPU model not pinned yet, pin its "
                    f"numbers under "
                    f"cpu_numbers[{records.device_name()!r}]).\nexpected {expected}\ngot      {got}")
