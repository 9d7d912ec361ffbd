"""Battle management end to end: windows that must (not) exist, events, leakers.

Geometry that must hold (the issue): GBIs from Fort Greely against a Hwasong-15 from Sohae to
Seattle; THAAD on Guam against a Hwasong-12 to Guam; no window for THAAD at Seongju against an
ICBM bound for the United States, nor for a GBI against a 300-km missile at Seoul.
"""

import numpy as np
import pytest

from bmdsim.assessment.policy import Policy
from bmdsim.defense.doctrine import Doctrine
from bmdsim.defense.interceptors import get_battery
from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place, resolve_point
from bmdsim.engine.assess import assess_threat, fly_truth
from bmdsim.engine.engage import engage
from bmdsim.sensors import catalog
from bmdsim.threats.catalog import get_missile

SENSORS = list(catalog().values())


def _assessed(missile, launch, aim, seed=1):
    tr = fly_truth(get_missile(missile), resolve_point(launch), resolve_point(aim), "min-energy", None)
    return assess_threat(tr, SENSORS, Policy(), np.random.default_rng(seed))


@pytest.fixture(scope="module")
def hs15_seattle():
    return _assessed("hwasong-15", "Sohae", "Seattle")


@pytest.fixture(scope="module")
def seoul_300km():
    seoul = get_place("Seoul")
    lat, lon, _ = geodesy.direct(seoul.lat_deg, seoul.lon_deg, 330.0, 300e3)
    return _assessed("nodong", f"{float(lat)},{float(lon)}", "Seoul")


def _window(result, name):
    return next(w for w in result.outcomes[0].windows if w.battery.name == name)


def test_gbi_from_fort_greely_has_a_window_against_hs15_to_seattle(hs15_seattle):
    res = engage([hs15_seattle], [get_battery("Fort Greely"), get_battery("Seongju")], Doctrine(), np.random.default_rng(0))
    w = _window(res, "Fort Greely")
    assert not w.empty
    assert hs15_seattle.decision.declared_at_s < w.t_launch_s[0] < w.earliest_s <= w.latest_s
    # midcourse: the intercept point is in space, within the GBI's band
    assert w.interceptor.min_intercept_alt_m <= w.alt_m.min() and w.alt_m.max() <= w.interceptor.max_intercept_alt_m
    # THAAD at Seongju: nothing against an ICBM bound for the United States
    s = _window(res, "Seongju")
    assert s.empty and s.reason


def test_thaad_on_guam_has_a_window_against_hs12_to_guam():
    a = _assessed("hwasong-12", "Sunan", "Andersen AFB, Guam")
    res = engage([a], [get_battery("Guam")], Doctrine(), np.random.default_rng(0))
    w = _window(res, "Guam")
    assert not w.empty
    assert w.alt_m.max() <= w.interceptor.max_intercept_alt_m


def test_gbi_has_no_window_against_a_300_km_missile_at_seoul(seoul_300km):
    assert seoul_300km.decision.decision == "engage"
    res = engage([seoul_300km], [get_battery("Fort Greely"), get_battery("Patriot Osan")], Doctrine(), np.random.default_rng(0))
    assert _window(res, "Fort Greely").empty
    assert not _window(res, "Patriot Osan").empty  # the lower tier can


def test_events_and_outcome_with_fixed_kill_probability(hs15_seattle):
    # sspk 1: the first salvo kills; sspk 0: every shot misses and the threat leaks
    sure = get_battery("Fort Greely", {"interceptor_overrides": {"sspk": 1.0}})
    res = engage([hs15_seattle], [sure], Doctrine(mode="salvo", shots=2), np.random.default_rng(0))
    o = res.outcomes[0]
    assert o.intercepted and not o.leaked and o.interceptors_fired == 2
    kinds = [e.kind for e in res.events]
    assert kinds == ["interceptor launch", "intercept", "kill assessment"]
    assert [e.t_s for e in res.events] == sorted(e.t_s for e in res.events)

    dud = get_battery("Fort Greely", {"interceptor_overrides": {"sspk": 0.0}})
    res = engage([hs15_seattle], [dud], Doctrine(mode="salvo", shots=3), np.random.default_rng(0))
    o = res.outcomes[0]
    assert o.leaked and not o.intercepted
    assert res.events[-1].kind == "leaker impact"


