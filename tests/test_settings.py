from pathlib import Path

import pytest

from jnft.settings import SettingsError, load_settings


def test_defaults_are_the_checkout_and_the_working_directory():
    settings = load_settings({})
    assert (settings.concepts / "batiment.yaml").exists()
    assert settings.lakehouse == Path(".jnft/lakehouse").resolve()


def test_the_project_file_then_the_environment(tmp_path):
    (tmp_path / "jnft.yaml").write_text("lakehouse: data/lake\nsources: deliveries\n")
    settings = load_settings({"JNFT_PROJECT_DIR": str(tmp_path), "JNFT_SOURCES": "/srv/in"})
    assert settings.lakehouse == tmp_path / "data" / "lake"  # relative to the project
    assert settings.sources == Path("/srv/in")  # the environment wins
    assert settings.scenarios == tmp_path / "scenarios"


def test_an_unknown_key_names_the_file_and_the_known_ones(tmp_path):
    (tmp_path / "jnft.yaml").write_text("lakehose: x\n")
    with pytest.raises(SettingsError, match=r"jnft\.yaml: unknown keys \['lakehose'\]"):
        load_settings({"JNFT_PROJECT_DIR": str(tmp_path)})


def test_the_project_is_found_from_the_working_directory_up(tmp_path, monkeypatch):
    (tmp_path / "jnft.yaml").write_text("sample: false\n")
    (tmp_path / "concepts").mkdir()
    monkeypatch.chdir(tmp_path / "concepts")
    settings = load_settings({})
    assert settings.project == tmp_path and not settings.sample
    assert settings.lakehouse == Path(".jnft/lakehouse").resolve()  # not in jnft.yaml
    assert settings.sql_folders[-1] == tmp_path / "sql"  # the project's SQL comes last


def test_a_value_that_is_no_path_names_its_key(tmp_path):
    (tmp_path / "jnft.yaml").write_text("lakehouse: 12\nsample: yes please\n")
    with pytest.raises(SettingsError, match="sample: true or false"):
        load_settings({"JNFT_PROJECT_DIR": str(tmp_path)})
    (tmp_path / "jnft.yaml").write_text("lakehouse: 12\n")
    with pytest.raises(SettingsError, match="lakehouse: a path"):
        load_settings({"JNFT_PROJECT_DIR": str(tmp_path)})


def test_an_object_storage_url_is_refused_not_made_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="lakehouse: s3://bucket/twin: object storage URLs"):
        load_settings({"JNFT_LAKEHOUSE": "s3://bucket/twin"})
    assert not (tmp_path / "s3:").exists()
