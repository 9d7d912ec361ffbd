"""The viewer's web app (`bmdsim serve`): its API, its bounds, and its static folders.

FastAPI's TestClient calls the app in process; a stand-in Cesium folder (the three files the
server checks for) keeps these tests independent of `npm ci`. The browser test
(tests/test_browser.py) runs the page against the real CesiumJS.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from bmdsim.cli import app as cli_app  # noqa: E402
from bmdsim.report.run import DEMO_FILES  # noqa: E402
from bmdsim.viewer import server  # noqa: E402

FAST = "hokkaido_overflight_2017"  # one missile, not engaged: the quickest demo run


@pytest.fixture(scope="module")
def fake_cesium(tmp_path_factory):
    d = tmp_path_factory.mktemp("cesium")
    for marker in server.CESIUM_MARKERS:
        (d / marker).parent.mkdir(parents=True, exist_ok=True)
        (d / marker).write_text(f"/* stand-in {marker} */\n")
    return d


@pytest.fixture(scope="module")
def client(fake_cesium):
    with TestClient(server.create_app(cesium_dir=fake_cesium)) as c:
        yield c


@pytest.fixture(scope="module")
def fast_run(client):
    r = client.post("/api/runs", json={"scenario": FAST})
    assert r.status_code == 201, r.text
    return r.json()


def _field_error(r, field):
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    locs = [d["loc"] for d in detail]
    assert any(field in loc for loc in locs), locs
    return detail


# ---------------------------------------------------------------------------------------------
# the API


def test_openapi_schema_lists_the_api(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    assert set(paths) >= {"/api/scenarios", "/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/czml"}
    assert "post" in paths["/api/runs"] and "get" in paths["/api/scenarios"]
    body = spec["components"]["schemas"]["RunRequest"]
    assert set(body["properties"]) == {"scenario", "seed"} and body["required"] == ["scenario"]
    assert not any(p.startswith(("/static", "/cesium")) for p in paths)


def test_scenarios_lists_demo_and_repository_scenarios(client):
    r = client.get("/api/scenarios")
    assert r.status_code == 200
    items = r.json()
    ids = [s["id"] for s in items]
    # the demo scenarios first, in `bmdsim demo`'s order
    assert ids[: len(DEMO_FILES)] == [f.removesuffix(".toml") for f in DEMO_FILES]
    assert len(ids) == len(set(ids))
    for s in items:
        assert set(s) >= {"id", "name", "description"} and s["name"] and s["description"]
    if server.default_scenario_dirs():  # in the repository: its scenarios/ too, each listed once
        assert "gmd_five_hwasong15" in ids and "seoul_layered_nodong" in ids
        assert ids.count("alaska_hwasong15") == 1


def test_run_answers_the_run_json_of_bmdsim_run(client, fast_run):
    from bmdsim.engine.scenario import parse_scenario
    from bmdsim.report.run import run_resolved

    entry = client.app.state.catalog[FAST]
    expected = run_resolved(parse_scenario(entry.text).resolved(), quiet=True).as_json()
    assert fast_run["run"] == json.loads(json.dumps(expected))
    assert fast_run["scenario"] == FAST and fast_run["seed"] == expected["seed"]
    assert len(fast_run["assessments"]) == len(expected["threats"])
    a = fast_run["assessments"][0]
    assert a["decision"] == expected["threats"][0]["decision"]
    assert a["predicted_impact"] is not None and set(a["predicted_impact"]) >= {"lat", "lon", "semi_major_km"}
    assert isinstance(a["p_impact"], dict)
    # the same run again, by id
    again = client.get(f"/api/runs/{fast_run['id']}")
    assert again.status_code == 200 and again.json() == fast_run


def test_seed_overrides_the_scenarios_own(client):
    r = client.post("/api/runs", json={"scenario": FAST, "seed": 5})
    assert r.status_code == 201, r.text
    assert r.json()["seed"] == 5 and r.json()["run"]["seed"] == 5


def test_czml_of_a_run(client, fast_run):
    r = client.get(f"/api/runs/{fast_run['id']}/czml")
    assert r.status_code == 200, r.text
    packets = r.json()
    assert packets[0]["id"] == "document" and "clock" in packets[0]
    ids = [p["id"] for p in packets]
    assert any(i.startswith("threat-") for i in ids)
    assert any(i.startswith("territory-") for i in ids)


def test_unknown_scenario_names_the_field_and_the_allowed_ids(client):
    r = client.post("/api/runs", json={"scenario": "alaska"})
    (d,) = _field_error(r, "scenario")
    assert d["loc"] == ["body", "scenario"] and d["input"] == "alaska"
    for sid in (f.removesuffix(".toml") for f in DEMO_FILES):
        assert sid in d["allowed"]
    assert "alaska_hwasong15" in d["suggestions"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"scenario": 5}, "scenario"),
        ({"scenario": None}, "scenario"),
        ({}, "scenario"),
        ({"scenario": FAST, "seed": "7"}, "seed"),
        ({"scenario": FAST, "seed": 1.5}, "seed"),
        ({"scenario": FAST, "seed": True}, "seed"),
        ({"scenario": FAST, "seed": -1}, "seed"),
        ({"scenario": FAST, "seed": 2**64}, "seed"),
        ({"scenario": FAST, "trials": 10}, "trials"),
    ],
)
def test_bad_run_requests_answer_422_naming_the_field(client, body, field):
    _field_error(client.post("/api/runs", json=body), field)


def test_malformed_json_answers_422(client):
    r = client.post("/api/runs", content=b'{"scenario": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_too_large_body_answers_413(client):
    big = {"scenario": FAST, "pad": "x" * (server.MAX_BODY_BYTES + 1)}
    r = client.post("/api/runs", json=big)
    assert r.status_code == 413 and "65536" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams in
        yield b'{"scenario": "' + FAST.encode() + b'", "pad": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    r = client.post("/api/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_and_malformed_run_ids(client):
    r = client.get("/api/runs/0123456789abcdef")
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    assert client.get("/api/runs/0123456789abcdef/czml").status_code == 404
    assert client.get("/api/runs/..%2F..%2Fetc").status_code in (404, 422)
    _field_error(client.get("/api/runs/XYZ"), "run_id")


def test_runs_kept_are_bounded(fake_cesium):
    with TestClient(server.create_app(cesium_dir=fake_cesium, max_runs=2)) as c:
        ids = [c.post("/api/runs", json={"scenario": FAST, "seed": s}).json()["id"] for s in range(3)]
        assert c.get(f"/api/runs/{ids[0]}").status_code == 404
        assert all(c.get(f"/api/runs/{i}").status_code == 200 for i in ids[1:])


def test_a_raid_over_the_cap_is_refused(fake_cesium, tmp_path):
    text = (server.REPO_DIR / "src/bmdsim/data/demo" / f"{FAST}.toml").read_text()
    big = text.replace('missile = "hwasong-12"', f'missile = "hwasong-12"\ncount = {server.MAX_THREATS + 1}', 1)
    assert big != text
    (tmp_path / "raid.toml").write_text(big)
    with TestClient(server.create_app(cesium_dir=fake_cesium, scenario_dirs=[tmp_path])) as c:
        listed = {s["id"]: s for s in c.get("/api/scenarios").json()}
        assert listed["raid"]["threats"] == server.MAX_THREATS + 1
        (d,) = _field_error(c.post("/api/runs", json={"scenario": "raid"}), "scenario")
        assert f"at most {server.MAX_THREATS}" in d["allowed"]


# ---------------------------------------------------------------------------------------------
# static files


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/cesium/Cesium.js" in r.text and "/static/app.js" in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/cesium/Cesium.js").status_code == 200
    assert client.get("/cesium/Assets/Textures/NaturalEarthII/tilemapresource.xml").status_code == 200


TRAVERSALS = [
    "/static/../../pyproject.toml",
    "/static/../server.py",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static/%2E%2E/server.py",
    "/static/..%2f..%2f..%2f..%2fpyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2fserver.py",
    "/static/..%5c..%5cserver.py",
    "/static/%252e%252e/server.py",
    "/cesium/../../../../../pyproject.toml",
    "/cesium/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static//etc/passwd",
    "/cesium/%2fetc%2fpasswd",
]


def _asgi_get(app, raw_path: str) -> int:
    """GET through the ASGI interface with the path exactly as given (no client-side cleanup)."""
    from urllib.parse import unquote

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": unquote(raw_path), "raw_path": raw_path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg):
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_route_serves_a_file_outside_its_folder(client, path):
    assert client.get(path).status_code == 404
    assert _asgi_get(client.app, path) == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_traversal_over_a_real_socket(fake_cesium):
    """uvicorn, with the request line sent byte for byte (http.client does not clean paths)."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(server.create_app(cesium_dir=fake_cesium), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline and th.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        for path in TRAVERSALS:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            assert resp.status in (400, 404), (path, resp.status)
            assert b"[project]" not in body and b"root:" not in body
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/static/app.js")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        srv.should_exit = True
        th.join(30)


