"""Spent stages: where they fall.

Each stage separates with the state the kernel recorded at staging (``FlightBatch.separation``)
and then falls as a tumbling cylinder: its ballistic coefficient is beta = m_dry / (C_D A) with
C_D = 1.0 on the body cross-section (a tumbling body presents its side part of the time; rough,
like any drop-zone estimate, and stated as such).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmdsim.flight.fly import FULL_EARTH, EarthModel, FlightBatch, coast
from bmdsim.threats.spec import Missile

TUMBLING_CD = 1.0


@dataclass(frozen=True)
class DropZone:
    stage: int  # 1-based
    lat_deg: float
    lon_deg: float
    t_impact_s: float
    orbital: bool


def drop_zones(flight: FlightBatch, missile: Missile, index: int = 0, earth: EarthModel = FULL_EARTH) -> list[DropZone]:
    """Impact points of the spent stages of trajectory ``index`` of a flown batch."""
    sep = flight.separation[index]
    rows = [s for s in range(len(missile.stage)) if np.isfinite(sep[s, 0])]
    if not rows:
        return []
    beta = np.array([missile.stage[s].dry_mass_kg / (TUMBLING_CD * missile.stage[s].area_m2) for s in rows])
    b = coast(sep[rows, 0], sep[rows, 1:4], sep[rows, 4:7], beta, earth=earth)
    lat, lon = b.impact_lat_lon_deg
    return [
        DropZone(s + 1, float(lat[i]), float(lon[i]), float(b.t_impact_s[i]), bool(b.orbital[i]))
        for i, s in enumerate(rows)
    ]
