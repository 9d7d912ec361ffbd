"""observe: coverage geometry, range limits, noise statistics, SBIRS timing, determinism.

Truth is built by hand (static points, straight vertical climbs) in ECEF, independent of the
flight code. Oracles: plain geometry (site ENU elevation from bmdsim.earth.frames, the horizon
distance sqrt(2 R h)), the radar equation R ~ rcs^(1/4), the normal distribution (sample
standard deviation within 5 % of sigma for n >= 4,000, mean within 3 standard errors), and
`measure` as the noise-free model of what observe reports.
"""

import numpy as np
import pytest
from pyproj import Geod

from bmdsim.earth.frames import az_el_range, geodetic_to_ecef
from bmdsim.errors import BmdsimInputError
from bmdsim.sensors import Detections, get_sensor, measure, observe
from bmdsim.sensors.geometry import wrap_pi

GEOD = Geod(ellps="WGS84")


def static_truth(r_ecef_m, t_s):
    """(N, 3) fixed points held over the grid t_s: (N, T, 3)."""
    r = np.asarray(r_ecef_m, dtype=float).reshape(-1, 3)
    return np.repeat(r[:, None, :], len(t_s), axis=1)


def point_from(site, az_deg, dist_m, h_m):
    lon, lat, _ = GEOD.fwd(site.site_lon_deg, site.site_lat_deg, az_deg, dist_m)
    return geodetic_to_ecef(lat, lon, h_m)


def run(sensors, r, t, rcs=0.01, burning=None, seed=0):
    n = r.shape[0]
    if burning is None:
        burning = np.zeros((n, len(t)), dtype=bool)
    return observe(sensors, t, r, burning, np.full(n, rcs), np.random.default_rng(seed))


T2 = np.array([0.0, 1.0])


# ---------------------------------------------------------------- coverage geometry

def test_shariki_sees_an_object_over_the_sea_of_japan():
    shariki = get_sensor("Shariki")
    r = static_truth(geodetic_to_ecef(40.0, 135.0, 300e3), T2)
    d = run([shariki], r, T2)
    assert len(d) == 2 and set(d.t_s) == {0.0, 1.0} and np.all(d.target == 0) and np.all(d.kind == 0)
    az, el, rng_ = az_el_range(r[0, 0], shariki.site_lat_deg, shariki.site_lon_deg, shariki.site_alt_m)
    assert el > 10 and rng_ < 600e3  # the geometry behind it: well above the horizon, well within 1,500 km


def test_cape_cod_cannot_see_behind_the_horizon():
    cc = get_sensor("Cape Cod")
    # 100 km up is over the horizon beyond sqrt(2 R h) ~ 1,130 km; at 3,000 km it is below it
    hidden = point_from(cc, 100.0, 3000e3, 100e3)
    seen = point_from(cc, 100.0, 1000e3, 300e3)
    _, el_hidden, rng_hidden = az_el_range(hidden, cc.site_lat_deg, cc.site_lon_deg, cc.site_alt_m)
    assert el_hidden < 0 and rng_hidden < cc.max_range_m(0.01)  # in range and in the sector, only the Earth hides it
    d = run([cc], static_truth(np.stack([hidden, seen]), T2), T2)
    assert set(d.target) == {1}


def test_tpy2_sees_only_its_azimuth_sector():
    s = get_sensor("Shariki")  # boresight 268 deg, +-60 deg
    north = point_from(s, 0.0, 500e3, 300e3)
    inside = point_from(s, 268.0 + 55.0, 500e3, 300e3)
    outside = point_from(s, 268.0 + 65.0, 500e3, 300e3)
    r = static_truth(np.stack([north, inside, outside]), T2)
    assert set(run([s], r, T2).target) == {1}
    all_round = get_sensor("Shariki", {"half_width_az_deg": 180})
    assert set(run([all_round], r, T2).target) == {0, 1, 2}


