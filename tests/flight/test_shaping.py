"""Trajectory shaping on the full model (rotating WGS-84 Earth, J2, drag): impact within 1 km."""

import numpy as np
import pytest

from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place
from bmdsim.errors import UnreachableError
from bmdsim.flight.shaping import max_range_toward, shape
from bmdsim.threats.catalog import get_missile

KM = 1000.0


def _miss_m(s, aim):
    lat, lon = s.flight.impact_lat_lon_deg
    d, _, _ = geodesy.inverse(lat, lon, aim.lat_deg, aim.lon_deg)
    return np.asarray(d)


def test_min_energy_hits_us_cities_from_sohae():
    m = get_missile("hwasong-15")
    sohae = get_place("Sohae")
    aims = [get_place(n) for n in ("Anchorage", "Honolulu", "Seattle")]
    s = shape([m] * 3, sohae.lat_deg, sohae.lon_deg, [a.lat_deg for a in aims], [a.lon_deg for a in aims])
    for i, a in enumerate(aims):
        assert _miss_m(s, a)[i] < 1 * KM
    assert s.converged.all()


@pytest.mark.parametrize(
    "profile, apogee_km",
    [("lofted", 2800.0), ("depressed", 350.0)],
)
def test_lofted_and_depressed_reach_their_apogee(profile, apogee_km):
    m = get_missile("hwasong-14")
    launch, aim = get_place("Panghyon"), get_place("Tokyo")
    s = shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg, profile, apogee_m=apogee_km * KM)
    assert _miss_m(s, aim)[0] < 1 * KM
    assert s.flight.apogee_h_m[0] == pytest.approx(apogee_km * KM, abs=1 * KM)


def test_profiles_order_their_apogees_and_flight_times():
    # lofted above min-energy above depressed, at the same range
    m = get_missile("hwasong-12")
    launch, aim = get_place("Pyongyang"), get_place("Andersen AFB, Guam")
    me = shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg)
    apo = me.flight.apogee_h_m[0]
    lo = shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg, "lofted", apogee_m=apo * 1.5)
    de = shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg, "depressed", apogee_m=apo * 0.6)
    assert lo.flight.t_impact_s[0] > me.flight.t_impact_s[0] > de.flight.t_impact_s[0]


def test_out_of_reach_names_the_maximum_range():
    m = get_missile("nodong")
    launch, aim = get_place("Pyongyang"), get_place("Honolulu")
    with pytest.raises(UnreachableError) as exc:
        shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg)
    assert "reaches at most" in str(exc.value)
    mr = max_range_toward([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg)
    assert f"{float(mr['max_range_m'][0]) / 1e3:,.0f} km" in str(exc.value)


def test_earth_rotation_helps_eastward():
    # launching east adds the ground's ~370 m/s (at 39 N) to the burnout speed: more range
    m = get_missile("hwasong-15")
    p = get_place("Sohae")
    east = geodesy.direct(p.lat_deg, p.lon_deg, 90.0, 5000e3)
    west = geodesy.direct(p.lat_deg, p.lon_deg, 270.0, 5000e3)
    mr = max_range_toward([m, m], p.lat_deg, p.lon_deg, [east[0], west[0]], [east[1], west[1]])
    assert mr["max_range_m"][0] > mr["max_range_m"][1] + 500 * KM


def test_spent_stages_fall_downrange_in_order():
    # staging happens further downrange each time: the stages fall in order along the track,
    # the first within a few hundred km of the launch point
    from bmdsim.flight.stages import drop_zones

    m = get_missile("hwasong-15")
    launch, aim = get_place("Sohae"), get_place("Seattle")
    s = shape([m], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg)
    zones = drop_zones(s.flight, m)
    assert [z.stage for z in zones] == [1, 2]
    d = [float(geodesy.inverse(launch.lat_deg, launch.lon_deg, z.lat_deg, z.lon_deg)[0]) for z in zones]
    assert 50 * KM < d[0] < 1000 * KM
    assert d[1] > d[0]
    assert all(z.t_impact_s > s.flight.t_burnout_s[0] * 0.3 for z in zones)
