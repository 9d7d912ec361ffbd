"""Tracks of a real ICBM trajectory: consistency (NEES), accuracy, batching, reproducibility.

Truth: the Hwasong-15 from Sohae toward Seattle (``flight.shaping.shape``, minimum energy),
after burnout re-flown by ``flight.fly.coast`` with tight tolerances (rtol 1e-12: the 1-s record
is then within ~1 mm of a converged solution, ``tests/tracking/test_models.py`` style check),
so the truth and the tracker's model are the same physics (J2 gravity; drag is nil above 250 km).
Measurements: the tracker's own h(x) (checked against ``earth.frames`` in test_models.py) plus
Gaussian noise from a seeded generator. Radar: AN/TPY-2 class at Shariki (sigma_range 10 m,
sigma_az = sigma_el = 0.1 mrad, one detection a second: an X-band radar's range accuracy is
a few metres and its monopulse angle accuracy a small fraction of its ~1.5 mrad beamwidth).
"""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import chi2

from bmdsim.earth import frames
from bmdsim.earth.places import get_place
from bmdsim.flight.fly import Tolerances, coast
from bmdsim.flight.shaping import shape
from bmdsim.threats.catalog import get_missile
from bmdsim.tracking import INFRARED, RADAR, MotionModel, predict, simulate_measurements, track

METRE = 1.0
SHARIKI = get_place("Shariki")
SHARIKI_ECEF = frames.geodetic_to_ecef(SHARIKI.lat_deg, SHARIKI.lon_deg, 0.0)
GEO_ECEF = frames.geodetic_to_ecef(0.0, 128.0, 35786e3)  # a geostationary IR satellite
R_TPY2 = np.diag([10.0**2, 1e-4**2, 1e-4**2])
R_IR = np.diag([3e-5**2, 3e-5**2, 0.0])  # ~1 km on the ground from GEO
N_RUNS = 100


@pytest.fixture(scope="module")
def icbm():
    m = get_missile("hwasong-15")
    lp, ap = get_place("Sohae"), get_place("Seattle")
    s = shape([m], lp.lat_deg, lp.lon_deg, ap.lat_deg, ap.lon_deg, record_dt_s=1.0)
    f = s.flight
    tb = float(f.t_burnout_s[0])
    c = coast(
        tb, f.burnout_r_eci_m, f.burnout_v_eci_mps, m.payload.ballistic_coefficient_kg_m2,
        record_dt_s=1.0, tolerances=Tolerances(rtol=1e-12, atol_m=1e-6),
    )
    truth = f.record_eci[0].copy()  # whole flight on a 1-s grid (boost from the shaped flight)
    post = c.record_eci[0]
    n = min(len(truth), len(post))
    ok = np.isfinite(post[:n, 0])
    truth[:n][ok] = post[:n][ok]
    return SimpleNamespace(t_burnout_s=tb, t_impact_s=float(c.t_impact_s[0]), truth=truth, beta=m.payload.ballistic_coefficient_kg_m2)


def _detections(truth, streams, n_runs, seed):
    """Detections of n_runs independent noisy copies of one truth (run k is target k).

    streams: (times_s, kind, site_ecef, R, sensor_id) per sensor; times on the 1-s truth grid.
    """
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("t_s", "target", "kind", "z", "R", "site_ecef_m", "sensor")}
    for k in range(n_runs):
        for t, kind, site, R, sid in streams:
            n = len(t)
            cols["t_s"].append(t)
            cols["target"].append(np.full(n, k))
            cols["kind"].append(np.full(n, kind))
            cols["z"].append(simulate_measurements(truth[t.astype(int)], t, kind, site, R, rng))
            cols["R"].append(np.broadcast_to(R, (n, 3, 3)))
            cols["site_ecef_m"].append(np.broadcast_to(site, (n, 3)))
            cols["sensor"].append(np.full(n, sid))
    det = SimpleNamespace(**{k: np.concatenate(v) for k, v in cols.items()})
    order = np.argsort(det.t_s, kind="stable")  # detections arrive sorted by time
    return SimpleNamespace(**{k: v[order] for k, v in vars(det).items()})


def _radar_after_burnout(icbm, duration_s):
    t0 = np.ceil(icbm.t_burnout_s) + 5.0
    return [(np.arange(t0, t0 + duration_s + 1.0), RADAR, SHARIKI_ECEF, R_TPY2, 0)]


