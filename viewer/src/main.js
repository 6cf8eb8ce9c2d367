// The territory viewer: MapLibre over the lakehouse's tiles, served by jnft/viewer/app.py.
// Everything comes from the same origin: no external style, no glyphs (hence no text labels).
// Current layers come from their PMTiles archives (range requests), the buildings as of a
// past date from tiles made on request (the archives hold no history).
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { Protocol } from "pmtiles";
import { CLASS_COLOURS, CLASS_NAMES, fetchCloud, pointCloudLayer } from "./pointcloud.js";
import "./style.css";

maplibregl.addProtocol("pmtiles", new Protocol().tile);

const origin = window.location.origin;
const url = (path) => origin + path;
const getJSON = async (path) => {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
};

// What the tests (and a curious reader) can look at: the maps and whether they are settled.
const state = { view: "territory", asof: null, idle: false, territory: null, maps: [], points: 0 };
window.jnft = state;

const LINE_COLOURS = {
  troncon_de_route: "#8a8a8a",
  troncon_hydrographique: "#3b7dd8",
};

function baseStyle(territory) {
  const sources = {};
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#efeee8" } }];
  if (territory.hillshade) {
    sources.hillshade = { type: "raster", tiles: [url(territory.hillshade)], tileSize: 256, maxzoom: 17 };
    layers.push({ id: "hillshade", type: "raster", source: "hillshade", paint: { "raster-opacity": 0.85 } });
  }
  if (territory.terrain) {
    sources.terrain = {
      type: "raster-dem", tiles: [url(territory.terrain)], tileSize: 256, maxzoom: 15, encoding: "terrarium",
    };
  }
  for (const id of territory.vector_layers) {
    const archive = territory.pmtiles[id];
    sources[id] = archive
      ? { type: "vector", url: `pmtiles://${url(archive)}` }
      : { type: "vector", tiles: [url(`/tiles/${id}/{z}/{x}/{y}.mvt`)], maxzoom: 16 };
  }
  if (territory.buildings) {
    // The buildings as of a date: tiles made on request from the history (set by the slider).
    sources[`${territory.buildings}-asof`] = {
      type: "vector", tiles: [url(`/tiles/${territory.buildings}/{z}/{x}/{y}.mvt`)], maxzoom: 16,
    };
  }
  // Water and roads under the flood, buildings and communes over it.
  for (const id of territory.vector_layers) {
    if (id === territory.buildings || id === territory.communes) continue;
    layers.push({
      id: `${id}-line`, type: "line", source: id, "source-layer": id,
      filter: ["in", ["geometry-type"], ["literal", ["LineString", "MultiLineString"]]],
      paint: { "line-color": LINE_COLOURS[id] || "#6b6b6b", "line-width": 1.2 },
    });
    layers.push({
      id: `${id}-fill`, type: "fill", source: id, "source-layer": id,
      filter: ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]],
      paint: { "fill-color": "#d9c27a", "fill-opacity": 0.35 },
    });
    layers.push({
      id: `${id}-point`, type: "circle", source: id, "source-layer": id,
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#7a3fb0", "circle-radius": 3 },
    });
  }
  return { version: 8, sources, layers };
}

// A flood map (one of territory.flood_products: depth, speed, arrival) of a scenario, under
// the communes and buildings; none without a scenario.
function addFlood(map, product, scenario) {
  if (map.getLayer("flood")) map.removeLayer("flood");
  if (map.getSource("flood")) map.removeSource("flood");
  if (!scenario) return;
  map.addSource("flood", {
    type: "raster", tiles: [url(product.tiles.replace("{scenario}", scenario))], tileSize: 256, maxzoom: 17,
  });
  map.addLayer({ id: "flood", type: "raster", source: "flood", paint: { "raster-opacity": 0.9 } },
    map.getLayer("communes-fill") ? "communes-fill" : undefined);
}

