"""bmdsim.earth.geography: protected territories (land plus the 12 nmi territorial sea).

Oracles:
- Island and city coordinates from bmdsim/data/places.toml (each with its source there);
  the few it lacks are given below with their source.
- Which unit holds which island, and its sovereign: Natural Earth 5.1.1 admin-0 attributes
  (Guam GUM and Midway in UMI, both under the United States).
- The 12 nmi line: geodesic distance (pyproj.Geod, WGS-84, Karney's algorithm) from a point to
  the Natural Earth coastline densified to 0.0005 degree (~50 m, so the densified distance is
  at most 0.02 m longer than the distance to the edge). The module buffers to within ~12 m
  (method in its docstring); the test asserts the classification only for points more than
  TOL_M = 100 m from the 22,224 m line.
"""

import numpy as np
import pyproj
import pytest
import shapely

from bmdsim.earth import geography
from bmdsim.earth.geography import (
    DEFAULT_PROTECTED,
    TERRITORIAL_SEA_M,
    Territory,
    TerritoryIndex,
    get_territory,
    resolve_protected,
)
from bmdsim.earth.places import get_place
from bmdsim.errors import BmdsimInputError, UnknownNameError

GEOD = pyproj.Geod(ellps="WGS84")
KM = 1000.0
TOL_M = 100.0
US_UNITS = {"USA", "ASM", "GUM", "MNP", "PRI", "UMI", "VIR"}

# Coordinates not in places.toml, with their source.
BEIJING = (39.9042, 116.4074)        # Wikipedia: Beijing
KAESONG = (37.9708, 126.5544)        # Wikipedia: Kaesong (North Korea, ~8 km north of the DMZ)
WINDSOR_ON = (42.3149, -83.0364)     # Wikipedia: Windsor, Ontario (across the river from Detroit)
TIJUANA = (32.5149, -117.0382)       # Wikipedia: Tijuana
CAPE_ERIMO = (41.9239, 143.2478)     # Wikipedia: Cape Erimo, southern tip of Hokkaido
KUJUKURI = (35.54, 140.46)           # Kujukuri Beach, Chiba: ~60 km straight Pacific coast (GSI map)
OREGON = (44.95, -124.02)            # Lincoln City, Oregon, on a straight Pacific coast (Wikipedia)
GULF_OF_ALASKA = (59.8, -141.5)      # the straight coast west of Icy Bay, Alaska, 60 N (NOAA chart 16016)
TAVEUNI = (-16.80, 180.0)            # Taveuni, Fiji, on the 180th meridian (Wikipedia: Taveuni)


@pytest.fixture(scope="module")
def index():
    return TerritoryIndex()


def coast_xy(code: str, lat: float, lon: float) -> np.ndarray:
    """The unit's coastline within ~1 degree of (lat, lon), densified to ~50 m; (n, 2) lon, lat."""
    land = geography.land_geometry(code)
    near = shapely.clip_by_rect(land, lon - 1.5, lat - 1.0, lon + 1.5, lat + 1.0)
    xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(near), 0.0005))
    assert len(xy), f"no {code} coast near ({lat}, {lon})"
    return xy


def coast_distance_m(code: str, lat, lon, xy=None) -> np.ndarray:
    """Oracle: geodesic distance from each point to the unit's coastline, metres.

    The clip box's own edges are > 90 km from any point tested, so they never count.
    """
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    xy = coast_xy(code, float(lat[0]), float(lon[0])) if xy is None else xy
    out = np.empty(lat.shape)
    for k in range(lat.size):
        # Equirectangular distance (good to ~1 % at these ranges) picks the candidates; the
        # geodesic decides among them.
        dx = (xy[:, 0] - lon[k]) * np.cos(np.radians(lat[k]))
        approx = np.hypot(dx, xy[:, 1] - lat[k]) * 111_000.0
        c = xy[approx <= 1.05 * approx.min() + 500.0]
        _, _, d = GEOD.inv(np.full(len(c), lon[k]), np.full(len(c), lat[k]), c[:, 0], c[:, 1])
        out[k] = d.min()
    return out if out.size > 1 else float(out[0])


def offshore(code, ref, rough_azimuth_deg, distance_m):
    """Points distance_m (scalar or array) straight out to sea from the coast vertex nearest ref.

    "Straight out": the azimuth within +-60 degrees of rough_azimuth_deg that takes a point
    20 km out farthest from the coast (the coast's seaward normal, to 1 degree).
    """
    xy = coast_xy(code, *ref)
    k = np.argmin((xy[:, 0] - ref[1]) ** 2 + (xy[:, 1] - ref[0]) ** 2)
    lon0, lat0 = xy[k]
    az = np.arange(rough_azimuth_deg - 60.0, rough_azimuth_deg + 61.0, 1.0)
    lon, lat, _ = GEOD.fwd(np.full(az.size, lon0), np.full(az.size, lat0), az, np.full(az.size, 20 * KM))
    best = az[np.argmax(coast_distance_m(code, lat, lon, xy))]
    d = np.atleast_1d(distance_m).astype(float)
    lon, lat, _ = GEOD.fwd(np.full(d.size, lon0), np.full(d.size, lat0), np.full(d.size, best), d)
    return (lat, lon) if np.ndim(distance_m) else (float(lat[0]), float(lon[0]))


