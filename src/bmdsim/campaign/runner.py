"""Monte Carlo campaigns: many trials of one scenario, reproducible, chunked, resumable.

A campaign runs ``trials`` trials of a scenario. Trial ``k`` draws all its randomness from
``SeedSequence(root_seed, spawn_key=(k,))`` (what ``SeedSequence(root_seed).spawn(n)[k]`` gives),
so its result depends on ``root_seed`` and ``k`` only: not on the chunking, the worker count or
the trials run before it, and `run_trial` re-runs it alone with the same rows. That sequence
spawns two children: ``(k, 0)`` gives the trial's 63-bit int engine seed, recorded in every row
as ``trial_seed`` (its ``SeedSequence`` spawns one stream per threat, for the sensors' noise,
and one for the battle's kill draws, as `engine.run.run_scenario` does); ``(k, 1)`` the
dispersions of the trial, from the scenario's ``[dispersion]`` table (or the caller's), drawn
in a fixed order by `campaign.batch`:

- ``pk``: each interceptor's single-shot kill probability drawn from its Beta posterior
  (`InterceptorSpec.sample_sspk`), one draw per interceptor (id and Beta) per trial, shared by
  the fire units of that interceptor; not drawn where the scenario or catalog fixes ``sspk``.
- ``launch_time_s``: each threat's launch time moved by a uniform draw in [-N, +N] s.
- ``launch_site_km``, ``aim_km``: east and north offsets of each threat's launch and aim points.
- ``performance``: each threat's thrust and specific impulse scaled by one normal factor.
- ``sensor_noise``: each sensor's measurement noise scaled by a log-normal factor per trial
  (the trackers still assume the catalog noise).

The trials of a chunk run through the chain together (`campaign.batch.run_batch`: arrays over
trials and threats, not a loop over engagements); a trial run alone (`run_trial`) is a chunk
of one and gives the same rows.

Trials are grouped in chunks of ``chunk_size`` consecutive trial ids; a chunk is the unit of
work (`run_chunk`), of parallelism (``workers=K``: this process and K - 1 worker processes
take chunks from one queue; ``scheduler``: a Dask cluster's workers) and of storage: ``out_dir/chunk-00000.parquet`` (pyarrow), written to a temporary file and renamed, so
a chunk file exists only when complete; `query` runs DuckDB SQL over all chunks as a view
``trials``. ``out_dir/campaign.json`` records what the
chunks were run with; resuming checks it and skips the chunks already written, so a resumed
campaign gives the rows of an uninterrupted one, each trial once.

Rows: one per trial and threat: ``trial``, ``threat`` (its id), ``decision``, ``declared_at_s``
(when it was taken, on the scenario's clock; NaN: never), ``intercepted``,
``leaked``, ``interceptors_fired``, ``impact_lat``, ``impact_lon`` (degrees; NaN where nothing
impacts) and ``trial_seed``. `summarize` turns them into campaign statistics.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmdsim.errors import BmdsimInputError

FORMAT_VERSION = 3  # 1: JSON lines; 2: Parquet; 3: Parquet with declared_at_s
MANIFEST = "campaign.json"
DEFAULT_CHUNK_SIZE = 100  # trials: big enough for the batched chain, small enough to resume
DEFAULT_DISPERSION: dict[str, Any] = {
    "launch_time_s": 0.0, "launch_site_km": 0.0, "aim_km": 0.0, "performance": 0.0, "sensor_noise": 0.0, "pk": True,
}
"""Dispersions applied when none are given: Pk drawn per trial, everything else as in the scenario
(a scenario's ``[dispersion]`` table sets them; ``engine.scenario.DispersionSection``)."""

# the allowed range of each numeric dispersion (as the scenario schema has them)
_DISPERSION_LIMITS = {
    "launch_time_s": (86_400.0, "a half-width in seconds"),
    "launch_site_km": (500.0, "a 1-sigma offset in km"),
    "aim_km": (500.0, "a 1-sigma offset in km"),
    "performance": (0.2, "a 1-sigma fraction"),
    "sensor_noise": (2.0, "the 1-sigma of the noise factor's logarithm"),
}

Z95 = 1.96

ROW_FIELDS = (
    "trial", "threat", "decision", "declared_at_s", "intercepted", "leaked", "interceptors_fired",
    "impact_lat", "impact_lon", "trial_seed",
)

ChunkRunner = Callable[..., list[dict]]
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------------
# Arguments


def _check_int(name: str, value: Any, minimum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise BmdsimInputError(name, value, f"{what}: an integer >= {minimum}")
    return int(value)


def check_dispersion(dispersion: Mapping[str, Any] | None) -> dict[str, Any]:
    """The dispersion settings, validated, with defaults filled in (`DEFAULT_DISPERSION`)."""
    if dispersion is None:
        return dict(DEFAULT_DISPERSION)
    if not isinstance(dispersion, Mapping):
        raise BmdsimInputError("dispersion", dispersion, "a mapping such as {'aim_km': 20.0, 'pk': True}")
    unknown = sorted(set(dispersion) - set(DEFAULT_DISPERSION))
    if unknown:
        raise BmdsimInputError(
            f"dispersion.{unknown[0]}", dispersion[unknown[0]], f"known dispersions: {', '.join(DEFAULT_DISPERSION)}"
        )
    out = dict(DEFAULT_DISPERSION)
    out.update(dispersion)
    for key, (hi, what) in _DISPERSION_LIMITS.items():
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= hi:
            raise BmdsimInputError(f"dispersion.{key}", v, f"{what}, from 0 to {hi:g}")
        out[key] = float(v)
    if not isinstance(out["pk"], (bool, np.bool_)):
        raise BmdsimInputError("dispersion.pk", out["pk"], "true (draw each interceptor's Pk per trial) or false")
    out["pk"] = bool(out["pk"])
    return out


# ---------------------------------------------------------------------------------------------
# Seeds and one trial


def trial_seed_sequences(root_seed: int, trial: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(engine, dispersion) seed sequences of trial ``trial``: spawn keys (trial, 0) and (trial, 1)."""
    ss = np.random.SeedSequence(int(root_seed), spawn_key=(int(trial),))
    engine_ss, dispersion_ss = ss.spawn(2)
    return engine_ss, dispersion_ss


def seed_of(engine_ss: np.random.SeedSequence) -> int:
    """The 63-bit int engine seed a trial's engine sequence gives (recorded in its rows)."""
    return int(engine_ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def trial_seed(root_seed: int, trial: int) -> int:
    """The 63-bit int engine seed of trial ``trial`` (recorded in its rows)."""
    return seed_of(trial_seed_sequences(root_seed, trial)[0])


def run_trial(resolved, trial: int, root_seed: int, dispersion: Mapping[str, Any] | None = None) -> list[dict]:
    """The rows of one trial (one per threat): the same whether run alone or in a campaign."""
    trial = _check_int("trial", trial, 0, "a trial index")
    root_seed = _check_int("seed", root_seed, 0, "the campaign's root seed")
    return run_chunk(resolved, [trial], root_seed, dispersion)


def run_chunk(resolved, trial_ids: Sequence[int], root_seed: int, dispersion: Mapping[str, Any] | None = None) -> list[dict]:
    """The rows of the trials ``trial_ids``, in that order, through the batched campaign engine
    (`campaign.batch.run_batch`: arrays over the trials, the same rows for a trial wherever it runs)."""
    from bmdsim.campaign.batch import run_batch

    return run_batch(resolved, trial_ids, root_seed, check_dispersion(dispersion))


# ---------------------------------------------------------------------------------------------
# Storage


def chunk_path(out_dir: str | Path, chunk: int) -> Path:
    return Path(out_dir) / f"chunk-{chunk:05d}.parquet"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic: the file is there complete, or not at all


def _arrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - the campaign extra is part of `make` installs
        raise BmdsimInputError("out", "parquet", "campaign results need pyarrow: pip install 'bmdsim[campaign]'") from None
    return pa, pq


def write_chunk(out_dir: str | Path, chunk: int, rows: Sequence[dict]) -> Path:
    """Write one chunk's rows as a Parquet file, atomically (temporary file, then rename)."""
    pa, pq = _arrow()
    path = chunk_path(out_dir, chunk)
    table = pa.Table.from_pylist([{k: r[k] for k in ROW_FIELDS} for r in rows])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # atomic: the file is there complete, or not at all
    return path


def read_chunk(out_dir: str | Path, chunk: int) -> list[dict]:
    _, pq = _arrow()
    return pq.read_table(chunk_path(out_dir, chunk)).to_pylist()


def query(out_dir: str | Path, sql: str):
    """Run DuckDB SQL over a campaign's rows, visible as the view ``trials``; returns a DuckDB
    relation (``.fetchall()``). Example:
    ``query(out, "select threat, avg(leaked::int) from trials group by threat")``."""
    import duckdb

    con = duckdb.connect()
    pattern = str(Path(out_dir) / "chunk-*.parquet").replace("'", "''")
    con.execute(f"create view trials as select * from read_parquet('{pattern}')")
    return con.sql(sql)


def _scenario_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _chunks(trials: int, chunk_size: int) -> list[list[int]]:
    return [list(range(s, min(s + chunk_size, trials))) for s in range(0, trials, chunk_size)]


def _check_manifest(out_dir: Path, manifest: dict, resume: bool) -> None:
    path = out_dir / MANIFEST
    if not path.exists():
        if any(out_dir.glob("chunk-*.parquet")):
            raise BmdsimInputError("out", str(out_dir), f"holds chunk files but no {MANIFEST}: choose an empty folder")
        return
    if not resume:
        raise BmdsimInputError(
            "out", str(out_dir), "already holds a campaign: resume it (--resume) or choose another folder"
        )
    old = json.loads(path.read_text(encoding="utf-8"))
    for key in ("format", "scenario_sha256", "seed", "trials", "chunk_size", "dispersion"):
        if old.get(key) != manifest[key]:
            raise BmdsimInputError(
                key, manifest[key],
                f"the campaign in {out_dir} was run with {key} = {old.get(key)!r}: resume with the same, or use another folder",
            )


def _chunk_complete(out_dir: Path, chunk: int, trial_ids: Sequence[int]) -> bool:
    """A chunk file exists (written atomically) and holds exactly its trials."""
    if not chunk_path(out_dir, chunk).exists():
        return False
    try:
        rows = read_chunk(out_dir, chunk)
    except (OSError, ValueError):
        return False
    return sorted({r["trial"] for r in rows}) == list(trial_ids)


# ---------------------------------------------------------------------------------------------
# Workers


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters


def tune_allocator() -> bool:
    """Let this process keep the memory it frees for its next chunk (glibc only; True if set).

    A chunk allocates and frees tens of MB of arrays (records, detections, tracks). glibc hands
    blocks that large to the operating system and back each time, and every page then costs a
    fault and its zeroing on first write: 3 to 8 % of a trial's time on the Alaska campaign
    (measured with ``benchmarks/campaign.py`` style chunks of 100). With blocks up to 32 MB (the
    most glibc allows) served from the heap, and the heap neither trimmed nor grown by less
    than 64 MB, the pages are reused. The process keeps its peak heap until it exits, so the
    CLI and the campaign's worker processes call this, not `run_campaign` inside someone
    else's program."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc without the usual name
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, 32 * 2**20), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 64 * 2**20),
    ))


_WORKER_SCENARIOS: dict[str, Any] = {}


def _load(path: str):
    from bmdsim.engine.scenario import load_scenario

    if path not in _WORKER_SCENARIOS:
        _WORKER_SCENARIOS[path] = load_scenario(path).resolved()
    return _WORKER_SCENARIOS[path]


def _worker_chunk(scenario_path: str, chunk: int, trial_ids: list[int], root_seed: int,
                  dispersion: dict, chunk_runner: ChunkRunner) -> tuple[int, list[dict]]:
    """In a worker process: load the scenario by path (spawn-safe), run one chunk.

    One numba thread per worker: the processes already share out the cores."""
    import numba

    numba.set_num_threads(1)
    return chunk, chunk_runner(_load(scenario_path), trial_ids, root_seed, dispersion)


# ---------------------------------------------------------------------------------------------
# Campaign


@dataclass
class CampaignResult:
    scenario: str
    seed: int
    trials: int
    rows: list[dict]
    summary: dict
    chunks_run: int = 0
    chunks_skipped: int = 0
    elapsed_s: float = 0.0
    out_dir: str | None = None
    dispersion: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """The `bmdsim campaign --json` contract: the summary's keys (trials, p_no_leaker, ci95
        (Wilson), expected_leakers, mean_interceptors, per_threat) at the top, then the run."""
        return {
            **self.summary,
            "scenario": self.scenario,
            "seed": self.seed,
            "dispersion": self.dispersion,
            "out": self.out_dir,
            "chunks_run": self.chunks_run,
            "chunks_skipped": self.chunks_skipped,
            "elapsed_s": round(self.elapsed_s, 3),
            "trials_per_s": round(self.trials / self.elapsed_s, 3) if self.elapsed_s > 0 else None,
        }


def run_campaign(
    scenario_path: str | Path,
    trials: int,
    *,
    workers: int = 1,
    out_dir: str | Path | None = None,
    resume: bool = False,
    seed: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    dispersion: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    chunk_runner: ChunkRunner = run_chunk,
    scheduler: str | None = None,
) -> CampaignResult:
    """Run ``trials`` trials of the scenario file in chunks; rows and summary.

    seed: the root seed (default: the scenario's). out_dir: where chunk files go (None: kept in
    memory only). resume: skip the chunks already complete in out_dir. workers: 1 runs in this
    process; K > 1 runs this process and K - 1 worker processes on one queue of chunks.
    progress: callable(done_trials, total_trials), called as chunks finish. chunk_runner:
    ``f(resolved, trial_ids, root_seed, dispersion) -> rows``, a top-level function (workers
    pickle it by name). scheduler: the address of a Dask
    distributed scheduler (``tcp://host:8786``): chunks run on its workers instead of the local
    pool, with the same rows (each chunk's trials are seeded by their ids, wherever they run);
    the workers must see the scenario file at the same path and have bmdsim installed.
    """
    from bmdsim.engine.scenario import load_scenario

    trials = _check_int("trials", trials, 1, "the number of trials")
    workers = _check_int("workers", workers, 1, "the number of worker processes")
    chunk_size = _check_int("chunk_size", chunk_size, 1, "trials per chunk")
    if resume and out_dir is None:
        raise BmdsimInputError("resume", resume, "needs an output folder (--out) holding the campaign to resume")
    scenario_path = str(scenario_path)
    resolved = load_scenario(scenario_path).resolved()  # bad files fail here, before any worker starts
    # the scenario's [dispersion] table, with what the caller gives over it
    dispersion = check_dispersion({**resolved.dispersion, **(dispersion or {})})
    root_seed = resolved.seed if seed is None else _check_int("seed", seed, 0, "the root seed")

    t0 = time.perf_counter()
    chunks = _chunks(trials, chunk_size)
    results: dict[int, list[dict]] = {}
    out = None
    if out_dir is not None:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise BmdsimInputError("out", str(out), "a folder for the chunk files, not a file")
        out.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT_VERSION,
            "scenario": scenario_path,
            "scenario_sha256": _scenario_digest(scenario_path),
            "name": resolved.name,
            "seed": root_seed,
            "trials": trials,
            "chunk_size": chunk_size,
            "dispersion": dispersion,
            "rows": list(ROW_FIELDS),
        }
        _check_manifest(out, manifest, resume)
        if not (out / MANIFEST).exists():
            _write_atomic(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        for c, ids in enumerate(chunks):
            if resume and _chunk_complete(out, c, ids):
                results[c] = read_chunk(out, c)
    skipped = len(results)
    todo = [c for c in range(len(chunks)) if c not in results]
    done_trials = sum(len(chunks[c]) for c in results)
    if progress:
        progress(done_trials, trials)

    def finished(c: int, rows: list[dict]) -> None:
        nonlocal done_trials
        if out is not None:
            write_chunk(out, c, rows)
        results[c] = rows
        done_trials += len(chunks[c])
        if progress:
            progress(done_trials, trials)

    if scheduler is not None and todo:
        _run_on_dask(scheduler, scenario_path, chunks, todo, root_seed, dispersion, chunk_runner, finished)
    elif workers == 1 or len(todo) <= 1:
        for c in todo:
            finished(c, chunk_runner(resolved, chunks[c], root_seed, dispersion))
    else:
        _run_local_pool(workers, scenario_path, resolved, chunks, todo, root_seed, dispersion, chunk_runner, finished)

    rows = [r for c in range(len(chunks)) for r in results[c]]
    return CampaignResult(
        scenario=resolved.name, seed=root_seed, trials=trials, rows=rows, summary=summarize(rows, trials),
        chunks_run=len(todo), chunks_skipped=skipped, elapsed_s=time.perf_counter() - t0,
        out_dir=None if out is None else str(out), dispersion=dispersion,
    )


def _run_local_pool(workers, scenario_path, resolved, chunks, todo, root_seed, dispersion, chunk_runner, finished) -> None:
    """Chunks over ``workers`` workers on this machine: this process and workers - 1 worker
    processes, all taking chunks from one queue (the processes from its front, this process
    from its back). This process is warm already (scenario parsed, kernels loaded), so it works
    while the others start; each process keeps up to three chunks in hand."""
    import multiprocessing
    from collections import deque

    import numba

    # spawn: a fresh interpreter per worker (numba's threads do not survive fork), so the
    # worker gets the scenario path and loads it; nothing unpicklable crosses over
    ctx = multiprocessing.get_context("spawn")
    n_proc = min(workers, len(todo)) - 1
    queue = deque(todo)
    threads = numba.get_num_threads()
    with ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx, initializer=tune_allocator) as pool:
        pending: set = set()
        try:
            while queue or pending:
                while queue and len(pending) < 3 * n_proc:
                    c = queue.popleft()
                    pending.add(pool.submit(_worker_chunk, scenario_path, c, chunks[c], root_seed, dispersion, chunk_runner))
                if queue:
                    c = queue.pop()
                    numba.set_num_threads(1)  # one core per worker, as in the worker processes
                    try:
                        rows = chunk_runner(resolved, chunks[c], root_seed, dispersion)
                    finally:
                        numba.set_num_threads(threads)
                    finished(c, rows)
                    done = {f for f in pending if f.done()}
                    pending -= done
                else:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    finished(*fut.result())
        except BaseException:
            # an error or Ctrl-C: the chunks written stay; the rest is for --resume
            for fut in pending:
                fut.cancel()
            raise


def _run_on_dask(address, scenario_path, chunks, todo, root_seed, dispersion, chunk_runner, finished) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BmdsimInputError("scheduler", address, "needs dask distributed: pip install 'bmdsim[campaign]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise BmdsimInputError("scheduler", address, f"a reachable Dask scheduler address ({exc})") from None
    try:
        futures = [
            client.submit(_worker_chunk, scenario_path, c, chunks[c], root_seed, dispersion, chunk_runner, pure=False)
            for c in todo
        ]
        try:
            for fut in as_completed(futures):
                finished(*fut.result())
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()


def load_campaign(out_dir: str | Path) -> tuple[dict, list[dict]]:
    """(manifest, rows) of the complete chunks in out_dir, in trial order."""
    out = Path(out_dir)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    chunks = _chunks(manifest["trials"], manifest["chunk_size"])
    rows = [r for c, ids in enumerate(chunks) if _chunk_complete(out, c, ids) for r in read_chunk(out, c)]
    return manifest, rows


# ---------------------------------------------------------------------------------------------
# Statistics


def summarize(rows: Sequence[Mapping[str, Any]], trials: int) -> dict:
    """Campaign statistics from the rows of ``trials`` trials.

    p_no_leaker: the fraction of trials in which no threat leaked, with its 95 % Wilson score
    interval ``ci95`` (Wilson 1927; z = 1.96); expected_leakers and mean_interceptors: per trial;
    per_threat: each threat's fraction of trials intercepted and leaked.
    """
    from bmdsim.defense.outcome import wilson_interval

    trials = _check_int("trials", trials, 1, "the number of trials")
    seen = {int(r["trial"]) for r in rows}
    if len(seen) != trials:
        raise BmdsimInputError("rows", f"{len(seen)} trials", f"rows of exactly {trials} trials (the trials argument)")
    leaked_trials = {int(r["trial"]) for r in rows if r["leaked"]}
    no_leaker = trials - len(leaked_trials)
    lo, hi = wilson_interval(no_leaker, trials, z=Z95)
    lo, hi = max(0.0, float(lo)), min(1.0, float(hi))  # rounding leaves -1e-17 at k = 0
    per: dict[str, list[int]] = {}
    for r in rows:
        c = per.setdefault(str(r["threat"]), [0, 0])
        c[0] += bool(r["intercepted"])
        c[1] += bool(r["leaked"])
    return {
        "trials": trials,
        "p_no_leaker": no_leaker / trials,
        "ci95": [lo, hi],
        "expected_leakers": sum(bool(r["leaked"]) for r in rows) / trials,
        "mean_interceptors": sum(int(r["interceptors_fired"]) for r in rows) / trials,
        "per_threat": [{"id": k, "p_intercepted": v[0] / trials, "p_leaked": v[1] / trials} for k, v in per.items()],
    }
