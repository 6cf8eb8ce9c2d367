"""From a scenario and the territory's data to what the model needs: the design event
(declared, or computed from the gauge or tide series), where the water enters and where the
sea is, the forcing, the roughness grid and the screening pre-pass that bounds every tile's
compute domain."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jnft.simulation.design import (
    GaugeSeries,
    analyse,
    return_levels,
    still_water_level,
    storm_tide,
    synthetic_hydrograph,
)
from jnft.simulation.flood import (
    Forcing,
    Grid,
    channel_slope,
    edge_cells,
    inflow_cells,
    normal_depth,
    point_cells,
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
    head: tuple[int, int] | None = None,
) -> Plan:
    """`series` maps "gauge" / "tide" to (times, values) of the scenario's stations; `head`
    is where a derived network's main stream starts (its inflow when none crosses the edge)."""
    manning = np.where(channel, scenario.manning.channel, scenario.manning.floodplain)
    sea, sea_found = find_sea(scenario, dem)
    z = walls(dem)
    if (sea & np.isnan(dem)).any():
        # The sea's cells without data get a bed 1 m below the lowest ground and the datum.
        z = np.where(sea & np.isnan(dem), min(float(np.nanmin(dem)), 0.0) - 1.0, z)
    duration = scenario.duration_h * HOUR
    if scenario.river is not None:
        plan = _river(scenario, grid, z, manning, channel, sea, series, duration, head)
    else:
        plan = _coast(scenario, grid, z, manning, sea, series, duration)
    if sea.any():
        plan.design["sea"] = sea_found
    return plan


def find_sea(scenario: Scenario, dem: np.ndarray) -> tuple[np.ndarray, str]:
    """(sea cells, how they were found): the declared sides, else the cells below 0 m
    connected to the edge, else — for a coast whose terrain holds no sea surface — the cells
    without data connected to the edge."""
    coastal = scenario.coastal
    if coastal is not None and coastal.sea_edges:
        sides = ", ".join(coastal.sea_edges)
        return edge_cells(dem.shape, coastal.sea_edges), f"declared sides of the grid: {sides}"
    sea = sea_cells(dem)
    if sea.any() or coastal is None:
        return sea, "cells below 0 m connected to the grid's edge"
    sea = sea_cells(dem, nodata=True)
    if not sea.any():
        raise ValueError(
            f"scenario {scenario.id}: no sea on the terrain (no cell below 0 m nor without data "
            "on the grid's edge): declare `coastal.sea_edges`, e.g. [west]"
        )
    return sea, "cells without data or below 0 m connected to the grid's edge"


def _coast(
    scenario: Scenario,
    grid: Grid,
    z: np.ndarray,
    manning: np.ndarray,
    sea: np.ndarray,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    duration: float,
) -> Plan:
    peak, design = design_level(scenario, series)
    flooded, depth = screen_coast(z, sea, peak)
    depth[sea] = np.nan  # the sea itself is no flood
    forcing = Forcing((), None, sea, storm_tide(peak, duration))
    return Plan(scenario, grid, z, manning, forcing, flooded, depth, design)


