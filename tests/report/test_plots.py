"""The PNG pictures: each is a real picture, and shows what it should where it should.

Pixels are read back with matplotlib.image.imread and compared to the styles' colours
(anti-aliasing blends edges, so colours are matched on the interiors of fills, tol 0.02).
"""

import subprocess
import sys

import numpy as np
import pytest
import shapely

from bmdsim.earth import geodesy
from bmdsim.errors import BmdsimInputError
from bmdsim.report import plots

matplotlib = pytest.importorskip("matplotlib")
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import image as mimage  # noqa: E402

SOHAE = (39.66, 124.705)
HONOLULU = (21.3069, -157.8583)
TOKYO = (35.6895, 139.6917)


def _load(path):
    img = mimage.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    return img[..., :3]


def _n_colours(img) -> int:
    q = np.round(img * 255).astype(np.int32)
    return len(np.unique(q[..., 0] << 16 | q[..., 1] << 8 | q[..., 2]))


def _fraction(img, colour, tol=0.02) -> float:
    rgb = np.array(mcolors.to_rgb(colour))
    return float(np.mean(np.all(np.abs(img - rgb) < tol, axis=-1)))


@pytest.fixture(scope="module")
def sohae_honolulu():
    lat, lon = geodesy.ground_track(*SOHAE, *HONOLULU, 200)
    return lat, (lon + 180.0) % 360.0 - 180.0   # wrapped: jumps from +180 to -180 mid-track


# --------------------------------------------------------------------------------- the map

def test_map_over_japan_shows_protected_land_and_track(tmp_path):
    lat, lon = geodesy.ground_track(*SOHAE, *TOKYO, 100)
    out = plots.plot_map(
        tmp_path / "japan.png",
        tracks=[dict(label="HS-12 to Tokyo", lat_deg=lat, lon_deg=lon, kind="threat")],
        ellipses=[dict(lat=TOKYO[0], lon=TOKYO[1], semi_major_km=60, semi_minor_km=20, orientation_deg=100, label="2σ")],
        sites=[dict(lat=SOHAE[0], lon=SOHAE[1], label="Sohae", kind="launch")],
        title="Japan",
    )
    img = _load(out)
    assert img.shape[1] == 1325 and 500 < img.shape[0] < 1400     # 12.05 in at 110 dpi
    assert _n_colours(img) > 200
    assert _fraction(img, plots.PROTECTED_LAND) > 0.05             # Japan and Korea, filled
    assert _fraction(img, plots.OCEAN) > 0.10
    assert _fraction(img, plots.TRACK_STYLE["threat"]["color"], tol=0.06) > 1e-4


def test_map_across_antimeridian_has_no_seam_streaks(tmp_path, sohae_honolulu):
    lat, lon = sohae_honolulu
    assert np.abs(np.diff(lon)).max() > 300.0                      # the input does wrap
    frame = plots.map_frame(lat, lon)
    shifted = frame.shift_lon(lon)
    assert np.abs(np.diff(shifted)).max() < 2.0                    # continuous once shifted
    assert 124.0 < shifted.min() and shifted.max() < 203.0         # 124.7 E .. 202.1 (= 157.9 W)
    x, _ = frame.line_xy(lat, lon)
    assert np.isfinite(x).all()                                    # not broken at 180
    assert frame.width_deg_equiv < 120.0                           # the Pacific, not the world
    assert frame.lon_box[2] - frame.lon_box[0] < 180.0

    out = plots.plot_map(tmp_path / "pacific.png",
                         tracks=[dict(label="HS-15 to Honolulu", lat_deg=lat, lon_deg=lon, kind="leaker")])
    img = _load(out)
    assert _n_colours(img) > 100
    assert _fraction(img, plots.TRACK_STYLE["leaker"]["color"], tol=0.06) > 1e-3
    # A ring drawn across the seam fills a band across the whole map with land; the North
    # Pacific is mostly sea.
    assert _fraction(img, plots.LAND) < 0.15
    assert _fraction(img, plots.OCEAN) > 0.25


def test_clip_shifted_joins_land_cut_at_180():
    # Russia is stored in [-180, 180]; Chukotka reaches past 180 (to 169.7 W).
    codes, world = plots._world_land()
    rus = world[list(codes).index("RUS")]
    (piece,) = plots._clip_shifted(np.array([rus], dtype=object), (150.0, 55.0, 210.0, 75.0))
    xmin, _, xmax, _ = piece.bounds
    assert 150.0 <= xmin and xmax <= 210.0 and xmax > 185.0
    # The two halves of Chukotka are one polygon again (largest part spans 180).
    parts = shapely.get_parts(piece)
    big = parts[np.argmax(shapely.area(parts))]
    assert big.bounds[0] < 180.0 < big.bounds[2]


def test_pole_in_view_takes_every_longitude():
    frame = plots.map_frame([80.0, 80.0, 60.0], [0.0, 180.0, 90.0])
    w, s, e, n = frame.lon_box
    assert e - w == pytest.approx(360.0) and n == 90.0


