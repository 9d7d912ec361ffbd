"""`bmdsim serve`: the globe viewer, a FastAPI app that runs example scenarios and plays them.

Routes:

- ``/``: the page (``static/index.html``); ``/static/...``: its script and style;
  ``/cesium/...``: CesiumJS from the npm package ``cesium`` (``make setup`` / ``npm ci``), with
  the Natural Earth II imagery it ships, so the globe needs no network and no Cesium ion token.
- ``GET /api/scenarios``: the example scenarios (the built-in demo scenarios and the repository's
  ``scenarios/*.toml``): id, name, description.
- ``POST /api/runs`` ``{"scenario": id, "seed": int?}``: run one engagement; answers the run id and
  the run (``RunResult.as_json()``, as ``bmdsim run --json`` prints it).
- ``GET /api/runs/{id}``: the same again; ``GET /api/runs/{id}/czml``: the run as CZML packets
  (``bmdsim.viewer.export.run_czml``).
- ``/openapi.json`` and ``/docs``: FastAPI's schema of the API (``/docs`` loads its page assets
  from a CDN; the viewer itself never does).

Bounds, since a page can send anything: request bodies over 64 KiB answer 413; a run is one
engagement of a scenario of at most ``MAX_THREATS`` missiles; the last ``MAX_RUNS`` runs are kept
in memory, older ones answer 404; one run computes at a time. Bad input answers 422 with the
field, the value and what is allowed (FastAPI's validation errors, and bmdsim's own
``BmdsimInputError``/``ScenarioError`` in the same shape).

The server binds 127.0.0.1 by default: it has no authentication.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from bmdsim.errors import BmdsimInputError, UnknownNameError

log = logging.getLogger("bmdsim.viewer")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 64 * 1024
MAX_RUNS = 16
MAX_THREATS = 20  # missiles in one run (a scenario's counts expanded); larger raids: `bmdsim run`
MAX_SEED = 2**63 - 1
RUN_ID_PATTERN = r"^[0-9a-f]{16}$"

STATIC_DIR = Path(__file__).resolve().parent / "static"
# the repository root when bmdsim runs from its checkout (src/bmdsim/viewer/server.py)
REPO_DIR = Path(__file__).resolve().parents[3]
CESIUM_ENV = "BMDSIM_CESIUM_DIR"
CESIUM_MARKERS = ("Cesium.js", "Widgets/widgets.css", "Assets/Textures/NaturalEarthII/tilemapresource.xml")


class CesiumMissingError(RuntimeError):
    """CesiumJS is not installed where the viewer looks for it."""


def find_cesium_dir(env: Optional[dict] = None) -> Path:
    """The folder of CesiumJS's built files (``Build/Cesium`` of the npm package ``cesium``).

    ``$BMDSIM_CESIUM_DIR`` if set, else ``<repo>/node_modules/cesium/Build/Cesium``, else the same
    under the current directory. Raises CesiumMissingError saying how to install it.
    """
    env = os.environ if env is None else env
    if env.get(CESIUM_ENV):
        candidates = [Path(env[CESIUM_ENV])]
    else:
        candidates = [REPO_DIR / "node_modules/cesium/Build/Cesium", Path.cwd() / "node_modules/cesium/Build/Cesium"]
    for d in candidates:
        if all((d / m).is_file() for m in CESIUM_MARKERS):
            return d.resolve()
    where = " or ".join(str(d) for d in dict.fromkeys(candidates))
    hint = (
        f"set {CESIUM_ENV} to the Build/Cesium folder of the npm package 'cesium'"
        if env.get(CESIUM_ENV)
        else f"run `make setup` (or `npm ci` in {REPO_DIR}) to install it from package-lock.json, or set {CESIUM_ENV}"
    )
    raise CesiumMissingError(f"CesiumJS not found at {where} (need {', '.join(CESIUM_MARKERS)}); {hint}")


# ---------------------------------------------------------------------------------------------
# The example scenarios


@dataclasses.dataclass(frozen=True)
class ScenarioEntry:
    id: str
    name: str
    description: str
    origin: str  # "demo" (built in) or "scenarios" (the repository's folder)
    source: str  # what error messages call it
    threats: int  # missiles, counts expanded
    text: str


def _entry(sid: str, origin: str, source: str, text: str) -> Optional[ScenarioEntry]:
    from bmdsim.engine.scenario import parse_scenario

    try:
        sc = parse_scenario(text, source=source, resolve=False)
    except BmdsimInputError as exc:
        log.warning("skipping scenario %s: %s", source, exc)
        return None
    n = sum(t.count for t in sc.threat)
    return ScenarioEntry(sid, sc.name, sc.scenario.description, origin, source, n, text)


def default_scenario_dirs() -> list[Path]:
    d = REPO_DIR / "scenarios"
    return [d] if d.is_dir() else []


def scenario_catalog(scenario_dirs: Iterable[Path] = ()) -> dict[str, ScenarioEntry]:
    """id -> entry: the built-in demo scenarios first (in `bmdsim demo`'s order), then the
    ``*.toml`` files of ``scenario_dirs`` (a file identical to a demo one is listed once)."""
    from importlib import resources

    from bmdsim.report.run import DEMO_FILES

    out: dict[str, ScenarioEntry] = {}
    demo = resources.files("bmdsim.data").joinpath("demo")
    names = list(DEMO_FILES) + sorted(
        p.name for p in demo.iterdir() if p.name.endswith(".toml") and p.name not in DEMO_FILES
    )
    for name in names:
        text = demo.joinpath(name).read_text(encoding="utf-8")
        e = _entry(name.removesuffix(".toml"), "demo", f"bmdsim/data/demo/{name}", text)
        if e is not None:
            out[e.id] = e
    texts = {e.text for e in out.values()}
    for d in scenario_dirs:
        for p in sorted(Path(d).glob("*.toml")):
            text = p.read_text(encoding="utf-8")
            if text in texts:
                continue
            sid = p.stem if p.stem not in out else f"{Path(d).name}-{p.stem}"
            e = _entry(sid, "scenarios", f"{Path(d).name}/{p.name}", text)
            if e is not None:
                out[e.id] = e
                texts.add(text)
    return out


# ---------------------------------------------------------------------------------------------
# API models


class RunRequest(BaseModel):
    """Run one engagement of an example scenario."""

    model_config = ConfigDict(extra="forbid")

    scenario: StrictStr = Field(max_length=200, description="a scenario id from GET /api/scenarios")
    seed: Optional[StrictInt] = Field(
        default=None, ge=0, le=MAX_SEED, description="the root random seed (default: the scenario's own)"
    )


class ScenarioInfoOut(BaseModel):
    id: str = Field(description="what POST /api/runs takes as scenario")
    name: str
    description: str
    origin: str = Field(description="demo (built in) or scenarios (the repository's scenarios/ folder)")
    threats: int = Field(description="missiles in the scenario")


class RunOut(BaseModel):
    id: str = Field(description="the run id for GET /api/runs/{id} and /api/runs/{id}/czml")
    scenario: str = Field(description="the scenario id")
    seed: int
    epoch: str = Field(description="the UTC date and time of the run's T+0 on the CZML clock (ISO 8601)")
    run: dict[str, Any] = Field(description="the run as `bmdsim run --json` prints it: scenario, seed, threats, summary, events")
    assessments: list[dict[str, Any]] = Field(
        description="per threat (in the order of run.threats): the deciding assessment: predicted impact, "
        "its 2-sigma ellipse, P(impact) per territory, the decision and why"
    )


RunId = Annotated[str, PathParam(pattern=RUN_ID_PATTERN, description="a run id from POST /api/runs")]


def _f(x) -> Optional[float]:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def epoch_iso() -> str:
    """T+0 of every run on the CZML clock (`bmdsim.viewer.export.EPOCH_ISO`), ISO 8601 in UTC."""
    from bmdsim.viewer.export import EPOCH_ISO

    return EPOCH_ISO


def assessment_details(result) -> list[dict]:
    """What the page shows when a threat is clicked: the assessment the decision rests on."""
    out = []
    for j, (spec, a) in enumerate(zip(result.threats, result.assessments)):
        d = a.decision
        dec = d.deciding
        item: dict[str, Any] = {
            "index": j,
            "id": spec.label or f"T{j + 1}",
            "missile": spec.missile.name,
            "launch": spec.launch.name,
            "launch_lat": _f(spec.launch.lat_deg),
            "launch_lon": _f(spec.launch.lon_deg),
            "aim": spec.aim.name,
            "aim_lat": _f(spec.aim.lat_deg),
            "aim_lon": _f(spec.aim.lon_deg),
            "decision": d.decision,
            "reason": d.reason,
            "declared_at_s": None if d.declared_at_s is None else d.declared_at_s + spec.time_s,
            "orbital": bool(d.orbital),
            "overflown": list(a.overflown),
            "assessed_at_s": None,
            "predicted_impact": None,
            "p_impact": {},
            "threatened": [],
        }
        if dec is not None:
            pr = dec.prediction
            item["assessed_at_s"] = _f(dec.t_s + spec.time_s)
            item["threatened"] = list(dec.threatened)
            lat, lon = _f(pr.mean_lat_deg), _f(pr.mean_lon_deg)
            if lat is not None and lon is not None:
                item["predicted_impact"] = {
                    "lat": lat, "lon": lon,
                    "semi_major_km": _f(pr.semi_major_km), "semi_minor_km": _f(pr.semi_minor_km),
                    "orientation_deg": _f(pr.orientation_deg),
                    "time_to_impact_s": _f(pr.mean_time_to_impact_s),
                }
            item["p_impact"] = {
                k: round(float(v), 4) for k, v in sorted(pr.p_impact.items(), key=lambda kv: -kv[1]) if v > 0
            }
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# Middleware and errors


class BodyLimit:
    """Answer 413 to a request body over ``max_bytes`` (by Content-Length, or as it streams in),
    before the app sees it."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope, receive, send, status: int, detail: str) -> None:
        await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await self._reject(scope, receive, send, 400, f"Content-Length: {length.decode('latin-1')!r} is not a number of bytes")
            if int(length) > self.max_bytes:
                return await self._reject(
                    scope, receive, send, 413, f"request body: {int(length)} bytes is too large; at most {self.max_bytes} bytes"
                )
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await self._reject(scope, receive, send, 413, f"request body: over {self.max_bytes} bytes; at most {self.max_bytes} bytes")
            chunks.append(body)
            if not msg.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


def _input_error(request: Request, exc: BmdsimInputError) -> JSONResponse:
    loc = ["body", *str(exc.field).split(".")]
    item: dict[str, Any] = {
        "loc": loc,
        "msg": str(exc),
        "type": "value_error",
        "input": exc.value if isinstance(exc.value, (str, int, float, bool, type(None))) else repr(exc.value),
        "allowed": exc.allowed,
    }
    if exc.suggestions:
        item["suggestions"] = list(exc.suggestions)
    problems = getattr(exc, "problems", None)
    if problems:
        item["source"] = getattr(exc, "source", None)
        item["problems"] = list(problems)
    return JSONResponse({"detail": [item]}, status_code=422)


# ---------------------------------------------------------------------------------------------
# The app


class _Runs:
    """The last ``limit`` runs, in memory."""

    def __init__(self, limit: int):
        self.limit = limit
        self._runs: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, item: dict) -> str:
        with self._lock:
            run_id = secrets.token_hex(8)
            while run_id in self._runs:
                run_id = secrets.token_hex(8)
            self._runs[run_id] = item
            while len(self._runs) > self.limit:
                self._runs.popitem(last=False)
            return run_id

    def get(self, run_id: str) -> Optional[dict]:
        with self._lock:
            return self._runs.get(run_id)

    def __len__(self) -> int:
        return len(self._runs)