def test_shoot_look_shoot_holds_rounds_after_a_kill(hs15_seattle):
    # two looks of two at p = 0.5: the second look flies only when the first is assessed a miss
    bat = get_battery("Fort Greely", {"interceptor_overrides": {"sspk": 0.5}})
    seen = set()
    for seed in range(12):
        res = engage([hs15_seattle], [bat], Doctrine(mode="shoot-look-shoot", shots=2, looks=2), np.random.default_rng(seed))
        assert res.shots.sum() == 4  # both looks assigned
        first = next(e for e in res.events if e.kind == "intercept")
        hit_first = "hit" in first.detail
        seen.add(hit_first)
        assert res.outcomes[0].interceptors_fired == (2 if hit_first else 4)
        launches = [e.t_s for e in res.events if e.kind == "interceptor launch"]
        if not hit_first:
            ka = next(e.t_s for e in res.events if e.kind == "kill assessment")
            assert launches[1] >= ka  # looked before shooting again
    assert seen == {True, False}


def test_not_engaged_threats_draw_no_fire():
    p = get_place("Panghyon")
    lat, lon, _ = geodesy.direct(p.lat_deg, p.lon_deg, 90.0, 933e3)
    tr = fly_truth(get_missile("hwasong-14"), p, resolve_point(f"{float(lat)},{float(lon)}"), "lofted", 2802e0)
    a = assess_threat(tr, SENSORS, Policy(), np.random.default_rng(1))
    res = engage([a], [get_battery("Fort Greely")], Doctrine(), np.random.default_rng(0))
    assert not res.outcomes[0].engaged and res.events == [] and res.shots.sum() == 0


def test_layered_defense_midcourse_then_terminal():
    # Guam: SM-3 IIA from the Aegis ship in midcourse, then THAAD in the terminal phase; both
    # layers get a salvo, the midcourse one is fired first, and the terminal one only flies if
    # no kill is known by its launch
    a = _assessed("hwasong-12", "Sunan", "Andersen AFB, Guam")
    sm3 = get_battery("Aegis Guam IIA", {"interceptor_overrides": {"sspk": 0.5}})
    thaad = get_battery("Guam", {"interceptor_overrides": {"sspk": 0.5}})
    docs = {"sm3-iia": Doctrine(mode="salvo", shots=2), "thaad": Doctrine(mode="salvo", shots=2)}
    fired = set()
    for seed in range(10):
        res = engage([a], [sm3, thaad], docs, np.random.default_rng(seed))
        w_sm3, w_thaad = _window(res, "Aegis Guam IIA"), _window(res, "Guam")
        assert not w_sm3.empty and not w_thaad.empty and w_sm3.earliest_s < w_thaad.earliest_s
        assert res.shots.tolist() == [[2], [2]]
        launches = [e for e in res.events if e.kind == "interceptor launch"]
        assert launches[0].detail.startswith("Aegis Guam IIA")
        fired.add(res.outcomes[0].interceptors_fired)
        # both solvers on the same raid, the optimum no worse than greedy
        assert res.expected_value_by_method["milp"] >= res.expected_value_by_method["greedy"] - 1e-9
        assert res.expected_value == pytest.approx(1 - 0.25 * 0.25)
    assert 4 in fired


def test_pathset_windows_equal_one_path_at_a_time(hs15_seattle, seoul_300km):
    # the campaign's batched windows (one PathSet pass per fire unit) are the single-threat ones,
    # array for array, with each threat's own commit time and track quality
    from bmdsim.defense.battlespace import PathSet, engagement_window, per_path_sigma
    from bmdsim.engine.engage import committed

    guam = _assessed("hwasong-12", "Sunan", "Andersen AFB, Guam")
    cs = [committed(a) for a in (hs15_seattle, seoul_300km, guam)]
    assert all(c.engaged for c in cs)
    paths = PathSet([c.path for c in cs])
    sigma = per_path_sigma([c.sigma for c in cs])
    for name in ("Fort Greely", "Patriot Osan", "Guam"):
        bat = get_battery(name)
        batched = paths.windows(bat, [c.commit_s for c in cs], sigma)
        for c, w in zip(cs, batched):
            one = engagement_window(bat, c.path, c.commit_s, c.sigma)
            assert w.reason == one.reason
            for f in ("t_intercept_s", "t_launch_s", "flyout_s", "lat_deg", "lon_deg", "alt_m"):
                np.testing.assert_array_equal(getattr(w, f), getattr(one, f))
    # and the three fire units each have a window against their own threat only
    assert [w.empty for w in paths.windows(get_battery("Guam"), [c.commit_s for c in cs], sigma)] == [True, True, False]
    assert not paths.windows(get_battery("Patriot Osan"), [c.commit_s for c in cs], sigma)[1].empty