def test_ellipse_is_geodesic():
    lat, lon = plots.ellipse_points(40.0, 170.0, 200e3, 50e3, 30.0, n=5)  # t = 0, 90, 180, 270, 360 deg
    d, az, _ = geodesy.inverse(40.0, 170.0, lat, lon)
    np.testing.assert_allclose(d, [200e3, 50e3, 200e3, 50e3, 200e3], atol=1e-3)   # 1 mm
    np.testing.assert_allclose(az, [30.0, 120.0, 210.0, 300.0, 30.0], atol=1e-9)


def test_densify_follows_the_geodesic():
    lat, lon = plots.densify([40.0, 35.0], [141.0, 136.0], max_step_m=50e3)
    assert lat.size > 10 and (lat[0], lon[0], lat[-1], lon[-1]) == (40.0, 141.0, 35.0, 136.0)
    d, _, _ = geodesy.inverse(lat[:-1], lon[:-1], lat[1:], lon[1:])
    assert d.max() <= 50e3 + 1.0


def test_map_rejects_bad_input(tmp_path):
    with pytest.raises(BmdsimInputError, match=r"tracks\[0\]\.kind"):
        plots.plot_map(tmp_path / "x.png", tracks=[dict(label="a", lat_deg=[1, 2], lon_deg=[1, 2], kind="bogus")])
    with pytest.raises(BmdsimInputError, match="frame the map"):
        plots.plot_map(tmp_path / "x.png")
    with pytest.raises(BmdsimInputError, match=r"sites\[0\]"):
        plots.plot_map(tmp_path / "x.png", sites=[dict(lat=1.0, label="no lon")])


# ------------------------------------------------------------------- altitude and timeline

def test_altitude_plot(tmp_path):
    t = np.linspace(0.0, 1900.0, 300)
    h = 1.4e6 * np.sin(np.pi * t / 1900.0)
    ti = np.linspace(1100.0, 1500.0, 50)
    out = plots.plot_altitude(
        tmp_path / "alt.png",
        series=[dict(label="HS-15", t_s=t + 100.0, alt_m=h, kind="leaker"),
                dict(label="GBI-1", t_s=ti + 100.0, alt_m=4e5 * np.sin(np.pi * (ti - 1100.0) / 800.0), kind="interceptor")],
        events=[dict(t_s=160.0, label="detection"), dict(t_s=1200.0, label="GBI launch")],
        title="Altitude",
    )
    img = _load(out)
    assert img.shape[:2] == (616, 1100)                             # 10 x 5.6 in at 110 dpi
    assert _n_colours(img) > 50
    assert _fraction(img, plots.TRACK_STYLE["leaker"]["color"], tol=0.06) > 1e-3
    assert _fraction(img, plots.TRACK_STYLE["interceptor"]["color"], tol=0.06) > 1e-4


def test_timeline_plot(tmp_path):
    lanes = [
        dict(label="HS-15 #1",
             phases=[dict(start_s=0, end_s=300, kind="boost", label="boost"),
                     dict(start_s=300, end_s=1800, kind="midcourse", label="midcourse"),
                     dict(start_s=1800, end_s=1900, kind="terminal"),
                     dict(start_s=1100, end_s=1500, kind="flyout", label="GBI-1")],
             events=[dict(t_s=60, kind="detection", label="SBIRS"), dict(t_s=400, kind="decision"),
                     dict(t_s=1100, kind="launch"), dict(t_s=1500, kind="intercept-miss"),
                     dict(t_s=1900, kind="leaker", label="Honolulu")]),
        dict(label="HS-12 #2",
             phases=[dict(start_s=120, end_s=300, kind="boost"), dict(start_s=300, end_s=1000, kind="midcourse"),
                     dict(start_s=600, end_s=850, kind="flyout")],
             events=[dict(t_s=850, kind="intercept-hit", label="kill")]),
    ]
    out = plots.plot_timeline(tmp_path / "tl.png", lanes=lanes, title="Timeline")
    img = _load(out)
    assert img.shape[1] == 1210 and img.shape[0] > 250               # 11 in wide at 110 dpi
    assert _n_colours(img) > 50
    for kind in ("boost", "midcourse", "terminal", "flyout"):
        assert _fraction(img, plots.PHASE_STYLE[kind]) > 1e-3, kind
    assert _fraction(img, plots.HIT_STYLE["color"], tol=0.05) > 1e-5  # the gold star
    with pytest.raises(BmdsimInputError, match=r"lanes\[0\]\.events\[0\]\.kind"):
        plots.plot_timeline(tmp_path / "x.png", lanes=[dict(label="a", events=[dict(t_s=1, kind="boom")])])
    with pytest.raises(BmdsimInputError, match="end_s"):
        plots.plot_timeline(tmp_path / "x.png", lanes=[dict(label="a", phases=[dict(start_s=5, end_s=1, kind="boost")])])


def test_import_does_not_load_matplotlib():
    code = "import sys, bmdsim.report.plots; assert 'matplotlib' not in sys.modules, 'eager import'"
    subprocess.run([sys.executable, "-c", code], check=True)