def _nees(h, truth_at_eval):
    e = h.x_eval - truth_at_eval[None]
    return np.einsum("kti,ktij,ktj->kt", e, np.linalg.inv(h.P_eval), e)


@pytest.mark.parametrize("method", ["ekf", "ukf"])
def test_nees_within_chi_square_band(icbm, method):
    # oracle: for a consistent filter the NEES is chi-square with 6 dof; the mean over N runs
    # lies in chi2(6N).ppf([0.025, 0.975]) / N = [5.34, 6.70] for N = 100 at 95 %
    # (Bar-Shalom, Li & Kirubarajan 2001, sec. 5.4.2). The truth has no process noise, so the
    # filter runs with a tiny q (1e-8 m^2/s^3); the default q = 1e-4 is conservative here.
    streams = _radar_after_burnout(icbm, 100.0)
    t0 = streams[0][0][0]
    t_check = t0 + np.array([1.0, 5.0, 10.0, 30.0, 60.0, 100.0])
    det = _detections(icbm.truth, streams, N_RUNS, seed=1)
    h = track(det, t_check, method, model=MotionModel(beta_kg_m2=icbm.beta, q_m2_s3=1e-8))
    assert np.all(h.initiated_at_s == t0 + 1.0)
    nees = _nees(h, icbm.truth[t_check.astype(int)]).mean(axis=0)
    lo, hi = chi2.ppf([0.025, 0.975], 6 * N_RUNS) / N_RUNS
    print(f"\n{method} mean NEES over {N_RUNS} runs at t - t_first = {t_check - t0}: {np.round(nees, 2)}; band [{lo:.2f}, {hi:.2f}]")
    assert np.all((nees > lo) & (nees < hi))


@pytest.mark.parametrize("method", ["ekf", "ukf"])
def test_icbm_position_error_after_60_s_of_radar_track(icbm, method):
    # Hwasong-15 from Sohae toward Seattle, AN/TPY-2 class radar at Shariki (1,100-1,300 km),
    # first detection 5 s after burnout, default motion model (q = 1e-4 m^2/s^3, beta 2000).
    # Expected: cross-range 0.1 mrad * 1,200 km = 120 m per look, averaged over 60 looks of a
    # moving target: ~25 m on each cross-range axis; range: ~2 m. Bound: 100 m for one run
    # (4 sigma), 50 m RMS over 100 runs.
    streams = _radar_after_burnout(icbm, 60.0)
    t_end = streams[0][0][-1]
    det = _detections(icbm.truth, streams, N_RUNS, seed=2)
    h = track(det, [t_end], method)
    err = np.linalg.norm(h.x_eval[:, 0, :3] - icbm.truth[int(t_end), :3], axis=1)
    sig = np.sqrt(np.trace(h.P_eval[0, 0, :3, :3]))
    rms = np.sqrt(np.mean(err**2))
    vel_err = np.linalg.norm(h.x_eval[0, 0, 3:] - icbm.truth[int(t_end), 3:])
    print(f"\n{method}: position error after 60 s of radar track: run 0 {err[0]:.1f} m, RMS over "
          f"{N_RUNS} runs {rms:.1f} m, filter sigma {sig:.1f} m; velocity error run 0 {vel_err:.2f} m/s")
    assert err[0] < 100.0 * METRE
    assert rms < 50.0 * METRE
    assert 0.7 < rms / sig < 1.3  # the covariance tells the truth
    assert np.all(h.established_at_s <= streams[0][0][0] + 10.0)
    assert np.all(h.n_updates[:, 0] == 61)


def test_batch_of_tracks_equals_single_runs(icbm):
    streams = _radar_after_burnout(icbm, 20.0)
    streams.append((np.arange(streams[0][0][0] + 3.0, streams[0][0][-1], 2.0), INFRARED, GEO_ECEF, R_IR, 1))
    det = _detections(icbm.truth, streams, 5, seed=3)
    t_eval = np.array([340.0, 350.0, 400.0])
    for method in ("ekf", "ukf"):
        batch = track(det, t_eval, method)
        for k in range(5):
            sel = det.target == k
            one = SimpleNamespace(**{f: np.asarray(v)[sel] for f, v in vars(det).items()})
            one.target = np.zeros(sel.sum(), int)
            single = track(one, t_eval, method)
            np.testing.assert_array_equal(single.x_eval[0], batch.x_eval[k])
            np.testing.assert_array_equal(single.P_eval[0], batch.P_eval[k])
            tb, xb, pb = batch.updates(k)
            ts, xs, ps = single.updates(0)
            np.testing.assert_array_equal(tb, ts)
            np.testing.assert_array_equal(xb, xs)
            np.testing.assert_array_equal(pb, ps)
            np.testing.assert_array_equal(batch.n_updates[k], single.n_updates[0])


