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

MACH = np.array([0.0, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 30.0])
CD = np.array([0.20, 0.20, 0.21, 0.25, 0.36, 0.42, 0.42, 0.38, 0.32, 0.28, 0.26, 0.23, 0.22, 0.20, 0.20])


@njit(cache=True)
def drag_coefficient(mach):
    """Body drag coefficient at a Mach number: linear interpolation in the table above."""
    if mach <= MACH[0]:
        return CD[0]
    n = MACH.shape[0]
    if mach >= MACH[n - 1]:
        return CD[n - 1]
    i = np.searchsorted(MACH, mach) - 1
    w = (mach - MACH[i]) / (MACH[i + 1] - MACH[i])
    return CD[i] + w * (CD[i + 1] - CD[i])
