"""From a scenario and the territory's data to what the model needs: the design event
(computed from the gauge or tide series), the forcing, the roughness grid and the screening
pre-pass that bounds every tile's compute domain."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jnft.simulation.design import (
    annual_maxima,
    return_level,
    still_water_level,
    storm_tide,
    synthetic_hydrograph,
)
from jnft.simulation.flood import (
    Forcing,
    Grid,
    channel_slope,
    inflow_cells,
    normal_depth,
    screen_coast,
    screen_river,
    sea_cells,
)
from jnft.simulation.inertial import Hydrograph
from jnft.simulation.scenario import Scenario

HOUR = 3600.0


@dataclass
class Plan:
    scenario: Scenario
    grid: Grid
    z: np.ndarray  # model grid elevation; cells without data are walls
    manning: np.ndarray
    forcing: Forcing
    flooded: np.ndarray  # screening: cells the event can reach
    screening_depth: np.ndarray  # screening: depth by bathtub or HAND (NaN: dry)
    design: dict = field(default_factory=dict)  # the event's figures, for metadata and SQL


def walls(z: np.ndarray) -> np.ndarray:
    """No-data cells raised 100 m above the highest ground: water never enters them."""
    if not np.isnan(z).any():
        return z
    return np.where(np.isnan(z), np.nanmax(z) + 100.0, z)


def plan_scenario(
    scenario: Scenario,
    grid: Grid,
    dem: np.ndarray,
    channel: np.ndarray,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
) -> Plan:
    """`series` maps "gauge" / "tide" to (times, values) of the scenario's stations."""
    z = walls(dem)
    manning = np.where(channel, scenario.manning.channel, scenario.manning.floodplain)
    sea = sea_cells(np.where(np.isnan(dem), 1.0, dem))
    duration = scenario.duration_h * HOUR
    if scenario.river is not None:
        return _river(scenario, grid, z, manning, channel, sea, series, duration)
    coastal = scenario.coastal
    assert coastal is not None  # Scenario._one_event: not a river scenario, so a coastal one
    tide = float(np.quantile(series["tide"][1], coastal.tide_quantile))
    peak = still_water_level(tide, coastal.surge_m, coastal.sea_level_rise_m)
    flooded, depth = screen_coast(z, sea, peak)
    forcing = Forcing((), None, sea, storm_tide(peak, duration))
    design = {
        "tide_m": round(tide, 3),
        "surge_m": coastal.surge_m,
        "sea_level_rise_m": coastal.sea_level_rise_m,
        "peak_level_m": round(peak, 3),
    }
    return Plan(scenario, grid, z, manning, forcing, flooded, depth, design)


def _river(
    scenario: Scenario,
    grid: Grid,
    z: np.ndarray,
    manning: np.ndarray,
    channel: np.ndarray,
    sea: np.ndarray,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    duration: float,
) -> Plan:
    river = scenario.river
    assert river is not None  # plan_scenario calls it for river scenarios
    times, values = series["gauge"]
    maxima = annual_maxima(times, values)["maximum"].to_numpy()
    level = return_level(maxima, river.return_period, law=river.law)
    base = river.base_flow_m3s if river.base_flow_m3s is not None else float(np.median(values))
    hydrograph = synthetic_hydrograph(level.value, base, river.time_to_peak_h * HOUR, duration)
    width_cells = max(round(river.inflow_width_m / grid.resolution), 1)
    inflow = tuple(inflow_cells(z, channel, width_cells))
    sources = np.zeros_like(channel)
    for r, c in inflow:
        sources[r, c] = True
    slope = channel_slope(z, channel, grid.resolution)
    stage = normal_depth(level.value, river.inflow_width_m, slope, scenario.manning.channel)
    flooded, depth = screen_river(z, channel, stage, sources)
    flooded |= sea
    sea_level = None
    design = {
        "return_period": river.return_period,
        "law": river.law,
        "peak_discharge_m3s": round(level.value, 2),
        "peak_interval_m3s": [round(level.low, 2), round(level.high, 2)],
        "confidence": level.confidence,
        "years": level.fit.years,
        "base_flow_m3s": round(base, 3),
        "screening_stage_m": round(stage, 3),
    }
    if river.sea_level is not None and "tide" in series:
        sea_value = float(np.quantile(series["tide"][1], river.sea_level_quantile))
        sea_level = Hydrograph.constant(sea_value)
        design["sea_level_m"] = round(sea_value, 3)
    depth[sea] = np.nan
    forcing = Forcing(inflow, hydrograph, sea, sea_level)
    return Plan(scenario, grid, z, manning, forcing, flooded, depth, design)
