"""observe against a dense numpy reference: bitwise the same detections, the same generator use.

`observe` scans candidates in numba and applies the exact rules to the survivors only. The
reference below is the straightforward dense evaluation of the rules in the module docstring of
bmdsim.sensors.observe (every look of every object, in numpy, then one lexsort), kept here as
the oracle. Cases mix radars and infrared satellites, sectors through north, all-round radars,
p_detect < 1, looks between samples, non-uniform time grids, rcs varying in time, objects that
stop flying (NaN), burning and cold objects, coinciding looks, and objects exactly at the
boundaries of range and elevation. A generator per object with a noise_scale (the campaign's
call) is checked against each object observed alone by the reference, and the draws, which
observe makes in numba, against numpy's own Generator methods.
"""

import sys

import numpy as np
import pytest

from bmdsim.earth.frames import enu_basis, geodetic_to_ecef
from bmdsim.sensors import Detections, get_sensor, observe
from bmdsim.sensors.geometry import clears_earth, in_azimuth_sector, measure, site_enu, wrap_2pi, wrap_pi
from bmdsim.sensors.observe import _cached, _draw, _interp_index, _wrap_2pi, _wrap_pi, look_times
from bmdsim.sensors.spec import KIND_INFRARED, KIND_RADAR, RadarSpec

OBSERVE = sys.modules["bmdsim.sensors.observe"]   # the module (bmdsim.sensors.observe is the function)

_MIN_COS_EL = 1e-6


def _interp(a, i0, i1, w):
    a0, a1 = a[:, i0], a[:, i1]
    ww = w.reshape((1, -1) + (1,) * (a.ndim - 2))
    with np.errstate(invalid="ignore"):
        return np.where(ww == 0.0, a0, a0 + ww * (a1 - a0))


def _radar(spec, t_s, r, rcs):
    t_look = look_times(t_s, spec.revisit_s, spec.revisit_phase_s)
    if t_look.size == 0:
        return None
    i0, i1, w = _interp_index(t_s, t_look)
    r_k, rcs_k = _interp(r, i0, i1, w), _interp(rcs, i0, i1, w)
    enu = site_enu(r_k, spec.site_ecef_m, spec.site_lat_deg, spec.site_lon_deg)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rho = np.sqrt(e * e + n * n + u * u)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.arcsin(np.clip(u / rho, -1.0, 1.0))
        az = wrap_2pi(np.arctan2(e, n))
        ok = (np.isfinite(rho) & (rho > 0) & (el >= np.radians(spec.min_elevation_deg))
              & (el <= np.radians(spec.max_elevation_deg))
              & in_azimuth_sector(az, np.radians(spec.boresight_az_deg), np.radians(spec.half_width_az_deg))
              & (rho <= spec.max_range_m(rcs_k)))
    obj, k = np.nonzero(ok)
    z = np.stack([rho[obj, k], az[obj, k], el[obj, k]], -1)
    m = obj.size
    sig = np.stack([np.full(m, spec.sigma_range_m), spec.sigma_az_rad / np.maximum(np.cos(z[:, 2]), _MIN_COS_EL),
                    np.full(m, spec.sigma_el_rad)], -1)
    return dict(t_s=t_look[k], target=obj, platform=np.zeros(m, np.int64), z=z, sig=sig,
                site=np.broadcast_to(spec.site_ecef_m, (m, 3)), lat=np.full(m, float(spec.site_lat_deg)),
                lon=np.full(m, float(spec.site_lon_deg)), kind=KIND_RADAR, p=spec.p_detect)