function addOverlays(map, territory) {
  const { communes, buildings } = territory;
  if (communes) {
    // A transparent fill catches clicks inside a commune; the line draws its boundary.
    map.addLayer({ id: "communes-fill", type: "fill", source: communes, "source-layer": communes,
      paint: { "fill-color": "#000", "fill-opacity": 0 } });
    map.addLayer({ id: "communes-line", type: "line", source: communes, "source-layer": communes,
      paint: { "line-color": "#5a2d82", "line-width": 2, "line-dasharray": [3, 2] } });
  }
  if (buildings) {
    map.addLayer({ id: "buildings-fill", type: "fill", source: buildings, "source-layer": buildings,
      paint: { "fill-color": "#c0502e", "fill-outline-color": "#6e2410" } });
    map.addLayer({ id: "buildings-asof-fill", type: "fill", source: `${buildings}-asof`, "source-layer": buildings,
      layout: { visibility: "none" },
      paint: { "fill-color": "#c0502e", "fill-outline-color": "#6e2410" } });
    map.addLayer({ id: "buildings-3d", type: "fill-extrusion", source: buildings, "source-layer": buildings,
      layout: { visibility: "none" },
      paint: { "fill-extrusion-color": "#c0502e", "fill-extrusion-opacity": 0.9,
        // The buildings role's height column, else one storey: no product's name here.
        "fill-extrusion-height": territory.height_column
          ? ["coalesce", ["get", territory.height_column], 3] : 3 } });
  }
}

function makeMap(container, territory) {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(territory),
    bounds: territory.bounds,
    fitBoundsOptions: { padding: 20 },
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.on("idle", () => { state.idle = state.maps.every((m) => m.loaded() || m.getContainer().hidden); });
  map.on("dataloading", () => { state.idle = false; });
  return map;
}

function loaded(map) {
  return new Promise((resolve) => (map.loaded() ? resolve() : map.once("load", resolve)));
}

// -- legend, info panel, layers list ---------------------------------------------------------

function legendHTML(legend, territory) {
  const rows = legend.classes
    .map((c) => `<div class="legend-row"><span class="swatch" style="background:${c.color}"></span>${c.label}</div>`)
    .join("");
  const [low, high] = territory.elevation_m;
  const relief = low === null ? "" : `<p>Relief ombré du MNT : ${low.toFixed(0)} m à ${high.toFixed(0)} m</p>`;
  return `<h3>${legend.title} (${legend.unit})</h3>${rows}${relief}`;
}

function attributesTable(attributes) {
  return `<table class="attrs">${Object.entries(attributes)
    .map(([k, v]) => `<tr><td>${k}</td><td>${v ?? ""}</td></tr>`).join("")}</table>`;
}

async function showBuilding(featureId) {
  const info = await getJSON(`/api/buildings/${encodeURIComponent(featureId)}`);
  const flooding = info.flooding
    .map((f) => `<tr><td>${f.title}</td><td class="depth" data-scenario="${f.scenario}">${
      f.depth_m === null || !f.depth_class ? "hors d'eau" : `${f.depth_m.toFixed(2)} m (${f.depth_class} m)`}</td></tr>`)
    .join("");
  document.getElementById("info").innerHTML =
    `<h3>Bâtiment ${featureId}</h3><h4>Hauteur d'eau maximale</h4><table class="attrs" id="building-depths">${flooding}</table>` +
    `<h4>Attributs</h4>${attributesTable(info.attributes)}`;
}

// The longest bar of the exposure chart, in pixels: its label fits beside it in the panel.
const BAR_WIDTH = 130;

function exposureChart(rows, scenario) {
  const mine = rows.filter((r) => r.scenario === scenario);
  if (!mine.length) return "<p>Aucun bâtiment touché dans ce scénario.</p>";
  const most = Math.max(...mine.map((r) => r.buildings), 1);
  const bars = mine.map((r, i) => {
    const width = (BAR_WIDTH * r.buildings) / most;
    return `<text class="bar-label" x="0" y="${i * 22 + 14}">${r.depth_class} m</text>` +
      `<rect x="52" y="${i * 22 + 3}" width="${width}" height="14" fill="#2171b5"></rect>` +
      `<text class="bar-label" x="${56 + width}" y="${i * 22 + 14}">${r.buildings} bât., ${r.residents} hab.</text>`;
  }).join("");
  return `<svg id="exposure-chart" width="300" height="${mine.length * 22 + 6}">${bars}</svg>`;
}

async function showCommune(code) {
  const info = await getJSON(`/api/communes/${encodeURIComponent(code)}/exposure`);
  state.commune = code;
  const scenario = document.getElementById("scenario-a").value;
  document.getElementById("info").innerHTML =
    `<h3>${info.name ?? code}</h3><h4>Exposition par classe de hauteur d'eau — ${scenario}</h4>` +
    exposureChart(info.exposure, scenario);
}

function checksHTML(checks) {
  if (!checks) return "<em>pas encore chargée</em>";
  return Object.entries(checks).map(([name, c]) => {
    const css = !c.passed ? "check-fail" : c.warning ? "check-warn" : "check-ok";
    return `<span class="${css}" title="${c.description.replace(/"/g, "&quot;")}">${name.slice(0, 3).toUpperCase()}</span>`;
  }).join(" ");
}

