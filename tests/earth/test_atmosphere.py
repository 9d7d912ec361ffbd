"""bmdsim.earth.atmosphere against the US Standard Atmosphere 1976.

Oracles:
- [AMB]   ambiance 1.3, the ICAO Standard Atmosphere 1993 (= US76 from -5 to 80 km), evaluated
          here independently of the shipped table.
- [US76]  U.S. Standard Atmosphere, 1976 (NOAA-S/T 76-1562, NASA-TM-X-74335), Table I.
- [CURTIS] H. D. Curtis, Orbital Mechanics for Engineering Students, MATLAB function
          atmosphere.m (appendix of scripts), which reproduces [US76] densities, among them
          levels the table script does not use (140, 180, 350, 450 km): held-out checks of
          its interpolation.
"""

import math

import numpy as np
import pytest
from ambiance import Atmosphere
from numba import njit

from bmdsim.earth import atmosphere as atm

KM = 1000.0
PERCENT = 0.01
M_S = 1.0  # m/s


def test_density_and_sound_speed_match_ambiance_0_to_81_km():
    # [AMB] at 500 random altitudes; tolerances: density 0.3 %, speed of sound 0.1 m/s.
    h_m = np.random.default_rng(1976).uniform(0.0, 81 * KM, 500)
    ref = Atmosphere(h_m)
    rho = atm.density(h_m)
    a = atm.speed_of_sound(h_m)
    assert np.max(np.abs(rho / ref.density - 1.0)) < 0.3 * PERCENT
    assert np.max(np.abs(a - ref.speed_of_sound)) < 0.1 * M_S


def test_density_worst_case_at_the_tropopause_kink():
    # [AMB]: the grid's worst case is the lapse-rate kink at H = 11 km' (Z = 11,019 m), where
    # log-linear interpolation is least exact; density 0.3 %, speed of sound 0.1 m/s.
    h_m = np.linspace(10_900.0, 11_100.0, 401)
    ref = Atmosphere(h_m)
    assert np.max(np.abs(atm.density(h_m) / ref.density - 1.0)) < 0.3 * PERCENT
    assert np.max(np.abs(atm.speed_of_sound(h_m) - ref.speed_of_sound)) < 0.1 * M_S


# [US76] Table I densities (kg/m^3); [CURTIS] for 140, 180, 350, 450 km.
US76_DENSITY_KG_M3 = {
    86: 6.958e-6, 90: 3.416e-6, 100: 5.604e-7, 110: 9.708e-8, 120: 2.222e-8, 130: 8.152e-9,
    140: 3.831e-9, 150: 2.076e-9, 180: 5.194e-10, 200: 2.541e-10, 250: 6.073e-11,
    300: 1.916e-11, 350: 7.014e-12, 400: 2.803e-12, 450: 1.184e-12, 500: 5.215e-13,
    600: 1.137e-13, 700: 3.070e-14, 800: 1.136e-14, 900: 5.759e-15, 1000: 3.561e-15,
}


@pytest.mark.parametrize("z_km", sorted(US76_DENSITY_KG_M3))
def test_density_matches_us76_table_above_86_km(z_km):
    # [US76] Table I / [CURTIS]; tolerance 1 %.
    got = atm.density_kg_m3(z_km * KM)
    assert got == pytest.approx(US76_DENSITY_KG_M3[z_km], rel=1 * PERCENT)


def test_table_temperature_matches_us76_kinetic_temperature():
    # [US76] Table I kinetic temperatures (K) at grid altitudes; tolerance 0.01 K (table rounding).
    us76_t_k = {86: 186.87, 90: 186.87, 100: 195.08, 110: 240.00, 120: 360.00, 130: 469.27,
                150: 634.39, 200: 854.56, 300: 976.01, 500: 999.24, 1000: 1000.00}
    for z_km, t_k in us76_t_k.items():
        i = int(np.flatnonzero(atm.TABLE_ALTITUDE_M == z_km * KM)[0])
        assert atm.TABLE_TEMPERATURE_K[i] == pytest.approx(t_k, abs=0.01), z_km


