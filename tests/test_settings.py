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


def test_a_bucket_lakehouse_gets_a_working_copy_never_a_folder_named_s3(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).lakehouse_url is None
    settings = load_settings({"JNFT_LAKEHOUSE": "s3://bucket/twin/"})
    assert settings.lakehouse_url == "s3://bucket/twin"
    assert settings.lakehouse == tmp_path / ".jnft" / "cache" / "bucket" / "twin"
    cache = tmp_path / "elsewhere"
    moved = load_settings(
        {"JNFT_LAKEHOUSE": "s3://bucket/twin", "JNFT_LAKEHOUSE_CACHE": str(cache)}
    )
    assert moved.lakehouse == cache / "bucket" / "twin"
    (tmp_path / "jnft.yaml").write_text("lakehouse: s3://bucket/from-yaml\n")
    assert (
        load_settings({"JNFT_PROJECT_DIR": str(tmp_path)}).lakehouse_url == "s3://bucket/from-yaml"
    )
    assert not (tmp_path / "s3:").exists()


def test_other_urls_are_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="sources: s3://bucket/src: only the lakehouse"):
        load_settings({"JNFT_SOURCES": "s3://bucket/src"})
    with pytest.raises(SettingsError, match="use s3://bucket/prefix"):
        load_settings({"JNFT_LAKEHOUSE": "gs://bucket/twin"})
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "gs:").exists()
