"""The sensor catalog: complete, sourced, looked up by name, overridable with validation.

Oracles: shared/reference/places.json for the radar sites (exact equality, the catalog takes
them from the place catalog which copies that file); shared/reference/systems.md for the
published ranges; the radar equation R ~ sigma^(1/4) (Skolnik, 3rd ed., eq. 2.1) for scaling.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmdsim.errors import BmdsimInputError, UnknownNameError
from bmdsim.sensors import InfraredSpec, RadarSpec, catalog, get_sensor, sensor_names, with_overrides

REQUIRED = ("SBIRS", "Clear", "Beale", "Cape Cod", "Cobra Dane", "Shariki", "Kyogamisaki", "SBX",
            "Aegis Sea of Japan", "Aegis East China Sea", "Aegis Guam")
RADAR_SOURCES = {"site", "site_alt_m", "field_of_regard", "max_range", "revisit_s", "noise"}
IR_SOURCES = {"satellite_lon_deg", "satellite_radius_m", "detection_delay_s", "revisit_s", "sigma_los_rad"}


def test_required_sensors_present_and_every_figure_sourced():
    assert set(REQUIRED) <= set(sensor_names())
    for sid, s in catalog().items():
        need = RADAR_SOURCES if isinstance(s, RadarSpec) else IR_SOURCES
        missing = {k for k in need if not s.source.get(k, "").strip()}
        assert not missing, f"{sid}: no source for {sorted(missing)}"


def test_published_ranges(reference_dir):
    # oracle: shared/reference/systems.md (TPY-2 ~1,500 km vs an RV, SBX ~2,000 km, UEWR ~5,000 km,
    # Cobra Dane ~3,200 km); the reference RCS is the catalog's stated assumption
    text = (reference_dir / "systems.md").read_text()
    for name, km in [("Shariki", 1500), ("Kyogamisaki", 1500), ("SBX", 2000), ("Clear", 5000),
                     ("Beale", 5000), ("Cape Cod", 5000), ("Cobra Dane", 3200)]:
        s = get_sensor(name)
        assert s.max_range_ref_m == km * 1e3
        assert f"{km:,} km" in text
        assert s.rcs_ref_m2 > 0
    assert get_sensor("Shariki").rcs_ref_m2 == 0.01


def test_radar_sites_match_reference_places(reference_dir):
    ref = json.loads((reference_dir / "places.json").read_text())["sensor_sites"]
    pairs = {"Clear": "Clear SFS (UEWR), Alaska", "Beale": "Beale AFB (UEWR), California, approx",
             "Cape Cod": "Cape Cod SFS (UEWR), approx", "Cobra Dane": "Eareckson AS, Shemya (Cobra Dane), approx",
             "Shariki": "Shariki (AN/TPY-2), Japan, approx", "Kyogamisaki": "Kyogamisaki (AN/TPY-2), Japan, approx"}
    for sensor, place in pairs.items():
        s = get_sensor(sensor)
        assert [s.site_lat_deg, s.site_lon_deg] == ref[place], sensor


@pytest.mark.parametrize("name,sid", [("cape cod", "cape-cod"), ("CAPE-COD", "cape-cod"), ("CapeCod", "cape-cod"),
                                      ("sbirs", "sbirs"), ("Cobra Dane", "cobra-dane"), ("cobra_dane", "cobra-dane"),
                                      ("AN/TPY-2 Shariki", "shariki"), ("aegis sea of japan", "aegis-sea-of-japan"),
                                      ("sbx-1", "sbx")])
def test_lookup_ignores_case_and_punctuation(name, sid):
    assert get_sensor(name).id == sid


def test_unknown_sensor_suggests_close_names():
    with pytest.raises(UnknownNameError) as exc:
        get_sensor("Cobra Dain")
    assert exc.value.field == "sensor"
    assert "Cobra Dane" in exc.value.suggestions
    with pytest.raises(UnknownNameError) as exc:
        get_sensor("Aegis Guan", field="scenario.sensors[2]")
    assert exc.value.field == "scenario.sensors[2]"
    assert "Aegis Guam" in exc.value.suggestions


def test_overrides_apply_and_validate():
    s = get_sensor("SBIRS", {"detection_delay_s": 45, "satellite_lon_deg": [120.0]})
    assert isinstance(s, InfraredSpec) and s.detection_delay_s == 45 and s.satellite_lon_deg == (120.0,)
    assert get_sensor("SBIRS").detection_delay_s == 30  # the catalog entry is untouched
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("SBX", {"revisit_s": -1})
    assert exc.value.field == "sensor.revisit_s" and exc.value.value == -1
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("SBX", {"sigma_range_m": "ten"})
    assert exc.value.field == "sensor.sigma_range_m"
    with pytest.raises(UnknownNameError) as exc:
        get_sensor("SBX", {"revisit": 2})
    assert exc.value.field == "sensor.overrides" and "revisit_s" in exc.value.suggestions
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("Shariki", {"min_elevation_deg": 60, "max_elevation_deg": 30})
    assert exc.value.field in ("sensor.min_elevation_deg", "sensor.max_elevation_deg")
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("Shariki", {"id": "other"})
    assert exc.value.field == "sensor.id"


def test_site_override_moves_a_radar_and_is_refused_for_satellites():
    s = get_sensor("SBX", {"site": "Pearl Harbor"})
    assert s.site_name == "Pearl Harbor" and 21 < s.site_lat_deg < 22
    s = get_sensor("SBX", {"site": "30, -170"})
    assert (s.site_lat_deg, s.site_lon_deg) == (30.0, -170.0)
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("SBX", {"site": "Atlantis"})
    assert exc.value.field == "sensor.site"
    with pytest.raises(BmdsimInputError) as exc:
        get_sensor("SBIRS", {"site": "Guam"})
    assert exc.value.field == "sensor.site"


def test_specs_are_frozen_and_model_copy_works():
    s = get_sensor("Shariki")
    with pytest.raises(Exception):
        s.revisit_s = 3.0
    assert s.model_copy(update={"revisit_s": 3.0}).revisit_s == 3.0
    assert with_overrides(s, None) is s


@given(st.floats(1e-4, 1e3), st.floats(1e-4, 1e3))
def test_max_range_scales_with_fourth_root_of_rcs(a, b):
    # oracle: radar equation, R_max ~ sigma^(1/4) at fixed power-aperture (Skolnik eq. 2.1)
    s = get_sensor("Shariki")
    ra, rb = s.max_range_m(a), s.max_range_m(b)
    assert math.isclose(ra / rb, (a / b) ** 0.25, rel_tol=1e-12)
    assert s.max_range_m(s.rcs_ref_m2) == s.max_range_ref_m
    assert math.isclose(s.max_range_m(16 * s.rcs_ref_m2), 2 * s.max_range_ref_m, rel_tol=1e-15)
    assert np.allclose(s.max_range_m(np.array([a, b])), [ra, rb], rtol=1e-15, atol=0)