def test_table_satisfies_ideal_gas_below_86_km():
    # [US76] equation of state rho = p M0 / (R* T_M), M0 = 28.9644 kg/kmol, R* = 8314.32 J/(kmol K),
    # with T_M from the [US76] speed of sound sqrt(1.4 R* T_M / M0); tolerance 0.01 %.
    below = atm.TABLE_ALTITUDE_M <= 86 * KM
    t_m = atm.TABLE_SPEED_OF_SOUND_MPS[below] ** 2 * 28.9644 / (1.4 * 8314.32)
    rho = atm.TABLE_PRESSURE_PA[below] * 28.9644 / (8314.32 * t_m)
    assert np.max(np.abs(rho / atm.TABLE_DENSITY_KG_M3[below] - 1.0)) < 0.01 * PERCENT


def test_density_strictly_decreasing_with_altitude():
    # Hydrostatic equilibrium ([US76]): density falls with height everywhere, table and kernel;
    # below -1 km it is held (clamp), so the sweep starts there.
    assert np.all(np.diff(atm.TABLE_DENSITY_KG_M3) < 0.0)
    h_m = np.concatenate([np.arange(-1 * KM, 100 * KM, 7.0), np.arange(100 * KM, 2000 * KM, 331.0)])
    assert np.all(np.diff(atm.density(h_m)) < 0.0)


def test_continuous_across_81_to_86_km_bridge():
    # [AMB] at 81 km, [US76] Table I at 86 km, and no step between 10 m samples over 2 %
    # (the natural change over 10 m is 0.2 %); speed of sound steps under 0.1 m/s.
    h_m = np.arange(80.5 * KM, 86.5 * KM, 10.0)
    rho = atm.density(h_m)
    a = atm.speed_of_sound(h_m)
    assert np.max(np.abs(np.diff(np.log(rho)))) < 2 * PERCENT
    assert np.max(np.abs(np.diff(a))) < 0.1 * M_S
    rho_81 = Atmosphere(81 * KM).density[0]
    assert atm.density_kg_m3(81 * KM) == pytest.approx(rho_81, rel=0.3 * PERCENT)
    assert atm.density_kg_m3(86 * KM) == pytest.approx(6.958e-6, rel=1 * PERCENT)
    # [US76] speed of sound at 86 km, T_M = 186.946 K: 274.10 m/s (Table I), then held.
    assert atm.speed_of_sound_mps(86 * KM) == pytest.approx(274.10, abs=0.1 * M_S)
    assert atm.speed_of_sound_mps(500 * KM) == atm.speed_of_sound_mps(86 * KM)


def test_below_sea_level_finite_positive_and_clamped():
    # [AMB] from -1 to 0 km (it is valid to -5 km): density 0.3 %, speed of sound 0.1 m/s;
    # held below -1 km.
    h_m = np.linspace(-1 * KM, 0.0, 101)
    ref = Atmosphere(h_m)
    assert np.max(np.abs(atm.density(h_m) / ref.density - 1.0)) < 0.3 * PERCENT
    assert np.max(np.abs(atm.speed_of_sound(h_m) - ref.speed_of_sound)) < 0.1 * M_S
    for h_m in (-0.5 * KM, -1 * KM, -3 * KM, -1e9, -math.inf):
        rho, a = atm.density_and_sound_speed(h_m)
        assert math.isfinite(rho) and rho > 0.0
        assert math.isfinite(a) and a > 0.0
    assert atm.density_and_sound_speed(-3 * KM) == atm.density_and_sound_speed(-1 * KM)
    assert atm.density_kg_m3(-0.5 * KM) > atm.density_kg_m3(0.0)


def test_above_1000_km_finite_positive_and_falling():
    # Exponential continuation with the top interval's scale height: positive, falling, never NaN.
    h_m = np.array([1000.0, 1001.0, 1500.0, 2000.0, 10_000.0, 100_000.0]) * KM
    rho = atm.density(h_m)
    a = atm.speed_of_sound(h_m)
    assert np.all(np.isfinite(rho)) and np.all(rho > 0.0) and np.all(np.diff(rho) < 0.0)
    assert np.all(np.isfinite(a)) and np.all(a > 0.0)
    assert atm.density_kg_m3(math.inf) == 0.0
    assert math.isnan(atm.density_kg_m3(math.nan))


