import dataclasses
import datetime as dt

import pytest

from jnft.kinds import Observation
from jnft.quality.checks import duration_days, evaluate, is_blocking
from jnft.quality.expectations import ExpectationOutcome
from jnft.quality.fiche import load_fiche
from tests.factories import CONCEPTS_DIR

TODAY = dt.date(2025, 6, 1)
BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")
MNT = load_fiche(CONCEPTS_DIR / "mnt.yaml")
GOOD = Observation(
    rows=10,
    columns=[*BATIMENT.criteria.c01_nature.attributes, "feature_id", "geometry"],
    geometry_types=["MultiPolygon"],
    bbox=(381_000, 6_541_000, 399_000, 6_549_000),
    tiles=["0380_6550", "0390_6550"],
    vintages=["2023-03-15", "2025-03-15"],
    source_files={"a"},
    bronze_files={"a", "b"},
    expectations=[ExpectationOutcome("expect_column_values_to_be_unique", "feature_id", True, 0)],
    gold_geo={"version": "1.1.0", "columns": {"geometry": {"encoding": "WKB"}}},
)


def failing(fiche, obs, today=TODAY):
    return {name for name, outcome in evaluate(fiche, obs, today).items() if not outcome.passed}


def test_a_sound_layer_passes_all_ten():
    outcomes = evaluate(BATIMENT, GOOD, TODAY)
    assert list(outcomes) == [
        f"c{i:02d}_{n}"
        for i, n in enumerate(
            [
                "nature",
                "provenance",
                "frequency",
                "origin",
                "licence",
                "extent",
                "access",
                "precision",
                "quality",
                "standard",
            ],
            start=1,
        )
    ]
    assert all(o.passed for o in outcomes.values())


@pytest.mark.parametrize(
    ("change", "criterion", "words"),
    [
        ({"geometry_types": ["Point"]}, "c01_nature", "geometry types ['Point']"),
        ({"columns": ["feature_id"]}, "c01_nature", "missing from the table"),
        ({"source_files": {"a", "zzz"}}, "c02_provenance", "absent from bronze"),
        ({"vintages": []}, "c03_frequency", "no vintage"),
        ({"bbox": (300_000, 6_541_000, 399_000, 6_549_000)}, "c06_extent", "overflows"),
        (
            {
                "expectations": [
                    ExpectationOutcome("expect_column_values_to_be_unique", "feature_id", False, 2)
                ]
            },
            "c09_quality",
            "expect_column_values_to_be_unique(feature_id): 2 unexpected",
        ),
        ({"gold_geo": {"version": "1.0.0", "columns": {}}}, "c10_standard", "GeoParquet 1.1"),
    ],
)
def test_each_defect_fails_exactly_its_criterion(change, criterion, words):
    obs = dataclasses.replace(GOOD, **change)
    assert failing(BATIMENT, obs) == {criterion}
    assert words in evaluate(BATIMENT, obs, TODAY)[criterion].description


def test_a_missed_edition_fails_and_an_old_one_warns():
    declared = BATIMENT.criteria.c03_frequency.model_copy(
        update={"last_update": dt.date(2025, 9, 15)}
    )
    criteria = BATIMENT.criteria.model_copy(update={"c03_frequency": declared})
    newer = BATIMENT.model_copy(update={"criteria": criteria})
    assert "ingest the new edition" in evaluate(newer, GOOD, TODAY)["c03_frequency"].description
    late = evaluate(BATIMENT, GOOD, dt.date(2026, 6, 1))["c03_frequency"]
    assert late.passed and late.warning


def test_restricted_data_must_not_reach_public_outputs():
    licence = BATIMENT.criteria.c05_licence.model_copy(update={"licence": "restricted"})
    fiche = BATIMENT.model_copy(
        update={"criteria": BATIMENT.criteria.model_copy(update={"c05_licence": licence})}
    )
    assert failing(fiche, GOOD) == {"c05_licence"}
    assert failing(fiche, dataclasses.replace(GOOD, gold_geo=None)) == set()


