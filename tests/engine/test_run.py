"""Every example scenario runs, and its outcome agrees with the physics and the policy."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bmdsim.cli import app
from bmdsim.engine.run import run_scenario
from bmdsim.engine.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
runner = CliRunner()


def _run(name, **overrides):
    sc = load_scenario(SCENARIOS / name).resolved()
    batteries = sc.batteries
    if "sspk" in overrides:
        batteries = tuple(
            b.model_copy(update={"interceptor_overrides": {**b.interceptor_overrides, "sspk": overrides["sspk"]}})
            for b in batteries
        )
    r = run_scenario(sc.name, sc.seed, sc.threat_specs(), sc.sensors, batteries, sc.policy, sc.doctrine_map())
    return r, r.as_json()


def test_every_example_scenario_is_here():
    assert len(list(SCENARIOS.glob("*.toml"))) >= 6


def test_tests_into_the_sea_are_not_engaged():
    # the lofted Hwasong-14 of 2017-07-04 and the August 2017 plan to land four Hwasong-12s
    # 30-40 km off Guam (outside its 12-nmi territorial sea): no shot is fired
    for name in ("hwasong14_lofted_2017.toml", "guam_2017_plan.toml"):
        _, out = _run(name)
        assert all(t["decision"] == "no-engage" for t in out["threats"]), name
        assert out["summary"]["interceptors_fired"] == 0
        assert not any(e["kind"] == "interceptor launch" for e in out["events"])


def test_hokkaido_overflight_is_not_engaged_but_overflies_japan():
    _, out = _run("hokkaido_overflight_2017.toml")
    (t,) = out["threats"]
    assert t["decision"] == "no-engage" and t["impact"] is not None
    assert "JPN" in t["overflown"]


def test_space_launch_is_orbital_and_not_engaged():
    _, out = _run("unha3_launch_2012.toml")
    (t,) = out["threats"]
    assert t["decision"] == "no-engage" and t["orbital"] and t["impact"] is None


def test_alaska_only_fort_greely_fires_and_sure_kills_leave_no_leakers():
    r, out = _run("alaska_hwasong15.toml", sspk=1.0)
    assert all(t["decision"] == "engage" and t["threatened"] == ["USA"] for t in out["threats"])
    sites = {lk["battery"] for lk in r.battle.looks}
    assert sites == {"Fort Greely"}
    assert out["summary"]["leakers"] == 0 and out["summary"]["intercepted"] == len(out["threats"])
    # shoot-look-shoot with a sure first look: two GBIs per threat, the second look held
    assert all(t["interceptors_fired"] == 2 for t in out["threats"])


def test_gmd_against_five_with_duds_lets_all_five_through():
    r, out = _run("gmd_five_hwasong15.toml", sspk=0.0)
    assert len(out["threats"]) == 5
    assert all(t["decision"] == "engage" for t in out["threats"])
    assert out["summary"]["leakers"] == 5 and out["summary"]["intercepted"] == 0
    assert {lk["battery"] for lk in r.battle.looks} <= {"Fort Greely", "Vandenberg"}
    assert sum(1 for e in out["events"] if e["kind"] == "leaker impact") == 5


def test_guam_salvo_is_defended_by_the_guam_fire_units():
    r, out = _run("guam_salvo_defense.toml", sspk=1.0)
    assert all(t["decision"] == "engage" and t["threatened"] == ["GUM"] for t in out["threats"])
    assert out["summary"]["leakers"] == 0
    assert all("Guam" in lk["battery"] for lk in r.battle.looks)


def test_seoul_is_defended_by_the_lower_layers():
    r, out = _run("seoul_layered_nodong.toml", sspk=1.0)
    assert all(t["decision"] == "engage" and t["threatened"] == ["KOR"] for t in out["threats"])
    fired = {lk["battery"] for lk in r.battle.looks}
    assert fired and not any("Greely" in f or "Vandenberg" in f for f in fired)
    assert out["summary"]["leakers"] == 0


def test_same_seed_same_run():
    _, a = _run("guam_salvo_defense.toml")
    _, b = _run("guam_salvo_defense.toml")
    assert a == b


def test_events_on_a_deterministic_clock():
    r, out = _run("gmd_five_hwasong15.toml")
    t_ms = [e["t_ms"] for e in r.events]
    assert t_ms == sorted(t_ms)
    assert all(isinstance(x, int) for x in t_ms)
    kinds = {e["kind"] for e in out["events"]}
    assert {"launch", "detection", "track established", "threat declared", "interceptor launch", "intercept"} <= kinds


def test_cli_run_json_and_pictures(tmp_path):
    res = runner.invoke(app, ["run", str(SCENARIOS / "guam_salvo_defense.toml"), "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) >= {"scenario", "threats", "events"}
    for t in out["threats"]:
        assert set(t) >= {"id", "decision", "intercepted", "leaked", "interceptors_fired", "impact"}
    for e in out["events"]:
        assert set(e) == {"t_s", "kind", "detail"}
    assert json.loads((tmp_path / "result.json").read_text())["scenario"] == out["scenario"]
    import matplotlib.image as mpimg

    img = mpimg.imread(tmp_path / "map.png")
    # looked at: a real map, many colours, with protected territory (the blue fill) in it
    rgb = img[..., :3].reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 100
    blue = (rgb[:, 2] > rgb[:, 0] + 0.15) & (rgb[:, 2] > 0.6)
    assert blue.mean() > 0.005
    for name in ("altitude.png", "timeline.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_cli_human_run_and_validate():
    res = runner.invoke(app, ["run", str(SCENARIOS / "hwasong14_lofted_2017.toml")])
    assert res.exit_code == 0 and "T+" in res.output and "Summary" in res.output
    res = runner.invoke(app, ["validate", str(SCENARIOS / "alaska_hwasong15.toml")])
    assert res.exit_code == 0 and "valid" in res.output


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[scenario\nname = 'x'", "line"),
        ("[scenario]\nname = 'x'\n[[threat]]\nmissile = 'hwasong-15'\nlaunch = 'Sohae'\naim = 'Seattle'\nprofil = 'lofted'\n", "profile"),
        ("[scenario]\nname = 'x'\n", "threat"),
        ("[scenario]\nname = 'x'\nseed = 'seven'\n[[threat]]\nmissile = 'hwasong-15'\nlaunch = 'Sohae'\naim = 'Seattle'\n", "seed"),
        ("[scenario]\nname = 'x'\n[[threat]]\nmissile = 'hwasong-51'\nlaunch = 'Sohae'\naim = 'Seattle'\n", "hwasong-15"),
    ],
)
def test_cli_bad_scenarios_exit_2_with_one_clear_message(tmp_path, text, needle):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    for cmd in ("validate", "run"):
        res = runner.invoke(app, [cmd, str(f)])
        assert res.exit_code == 2, res.output
        assert "bad.toml" in res.output and needle in res.output and "Traceback" not in res.output


def test_a_raid_of_20_respects_inventories():
    # 14 ICBMs at the United States against 44 GBIs fired four at a time: only 11 can be
    # engaged; the battle manager gives the rest nothing and they leak
    from bmdsim.engine.scenario import parse_scenario

    text = """
