"""`bmdsim export`: the run as CZML and KML, checked against the run's own numbers.

A small scenario: two Nodongs from Hwangju, one on Busan (engaged, intercepted by THAAD at
Seongju), one into the sea east of Korea (not engaged, impacts). Distances are WGS-84 geodesics
(bmdsim.earth.geodesy); times are the run's timeline (t_s) after the export's epoch.
"""

import json
import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from bmdsim.cli import app
from bmdsim.earth import frames, geodesy
from bmdsim.earth.geography import resolve_protected
from bmdsim.viewer.export import EPOCH, EPOCH_ISO, TERRITORY_VERTEX_BUDGET, load_run, run_czml, run_kml

KM = 1000.0
MS = 1e-3
KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"

SCENARIO = """
[scenario]
name = "Two Nodongs: one on Busan against THAAD, one into the sea"
seed = 3

[policy]
protect = ["KOR"]

[[threat]]
missile = "nodong"
launch = [38.67, 125.77]
aim = "Busan"
label = "Busan"
time_s = 20

[[threat]]
missile = "nodong"
launch = [38.67, 125.77]
aim = [36.0, 131.5]
label = "Sea"

[[sensor]]
kind = "space-ir"
name = "SBIRS"

[[sensor]]
kind = "radar"
name = "Seongju"

[[battery]]
site = "Seongju"
interceptor = "thaad"
rounds = 8

[doctrine]
mode = "salvo"
shots = 1
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("export") / "two_nodongs.toml"
    f.write_text(SCENARIO)
    return f


@pytest.fixture(scope="module")
def run(scenario_file):
    result, resolved, kind = load_run(scenario_file)
    assert kind == "scenario"
    # the scenario is what the tests below rely on
    rows = result.threat_rows()
    assert rows[0]["intercepted"] and rows[1]["decision"] == "no-engage" and rows[1]["impact"] is not None
    return result, resolved


@pytest.fixture(scope="module")
def czml(run):
    pytest.importorskip("czml3")
    packets = run_czml(*run)
    return {p["id"]: p for p in packets}, packets


@pytest.fixture(scope="module")
def kml(run):
    return ET.fromstring(run_kml(*run))


def _seconds(iso: str) -> float:
    """Seconds after the export's epoch."""
    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) - EPOCH).total_seconds()


def _samples(packet) -> np.ndarray:
    pos = packet["position"]
    assert pos["epoch"] == EPOCH_ISO and pos.get("referenceFrame", "FIXED") == "FIXED"
    return np.asarray(pos["cartesian"], float).reshape(-1, 4)


def _distance_m(lat1, lon1, lat2, lon2) -> float:
    return float(geodesy.inverse(lat1, lon1, lat2, lon2)[0])


def _events(result, kind):
    return [e for e in result.events if e["kind"] == kind]


# --- CZML -----------------------------------------------------------------------------------


def test_czml_is_json_and_czml3_reads_it_back(czml):
    by_id, packets = czml
    from czml3 import Document

    text = json.dumps(packets)
    assert json.loads(text) == packets
    doc = Document.model_validate_json(text)
    assert len(doc.packets) == len(packets)
    assert len(by_id) == len(packets)  # ids are unique


def test_document_clock_spans_first_launch_to_last_event(czml, run):
    result, _ = run
    _, packets = czml
    doc = packets[0]
    assert doc["id"] == "document" and doc["version"] == "1.0" and doc["name"] == result.name
    start, stop = (_seconds(s) for s in doc["clock"]["interval"].split("/"))
    first_launch = min(t.time_s for t in result.threats)
    assert start == pytest.approx(first_launch, abs=MS)
    assert start == pytest.approx(result.events[0]["t_s"], abs=MS)
    assert stop >= result.events[-1]["t_s"] - MS
    assert stop == pytest.approx(max(e["t_s"] for e in result.events), abs=MS)  # the sea impact is the last thing
    assert _seconds(doc["clock"]["currentTime"]) == pytest.approx(start, abs=MS)
    assert doc["clock"]["multiplier"] > 0


def test_document_description_lists_every_event(czml, run):
    import html

    result, _ = run
    desc = czml[1][0]["description"]
    for e in result.events:
        assert html.escape(e["detail"]) in desc


def test_threats_start_at_their_launch_places_at_their_launch_times(czml, run):
    result, _ = run
    by_id, _ = czml
    for k, spec in enumerate(result.threats):
        s = _samples(by_id[f"threat-{k}"])
        assert s[0, 0] == pytest.approx(spec.time_s, abs=MS)
        lat, lon, h = frames.ecef_to_geodetic(s[0, 1:])
        assert _distance_m(lat, lon, spec.launch.lat_deg, spec.launch.lon_deg) < 1 * KM
        assert abs(h) < 1 * KM
        assert np.all(np.diff(s[:, 0]) > 0)
        start, end = (_seconds(x) for x in by_id[f"threat-{k}"]["availability"].split("/"))
        assert start == pytest.approx(s[0, 0], abs=MS) and end == pytest.approx(s[-1, 0], abs=MS)


