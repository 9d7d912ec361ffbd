"""Closed-form free flight against the published minimum-energy table and BMW's example."""

import json

import numpy as np
import pytest

from bmdsim.flight import kepler


@pytest.fixture(scope="module")
def table(reference_dir):
    return json.loads((reference_dir / "min_energy.json").read_text())


def test_min_energy_rows_match_reference(table):
    # oracle: ../shared/reference/min_energy.json (BMW 6.2), matched to the last printed digit
    mu = table["constants"]["mu_km3_s2"] * 1e9
    radius = table["constants"]["R_km"] * 1e3
    for rng_km, v_kms, g_deg, apo_km, coast_min in table["rows"]:
        me = kepler.min_energy(rng_km * 1e3, radius_m=radius, mu=mu)
        assert me["burnout_speed_mps"] / 1e3 == pytest.approx(v_kms, abs=0.0005 + 1e-9)
        assert me["flight_path_angle_deg"] == pytest.approx(g_deg, abs=0.005 + 1e-9)
        assert me["apogee_altitude_m"] / 1e3 == pytest.approx(apo_km, abs=0.5 + 1e-9)
        assert me["coast_time_s"] / 60 == pytest.approx(coast_min, abs=0.005 + 1e-9)


def test_bmw_example_6_2(table):
    # oracle: BMW example 6.2 in min_energy.json: r = 1.2 DU, v = 0.6667 DU/TU, apogee 1.5 DU
    ex = table["textbook_examples"][0]
    r, v, ra = ex["burnout_radius_DU"], ex["burnout_speed_DU_TU"], ex["apogee_radius_DU"]
    q = v * v * r  # mu = 1 in canonical units
    v_apogee = np.sqrt(v * v - 2.0 * (1.0 / r - 1.0 / ra))
    cos_g = ra * v_apogee / (r * v)  # angular momentum conserved
    assert cos_g == pytest.approx(ex["expect"]["cos_flight_path_angle"], abs=5e-4)
    assert q == pytest.approx(ex["expect"]["Q"], abs=5e-4)
    psi = np.degrees(kepler.range_angle(q, np.arccos(cos_g)))
    assert psi == pytest.approx(ex["expect"]["range_angle_deg"], abs=0.05)
    assert kepler.apogee_radius(r, v, np.arccos(cos_g), mu=1.0) == pytest.approx(ra, rel=1e-3)


def test_min_energy_is_the_range_maximum():
    # cross-check: at the min-energy speed, no other flight-path angle goes further
    psi = 8000e3 / 6371e3
    q = kepler.min_energy_q(psi)
    g = np.radians(np.linspace(5, 85, 2001))
    psis = kepler.range_angle(q, g)
    assert psis.max() == pytest.approx(psi, rel=1e-6)
    assert np.degrees(g[np.argmax(psis)]) == pytest.approx(np.degrees(kepler.min_energy_flight_path_angle(psi)), abs=0.05)
    assert kepler.max_range_m(np.sqrt(q * 3.986004418e14 / 6371e3), radius_m=6371e3) == pytest.approx(8000e3, rel=1e-9)
