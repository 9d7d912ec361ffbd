"""Scenario files: every example loads and resolves; every bad input is one clear ScenarioError.

Oracles: the catalogs themselves (data/*.toml via their accessors) for what a resolved scenario
must contain; the error contract of DESIGN.md habit 8 (the file, the field path, the value, what
is allowed, a close match) for the messages.
"""

import pickle
from pathlib import Path

import pytest

from bmdsim.defense.doctrine import Doctrine
from bmdsim.defense.interceptors import battery_catalog, get_battery, get_interceptor
from bmdsim.earth.places import get_place
from bmdsim.engine.scenario import (
    PROFILES,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from bmdsim.errors import BmdsimInputError
from bmdsim.sensors.catalog import catalog as sensor_catalog

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))

MINIMAL = """\
[scenario]
name = "minimal"

[[threat]]
missile = "hwasong-15"
launch = "Sohae"
aim = "Anchorage"
"""


def _error(text: str, source: str = "bad.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source=source)
    return info.value


def _assert_clear(err: ScenarioError, source: str = "bad.toml") -> None:
    """Every line names the file; nothing looks like a traceback or a pydantic dump."""
    msg = str(err)
    assert isinstance(err, BmdsimInputError)
    assert msg.strip()
    for line in msg.splitlines():
        assert line.startswith(f"{source}: "), line
    for junk in ("Traceback", "File \"", "validation error", "pydantic", "For further information"):
        assert junk not in msg


# ---------------------------------------------------------------------------------------------
# The example scenarios


def test_there_are_at_least_six_examples():
    assert len(SCENARIOS) >= 6, SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_example_loads_and_resolves(path):
    sc = load_scenario(path)
    r = sc.resolved()
    assert sc.source == str(path)
    assert r.name and r.description.strip(), "each example asks its question in `description`"
    specs = r.threat_specs()
    assert 1 <= len(specs) <= 6, "examples stay small enough to run in seconds"
    assert len({s.label for s in specs}) == len(specs)
    assert r.sensors and r.batteries
    for b in r.batteries:
        assert b.interceptor in r.doctrine_map()
        assert b.interceptor_spec().sspk_mean > 0
    # each file says where its setup comes from
    comments = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
    assert len(comments) >= 5
    assert "question" in " ".join(comments).lower()


def test_profiles_match_the_engine():
    from bmdsim.engine.assess import ASSESS_PROFILES

    assert tuple(PROFILES) == tuple(ASSESS_PROFILES)


# ---------------------------------------------------------------------------------------------
# Resolution


def test_minimal_scenario_defaults():
    r = parse_scenario(MINIMAL).resolved()
    (t,) = r.threats
    assert t.missile.id == "hwasong-15"
    assert t.launch == get_place("Sohae") and t.aim == get_place("Anchorage")
    assert (t.profile, t.apogee_km, t.time_s, t.count, t.value) == ("min-energy", None, 0.0, 1, 1.0)
    # [[sensor]] and [[battery]] omitted: the whole catalogs
    assert [s.id for s in r.sensors] == list(sensor_catalog())
    assert [b.id for b in r.batteries] == list(battery_catalog())
    assert r.policy.protect == ("USA", "JPN", "KOR") and r.policy.threshold == 0.05
    assert r.doctrine == Doctrine()
    assert r.seed == 0 and r.source == "<string>"


def test_empty_lists_mean_none():
    r = parse_scenario("sensor = []\nbattery = []\n" + MINIMAL).resolved()
    assert r.sensors == () and r.batteries == ()


def test_pair_and_text_coordinates():
    text = MINIMAL.replace('launch = "Sohae"', "launch = [39.66, 124.705]").replace(
        'aim = "Anchorage"', 'aim = "61.2, 210.1"'
    )
    (t,) = parse_scenario(text).resolved().threats
    assert (t.launch.lat_deg, t.launch.lon_deg) == (39.66, 124.705)
    assert t.aim.lon_deg == pytest.approx(210.1 - 360.0)  # normalised to [-180, 180)


def test_count_expands_into_labelled_threat_specs():
    text = MINIMAL + 'count = 3\nlabel = "Salvo"\n\n[[threat]]\nmissile = "nodong"\nlaunch = "Wonsan"\naim = "Busan"\ntime_s = 30\n'
    r = parse_scenario(text).resolved()
    specs = r.threat_specs()
    assert [s.label for s in specs] == ["Salvo.1", "Salvo.2", "Salvo.3", "T2"]
    assert specs[3].time_s == 30.0 and specs[3].missile.id == "nodong"


def test_lofted_threat_keeps_its_apogee():
    text = MINIMAL + 'profile = "lofted"\napogee_km = 2800\n'
    (t,) = parse_scenario(text).resolved().threats
    assert (t.profile, t.apogee_km) == ("lofted", 2800.0)


def test_battery_overrides_and_pk():
    text = MINIMAL + """
[[battery]]
site = "Fort Greely"
interceptor = "gbi-ce2"
rounds = 20

[overrides]
pk = { "gbi-ce2" = 0.56 }
interceptor = { gbi-ce2 = { launch_delay_s = 90 } }
"""
    r = parse_scenario(text).resolved()
    (b,) = r.batteries
    assert b.id == "fort-greely" and b.rounds == 20
    spec = b.interceptor_spec()
    assert spec.sspk_mean == 0.56 and spec.launch_delay_s == 90
    assert r.interceptor_overrides == {"gbi-ce2": {"launch_delay_s": 90, "sspk": 0.56}}
    # without rounds, the catalog's
    r2 = parse_scenario(MINIMAL + '[[battery]]\nsite = "Fort Greely"\n').resolved()
    assert r2.batteries[0].rounds == get_battery("Fort Greely").rounds


def test_platform_with_interceptor_picks_the_fire_unit():
    text = MINIMAL + '[[battery]]\nsite = "Aegis Guam"\ninterceptor = "SM-3 IIA"\n'
    (b,) = parse_scenario(text).resolved().batteries
    assert b.id == "aegis-guam-iia" and b.interceptor == "sm3-iia"


def test_catalog_site_rearmed_with_another_interceptor():
    text = MINIMAL + '[[battery]]\nsite = "Fort Greely"\ninterceptor = "ngi"\nrounds = 20\n'
    (b,) = parse_scenario(text).resolved().batteries
    greely = get_battery("Fort Greely")
    assert b.interceptor == "ngi" and b.rounds == 20 and b.id == "fort-greely-ngi"
    assert (b.site_lat_deg, b.site_lon_deg) == (greely.site_lat_deg, greely.site_lon_deg)


def test_new_fire_unit_at_a_place():
    text = MINIMAL + """
[[battery]]
site = "Joint Base Elmendorf-Richardson"
interceptor = "thaad"
rounds = 24
name = "THAAD Anchorage"

[[battery]]
site = [13.5, 144.8]
interceptor = "pac3-mse"
rounds = 16
"""
    a, b = parse_scenario(text).resolved().batteries
    jber = get_place("JBER")
    assert (a.name, a.interceptor, a.rounds) == ("THAAD Anchorage", "thaad", 24)
    assert (a.site_lat_deg, a.site_lon_deg) == (jber.lat_deg, jber.lon_deg)
    assert (b.site_lat_deg, b.site_lon_deg, b.interceptor, b.rounds) == (13.5, 144.8, "pac3-mse", 16)
    assert a.id != b.id


def test_sensor_overrides():
    text = MINIMAL + """
[[sensor]]
kind = "radar"
name = "SBX"
overrides = { site = "Pearl Harbor" }

[[sensor]]
kind = "space-ir"
name = "SBIRS"

[overrides]
sensor = { sbirs = { revisit_s = 5 } }
"""
    sbx, sbirs = parse_scenario(text).resolved().sensors
    ph = get_place("Pearl Harbor")
    assert (sbx.site_lat_deg, sbx.site_lon_deg) == (ph.lat_deg, ph.lon_deg)
    assert sbirs.revisit_s == 5


def test_missile_override_merges_tables():
    text = MINIMAL + "[overrides]\nmissile = { hwasong-15 = { payload = { mass_kg = 600 } } }\n"
    (t,) = parse_scenario(text).resolved().threats
    assert t.missile.payload.mass_kg == 600
    assert t.missile.payload.diameter_m > 0  # the rest of the payload table kept


def test_doctrine_per_interceptor_changes_the_default():
    text = MINIMAL + """
[doctrine]
mode = "salvo"
shots = 4
kill_assessment_s = 20

[doctrine.per_interceptor.THAAD]
mode = "shoot-look-shoot"
shots = 1
"""
    r = parse_scenario(text).resolved()
    assert r.doctrine == Doctrine(mode="salvo", shots=4, kill_assessment_s=20)
    assert r.doctrine_per_interceptor == {
        "thaad": Doctrine(mode="shoot-look-shoot", shots=1, kill_assessment_s=20)
    }
    dm = r.doctrine_map()
    assert dm["thaad"].mode == "shoot-look-shoot" and dm["gbi-ce2"] == r.doctrine
    assert r.doctrine_for("gbi-ce2:2stage") == r.doctrine


def test_policy_fields():
    text = MINIMAL + '[policy]\nprotect = ["GUM"]\nthreshold = 0.2\ndeadline_s = 300\n'
    p = parse_scenario(text).resolved().policy
    assert (p.protect, p.threshold, p.deadline_s) == (("GUM",), 0.2, 300.0)


# ---------------------------------------------------------------------------------------------
# Round trip


def test_round_trip_of_a_minimal_scenario():
    sc = parse_scenario(MINIMAL)
    again = parse_scenario(sc.to_toml())
    assert again.model_dump() == sc.model_dump()
    assert again.resolved().threats == sc.resolved().threats


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_round_trip_of_examples(path):
    sc = load_scenario(path)
    again = parse_scenario(sc.to_toml(), source="again.toml")
    assert again.model_dump() == sc.model_dump()
    assert again.resolved().batteries == sc.resolved().batteries


def test_round_trip_keeps_quoted_keys_and_empty_lists():
    text = "battery = []\n" + MINIMAL + '[overrides]\npk = { "gbi-ce2:2stage" = 0.5 }\n'
    sc = parse_scenario(text)
    again = parse_scenario(sc.to_toml())
    assert again.model_dump() == sc.model_dump()
    assert again.resolved().batteries == ()


# ---------------------------------------------------------------------------------------------
# Errors: (name, scenario text, field path the message must name, suggestion or None)

ERRORS = [
    ("unknown threat key", MINIMAL + "coutn = 2\n", "threat[0].coutn", "count"),
    ("unknown table", MINIMAL + '[[threats]]\nmissile = "nodong"\n', "threats", "threat"),
    ("unknown scenario key", MINIMAL.replace('name = "minimal"', 'name = "m"\nsed = 3'), "scenario.sed", "seed"),
    ("unknown policy key", MINIMAL + "[policy]\nthreshhold = 0.1\n", "policy.threshhold", "threshold"),
    ("unknown doctrine key", MINIMAL + "[doctrine]\nshot = 2\n", "doctrine.shot", "shots"),
    ("missing missile", MINIMAL.replace('missile = "hwasong-15"\n', ""), "threat[0].missile", None),
    ("missing name", MINIMAL.replace('name = "minimal"\n', ""), "scenario.name", None),
    ("missing scenario", MINIMAL.replace('[scenario]\nname = "minimal"\n', ""), "scenario", None),
    ("no threat", '[scenario]\nname = "x"\n', "threat", None),
    ("wrong type count", MINIMAL + 'count = "two"\n', "threat[0].count", None),
    ("wrong type bool", MINIMAL + "time_s = true\n", "threat[0].time_s", None),
    ("wrong type seed", MINIMAL.replace('name = "minimal"', 'name = "m"\nseed = 1.5'), "scenario.seed", None),
    ("wrong type table", "policy = 3\n" + MINIMAL, "policy", None),
    ("top-level key after a table", MINIMAL + "sensor = []\n", "threat[0].sensor", None),
    ("threat not a table array", 'threat = 3\n[scenario]\nname = "x"\n', "threat", None),
    ("unknown missile", MINIMAL.replace("hwasong-15", "hwasong-51"), "threat[0].missile", "hwasong-15"),
    ("unknown place", MINIMAL.replace('"Sohae"', '"Sohea"'), "threat[0].launch", "Sohae"),
    ("unknown aim", MINIMAL.replace('"Anchorage"', '"Anchorag"'), "threat[0].aim", "Anchorage"),
    ("latitude", MINIMAL.replace('"Sohae"', "[95.0, 125.0]"), "threat[0].launch", None),
    ("bad pair", MINIMAL.replace('"Sohae"', "[39.0, 125.0, 0.0]"), "threat[0].launch", None),
    ("lofted without apogee", MINIMAL + 'profile = "lofted"\n', "threat[0].apogee_km", None),
    ("apogee for min-energy", MINIMAL + "apogee_km = 2000\n", "threat[0].apogee_km", None),
    ("unknown profile", MINIMAL + 'profile = "lofed"\n', "threat[0].profile", "lofted"),
    ("count 0", MINIMAL + "count = 0\n", "threat[0].count", None),
    ("threshold 0", MINIMAL + "[policy]\nthreshold = 0\n", "policy.threshold", None),
    ("threshold above 1", MINIMAL + "[policy]\nthreshold = 1.5\n", "policy.threshold", None),
    ("unknown protect", MINIMAL + '[policy]\nprotect = ["USA", "JPM"]\n', "policy.protect[1]", "JPN"),
    ("unknown sensor", MINIMAL + '[[sensor]]\nname = "Cobra Dan"\n', "sensor[0].name", "Cobra Dane"),
    ("sensor kind", MINIMAL + '[[sensor]]\nname = "SBIRS"\nkind = "radar"\n', "sensor[0].kind", "space-ir"),
    ("sensor override key", MINIMAL + '[[sensor]]\nname = "Clear"\noverrides = { revisit = 3 }\n',
     "sensor[0].overrides.revisit", "revisit_s"),
    ("sensor override value", MINIMAL + '[[sensor]]\nname = "Clear"\noverrides = { revisit_s = -3 }\n',
     "sensor[0].overrides.revisit_s", None),
    ("sensor twice", MINIMAL + '[[sensor]]\nname = "SBX"\n[[sensor]]\nname = "sbx"\n', "sensor[1].name", None),
    ("unknown battery", MINIMAL + '[[battery]]\nsite = "Fort Greeley"\n', "battery[0].site", "Fort Greely"),
    ("unknown interceptor", MINIMAL + '[[battery]]\nsite = "Fort Greely"\ninterceptor = "gbi-ce9"\n',
     "battery[0].interceptor", "gbi-ce2"),
    ("negative rounds", MINIMAL + '[[battery]]\nsite = "Fort Greely"\nrounds = -1\n', "battery[0].rounds", None),
    ("new unit without rounds", MINIMAL + '[[battery]]\nsite = "Anchorage"\ninterceptor = "thaad"\n',
     "battery[0].rounds", None),
    ("new unit without interceptor", MINIMAL + '[[battery]]\nsite = "Anchorage"\nrounds = 8\n',
     "battery[0].interceptor", None),
    ("platform ambiguous", MINIMAL + '[[battery]]\nsite = "Aegis Guam"\n', "battery[0].site", "Aegis Guam IIA"),
    ("platform wrong interceptor", MINIMAL + '[[battery]]\nsite = "Aegis Guam"\ninterceptor = "thaad"\n',
     "battery[0].interceptor", "sm3-iia"),
    ("battery twice", MINIMAL + '[[battery]]\nsite = "Fort Greely"\n[[battery]]\nsite = "Ft Greely"\n',
     "battery[1].site", None),
    ("battery override key", MINIMAL + '[[battery]]\nsite = "Guam"\noverrides = { round = 3 }\n',
     "battery[0].overrides.round", "rounds"),
    ("unknown pk interceptor", MINIMAL + '[overrides]\npk = { "gbi-ce3" = 0.5 }\n', "overrides.pk.gbi-ce3", "gbi-ce2"),
    ("pk above 1", MINIMAL + '[overrides]\npk = { "gbi-ce2" = 1.5 }\n', "overrides.pk.gbi-ce2", None),
    ("interceptor override key", MINIMAL + "[overrides]\ninterceptor = { thaad = { max_rnge_m = 1 } }\n",
     "overrides.interceptor.thaad.max_rnge_m", "max_range_m"),
    ("interceptor override value", MINIMAL + "[overrides]\ninterceptor = { thaad = { max_range_m = -1 } }\n",
     "overrides.interceptor.thaad.max_range_m", None),
    ("unknown override interceptor", MINIMAL + "[overrides]\ninterceptor = { thad = { max_range_m = 1 } }\n",
     "overrides.interceptor.thad", "thaad"),
    ("unknown override section", MINIMAL + "[overrides]\npks = {}\n", "overrides.pks", "pk"),
    ("missile override value", MINIMAL + "[overrides]\nmissile = { hwasong-15 = { payload = { mass_kg = -1 } } }\n",
     "overrides.missile.hwasong-15.payload.mass_kg", None),
    ("doctrine mode", MINIMAL + '[doctrine]\nmode = "salvoo"\n', "doctrine.mode", "salvo"),
    ("doctrine shots", MINIMAL + "[doctrine]\nshots = 0\n", "doctrine.shots", None),
    ("doctrine unknown interceptor", MINIMAL + "[doctrine.per_interceptor.thad]\nshots = 2\n",
     "doctrine.per_interceptor.thad", "thaad"),
    ("doctrine per-interceptor key", MINIMAL + "[doctrine.per_interceptor.thaad]\nshot = 2\n",
     "doctrine.per_interceptor.thaad.shot", "shots"),
]


@pytest.mark.parametrize("name,text,field,suggestion", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_names_file_field_and_suggestion(name, text, field, suggestion):
    err = _error(text)
    _assert_clear(err)
    assert err.source == "bad.toml"
    assert err.field == field, str(err)
    assert f"bad.toml: {field}:" in str(err)
    assert len(err.problems) == 1 and "\n" not in str(err), str(err)
    if suggestion is not None:
        assert suggestion in err.suggestions, str(err)
        assert repr(suggestion) in str(err)


def test_bad_value_and_allowed_are_in_the_message():
    msg = str(_error(MINIMAL + "[policy]\nthreshold = 1.5\n"))
    assert "1.5" in msg and "less than or equal to 1" in msg
    msg = str(_error(MINIMAL.replace("hwasong-15", "hwasong-51")))
    assert "'hwasong-51'" in msg and "hwasong-12" in msg  # the known ids are listed
    msg = str(_error(MINIMAL + 'profile = "lofted"\n'))
    assert "apogee_km: missing" in msg and "lofted" in msg


@pytest.mark.parametrize(
    "text,line,col",
    [
        (MINIMAL + "count = \n", 8, 9),
        ('[scenario]\nname = "x\n', 2, 10),
        ("[scenario]\nname = 'a'\nname = 'b'\n", 3, None),
    ],
)
def test_malformed_toml_names_line_and_column(text, line, col):
    err = _error(text)
    _assert_clear(err)
    msg = str(err)
    assert f"line {line}" in msg and "malformed TOML" in msg
    if col is not None:
        assert f"column {col}" in msg


def test_several_problems_one_line_each():
    text = MINIMAL.replace("hwasong-15", "hwasong-51").replace('"Anchorage"', '"Anchorag"')
    text += '[[battery]]\nsite = "Fort Greeley"\n'
    err = _error(text)
    _assert_clear(err)
    assert [p.split(": ")[1] for p in err.problems] == ["threat[0].missile", "threat[0].aim", "battery[0].site"]
    assert err.field == "threat[0].missile"
    assert str(err).count("\n") == 2


def test_load_scenario_names_the_path(tmp_path):
    p = tmp_path / "alaska.toml"
    p.write_text(MINIMAL.replace('"Sohae"', '"Sohea"'), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    _assert_clear(info.value, str(p))
    assert str(info.value).startswith(f"{p}: threat[0].launch: 'Sohea'")
    assert "Sohae" in info.value.suggestions


def test_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    _assert_clear(info.value, str(p))
    assert "no such file" in str(info.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(MINIMAL.replace("minimal", "Défense").encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    _assert_clear(info.value, str(p))
    assert "UTF-8" in str(info.value)


def test_error_survives_pickling():
    err = _error(MINIMAL.replace("hwasong-15", "hwasong-51"))
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.field == err.field and again.suggestions == err.suggestions


def test_cli_prints_the_message_and_exits_2(capsys):
    import typer

    from bmdsim.cli import handles_input_errors

    @handles_input_errors
    def command():
        parse_scenario(MINIMAL.replace('"Sohae"', '"Sohea"'), source="s.toml")

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "s.toml: threat[0].launch: 'Sohea'" in err and "Traceback" not in err


def test_unresolved_parse_skips_the_catalogs():
    sc = parse_scenario(MINIMAL.replace("hwasong-15", "hwasong-51"), resolve=False)
    assert sc.threat[0].missile == "hwasong-51"
    with pytest.raises(ScenarioError):
        sc.resolved()


def test_models_are_frozen():
    from pydantic import ValidationError

    sc = parse_scenario(MINIMAL)
    with pytest.raises(ValidationError, match="frozen"):
        sc.scenario.seed = 3  # type: ignore[misc]
    # a scenario's overrides change its own fire units, never the catalog
    before = get_interceptor("thaad").max_range_m
    r = parse_scenario(MINIMAL + '\n[[battery]]\nsite = "Seongju"\n\n[overrides]\ninterceptor = { thaad = { max_range_m = 1000.0 } }\n').resolved()
    assert r.batteries[0].interceptor_spec().max_range_m == 1000.0
    assert get_interceptor("thaad").max_range_m == before != 1000.0
