import logging

import pandas as pd

from jnft.quality.expectations import quality_expectations, run_suite
from jnft.quality.fiche import load_fiche
from tests.factories import CONCEPTS_DIR

BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")


def test_the_suite_follows_the_fiche():
    kinds = sorted((type(e).__name__, e.column) for e in quality_expectations(BATIMENT))
    assert ("ExpectColumnValuesToBeUnique", "feature_id") in kinds
    assert ("ExpectColumnValuesToBeBetween", "hauteur") in kinds
    assert ("ExpectColumnValuesToNotBeNull", "cleabs") in kinds


def test_completeness_is_the_share_of_values_required():
    rows = 40
    frame = pd.DataFrame(
        {
            "feature_id": [f"B{i}" for i in range(rows)],
            "cleabs": [f"B{i}" for i in range(rows)],
            "usage_1": ["Résidentiel"] * rows,
            "hauteur": [None] + [5.0] * (rows - 1),  # 97.5 % present: above the declared 95 %
            "nombre_de_logements": [1] * rows,
            "nombre_d_etages": [1] * rows,
            "geometry_is_valid": [True] * rows,
        }
    )
    assert all(o.success for o in run_suite(BATIMENT, frame))
    frame.loc[:4, "hauteur"] = None  # 87.5 %
    failed = [o for o in run_suite(BATIMENT, frame) if not o.success]
    assert [(o.column, o.unexpected_count) for o in failed] == [("hauteur", 5)]


def test_the_suite_runs_without_log_noise(caplog):
    frame = pd.DataFrame({"feature_id": ["a"], "geometry_is_valid": [True]})
    with caplog.at_level(logging.INFO):
        run_suite(BATIMENT, frame)
    assert not [r for r in caplog.records if r.name.startswith("great_expectations")]