# A DEM's observation: 5 m tiles over the territory (half a cell beyond it, as IGN's grids).
RASTER = dataclasses.replace(
    GOOD,
    columns=[],
    geometry_types=[],
    resolutions=[5.0],
    gold_geo=None,
    bbox=(379_997.5, 6_540_002.5, 399_997.5, 6_550_002.5),
)


def test_raster_resolution_and_cog_layout_are_checked():
    assert failing(MNT, RASTER) == set()  # half a cell over the territory is within precision
    assert failing(MNT, dataclasses.replace(RASTER, resolutions=[25.0])) == {"c08_precision"}
    assert failing(MNT, dataclasses.replace(RASTER, cog_problems=["t.tif: not tiled"])) == {
        "c10_standard"
    }


def test_blocking_checks_are_those_guarding_calculations():
    commune = load_fiche(CONCEPTS_DIR / "commune.yaml")
    assert [c for c in evaluate(BATIMENT, GOOD, TODAY) if is_blocking(BATIMENT, c)] == [
        "c01_nature",
        "c06_extent",
        "c09_quality",
        "c10_standard",
    ]
    assert not any(is_blocking(commune, c) for c in evaluate(commune, GOOD, TODAY))


@pytest.mark.parametrize(
    ("iso", "days"), [("P1Y", 365.25), ("P3M", 91.32), ("PT12H", 0.5), ("P1W", 7), ("P1DT6H", 1.25)]
)
def test_iso_durations_in_days(iso, days):
    assert duration_days(iso) == pytest.approx(days)


def test_an_empty_tile_passes_only_when_nothing_was_ever_there():
    nothing = Observation(bronze_files={"sha"})
    assert all(o.passed for o in evaluate(BATIMENT, nothing).values())
    emptied = Observation(bronze_files={"sha"}, emptied=True)
    failing = {c for c, o in evaluate(BATIMENT, emptied).items() if not o.passed}
    assert {"c01_nature", "c06_extent", "c09_quality"} <= failing


def test_a_file_rejected_as_not_the_declared_format_fails_c10():
    rejected = {"c10_standard": {"x.gpkg: not a readable GeoPackage": (1, [])}}
    outcome = evaluate(BATIMENT, dataclasses.replace(GOOD, quarantined=rejected))["c10_standard"]
    assert not outcome.passed and "not a readable GeoPackage" in outcome.description


def test_quarantined_rows_are_named_by_a_few_of_their_ids():
    outside = {"c06_extent": {"outside the declared extent (by up to 52 m)": (7, ["B1", "B2"])}}
    outcome = evaluate(BATIMENT, dataclasses.replace(GOOD, quarantined=outside))["c06_extent"]
    assert "7 source rows quarantined: outside the declared extent (by up to 52 m)" in (
        outcome.description
    )
    assert "(e.g. B1, B2, …)" in outcome.description


def test_a_grid_stored_in_another_crs_than_declared_fails_c8_and_c10():
    assert failing(MNT, dataclasses.replace(RASTER, crs=["EPSG:2154"])) == set()
    geocentric = evaluate(MNT, dataclasses.replace(RASTER, crs=["EPSG:4978"]), TODAY)
    assert {c for c, o in geocentric.items() if not o.passed} == {"c08_precision", "c10_standard"}
    assert "stored in ['EPSG:4978'], not the declared EPSG:2154" in (
        geocentric["c10_standard"].description
    )


def test_no_rows_after_a_rejected_file_points_at_the_reason():
    reason = "c10_standard: dem/a.tif: not a readable raster (truncated)"
    obs = Observation(bronze_files={"sha"}, rejected_files=1, rejections=[reason])
    outcomes = evaluate(MNT, obs, TODAY)
    said = f"1 file(s) rejected ({reason})"
    assert outcomes["c01_nature"].description == f"no raster tile: {said}"
    assert outcomes["c06_extent"].description == f"no data: {said}"
    assert outcomes["c09_quality"].description == f"no rows to check: {said}"
    batiment = evaluate(BATIMENT, obs, TODAY)["c01_nature"]
    assert not batiment.passed and batiment.description.endswith(said)
