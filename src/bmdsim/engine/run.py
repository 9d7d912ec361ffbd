"""Run a scenario: every threat through the chain, then the battle, on one event clock.

The engine holds no physics; it wires the chain for each threat (``engine.assess``), lets the
battle manager fight them together (``engine.engage``: the assignment shares the fire units'
rounds over all threats), and merges everything into one timeline on an integer-millisecond
clock with a deterministic order: time, then the kind of event (launch, detection, track,
burnout, assessment, decision, interceptor launch, intercept, kill assessment, impact), then
the threat.

Randomness: one ``SeedSequence`` from the scenario seed; each threat's chain gets its own child
stream (by threat index), the battle another, so a threat's result does not depend on how many
threats come after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bmdsim.assessment.policy import Policy
from bmdsim.defense.doctrine import Doctrine
from bmdsim.defense.interceptors import BatterySpec
from bmdsim.earth.places import Place
from bmdsim.engine.assess import ThreatAssessment, assess_threat, fly_truth
from bmdsim.engine.engage import EngagementResult, engage
from bmdsim.threats.spec import Missile

EVENT_ORDER = {
    "launch": 0,
    "detection": 1,
    "track established": 2,
    "burnout observed": 3,
    "assessment": 4,
    "threat declared": 5,
    "not engaged": 5,
    "decision revised": 5,
    "no engagement possible": 6,
    "interceptor launch": 7,
    "intercept": 8,
    "kill assessment": 9,
    "impact": 10,
    "leaker impact": 10,
}


@dataclass(frozen=True)
class ThreatSpec:
    """One threat to fly: what, from where, to where, how and when."""

    missile: Missile
    launch: Place
    aim: Place
    profile: str = "min-energy"
    apogee_km: float | None = None
    time_s: float = 0.0
    value: float = 1.0
    label: str = ""


@dataclass
class RunResult:
    name: str
    seed: int
    threats: list[ThreatSpec]
    assessments: list[ThreatAssessment]
    battle: EngagementResult
    events: list[dict] = field(default_factory=list)  # {t_ms, t_s, kind, threat, detail}
    protect: tuple[str, ...] = ()  # the policy's protected sovereigns or territories

    def threat_rows(self) -> list[dict]:
        rows = []
        for j, (spec, a, o) in enumerate(zip(self.threats, self.assessments, self.battle.outcomes)):
            impact = None
            if not o.intercepted and a.truth.impacted:
                lat, lon = a.truth.flight.impact_lat_lon_deg
                impact = {"lat": float(lat[0]), "lon": float(lon[0])}
            rows.append(
                {
                    "id": spec.label or f"T{j + 1}",
                    "missile": spec.missile.name,
                    "decision": a.decision.decision,
                    "reason": a.decision.reason,
                    "declared_at_s": None if a.decision.declared_at_s is None else a.decision.declared_at_s + spec.time_s,
                    "threatened": a.decision.deciding.threatened if a.decision.deciding else [],
                    "overflown": list(a.overflown),
                    "orbital": bool(a.decision.orbital),
                    "intercepted": bool(o.intercepted),
                    "leaked": bool(o.engaged and o.leaked and a.truth.impacted),
                    "interceptors_fired": int(o.interceptors_fired),
                    "impact": impact,
                }
            )
        return rows

    def as_json(self) -> dict:
        """The `bmdsim run --json` contract (plus a summary)."""
        rows = self.threat_rows()
        return {
            "scenario": self.name,
            "seed": self.seed,
            "threats": rows,
            "summary": {
                "threats": len(rows),
                "engaged": sum(r["decision"] == "engage" for r in rows),
                "intercepted": sum(r["intercepted"] for r in rows),
                "leakers": sum(r["leaked"] for r in rows),
                "interceptors_fired": sum(r["interceptors_fired"] for r in rows),
                "expected_value": {k: round(v, 6) for k, v in self.battle.expected_value_by_method.items()},
            },
            "events": [{"t_s": e["t_s"], "kind": e["kind"], "detail": e["detail"]} for e in self.events],
        }


def _event(t_s: float, kind: str, threat: int, detail: str) -> dict:
    t_ms = int(round(t_s * 1000.0))
    return {"t_ms": t_ms, "t_s": t_ms / 1000.0, "kind": kind, "threat": threat, "detail": detail}


def run_scenario(
    name: str,
    seed: int,
    threats: Sequence[ThreatSpec],
    sensors: Sequence,
    batteries: Sequence[BatterySpec],
    policy: Policy,
    doctrine: Doctrine | Mapping[str, Doctrine],
    *,
    method: str = "milp",
    progress=None,
) -> RunResult:
    """Fly, observe, track, decide and fight every threat; one merged timeline.

    progress: optional callable(done, total, label) for a progress display.
    """
    ss = np.random.SeedSequence(int(seed))
    streams = ss.spawn(len(threats) + 1)
    assessments: list[ThreatAssessment] = []
    for j, t in enumerate(threats):
        if progress:
            progress(j, len(threats), f"{t.label or t.missile.name}: flight, sensors, track, decision")
        truth = fly_truth(t.missile, t.launch, t.aim, t.profile, t.apogee_km)
        assessments.append(assess_threat(truth, list(sensors), policy, np.random.default_rng(streams[j])))
    if progress:
        progress(len(threats), len(threats), "battle management")
    battle = engage(
        assessments, list(batteries), doctrine, np.random.default_rng(streams[-1]),
        values=[t.value for t in threats], method=method,
    )
    events = []
    for j, (t, a) in enumerate(zip(threats, assessments)):
        tag = t.label or f"T{j + 1}"
        # after a kill the sensors watch debris: the threat's own timeline ends there
        t_kill = min((lk["t_intercept_s"] for lk in battle.looks if lk["threat"] == j and lk["hit"]), default=np.inf)
        for e in a.timeline:
            if e["t_s"] > t_kill:
                continue
            kind = e["event"]
            if kind.startswith("decision: "):
                kind = kind[len("decision: "):]
            if kind == "impact (truth)":
                o = battle.outcomes[j]
                if o.intercepted or (o.engaged and o.leaked):
                    continue  # intercepted: no impact; a leaker's impact comes from the battle
                kind = "impact"
            events.append(_event(t.time_s + e["t_s"], kind, j, f"{tag}: {e['detail']}"))
    for e in battle.events:
        t = threats[e.threat]
        events.append(_event(t.time_s + e.t_s, e.kind, e.threat, f"{t.label or f'T{e.threat + 1}'}: {e.detail}"))
    events.sort(key=lambda e: (e["t_ms"], EVENT_ORDER.get(e["kind"], 11), e["threat"], e["detail"]))
    return RunResult(name, int(seed), list(threats), assessments, battle, events, tuple(policy.protect))
