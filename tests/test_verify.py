"""Re-running records: what is compared and how differences are named."""
import json

import pytest

from hetnoise import cli, verify


def record(protocol=2, **result):
    epochs = [{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9, "seconds": 3.0, "test_acc": 0.5}]
    return {"protocol": protocol, "result": {"clean_acc": 0.9, "per_class_acc": [0.9, None], "wall_time_s": 5.0,
                                             "history": {"epochs": epochs, "seconds": 3.0}, **result}}


def test_same_protocol_compares_every_field_but_the_execution():
    old, new = record(), record(wall_time_s=99.0, device="cuda")
    new["result"]["history"]["epochs"][0]["seconds"] = 7.0
    assert verify.compare(old, new) == ("every result field", [])
    new["result"]["per_class_acc"] = [0.9, 0.5]
    new["result"]["clean_acc"] = 0.8
    compared, found = verify.compare(old, new)
    assert found == ["result.clean_acc: 0.9 → 0.8", "result.per_class_acc[1]: None → 0.5"]


def test_numbers_compare_as_records_keep_them():
    """A record written with more digits than records keep compares equal to its re-run; a change in the
    seventh digit is a difference."""
    old, new = record(clean_acc=2 / 3), record(clean_acc=0.6666667)
    assert verify.compare(old, new) == ("every result field", [])
    new["result"]["clean_acc"] = 0.6666668
    assert verify.compare(old, new)[1] == ["result.clean_acc: 0.6666667 → 0.6666668"]


def test_an_earlier_protocol_compares_the_training_curves_only():
    old, new = record(protocol=1), record(clean_acc=0.1)
    new["result"]["history"]["epochs"][0]["test_acc"] = 0.7
    compared, found = verify.compare(old, new)
    assert compared.startswith("training curves only (recorded under protocol 1") and found == []
    new["result"]["history"]["epochs"][0]["val_loss"] = 0.8
    assert verify.compare(old, new)[1] == ["history.epochs[0].val_loss: 0.9 → 0.8"]
    new["result"]["history"]["epochs"][0]["train_acc"] = 0.4  # a curve the earlier protocol did not record
    assert verify.compare(old, new)[1] == ["history.epochs[0].val_loss: 0.9 → 0.8"]


def test_differences_name_missing_keys_lengths_and_treat_nan_as_none():
    assert verify.differences({"a": 1}, {"b": 1}) == ["result.a: only in the old record",
                                                      "result.b: only in the new record"]
    assert verify.differences([1, 2], [1]) == ["result: 2 items, now 1"]
    assert verify.differences(float("nan"), None) == []


def test_cli_names_a_missing_record(tmp_path, capsys):
    assert cli.main(["verify", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_outcome_text_says_what_was_compared():
    assert verify.Outcome("r.json", "every result field").text() == "r.json: every result field: no difference"
    text = verify.Outcome("r.json", "every result field", ["result.x: 1 → 2"]).text()
    assert "1 differences" in text and "result.x: 1 → 2" in text
    json.dumps(verify.CURVES)
    with pytest.raises(ValueError):
        verify.main([str("/nonexistent/record.json")])
