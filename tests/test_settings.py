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
