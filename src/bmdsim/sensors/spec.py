"""Sensor specifications: frozen, validated models whose fields are the configuration.

Two kinds of sensor:

- `RadarSpec`: a ground- or sea-based radar at a site, with a field of regard (azimuth sector
  and elevation limits in the site's east-north-up frame), a maximum range against a reference
  radar cross-section, a revisit interval and Gaussian measurement noise on range, azimuth and
  elevation.
- `InfraredSpec`: a constellation of geostationary infrared satellites (SBIRS-class) that see a
  missile's plume while its motor burns and report the line of sight as two angles.

Angles are radians inside and degrees in the configuration (``*_deg`` fields); the model turns
them into radians through properties. Every figure is overridable: the models are frozen, and
`bmdsim.sensors.catalog.with_overrides` (or `get_sensor(name, overrides)`) returns a validated
copy; pydantic's ``model_copy(update=...)`` also works but skips validation.

Radar equation scaling (Skolnik, *Introduction to Radar Systems*, 3rd ed., eq. 1.1 and 2.1):
at fixed power, aperture, dwell and detection threshold, R_max is proportional to sigma^(1/4), so
R_max(sigma) = R_ref (sigma / sigma_ref)^(1/4).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bmdsim.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S

GEO_RADIUS_M = (MU_EARTH_M3_S2 / OMEGA_EARTH_RAD_S**2) ** (1.0 / 3.0)
"""Geostationary orbit radius, r = (mu / omega^2)^(1/3) = 42,164 km (Vallado, 4th ed., sec. 1.3)."""

KIND_RADAR = 0
KIND_INFRARED = 1


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="catalog key, lower case")
    name: str = Field(description="display name")
    aliases: tuple[str, ...] = Field(default=(), description="other names that find it in the catalog")
    revisit_s: float = Field(gt=0, le=3600, description="time between looks at (reports on) an object")
    revisit_phase_s: float = Field(default=0.0, ge=0, description="looks at t = phase + k * revisit_s")
    source: dict[str, str] = Field(default_factory=dict, description="where each figure comes from, by field")
    notes: str = ""


class RadarSpec(_Spec):
    """A radar at a fixed site (a ship on station counts as fixed).

    Field of regard: azimuth within ``half_width_az_deg`` of ``boresight_az_deg`` (azimuth
    clockwise from north; 180 means all round), elevation in [min_elevation_deg,
    max_elevation_deg] in the site's ENU frame. min_elevation_deg >= 0 makes the Earth's
    horizon the lower bound: a point above the site's tangent plane is never behind the Earth.
    Atmospheric refraction is ignored.

    Detection: an object is detected at a look when it is in the field of regard and its slant
    range is at most R_max(rcs) = max_range_ref_m (rcs / rcs_ref_m2)^(1/4); then with
    probability ``p_detect`` (1: always). Noise: range error sigma_range_m; angle errors are
    cross-range angles, so the error of the azimuth itself is sigma_az_rad / cos(el) (the same
    transverse error spans a wider azimuth near the zenith); the elevation error is sigma_el_rad.
    """

    kind: Literal["radar"] = "radar"
    site_name: str = Field(default="", description="the place the site coordinates come from")
    site_lat_deg: float = Field(ge=-90, le=90, description="geodetic latitude of the antenna")
    site_lon_deg: float = Field(ge=-180, lt=360, description="longitude, east positive")
    site_alt_m: float = Field(default=0.0, ge=-500, le=9000, description="antenna height above the WGS-84 ellipsoid")
    boresight_az_deg: float = Field(ge=0, lt=360, description="centre of the azimuth sector, clockwise from north")
    half_width_az_deg: float = Field(gt=0, le=180, description="half-width of the azimuth sector; 180: all round")
    min_elevation_deg: float = Field(ge=0, lt=90, description="lowest elevation seen; >= 0 keeps the horizon")
    max_elevation_deg: float = Field(gt=0, le=90, description="highest elevation seen")
    max_range_ref_m: float = Field(gt=0, le=1e8, description="maximum detection range against rcs_ref_m2")
    rcs_ref_m2: float = Field(gt=0, le=1e4, description="radar cross-section the maximum range applies to")
    p_detect: float = Field(default=1.0, gt=0, le=1, description="probability of detection per look within R_max")
    sigma_range_m: float = Field(ge=0, le=1e5, description="1-sigma range error")
    sigma_az_rad: float = Field(ge=0, le=0.5, description="1-sigma cross-range angle error in azimuth")
    sigma_el_rad: float = Field(ge=0, le=0.5, description="1-sigma elevation error")

    @model_validator(mode="after")
    def _elevations_ordered(self) -> RadarSpec:
        if self.min_elevation_deg >= self.max_elevation_deg:
            raise ValueError(
                f"min_elevation_deg ({self.min_elevation_deg}) must be below max_elevation_deg ({self.max_elevation_deg})"
            )
        return self

    @property
    def kind_code(self) -> int:
        return KIND_RADAR

    @property
    def site_ecef_m(self) -> np.ndarray:
        from bmdsim.earth.frames import geodetic_to_ecef

        return geodetic_to_ecef(self.site_lat_deg, self.site_lon_deg, self.site_alt_m)

    def max_range_m(self, rcs_m2):
        """R_max(sigma) = R_ref (sigma / sigma_ref)^(1/4), element-wise (Skolnik eq. 2.1)."""
        return self.max_range_ref_m * (np.asarray(rcs_m2, dtype=float) / self.rcs_ref_m2) ** 0.25


class InfraredSpec(_Spec):
    """Geostationary infrared satellites that report a burning motor's line of sight.

    Each satellite sits on the equator at one of ``satellite_lon_deg`` at radius
    ``satellite_radius_m``, fixed in ECEF. It sees an object when the straight line between
    them clears the WGS-84 ellipsoid. It reports an object at its looks (t = phase + k
    revisit_s) while the object's motor burns, from the object's first burning sample plus
    ``detection_delay_s`` on; nothing after burnout. The report is the azimuth (clockwise from
    north) and elevation of the line of sight in the satellite's own east-north-up frame (the
    ENU frame of the sub-satellite point, moved up to the satellite). The noise is isotropic
    across the line of sight, sigma_los_rad in each direction, so the elevation error is
    sigma_los_rad and the azimuth error sigma_los_rad / cos(el).
    """

    kind: Literal["infrared"] = "infrared"
    satellite_lon_deg: tuple[float, ...] = Field(min_length=1, max_length=16, description="longitudes on the equator")
    satellite_radius_m: float = Field(default=GEO_RADIUS_M, gt=6.6e6, le=1e8, description="orbit radius")
    detection_delay_s: float = Field(ge=0, le=600, description="from the first burning sample to the first report")
    sigma_los_rad: float = Field(ge=0, le=0.01, description="1-sigma line-of-sight angle error, each direction")
    p_detect: float = Field(default=1.0, gt=0, le=1, description="probability of a report per look")

    @model_validator(mode="after")
    def _lons(self) -> InfraredSpec:
        for lon in self.satellite_lon_deg:
            if not (-180.0 <= lon < 360.0) or not math.isfinite(lon):
                raise ValueError(f"satellite_lon_deg {lon} must be within [-180, 360)")
        return self

    @property
    def kind_code(self) -> int:
        return KIND_INFRARED

    @property
    def satellite_ecef_m(self) -> np.ndarray:
        """ECEF positions (S, 3) of the satellites (fixed: geostationary)."""
        lon = np.radians(np.asarray(self.satellite_lon_deg, dtype=float))
        r = self.satellite_radius_m
        return np.stack([r * np.cos(lon), r * np.sin(lon), np.zeros_like(lon)], axis=-1)


SensorSpec = Annotated[Union[RadarSpec, InfraredSpec], Field(discriminator="kind")]
"""Either kind of sensor; pydantic picks the model by the ``kind`` field."""