def test_kernels_agree_with_wrappers_and_with_a_binary_search_lookup():
    # The O(1) index arithmetic against np.interp's binary search on the same table (1e-12
    # relative), and the scalar kernels against the array wrappers (bit-for-bit).
    rng = np.random.default_rng(86)
    h_m = np.concatenate([
        rng.uniform(-2 * KM, 1100 * KM, 2000),
        atm.TABLE_ALTITUDE_M,
        np.nextafter(atm.TABLE_ALTITUDE_M, -np.inf)[1:],
    ])
    rho_k = np.array([atm.density_kg_m3(h) for h in h_m])
    a_k = np.array([atm.speed_of_sound_mps(h) for h in h_m])
    both = np.array([atm.density_and_sound_speed(h) for h in h_m])
    np.testing.assert_array_equal(rho_k, atm.density(h_m))
    np.testing.assert_array_equal(a_k, atm.speed_of_sound(h_m))
    np.testing.assert_array_equal(both[:, 0], rho_k)
    np.testing.assert_array_equal(both[:, 1], a_k)

    inside = (h_m >= 0.0) & (h_m <= 1000 * KM)
    # density: a cubic Hermite interpolant of ln(rho) with centred-difference node slopes
    from scipy.interpolate import CubicHermiteSpline

    h_t, ln_t = atm.TABLE_ALTITUDE_M, np.log(atm.TABLE_DENSITY_KG_M3)
    slopes = np.gradient(ln_t, h_t, edge_order=1)
    slopes[1:-1] = (ln_t[2:] - ln_t[:-2]) / (h_t[2:] - h_t[:-2])
    ref_rho = np.exp(CubicHermiteSpline(h_t, ln_t, slopes)(h_m[inside]))
    ref_a = np.interp(h_m[inside], atm.TABLE_ALTITUDE_M, atm.TABLE_SPEED_OF_SOUND_MPS)
    np.testing.assert_allclose(rho_k[inside], ref_rho, rtol=1e-12)
    np.testing.assert_allclose(a_k[inside], ref_a, rtol=1e-12)

    block = h_m[:2000].reshape(40, 50)
    assert atm.density(block).shape == (40, 50)
    np.testing.assert_array_equal(atm.speed_of_sound(block).ravel(), a_k[:2000])


def test_density_is_smooth_across_table_nodes():
    # C1: the slope of ln(rho) just below and just above a node agrees (to the finite-difference
    # error), so drag has no kinks for the adaptive integrator to stumble on
    for h in (5 * KM, 11 * KM, 33.3 * KM, 85 * KM, 150 * KM):
        d = 0.05  # metres
        node = atm.TABLE_ALTITUDE_M[np.argmin(np.abs(atm.TABLE_ALTITUDE_M - h))]
        below = (np.log(atm.density_kg_m3(node - d)) - np.log(atm.density_kg_m3(node - 2 * d))) / d
        above = (np.log(atm.density_kg_m3(node + 2 * d)) - np.log(atm.density_kg_m3(node + d))) / d
        assert above == pytest.approx(below, rel=1e-3)


def test_kernels_callable_from_another_njit_kernel():
    # Usable inside flight kernels: a dynamic pressure q = rho v^2 / 2 compiled by numba.
    @njit
    def dynamic_pressure_pa(h_m, v_mps):
        rho, a = atm.density_and_sound_speed(h_m)
        q_pa = 0.5 * rho * v_mps * v_mps
        return q_pa, v_mps / a, atm.density_kg_m3(h_m), atm.speed_of_sound_mps(h_m)

    q, mach, rho, a = dynamic_pressure_pa(10 * KM, 1000.0)
    assert q == pytest.approx(0.5 * atm.density_kg_m3(10 * KM) * 1e6, rel=1e-15)
    assert mach == pytest.approx(1000.0 / atm.speed_of_sound_mps(10 * KM), rel=1e-15)
    assert rho == atm.density_kg_m3(10 * KM) and a == atm.speed_of_sound_mps(10 * KM)
