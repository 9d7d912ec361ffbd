"""The engagement policy: engage a missile coming toward protected territory, and only then.

The stated US policy (e.g. the US Secretary of Defense, 2017; Pacific Command statements on the
August 2017 Guam threat) is to shoot down a North Korean missile judged to be headed for US or
allied territory, and not a test that falls into the ocean. bmdsim turns that into a rule on the
track's predicted impact distribution:

- engage when the probability of impact in any protected territory reaches ``threshold``;
- decide only once the prediction is good enough (its 2-sigma impact ellipse within
  ``max_ellipse_km``) or, failing that, once the time to impact falls to ``deadline_s`` (a
  defense cannot wait for certainty);
- a track predicted to reach orbit is "orbital, no impact": not engaged;
- the decision is re-evaluated at every assessment; a reversal is recorded with its time.

Defaults: threshold 0.05 (one chance in twenty of a hit on protected territory is enough to
shoot: a miss is far cheaper than a leaker), max_ellipse_km 100 (well inside the distance from
the Sea of Japan impact areas of the 2017 tests to the Japanese coast), deadline_s 600.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from bmdsim.assessment.impact import ImpactPrediction
from bmdsim.earth.geography import DEFAULT_PROTECTED

ENGAGE = "engage"
NO_ENGAGE = "no-engage"


class Policy(BaseModel):
    """When the defense engages; every field can be set in a scenario."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protect: tuple[str, ...] = Field(default=DEFAULT_PROTECTED, description="sovereigns or territory codes")
    threshold: float = Field(default=0.05, gt=0.0, le=1.0, description="P(impact in a protected territory) that triggers engagement")
    max_ellipse_km: float = Field(default=100.0, gt=0.0, description="decide once the 2-sigma semi-major axis is within this")
    deadline_s: float = Field(default=600.0, ge=0.0, description="decide at the latest when the time to impact falls to this")
    orbital_fraction: float = Field(default=0.5, gt=0.0, le=1.0, description="fraction of samples in orbit that makes a launch orbital")


@dataclass
class Assessment:
    """One evaluation of the policy on one prediction."""

    t_s: float
    prediction: ImpactPrediction
    threatened: list[str]
    ready: bool  # prediction good enough (or deadline reached) to decide
    verdict: str  # engage / no-engage
    reason: str


@dataclass
class Decision:
    """The policy's answer over a sequence of assessments."""

    decision: str = NO_ENGAGE
    reason: str = "no track"
    declared_at_s: float | None = None
    orbital: bool = False
    history: list[Assessment] = field(default_factory=list)
    revisions: list[tuple[float, str]] = field(default_factory=list)  # (time, new decision)

    @property
    def deciding(self) -> Assessment | None:
        """The assessment at which the standing decision was made."""
        for a in self.history:
            if a.ready and a.t_s == self.declared_at_s:
                return a
        return None


def evaluate(
    policy: Policy, pred: ImpactPrediction, launch_distance_km: float | None = None, powered: bool = False
) -> Assessment:
    """Apply the policy to one prediction.

    powered: the motor may still be burning (the infrared sensors still see the plume, or no
    infrared sensor has seen it stop); a ballistic prediction then says nothing about where the
    missile will go, so nothing is decided yet.
    """
    threatened = sorted(c for c, p in pred.p_impact.items() if p >= policy.threshold)
    ready = (not powered) and bool(
        pred.orbital_fraction >= policy.orbital_fraction
        or (pred.semi_major_km <= policy.max_ellipse_km)
        or (pred.mean_time_to_impact_s <= policy.deadline_s)
    )
    if pred.orbital_fraction >= policy.orbital_fraction:
        return Assessment(pred.t_s, pred, [], ready, NO_ENGAGE, "orbital, no impact: a space launch reaching orbit")
    if threatened:
        pmax = max(pred.p_impact[c] for c in threatened)
        return Assessment(
            pred.t_s, pred, threatened, ready, ENGAGE,
            f"P(impact in {', '.join(threatened)}) = {pmax:.2f} >= threshold {policy.threshold:.2f}",
        )
    ptot = sum(pred.p_impact.values())
    where = "in the sea" if ptot == 0 else f"outside protected territory (P = {ptot:.3f} in total)"
    near = f", {launch_distance_km:,.0f} km from the launch point" if launch_distance_km is not None else ""
    return Assessment(
        pred.t_s, pred, [], ready, NO_ENGAGE,
        f"predicted impact {where}{near}: no protected territory at or over the threshold {policy.threshold:.2f}",
    )


def decide(assessments: list[Assessment]) -> Decision:
    """The standing decision over assessments in time order: first made when one is ready,
    revised (and the revision recorded) when a later ready assessment disagrees."""
    d = Decision(history=list(assessments))
    for a in assessments:
        if not a.ready:
            continue
        orbital = a.reason.startswith("orbital")
        if d.declared_at_s is None or a.verdict != d.decision or orbital != d.orbital:
            if d.declared_at_s is not None:
                d.revisions.append((a.t_s, a.verdict))
            d.decision, d.reason, d.declared_at_s = a.verdict, a.reason, a.t_s
            d.orbital = orbital
    if d.declared_at_s is None and assessments:
        last = assessments[-1]
        d.decision, d.reason = NO_ENGAGE, f"no decision: the prediction never became good enough ({last.reason})"
    return d