# --- the catalog ---------------------------------------------------------------------------

def test_us_units_and_their_sovereign():
    us = {t.code: t for t in geography.all_territories() if t.sovereign == "USA"}
    assert set(us) == US_UNITS
    assert us["GUM"] == Territory("GUM", "Guam", "USA")
    assert us["UMI"].name == "United States Minor Outlying Islands"
    # Natural Earth's -99 ISO codes and "US1"-style sovereign codes are normalised.
    assert get_territory("fra").sovereign == "FRA"
    assert get_territory("NOR").code == "NOR"
    assert get_territory("PYF").sovereign == "FRA"
    assert get_territory("BMU").sovereign == "GBR"
    assert all(len(t.code) == 3 and len(t.sovereign) == 3 for t in geography.all_territories())


def test_resolve_protected_expands_sovereigns():
    us = resolve_protected(["usa"])
    assert {t.code for t in us} == US_UNITS
    assert us[0].code == "USA"                                     # home unit first
    assert Territory("GUM", "Guam", "USA") in us
    default = resolve_protected(DEFAULT_PROTECTED)
    assert [t.code for t in default][-2:] == ["JPN", "KOR"]
    assert {t.code for t in default} == US_UNITS | {"JPN", "KOR"}
    assert resolve_protected(["GUM"]) == (Territory("GUM", "Guam", "USA"),)
    assert resolve_protected("kor") == (get_territory("KOR"),)
    assert len(resolve_protected(["USA", "GUM", "usa"])) == 7    # each once
    aus = {t.code for t in resolve_protected(["AUS"])}
    assert {"AUS", "NFK", "HMD"} <= aus and all(get_territory(c).sovereign == "AUS" for c in aus)


def test_unknown_code_names_field_and_suggests():
    with pytest.raises(UnknownNameError) as e:
        resolve_protected(["USA", "USAA"])
    assert e.value.field == "protect" and e.value.value == "USAA"
    assert "USA" in e.value.suggestions
    with pytest.raises(BmdsimInputError):
        resolve_protected([3])


# --- islands: the right unit and sovereign -----------------------------------------------

@pytest.mark.parametrize("place, code, sovereign", [
    ("Attu", "USA", "USA"),          # 172.9 E: west of the antimeridian
    ("Adak", "USA", "USA"),          # 176.65 W: east of it
    ("Midway", "UMI", "USA"),
    ("Wake", "UMI", "USA"),
    ("Guam", "GUM", "USA"),          # Andersen AFB
    ("Honolulu", "USA", "USA"),
    ("Naha", "JPN", "JPN"),          # Okinawa
    ("Yonaguni", "JPN", "JPN"),
    ("Jeju", "KOR", "KOR"),
    ("Ulleungdo", "KOR", "KOR"),
])
def test_islands_fall_in_their_territory(index, place, code, sovereign):
    p = get_place(place)
    got = index.locate(p.lat_deg, p.lon_deg)
    assert got.shape == () and str(got) == code, place
    assert index.by_code[code].sovereign == sovereign
    assert index.sovereign_of(got) == sovereign
    assert index.contains(code, p.lat_deg, p.lon_deg)


def test_both_sides_of_the_antimeridian_and_any_longitude_convention(index):
    attu, adak = get_place("Attu"), get_place("Adak")
    lat = np.array([attu.lat_deg, adak.lat_deg, adak.lat_deg, attu.lat_deg])
    lon = np.array([attu.lon_deg, adak.lon_deg, adak.lon_deg + 360.0, attu.lon_deg - 360.0])
    assert index.locate(lat, lon).tolist() == ["USA"] * 4
    assert index.over_land("USA", attu.lat_deg, attu.lon_deg)
    # Land that straddles 180 (Taveuni, Fiji): found on 180 itself and 10 m either side.
    fiji = TerritoryIndex(["FJI"])
    lon = np.array([180.0, -180.0, 179.9999, -179.9999, 180.0001])
    assert fiji.locate(np.full(5, TAVEUNI[0]), lon).tolist() == ["FJI"] * 5
    assert fiji.over_land("FJI", TAVEUNI[0], 180.0)


# --- the sea ---------------------------------------------------------------------------------