def test_sector_wraps_through_north():
    s = get_sensor("Cobra Dane")  # 319 +- 60: 259 .. 19 deg
    pts = [point_from(s, a, 800e3, 400e3) for a in (10.0, 30.0, 262.0, 250.0)]
    d = run([s], static_truth(np.stack(pts), T2), T2)
    assert set(d.target) == {0, 2}


def test_detection_range_follows_rcs_to_the_quarter():
    s = get_sensor("SBX", {"min_elevation_deg": 0.0})
    # straight up from the SBX: range = height, elevation 90 deg
    up = lambda h: geodetic_to_ecef(s.site_lat_deg, s.site_lon_deg, s.site_alt_m + h)
    for rcs in (0.01, 1.0, 1e-4):
        rmax = s.max_range_m(rcs)
        r = static_truth(np.stack([up(0.999 * rmax), up(1.001 * rmax)]), T2)
        d = run([s], r, T2, rcs=rcs)
        assert set(d.target) == {0}, rcs
    assert s.max_range_m(1.0) == pytest.approx(s.max_range_ref_m * 100**0.25, rel=1e-15)


def test_rcs_may_vary_in_time_and_nan_means_not_flying():
    s = get_sensor("Shariki")
    t = np.arange(0.0, 4.0)
    r = static_truth(geodetic_to_ecef(40.0, 135.0, 300e3), t)
    r[0, 3] = np.nan
    rcs = np.array([[0.01, 1e-12, 0.01, 0.01]])  # invisible at t = 1
    d = observe([s], t, r, np.zeros((1, 4), bool), rcs, np.random.default_rng(0))
    assert list(d.t_s) == [0.0, 2.0]


# ---------------------------------------------------------------- noise

def _many_points(site, n, rng):
    az = site.boresight_az_deg + rng.uniform(-50, 50, n)
    dist = rng.uniform(200e3, 1000e3, n)
    h = rng.uniform(100e3, 800e3, n)
    lon, lat, _ = GEOD.fwd(np.full(n, site.site_lon_deg), np.full(n, site.site_lat_deg), az, dist)
    return geodetic_to_ecef(lat, lon, h)


def _check_stats(x, sigma, label):
    n = x.size
    assert abs(x.mean()) < 3 * sigma / np.sqrt(n), f"{label}: mean {x.mean():.3g}"
    assert x.std(ddof=1) == pytest.approx(sigma, rel=0.05), label


def test_radar_noise_has_the_stated_sigmas():
    s = get_sensor("Kyogamisaki")
    rng = np.random.default_rng(5)
    pts = _many_points(s, 4000, rng)
    r = static_truth(pts, T2)
    d = run([s], r, T2, seed=11)
    assert len(d) == 8000
    truth = measure(0, d.site_ecef_m, d.site_lat_deg, d.site_lon_deg, r[d.target, d.t_s.astype(int)])
    res = d.z - truth
    res[:, 1] = wrap_pi(res[:, 1])
    _check_stats(res[:, 0], s.sigma_range_m, "range")
    _check_stats(res[:, 1] * np.cos(truth[:, 2]), s.sigma_az_rad, "cross-range azimuth")
    _check_stats(res[:, 2], s.sigma_el_rad, "elevation")
    # the reported covariance is the one the noise was drawn from
    assert np.allclose(d.R[:, 0, 0], s.sigma_range_m**2)
    assert np.allclose(d.R[:, 1, 1] * np.cos(truth[:, 2]) ** 2, s.sigma_az_rad**2, rtol=1e-6)
    assert np.allclose(d.R[:, 2, 2], s.sigma_el_rad**2)
    assert np.all(d.R[:, [0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]] == 0)
    _check_stats(res[:, 1] / np.sqrt(d.R[:, 1, 1]), 1.0, "normalised azimuth")


