"""Closed-form free flight on a spherical, non-rotating, airless Earth.

Bate, Mueller & White, *Fundamentals of Astrodynamics* (1971), section 6.2 (the "BMW" formulas):

- range equation: cos(psi/2) = (1 - Q cos^2 g) / sqrt(1 + Q (Q - 2) cos^2 g), with Q = v^2 r / mu
  (burnout and re-entry at the same radius);
- minimum energy: Q = 2 sin(psi/2) / (1 + sin(psi/2)) and g = (pi - psi) / 4.

Array functions; angles in radians unless the name says degrees. They are the oracle for the
numeric integrator (``tests/flight/test_kepler.py``).
"""

from __future__ import annotations

import numpy as np

from bmdsim.constants import MU_EARTH_M3_S2, R_MEAN_M


def min_energy_q(psi_rad):
    """Q of the minimum-energy trajectory over a free-flight range angle psi (BMW eq. 6.2-20)."""
    s = np.sin(np.asarray(psi_rad) / 2.0)
    return 2.0 * s / (1.0 + s)


def min_energy_flight_path_angle(psi_rad):
    """Optimal burnout flight-path angle, (pi - psi) / 4 (BMW eq. 6.2-19)."""
    return (np.pi - np.asarray(psi_rad)) / 4.0


def range_angle(q, gamma_rad):
    """Free-flight range angle psi from Q and the flight-path angle (BMW eq. 6.2-16)."""
    c2 = np.cos(gamma_rad) ** 2
    return 2.0 * np.arccos((1.0 - q * c2) / np.sqrt(1.0 + q * (q - 2.0) * c2))


def ellipse(r_m, v_mps, gamma_rad, mu=MU_EARTH_M3_S2):
    """Semi-major axis (m), eccentricity and semi-latus rectum (m) of the free-flight ellipse."""
    q = v_mps**2 * r_m / mu
    a = r_m / (2.0 - q)
    c2 = np.cos(gamma_rad) ** 2
    e = np.sqrt(1.0 + q * (q - 2.0) * c2)
    p = (r_m * q * c2)
    return a, e, p


def time_of_flight_symmetric(r_m, v_mps, gamma_rad, mu=MU_EARTH_M3_S2):
    """Time from burnout at radius r up over apogee and back down to radius r (Kepler's equation)."""
    a, e, p = ellipse(r_m, v_mps, gamma_rad, mu)
    cos_nu = np.clip((p / r_m - 1.0) / e, -1.0, 1.0)
    nu = np.arccos(cos_nu)  # true anomaly of the descending crossing, in (0, pi)
    ecc_anom = 2.0 * np.arctan(np.sqrt((1.0 - e) / (1.0 + e)) * np.tan(nu / 2.0))
    mean_anom = ecc_anom - e * np.sin(ecc_anom)
    return 2.0 * (np.pi - mean_anom) * np.sqrt(a**3 / mu)


def apogee_radius(r_m, v_mps, gamma_rad, mu=MU_EARTH_M3_S2):
    a, e, _ = ellipse(r_m, v_mps, gamma_rad, mu)
    return a * (1.0 + e)


def min_energy(ground_range_m, radius_m=R_MEAN_M, mu=MU_EARTH_M3_S2) -> dict[str, np.ndarray]:
    """The minimum-energy trajectory over a ground range, burnout at the surface.

    Returns burnout speed (m/s), flight-path angle (deg), apogee altitude (m) and coast time (s).
    """
    psi = np.asarray(ground_range_m, dtype=float) / radius_m
    q = min_energy_q(psi)
    g = min_energy_flight_path_angle(psi)
    v = np.sqrt(q * mu / radius_m)
    return {
        "burnout_speed_mps": v,
        "flight_path_angle_deg": np.degrees(g),
        "apogee_altitude_m": apogee_radius(radius_m, v, g, mu) - radius_m,
        "coast_time_s": time_of_flight_symmetric(radius_m, v, g, mu),
    }


def max_range_m(v_mps, radius_m=R_MEAN_M, mu=MU_EARTH_M3_S2):
    """Greatest ground range for a burnout speed at the surface: invert Q = 2 s / (1 + s)."""
    q = np.asarray(v_mps, dtype=float) ** 2 * radius_m / mu
    s = q / (2.0 - q)
    return 2.0 * np.arcsin(np.clip(s, 0.0, 1.0)) * radius_m
