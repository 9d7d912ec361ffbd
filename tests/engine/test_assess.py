"""The whole chain, launch to decision: sensors, tracks, impact prediction, policy.

Cases from the issue: threats aimed at protected territory are engaged for it; the lofted
Hwasong-14 test of 2017-07-04 (../shared/reference/nk_tests.json) and a space launch are not.
"""

import json

import numpy as np
import pytest

from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place
from bmdsim.report.assessment import assess_report


def test_hwasong15_to_anchorage_is_engaged_for_the_usa():
    out = assess_report("hwasong-15", "Sohae", "Anchorage")
    assert out["decision"] == "engage"
    assert "USA" in out["threatened"]
    assert out["p_impact"]["USA"] >= 0.05
    # decided after burnout (328 s) and long before impact
    assert 328 < out["declared_at_s"] < out["truth"]["flight_time_s"] - 600
    assert out["time_to_impact_s"] > 600


def test_hwasong12_to_guam_is_engaged_for_guam():
    out = assess_report("hwasong-12", "Sunan", "Andersen AFB, Guam")
    assert out["decision"] == "engage"
    assert out["threatened"] == ["GUM"]


def test_lofted_hwasong14_test_into_the_sea_of_japan_is_not_engaged(reference_dir):
    # oracle: nk_tests.json, Hwasong-14 2017-07-04: apogee 2,802 km, range 933 km, from Panghyon,
    # into the Sea of Japan (flown due east here)
    case = json.loads((reference_dir / "nk_tests.json").read_text())["tests"][1]
    obs = case["observed"]
    p = get_place("Panghyon")
    lat, lon, _ = geodesy.direct(p.lat_deg, p.lon_deg, 90.0, obs["ground_range_km"] * 1e3)
    out = assess_report("hwasong-14", "Panghyon", f"{float(lat)},{float(lon)}", "lofted", obs["apogee_km"])
    assert out["truth"]["apogee_km"] == pytest.approx(obs["apogee_km"], abs=1.0)
    assert out["decision"] == "no-engage"
    assert out["threatened"] == []
    assert "sea" in out["reason"]
    assert out["declared_at_s"] is not None


def test_nodong_at_tokyo_is_engaged_for_japan():
    out = assess_report("nodong", "Pyongyang", "Tokyo")
    assert out["decision"] == "engage"
    assert out["threatened"] == ["JPN"]


def test_short_shot_into_the_sea_near_the_launch_point_is_not_engaged():
    p = get_place("Wonsan")
    lat, lon, _ = geodesy.direct(p.lat_deg, p.lon_deg, 80.0, 400e3)
    out = assess_report("nodong", "Wonsan", f"{float(lat)},{float(lon)}")
    assert out["decision"] == "no-engage"
    assert sum(out["p_impact"].values()) < 0.05


def test_space_launch_to_orbit_is_not_engaged_and_reports_drop_zones():
    out = assess_report("unha-3", "Sohae", "10,123", "orbit")
    assert out["decision"] == "no-engage"
    assert out["orbital"] is True
    assert out["truth"]["orbital"] is True
    zones = [z for z in out["drop_zones"] if not z["orbital"]]
    assert [z["stage"] for z in zones] == [1, 2]
    assert zones[0]["lat"] > zones[1]["lat"]  # launched south: the second stage falls further south


def test_same_seed_same_answer():
    a = assess_report("hwasong-12", "Sunan", "Andersen AFB, Guam", seed=5)
    b = assess_report("hwasong-12", "Sunan", "Andersen AFB, Guam", seed=5)
    assert a == b


def test_json_contract_keys():
    out = assess_report("nodong", "Pyongyang", "Tokyo", sensors="SBIRS,Kyogamisaki", protect="JPN")
    for key in ("decision", "reason", "declared_at_s", "predicted_impact", "p_impact", "threatened", "overflown",
                "orbital", "time_to_impact_s", "truth", "timeline"):
        assert key in out
    assert set(out["predicted_impact"]) >= {"lat", "lon", "semi_major_km", "semi_minor_km"}
    assert set(out["truth"]) >= {"impact", "apogee_km", "range_km", "flight_time_s"}
    assert out["sensors"] == ["SBIRS", "Kyogamisaki"]
    assert set(out["p_impact"]) == {"JPN"}
    events = [e["event"] for e in out["timeline"]]
    assert events[0] == "launch" and "track established" in events and any(e.startswith("decision") for e in events)
    assert [e["t_s"] for e in out["timeline"]] == sorted(e["t_s"] for e in out["timeline"])
    # the ground track runs from near the launch point to near the predicted impact
    gt = np.array(out["ground_track"])
    assert len(gt) > 10
    start = geodesy.inverse(gt[0, 0], gt[0, 1], 39.01944, 125.73806)[0]
    end = geodesy.inverse(gt[-1, 0], gt[-1, 1], out["predicted_impact"]["lat"], out["predicted_impact"]["lon"])[0]
    assert float(start) < 300e3 and float(end) < 100e3
