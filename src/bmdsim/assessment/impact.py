"""Impact-point prediction from a track: where will it come down, and how sure are we?

A track is a Gaussian state estimate (mean and covariance of the ECI position and velocity at a
time). Its impact-point distribution is found by sampling: draw states from the Gaussian, fly
each to impact with the batch flight kernel (ballistic, J2, drag with the assumed ballistic
coefficient), and read the impact points. The flight is nonlinear over tens of minutes, so the
samples carry what a linearised covariance would miss (the banana-shaped impact dispersion of a
long-range shot). From the samples: the mean impact point, the 2-sigma ellipse in the local
tangent plane, the time to impact, the fraction that goes into orbit, and, with a territory
index, the probability of impact in each protected territory (with its binomial standard error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bmdsim.earth import frames
from bmdsim.flight.fly import FULL_EARTH, EarthModel, Tolerances, coast

# Predictions need metres, not millimetres: looser than the truth integrator, much faster.
PREDICTION_TOLERANCES = Tolerances(rtol=1e-8, atol_m=1.0)


@dataclass
class ImpactPrediction:
    """The predicted impact of one track at one time."""

    t_s: float
    n_samples: int
    impact_lat_deg: np.ndarray  # (n,) per sample; NaN for samples that did not impact
    impact_lon_deg: np.ndarray
    time_to_impact_s: np.ndarray  # (n,)
    orbital_fraction: float
    mean_lat_deg: float
    mean_lon_deg: float
    semi_major_km: float  # 2-sigma ellipse in the local tangent plane
    semi_minor_km: float
    orientation_deg: float  # of the major axis, clockwise from north
    mean_time_to_impact_s: float
    p_impact: dict[str, float] = field(default_factory=dict)  # territory code -> probability
    p_impact_se: dict[str, float] = field(default_factory=dict)  # binomial standard error

    @property
    def impacted(self) -> np.ndarray:
        return np.isfinite(self.impact_lat_deg)

    def as_dict(self) -> dict:
        return {
            "lat": self.mean_lat_deg,
            "lon": self.mean_lon_deg,
            "semi_major_km": self.semi_major_km,
            "semi_minor_km": self.semi_minor_km,
            "orientation_deg": self.orientation_deg,
        }


def _ellipse_2sigma(lat_deg, lon_deg):
    """Mean point and 2-sigma ellipse of points on the Earth, in the tangent plane at the mean."""
    r = frames.geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    m = r.mean(axis=0)
    mlat, mlon, _ = frames.ecef_to_geodetic(m)
    basis = frames.enu_basis(mlat, mlon)
    en = (r - frames.geodetic_to_ecef(mlat, mlon, 0.0)) @ basis[:2].T
    if len(en) < 3:
        return float(mlat), float(mlon), 0.0, 0.0, 0.0
    cov = np.cov(en.T)
    w, v = np.linalg.eigh(cov)
    w = np.clip(w, 0.0, None)
    major = v[:, 1]
    orient = float(np.degrees(np.arctan2(major[0], major[1])) % 180.0)
    return float(mlat), float(mlon), 2.0 * np.sqrt(w[1]) / 1e3, 2.0 * np.sqrt(w[0]) / 1e3, orient


def sample_states(x_eci, p_eci, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws from N(x, P) (6-state), with the mean itself as the first draw."""
    x = np.asarray(x_eci, float)
    p = 0.5 * (np.asarray(p_eci, float) + np.asarray(p_eci, float).T)
    w, v = np.linalg.eigh(p)
    a = v * np.sqrt(np.clip(w, 0.0, None))
    draws = x + rng.standard_normal((n, x.size)) @ a.T
    draws[0] = x
    return draws


def predict_impact(
    t_s: float,
    x_eci,
    p_eci,
    beta_kg_m2: float,
    rng: np.random.Generator,
    *,
    n_samples: int = 400,
    territory_index=None,
    earth: EarthModel = FULL_EARTH,
) -> ImpactPrediction:
    """Fly n_samples draws of a track's state to impact; summarise where they land.

    territory_index: an ``earth.geography.TerritoryIndex`` (or None): with it, p_impact holds the
    fraction of samples in each of its territories (every territory listed, zeros included).
    """
    states = sample_states(x_eci, p_eci, n_samples, rng)
    b = coast(np.full(n_samples, t_s), states[:, :3], states[:, 3:], beta_kg_m2, earth=earth, tolerances=PREDICTION_TOLERANCES)
    lat, lon = b.impact_lat_lon_deg
    ok = b.impacted
    lat = np.where(ok, lat, np.nan)
    lon = np.where(ok, lon, np.nan)
    tti = np.where(ok, b.t_impact_s - t_s, np.nan)
    if ok.any():
        mlat, mlon, a, bb, o = _ellipse_2sigma(lat[ok], lon[ok])
        mtti = float(np.nanmean(tti))
    else:
        mlat = mlon = a = bb = o = mtti = float("nan")
    pred = ImpactPrediction(
        t_s=float(t_s),
        n_samples=n_samples,
        impact_lat_deg=lat,
        impact_lon_deg=lon,
        time_to_impact_s=tti,
        orbital_fraction=float(np.mean(b.orbital)),
        mean_lat_deg=mlat,
        mean_lon_deg=mlon,
        semi_major_km=a,
        semi_minor_km=bb,
        orientation_deg=o,
        mean_time_to_impact_s=mtti,
    )
    if territory_index is not None:
        where = np.full(n_samples, "", dtype=object)
        if ok.any():
            where[ok] = territory_index.locate(lat[ok], lon[ok])
        for t in territory_index.territories:
            p = float(np.mean(where == t.code))
            pred.p_impact[t.code] = p
            pred.p_impact_se[t.code] = float(np.sqrt(max(p * (1 - p), 1.0 / n_samples) / n_samples))
    return pred
