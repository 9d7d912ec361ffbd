"""Sensors of US missile defense: space-based infrared and radars, as models that turn truth
trajectories into noisy detections.

- `spec`: `RadarSpec`, `InfraredSpec` (frozen, validated; fields are the configuration).
- `catalog`: `get_sensor(name, overrides)`, `catalog()`, `with_overrides` over data/sensors.toml.
- `geometry`: `measure` (h(x)), `measure_jacobian`, `los_unit_ecef`, `los_basis`, conventions.
- `observe`: `observe(sensors, t_s, r_ecef_m, burning, rcs_m2, rng) -> Detections`.
"""

from bmdsim.sensors.catalog import catalog, get_sensor, sensor_names, with_overrides
from bmdsim.sensors.geometry import (
    clears_earth,
    los_basis,
    los_unit_ecef,
    measure,
    measure_jacobian,
    position_from_measurement,
)
from bmdsim.sensors.observe import Detections, look_times, observe
from bmdsim.sensors.spec import GEO_RADIUS_M, KIND_INFRARED, KIND_RADAR, InfraredSpec, RadarSpec, SensorSpec

__all__ = [
    "GEO_RADIUS_M",
    "KIND_INFRARED",
    "KIND_RADAR",
    "Detections",
    "InfraredSpec",
    "RadarSpec",
    "SensorSpec",
    "catalog",
    "clears_earth",
    "get_sensor",
    "look_times",
    "los_basis",
    "los_unit_ecef",
    "measure",
    "measure_jacobian",
    "observe",
    "position_from_measurement",
    "sensor_names",
    "with_overrides",
]