def test_infrared_noise_has_the_stated_sigma():
    s = get_sensor("SBIRS", {"detection_delay_s": 0.0, "revisit_s": 1.0})
    rng = np.random.default_rng(6)
    n = 2000
    pts = geodetic_to_ecef(rng.uniform(35, 43, n), rng.uniform(124, 131, n), rng.uniform(10e3, 300e3, n))
    r = static_truth(pts, T2)
    d = run([s], r, T2, burning=np.ones((n, 2), bool), seed=12)
    assert len(d) == 2 * n * len(s.satellite_lon_deg)
    truth = measure(1, d.site_ecef_m, d.site_lat_deg, d.site_lon_deg, r[d.target, d.t_s.astype(int)])
    res = d.z - truth
    assert np.all(np.isnan(d.z[:, 2])) and np.all(d.R[:, 2, :] == 0) and np.all(d.R[:, :, 2] == 0)
    _check_stats(wrap_pi(res[:, 0]) * np.abs(np.cos(truth[:, 1])), s.sigma_los_rad, "cross-LOS azimuth")
    _check_stats(res[:, 1], s.sigma_los_rad, "LOS elevation")


def test_measure_is_the_noise_free_observation():
    quiet = {"sigma_range_m": 0.0, "sigma_az_rad": 0.0, "sigma_el_rad": 0.0}
    sensors = [get_sensor("Shariki", quiet), get_sensor("SBIRS", {"sigma_los_rad": 0.0, "detection_delay_s": 0.0}),
               get_sensor("Aegis Sea of Japan", quiet)]
    t = np.arange(0.0, 21.0)
    # a straight climb at constant velocity: linear interpolation between samples is exact
    p0 = geodetic_to_ecef(39.5, 133.0, 50e3)
    v = np.array([1000.0, -500.0, 2000.0])
    r = (p0 + t[:, None] * v)[None]
    d = observe(sensors, t, r, np.ones((1, t.size), bool), np.array([1.0]), np.random.default_rng(3))
    assert set(d.sensor) == {0, 1, 2}
    truth = p0 + d.t_s[:, None] * v
    z = measure(d.kind, d.site_ecef_m, d.site_lat_deg, d.site_lon_deg, truth)
    assert np.allclose(d.z, z, rtol=1e-12, atol=1e-9, equal_nan=True)


