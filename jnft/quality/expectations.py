"""The C9 quality suite, built from a fiche and run with great-expectations on the current rows:
required values present (at the declared completeness), unique feature ids, valid geometries,
values within the declared ranges."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network: nothing may phone home

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig

from jnft.kinds import kind_of
from jnft.quality.fiche import Fiche

# Each ephemeral context announces its temporary docs folder and its data sources at INFO: lines
# per check run that say nothing to a user. (`types.base` sets its own level at import.)
for _name in ("great_expectations", "great_expectations.data_context.types.base"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    unexpected_count: int


def quality_expectations(fiche: Fiche) -> list[gx.expectations.Expectation]:
    """The expectations C9 declares, for a vector layer or a raster index."""
    quality = fiche.criteria.c09_quality
    suite: list[gx.expectations.Expectation] = []
    for column in quality.required_attributes:
        suite.append(
            gx.expectations.ExpectColumnValuesToNotBeNull(
                column=column, mostly=quality.completeness
            )
        )
    suite.append(gx.expectations.ExpectColumnValuesToBeUnique(column="feature_id"))
    suite.append(
        gx.expectations.ExpectColumnValuesToBeInSet(column="geometry_is_valid", value_set=[True])
    )
    for column, (low, high) in (quality.ranges or {}).items():
        # A raster's range applies to its cell values: the index's minimum and maximum
        # (of the first product for a point cloud).
        gridded = kind_of(fiche).gridded
        for target in ["minimum", "maximum"] if gridded else [column]:
            suite.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=target, min_value=low, max_value=high
                )
            )
    return suite


def run_suite(fiche: Fiche, frame: pd.DataFrame) -> list[ExpectationOutcome]:
    """Validate the rows (with a boolean `geometry_is_valid` column) against the suite."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("jnft")
        .add_dataframe_asset(fiche.id)
        .add_batch_definition_whole_dataframe("current")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(
        name=f"{fiche.id}_c09_quality", expectations=quality_expectations(fiche)
    )
    result = batch.validate(context.suites.add(suite))
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        assert config is not None  # a suite's results carry their expectation
        outcomes.append(
            ExpectationOutcome(
                config.type,
                config.kwargs["column"],
                bool(r.success),
                int(r.result.get("unexpected_count") or 0),
            )
        )
    return outcomes
