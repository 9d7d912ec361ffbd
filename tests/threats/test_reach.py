"""Reach from an observed lofted test, against the analysts' published figures."""

import json

import pytest

from bmdsim.errors import BmdsimInputError, UnreachableError
from bmdsim.threats.reach import reach_report

LAUNCH = {"Kusong area": "Kusong", "Panghyon": "Panghyon"}
MISSILE = {"Hwasong-12": "hwasong-12", "Hwasong-14": "hwasong-14"}


def _cases(reference_dir):
    return json.loads((reference_dir / "nk_tests.json").read_text())["tests"]


@pytest.mark.parametrize("case", [0, 1])
def test_published_maximum_range_and_flight_time(reference_dir, case):
    # oracle: ../shared/reference/nk_tests.json: maximum range within 10 %, flight time within 5 %
    c = _cases(reference_dir)[case]
    obs = c["observed"]
    out = reach_report(
        obs["apogee_km"], obs["ground_range_km"], obs["flight_time_s"],
        missile=MISSILE[c["name"].split(",")[0]], launch=LAUNCH[c["launch"]],
    )
    assert out["fit"]["apogee_km"] == pytest.approx(obs["apogee_km"], abs=1.0)
    assert out["fit"]["range_km"] == pytest.approx(obs["ground_range_km"], abs=1.0)
    assert out["fit"]["flight_time_s"] == pytest.approx(obs["flight_time_s"], rel=0.05)
    assert out["max_range_km"] == pytest.approx(c["published_max_range_km"], rel=0.10)
    # the boost matters: a Kepler ellipse from the test's burnout speed falls well short
    assert out["kepler_only_max_range_km"] < 0.88 * out["max_range_km"]


def test_generic_model_without_a_missile(reference_dir):
    # with no catalog missile named, the generic two-stage model still lands within 10 %
    c = _cases(reference_dir)[1]
    obs = c["observed"]
    out = reach_report(obs["apogee_km"], obs["ground_range_km"], obs["flight_time_s"])
    assert out["max_range_km"] == pytest.approx(c["published_max_range_km"], rel=0.10)
    names = [t["name"] for t in out["targets"]]
    assert "Seoul" in names and "Washington DC" in names
    seoul = out["targets"][names.index("Seoul")]
    assert seoul["in_reach"] and seoul["max_range_km"] > seoul["distance_km"]
    dc = out["targets"][names.index("Washington DC")]
    assert not dc["in_reach"]


def test_rotation_gives_more_range_east_than_west():
    out = reach_report(2802, 933, 2340, missile="hwasong-14", targets="Honolulu,Sohae")
    rows = {t["name"]: t for t in out["targets"]}
    assert rows["Honolulu"]["max_range_km"] > out["max_range_km"] > 0


@pytest.mark.parametrize(
    "args, field",
    [
        ((-5, 933, 2340), "apogee_km"),
        ((2802, 0, 2340), "range_km"),
        ((2802, 933, float("nan")), "flight_time_s"),
    ],
)
def test_bad_numbers_name_their_field(args, field):
    with pytest.raises(BmdsimInputError) as exc:
        reach_report(*args)
    assert exc.value.field == field


def test_impossible_apogee_for_the_range():
    # 10 km apogee over 5000 km: no payload makes a Hwasong-14 fly that
    with pytest.raises(UnreachableError) as exc:
        reach_report(10, 5000, 900, missile="hwasong-14")
    assert "cannot reproduce" in str(exc.value)
