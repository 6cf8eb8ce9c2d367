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

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "viewer.png"
BUILDING = (192, 80, 46)  # the buildings' fill colour (viewer/src/main.js)
DEEP_BLUE = ((33, 113, 181), (8, 48, 107), (107, 174, 214))  # depth classes over 0.5 m

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
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(viewer_url)
        page.wait_for_function("window.jnft && window.jnft.ready === true", timeout=60_000)
        settle(page)
        yield page
        browser.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, errors


def settle(page) -> None:
    """Wait until every shown map has drawn its tiles."""
    page.wait_for_function("window.jnft.idle === true", timeout=60_000)
    page.wait_for_timeout(300)


def shot(page, path: Path) -> np.ndarray:
    """A screenshot of the maps (saved to `path`) as an RGBA array."""
    data = page.locator("#maps").screenshot(path=str(path))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def show(page, view: str) -> None:
    page.click(f"#views button[data-view={view}]")
    page.wait_for_timeout(200)
    settle(page)


def test_the_territory_shows_buildings_over_the_hillshade(page, tmp_path):
    image = shot(page, tmp_path / "territory.png")
    assert near(image, BUILDING) > 100
    grey = image[..., :3].astype(int)
    shaded = (np.ptp(grey, axis=-1) < 12) & (grey[..., 0] < 200)  # the hillshade's greys
    assert shaded.sum() > 20_000


def test_the_flood_view_draws_depths_and_its_legend(page, tmp_path):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    settle(page)
    image = shot(page, tmp_path / "flood.png")
    assert sum(near(image, c, 25) for c in DEEP_BLUE) > 2_000
    assert "0-0.5 m" in page.inner_text("#legend") and "(m)" in page.inner_text("#legend")
    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(tmp_path / "flood_page.png"))
    shutil.copyfile(tmp_path / "flood_page.png", DOCS_SCREENSHOT)


def test_the_swipe_shows_two_scenarios_side_by_side(page, tmp_path):
    show(page, "compare")
    page.select_option("#scenario-a", "crue_q100")
    page.select_option("#scenario-b", "submersion_tempete_slr60")
    settle(page)
    image = shot(page, tmp_path / "compare.png")
    width = image.shape[1]
    left, right = image[:, : width // 2 - 10], image[:, width // 2 + 10 :]
    flooded = [sum(near(half, c, 25) for c in DEEP_BLUE) for half in (left, right)]
    assert page.is_visible("#swipe .handle")
    # Each half shows its own scenario: the same half under the other scenario differs.
    assert flooded[0] > 0 or flooded[1] > 0
    page.select_option("#scenario-b", "crue_q100")
    settle(page)
    same = shot(page, tmp_path / "compare_same.png")
    assert not np.array_equal(same[:, width // 2 + 10 :], right)


def test_the_as_of_slider_changes_the_buildings(page, tmp_path):
    show(page, "asof")
    latest = shot(page, tmp_path / "asof_latest.png")
    page.fill("#asof-slider", "0")
    page.dispatch_event("#asof-slider", "input")
    page.wait_for_function("window.jnft.asof === '2023-03-15'")
    settle(page)
    first = shot(page, tmp_path / "asof_first.png")
    assert "2023-03-15" in page.inner_text("#asof-date")
    changed = like(latest, BUILDING) != like(first, BUILDING)
    assert changed.sum() > 10  # demolished and new buildings (a few in the small territory)
    assert "bâtiments à cette date" in page.inner_text("#asof-count")


def test_a_click_on_a_building_shows_its_depth(page, tmp_path):
    show(page, "flood")
    page.select_option("#scenario-a", "crue_q1000")
    settle(page)
    # Click a building pixel drawn over the deepest water, found in the screenshot.
    image = shot(page, tmp_path / "before_click.png")
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
    page.screenshot(path=str(tmp_path / "building.png"))
