"""The command line refuses a results folder it cannot read instead of reporting "0 records" as success."""
import pytest

from hetnoise import cli


@pytest.fixture
def published(tmp_path, monkeypatch):
    """An empty published folder, so that no test writes into the repository's."""
    folder = tmp_path / "published"
    monkeypatch.setenv("HETNOISE_PUBLISHED", str(folder))
    return folder


def test_status_of_a_missing_folder_fails_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-results"
    assert cli.main(["status", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert str(missing) in err and "no such folder" in err and "hetnoise sweep" in err
    assert "records" not in out


def test_publish_from_a_missing_folder_fails_naming_it(tmp_path, capsys, published):
    missing = tmp_path / "no-such-results"
    assert cli.main(["publish", "mtl", "--profile", "real", "--results", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert str(missing) in err and "no such folder" in err
    assert "hetnoise sweep mtl --profile real" in err
    assert "published to" not in out and not published.exists()


def test_publish_from_a_folder_without_that_study_fails_naming_it(tmp_path, capsys, published):
    (tmp_path / "results" / "mtl" / "smoke").mkdir(parents=True)
    assert cli.main(["publish", "mtl", "--profile", "real", "--results", str(tmp_path / "results")]) == 2
    out, err = capsys.readouterr()
    assert str(tmp_path / "results") in err and "no runs of mtl/real" in err
    assert "published to" not in out and not published.exists()