def _infrared(spec, t_s, r, burning):
    t_look = look_times(t_s, spec.revisit_s, spec.revisit_phase_s)
    if t_look.size == 0:
        return None
    t_first = np.where(burning.any(axis=1), t_s[np.argmax(burning, axis=1)], np.inf)
    i0, i1, w = _interp_index(t_s, t_look)
    r_k = _interp(r, i0, i1, w)
    eligible = burning[:, i0] & (burning[:, i1] | (w == 0.0)[None, :])
    eligible &= t_look[None, :] >= t_first[:, None] + spec.detection_delay_s
    eligible &= np.all(np.isfinite(r_k), axis=-1)
    out = []
    for p, (sat, lon) in enumerate(zip(spec.satellite_ecef_m, spec.satellite_lon_deg)):
        ok = eligible & clears_earth(np.broadcast_to(sat, r_k.shape), np.where(np.isfinite(r_k), r_k, 0.0))
        obj, k = np.nonzero(ok)
        out.append((p, obj, k, measure(KIND_INFRARED, sat, 0.0, lon, r_k[obj, k]), sat, lon))
    obj = np.concatenate([o[1] for o in out])
    k = np.concatenate([o[2] for o in out])
    z = np.concatenate([o[3] for o in out])
    m = obj.size
    sig = np.zeros((m, 3))
    sig[:, 0] = spec.sigma_los_rad / np.maximum(np.abs(np.cos(z[:, 1])), _MIN_COS_EL)
    sig[:, 1] = spec.sigma_los_rad
    return dict(t_s=t_look[k], target=obj, platform=np.concatenate([np.full(o[1].size, o[0]) for o in out]),
                z=z, sig=sig, site=np.concatenate([np.broadcast_to(o[4], (o[1].size, 3)) for o in out]),
                lat=np.zeros(m), lon=np.concatenate([np.full(o[1].size, float(o[5])) for o in out]),
                kind=KIND_INFRARED, p=spec.p_detect)


def reference_observe(sensors, t, r, burning, rcs, rng, noise_scale=None):
    if rcs.ndim == 1:
        rcs = np.broadcast_to(rcs[:, None], burning.shape)
    parts = []
    for si, spec in enumerate(sensors):
        c = _radar(spec, t, r, rcs) if isinstance(spec, RadarSpec) else _infrared(spec, t, r, burning)
        if c is None or c["target"].size == 0:
            continue
        m = c["target"].size
        c["sensor"], c["kind_arr"], c["p_arr"] = np.full(m, si), np.full(m, c["kind"]), np.full(m, c["p"])
        parts.append(c)
    if not parts:
        return Detections.empty()
    cat = lambda key: np.concatenate([p[key] for p in parts])  # noqa: E731
    t_d, sensor, target, platform = cat("t_s"), cat("sensor"), cat("target"), cat("platform")
    order = np.lexsort((platform, target, sensor, t_d))
    f = {k: cat(k)[order] for k in ("t_s", "sensor", "target", "platform", "kind_arr", "z", "sig", "p_arr",
                                     "site", "lat", "lon")}
    if np.any(f["p_arr"] < 1.0):
        keep = rng.random(f["p_arr"].size) < f["p_arr"]
        f = {k: v[keep] for k, v in f.items()}
    m = f["t_s"].size
    noise = rng.standard_normal((m, 3))
    if noise_scale is not None:
        noise *= noise_scale[f["target"], f["sensor"]][:, None]
    z = f["z"] + f["sig"] * noise
    ir = f["kind_arr"] == KIND_INFRARED
    z[:, 1] = np.where(ir, z[:, 1], wrap_2pi(z[:, 1]))
    z[:, 0] = np.where(ir, wrap_2pi(z[:, 0]), z[:, 0])
    z[ir, 2] = np.nan
    R = np.zeros((m, 3, 3))
    R[:, np.arange(3), np.arange(3)] = f["sig"] ** 2
    return Detections(t_s=f["t_s"], sensor=f["sensor"], target=f["target"], kind=f["kind_arr"],
                      platform=f["platform"], z=z, R=R, site_ecef_m=f["site"], site_lat_deg=f["lat"],
                      site_lon_deg=f["lon"])


def assert_same(a, b):
    assert len(a) == len(b)
    for k in Detections.__dataclass_fields__:
        x, y = getattr(a, k), getattr(b, k)
        assert x.shape == y.shape, k
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), k
        if x.dtype.kind in "iu":
            assert y.dtype == np.int64 and x.dtype == np.int64, k


def compare(sensors, t, r, burning, rcs, seed):
    g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
    got = observe(sensors, t, r, burning, rcs, g1)
    want = reference_observe(sensors, t, r, burning, np.asarray(rcs, float), g2)
    assert_same(got, want)
    assert g1.bit_generator.state == g2.bit_generator.state   # the same draws were taken
    return got


SENSORS = ["SBIRS", "Shariki", "Kyogamisaki", "SBX", "Cobra Dane", "Aegis Sea of Japan", "Clear", "Seongju",
           "Beale", "Guam THAAD"]


