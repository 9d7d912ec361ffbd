"""Campaign runner: reproducible trial seeds, chunk files, resume, workers, statistics.

Scenarios: guam_salvo_defense (four Hwasong-12s engaged by THAAD and Aegis) and
hwasong14_lofted_2017 (one threat, not engaged); 1-4 trials each.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bmdsim.campaign import load_campaign, run_campaign, run_trial, summarize, trial_seed
from bmdsim.campaign.runner import ROW_FIELDS, chunk_path, check_dispersion
from bmdsim.engine.scenario import load_scenario
from bmdsim.errors import BmdsimInputError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SALVO = SCENARIOS / "guam_salvo_defense.toml"
LOFTED = SCENARIOS / "hwasong14_lofted_2017.toml"
DISPERSION = {"launch_time_s": 30.0, "pk": True}


def canon(rows) -> str:
    """Rows as text: NaN equals NaN, and any difference shows."""
    return json.dumps(rows, sort_keys=True)


@pytest.fixture(scope="module")
def salvo_full() -> list[dict]:
    """Three trials of the salvo in one chunk, in process: the reference run."""
    return run_campaign(SALVO, 3, chunk_size=3, dispersion=DISPERSION).rows


def test_trial_seeds_are_spawned_by_index():
    # SeedSequence(root, spawn_key=(k,)) is what SeedSequence(root).spawn(n)[k] gives
    children = np.random.SeedSequence(12).spawn(3)
    assert np.random.SeedSequence(12, spawn_key=(2,)).generate_state(4).tolist() == children[2].generate_state(4).tolist()
    seeds = [trial_seed(12, k) for k in range(50)]
    assert len(set(seeds)) == 50
    assert all(0 <= s < 2**63 for s in seeds)
    assert trial_seed(12, 7) == trial_seed(12, 7) != trial_seed(13, 7)


def test_rows_have_the_fields_and_the_recorded_seed(salvo_full):
    assert len(salvo_full) == 3 * 4  # 3 trials x 4 threats
    for r in salvo_full:
        assert tuple(r) == ROW_FIELDS
        assert r["trial_seed"] == trial_seed(12, r["trial"])  # the scenario's seed is the root
        if r["intercepted"]:
            assert math.isnan(r["impact_lat"]) and math.isnan(r["impact_lon"])
    assert [r["trial"] for r in salvo_full] == [0] * 4 + [1] * 4 + [2] * 4


def test_same_seed_same_rows_and_a_trial_alone_equals_it_in_the_campaign(salvo_full):
    again = run_campaign(SALVO, 3, chunk_size=2, dispersion=DISPERSION).rows  # other chunking
    assert canon(again) == canon(salvo_full)
    resolved = load_scenario(SALVO).resolved()
    alone = run_trial(resolved, 2, 12, DISPERSION)
    assert canon(alone) == canon([r for r in salvo_full if r["trial"] == 2])
    other = run_campaign(SALVO, 1, seed=13, dispersion=DISPERSION).rows
    assert other[0]["trial_seed"] != salvo_full[0]["trial_seed"]


def test_one_and_two_workers_give_the_same_rows(tmp_path):
    one = run_campaign(LOFTED, 4, chunk_size=1, workers=1, dispersion=DISPERSION)
    two = run_campaign(LOFTED, 4, chunk_size=1, workers=2, dispersion=DISPERSION, out_dir=tmp_path / "two")
    assert canon(one.rows) == canon(two.rows)
    assert sorted(p.name for p in (tmp_path / "two").glob("chunk-*")) == [f"chunk-0000{i}.parquet" for i in range(4)]


def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, salvo_full):
    out = tmp_path / "camp"
    seen = []
    full = run_campaign(SALVO, 3, chunk_size=1, dispersion=DISPERSION, out_dir=out, progress=lambda d, n: seen.append((d, n)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert canon(full.rows) == canon(salvo_full)
    # resuming a complete campaign: nothing reruns, nothing doubles
    again = run_campaign(SALVO, 3, chunk_size=1, dispersion=DISPERSION, out_dir=out, resume=True)
    assert (again.chunks_run, again.chunks_skipped) == (0, 3)
    assert canon(again.rows) == canon(salvo_full)
    # an interruption: chunk 1 never written, a half-written temporary file left behind
    chunk_path(out, 1).unlink()
    (out / ".chunk-00001.parquet.999.tmp").write_text('{"trial": 1')
    resumed = run_campaign(SALVO, 3, chunk_size=1, dispersion=DISPERSION, out_dir=out, resume=True)
    assert (resumed.chunks_run, resumed.chunks_skipped) == (1, 2)
    assert canon(resumed.rows) == canon(salvo_full)
    assert resumed.summary == full.summary
    manifest, stored = load_campaign(out)
    assert manifest["seed"] == 12 and canon(stored) == canon(salvo_full)


def test_resume_refuses_other_settings_and_a_used_folder_needs_resume(tmp_path):
    out = tmp_path / "camp"
    run_campaign(LOFTED, 2, chunk_size=1, out_dir=out)
    with pytest.raises(BmdsimInputError, match="out") as e:
        run_campaign(LOFTED, 2, chunk_size=1, out_dir=out)
    assert "--resume" in str(e.value)
    with pytest.raises(BmdsimInputError) as e:
        run_campaign(LOFTED, 2, chunk_size=1, out_dir=out, resume=True, seed=5)
    assert e.value.field == "seed"
    with pytest.raises(BmdsimInputError) as e:
        run_campaign(LOFTED, 2, resume=True)
    assert e.value.field == "resume"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"trials": 0}, "trials"),
        ({"trials": 2.5}, "trials"),
        ({"trials": 2, "workers": 0}, "workers"),
        ({"trials": 2, "chunk_size": 0}, "chunk_size"),
        ({"trials": 2, "seed": -1}, "seed"),
        ({"trials": 2, "dispersion": {"launch_time_s": -3.0}}, "dispersion.launch_time_s"),
        ({"trials": 2, "dispersion": {"speed": 1.0}}, "dispersion.speed"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    trials = kwargs.pop("trials")
    with pytest.raises(BmdsimInputError) as e:
        run_campaign(LOFTED, trials, **kwargs)
    assert e.value.field == field
    assert field in str(e.value)


def test_dispersion_defaults_and_the_scenario_table(tmp_path):
    zero = {"launch_time_s": 0.0, "launch_site_km": 0.0, "aim_km": 0.0, "performance": 0.0, "sensor_noise": 0.0}
    assert check_dispersion(None) == {**zero, "pk": True}
    assert check_dispersion({"pk": False}) == {**zero, "pk": False}
    with pytest.raises(BmdsimInputError) as e:
        check_dispersion({"aim_km": 900})
    assert e.value.field == "dispersion.aim_km" and "500" in str(e.value)
    # a campaign takes the scenario's [dispersion] table, and the caller's settings over it
    path = tmp_path / "s.toml"
    path.write_text(LOFTED.read_text() + "\n[dispersion]\naim_km = 10\npk = false\n")
    r = run_campaign(path, 1, dispersion={"pk": True})
    assert r.dispersion == {**zero, "aim_km": 10.0, "pk": True}


def _rows(leaked_by_trial):
    return [
        {"trial": k, "threat": f"T{j + 1}", "intercepted": not leaked, "leaked": leaked, "interceptors_fired": 2}
        for k, leaks in enumerate(leaked_by_trial)
        for j, leaked in enumerate(leaks)
    ]


def test_summary_statistics_and_the_wilson_interval():
    # 10 trials of two threats; T1 leaks in trials 0 and 1, T2 in trial 1 only
    leaks = [(True, False), (True, True)] + [(False, False)] * 8
    s = summarize(_rows(leaks), 10)
    assert s["trials"] == 10
    assert s["p_no_leaker"] == 0.8
    assert s["expected_leakers"] == 0.3
    assert s["mean_interceptors"] == 4.0
    assert s["per_threat"] == [
        {"id": "T1", "p_intercepted": 0.8, "p_leaked": 0.2},
        {"id": "T2", "p_intercepted": 0.9, "p_leaked": 0.1},
    ]
    # Wilson 1927, z = 1.96, 8 of 10: (0.4902, 0.9433) (Agresti & Coull 1998, Table 1 method)
    lo, hi = s["ci95"]
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    # the interval stays inside [0, 1] and holds the estimate, also at the edges
    for k_leak in (0, 10):
        s = summarize(_rows([(i < k_leak,) for i in range(10)]), 10)
        lo, hi = s["ci95"]
        assert 0.0 <= lo <= s["p_no_leaker"] <= hi <= 1.0 and hi - lo > 0.1


def test_summary_checks_its_trials():
    with pytest.raises(BmdsimInputError) as e:
        summarize(_rows([(False,)] * 3), 0)
    assert e.value.field == "trials"
    with pytest.raises(BmdsimInputError) as e:
        summarize(_rows([(False,)] * 3), 4)
    assert e.value.field == "rows"


def test_chunks_are_parquet_and_duckdb_queries_them(tmp_path):
    # one row per trial and threat, readable back as Parquet and through DuckDB
    from bmdsim.campaign import query, run_campaign

    scen = Path(__file__).resolve().parents[2] / "scenarios" / "hwasong14_lofted_2017.toml"
    res = run_campaign(scen, 3, out_dir=tmp_path / "c", chunk_size=2)
    files = sorted((tmp_path / "c").glob("chunk-*.parquet"))
    assert len(files) == 2
    n, engaged = query(tmp_path / "c", "select count(*), sum(case when decision = 'engage' then 1 else 0 end) from trials").fetchall()[0]
    assert n == len(res.rows) == 3 and engaged == 0


def test_sweep_over_kill_probability(tmp_path):
    # sure kills leave no leaker; duds let every threat through; the table and plot are written
    from bmdsim.campaign.sweep import parse_sweep, run_sweep

    scen = Path(__file__).resolve().parents[2] / "scenarios" / "guam_salvo_defense.toml"
    key, values = parse_sweep("pk=0,1")
    res = run_sweep(scen, key, values, 2, out_dir=tmp_path)
    p0, p1 = res["points"]
    assert p0["p_no_leaker"] == 0.0 and p0["expected_leakers"] == 4.0
    assert p1["p_no_leaker"] == 1.0 and p1["expected_leakers"] == 0.0
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 3
    assert (tmp_path / "sweep.png").stat().st_size > 5000


@pytest.mark.parametrize("text", ["pk", "pq=0.5", "pk=2", "shots=0", "count=1.5", "pk=a,b"])
def test_bad_sweeps_name_the_problem(text):
    from bmdsim.campaign.sweep import parse_sweep
    from bmdsim.errors import BmdsimInputError

    with pytest.raises(BmdsimInputError) as e:
        parse_sweep(text)
    assert "sweep" in str(e.value)


def test_dask_local_cluster_gives_the_same_rows():
    # the same campaign on a Dask LocalCluster of two worker processes and in this process
    from distributed import LocalCluster

    from bmdsim.campaign import run_campaign

    scen = Path(__file__).resolve().parents[2] / "scenarios" / "hwasong14_lofted_2017.toml"
    local = run_campaign(scen, 4, chunk_size=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_campaign(scen, 4, chunk_size=1, scheduler=cluster.scheduler_address)
    assert remote.rows == local.rows
    assert remote.summary == local.summary


def test_unreachable_scheduler_is_a_clear_error():
    from bmdsim.campaign import run_campaign
    from bmdsim.errors import BmdsimInputError

    scen = Path(__file__).resolve().parents[2] / "scenarios" / "hwasong14_lofted_2017.toml"
    with pytest.raises(BmdsimInputError) as e:
        run_campaign(scen, 1, scheduler="tcp://127.0.0.1:9")
    assert "scheduler" in str(e.value)


_REUSE_PROBE = """
import resource, numpy as np
from bmdsim.campaign.runner import tune_allocator
tuned = tune_allocator()
def faults(n):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(n)  # written through: every page touched
    del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