def _not_found(run_id: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"run {run_id!r} not found: runs are kept in memory, the last {MAX_RUNS} of this server"},
        status_code=404,
    )


def create_app(
    *,
    cesium_dir: Optional[Path] = None,
    scenario_dirs: Optional[Sequence[Path]] = None,
    max_runs: int = MAX_RUNS,
) -> FastAPI:
    """The viewer app. ``cesium_dir``: CesiumJS's ``Build/Cesium`` (default: `find_cesium_dir`,
    which raises CesiumMissingError); ``scenario_dirs``: folders of example scenarios besides
    the built-in ones (default: the repository's ``scenarios/``)."""
    cesium = Path(cesium_dir) if cesium_dir is not None else find_cesium_dir()
    catalog = scenario_catalog(default_scenario_dirs() if scenario_dirs is None else scenario_dirs)
    runs = _Runs(max_runs)
    compute = threading.Lock()  # one run at a time: each is CPU-bound

    app = FastAPI(
        title="bmdsim viewer",
        summary="Run example engagements and play them on an offline CesiumJS globe.",
        version="1",
        # FastAPI's /docs and /redoc pages load their scripts from a CDN: off, so that nothing
        # this server offers reaches beyond the machine (the schema stays at /openapi.json)
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_exception_handler(BmdsimInputError, _input_error)
    app.state.catalog = catalog
    app.state.runs = runs
    app.state.cesium_dir = cesium

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/scenarios", response_model=list[ScenarioInfoOut], tags=["scenarios"])
    def list_scenarios() -> list[dict]:
        """The example scenarios the page can run."""
        return [
            {"id": e.id, "name": e.name, "description": e.description, "origin": e.origin, "threats": e.threats}
            for e in catalog.values()
        ]

    @app.post("/api/runs", response_model=RunOut, status_code=201, tags=["runs"])
    def create_run(req: RunRequest) -> dict:
        """Run one engagement of a scenario (its own seed, or ``seed``)."""
        from bmdsim.engine.scenario import parse_scenario
        from bmdsim.report.run import run_resolved

        entry = catalog.get(req.scenario)
        if entry is None:
            raise UnknownNameError("scenario", req.scenario, list(catalog))
        if entry.threats > MAX_THREATS:
            raise BmdsimInputError(
                "scenario", req.scenario,
                f"the viewer runs scenarios of at most {MAX_THREATS} missiles (this one has {entry.threats}); "
                "run it with `bmdsim run`",
            )
        sc = parse_scenario(entry.text, source=entry.source).resolved()
        if req.seed is not None:
            sc = dataclasses.replace(sc, seed=req.seed)
        with compute:
            result = run_resolved(sc, quiet=True)
        item = {
            "scenario": entry.id,
            "seed": int(result.seed),
            "epoch": epoch_iso(),
            "run": result.as_json(),
            "assessments": assessment_details(result),
            "_result": result,
            "_resolved": sc,
            "_czml": None,
        }
        run_id = runs.add(item)
        return {"id": run_id, **{k: v for k, v in item.items() if not k.startswith("_")}}

    @app.get("/api/runs/{run_id}", response_model=RunOut, tags=["runs"], responses={404: {"description": "no such run"}})
    def get_run(run_id: RunId):
        """A run kept in memory (the last few)."""
        item = runs.get(run_id)
        if item is None:
            return _not_found(run_id)
        return {"id": run_id, **{k: v for k, v in item.items() if not k.startswith("_")}}

    @app.get(
        "/api/runs/{run_id}/czml", tags=["runs"],
        responses={200: {"description": "a CZML document: a list of packets, the first the document with the clock"},
                   404: {"description": "no such run"}},
    )
    def get_czml(run_id: RunId):
        """The run as CZML for CesiumJS: threats, interceptors, intercepts, impacts, sensors, territories."""
        item = runs.get(run_id)
        if item is None:
            return _not_found(run_id)
        if item["_czml"] is None:
            from bmdsim.viewer.export import run_czml

            item["_czml"] = run_czml(item["_result"], item["_resolved"])
        return JSONResponse(item["_czml"])

    # Static folders: Starlette's StaticFiles serves only files inside its folder (a path that
    # resolves outside it, by ``..`` or a link, is 404).
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/cesium", StaticFiles(directory=cesium), name="cesium")
    return app


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, log_level: str = "info") -> None:
    """Run the viewer with uvicorn until interrupted. Raises CesiumMissingError first if CesiumJS
    is not installed."""
    import uvicorn

    app = create_app()
    print(f"bmdsim viewer: http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}/  (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level=log_level)
