"""The globe viewer end to end: `bmdsim serve`, Debian's Chromium driven by Playwright, CesiumJS
from node_modules with WebGL in software (SwiftShader).

One page session (module fixture) runs an example scenario from the page; the tests then check
that the globe was drawn (a screenshot with the imagery's colours), that the event list is the
run's timeline, that no request left the machine, that the list follows Cesium's clock, and that
a click on a missile shows its assessment.

Needs /usr/bin/chromium (Debian's package) and CesiumJS (`npm ci`): `make test` installs both and
sets BMDSIM_REQUIRE_BROWSER=1, which turns a missing one into a failure; elsewhere the tests are
skipped with a loud reason. Never a browser downloaded by Playwright.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("BMDSIM_CHROMIUM", "/usr/bin/chromium")
REQUIRED = bool(os.environ.get("BMDSIM_REQUIRE_BROWSER") or os.environ.get("CI"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # WebGL without a GPU: SwiftShader
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
SCENARIO = "guam_salvo_defense"  # four missiles, two fire units, intercepts: every kind of packet
SEED = 7
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# generous waits, not limits on speed: software WebGL on a loaded machine draws ~1 frame a second,
# and the server's first run may compile numba kernels
START_WAIT_S = 180
RUN_WAIT_S = 900
RENDER_WAIT_MS = 900_000


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"browser test cannot run: {reason} (BMDSIM_REQUIRE_BROWSER or CI is set; `make test` installs it)")
    pytest.skip(f"!!! BROWSER TEST NOT RUN: {reason}; `make test` installs Chromium and CesiumJS and runs it !!!")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    try:
        import fastapi  # noqa: F401
        import httpx  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        _unavailable(f"Python package missing: {exc.name}")
    from bmdsim.viewer.server import CesiumMissingError, find_cesium_dir

    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} not found (Debian package chromium)")
    try:
        find_cesium_dir()
    except CesiumMissingError as exc:
        _unavailable(str(exc))

    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmdsim", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WAIT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bmdsim serve exited with {proc.returncode}: {proc.stdout.read()}")
            try:
                if httpx.get(f"{url}/api/scenarios", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bmdsim serve did not answer within {START_WAIT_S} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


@pytest.fixture(scope="module")
def reference_run(base_url):
    """The run through the API first: the same one the page will get, and the server warmed up
    (numba kernels compiled) before the browser competes for the CPU."""
    import httpx

    r = httpx.post(f"{base_url}/api/runs", json={"scenario": SCENARIO, "seed": SEED}, timeout=RUN_WAIT_S)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def session(base_url, reference_run):
    """The page after a run of SCENARIO from its controls, drawn; requests recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        requests, errors = [], []
        page.on("request", lambda req: requests.append(req.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(RENDER_WAIT_MS)
        page.goto(f"{base_url}/")
        page.wait_for_function("() => window.bmdsim && window.bmdsim.ready === true")
        page.select_option("#scenario", SCENARIO)
        page.fill("#seed", str(SEED))
        page.click("#run")
        page.wait_for_function("() => window.bmdsim.rendered === true || window.bmdsim.error !== null")
        assert page.evaluate("() => window.bmdsim.error") is None
        # hold the clock still: the tests move it themselves
        page.evaluate("() => { window.bmdsim.viewer.clock.shouldAnimate = false; }")
        yield {"page": page, "requests": requests, "errors": errors, "base_url": base_url}
        browser.close()


def _png_pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def test_globe_is_drawn_with_the_imagery(session):
    page = session["page"]
    box = page.locator("#globe canvas").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 300
    # a clip of the page, not an element screenshot: that waits for two equal frames, slow here
    px = _png_pixels(page.screenshot(clip=box))
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    assert px.std() > 25, f"flat picture: std {px.std():.1f}"
    colours = len(np.unique((px // 8).astype(np.int32) @ np.array([1024, 32, 1]), axis=None))
    assert colours > 300, f"only {colours} colours"
    # Natural Earth II: blue sea and green land around the western Pacific
    sea = np.mean((b > r + 25) & (b > g) & (b > 70))
    land = np.mean((g > b + 5) & (g > r) & (g > 70))
    black = np.mean(px.sum(axis=-1) < 40)
    assert sea > 0.05, f"sea {sea:.3f}"
    assert land > 0.005, f"land {land:.3f}"
    assert black < 0.7, f"black {black:.3f}"
    assert session["errors"] == []


def test_event_list_is_the_runs_timeline(session, reference_run):
    import httpx

    page = session["page"]
    run_id = page.evaluate("() => window.bmdsim.run.id")
    api = httpx.get(f"{session['base_url']}/api/runs/{run_id}", timeout=60).json()
    assert api["seed"] == SEED and api["scenario"] == SCENARIO
    expected = api["run"]["events"]
    shown = page.eval_on_selector_all(
        "#events li",
        "els => els.map(e => ({t_s: Number(e.dataset.tS), kind: e.dataset.kind, detail: e.querySelector('.d').textContent}))",
    )
    assert len(shown) == len(expected) > 10
    assert [(e["t_s"], e["kind"]) for e in shown] == [(e["t_s"], e["kind"]) for e in expected]
    assert [e["detail"] for e in shown] == [e["detail"] for e in expected]
    # the same seed gives the same run through the API and through the page
    assert api["run"] == reference_run["run"]
    assert {"interceptor launch", "intercept"} <= {e["kind"] for e in expected}


def test_no_request_leaves_the_machine(session):
    urls = session["requests"]
    assert len(urls) > 10
    outside = [u for u in urls if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in LOCAL_HOSTS]
    assert outside == []
    paths = [urlparse(u).path for u in urls]
    assert "/cesium/Cesium.js" in paths
    assert any(p.startswith("/cesium/Assets/Textures/NaturalEarthII/") and p.endswith(".jpg") for p in paths)
    assert any(p.endswith("/czml") for p in paths)


def _highlight_at(page, t_s: float) -> dict:
    """Set Cesium's clock to T+t_s; wait until the list has followed it (on the clock's tick)."""
    page.evaluate(
        "t => { const b = window.bmdsim; b.viewer.clock.currentTime = Cesium.JulianDate.addSeconds(b.epoch, t, new Cesium.JulianDate()); }",
        t_s,
    )
    page.wait_for_function("t => window.bmdsim.followedAt !== null && Math.abs(window.bmdsim.followedAt - t) < 1e-6", arg=t_s)
    return page.evaluate(
        """() => {
            const items = [...document.querySelectorAll('#events li')];
            return {
                past: items.map(li => li.classList.contains('past')),
                current: items.map((li, i) => li.classList.contains('current') ? i : -1).filter(i => i >= 0),
                clock: window.bmdsim.clockSeconds(),
            };
        }"""
    )


def test_event_list_follows_the_clock(session, reference_run):
    page = session["page"]
    events = reference_run["run"]["events"]
    times = sorted({e["t_s"] for e in events})
    start, stop = page.evaluate(
        "() => { const c = window.bmdsim.viewer.clock, e = window.bmdsim.epoch;"
        " return [Cesium.JulianDate.secondsDifference(c.startTime, e), Cesium.JulianDate.secondsDifference(c.stopTime, e)]; }"
    )
    assert start <= times[0] and stop >= times[-1]
    mid = len(times) // 2
    firing = next(e["t_s"] for e in events if e["kind"] == "interceptor launch")
    checks = [
        times[0] - 0.5 if times[0] - 0.5 >= start else times[0],  # before (or at) the first event
        (times[mid] + times[mid + 1]) / 2,  # between two events
        firing,  # exactly at an event: it counts as reached
        times[-1],  # the last
        (times[1] + times[2]) / 2,  # and back again
    ]
    for t in checks:
        state = _highlight_at(page, t)
        assert abs(state["clock"] - t) < 1e-3
        expected = [e["t_s"] <= t for e in events]
        assert state["past"] == expected, f"at T+{t} s"
        n = sum(expected)
        assert state["current"] == ([n - 1] if n else [])


def test_clicking_a_missile_shows_its_assessment(session, reference_run):
    page = session["page"]
    threats = reference_run["run"]["threats"]
    # the clock mid-flight of the first missile, then a click where it is drawn
    end_s = page.evaluate("() => window.bmdsim.dataSource.entities.getById('threat-0').properties.end_s.getValue()")
    _highlight_at(page, end_s / 2)
    page.wait_for_function("() => window.bmdsim.viewer.scene.globe.tilesLoaded")
    xy = page.evaluate(
        """() => {
            const v = window.bmdsim.viewer, e = v.dataSources.get(0).entities.getById('threat-0');
            const p = e.position.getValue(v.clock.currentTime);
            const w = Cesium.SceneTransforms.worldToWindowCoordinates(v.scene, p);
            const r = v.canvas.getBoundingClientRect();
            return w ? [r.left + w.x * r.width / v.canvas.clientWidth, r.top + w.y * r.height / v.canvas.clientHeight] : null;
        }"""
    )
    assert xy is not None
    page.mouse.click(xy[0], xy[1])
    page.wait_for_function("() => window.bmdsim.viewer.selectedEntity !== undefined")
    picked = page.evaluate("() => window.bmdsim.viewer.selectedEntity.id")
    assert picked.startswith("threat-"), picked  # the salvo's missiles fly close together: any of them
    k = int(picked.removeprefix("threat-"))
    frame = page.frame_locator(".cesium-infoBox-iframe")
    body = frame.locator("body")
    body.locator("table").first.wait_for()
    text = body.inner_text()
    row = threats[k]
    assert row["id"] in page.locator(".cesium-infoBox-title").inner_text()
    assert "decision" in text and row["decision"] in text
    assert "predicted impact" in text
    assert "p impact" in text  # P(impact) per protected territory