def test_looks_between_samples_interpolate_linearly():
    s = get_sensor("Shariki", {"sigma_range_m": 0.0, "sigma_az_rad": 0.0, "sigma_el_rad": 0.0,
                               "revisit_s": 0.7, "revisit_phase_s": 0.2})
    t = np.array([0.0, 1.0, 2.5, 4.0])
    p0 = geodetic_to_ecef(39.5, 133.0, 50e3)
    v = np.array([1000.0, -500.0, 2000.0])
    r = (p0 + t[:, None] * v)[None]
    d = observe([s], t, r, np.zeros((1, 4), bool), np.array([1.0]), np.random.default_rng(0))
    assert np.allclose(d.t_s, 0.2 + 0.7 * np.arange(6))
    z = measure(0, d.site_ecef_m, d.site_lat_deg, d.site_lon_deg, p0 + d.t_s[:, None] * v)
    assert np.allclose(d.z, z, rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- SBIRS timing

def _climb(t, lat=39.02, lon=125.74, rate_mps=2000.0):
    return np.stack([geodetic_to_ecef(lat, lon, 1.0 + rate_mps * tt) for tt in t])[None]


def test_sbirs_reports_only_while_burning_and_after_the_delay():
    s = get_sensor("SBIRS")  # delay 30 s, revisit 10 s
    t = np.arange(0.0, 301.0)
    r = _climb(t)
    burning = ((t >= 5.0) & (t < 100.0))[None]   # ignition at 5 s, burnout after the 99 s sample
    d = run([s], r, t, burning=burning)
    assert len(d) > 0 and np.all(d.kind == 1)
    assert d.t_s.min() >= 5.0 + s.detection_delay_s
    assert d.t_s.max() < 100.0
    assert sorted(set(d.t_s)) == [40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    assert set(d.platform) == {0, 1}   # both satellites see Pyongyang
    # a look between the last burning sample and the first cold one reports nothing
    s2 = get_sensor("SBIRS", {"revisit_s": 1.0, "revisit_phase_s": 0.5})
    d2 = run([s2], r, t, burning=burning)
    assert d2.t_s.max() == 98.5


def test_sbirs_never_sees_a_cold_object_or_one_behind_the_earth():
    s = get_sensor("SBIRS")
    t = np.arange(0.0, 200.0)
    assert len(run([s], _climb(t), t)) == 0                    # never burning
    far = _climb(t, lat=0.0, lon=125.0 + 180.0)                  # the far side of the Earth
    assert len(run([s], far, t, burning=np.ones((1, t.size), bool))) == 0


# ---------------------------------------------------------------- order, determinism, inputs

def test_sorted_by_time_sensor_target_and_deterministic():
    sensors = [get_sensor(n) for n in ("Aegis Sea of Japan", "Shariki", "Kyogamisaki", "SBIRS")]
    t = np.arange(0.0, 121.0)
    rng = np.random.default_rng(9)
    pts = geodetic_to_ecef(rng.uniform(38, 41, 5), rng.uniform(131, 136, 5), rng.uniform(100e3, 400e3, 5))
    r = static_truth(pts, t)
    burn = np.zeros((5, t.size), bool)
    burn[:, :80] = True
    a = observe(sensors, t, r, burn, np.full(5, 0.05), np.random.default_rng(42))
    b = observe(sensors, t, r, burn, np.full(5, 0.05), np.random.default_rng(42))
    c = observe(sensors, t, r, burn, np.full(5, 0.05), np.random.default_rng(43))
    assert len(a) > 100 and set(a.sensor) == {0, 1, 2, 3}
    for f in Detections.__dataclass_fields__:
        assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True), f
    assert not np.allclose(a.z[:, :2], c.z[:, :2])
    key = np.stack([a.t_s, a.sensor, a.target, a.platform], 1)
    assert np.all(np.lexsort(key.T[::-1]) == np.arange(len(a)))


def test_p_detect_thins_the_looks():
    s = get_sensor("Shariki", {"p_detect": 0.5})
    t = np.arange(0.0, 2000.0)
    r = static_truth(geodetic_to_ecef(40.0, 135.0, 300e3), t)
    d = run([s], r, t)
    assert len(d) == pytest.approx(1000, abs=3 * np.sqrt(2000 * 0.25))   # binomial(2000, 0.5)


def test_nothing_seen_gives_empty_arrays():
    d = run([get_sensor("Cape Cod")], static_truth(geodetic_to_ecef(40.0, 135.0, 300e3), T2), T2)
    assert len(d) == 0 and d.z.shape == (0, 3) and d.R.shape == (0, 3, 3)


def test_bad_inputs_name_the_argument():
    s = [get_sensor("Shariki")]
    r = static_truth(geodetic_to_ecef(40.0, 135.0, 300e3), T2)
    b = np.zeros((1, 2), bool)
    g = np.random.default_rng(0)
    cases = [
        (dict(t_s=np.array([1.0, 0.0])), "t_s"),
        (dict(r_ecef_m=r[:, :1]), "r_ecef_m"),
        (dict(burning=b.astype(int)), "burning"),
        (dict(rcs_m2=np.array([-1.0])), "rcs_m2"),
        (dict(rng=0), "rng"),
        (dict(sensors=["Shariki"]), "sensors[0]"),
    ]
    for change, field in cases:
        args = dict(sensors=s, t_s=T2, r_ecef_m=r, burning=b, rcs_m2=np.array([0.01]), rng=g) | change
        with pytest.raises(BmdsimInputError) as exc:
            observe(**args)
        assert exc.value.field == field
