"""bmdsim.earth.places: the catalog against ../shared/reference/places.json, lookups, parsing.

Oracle: places.json coordinates, which the catalog must reproduce exactly (same decimal
numbers in the TOML, so equality, not a tolerance).
"""

import json

import pytest

from bmdsim.earth import places
from bmdsim.earth.places import KINDS, Place, all_places, get_place, resolve_point
from bmdsim.errors import BmdsimInputError, UnknownNameError

REF_KIND = {
    "launch_sites": "launch-site",
    "sensor_sites": "sensor-site",
    "interceptor_sites": "interceptor-site",
}


def reference_places(reference_dir):
    ref = json.loads((reference_dir / "places.json").read_text())
    for group, rows in ref.items():
        if isinstance(rows, dict):
            for name, (lat, lon) in rows.items():
                yield group, name, lat, lon


def test_every_reference_place_resolves_with_its_coordinates(reference_dir):
    n = 0
    for group, name, lat, lon in reference_places(reference_dir):
        for p in (get_place(name), resolve_point(name)):
            assert (p.lat_deg, p.lon_deg) == (lat, lon), name
        if group in REF_KIND:
            assert get_place(name).kind == REF_KIND[group], name
        n += 1
    assert n == 27


def test_catalog_is_well_formed():
    ps = all_places()
    assert len(ps) >= 100
    assert len({p.name for p in ps}) == len(ps)
    for p in ps:
        assert isinstance(p, Place)
        assert p.kind in KINDS
        assert -90.0 <= p.lat_deg <= 90.0 and -180.0 <= p.lon_deg < 180.0
        assert p.source.strip()
        assert get_place(p.name) is p
        for alias in p.aliases:
            assert get_place(alias) is p
    assert {p.kind for p in ps} == set(KINDS)
    assert all(p.kind == "island" for p in all_places("island"))


def test_expected_places_are_present():
    for name in ["Kusong", "Panghyon", "Sunchon", "Hamhung", "Wonsan", "Kalma", "Sinpo",
                 "Chongjin", "Sohae", "Sapporo", "Osaka", "Nagoya", "Fukuoka", "Naha", "Okinawa",
                 "Kadena AB", "Misawa AB", "Yokosuka", "Busan", "Daegu", "Jeju", "Ulleungdo",
                 "Yonaguni", "Pearl Harbor", "Hilo", "Attu", "Adak", "Shemya", "Midway",
                 "Wake Island", "Saipan", "Kwajalein", "Juneau", "Fairbanks", "San Francisco",
                 "San Diego", "Portland", "Houston", "Miami", "Atlanta", "Omaha", "Canberra",
                 "Sydney", "Darwin", "Manila", "Taipei"]:
        get_place(name)


def test_sanity_of_added_coordinates():
    # Coarse geography checks on the places added beyond the reference file (hemisphere,
    # region), catching a swapped or mistyped coordinate.
    def box(name, lat_lo, lat_hi, lon_lo, lon_hi):
        p = get_place(name)
        assert lat_lo <= p.lat_deg <= lat_hi and lon_lo <= p.lon_deg <= lon_hi, p

    for nk in ["Kusong", "Panghyon", "Sunchon", "Hamhung", "Wonsan", "Chongjin", "Tonghae", "Pyongsong"]:
        box(nk, 37.7, 43.0, 124.2, 130.7)                 # North Korea
    for jp in ["Sapporo", "Osaka", "Nagoya", "Fukuoka", "Naha", "Kadena", "Misawa", "Yokosuka", "Yonaguni"]:
        box(jp, 24.0, 45.6, 122.9, 146.0)                 # Japan
    for kr in ["Busan", "Daegu", "Jeju", "Ulleungdo", "Osan", "Camp Humphreys"]:
        box(kr, 33.0, 38.7, 124.5, 131.0)                 # South Korea
    for us in ["San Francisco", "San Diego", "Portland", "Houston", "Miami", "Atlanta", "Omaha"]:
        box(us, 24.0, 49.5, -125.0, -66.0)                # contiguous United States
    for ak in ["Juneau", "Fairbanks", "Adak"]:
        box(ak, 51.0, 72.0, -180.0, -129.0)
    box("Attu", 52.0, 53.5, 172.0, 174.0)                 # west of the antimeridian
    for au in ["Canberra", "Sydney", "Darwin"]:
        box(au, -44.0, -10.0, 113.0, 154.0)