[scenario]
name = "Raid of 20"
seed = 3
[[threat]]
missile = "hwasong-15"
launch = "Sohae"
aim = "Seattle"
count = 8
[[threat]]
missile = "hwasong-15"
launch = "Pyongsong"
aim = "Anchorage"
count = 6
[[threat]]
missile = "hwasong-12"
launch = "Sunan"
aim = "Andersen AFB, Guam"
count = 6
[[battery]]
site = "Fort Greely"
[[battery]]
site = "Vandenberg"
[[battery]]
site = "Guam"
[doctrine]
mode = "salvo"
shots = 4
"""
    sc = parse_scenario(text).resolved()
    r = run_scenario(sc.name, sc.seed, sc.threat_specs(), sc.sensors, sc.batteries, sc.policy, sc.doctrine_map())
    out = r.as_json()
    assert len(out["threats"]) == 20 and all(t["decision"] == "engage" for t in out["threats"])
    gbi = sum(lk["shots"] for lk in r.battle.looks if lk["battery"] in ("Fort Greely", "Vandenberg"))
    assert gbi <= 44
    unengaged_icbms = sum(1 for t in out["threats"][:14] if t["interceptors_fired"] == 0)
    assert unengaged_icbms >= 3
    assert all(t["leaked"] for t in out["threats"][:14] if t["interceptors_fired"] == 0)
