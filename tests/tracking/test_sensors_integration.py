"""The trackers against ``bmdsim.sensors``: the same measurement model, and tracks from its detections.

Oracle for h(x): ``bmdsim.sensors.geometry.measure`` / ``measure_jacobian`` (numpy, written
separately to the same conventions), fed the ECEF position of the same ECI state. End to end:
the Hwasong-15 from Sohae toward Seattle observed by the catalog's Shariki AN/TPY-2 and SBIRS
(``sensors.observe``, its own noise and field-of-regard rules), tracked by ``tracking.track``.
"""

import numpy as np
import pytest
from scipy.stats import chi2

sensors = pytest.importorskip("bmdsim.sensors")

from bmdsim.earth import frames  # noqa: E402
from bmdsim.earth.places import get_place  # noqa: E402
from bmdsim.flight.shaping import shape  # noqa: E402
from bmdsim.threats.catalog import get_missile  # noqa: E402
from bmdsim.tracking import INFRARED, RADAR, measure, track  # noqa: E402


def _states(n, rng):
    """ECI states 200-2,000 km up over the western Pacific, random times in the first hour."""
    lat = rng.uniform(25, 55, n)
    lon = rng.uniform(120, 175, n)
    h = rng.uniform(200e3, 2000e3, n)
    r = frames.geodetic_to_ecef(lat, lon, h)
    t = rng.uniform(0, 3600, n)
    rot = frames.rotation_eci_to_ecef(t)
    r_eci = np.einsum("nji,nj->ni", rot, r)
    v = rng.normal(0, 4000, (n, 3))
    return np.hstack([r_eci, v]), t, r


@pytest.mark.parametrize("name,kind", [("Shariki", RADAR), ("SBIRS", INFRARED)])
def test_h_agrees_with_sensors_measure(name, kind):
    spec = sensors.get_sensor(name)
    rng = np.random.default_rng(11)
    x, t, r_ecef = _states(200, rng)
    if kind == RADAR:
        site, lat, lon = spec.site_ecef_m, spec.site_lat_deg, spec.site_lon_deg
    else:
        site, lat, lon = spec.satellite_ecef_m[0], 0.0, spec.satellite_lon_deg[0]
    z_ref = sensors.measure(kind, site, lat, lon, r_ecef)
    j_ref = sensors.measure_jacobian(kind, site, lat, lon, r_ecef)  # d z / d r_ecef
    z, H = measure(x, t, kind, site, site_lat_deg=lat, site_lon_deg=lon)
    m = 3 if kind == RADAR else 2
    a = 1 if kind == RADAR else 0
    daz = (z[:, a] - z_ref[:, a] + np.pi) % (2 * np.pi) - np.pi
    assert np.max(np.abs(daz)) < 1e-12  # rad
    other = [i for i in range(m) if i != a]
    for i in other:
        tol = 1e-6 if (kind == RADAR and i == 0) else 1e-12  # m for range, rad for angles
        assert np.max(np.abs(z[:, i] - z_ref[:, i])) < tol
    # our H is d z / d r_eci = (d z / d r_ecef) R(t)
    j_eci = np.einsum("nij,njk->nik", j_ref[:, :m], frames.rotation_eci_to_ecef(t))
    np.testing.assert_allclose(H[:, :m, :3], j_eci, rtol=1e-9, atol=1e-15)


def test_track_from_observed_detections():
    # Shariki (sigma 1.06 m, 0.74 mrad, 1 s) and two SBIRS satellites (30 urad, 10 s) on 50
    # noisy copies of one flight; IR cues and keeps the boost process noise on until burnout.
    m = get_missile("hwasong-15")
    lp, ap = get_place("Sohae"), get_place("Seattle")
    f = shape([m], lp.lat_deg, lp.lon_deg, ap.lat_deg, ap.lon_deg, record_dt_s=1.0).flight
    ok = np.isfinite(f.record_eci[0, :, 0])
    rec, t = f.record_eci[0][ok], f.t_record_s[ok]  # 1-s grid: the looks fall on samples
    tb = float(f.t_burnout_s[0])
    r_ecef, _ = frames.eci_to_ecef(rec[:, :3], rec[:, 3:], t)
    n = 50
    det = sensors.observe(
        [sensors.get_sensor("Shariki"), sensors.get_sensor("SBIRS")], t,
        np.broadcast_to(r_ecef, (n,) + r_ecef.shape), np.broadcast_to(t <= tb, (n, t.size)),
        np.full(n, 0.1), np.random.default_rng(0),
    )
    t_check = np.round([tb - 30.0, tb + 30.0, tb + 60.0, tb + 120.0])
    truth = rec[np.searchsorted(t, t_check)]
    hi = chi2.ppf(0.975, 6 * n) / n
    for method in ("ekf", "ukf"):
        h = track(det, t_check, method)
        assert np.all(h.cued_at_s == 30.0)  # SBIRS detection delay
        assert np.all(h.n_updates.sum(axis=1) > 200) and np.all(h.n_updates[:, 1] > 0)
        e = h.x_eval - truth[None]
        nees = np.einsum("kti,ktij,ktj->kt", e, np.linalg.inv(h.P_eval), e).mean(axis=0)
        rms = np.sqrt(np.mean(np.sum(e[:, :, :3] ** 2, axis=2), axis=0))
        print(f"\n{method}: mean NEES at burnout -30/+30/+60/+120 s {np.round(nees, 2)} (95 % upper {hi:.2f}); "
              f"RMS position error {np.round(rms, 1)} m")
        assert np.all(nees < hi)
        assert rms[2] < 400.0  # m, at burnout + 60 s (0.74 mrad * 1,200 km = 900 m per look)