def _arcs(rng, n, t):
    """n straight-and-curved arcs over the Sea of Japan / North Pacific, some stopping early."""
    lat = rng.uniform(30, 55, n)
    lon = rng.uniform(120, 185, n)
    p0 = geodetic_to_ecef(lat, lon, rng.uniform(0, 50e3, n))
    v = rng.normal(0, 3000, (n, 3))
    up = enu_basis(lat, lon)[:, 2]
    tt = t[None, :, None]
    r = p0[:, None] + v[:, None] * tt + up[:, None] * (4000 * tt - 4.9 * tt**2).clip(min=-1e4)
    stop = rng.integers(t.size // 3, t.size + 1, n)
    r[np.arange(t.size)[None, :] >= stop[:, None]] = np.nan
    burn = np.arange(t.size)[None, :] < rng.integers(0, t.size // 2, n)[:, None]
    return r, burn


@pytest.mark.parametrize("seed", range(6))
def test_matches_dense_reference_on_random_arcs(seed):
    rng = np.random.default_rng(100 + seed)
    t = np.cumsum(np.r_[0.0, rng.uniform(0.5, 3.0, 300)]) if seed % 2 else np.arange(0.0, 400.0, 1.0)
    r, burn = _arcs(rng, 40, t)
    ov = [{}, {"revisit_s": 0.7, "revisit_phase_s": 0.3}, {"p_detect": 0.6}, {"half_width_az_deg": 180.0},
          {"min_elevation_deg": 0.0, "max_elevation_deg": 40.0}, {"revisit_s": 1.3, "p_detect": 0.9}]
    sensors = [get_sensor(name, ov[(i + seed) % len(ov)] if name != "SBIRS" else
                          {"revisit_s": 1.7, "detection_delay_s": 5.0} if seed % 3 else {})
               for i, name in enumerate(SENSORS)]
    rcs = rng.uniform(0.001, 20.0, (40, t.size)) if seed % 3 == 0 else rng.uniform(0.001, 20.0, 40)
    d = compare(sensors, t, r, burn, rcs, seed)
    assert len(d) > 500 and len(set(d.sensor)) >= 4


def test_matches_reference_at_range_and_elevation_boundaries():
    # points at exactly R_max and exactly min elevation (to the rounding), seen or not alike
    s = get_sensor("SBX", {"min_elevation_deg": 5.0, "half_width_az_deg": 45.0, "boresight_az_deg": 350.0})
    b = enu_basis(s.site_lat_deg, s.site_lon_deg)
    rmax = s.max_range_m(0.5)
    pts = []
    for el in np.radians([5.0 - 1e-13, 5.0, 5.0 + 1e-13, 30.0]):
        for az in np.radians([305.0 - 1e-12, 305.0, 35.0, 35.0 + 1e-12, 0.0]):
            for rr in (rmax * (1 - 1e-15), rmax, rmax * (1 + 1e-15), 0.5 * rmax):
                enu = rr * np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
                pts.append(s.site_ecef_m + enu @ b)
    t = np.array([0.0, 1.0, 2.0])
    r = np.repeat(np.array(pts)[:, None], t.size, axis=1)
    n = r.shape[0]
    compare([s], t, r, np.zeros((n, t.size), bool), np.full(n, 0.5), 1)
    r[3, 1] = np.nan
    r[4, 2] = np.inf
    compare([s, get_sensor("SBIRS", {"detection_delay_s": 0.0, "revisit_s": 0.5})], t, r,
            np.ones((n, t.size), bool), np.full(n, 0.5), 2)


def test_matches_reference_when_looks_coincide():
    # a revisit below the rounding slack of look_times: several looks at the same clipped time
    t = np.array([1000.0, 1000.0 + 1e-6, 1000.0 + 3e-6])
    s = [get_sensor("Shariki", {"revisit_s": 1e-6, "half_width_az_deg": 180.0}),
         get_sensor("SBIRS", {"revisit_s": 1e-6, "detection_delay_s": 0.0})]
    assert np.any(np.diff(look_times(t, 1e-6, 0.0)) == 0)
    pts = geodetic_to_ecef(np.array([40.0, 40.5, 39.0]), np.array([135.0, 134.0, 133.0]), 300e3)
    r = np.repeat(pts[:, None], t.size, axis=1)
    d = compare(s, t, r, np.ones((3, t.size), bool), np.full(3, 1.0), 4)
    assert len(d) > len(set(zip(d.t_s, d.sensor, d.target, d.platform)))


def test_matches_reference_when_nothing_or_little_is_seen():
    t = np.arange(0.0, 50.0)
    r, burn = _arcs(np.random.default_rng(7), 5, t)
    compare([get_sensor("Guam THAAD")], t, r, burn, np.full(5, 1.0), 0)            # nothing
    compare([get_sensor("Guam THAAD"), get_sensor("Shariki", {"p_detect": 0.3})], t, r[:1], burn[:1],
            np.full(1, 1.0), 3)
    compare([get_sensor("Shariki")], t, r[:0], burn[:0], np.zeros(0), 0)            # no objects


def test_scalar_wraps_are_the_geometry_wraps_bitwise():
    rng = np.random.default_rng(8)
    two_pi = 2 * np.pi
    a = np.concatenate([
        rng.uniform(-20, 20, 20000), rng.normal(0, 1e6, 2000), np.arange(-6, 7) * np.pi,
        np.nextafter(np.arange(-6, 7) * np.pi, np.inf), np.nextafter(np.arange(-6, 7) * np.pi, -np.inf),
        [0.0, -0.0, 1e-300, -1e-300, -1e-17, -5e-324, two_pi, -two_pi, np.nextafter(two_pi, 0), np.nan, np.inf,
         -np.inf, 1e300, -1e300, 2 * two_pi, np.nextafter(2 * two_pi, 0), np.nextafter(2 * two_pi, np.inf),
         np.nextafter(two_pi, np.inf), np.nextafter(-two_pi, 0), np.nextafter(-two_pi, -np.inf)],
        rng.uniform(two_pi, 2 * two_pi, 5000), rng.uniform(-two_pi, 0.0, 5000),   # the fast paths of the wraps
        rng.uniform(0.0, two_pi, 5000) - np.pi, -np.logspace(-320, 0, 500),
    ])
    for fast, ref in ((_wrap_2pi, wrap_2pi), (_wrap_pi, wrap_pi)):
        got = np.array([fast(x) for x in a])
        with np.errstate(invalid="ignore"):   # inf
            want = ref(a)
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_one_generator_per_object_draws_as_each_object_alone():
    """A campaign observes all its trials at once, each object with its own stream: the result
    for each object equals observing it alone with that stream (p_detect < 1 on some sensors)."""
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 400.0, 1.0)
    r, burn = _arcs(rng, 6, t)
    sensors = [get_sensor(name, {"p_detect": 0.7} if name in ("SBX", "Seongju") else {}) for name in SENSORS]
    rcs = rng.uniform(0.01, 10.0, 6)
    both = observe(sensors, t, r, burn, rcs, [np.random.default_rng(s) for s in range(6)])
    assert len(both) > 200 and len(set(both.target)) >= 3
    for k in range(6):
        alone = observe(sensors, t, r[k:k + 1], burn[k:k + 1], rcs[k:k + 1], np.random.default_rng(k))
        mine = both.take(both.target == k)
        assert len(mine) == len(alone)
        np.testing.assert_array_equal(mine.t_s, alone.t_s)
        np.testing.assert_array_equal(mine.sensor, alone.sensor)
        np.testing.assert_array_equal(mine.z, alone.z)


def test_noise_scale_multiplies_the_noise_not_the_reported_covariance():
    rng = np.random.default_rng(8)
    t = np.arange(0.0, 300.0, 1.0)
    r, burn = _arcs(rng, 3, t)
    sensors = [get_sensor(name) for name in SENSORS]
    rcs = np.full(3, 5.0)
    gens = lambda: [np.random.default_rng(s) for s in range(3)]  # noqa: E731
    clean = observe(sensors, t, r, burn, rcs, gens(), noise_scale=np.zeros((3, len(sensors))))
    one = observe(sensors, t, r, burn, rcs, gens())
    scale = np.ones((3, len(sensors)))
    scale[1, :] = 3.0
    three = observe(sensors, t, r, burn, rcs, gens(), noise_scale=scale)
    ok = np.isfinite(clean.z)
    d1, d3 = one.z - clean.z, three.z - clean.z
    wrap = lambda a: (a + np.pi) % (2 * np.pi) - np.pi  # noqa: E731  (angles: compare modulo 2 pi)
    obj1 = (clean.target == 1)[:, None] & ok
    diff = d3 - 3.0 * d1
    diff[:, :2] = wrap(diff[:, :2])
    np.testing.assert_allclose(diff[obj1], 0.0, atol=1e-6 * np.abs(d3[obj1]).max())
    np.testing.assert_array_equal(d3[~(clean.target == 1)[:, None] & ok], d1[~(clean.target == 1)[:, None] & ok])
    np.testing.assert_array_equal(three.R, one.R)
    with pytest.raises(Exception, match="noise_scale"):
        observe(sensors, t, r, burn, rcs, gens(), noise_scale=np.ones((2, 2)))


# ---------------------------------------------------------------- per-object generators

def reference_per_object(sensors, t, r, burning, rcs, rngs, noise_scale):
    """Each object alone with its generator (object after object), its noise scaled by its row
    of noise_scale, then all sorted by (time, sensor, target, platform): the documented meaning
    of a list of generators."""
    rcs = np.asarray(rcs, float)
    parts = []
    for k, g in enumerate(rngs):
        ns = None if noise_scale is None else noise_scale[k:k + 1]
        d = reference_observe(sensors, t, r[k:k + 1], burning[k:k + 1], rcs[k:k + 1], g, ns)
        parts.append(Detections(**{**{f: getattr(d, f) for f in Detections.__dataclass_fields__},
                                   "target": np.full(len(d), k, dtype=np.int64)}))
    cat = {f: np.concatenate([getattr(d, f) for d in parts]) for f in Detections.__dataclass_fields__}
    order = np.lexsort((cat["platform"], cat["target"], cat["sensor"], cat["t_s"]))
    return Detections(**{f: v[order] for f, v in cat.items()})


@pytest.mark.parametrize("case", range(6))
def test_one_generator_per_object_and_noise_scale_match_the_reference(case):
    """The campaign's call: a generator per object and a noise_scale, bitwise as each object
    observed alone; with p_detect < 1 on some sensors or none, a generator shared by several
    objects, coinciding looks, rcs varying in time."""
    rng = np.random.default_rng(300 + case)
    if case == 5:   # looks closer than the rounding slack of look_times
        t = np.array([1000.0, 1000.0 + 1e-6, 1000.0 + 3e-6])
        sensors = [get_sensor("Shariki", {"revisit_s": 1e-6, "half_width_az_deg": 180.0, "p_detect": 0.5}),
                   get_sensor("SBIRS", {"revisit_s": 1e-6, "detection_delay_s": 0.0})]
        pts = geodetic_to_ecef(np.array([40.0, 40.5, 39.0, 41.0]), np.array([135.0, 134.0, 133.0, 136.0]), 300e3)
        r = np.repeat(pts[:, None], t.size, axis=1)
        burn = np.ones((4, t.size), bool)
    else:
        t = np.arange(0.0, 400.0, 1.0) if case % 2 else np.cumsum(np.r_[0.0, rng.uniform(0.5, 3.0, 250)])
        r, burn = _arcs(rng, 12, t)
        p = {} if case < 2 else {"p_detect": 0.6}
        sensors = [get_sensor(name, p if name in ("SBX", "Seongju", "SBIRS") else {}) for name in SENSORS]
    n = r.shape[0]
    rcs = rng.uniform(0.001, 20.0, (n, t.size)) if case % 3 == 0 else rng.uniform(0.001, 20.0, n)
    noise_scale = np.exp(0.5 * rng.standard_normal((n, len(sensors))))
    noise_scale[0] = 0.0

    def gens():
        if case == 4:   # one generator shared by the even objects: they draw in turn
            shared = np.random.default_rng(99)
            return [shared if k % 2 == 0 else np.random.default_rng(k) for k in range(n)]
        return [np.random.default_rng(np.random.SeedSequence(7).spawn(n)[k]) for k in range(n)]

    g1, g2 = gens(), gens()
    got = observe(sensors, t, r, burn, rcs, g1, noise_scale=noise_scale)
    want = reference_per_object(sensors, t, r, burn, rcs, g2, noise_scale)
    assert len(got) > 20 and len(set(got.target)) >= 3
    assert_same(got, want)
    assert [g.bit_generator.state for g in g1] == [g.bit_generator.state for g in g2]
    one = observe(sensors, t, r, burn, rcs, np.random.default_rng(5), noise_scale=noise_scale)
    assert_same(one, reference_observe(sensors, t, r, burn, np.asarray(rcs, float), np.random.default_rng(5),
                                       noise_scale))


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox,
                                           np.random.SFC64])
