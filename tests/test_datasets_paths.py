"""Where the sample data is found, and the error when it is not."""

from __future__ import annotations

import pytest

from workbench.datasets import _paths
from workbench.datasets.wards import load_wards


def test_default_is_shared_data_beside_the_repository(monkeypatch):
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    root = _paths.sample_data_dir()
    assert root == _paths.default_sample_data_dir().resolve()
    assert (root / "sapporo" / "wards").is_dir()


def test_environment_variable_selects_another_folder(monkeypatch, tmp_path):
    (tmp_path / "sapporo").mkdir()
    monkeypatch.setenv(_paths.ENV_VAR, str(tmp_path))
    assert _paths.sample_data_dir() == tmp_path.resolve()


def test_missing_folder_error_names_the_variable_and_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv(_paths.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as err:
        load_wards()
    message = str(err.value)
    assert "WORKBENCH_SAMPLE_DATA" in message and "nowhere" in message


def test_incomplete_folder_names_the_missing_file(tmp_path):
    (tmp_path / "sapporo").mkdir()
    with pytest.raises(FileNotFoundError, match="sapporo_wards_dissolved"):
        load_wards(sample_data=tmp_path)