first = faults(3 * 2**20)  # 24 MB, as a chunk's larger arrays
print(tuned, first, faults(3 * 2**20))
"""


def test_tuned_allocator_reuses_freed_chunk_memory():
    # a campaign process keeps the memory a chunk frees: allocating the same 24 MB again after
    # freeing it costs (almost) no page faults, where fresh memory costs one per page
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("tune_allocator acts on glibc only")
    out = subprocess.run([sys.executable, "-c", _REUSE_PROBE], capture_output=True, text=True, check=True).stdout.split()
    tuned, first, second = out[0] == "True", int(out[1]), int(out[2])
    assert tuned
    assert first > 0 and second <= first // 10, (first, second)


@pytest.mark.slow
def test_killed_campaign_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path):
    # the interruption for real: `bmdsim campaign` on two workers killed (SIGKILL, its
    # whole process group: no cleanup runs) once some chunks are written, then run again with
    # --resume: every trial once, the rows those of a run never interrupted
    import os
    import signal
    import subprocess
    import sys
    import time

    from bmdsim.campaign.runner import MANIFEST

    out = tmp_path / "camp"
    cmd = [sys.executable, "-m", "bmdsim", "campaign", str(LOFTED), "--trials", "3000", "--chunk-size", "10",
           "--workers", "2", "--out", str(out), "--json"]
    p = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(list(out.glob("chunk-*.parquet"))) < 8 and p.poll() is None:
        time.sleep(0.02)
    assert p.poll() is None, "the campaign ended before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    written = len(list(out.glob("chunk-*.parquet")))
    assert 8 <= written < 300 and (out / MANIFEST).exists()
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert summary["chunks_skipped"] == written  # this process writes the chunks, atomically
    assert summary["chunks_run"] + summary["chunks_skipped"] == 300
    manifest, stored = load_campaign(out)
    reference = run_campaign(LOFTED, 3000, chunk_size=10)
    assert [r["trial"] for r in stored] == [r["trial"] for r in reference.rows]  # none lost, none twice
    assert canon(stored) == canon(reference.rows)
    assert summary["p_no_leaker"] == reference.summary["p_no_leaker"]
