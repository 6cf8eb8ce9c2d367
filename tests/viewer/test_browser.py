"""The built front-end in Debian's Chromium (Playwright): every view renders from the local
server alone, checked on the pixels of screenshots."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from jnft.viewer.app import STATIC_DIR
from tests.viewer.conftest import Client

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "viewer.png"
# A screenshot per view, kept after the run (build/ is not committed).
SCREENSHOTS = ROOT / "build" / "viewer-screenshots"
BUILDING = (192, 80, 46)  # the buildings' fill colour (viewer/src/main.js)
DEEP_BLUE = ((33, 113, 181), (8, 48, 107), (107, 174, 214))  # depth classes over 0.5 m
WATERWAY = (59, 125, 216)  # troncon_hydrographique's lines
COMMUNE_LINE = (90, 45, 130)  # the communes' boundaries
CHART_BAR = (33, 113, 181)  # the exposure chart's bars
BAR_WIDTH = 130  # its longest bar's, in pixels
# ASPRS classes' colours of the point cloud (viewer/src/pointcloud.js): ground, high vegetation
POINTS = ((181, 136, 84), (34, 120, 60))
# (path, status) of every response the page received, in order.
RESPONSES: list[tuple[str, int]] = []

playwright_api = pytest.importorskip("playwright.sync_api")


def like(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    """Where pixels are within `tolerance` of a colour on every channel."""
    return (np.abs(image[..., :3].astype(int) - colour) <= tolerance).all(axis=-1)


def near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` of a colour on every channel."""
    return int(like(image, colour, tolerance).sum())


