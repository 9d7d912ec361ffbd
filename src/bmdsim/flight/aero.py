"""Aerodynamic drag of a missile body during boost.

Drag coefficient against Mach number for a slender, finned ballistic missile, zero angle of
attack, power off, referenced to the body cross-section. The shape (flat subsonic value, a
transonic peak near Mach 1.1-1.2, a slow supersonic and hypersonic decline) and its values follow
the V-2 drag curve in G. P. Sutton & O. Biblarz, *Rocket Propulsion Elements*, 7th ed. (2001),
Fig. 4-2, read to about 0.02. The reentry vehicle after separation is described by its ballistic
coefficient instead (see ``threats.spec.Payload``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.interpolate import PchipInterpolator

MACH = np.array([0.0, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 30.0])
CD = np.array([0.20, 0.20, 0.21, 0.25, 0.36, 0.42, 0.42, 0.38, 0.32, 0.28, 0.26, 0.23, 0.22, 0.20, 0.20])


# The points above joined by a monotone cubic (PCHIP: no overshoot at the transonic peak), then
# sampled every 0.01 in Mach: a smooth curve with an O(1) lookup. Corners in C_D(M) would
# force the adaptive integrator into short steps through the transonic region for nothing.
_DM = 0.01
_MACH_FINE = np.arange(0.0, MACH[-1] + _DM / 2, _DM)
_CD_FINE = PchipInterpolator(MACH, CD)(_MACH_FINE)
_CD_FINE.setflags(write=False)
_N_FINE = _MACH_FINE.shape[0]


@njit(cache=True)
def drag_coefficient(mach):
    """Body drag coefficient at a Mach number (the smooth curve through the table above)."""
    if mach <= 0.0:
        return _CD_FINE[0]
    x = mach / _DM
    i = int(x)
    if i >= _N_FINE - 1:
        return _CD_FINE[_N_FINE - 1]
    w = x - i
    return _CD_FINE[i] + w * (_CD_FINE[i + 1] - _CD_FINE[i])