@pytest.mark.parametrize("fast", [True, False])
def test_draws_are_numpys_own(bit_generator, fast, monkeypatch):
    """`_draw` (in numba through the bit generators' C interface, or by the Generators' methods)
    gives what Generator.random and Generator.standard_normal give, and leaves the same states:
    200,000 normal triples reach the ziggurat's tail and wedges thousands of times."""
    monkeypatch.setattr(OBSERVE, "_FAST_DRAWS", fast and OBSERVE._FAST_DRAWS)
    for seed in (1, 2):
        gens = [np.random.Generator(bit_generator(seed + 10 * k)) for k in range(3)]
        refs = [np.random.Generator(bit_generator(seed + 10 * k)) for k in range(3)]
        m = 200_000
        # three blocks: all rows of the first generator with keep draws, then two without, the
        # last generator's rows interleaved with the second's
        start = np.array([0, 1000, 1000 + (m - 1000) // 2, m])
        rows = np.r_[np.arange(1000), np.arange(1000, m, 2), np.arange(1001, m, 2)]
        p = np.where(np.arange(m) % 3 == 0, 0.4, 1.0)
        check = np.array([True, False, False])
        keep, noise = np.ones(m, dtype=bool), np.full((m, 3), np.nan)
        _draw(gens, start, rows, False, check, np.arange(m), np.arange(m, dtype=np.int32), p, keep, noise)
        want_keep = np.ones(m, dtype=bool)
        want_keep[:1000] = refs[0].random(1000) < p[:1000]
        want = np.full((m, 3), np.nan)
        for k in range(3):
            sub = rows[start[k]:start[k + 1]]
            sub = sub[want_keep[sub]]
            want[sub] = refs[k].standard_normal((sub.size, 3))
        assert np.array_equal(keep, want_keep)
        assert np.array_equal(noise, want, equal_nan=True)
        assert all(_same_state(g, h) for g, h in zip(gens, refs))
        # one block of all rows in order (one Generator for every object)
        g, ref = np.random.Generator(bit_generator(seed)), np.random.Generator(bit_generator(seed))
        keep, noise = np.ones(m, dtype=bool), np.empty((m, 3))
        _draw([g], np.array([0, m]), np.empty(0, np.int64), True, np.array([False]), np.arange(m),
              np.zeros(m, dtype=np.int32), np.ones(1), keep, noise)
        assert np.array_equal(noise, ref.standard_normal((m, 3)))
        assert _same_state(g, ref)


def _same_state(g, h):
    def same(a, b):
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, np.ndarray):
            return np.array_equal(a, b)
        return a == b
    return same(g.bit_generator.state, h.bit_generator.state)


def test_sensor_constants_follow_the_sensors_given():
    """observe keeps each sensor list's constants (sites, bases, sources) by the identity of its
    sensors: a new list, or new sensors, are seen as they are."""
    rng = np.random.default_rng(11)
    t = np.arange(0.0, 300.0, 1.0)
    r, burn = _arcs(rng, 8, t)
    rcs = np.full(8, 2.0)
    sensors = [get_sensor(name) for name in SENSORS]
    compare(sensors, t, r, burn, rcs, 1)
    moved = [s.model_copy(update={"site_lat_deg": s.site_lat_deg + 3.0, "p_detect": 0.5}) if isinstance(s, RadarSpec)
             else s.model_copy(update={"satellite_lon_deg": (120.0,)}) for s in sensors]
    compare(moved, t, r, burn, rcs, 2)
    compare(sensors[::-1], t, r, burn, rcs, 3)
    built = []
    assert _cached(moved, lambda: built.append(1) or "x") != "x"     # already there
    fresh = [s.model_copy() for s in moved]
    assert _cached(fresh, lambda: built.append(1) or "x") == "x" and built == [1]