def test_same_seed_same_numbers(icbm):
    streams = _radar_after_burnout(icbm, 20.0)
    a = track(_detections(icbm.truth, streams, 3, seed=7), [350.0], "ukf")
    b = track(_detections(icbm.truth, streams, 3, seed=7), [350.0], "ukf")
    c = track(_detections(icbm.truth, streams, 3, seed=8), [350.0], "ukf")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.P, b.P)
    np.testing.assert_array_equal(a.x_eval, b.x_eval)
    assert not np.array_equal(a.x, c.x)


def test_state_at_continues_the_history(icbm):
    streams = _radar_after_burnout(icbm, 30.0)
    h = track(_detections(icbm.truth, streams, 2, seed=4), [330.0, 500.0], "ekf")
    t, x, P = h.updates(1)
    # at an update time: that update's state; later: the eval path (same prediction)
    xa, Pa = h.state_at(1, t[5])
    np.testing.assert_array_equal(xa, x[5])
    xb, Pb = h.state_at(1, [330.0, 500.0])
    np.testing.assert_array_equal(xb, h.x_eval[1])
    np.testing.assert_array_equal(Pb, h.P_eval[1])
    # before initiation: NaN; predicted 144 s ahead the truth is still inside 4 sigma
    assert np.all(np.isnan(h.state_at(1, t[0] - 1.0)[0]))
    e = xb[1] - icbm.truth[500]
    assert e @ np.linalg.solve(Pb[1], e) < chi2.ppf(0.9999, 6)


@pytest.mark.parametrize("method", ["ekf", "ukf"])
def test_states_at_is_the_filters_prediction_of_the_last_update(icbm, method):
    # oracle: tracking.predict from the last update at or before each time (bit for bit: the same
    # kernels); hundreds of pairs, so that the evaluation runs in several chunks
    streams = _radar_after_burnout(icbm, 30.0)
    h = track(_detections(icbm.truth, streams, 4, seed=6), method=method)
    rng = np.random.default_rng(1)
    k = rng.integers(0, 4, 400)
    t = rng.uniform(h.t_s.min() - 5.0, h.t_s.max() + 60.0, 400)
    u = rng.integers(0, h.t_s.size, 50)  # some at update times: those updates' states
    t[:50] = h.t_s[u]
    k[:50] = np.searchsorted(h.offsets, u, side="right") - 1
    x, P = h.states_at(k, t)
    for e in range(400):
        tu, xu, pu = h.updates(k[e])
        i = np.searchsorted(tu, t[e], side="right") - 1
        if i < 0:
            assert np.all(np.isnan(x[e])) and np.all(np.isnan(P[e]))
            continue
        if tu[i] == t[e]:
            np.testing.assert_array_equal(x[e], xu[i])
            np.testing.assert_array_equal(P[e], pu[i])
            continue
        xr, pr = predict(xu[i], pu[i], tu[i], t[e], method=method, model=h.model)
        np.testing.assert_array_equal(x[e], xr[0])
        np.testing.assert_array_equal(P[e], pr[0])


def test_a_later_track_leaves_a_held_history_alone(icbm):
    # the recorded states live in a buffer that track() reuses once nothing refers to it
    streams = _radar_after_burnout(icbm, 20.0)
    det_a = _detections(icbm.truth, streams, 3, seed=7)
    det_b = _detections(icbm.truth, streams, 3, seed=8)
    a = track(det_a, method="ekf")
    ref = {f: getattr(a, f).copy() for f in ("x", "P", "t_s", "nis", "kind", "sensor", "detection_index")}
    b = track(det_b, method="ekf")  # a is held: b gets its own buffer
    for f, v in ref.items():
        np.testing.assert_array_equal(getattr(a, f), v)
    view = a.P[2:5]
    del a
    c = track(det_b, method="ekf")  # b is held, and a's buffer through the view
    np.testing.assert_array_equal(view, ref["P"][2:5])
    np.testing.assert_array_equal(c.x, b.x)
    del view, c
    d = track(det_a, method="ekf")  # a free buffer, reused: the same numbers as a fresh one
    for f, v in ref.items():
        np.testing.assert_array_equal(getattr(d, f), v)
    np.testing.assert_array_equal(b.P, track(det_b, method="ekf").P)