def test_intercepted_threat_ends_at_the_intercept_time_on_its_true_path(czml, run):
    result, _ = run
    by_id, _ = czml
    (hit,) = [e for e in _events(result, "intercept") if "hit" in e["detail"]]
    k = hit["threat"]
    s = _samples(by_id[f"threat-{k}"])
    assert s[-1, 0] == pytest.approx(hit["t_s"], abs=MS)
    # the truth there: the recorded trajectory, interpolated between its 1 s samples
    f = result.assessments[k].truth.flight
    t_rel = hit["t_s"] - result.threats[k].time_s
    r_rec = f.record_ecef()[0][0]
    truth = np.array([np.interp(t_rel, f.t_record_s, r_rec[:, i]) for i in range(3)])
    assert np.linalg.norm(s[-1, 1:] - truth) < 0.1 * KM
    # and every drawn sample is a recorded one (thinned, not moved)
    i = np.searchsorted(f.t_record_s, s[:-1, 0] - result.threats[k].time_s)
    assert np.allclose(s[:-1, 1:], r_rec[i], atol=0.1)
    assert by_id[f"threat-{k}"]["properties"]["outcome"] == "intercepted"


def test_unengaged_threat_ends_at_its_impact(czml, run):
    result, _ = run
    by_id, _ = czml
    (impact,) = _events(result, "impact")
    k = impact["threat"]
    row = result.threat_rows()[k]
    s = _samples(by_id[f"threat-{k}"])
    assert s[-1, 0] == pytest.approx(impact["t_s"], abs=MS)
    lat, lon, h = frames.ecef_to_geodetic(s[-1, 1:])
    assert _distance_m(lat, lon, row["impact"]["lat"], row["impact"]["lon"]) < 1 * KM
    assert abs(h) < 1 * KM
    props = by_id[f"threat-{k}"]["properties"]
    assert props["outcome"] == "not engaged" and props["decision"] == "no-engage"


def test_interceptor_flies_from_its_site_to_the_intercept_point_of_the_look(czml, run):
    result, _ = run
    by_id, _ = czml
    assert result.battle.looks
    for n, lk in enumerate(result.battle.looks):
        t0 = result.threats[lk["threat"]].time_s
        s = _samples(by_id[f"interceptor-{n}"])
        assert s[0, 0] == pytest.approx(t0 + lk["t_launch_s"], abs=MS)
        assert s[-1, 0] == pytest.approx(t0 + lk["t_intercept_s"], abs=MS)
        lat0, lon0, _ = frames.ecef_to_geodetic(s[0, 1:])
        assert _distance_m(lat0, lon0, lk["site_lat"], lk["site_lon"]) < 1 * KM
        lat, lon, h = frames.ecef_to_geodetic(s[-1, 1:])
        assert _distance_m(lat, lon, lk["lat"], lk["lon"]) < 1 * KM
        assert abs(h - lk["alt_m"]) < 1 * KM
        # a drawing, but a sane one: above ground all the way
        _, _, hs = frames.ecef_to_geodetic(s[:, 1:])
        assert np.all(hs > -1 * KM)


def test_intercept_times_and_points_are_the_runs(czml, run):
    result, _ = run
    by_id, _ = czml
    looks = result.battle.looks
    t_czml = sorted(_seconds(by_id[f"intercept-{n}"]["availability"].split("/")[0]) for n in range(len(looks)))
    t_events = sorted(e["t_s"] for e in _events(result, "intercept"))
    assert t_czml == pytest.approx(t_events, abs=MS)
    for n, lk in enumerate(looks):
        lon, lat, h = by_id[f"intercept-{n}"]["position"]["cartographicDegrees"]
        assert _distance_m(lat, lon, lk["lat"], lk["lon"]) < 1 * KM and abs(h - lk["alt_m"]) < 1 * KM
        assert by_id[f"intercept-{n}"]["properties"]["hit"] == lk["hit"]