@pytest.fixture(scope="module")
def page(viewer_url):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    if not (STATIC_DIR / "index.html").exists():
        pytest.skip("front-end not built: cd viewer && npm ci && npm run build")
    outside: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})

        def only_loopback(route) -> None:
            host = urlsplit(route.request.url).hostname
            if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_loopback)
        page.on("response", lambda r: RESPONSES.append((urlsplit(r.url).path, r.status)))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(viewer_url)
        page.wait_for_function("window.jnft && window.jnft.ready === true", timeout=60_000)
        settle(page)
        yield page
        browser.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, errors


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """The folder of this run's screenshots, emptied first."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def settle(page) -> None:
    """Wait until every shown map has drawn its tiles."""
    page.wait_for_function("window.jnft.idle === true", timeout=60_000)
    page.wait_for_timeout(300)


def redraw(page, call: str) -> None:
    """Call a method of the left map (`call`: its JS call, without the map) and wait until it
    is drawn again."""
    page.evaluate(f"window.jnft.idle = false; window.jnft.maps[0].{call}")
    settle(page)


def shot(page, path: Path) -> np.ndarray:
    """A screenshot of the maps (saved to `path`) as an RGBA array."""
    data = page.locator("#maps").screenshot(path=str(path))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def show(page, view: str) -> None:
    page.click(f"#views button[data-view='{view}']")
    page.wait_for_timeout(200)
    settle(page)


def test_the_territory_shows_buildings_over_the_hillshade(page, screenshots):
    image = shot(page, screenshots / "territory.png")
    assert near(image, BUILDING) > 100
    grey = image[..., :3].astype(int)
    shaded = (np.ptp(grey, axis=-1) < 12) & (grey[..., 0] < 200)  # the hillshade's greys
    assert shaded.sum() > 20_000


def test_the_current_layers_are_drawn_from_their_pmtiles_archives(page, screenshots, viewer_url):
    """Every current layer is read by range requests (206) from its archive and drawn: its
    pixels are on the map while no tile of it was made on request (those serve the buildings
    as of a past date only)."""
    territory = page.evaluate("window.jnft.territory")
    sources = page.evaluate("window.jnft.maps[0].getStyle().sources")
    for layer in territory["vector_layers"]:
        archive = f"/pmtiles/{layer}.pmtiles"
        assert sources[layer]["url"] == f"pmtiles://{viewer_url}{archive}"
        statuses = {status for path, status in RESPONSES if path == archive}
        assert statuses == {206}, (layer, statuses)
        assert not [path for path, _ in RESPONSES if path.startswith(f"/tiles/{layer}/")]
    image = shot(page, screenshots / "pmtiles.png")
    assert near(image, BUILDING) > 100
    assert near(image, WATERWAY, 30) > 200  # the waterways' lines
    assert near(image, COMMUNE_LINE, 30) > 500  # the communes' dashed boundaries
    drawn = page.evaluate(
        "window.jnft.maps[0].queryRenderedFeatures({layers: ['buildings-fill']}).length"
    )
    assert drawn > 50


def test_the_flood_view_draws_depths_and_its_legend(page, screenshots):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    settle(page)
    image = shot(page, screenshots / "flood.png")
    assert sum(near(image, c, 25) for c in DEEP_BLUE) > 2_000
    assert "0-0.5 m" in page.inner_text("#legend") and "(m)" in page.inner_text("#legend")
    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(screenshots / "flood_page.png"))
    shutil.copyfile(screenshots / "flood_page.png", DOCS_SCREENSHOT)


def test_the_swipe_shows_two_scenarios_side_by_side(page, screenshots):
    show(page, "compare")
    page.select_option("#scenario-a", "crue_q100")
    page.select_option("#scenario-b", "submersion_tempete_slr60")
    settle(page)
    image = shot(page, screenshots / "compare.png")
    width = image.shape[1]
    left, right = image[:, : width // 2 - 10], image[:, width // 2 + 10 :]
    flooded = [sum(near(half, c, 25) for c in DEEP_BLUE) for half in (left, right)]
    assert page.is_visible("#swipe .handle")
    # Each half shows its own scenario: the same half under the other scenario differs.
    assert flooded[0] > 0 or flooded[1] > 0
    page.select_option("#scenario-b", "crue_q100")
    settle(page)
    same = shot(page, screenshots / "compare_same.png")
    assert not np.array_equal(same[:, width // 2 + 10 :], right)


def test_the_flood_map_switches_to_speed_on_both_sides_of_the_swipe(page, screenshots):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    page.select_option("#flood-product", "max_depth")
    settle(page)
    depth = shot(page, screenshots / "flood_depth.png")
    page.select_option("#flood-product", "max_speed")
    page.wait_for_function("window.jnft.legend === 'max_speed'")
    settle(page)
    speed = shot(page, screenshots / "flood_speed.png")
    assert (depth != speed).any(axis=-1).mean() > 0.01
    assert sum(near(speed, c, 25) for c in DEEP_BLUE) < sum(near(depth, c, 25) for c in DEEP_BLUE)
    legend = page.inner_text("#legend")
    assert "(m/s)" in legend and "< 0.2 m/s" in legend and "> 1 m/s" in legend
    served = {s for path, s in RESPONSES if path.startswith("/tiles/flood/max_speed/crue_q1000/")}
    assert served == {200}
    # The swipe compares the same product of the two scenarios.
    show(page, "compare")
    page.select_option("#scenario-b", "submersion_tempete_slr60")
    settle(page)
    tiles = page.evaluate("window.jnft.maps.map(m => m.getStyle().sources.flood.tiles[0])")
    assert [urlsplit(t).path.split("{z}")[0] for t in tiles] == [
        "/tiles/flood/max_speed/crue_q1000/",
        "/tiles/flood/max_speed/submersion_tempete_slr60/",
    ]
    shot(page, screenshots / "compare_speed.png")
    page.select_option("#flood-product", "max_depth")
    page.wait_for_function("window.jnft.legend === 'max_depth'")
    settle(page)


def test_the_as_of_slider_changes_the_buildings(page, screenshots):
    show(page, "asof")
    latest = shot(page, screenshots / "asof_latest.png")
    page.fill("#asof-slider", "0")
    page.dispatch_event("#asof-slider", "input")
    page.wait_for_function("window.jnft.asof === '2023-03-15'")
    settle(page)
    first = shot(page, screenshots / "asof_first.png")
    assert "2023-03-15" in page.inner_text("#asof-date")
    changed = like(latest, BUILDING) != like(first, BUILDING)
    assert changed.sum() > 10  # demolished and new buildings (a few in the small territory)
    assert "bâtiments à cette date" in page.inner_text("#asof-count")


def test_a_click_on_a_building_shows_its_depth(page, screenshots):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    settle(page)
    # Click a building pixel drawn over the deepest water, found in the screenshot.
    image = shot(page, screenshots / "before_click.png")
    ys, xs = np.nonzero(like(image, BUILDING, 10))
    assert len(xs) > 0
    box = page.locator("#maps").bounding_box()
    assert box is not None
    for i in np.linspace(0, len(xs) - 1, 40).astype(int):
        page.mouse.click(box["x"] + float(xs[i]), box["y"] + float(ys[i]))
        page.wait_for_timeout(300)
        if page.locator("#building-depths").count() and " m (" in page.inner_text(
            "#building-depths"
        ):
            break
    text = page.inner_text("#info")
    assert "Hauteur d'eau maximale" in text and " m (" in text, text
    page.screenshot(path=str(screenshots / "building.png"))


def test_a_click_on_a_commune_draws_its_exposure_chart(page, screenshots, viewer_url):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    settle(page)
    box = page.locator("#maps").bounding_box()
    assert box is not None
    # Click across the map until a commune (not a building) answers with its chart.
    for fx, fy in ((fx, fy) for fy in (0.3, 0.5, 0.7) for fx in np.linspace(0.3, 0.9, 7)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_timeout(300)
        if page.locator("#exposure-chart").count():
            break
    chart = page.locator("#exposure-chart")
    assert chart.count() == 1, page.inner_text("#info")
    code = page.evaluate("window.jnft.commune")
    exposure = Client(viewer_url).get(f"/api/communes/{code}/exposure").json()
    rows = [r for r in exposure["exposure"] if r["scenario"] == "crue_q1000"]
    # A bar per depth class, as long as its buildings, labelled with the API's values.
    widths = [
        float(w)
        for w in chart.locator("rect").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")
    ]
    assert len(widths) == len(rows) > 0
    most = max(r["buildings"] for r in rows)
    assert widths == pytest.approx([BAR_WIDTH * r["buildings"] / most for r in rows])
    text = chart.text_content() or ""
    for r in rows:
        assert f"{r['depth_class']} m" in text and f"{r['buildings']} bât." in text
    assert exposure["name"] in page.inner_text("#info")
    # Every label fits in the chart (none cut at its right edge).
    right = chart.locator("text").evaluate_all(
        "ts => ts.map(t => { const b = t.getBBox(); return b.x + b.width; })"
    )
    assert max(right) <= float(chart.get_attribute("width") or 0)
    image = np.asarray(
        Image.open(io.BytesIO(chart.screenshot(path=str(screenshots / "chart.png"))))
    )
    assert near(image, CHART_BAR, 10) >= 14 * max(widths) * 0.8  # the longest bar, 14 px high
    page.screenshot(path=str(screenshots / "commune.png"))


def test_the_3d_view_extrudes_the_buildings_over_the_terrain_with_the_point_cloud(
    page, screenshots, viewer_url
):
    show(page, "territory")
    flat = shot(page, screenshots / "flat.png")
    show(page, "3d")
    page.wait_for_function("window.jnft.points > 0 && window.jnft.cloudShown === true")
    settle(page)
    with_points = shot(page, screenshots / "3d.png")
    camera = page.evaluate(
        "(() => { const m = window.jnft.maps[0];"
        " return {pitch: m.getPitch(), terrain: m.getTerrain(),"
        " extruded: m.getLayoutProperty('buildings-3d', 'visibility')}; })()"
    )
    assert camera["pitch"] > 45 and camera["terrain"] and camera["extruded"] == "visible"
    assert (flat != with_points).any(axis=-1).mean() > 0.3
    # The points: those the server sent, drawn in their classes' colours.
    cloud = Client(viewer_url).get("/api/territory").json()["pointcloud"]
    body = Client(viewer_url).get(cloud["tiles"][0]["url"]).content
    assert page.evaluate("window.jnft.points") == (len(body) - 16) // 13
    page.click("#pointcloud-toggle")
    page.wait_for_function("window.jnft.cloudShown === false")
    settle(page)
    without_points = shot(page, screenshots / "3d_no_points.png")
    drawn = [near(with_points, c, 20) - near(without_points, c, 20) for c in POINTS]
    assert all(n > 2_000 for n in drawn), drawn
    # The buildings stand: flattening their extrusion changes the pixels where they are.
    redraw(page, "setPaintProperty('buildings-3d', 'fill-extrusion-height', 0)")
    flattened = shot(page, screenshots / "3d_flattened.png")
    standing = like(without_points, BUILDING, 60) | like(flattened, BUILDING, 60)
    changed = (without_points != flattened).any(axis=-1) & standing
    assert changed.sum() > 200
    height = page.evaluate("window.jnft.territory.height_column")
    redraw(
        page,
        f"setPaintProperty('buildings-3d', 'fill-extrusion-height', "
        f"['coalesce', ['get', '{height}'], 3])",
    )
    # Over the terrain: its elevation tiles were read, and the relief moves what is drawn.
    assert {s for path, s in RESPONSES if path.startswith("/tiles/terrain/")} == {200}
    redraw(page, "setTerrain(null)")
    no_relief = shot(page, screenshots / "3d_no_terrain.png")
    assert (no_relief != without_points).any(axis=-1).mean() > 0.05
    redraw(page, "setTerrain({source: 'terrain', exaggeration: 1})")
    page.click("#pointcloud-toggle")
    page.wait_for_function("window.jnft.cloudShown === true")
    settle(page)
    page.screenshot(path=str(screenshots / "3d_page.png"))
    show(page, "territory")
    assert page.evaluate("window.jnft.maps[0].getTerrain()") is None