def test_fire_control_quality_removes_launch_times_with_a_poor_track(hs15_seattle):
    # a track worse than FC_SIGMA_M at every launch time leaves no window, with the reason;
    # one that is poor only before some time moves the earliest launch to after it
    from bmdsim.defense.battlespace import FC_SIGMA_M, engagement_window
    from bmdsim.engine.engage import committed

    c = committed(hs15_seattle)
    bat = get_battery("Fort Greely")
    good = engagement_window(bat, c.path, c.commit_s, lambda t: np.zeros(np.shape(t)))
    assert not good.empty
    bad = engagement_window(bat, c.path, c.commit_s, lambda t: np.full(np.shape(t), 2 * FC_SIGMA_M))
    assert bad.empty and bad.reason == "no fire-control quality track at the launch times"
    cut = float(np.median(good.t_launch_s))
    late = engagement_window(bat, c.path, c.commit_s, lambda t: np.where(np.asarray(t) < cut, 2 * FC_SIGMA_M, 10.0))
    assert late.t_launch_s.min() >= cut
    np.testing.assert_array_equal(late.t_launch_s, good.t_launch_s[good.t_launch_s >= cut])


def test_quiet_fight_with_given_specs_and_sspk_is_the_narrated_one(hs15_seattle, seoul_300km):
    # the campaign's battle (fire units' interceptors given once, each trial's SSPK as numbers,
    # no events) draws the same shots and outcomes as the single run's, which carries the SSPK
    # in copies of the fire units
    from bmdsim.engine.engage import committed, fight

    guam = _assessed("hwasong-12", "Sunan", "Andersen AFB, Guam")
    cs = [committed(a) for a in (hs15_seattle, seoul_300km, guam)]
    base = [get_battery(n) for n in ("Fort Greely", "Aegis Guam IIA", "Guam", "Patriot Osan")]
    specs = [b.interceptor_spec() for b in base]
    docs = {"sm3-iia": Doctrine(mode="shoot-look-shoot", shots=1, looks=2), "gbi-ce2": Doctrine(shots=2)}
    for seed in range(8):
        sspk = np.random.default_rng(seed).uniform(0.2, 0.9, len(base))
        copies = [b.model_copy(update={"interceptor_overrides": {**b.interceptor_overrides, "sspk": float(p)}})
                  for b, p in zip(base, sspk)]
        loud = fight(cs, copies, docs, np.random.default_rng(seed), compare_methods=False)
        quiet = fight(cs, base, docs, np.random.default_rng(seed), compare_methods=False, specs=specs, sspk=sspk,
                      narrate=False)
        np.testing.assert_array_equal(loud.shots, quiet.shots)
        assert loud.expected_value == quiet.expected_value
        assert quiet.events == [] and quiet.looks == []
        for a, b in zip(loud.outcomes, quiet.outcomes):
            assert (a.engaged, a.intercepted, a.leaked, a.interceptors_fired, a.intercept_point) == (
                b.engaged, b.intercepted, b.leaked, b.interceptors_fired, b.intercept_point)
    assert any(o.intercepted for o in loud.outcomes)


def test_window_points_lat_lon_and_height_are_the_geodetic_conversion(hs15_seattle):
    # the window keeps its intercept points in ECEF and converts on demand; the numbers are the
    # frames.ecef_to_geodetic ones (Vermeille 2002) to well under a millimetre
    from bmdsim.earth import frames

    res = engage([hs15_seattle], [get_battery("Fort Greely")], Doctrine(), np.random.default_rng(0))
    w = _window(res, "Fort Greely")
    lat, lon, h = frames.ecef_to_geodetic(w.r_ecef_m)
    np.testing.assert_allclose(w.lat_deg, lat, rtol=0, atol=1e-11)  # deg: 1e-11 deg ~ 1 um
    np.testing.assert_allclose(w.lon_deg, lon, rtol=0, atol=1e-11)
    np.testing.assert_allclose(w.alt_m, h, rtol=0, atol=1e-6)
    i = w.t_intercept_s.size // 2
    assert w.point_at(float(w.t_intercept_s[i])) == (float(w.lat_deg[i]), float(w.lon_deg[i]), float(w.alt_m[i]))