@pytest.mark.parametrize("text,expected", [
    ("seoul", "Seoul"),
    ("  SEOUL ", "Seoul"),
    ("Sohae", "Sohae (Tongchang-ri)"),
    ("Tongchang-ri", "Sohae (Tongchang-ri)"),
    ("tongchang ri", "Sohae (Tongchang-ri)"),
    ("Guam", "Andersen AFB, Guam"),
    ("Sunan", "Sunan (Pyongyang airport)"),
    ("DC", "Washington DC"),
    ("Washington", "Washington DC"),
    ("Washington, D.C.", "Washington DC"),
    ("Greely", "Fort Greely (GBI), Alaska"),
    ("ft. greely", "Fort Greely (GBI), Alaska"),
    ("Fort  Greely", "Fort Greely (GBI), Alaska"),
    ("Seongju", "Seongju (THAAD), South Korea"),
    ("vandenberg", "Vandenberg SFB (GBI), California"),
    ("Shemya", "Eareckson AS, Shemya (Cobra Dane)"),
    ("sinpo, approx", "Sinpo"),
    ("Hagåtña", "Hagatna"),
])
def test_lookup_ignores_case_punctuation_and_uses_aliases(text, expected):
    assert get_place(text).name == expected
    assert resolve_point(text).name == expected


@pytest.mark.parametrize("text,lat,lon", [
    ("39.0,125.7", 39.0, 125.7),
    (" -33.87 ,  151.21 ", -33.87, 151.21),
    ("90,0", 90.0, 0.0),
    ("-90, -180", -90.0, -180.0),
    ("21.3, 202.1417", 21.3, 202.1417 - 360.0),       # longitude normalised to [-180, 180)
    ("0, 180", 0.0, -180.0),
    ("1e1, 2", 10.0, 2.0),
    ((39.0, 125.7), 39.0, 125.7),
    ([61, 210], 61.0, -150.0),
])
def test_coordinates_parse(text, lat, lon):
    p = resolve_point(text)
    assert p.kind == "point"
    assert p.lat_deg == pytest.approx(lat, abs=1e-12)
    assert p.lon_deg == pytest.approx(lon, abs=1e-12)
    assert -180.0 <= p.lon_deg < 180.0


def test_unknown_name_suggests_close_names():
    with pytest.raises(UnknownNameError) as exc:
        get_place("Anchorge")
    assert exc.value.field == "place"
    assert "Anchorage" in exc.value.suggestions
    with pytest.raises(UnknownNameError) as exc:
        resolve_point("Vandenburg", field="interceptor_site")
    assert exc.value.field == "interceptor_site"
    assert any("Vandenberg" in s for s in exc.value.suggestions)
    assert "did you mean" in str(exc.value)


@pytest.mark.parametrize("value,allowed", [
    ("91,0", "latitude"),
    ("-90.0001, 0", "latitude"),
    ((95.0, 10.0), "latitude"),
    ("nan, 0", "latitude"),
    ("10, 360", "longitude"),
    ("10, -180.5", "longitude"),
    ("10, inf", "longitude"),
])
def test_bad_coordinates_name_the_field(value, allowed):
    with pytest.raises(BmdsimInputError) as exc:
        resolve_point(value, field="launch")
    assert exc.value.field == "launch"
    assert exc.value.value == value
    assert allowed in exc.value.allowed
    assert str(exc.value).startswith("launch:")


@pytest.mark.parametrize("value", [(1.0,), (1.0, 2.0, 3.0), ("a", "b"), (True, 3.0), 42, None])
def test_malformed_points_are_rejected(value):
    with pytest.raises(BmdsimInputError) as exc:
        resolve_point(value, field="aim")
    assert exc.value.field == "aim"


def test_unknown_kind_is_rejected():
    with pytest.raises(UnknownNameError):
        all_places("volcano")


def test_catalog_loads_once():
    assert places._catalog() is places._catalog()