async function listLayers() {
  const layers = await getJSON("/api/layers");
  document.querySelector("#layers ul").innerHTML = layers
    .map((l) => `<li data-layer="${l.id}"><strong>${l.title}</strong> (${l.kind}, ${l.licence})<br>${checksHTML(l.checks)}</li>`)
    .join("");
}

// -- views -----------------------------------------------------------------------------------

function syncMaps(a, b) {
  let moving = false;
  // A hidden map has no size: its camera is never the one followed.
  const follow = (from, to) => from.on("move", () => {
    if (moving || from.getContainer().hidden) return;
    moving = true;
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
    moving = false;
  });
  follow(a, b);
  follow(b, a);
}

function setupSwipe(right) {
  const swipe = document.getElementById("swipe");
  const container = document.getElementById("maps");
  const place = (fraction) => {
    const width = container.clientWidth;
    swipe.style.left = `${fraction * width}px`;
    right.getContainer().style.clipPath = `inset(0 0 0 ${fraction * width}px)`;
  };
  let dragging = false;
  swipe.addEventListener("pointerdown", (e) => { dragging = true; swipe.setPointerCapture(e.pointerId); });
  swipe.addEventListener("pointerup", () => { dragging = false; });
  swipe.addEventListener("pointermove", (e) => {
    if (!dragging) return;
    const box = container.getBoundingClientRect();
    place(Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1));
  });
  window.addEventListener("resize", () => place(0.5));
  place(0.5);
}