# ---------------------------------------------------------------------------------------------
# the command


def test_serve_binds_localhost_by_default(monkeypatch):
    seen = {}
    monkeypatch.setattr(server, "serve", lambda host, port: seen.update(host=host, port=port))
    r = CliRunner().invoke(cli_app, ["serve"])
    assert r.exit_code == 0, r.output
    assert seen == {"host": "127.0.0.1", "port": 8000}
    r = CliRunner().invoke(cli_app, ["serve", "--port", "8123"])
    assert r.exit_code == 0 and seen["port"] == 8123
    assert "127.0.0.1" in CliRunner().invoke(cli_app, ["serve", "--help"]).output


def test_serve_without_cesium_exits_2_saying_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv(server.CESIUM_ENV, raising=False)
    monkeypatch.setattr(server, "REPO_DIR", tmp_path)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert r.exit_code == 2
    assert "make setup" in r.output and "npm ci" in r.output

    monkeypatch.setenv(server.CESIUM_ENV, str(tmp_path / "nowhere"))
    r = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert r.exit_code == 2 and server.CESIUM_ENV in r.output and "nowhere" in r.output


def test_cesium_folder_from_the_environment(monkeypatch, fake_cesium):
    monkeypatch.setenv(server.CESIUM_ENV, str(fake_cesium))
    assert server.find_cesium_dir() == fake_cesium.resolve()
