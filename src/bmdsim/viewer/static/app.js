/* bmdsim viewer: pick an example scenario, run it on the server, play it on a CesiumJS globe.
 *
 * Offline by construction: Cesium comes from this server (/cesium/, the npm package), the imagery
 * is the Natural Earth II tile set that Cesium ships, and nothing that calls out is created (no
 * Cesium ion imagery or terrain, no geocoder, no base layer picker).
 *
 * The run's events (the `bmdsim run --json` timeline) are listed beside the globe and follow
 * Cesium's clock: an event whose time is at or before the clock is marked "past", the latest of
 * them "current". window.bmdsim exposes the state for tests and the browser console.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = {
    viewer: null,
    scenarios: [],
    run: null, // the last POST /api/runs answer
    czml: null,
    dataSource: null,
    epoch: null, // Cesium.JulianDate of the run's T+0
    events: [], // run.events, in time order
    highlighted: -1, // how many events are at or before the clock
    followedAt: null, // the clock time (s after T+0) the list was last marked for
    busy: false,
    rendered: false, // the run is drawn and the globe's tiles are loaded
    error: null,
    clockSeconds: clockSeconds,
  };
  window.bmdsim = state;

  // ---------------------------------------------------------------------------------------------
  // helpers

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function tplus(t) {
    const s = Math.round(t);
    const sign = s < 0 ? "-" : "+";
    const a = Math.abs(s);
    return `T${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
  }

  function latlon(lat, lon) {
    return `${Math.abs(lat).toFixed(2)}°${lat >= 0 ? "N" : "S"}, ${Math.abs(lon).toFixed(2)}°${lon >= 0 ? "E" : "W"}`;
  }

  function setStatus(text, isError) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", !!isError);
    if (isError) state.error = text;
  }

  function errorText(status, body) {
    if (body && Array.isArray(body.detail)) {
      return body.detail
        .map((d) => (Array.isArray(d.loc) ? d.loc.filter((x) => x !== "body").join(".") + ": " : "") + d.msg)
        .join("; ");
    }
    if (body && body.detail) return String(body.detail);
    return `HTTP ${status}`;
  }

  async function api(path, options) {
    const r = await fetch(path, options);
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) throw new Error(errorText(r.status, body));
    return body;
  }

  // ---------------------------------------------------------------------------------------------
  // the globe

  function makeViewer() {
    const imagery = Cesium.TileMapServiceImageryProvider.fromUrl(Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"));
    const viewer = new Cesium.Viewer("globe", {
      baseLayer: Cesium.ImageryLayer.fromProviderAsync(imagery),
      terrainProvider: new Cesium.EllipsoidTerrainProvider(),
      baseLayerPicker: false,
      geocoder: false,
      homeButton: true,
      sceneModePicker: true,
      projectionPicker: false,
      navigationHelpButton: false,
      fullscreenButton: false,
      vrButton: false,
      animation: true,
      timeline: true,
      infoBox: true,
      selectionIndicator: true,
      shouldAnimate: false,
    });
    viewer.scene.globe.enableLighting = false;
    viewer.clock.onTick.addEventListener((clock) => followClock(clock.currentTime));
    let frames = 0;
    viewer.scene.postRender.addEventListener((scene) => {
      if (state.rendered || !state.dataSource || state.busy) return;
      // a few frames with every tile in view loaded: the picture is complete
      frames = scene.globe.tilesLoaded ? frames + 1 : 0;
      if (frames >= 3) {
        state.rendered = true;
        document.body.dataset.rendered = "true";
      }
    });
    state.resetRendered = () => {
      frames = 0;
      state.rendered = false;
      delete document.body.dataset.rendered;
    };
    return viewer;
  }

  function clockSeconds() {
    if (!state.viewer || !state.epoch) return null;
    return Cesium.JulianDate.secondsDifference(state.viewer.clock.currentTime, state.epoch);
  }

  // mark the events at or before the clock time
  function followClock(time) {
    if (!state.epoch) return;
    const t = Cesium.JulianDate.secondsDifference(time, state.epoch);
    state.followedAt = t; // the clock time the list shows
    $("clock-label").textContent = tplus(t);
    const ev = state.events;
    // events are in time order: binary search for the first one after t (1 ms tolerance: the
    // engine's clock is integer milliseconds, Cesium's dates are not exact in binary)
    let lo = 0;
    let hi = ev.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ev[mid].t_s <= t + 5e-4) lo = mid + 1;
      else hi = mid;
    }
    if (lo === state.highlighted) return;
    const items = $("events").children;
    for (let i = 0; i < items.length; i++) {
      items[i].classList.toggle("past", i < lo);
      items[i].classList.toggle("current", i === lo - 1);
    }
    state.highlighted = lo;
    if (lo > 0 && state.viewer.clock.shouldAnimate) items[lo - 1].scrollIntoView({ block: "nearest" });
  }

  function goTo(t) {
    const clock = state.viewer.clock;
    const when = Cesium.JulianDate.addSeconds(state.epoch, t, new Cesium.JulianDate());
    if (Cesium.JulianDate.lessThan(when, clock.startTime)) Cesium.JulianDate.clone(clock.startTime, when);
    if (Cesium.JulianDate.greaterThan(when, clock.stopTime)) Cesium.JulianDate.clone(clock.stopTime, when);
    clock.currentTime = when;
    followClock(when);
  }

  // ---------------------------------------------------------------------------------------------
  // scenarios and runs

  function showScenario() {
    const s = state.scenarios.find((x) => x.id === $("scenario").value);
    $("scenario-name").textContent = s ? s.name : "";
    $("scenario-description").textContent = s ? s.description : "";
  }

  async function loadScenarios() {
    try {
      state.scenarios = await api("/api/scenarios");
    } catch (e) {
      setStatus(`cannot list the scenarios: ${e.message}`, true);
      return;
    }
    const select = $("scenario");
    for (const s of state.scenarios) {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.origin === "demo" ? s.name : `${s.name} (scenarios/)`;
      select.appendChild(o);
    }
    const wanted = new URLSearchParams(location.search).get("scenario");
    if (wanted && state.scenarios.some((s) => s.id === wanted)) select.value = wanted;
    showScenario();
    $("run").disabled = false;
    setStatus("pick a scenario and run it");
    state.ready = true;
  }

  function outcomeOf(row) {
    if (row.intercepted) return ["intercepted", "ok"];
    if (row.leaked) return ["leaker", "bad"];
    if (row.decision === "engage") return ["not intercepted", "bad"];
    return ["not engaged", ""];
  }

  function assessmentHtml(row, a) {
    const rows = [];
    const add = (k, v) => rows.push(`<tr><th>${esc(k)}</th><td>${v}</td></tr>`);
    add("Missile", esc(row.missile));
    if (a) add("Launch → aim", `${esc(a.launch)} → ${esc(a.aim)}`);
    const when = row.declared_at_s == null ? "" : ` at ${tplus(row.declared_at_s)}`;
    add("Decision", `<b>${esc(row.decision)}</b>${when}`);
    add("Reason", esc(row.reason));
    if (a && a.predicted_impact) {
      const p = a.predicted_impact;
      const ell = p.semi_major_km == null ? "" : ` (2σ ellipse ${p.semi_major_km.toFixed(0)} × ${p.semi_minor_km.toFixed(0)} km)`;
      const at = a.assessed_at_s == null ? "" : `, assessed ${tplus(a.assessed_at_s)}`;
      add("Predicted impact", `${latlon(p.lat, p.lon)}${esc(ell)}${at}`);
    } else {
      add("Predicted impact", row.orbital ? "none: in orbit" : "no prediction");
    }
    if (a) {
      const ps = Object.entries(a.p_impact);
      add("P(impact)", ps.length ? ps.map(([k, v]) => `${esc(k)} ${v.toFixed(2)}`).join(", ") : "0 in every protected territory");
    }
    add("Threatened", row.threatened.length ? esc(row.threatened.join(", ")) : "none");
    if (row.overflown.length) add("Overflies", esc(row.overflown.join(", ")));
    add("Interceptors fired", String(row.interceptors_fired));
    add("Outcome", esc(outcomeOf(row)[0]));
    if (row.impact) add("Impact (truth)", latlon(row.impact.lat, row.impact.lon));
    return `<table class="cesium-infoBox-defaultTable"><tbody>${rows.join("")}</tbody></table>`;
  }

  // threat-<k> with k its 0-based index in run.threats
  function threatIndex(entityId, threats) {
    const m = /^threat-(.+)$/.exec(entityId);
    if (!m) return -1;
    if (/^\d+$/.test(m[1]) && Number(m[1]) < threats.length) return Number(m[1]);
    return threats.findIndex((r) => r.id.toLowerCase() === m[1].toLowerCase());
  }

  function decorate(ds, run) {
    const threats = run.run.threats;
    const threatened = new Set(threats.flatMap((r) => r.threatened));
    for (const entity of ds.entities.values) {
      const k = threatIndex(entity.id, threats);
      if (k >= 0) {
        // the CZML carries the assessment as the description; this is for one that does not
        if (!entity.description) entity.description = new Cesium.ConstantProperty(assessmentHtml(threats[k], run.assessments[k]));
        continue;
      }
      // territory-<code> holds the code; its polygons are its children territory-<code>-<i>
      const owner = entity.polygon && entity.parent && /^territory-/.test(entity.parent.id) ? entity.parent : null;
      if (owner) {
        const code = owner.id.slice("territory-".length);
        // the protected territories stand out; the ones a threat was judged to threaten more so
        const hot = threatened.has(code);
        const color = hot ? Cesium.Color.ORANGERED : Cesium.Color.DEEPSKYBLUE;
        entity.polygon.material = new Cesium.ColorMaterialProperty(color.withAlpha(hot ? 0.45 : 0.3));
        entity.polygon.outline = new Cesium.ConstantProperty(true);
        entity.polygon.outlineColor = new Cesium.ConstantProperty(color);
      }
    }
  }

  function fillSummary(run) {
    const tbody = $("threats").querySelector("tbody");
    tbody.textContent = "";
    for (const row of run.run.threats) {
      const tr = document.createElement("tr");
      const [text, cls] = outcomeOf(row);
      for (const [v, c] of [[row.id, ""], [row.decision, ""], [String(row.interceptors_fired), "num"], [text, cls]]) {
        const td = document.createElement("td");
        td.textContent = v;
        if (c) td.className = c;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    const s = run.run.summary;
    $("totals").textContent =
      `${s.threats} threats, ${s.engaged} engaged, ${s.intercepted} intercepted, ${s.leakers} leakers; ` +
      `${s.interceptors_fired} interceptors fired (seed ${run.seed})`;
    $("summary").hidden = false;
  }

  function fillEvents(events) {
    const ol = $("events");
    ol.textContent = "";
    state.events = events;
    state.highlighted = -1;
    for (const e of events) {
      const li = document.createElement("li");
      li.className = `event kind-${e.kind.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`;
      li.dataset.tS = String(e.t_s);
      li.dataset.kind = e.kind;
      const t = document.createElement("span");
      t.className = "t";
      t.textContent = tplus(e.t_s);
      const k = document.createElement("span");
      k.className = "k";
      k.textContent = e.kind;
      const d = document.createElement("span");
      d.className = "d";
      d.textContent = e.detail;
      li.append(t, k, d);
      li.title = `${e.t_s.toFixed(3)} s`;
      li.addEventListener("click", () => goTo(e.t_s));
      ol.appendChild(li);
    }
    $("timeline-section").hidden = false;
  }

  // the camera over the launch and aim points of every threat
  function frame(run) {
    const pts = [];
    for (const a of run.assessments) {
      if (a.launch_lat != null) pts.push([a.launch_lat, a.launch_lon]);
      if (a.aim_lat != null) pts.push([a.aim_lat, a.aim_lon]);
    }
    if (!pts.length) return;
    const v = pts.map(([lat, lon]) => Cesium.Cartesian3.fromDegrees(lon, lat, 0));
    const c = v.reduce((acc, p) => Cesium.Cartesian3.add(acc, p, acc), new Cesium.Cartesian3());
    if (Cesium.Cartesian3.magnitude(c) < 1.0) return;
    Cesium.Cartesian3.multiplyByScalar(Cesium.Cartesian3.normalize(c, c), 6.4e6, c);
    const centre = Cesium.Ellipsoid.WGS84.cartesianToCartographic(c);
    let spread = 0;
    for (const p of v) {
      const a = Cesium.Cartesian3.angleBetween(p, Cesium.Ellipsoid.WGS84.cartographicToCartesian(centre));
      spread = Math.max(spread, a);
    }
    const height = Math.min(2.2e7, Math.max(4.0e6, spread * 6.371e6 * 2.6));
    state.viewer.camera.setView({
      destination: Cesium.Cartesian3.fromRadians(centre.longitude, centre.latitude, height),
    });
  }

  async function show(run, czml) {
    const viewer = state.viewer;
    if (state.dataSource) {
      viewer.dataSources.remove(state.dataSource, true);
      state.dataSource = null;
    }
    state.epoch = Cesium.JulianDate.fromIso8601(run.epoch);
    const ds = await Cesium.CzmlDataSource.load(czml);
    decorate(ds, run);
    await viewer.dataSources.add(ds);
    viewer.clockTrackedDataSource = ds; // Cesium's clock and timeline take the CZML document's clock
    state.dataSource = ds;
    fillSummary(run);
    fillEvents(run.run.events);
    const clock = viewer.clock;
    viewer.timeline.zoomTo(clock.startTime, clock.stopTime);
    clock.currentTime = clock.startTime.clone();
    followClock(clock.currentTime);
    frame(run);
    clock.shouldAnimate = true;
  }

  async function runScenario() {
    if (state.busy) return;
    const body = { scenario: $("scenario").value };
    const seed = $("seed").value.trim();
    if (seed !== "") body.seed = Number(seed);
    state.busy = true;
    state.error = null;
    state.resetRendered();
    $("run").disabled = true;
    setStatus("running…");
    try {
      const run = await api("/api/runs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const czml = await api(`/api/runs/${encodeURIComponent(run.id)}/czml`);
      state.run = run;
      state.czml = czml;
      await show(run, czml);
      const s = run.run.summary;
      setStatus(`${run.run.scenario}: ${s.intercepted} of ${s.threats} intercepted, ${s.leakers} leakers`);
    } catch (e) {
      setStatus(`run failed: ${e.message}`, true);
    } finally {
      state.busy = false;
      $("run").disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------------

  function start() {
    try {
      state.viewer = makeViewer();
    } catch (e) {
      setStatus(`the globe cannot start (WebGL?): ${e.message}`, true);
      return;
    }
    $("scenario").addEventListener("change", showScenario);
    $("run").addEventListener("click", runScenario);
    $("hide-assessments").addEventListener("change", (ev) => $("events").classList.toggle("hide-assessments", ev.target.checked));
    loadScenarios();
  }

  start();
})();