async function main() {
  const territory = await getJSON("/api/territory");
  state.territory = territory;
  const left = makeMap("map", territory);
  const right = makeMap("map-right", territory);
  state.maps = [left, right];
  await Promise.all([loaded(left), loaded(right)]);
  for (const map of state.maps) addOverlays(map, territory);
  syncMaps(left, right);
  setupSwipe(right);
  left.fitBounds(territory.bounds, { padding: 20, duration: 0 });

  const [scenarioA, scenarioB] = ["scenario-a", "scenario-b"].map((id) => document.getElementById(id));
  for (const select of [scenarioA, scenarioB]) {
    select.innerHTML = territory.scenarios.map((s) => `<option value="${s.id}">${s.title}</option>`).join("");
  }
  if (territory.scenarios.length > 1) scenarioB.selectedIndex = 1;
  // The flood map shown (the same product on both sides of the swipe), with its legend.
  const productSelect = document.getElementById("flood-product");
  productSelect.innerHTML = territory.flood_products
    .map((p) => `<option value="${p.id}">${p.title} (${p.unit})</option>`).join("");
  const product = () => territory.flood_products.find((p) => p.id === productSelect.value);
  const showLegend = async () => {
    const legend = await getJSON(product().legend);
    document.getElementById("legend").innerHTML = legendHTML(legend, territory);
    state.legend = legend.product;
  };
  await showLegend();
  document.getElementById("pointcloud-legend").innerHTML = Object.entries(CLASS_NAMES)
    .map(([c, name]) => `<div class="legend-row"><span class="swatch" style="background:rgb(${CLASS_COLOURS[c].join(",")})"></span>${name}</div>`)
    .join("");

  const slider = document.getElementById("asof-slider");
  const vintages = territory.vintages;
  slider.max = String(Math.max(vintages.length - 1, 0));
  slider.value = slider.max;

  // A date shows the buildings' history (tiles made on request), none the current ones.
  const setBuildingsTiles = (date) => {
    if (!territory.buildings) return;
    for (const map of state.maps) {
      if (date) {
        map.getSource(`${territory.buildings}-asof`).setTiles([url(`/tiles/${territory.buildings}/{z}/{x}/{y}.mvt?asof=${date}`)]);
      }
      map.setLayoutProperty("buildings-asof-fill", "visibility", date ? "visible" : "none");
      map.setLayoutProperty("buildings-fill", "visibility", date || extruded() ? "none" : "visible");
      map.setLayoutProperty("buildings-3d", "visibility", !date && extruded() ? "visible" : "none");
    }
  };

  const applyAsof = async () => {
    const date = vintages[Number(slider.value)];
    document.getElementById("asof-date").textContent = date;
    state.asof = date;
    state.idle = false;
    setBuildingsTiles(date);
    const counted = await getJSON(`/api/asof/${territory.buildings}?date=${date}`);
    document.getElementById("asof-count").textContent = `${counted.features} bâtiments à cette date`;
  };
  slider.addEventListener("input", applyAsof);

  const setView = async (view) => {
    state.view = view;
    state.idle = false;
    document.querySelectorAll("#views button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
    const flood = view === "flood" || view === "compare";
    document.getElementById("scenario-controls").hidden = !flood;
    document.getElementById("scenario-b-label").hidden = view !== "compare";
    document.getElementById("legend").hidden = !flood;
    document.getElementById("asof-controls").hidden = view !== "asof";
    document.getElementById("map-right").hidden = view !== "compare";
    document.getElementById("swipe").hidden = view !== "compare";
    document.getElementById("pointcloud-controls").hidden = view !== "3d" || !territory.pointcloud;
    document.getElementById("extrude").parentElement.hidden = view === "3d"; // extruded there
    addFlood(left, product(), flood ? scenarioA.value : null);
    addFlood(right, product(), view === "compare" ? scenarioB.value : null);
    await setThreeD(view === "3d");
    if (view === "asof") {
      await applyAsof();
    } else if (state.asof) {
      state.asof = null;
      setBuildingsTiles(null);
    }
    right.resize();
    right.jumpTo({ center: left.getCenter(), zoom: left.getZoom(), bearing: left.getBearing(), pitch: left.getPitch() });
    left.triggerRepaint();
  };
  document.querySelectorAll("#views button").forEach((b) => b.addEventListener("click", () => setView(b.dataset.view)));
  scenarioA.addEventListener("change", () => setView(state.view));
  scenarioB.addEventListener("change", () => setView(state.view));
  productSelect.addEventListener("change", async () => {
    state.idle = false;
    await showLegend();
    await setView(state.view);
  });

  const extrudeBox = document.getElementById("extrude");
  const extruded = () => extrudeBox.checked || state.view === "3d";
  const setExtruded = () => {
    const on = extruded();
    for (const map of state.maps) {
      if (!map.getLayer("buildings-3d") || state.asof) continue;
      map.setLayoutProperty("buildings-3d", "visibility", on ? "visible" : "none");
      map.setLayoutProperty("buildings-fill", "visibility", on ? "none" : "visible");
      map.easeTo({ pitch: on ? (state.view === "3d" ? 60 : 55) : 0, duration: 0 });
    }
  };
  extrudeBox.addEventListener("change", setExtruded);

  // The 3D view: the buildings extruded over the terrain, and the point cloud's points.
  const cloudBox = document.getElementById("pointcloud-toggle");
  let clouds = null;
  const showCloud = async (on) => {
    if (!territory.pointcloud) return;
    if (on && !left.getLayer("pointcloud")) {
      clouds = clouds || (await Promise.all(territory.pointcloud.tiles.map((t) => fetchCloud(t.url))));
      state.points = clouds.reduce((n, c) => n + c.count, 0);
      left.addLayer(pointCloudLayer(clouds));
    } else if (!on && left.getLayer("pointcloud")) {
      left.removeLayer("pointcloud");
    }
    state.cloudShown = on;
    left.triggerRepaint();
  };
  cloudBox.addEventListener("change", async () => {
    state.idle = false;
    await showCloud(cloudBox.checked);
  });
  const setThreeD = async (on) => {
    if (territory.terrain) left.setTerrain(on ? { source: "terrain", exaggeration: 1 } : null);
    setExtruded();
    if (on) left.easeTo({ pitch: 60, bearing: -20, duration: 0 });
    else if (!extrudeBox.checked) left.easeTo({ bearing: 0, duration: 0 });
    await showCloud(on && cloudBox.checked);
  };

  for (const map of state.maps) {
    map.on("click", (e) => {
      const hits = map.queryRenderedFeatures(e.point, {
        layers: ["buildings-fill", "buildings-asof-fill", "buildings-3d", "communes-fill"].filter((l) => map.getLayer(l)),
      });
      const building = hits.find((f) => f.layer.id.startsWith("buildings"));
      if (building) return showBuilding(building.properties.feature_id);
      const commune = hits.find((f) => f.layer.id === "communes-fill");
      if (commune) return showCommune(commune.properties[territory.commune_code]);
    });
  }
  listLayers();
  left.triggerRepaint();
  state.ready = true;
}

main().catch((error) => {
  document.getElementById("info").innerHTML = `<p class="check-fail">${error.message}</p>`;
  state.error = error.message;
});
