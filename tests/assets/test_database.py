from jnft.assets.database import view_substitutions
from jnft.lakehouse.database import build_database, connect, render_sql
from jnft.quality.fiche import load_fiche
from tests.factories import CONCEPTS_DIR, SQL_DIR
from tests.quality.test_observe import lake

BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")


def restricted(fiche):
    access = fiche.criteria.c07_access.model_copy(update={"modality": "restricted"})
    return fiche.model_copy(
        update={"criteria": fiche.criteria.model_copy(update={"c07_access": access})}
    )


def test_only_public_concepts_reach_the_open_data_schema(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    for fiche, expected in (
        (BATIMENT, ["batiment", "batiment_history"]),
        (restricted(BATIMENT), []),
    ):
        scripts = render_sql(SQL_DIR, view_substitutions(store, [fiche]), {"root": "x"})
        path = build_database(store.duckdb_path, scripts)
        with connect(path) as con:
            views = [
                v
                for (v,) in con.execute(
                    "SELECT view_name FROM duckdb_views() WHERE schema_name = 'open_data' "
                    "ORDER BY 1"
                ).fetchall()
            ]
            assert con.sql("SELECT count(*) FROM main.batiment").fetchone()[0] > 0
        assert views == expected