def test_infrared_cue_and_boost_process_noise(icbm):
    # IR from launch (every 2 s while the motor burns), radar from 198 s (elevation > 0.5 deg at
    # Shariki) through boost: with the IR the track carries the boost process noise and stays
    # consistent through burnout; without the IR the ballistic model is wrong during boost and
    # the track diverges (why radar-only tracks must start after burnout).
    tb = icbm.t_burnout_s
    t_radar = np.arange(198.0, np.ceil(tb) + 61.0)
    ir = (np.arange(10.0, tb, 2.0), INFRARED, GEO_ECEF, R_IR, 1)
    radar = (t_radar, RADAR, SHARIKI_ECEF, R_TPY2, 0)
    t_check = np.round([tb - 60.0, tb + 10.0, tb + 60.0])
    truth = icbm.truth[t_check.astype(int)]
    n = 50
    with_ir = track(_detections(icbm.truth, [radar, ir], n, seed=5), t_check, "ekf")
    without = track(_detections(icbm.truth, [radar], n, seed=5), t_check, "ekf")
    assert np.all(with_ir.cued_at_s == 10.0) and np.all(np.isnan(without.cued_at_s))
    assert np.all(with_ir.initiated_at_s == 199.0)
    # IR detections before the radar initiates only cue; after it they are fused
    n_ir_fused = np.sum((ir[0] >= 199.0))
    assert np.all(with_ir.n_updates[:, 1] == n_ir_fused)
    nees_ir = _nees(with_ir, truth).mean(axis=0)
    nees_no = _nees(without, truth).mean(axis=0)
    hi = chi2.ppf(0.975, 6 * n) / n
    print(f"\nmean NEES at burnout -60/+10/+60 s: with IR cue {np.round(nees_ir, 2)}, radar only {nees_no}")
    assert np.all(nees_ir < hi)  # consistent or conservative
    assert np.all(nees_no > 100.0)
    err = np.linalg.norm(with_ir.x_eval[:, -1, :3] - truth[-1, :3], axis=1)
    assert np.sqrt(np.mean(err**2)) < 60.0 * METRE


@pytest.mark.parametrize("beta_kg_m2", [1500.0, 3000.0])
def test_reentry_with_a_wrong_ballistic_coefficient_stays_consistent(icbm, beta_kg_m2):
    # A terminal radar near the aim point (hypothetical, AN/TPY-2 class) tracks the last 250 s,
    # from 630 km down to 250 m; the RV's beta is 2,200 kg/m^2, the tracker assumes another
    # (-32 %, +36 %) and covers the drag error with its drag process noise (models docstring):
    # the mean NEES must stay below the 95 % upper bound (conservative is allowed) and the
    # position error at the tens-of-metres level of the radar (cross-range 0.1 mrad * range).
    site = frames.geodetic_to_ecef(47.0, -123.5, 0.0)
    t = np.arange(np.floor(icbm.t_impact_s) - 250.0, icbm.t_impact_s - 1.0)
    det = _detections(icbm.truth, [(t, RADAR, site, R_TPY2, 0)], 50, seed=6)
    t_check = t[[20, 150, 200, 230, -1]]  # 560, 180, 60, 4.6, 0.3 km up
    h = track(det, t_check, "ekf", model=MotionModel(beta_kg_m2=beta_kg_m2))
    nees = _nees(h, icbm.truth[t_check.astype(int)]).mean(axis=0)
    err = np.linalg.norm(h.x_eval[:, :, :3] - icbm.truth[t_check.astype(int), :3], axis=2)
    rms = np.sqrt(np.mean(err**2, axis=0))
    print(f"\nbeta {beta_kg_m2:.0f} (truth {icbm.beta:.0f}): mean NEES {np.round(nees, 2)}, RMS position error {np.round(rms, 1)} m")
    assert np.all(nees < chi2.ppf(0.975, 6 * 50) / 50)
    assert np.all(rms < 100.0 * METRE)
    assert np.all(rms[1:] < 30.0 * METRE)


def test_detections_need_their_fields():
    from bmdsim.errors import BmdsimInputError

    with pytest.raises(BmdsimInputError, match="site_ecef_m"):
        track(SimpleNamespace(t_s=[], target=[], kind=[], z=[], R=[], sensor=[]), [], "ekf")
    with pytest.raises(BmdsimInputError, match="method"):
        track({}, [], "kalman")