def test_off_guam_40_km_and_off_hokkaido_200_km_are_in_no_territory(index):
    g = shapely.get_coordinates(geography.land_geometry("GUM"))
    east = g[np.argmax(g[:, 0])]                                 # Guam's easternmost vertex
    lon, lat, _ = GEOD.fwd(east[0], east[1], 90.0, 40 * KM)
    assert coast_distance_m("GUM", lat, lon) > 39 * KM
    assert index.locate(lat, lon) == ""
    lat, lon = offshore("JPN", CAPE_ERIMO, 150.0, 200 * KM)      # in Japan's EEZ, not its sea
    assert index.locate(lat, lon) == ""
    assert not index.contains("JPN", lat, lon)


@pytest.mark.parametrize("code, ref, azimuth_deg", [
    ("JPN", KUJUKURI, 120.0),
    ("USA", OREGON, 270.0),
])
def test_15_km_off_is_in_and_30_km_off_is_out(index, code, ref, azimuth_deg):
    lat15, lon15 = offshore(code, ref, azimuth_deg, 15 * KM)
    lat30, lon30 = offshore(code, ref, azimuth_deg, 30 * KM)
    # Straight coast: the true distance to it is the offset within 1.5 km.
    assert coast_distance_m(code, lat15, lon15) == pytest.approx(15 * KM, abs=1.5 * KM)
    assert coast_distance_m(code, lat30, lon30) == pytest.approx(30 * KM, abs=1.5 * KM)
    assert index.locate([lat15, lat30], [lon15, lon30]).tolist() == [code, ""]
    assert not index.over_land(code, lat15, lon15)


@pytest.mark.parametrize("code, ref, azimuth_deg", [
    ("JPN", KUJUKURI, 120.0),
    ("USA", OREGON, 270.0),
    ("USA", GULF_OF_ALASKA, 200.0),
    ("GUM", (13.45, 144.62), 270.0),               # Guam's west coast
])
def test_the_12_nmi_line_is_within_100_m(index, code, ref, azimuth_deg):
    lat, lon = offshore(code, ref, azimuth_deg, np.arange(20.0, 25.0, 0.1) * KM)
    truth = coast_distance_m(code, lat, lon)
    sure = np.abs(truth - TERRITORIAL_SEA_M) > TOL_M
    assert (truth[sure] < TERRITORIAL_SEA_M).sum() >= 5 and (truth[sure] > TERRITORIAL_SEA_M).sum() >= 5
    got = index.contains(code, lat[sure], lon[sure])
    np.testing.assert_array_equal(got, truth[sure] < TERRITORIAL_SEA_M, err_msg=str(truth[sure]))


def test_the_sea_stops_at_another_country(index):
    # Each point is within 12 nmi of protected land but on another country's land.
    for lat, lon, code in (KAESONG + ("KOR",), WINDSOR_ON + ("USA",), TIJUANA + ("USA",)):
        assert coast_distance_m(code, lat, lon) < TERRITORIAL_SEA_M
        assert index.locate(lat, lon) == ""


def test_launch_sites_are_in_no_protected_territory(index):
    pyongyang = get_place("Pyongyang")
    got = index.locate([pyongyang.lat_deg, BEIJING[0]], [pyongyang.lon_deg, BEIJING[1]])
    assert got.tolist() == ["", ""]


def test_allies_on_request():
    idx = TerritoryIndex(["AUS", "phl"])
    sydney, manila, darwin = get_place("Sydney"), get_place("Manila"), get_place("Darwin")
    got = idx.locate([sydney.lat_deg, manila.lat_deg, darwin.lat_deg],
                     [sydney.lon_deg, manila.lon_deg, darwin.lon_deg])
    assert got.tolist() == ["AUS", "PHL", "AUS"]
    assert TerritoryIndex().locate(sydney.lat_deg, sydney.lon_deg) == ""   # not by default


# --- the index -------------------------------------------------------------------------------

def test_locate_keeps_shape_and_handles_nan(index):
    guam, naha = get_place("Guam"), get_place("Naha")
    lat = np.array([[guam.lat_deg, naha.lat_deg], [np.nan, 0.0]])
    lon = np.array([[guam.lon_deg, naha.lon_deg], [np.nan, 0.0]])
    got = index.locate(lat, lon)
    assert got.shape == (2, 2) and got.tolist() == [["GUM", "JPN"], ["", ""]]
    assert index.contains("gum", lat, lon).tolist() == [[True, False], [False, False]]
    assert index.locate(np.array([]), np.array([])).shape == (0,)


def test_bad_queries_name_the_field(index):
    with pytest.raises(BmdsimInputError, match="lat_deg"):
        index.locate(91.0, 0.0)
    with pytest.raises(UnknownNameError) as e:
        index.contains("AUS", 0.0, 0.0)                  # a real code, but not protected here
    assert e.value.field == "territory"


def test_index_of_territories_and_codes_agree():
    a = TerritoryIndex(["GUM", get_territory("KOR")])
    assert a.codes == ("GUM", "KOR")
    assert [t.sovereign for t in a.territories] == ["USA", "KOR"]
