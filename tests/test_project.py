import pytest

from jnft.project import ProjectError, doctor, init_project
from jnft.settings import load_settings


def test_a_new_project_holds_its_folders_and_paths(tmp_path):
    made = init_project(tmp_path / "p")
    assert made == ["concepts/", "scenarios/", "sql/", "workspace.yaml", "jnft.yaml"]
    settings = load_settings({"JNFT_PROJECT_DIR": str(tmp_path / "p")})
    assert settings.lakehouse == tmp_path / "p" / "lakehouse" and not settings.sample
    with pytest.raises(ProjectError, match="already a project"):
        init_project(tmp_path / "p")


def test_the_sample_project_copies_the_fiches_and_scenarios(tmp_path):
    init_project(tmp_path / "s", sample=True)
    settings = load_settings({"JNFT_PROJECT_DIR": str(tmp_path / "s")})
    assert settings.sample and (settings.concepts / "batiment.yaml").exists()
    assert (settings.scenarios / "crue_q100.yaml").exists()


def test_doctor_names_what_is_missing(tmp_path):
    init_project(tmp_path / "p")
    project = tmp_path / "p"
    (project / "scenarios" / "crue.yaml").write_text(
        "id: crue\ntitle: t\ndescription: d\nkind: river\n"
        "river: {gauge: {concept: hydro, station: S, variable: Q}, return_period: 100}\n"
        "duration_h: 6\n"
    )
    (project / "sources").mkdir()
    (project / "sources" / "territory.yaml").write_text(
        "tiles: [0460_6740]\n"
    )  # YAML: an octal integer
    lines = doctor(load_settings({"JNFT_PROJECT_DIR": str(project)}))
    text = "\n".join(lines)
    assert "tiles     ✗" in text and "quote tile names in YAML" in text
    assert "✗ terrain: no concept fills it (required)" in text
    assert "· buildings: none — maps only, no exposure" in text
    assert "✗ gauge series: hydro S Q — no concept 'hydro'" in text
