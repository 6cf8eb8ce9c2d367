"""Flood scenarios (`scenarios/<id>.yaml`): what event, on which grid, with which roughness.

A river scenario takes its design discharge from a gauge series (annual maxima, GEV or
Gumbel, a return period) and turns it into a hydrograph entering where the main watercourse
crosses the territory's edge, the sea held at a normal high tide downstream. A coastal
scenario raises the sea to tide + surge + sea-level rise along a storm tide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ScenarioError(ValueError):
    """A scenario file that cannot be used, naming the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Gauge(_Strict):
    """A series in the lakehouse: concept, station, variable."""

    concept: str
    station: str
    variable: str


class River(_Strict):
    gauge: Gauge
    return_period: float = Field(gt=1)
    law: Literal["gev", "gumbel"] = "gev"
    base_flow_m3s: float | None = Field(default=None, ge=0)  # default: the series' median
    time_to_peak_h: float = Field(default=4.0, gt=0)
    inflow_width_m: float = Field(default=50.0, gt=0)
    sea_level: Gauge | None = None  # downstream: the tide gauge's normal high water
    sea_level_quantile: float = Field(default=0.9, gt=0, lt=1)


class Coastal(_Strict):
    tide_gauge: Gauge
    surge_m: float = Field(ge=0)
    sea_level_rise_m: float = Field(default=0.0, ge=0)
    tide_quantile: float = Field(default=0.99, gt=0, lt=1)  # of the observed levels


class Manning(_Strict):
    floodplain: float = Field(default=0.06, gt=0)
    channel: float = Field(default=0.035, gt=0)  # cells on a watercourse


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    kind: Literal["river", "coastal"]
    river: River | None = None
    coastal: Coastal | None = None
    duration_h: float = Field(gt=0)
    resolution_m: float = Field(default=25.0, gt=0)  # model grid (the DEM is averaged to it)
    manning: Manning = Manning()
    margin_m: float = Field(default=500.0, ge=0)  # around the screened flood, for the domain

    @model_validator(mode="after")
    def _one_event(self) -> Scenario:
        if (self.kind == "river") != (self.river is not None) or (self.kind == "coastal") != (
            self.coastal is not None
        ):
            raise ValueError(f"a {self.kind} scenario declares `{self.kind}` (and only it)")
        return self

    def gauges(self) -> dict[str, Gauge]:
        """The series the event is computed from: "gauge" (discharges), "tide" (sea levels)."""
        if self.river is None:
            assert self.coastal is not None  # _one_event: a scenario declares one event
            return {"tide": self.coastal.tide_gauge}
        sea = {"tide": self.river.sea_level} if self.river.sea_level is not None else {}
        return {"gauge": self.river.gauge, **sea}


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from error
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in error.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from error
    if scenario.id != Path(path).stem:
        raise ScenarioError(f"{path}: id {scenario.id!r} must match the file name")
    return scenario


def load_scenarios(folder: Path) -> list[Scenario]:
    return [load_scenario(p) for p in sorted(Path(folder).glob("*.yaml"))]
