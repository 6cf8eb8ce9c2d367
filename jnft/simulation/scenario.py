"""Flood scenarios (`scenarios/<id>.yaml`): what event, on which grid, with which roughness.

A river scenario takes its design discharge as declared (`peak_discharge_m3s`, from a PPRI or
a study) or from a gauge series (annual maxima, GEV or Gumbel; or peaks over a threshold, GPD
or exponential, as the series' fiche samples it; a return period) and turns it
into a hydrograph entering where the main watercourse crosses the territory's edge (or at
declared coordinates); downstream, the sea at a declared level or a tide gauge's normal high
water. A coastal scenario raises the sea — a declared still-water level, or a tide gauge's —
by surge and sea-level rise along a storm tide.
"""

from __future__ import annotations

import csv
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
    # The event: a declared peak, a declared hydrograph ([hours, m³/s] pairs, or a CSV file
    # `time_h,discharge_m3s` beside the scenario), or the return level of a gauge's annual
    # maxima.
    peak_discharge_m3s: float | None = Field(default=None, gt=0)
    hydrograph: tuple[tuple[float, float], ...] | None = None
    gauge: Gauge | None = None
    return_period: float | None = Field(default=None, gt=1)
    # Default: gev for annual maxima (of a continuous series or a record of maxima), gpd for
    # peaks over a threshold (gumbel and exponential: their shape-0 cases).
    law: Literal["gev", "gumbel", "gpd", "exponential"] | None = None
    # Default: the series' median, or 5 % of a declared peak.
    base_flow_m3s: float | None = Field(default=None, ge=0)
    time_to_peak_h: float = Field(default=4.0, gt=0)
    inflow_width_m: float = Field(default=50.0, gt=0)
    # (x, y) in the territory's CRS; default: where the main watercourse enters the grid.
    inflow_at: tuple[float, float] | None = None
    # Downstream: the sea at a declared level (m NGF) or the tide gauge's normal high water.
    sea_level_m: float | None = None
    sea_level: Gauge | None = None
    sea_level_quantile: float = Field(default=0.9, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_peak(self) -> River:
        events = [self.peak_discharge_m3s, self.hydrograph, self.gauge]
        if sum(e is not None for e in events) != 1:
            raise ValueError(
                "declare the peak once: `peak_discharge_m3s: <m³/s>` (from a PPRI, the Banque "
                "Hydro, a study), `hydrograph: [[hours, m³/s], …]` (or a CSV file), or "
                "`gauge: {concept, station, variable}` with `return_period`"
            )
        if self.hydrograph is not None:
            times = [t for t, _ in self.hydrograph]
            if len(times) < 2 or times != sorted(set(times)) or times[0] != 0:
                raise ValueError("hydrograph: at least two rows, hours from 0, increasing")
            if min(q for _, q in self.hydrograph) < 0:
                raise ValueError("hydrograph: discharges are m³/s, not negative")
        if (self.gauge is None) != (self.return_period is None):
            raise ValueError("`gauge` and `return_period` go together")
        if self.sea_level is not None and self.sea_level_m is not None:
            raise ValueError("declare the sea downstream once: `sea_level_m` or `sea_level`")
        return self


class Coastal(_Strict):
    # The still-water level before surge and rise: declared (m NGF-IGN69), or a tide gauge's
    # `tide_quantile` of its observed levels.
    still_water_level_m: float | None = None
    tide_gauge: Gauge | None = None
    tide_quantile: float = Field(default=0.99, gt=0, lt=1)
    surge_m: float = Field(default=0.0, ge=0)
    sea_level_rise_m: float = Field(default=0.0, ge=0)
    # Sides of the grid open to the sea, for a terrain that holds no sea (no cell below 0 m nor
    # without data on its edge); default: found from the terrain.
    sea_edges: tuple[Literal["north", "south", "east", "west"], ...] = ()

    @model_validator(mode="after")
    def _one_level(self) -> Coastal:
        if (self.still_water_level_m is None) == (self.tide_gauge is None):
            raise ValueError(
                "declare the sea: `still_water_level_m: <m NGF>` or "
                "`tide_gauge: {concept, station, variable}`"
            )
        return self


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
    # Without a watercourse layer, cells draining at least this area are the network.
    network_threshold_km2: float = Field(default=1.0, gt=0)

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
            series = {"tide": self.coastal.tide_gauge}
        else:
            series = {"gauge": self.river.gauge, "tide": self.river.sea_level}
        return {name: gauge for name, gauge in series.items() if gauge is not None}

    def series(self) -> dict[str, tuple[str, str, str]]:
        """The gauges as (concept, station, variable), for the lakehouse's readers."""
        return {n: (g.concept, g.station, g.variable) for n, g in self.gauges().items()}


def _hydrograph_file(path: Path, name: str) -> list[list[float]]:
    """A hydrograph CSV beside the scenario: `time_h,discharge_m3s` rows."""
    file = path.parent / name
    try:
        with file.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [[float(r["time_h"]), float(r["discharge_m3s"])] for r in rows]
    except FileNotFoundError:
        raise ScenarioError(f"{path}: river.hydrograph: no file {file}") from None
    except (KeyError, ValueError) as error:
        raise ScenarioError(
            f"{file}: a hydrograph is `time_h,discharge_m3s` rows of numbers ({error})"
        ) from error


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from error
    river = data.get("river") if isinstance(data, dict) else None
    if isinstance(river, dict) and isinstance(river.get("hydrograph"), str):
        river["hydrograph"] = _hydrograph_file(Path(path), river["hydrograph"])
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
