"""The missile catalog: complete, sourced, and each missile reaches its published range."""

import numpy as np
import pytest

from bmdsim.errors import UnknownNameError
from bmdsim.threats.catalog import catalog, get_missile
from bmdsim.threats.reach import max_range_non_rotating

REQUIRED = ("nodong", "hwasong-12", "hwasong-14", "hwasong-15", "hwasong-17", "unha-3")


def test_required_ids_present_and_sourced():
    cat = catalog()
    for mid in REQUIRED:
        m = cat[mid]
        assert m.sources, f"{mid} cites no source"
        assert m.payload.source, f"{mid} payload cites no source"
        for s in m.stage:
            assert s.source, f"{mid} stage cites no source"


@pytest.mark.parametrize("name", ["Hwasong-15", "HWASONG-15", "hwasong15", " hwasong-15 "])
def test_lookup_is_case_insensitive(name):
    assert get_missile(name).id == "hwasong-15"


def test_unknown_missile_suggests_close_names():
    with pytest.raises(UnknownNameError) as exc:
        get_missile("hwasong-51")
    assert "hwasong-15" in str(exc.value)
    assert exc.value.field == "missile"


@pytest.mark.slow
@pytest.mark.parametrize("mid", [m for m in REQUIRED if m != "unha-3"])
def test_each_missile_reaches_its_published_range(mid):
    # oracle: the published range of each catalog entry (its range_source), within 10 %,
    # flown at full burn on a range-maximizing trajectory on a non-rotating Earth
    m = get_missile(mid)
    mx = max_range_non_rotating(m)
    assert float(mx["max_range_m"][0]) / 1e3 == pytest.approx(m.published_range_km, rel=0.10)


def test_space_launcher_reaches_orbit():
    # the Unha-3 put the ~100 kg Kwangmyongsong-3 unit 2 into orbit from Sohae on 2012-12-12,
    # launched due south (R. Weitz, The Diplomat, Dec 2012, for the mass): with a pitch program
    # that turns on to the horizontal, it goes orbital; the same pitch with its 500 kg
    # ballistic payload falls back (the ROK MND's 10,000 km missile estimate)
    from bmdsim.flight.shaping import orbit_insertion, perigee_height_m
    from bmdsim.flight.fly import fly, guidance_array, stack_missiles

    m = get_missile("unha-3")
    sat = m.with_payload(100.0)
    ins = orbit_insertion(sat, 39.660, 124.705, 180.0)
    assert ins["flight"].orbital[0]
    assert ins["perigee_m"] > 150e3
    st, pl = stack_missiles([m])
    b = fly(39.660, 124.705, st, pl, guidance_array([m], 180.0, ins["theta_deg"], np.inf, ins["theta_end_deg"]))
    assert b.impacted[0] and perigee_height_m(b)[0] < 0