def design_level(
    scenario: Scenario, series: dict[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[float, dict]:
    """(peak sea level, figures) of a coastal scenario: the still-water level — declared, or
    the tide gauge's quantile — raised by surge and sea-level rise."""
    coastal = scenario.coastal
    assert coastal is not None  # Scenario._one_event: not a river scenario, so a coastal one
    if coastal.still_water_level_m is not None:
        tide, tide_from = coastal.still_water_level_m, "declared still_water_level_m"
    else:
        tide = float(np.quantile(series["tide"][1], coastal.tide_quantile))
        tide_from = f"tide gauge, quantile {coastal.tide_quantile} of the observed levels"
    peak = still_water_level(tide, coastal.surge_m, coastal.sea_level_rise_m)
    return peak, {
        "tide_m": round(tide, 3),
        "tide_from": tide_from,
        "surge_m": coastal.surge_m,
        "sea_level_rise_m": coastal.sea_level_rise_m,
        "peak_level_m": round(peak, 3),
    }


def design_event(scenario: Scenario, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """The figures of a scenario's design event, as `jnft design` prints them."""
    if scenario.river is not None:
        return design_discharge(scenario, series, scenario.duration_h * HOUR)[2]
    return design_level(scenario, series)[1]


def design_discharge(
    scenario: Scenario, series: dict[str, tuple[np.ndarray, np.ndarray]], duration: float
) -> tuple[Hydrograph, float, dict]:
    """(inflow hydrograph, peak, figures) of a river scenario: a declared hydrograph, a
    declared peak, or the gauge's return level with its interval — from its annual maxima, or
    its peaks over a threshold, as the series was sampled — the last two shaped into a
    synthetic hydrograph."""
    river = scenario.river
    assert river is not None  # a river scenario's event
    if river.hydrograph is not None:
        hours, discharges = zip(*river.hydrograph, strict=True)
        peak = max(discharges)
        figures = {"peak_from": "declared hydrograph", "peak_discharge_m3s": peak}
        return Hydrograph(tuple(t * HOUR for t in hours), tuple(discharges)), peak, figures
    if river.peak_discharge_m3s is not None:
        peak = river.peak_discharge_m3s
        base = river.base_flow_m3s if river.base_flow_m3s is not None else 0.05 * peak
        figures = {"peak_from": "declared", "peak_discharge_m3s": peak}
    else:
        assert river.return_period is not None  # River._one_peak: a gauge has its period
        gauge = _gauge(series["gauge"])
        analysis = analyse(gauge, river.law)
        (level,) = return_levels(analysis.fit, [river.return_period])
        peak = level.value
        if river.base_flow_m3s is not None:
            base = river.base_flow_m3s
        elif gauge.sampling.kind == "continuous":
            base = float(np.median(gauge[1]))
        else:  # a record of maxima or peaks says nothing of the usual flow
            base = 0.05 * peak
        figures = {
            "peak_from": f"gauge series ({gauge.sampling.kind})",
            "return_period": river.return_period,
            "law": analysis.fit.law,
            "parameters": analysis.fit.named_parameters(),
            "peak_discharge_m3s": round(level.value, 2),
            "peak_interval_m3s": [round(level.low, 2), round(level.high, 2)],
            "confidence": level.confidence,
            "years": round(analysis.fit.years, 2),
            "years_span": [analysis.first_year, analysis.last_year],
            "events": analysis.fit.events,
        }
    figures["base_flow_m3s"] = round(base, 3)
    hydrograph = synthetic_hydrograph(peak, base, river.time_to_peak_h * HOUR, duration)
    return hydrograph, peak, figures


def _gauge(pair: tuple[np.ndarray, np.ndarray]) -> GaugeSeries:
    """The series with its sampling; a bare (times, values) pair is a continuous series."""
    return pair if isinstance(pair, GaugeSeries) else GaugeSeries(*pair)


def _inflow(
    scenario: Scenario, grid: Grid, z: np.ndarray, channel: np.ndarray, head: tuple | None
) -> tuple[list[tuple[int, int]], str]:
    """(inflow cells, where they are): at the declared point, where the watercourse layer's
    main watercourse crosses the grid's edge, else at the head of the derived main stream
    (`head`: a derived network only leaves the grid, nothing enters it)."""
    river = scenario.river
    assert river is not None  # a river scenario's event
    width_cells = max(round(river.inflow_width_m / grid.resolution), 1)
    if river.inflow_at is not None:
        return point_cells(grid, *river.inflow_at, width_cells), "declared inflow_at"
    if head is None:
        try:
            return inflow_cells(z, channel, width_cells), "where the watercourse enters the grid"
        except ValueError:
            raise ValueError(
                f"scenario {scenario.id}: no watercourse crosses the grid's edge; declare "
                "`river.inflow_at: [x, y]` (Lambert-93) where the river enters"
            ) from None
    r, c = head
    x, y = grid.x0 + (c + 0.5) * grid.resolution, grid.y1 - (r + 0.5) * grid.resolution
    return point_cells(grid, x, y, width_cells), f"head of the derived main stream ({x}, {y})"


def _river(
    scenario: Scenario,
    grid: Grid,
    z: np.ndarray,
    manning: np.ndarray,
    channel: np.ndarray,
    sea: np.ndarray,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    duration: float,
    head: tuple[int, int] | None,
) -> Plan:
    river = scenario.river
    assert river is not None  # plan_scenario calls it for river scenarios
    hydrograph, peak, design = design_discharge(scenario, series, duration)
    inflow, entering = _inflow(scenario, grid, z, channel, head)
    sources = np.zeros_like(channel)
    for r, c in inflow:
        sources[r, c] = True
    slope = channel_slope(z, channel, grid.resolution)
    stage = normal_depth(peak, river.inflow_width_m, slope, scenario.manning.channel)
    flooded, depth = screen_river(z, channel | sources, stage, sources)
    flooded |= sea
    design |= {
        "inflow": entering,
        "screening_stage_m": round(stage, 3),
    }
    sea_level = None
    if river.sea_level_m is not None:
        sea_level = Hydrograph.constant(river.sea_level_m)
        design["sea_level_m"] = river.sea_level_m
    elif river.sea_level is not None and "tide" in series:
        sea_value = float(np.quantile(series["tide"][1], river.sea_level_quantile))
        sea_level = Hydrograph.constant(sea_value)
        design["sea_level_m"] = round(sea_value, 3)
    depth[sea] = np.nan
    forcing = Forcing(tuple(inflow), hydrograph, sea, sea_level)
    return Plan(scenario, grid, z, manning, forcing, flooded, depth, design)
