"""The interceptor and fire-unit catalogs: complete, sourced, looked up by name, overridable.

Oracles: shared/reference/systems.md for the published figures (test records, ranges, ceilings,
speeds, inventories); shared/reference/places.json and data/sensors.toml for the sites (exact
equality: the catalogs copy them); the conjugate Beta-binomial update (Gelman et al., Bayesian
Data Analysis, 3rd ed., sec. 2.4) for the SSPK fit, exact in floating point because a + b is a
sum of small integers and halves.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmdsim.defense.interceptors import (
    BATTERY_SOURCE_KEYS,
    INTERCEPTOR_SOURCE_KEYS,
    PRIORS,
    batteries_on,
    battery_catalog,
    beta_posterior,
    get_battery,
    get_interceptor,
    interceptor_catalog,
    interceptor_ids,
    interceptor_modes,
)
from bmdsim.errors import BmdsimInputError, UnknownNameError
from bmdsim.sensors import get_sensor

KM = 1000.0
REQUIRED_IDS = ("gbi-ce1", "gbi-ce2", "gbi-ce2:2stage", "ngi", "sm3-ib", "sm3-iia", "thaad", "pac3-mse")
REQUIRED_BATTERIES = ("Fort Greely", "Vandenberg", "Seongju", "Guam", "Aegis Sea of Japan IIA", "Aegis Sea of Japan IB",
                      "Aegis East China Sea IIA", "Aegis East China Sea IB", "Aegis Guam IIA", "Aegis Guam IB",
                      "Patriot Osan", "Patriot Kadena", "Patriot Ichigaya")


def test_every_interceptor_present_and_every_figure_sourced():
    cat = interceptor_catalog()
    assert set(REQUIRED_IDS) <= set(cat)
    assert tuple(interceptor_ids()) == tuple(cat)
    for iid, s in cat.items():
        missing = [k for k in INTERCEPTOR_SOURCE_KEYS if not s.source.get(k, "").strip()]
        assert not missing, f"{iid}: no source for {missing}"
        assert s.test_trials > 0 and 0 <= s.test_successes <= s.test_trials
        assert s.min_intercept_alt_m < s.max_intercept_alt_m


def test_every_fire_unit_present_and_sourced():
    cat = battery_catalog()
    names = {b.name for b in cat.values()}
    assert set(REQUIRED_BATTERIES) <= names
    for bid, b in cat.items():
        missing = [k for k in BATTERY_SOURCE_KEYS if not b.source.get(k, "").strip()]
        assert not missing, f"{bid}: no source for {missing}"
        assert b.interceptor in interceptor_catalog()


def test_published_figures(reference_dir):
    # oracle: shared/reference/systems.md, figures as printed there
    text = (reference_dir / "systems.md").read_text()
    gmd = get_interceptor("gbi-ce2")
    assert (gmd.test_successes, gmd.test_trials) == (12, 20) and "12 of 20" in text
    aegis = get_interceptor("sm3-iia")
    assert (aegis.test_successes, aegis.test_trials) == (34, 41) and "34 of 41" in text
    thaad = get_interceptor("thaad")
    assert (thaad.test_successes, thaad.test_trials) == (15, 15) and "15 of 15" in text
    assert aegis.max_range_m == 2500 * KM and aegis.max_intercept_alt_m == 1000 * KM and "2,500 km" in text
    assert aegis.burnout_speed_mps == 4500.0 and "4.5 km/s" in text
    assert get_interceptor("sm3-ib").burnout_speed_mps == 3000.0 and "~3 km/s" in text
    assert thaad.max_range_m == 200 * KM and thaad.max_intercept_alt_m == 150 * KM and thaad.burnout_speed_mps == 2800.0
    pac3 = get_interceptor("pac3-mse")
    assert pac3.max_range_m == 70 * KM and pac3.max_intercept_alt_m == 24 * KM and "~24 km altitude" in text
    assert abs(gmd.burnout_speed_mps - 6300.0) <= 100.0 and "6.3 km/s" in text
    assert get_battery("Fort Greely").rounds == 40 and get_battery("Vandenberg").rounds == 4
    assert "40 at Fort Greely, 4 at Vandenberg" in text


@pytest.mark.parametrize("name,iid", [("GBI-CE2", "gbi-ce2"), ("gbi ce2", "gbi-ce2"), ("GBI CE-II", "gbi-ce2"),
                                      ("gbi-ce2:2stage", "gbi-ce2:2stage"), ("GBI-CE2:2-stage", "gbi-ce2:2stage"),
                                      ("gbi-ce2:3stage", "gbi-ce2"), ("SM-3 IIA", "sm3-iia"), ("sm3_ib", "sm3-ib"),
                                      ("THAAD", "thaad"), ("PAC-3 MSE", "pac3-mse"), ("Next Generation Interceptor", "ngi")])
def test_lookup_ignores_case_and_punctuation(name, iid):
    assert get_interceptor(name).id == iid


def test_booster_modes():
    three, two = get_interceptor("gbi-ce2"), get_interceptor("gbi-ce2:2stage")
    assert three.mode == "3stage" and two.mode == "2stage"
    assert interceptor_modes("gbi-ce2") == ("3stage", "2stage")
    assert two.burn_time_s < three.burn_time_s and two.burnout_speed_mps < three.burnout_speed_mps
    assert two.source["burn_time_s"] != three.source["burn_time_s"]  # the mode has its own sources
    assert two.source["test_record"] == three.source["test_record"]  # and inherits the rest
    via_override = get_interceptor("gbi-ce2", {"mode": "2stage", "sspk": 0.7})
    assert via_override.id == "gbi-ce2:2stage" and via_override.burn_time_s == two.burn_time_s and via_override.sspk == 0.7
    assert get_interceptor("gbi-ce2:2stage", {"mode": "3stage"}) == three
    with pytest.raises(UnknownNameError) as exc:
        get_interceptor("gbi-ce2", {"mode": "2stg"})
    assert exc.value.field == "interceptor.mode" and "2stage" in exc.value.suggestions
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"mode": "2stage"})
    assert exc.value.field == "interceptor.mode"


def test_unknown_interceptor_suggests_close_names():
    with pytest.raises(UnknownNameError) as exc:
        get_interceptor("sm3-iib")
    assert exc.value.field == "interceptor"
    assert {"sm3-ib", "sm3-iia"} & set(exc.value.suggestions)
    with pytest.raises(UnknownNameError) as exc:
        get_interceptor("thad", field="scenario.batteries[0].interceptor")
    assert exc.value.field == "scenario.batteries[0].interceptor" and "thaad" in exc.value.suggestions
    with pytest.raises(BmdsimInputError):
        get_interceptor("")


@pytest.mark.parametrize("iid", REQUIRED_IDS)
def test_sspk_beta_is_the_posterior_of_the_record(iid):
    # Beta-binomial conjugacy: posterior Beta(s + 1, n - s + 1) under the uniform prior, mean (s + 1) / (n + 2)
    s = get_interceptor(iid)
    a, b = s.sspk_beta
    assert s.prior == "uniform"
    assert (a, b) == (s.test_successes + 1, s.test_trials - s.test_successes + 1)
    assert s.sspk_mean == (s.test_successes + 1) / (s.test_trials + 2)
    j = get_interceptor(iid, {"prior": "jeffreys"})
    assert j.sspk_mean == (s.test_successes + 0.5) / (s.test_trials + 1)


def test_sspk_numbers():
    # GMD 12 of 20: 13 / 22; Aegis 34 of 41: 35 / 43; THAAD 15 of 15: 16 / 17
    assert get_interceptor("gbi-ce2").sspk_mean == pytest.approx(13 / 22, abs=1e-15)
    assert get_interceptor("sm3-iia").sspk_mean == pytest.approx(35 / 43, abs=1e-15)
    assert get_interceptor("thaad").sspk_mean == pytest.approx(16 / 17, abs=1e-15)
    # the 2017 record of defense_math.json, 10 of 18: the raw rate 0.5556; the uniform-prior mean 11/20
    old = get_interceptor("gbi-ce2", {"test_successes": 10, "test_trials": 18})
    assert old.sspk_mean == 11 / 20


@given(n=st.integers(0, 500), frac=st.floats(0, 1), prior=st.sampled_from(sorted(PRIORS)))
def test_beta_mean_exact(n, frac, prior):
    s = int(round(frac * n))
    a0, b0 = PRIORS[prior]
    a, b = beta_posterior(s, n, prior)
    assert a / (a + b) == (s + a0) / (n + a0 + b0)


def test_sample_sspk():
    s = get_interceptor("sm3-iia")
    x = s.sample_sspk(np.random.default_rng(7), 200_000)
    a, b = s.sspk_beta
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    # the sample mean within its 99.9 % interval (3.3 standard errors)
    assert abs(x.mean() - s.sspk_mean) < 3.3 * sd / math.sqrt(x.size)
    assert abs(x.std() - sd) < 0.01 * sd
    assert x.shape == (200_000,) and np.all((x > 0) & (x < 1))
    # same seed, same draws (explicit randomness)
    assert np.array_equal(s.sample_sspk(np.random.default_rng(7), 10), s.sample_sspk(np.random.default_rng(7), 10))
    fixed = get_interceptor("sm3-iia", {"sspk": 0.85})
    assert fixed.sspk_mean == 0.85
    assert np.all(fixed.sample_sspk(np.random.default_rng(0), 5) == 0.85)
    assert fixed.sspk_beta == s.sspk_beta  # the record is kept; only the SSPK in use is fixed


def test_interceptor_overrides_validated():
    s = get_interceptor("thaad", {"max_range_m": 150 * KM, "launch_delay_s": 20})
    assert s.max_range_m == 150 * KM and s.launch_delay_s == 20
    assert get_interceptor("thaad").max_range_m == 200 * KM  # the catalog entry is untouched
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"sspk": 1.5})
    assert exc.value.field == "interceptor.sspk" and exc.value.value == 1.5
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"min_intercept_alt_m": 200 * KM})
    assert exc.value.field == "interceptor.min_intercept_alt_m" and "max_intercept_alt_m" in exc.value.allowed
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"test_successes": 16})
    assert exc.value.field == "interceptor.test_successes"
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"prior": "haldane"})
    assert exc.value.field == "interceptor.prior"
    with pytest.raises(UnknownNameError) as exc:
        get_interceptor("thaad", {"burnout_speed": 3000})
    assert exc.value.field == "interceptor.overrides" and "burnout_speed_mps" in exc.value.suggestions
    with pytest.raises(BmdsimInputError) as exc:
        get_interceptor("thaad", {"burnout_speed_mps": -1}, field="scenario.interceptors.thaad")
    assert exc.value.field == "scenario.interceptors.thaad.burnout_speed_mps"
    with pytest.raises(BmdsimInputError):
        get_interceptor("thaad", {"id": "other"})


# ---------------------------------------------------------------------------------------------
# fire units
# ---------------------------------------------------------------------------------------------

def test_battery_sites_match_the_reference(reference_dir):
    ref = json.loads((reference_dir / "places.json").read_text())["interceptor_sites"]
    pairs = {"Fort Greely": "Fort Greely (GBI), Alaska, approx", "Vandenberg": "Vandenberg SFB (GBI), California, approx",
             "Seongju": "Seongju (THAAD), South Korea, approx", "Guam": "Andersen AFB (THAAD), Guam"}
    for battery, place in pairs.items():
        b = get_battery(battery)
        assert [b.site_lat_deg, b.site_lon_deg] == ref[place], battery
    assert get_battery("Seongju").interceptor == get_battery("Guam").interceptor == "thaad"
    assert get_battery("Fort Greely").interceptor == "gbi-ce2"


@pytest.mark.parametrize("station", ["Aegis Sea of Japan", "Aegis East China Sea", "Aegis Guam"])
def test_aegis_ships_sit_at_their_radar_stations(station):
    radar = get_sensor(station)
    units = batteries_on(station)
    assert {u.interceptor for u in units} == {"sm3-ib", "sm3-iia"}
    assert sum(u.rounds for u in units) == 8
    for u in units:
        assert (u.site_lat_deg, u.site_lon_deg) == (radar.site_lat_deg, radar.site_lon_deg)
        assert u.platform == station


@pytest.mark.parametrize("name,bid", [("fort greely", "fort-greely"), ("FT. GREELY", "fort-greely"),
                                      ("Fort Greely (GBI), Alaska", None), ("guam", "guam"), ("THAAD Korea", "seongju"),
                                      ("tokyo ichigaya", "patriot-ichigaya"), ("Aegis SOJ IIA", "aegis-sea-of-japan-iia")])
def test_battery_lookup(name, bid):
    if bid is None:  # a place name is not a battery name
        with pytest.raises(UnknownNameError):
            get_battery(name)
    else:
        assert get_battery(name).id == bid


def test_battery_lookup_errors():
    with pytest.raises(UnknownNameError) as exc:
        get_battery("Fort Greeley")
    assert exc.value.field == "battery" and "Fort Greely" in exc.value.suggestions
    with pytest.raises(BmdsimInputError) as exc:  # a platform with two fire units: name one
        get_battery("Aegis Sea of Japan")
    assert set(exc.value.suggestions) == {"Aegis Sea of Japan IIA", "Aegis Sea of Japan IB"}
    with pytest.raises(UnknownNameError):
        batteries_on("Aegis Sea of Japn")


def test_battery_overrides_validated():
    b = get_battery("Aegis Guam IIA", {"site": "Pearl Harbor", "rounds": 6})
    assert b.site_name == "Pearl Harbor" and b.rounds == 6 and b.site_lat_deg == 21.36
    b = get_battery("Fort Greely", {"interceptor": "GBI-CE2:2stage", "interceptor_overrides": {"sspk": 0.75}})
    spec = b.interceptor_spec()
    assert b.interceptor == "gbi-ce2:2stage" and spec.mode == "2stage" and spec.sspk_mean == 0.75
    with pytest.raises(BmdsimInputError) as exc:
        get_battery("Fort Greely", {"rounds": -1})
    assert exc.value.field == "battery.rounds"
    with pytest.raises(UnknownNameError) as exc:
        get_battery("Fort Greely", {"interceptor": "gbi-ce3"})
    assert exc.value.field == "battery.interceptor" and "gbi-ce2" in exc.value.suggestions
    with pytest.raises(BmdsimInputError) as exc:
        get_battery("Fort Greely", {"interceptor_overrides": {"sspk": 2}})
    assert exc.value.field == "battery.interceptor_overrides.sspk"
    with pytest.raises(BmdsimInputError) as exc:
        get_battery("Fort Greely", {"site": "95, 10"})
    assert exc.value.field == "battery.site"
    with pytest.raises(UnknownNameError) as exc:
        get_battery("Fort Greely", {"magazine": 3})
    assert exc.value.field == "battery.overrides"


def test_battery_site_ecef():
    from bmdsim.earth.frames import geodetic_to_ecef

    b = get_battery("Seongju")
    np.testing.assert_allclose(b.site_ecef_m, geodetic_to_ecef(b.site_lat_deg, b.site_lon_deg, b.site_alt_m), atol=1e-6)