def test_impact_ellipses_are_the_deciding_predictions(czml, run):
    result, _ = run
    by_id, _ = czml
    for k, a in enumerate(result.assessments):
        p = a.decision.deciding.prediction
        packet = by_id[f"impact-{k}"]
        assert _seconds(packet["availability"].split("/")[0]) == pytest.approx(p.t_s + result.threats[k].time_s, abs=MS)
        v = np.asarray(packet["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3)
        d, az, _ = geodesy.inverse(p.mean_lat_deg, p.mean_lon_deg, v[:, 1], v[:, 0])
        a_m, b_m = max(p.semi_major_km, 1.0) * KM, max(p.semi_minor_km, 1.0) * KM
        assert d.max() == pytest.approx(a_m, rel=0.01)
        assert d.min() == pytest.approx(b_m, rel=0.02)
        if a_m > 1.1 * b_m:  # the major axis points along the prediction's orientation (from north, clockwise)
            off = (az[np.argmax(d)] - p.orientation_deg) % 180.0
            assert min(off, 180.0 - off) < 6.0
        props = packet["properties"]
        assert props["semi_major_km"] == pytest.approx(p.semi_major_km)


def test_threat_packets_carry_their_assessment(czml, run):
    import html

    result, _ = run
    by_id, _ = czml
    for k, a in enumerate(result.assessments):
        packet = by_id[f"threat-{k}"]
        props = packet["properties"]
        p = a.decision.deciding.prediction
        assert props["decision"] == a.decision.decision and props["reason"] == a.decision.reason
        assert props["predicted_impact_lat"] == pytest.approx(p.mean_lat_deg, abs=1e-4)
        for code, v in p.p_impact.items():
            assert props[f"p_impact_{code}"] == pytest.approx(v, abs=1e-4)
        assert html.escape(a.decision.reason) in packet["description"]
        assert all(isinstance(v, (str, int, float, bool)) for v in props.values())  # flat, for Cesium


def test_protected_territories_are_drawn_small_and_in_place(czml, run):
    import shapely

    result, _ = run
    by_id, _ = czml
    codes = [t.code for t in resolve_protected(result.protect)]
    assert codes == ["KOR"]
    total, polys = 0, []
    for code in codes:
        assert f"territory-{code}" in by_id
        children = [p for p in by_id.values() if p.get("parent") == f"territory-{code}"]
        assert children
        for c in children:
            v = np.asarray(c["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3)
            assert np.all(np.abs(v[:, 0]) <= 180) and np.all(np.abs(v[:, 1]) <= 90)
            total += len(v)
            polys.append(shapely.Polygon(v[:, :2]))
    assert total <= TERRITORY_VERTEX_BUDGET
    inside = shapely.union_all(polys)
    assert inside.contains(shapely.Point(126.98, 37.57))  # Seoul
    assert inside.contains(shapely.Point(129.07, 35.18))  # Busan
    assert not inside.contains(shapely.Point(125.75, 39.03))  # Pyongyang


def test_sensors_sites_and_coverage(czml, run):
    from bmdsim.engine.assess import RCS_RV_M2

    _, resolved = run
    by_id, _ = czml
    radar = next(s for s in resolved.sensors if s.kind == "radar")
    ir = next(s for s in resolved.sensors if s.kind == "infrared")
    packet = by_id["sensor-seongju"]
    lon, lat, _ = packet["position"]["cartographicDegrees"]
    assert _distance_m(lat, lon, radar.site_lat_deg, radar.site_lon_deg) < 1.0
    v = np.asarray(packet["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3)
    d, az, _ = geodesy.inverse(radar.site_lat_deg, radar.site_lon_deg, v[:, 1], v[:, 0])
    assert d.max() == pytest.approx(float(radar.max_range_m(RCS_RV_M2)), rel=1e-3)
    arc = az[d > 1.0]  # the fan's arc keeps within the field of regard
    off = (arc - radar.boresight_az_deg + 180.0) % 360.0 - 180.0
    assert np.all(np.abs(off) <= radar.half_width_az_deg + 1e-6)
    sats = [p for p in by_id.values() if p.get("parent") == "sensor-sbirs"]
    assert len(sats) == len(ir.satellite_lon_deg)
    for p, lon_s in zip(sats, ir.satellite_lon_deg):
        lon, lat, h = p["position"]["cartographicDegrees"]
        assert lat == 0.0 and lon == pytest.approx(lon_s)
        assert h == pytest.approx(35_786 * KM, abs=1 * KM)  # geostationary altitude


# --- KML ------------------------------------------------------------------------------------


def _placemarks(root) -> dict:
    return {pm.get("id"): pm for pm in root.iter(f"{KML}Placemark")}


def _triples(text: str) -> np.ndarray:
    return np.array([[float(x) for x in c.split(",")] for c in text.split()])


def test_kml_has_placemarks_for_everything(kml, run):
    result, resolved = run
    pms = _placemarks(kml)
    want = [f"threat-{k}" for k in range(len(result.threats))] + [f"threat-{k}-track" for k in range(len(result.threats))]
    want += [f"interceptor-{n}" for n in range(len(result.battle.looks))] + [f"intercept-{n}" for n in range(len(result.battle.looks))]
    want += [f"impact-{k}" for k in range(len(result.threats))] + ["sensor-seongju", "sensor-sbirs", "battery-seongju", "territory-KOR"]
    assert set(want) <= set(pms)


def test_kml_coordinates_are_lon_lat_alt_in_range(kml, run):
    result, _ = run
    n = 0
    for el in kml.iter(f"{KML}coordinates"):
        c = _triples(el.text)
        assert c.shape[1] == 3
        assert np.all(np.abs(c[:, 0]) <= 180) and np.all(np.abs(c[:, 1]) <= 90) and np.all(np.isfinite(c[:, 2]))
        n += len(c)
    assert n > 100
    pms = _placemarks(kml)
    for k, spec in enumerate(result.threats):
        line = _triples(pms[f"threat-{k}"].find(f".//{KML}LineString/{KML}coordinates").text)
        # longitude first: the first point is the launch place, (lon, lat) not (lat, lon)
        assert line[0, 0] == pytest.approx(spec.launch.lon_deg, abs=0.01)
        assert line[0, 1] == pytest.approx(spec.launch.lat_deg, abs=0.01)
        begin = pms[f"threat-{k}"].find(f"{KML}TimeSpan/{KML}begin").text
        assert _seconds(begin) == pytest.approx(spec.time_s, abs=MS)
        track = pms[f"threat-{k}-track"].find(f"{GX}Track")
        whens, coords = track.findall(f"{KML}when"), track.findall(f"{GX}coord")
        assert len(whens) == len(coords) == len(line)
        x, y, _ = (float(v) for v in coords[-1].text.split())
        assert (x, y) == pytest.approx(tuple(line[-1, :2]), abs=1e-6)
    for n, lk in enumerate(result.battle.looks):
        pm = pms[f"intercept-{n}"]
        lon, lat, alt = _triples(pm.find(f".//{KML}Point/{KML}coordinates").text)[0]
        assert _distance_m(lat, lon, lk["lat"], lk["lon"]) < 1 * KM and abs(alt - lk["alt_m"]) < 1 * KM


def test_czml_and_kml_draw_the_same_threat_path(czml, kml):
    by_id, _ = czml
    s = _samples(by_id["threat-0"])
    lat, lon, h = frames.ecef_to_geodetic(s[:, 1:])
    line = _triples(_placemarks(kml)["threat-0"].find(f".//{KML}LineString/{KML}coordinates").text)
    assert np.allclose(line[:, 0], lon, atol=1e-5) and np.allclose(line[:, 1], lat, atol=1e-5)
    assert np.allclose(line[:, 2], h, atol=1.0)


# --- the command ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, needle",
    [
        (["export", "no/such/scenario.toml", "--czml", "x.czml"], "no such file"),
        (["export", "{scenario}"], "--czml/--kml"),
        (["export", "{txt}", "--kml", "x.kml"], "unknown file type"),
        (["export", "{json}", "--kml", "x.kml"], "scenario_toml"),
        (["export", "{folder}", "--kml", "x.kml"], "result.json"),
    ],
)
def test_export_bad_input_exits_2_with_one_message(args, needle, scenario_file, tmp_path):
    (tmp_path / "notes.txt").write_text("not a scenario")
    (tmp_path / "other.json").write_text(json.dumps({"scenario": "x", "events": []}))
    names = {"scenario": scenario_file, "txt": tmp_path / "notes.txt", "json": tmp_path / "other.json", "folder": tmp_path}
    r = runner.invoke(app, [a.format(**{k: str(v) for k, v in names.items()}) for a in args])
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_export_of_a_saved_run_is_the_export_of_its_scenario(scenario_file, czml, run, tmp_path):
    r = runner.invoke(app, ["run", str(scenario_file), "--json", "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["scenario_toml"] == scenario_file.read_text()
    r = runner.invoke(app, ["export", str(tmp_path / "run"), "--czml", str(tmp_path / "a.czml"), "--kml", str(tmp_path / "a.kml")])
    assert r.exit_code == 0, r.output
    assert f"wrote {tmp_path / 'a.czml'}" in r.output and f"wrote {tmp_path / 'a.kml'}" in r.output
    # the same as the scenario's own export (the module's run of the scenario file)
    assert json.loads((tmp_path / "a.czml").read_text()) == czml[1]
    assert (tmp_path / "a.kml").read_text() == run_kml(*run)
    # a saved run that its scenario no longer reproduces is refused, not drawn
    saved["events"][-1]["detail"] = "something else"
    (tmp_path / "run" / "result.json").write_text(json.dumps(saved))
    r = runner.invoke(app, ["export", str(tmp_path / "run" / "result.json"), "--czml", str(tmp_path / "x.czml")])
    assert r.exit_code == 2 and "other events" in r.output
