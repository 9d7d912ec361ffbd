"""Physical constants, SI units, in one place.

Sources:
- WGS-84: NIMA TR8350.2, 3rd ed. (2000), tables 3.1-3.3.
- J2: EGM96 / WGS-84 C20 = -4.84166774985e-4 (normalised), J2 = -sqrt(5) C20.
- Standard gravity: CGPM 1901 (g0 = 9.80665 m/s^2).
"""

import math

# WGS-84 ellipsoid (TR8350.2 table 3.1)
WGS84_A_M = 6378137.0                      # semi-major axis
WGS84_F = 1.0 / 298.257223563              # flattening
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)    # semi-minor axis
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)       # first eccentricity squared
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)    # second eccentricity squared

# Gravity (TR8350.2 table 3.3, including the atmosphere's mass)
MU_EARTH_M3_S2 = 3.986004418e14
J2_EARTH = 1.08262982131e-3                # -sqrt(5) * C20, C20 = -4.84166774985e-4 (EGM96)

# Earth rotation rate (TR8350.2 table 3.1), rad/s, about the ECEF/ECI z axis
OMEGA_EARTH_RAD_S = 7.292115e-5

# Mean radius used by spherical-Earth conventions (IUGG mean radius R1 = 6371.0088 km)
R_MEAN_M = 6371008.8

# Standard gravity for specific impulse
G0_MPS2 = 9.80665

DEG = math.pi / 180.0
KM = 1000.0
