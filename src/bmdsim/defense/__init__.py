"""Missile defense: interceptors, fire units and flyout.

- `interceptors`: `InterceptorSpec`, `get_interceptor(name, overrides)` over data/interceptors.toml;
  `BatterySpec`, `get_battery(name, overrides)`, `batteries_on(platform)` over data/batteries.toml.
- `flyout`: `FlyoutTable.build(spec)`, `time_of_flight_s(spec, ground_range_m, altitude_m)`,
  `fly_direct(spec, site_lat_deg, site_lon_deg, target_ecef_m)`, `ground_range_altitude`.
"""

from bmdsim.defense.flyout import FlyoutPath, FlyoutTable, fly_direct, ground_range_altitude, time_of_flight_s
from bmdsim.defense.interceptors import (
    BatterySpec,
    InterceptorSpec,
    batteries_on,
    battery_catalog,
    battery_names,
    beta_posterior,
    get_battery,
    get_interceptor,
    interceptor_catalog,
    interceptor_ids,
)

__all__ = [
    "BatterySpec",
    "FlyoutPath",
    "FlyoutTable",
    "InterceptorSpec",
    "batteries_on",
    "battery_catalog",
    "battery_names",
    "beta_posterior",
    "fly_direct",
    "get_battery",
    "get_interceptor",
    "ground_range_altitude",
    "interceptor_catalog",
    "interceptor_ids",
    "time_of_flight_s",
]
