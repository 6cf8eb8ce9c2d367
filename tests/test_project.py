import pytest

from jnft.project import ProjectError, doctor, init_project
from jnft.settings import load_settings
from tests.factories import CONCEPTS_DIR, SQL_DIR


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
    assert "tiles     ✗ " + str(project / "sources" / "territory.yaml") + ": tiles: tile" in text
    assert "quote tile names in YAML" in text
    assert "✗ terrain: no concept fills it (required)" in text
    assert "· buildings: none — maps only, no exposure" in text
    assert "✗ gauge series: hydro S Q — no concept 'hydro'" in text


def test_status_lists_rows_quarantine_and_failing_checks(small_sources, tmp_path):
    from jnft.assets.database import view_substitutions
    from jnft.lakehouse.database import build_database, render_sql
    from jnft.project import status
    from tests.fixtures.broken_layers import write_broken
    from tests.quality.test_broken_layers import BATIMENT
    from tests.quality.test_observe import lake

    project = tmp_path / "p"
    init_project(project)
    (project / "concepts" / "batiment.yaml").write_text(
        (CONCEPTS_DIR / "batiment.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    store = lake(
        write_broken(small_sources, "outside_extent", tmp_path / "src"), tmp_path, BATIMENT
    )
    scripts = render_sql(SQL_DIR, view_substitutions(store, [BATIMENT]), {"root": str(store.root)})
    build_database(store.duckdb_path, scripts)
    lines = status(
        load_settings({"JNFT_PROJECT_DIR": str(project), "JNFT_LAKEHOUSE": str(store.root)})
    )
    assert lines[0].startswith("batiment: ") and "checks 9/10" in lines[0]
    assert any(line.startswith("  ✗ c06_extent: 3 source rows quarantined") for line in lines)
    assert any(
        line.startswith("  quarantine: 3 row(s): outside the declared extent") for line in lines
    )
