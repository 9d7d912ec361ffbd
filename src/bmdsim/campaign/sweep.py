"""Sweeps: the same campaign over a grid of one override, and effectiveness against it.

``KEY=V1,V2,...`` with KEY one of

- ``pk``: the single-shot kill probability of every interceptor in the scenario (fixed, no Beta);
- ``shots``: interceptors per threat per look (the doctrine's salvo);
- ``rounds``: the rounds of every fire unit;
- ``count``: the raid size: every ``[[threat]]`` entry launches this many.

Each point is a campaign of its own: the modified scenario is written as TOML next to its chunks
(``out/<key>=<value>/scenario.toml``), so it resumes and runs on workers like any other.
"""

from __future__ import annotations

import json
from pathlib import Path

from bmdsim.campaign.runner import run_campaign
from bmdsim.errors import BmdsimInputError

SWEEP_KEYS = ("pk", "shots", "rounds", "count")


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``"pk=0.5,0.6,0.7"`` -> ("pk", [0.5, 0.6, 0.7]), validated."""
    if "=" not in text:
        raise BmdsimInputError("sweep", text, f"KEY=V1,V2,... with KEY one of {', '.join(SWEEP_KEYS)}")
    key, _, vals = text.partition("=")
    key = key.strip().lower()
    if key not in SWEEP_KEYS:
        import difflib

        raise BmdsimInputError("sweep", key, f"KEY one of {', '.join(SWEEP_KEYS)}", difflib.get_close_matches(key, SWEEP_KEYS, 1))
    try:
        values = [float(v) for v in vals.split(",") if v.strip()]
    except ValueError:
        raise BmdsimInputError("sweep", vals, "comma-separated numbers") from None
    if not values:
        raise BmdsimInputError("sweep", text, "give at least one value")
    if key == "pk" and not all(0.0 <= v <= 1.0 for v in values):
        raise BmdsimInputError("sweep.pk", values, "probabilities in [0, 1]")
    if key != "pk" and not all(v >= (1 if key in ("shots", "count") else 0) and v == int(v) for v in values):
        raise BmdsimInputError(f"sweep.{key}", values, "whole numbers (shots and count at least 1)")
    return key, values


def swept_scenario(path: str | Path, key: str, value: float):
    """The scenario of one sweep point (a validated ``engine.scenario.Scenario``)."""
    from bmdsim.engine.scenario import load_scenario, scenario_from_dict

    sc = load_scenario(path)
    raw = sc.model_dump(mode="python", exclude_none=True, by_alias=True)
    res = sc.resolved()
    if key == "pk":
        raw.setdefault("overrides", {})["pk"] = {b.interceptor: float(value) for b in res.batteries}
    elif key == "shots":
        raw.setdefault("doctrine", {})["shots"] = int(value)
        for d in raw.get("doctrine", {}).get("per_interceptor", {}).values():
            d["shots"] = int(value)
    elif key == "rounds":
        if not raw.get("battery"):
            raw["battery"] = [{"site": b.name} for b in res.batteries]
        for b in raw["battery"]:
            b["rounds"] = int(value)
    elif key == "count":
        for t in raw["threat"]:
            t["count"] = int(value)
    return scenario_from_dict(raw, source=f"{path} ({key}={value:g})")


def run_sweep(path, key: str, values, trials: int, *, out_dir, workers: int = 1, resume: bool = False, seed=None, progress=None) -> dict:
    """A campaign per value; writes ``sweep.json``, ``sweep.csv`` and ``sweep.png`` in out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = []
    for v in values:
        sc = swept_scenario(path, key, v)
        point_dir = out / f"{key}={v:g}"
        point_dir.mkdir(parents=True, exist_ok=True)
        spath = point_dir / "scenario.toml"
        text = sc.to_toml()
        if not (resume and spath.exists() and spath.read_text(encoding="utf-8") == text):
            spath.write_text(text, encoding="utf-8")
        r = run_campaign(spath, trials, workers=workers, out_dir=point_dir / "chunks", resume=resume, seed=seed, progress=progress)
        s = r.summary
        points.append({
            "value": v, "p_no_leaker": s["p_no_leaker"], "ci95": s["ci95"],
            "expected_leakers": s["expected_leakers"], "mean_interceptors": s["mean_interceptors"],
        })
    result = {"sweep": key, "trials": trials, "points": points}
    (out / "sweep.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = ["value,p_no_leaker,ci95_lo,ci95_hi,expected_leakers,mean_interceptors"]
    lines += [f"{p['value']:g},{p['p_no_leaker']:.6f},{p['ci95'][0]:.6f},{p['ci95'][1]:.6f},{p['expected_leakers']:.6f},{p['mean_interceptors']:.4f}" for p in points]
    (out / "sweep.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _plot(out / "sweep.png", key, points)
    return result


def _plot(path: Path, key: str, points: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.array([p["value"] for p in points])
    y = np.array([p["p_no_leaker"] for p in points])
    lo = np.array([p["ci95"][0] for p in points])
    hi = np.array([p["ci95"][1] for p in points])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o-", capsize=4)
    a1.set_xlabel(key)
    a1.set_ylabel("P(no leaker), 95 % Wilson interval")
    a1.set_ylim(-0.02, 1.02)
    a1.grid(alpha=0.3)
    a2.plot(x, [p["mean_interceptors"] for p in points], "s-", color="tab:orange")
    a2.set_xlabel(key)
    a2.set_ylabel("interceptors fired per trial")
    a2.grid(alpha=0.3)
    fig.suptitle(f"Defense effectiveness against {key}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
