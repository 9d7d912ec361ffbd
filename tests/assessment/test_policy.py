"""The engagement policy on hand-made predictions: the rule, its readiness and its revisions."""

import numpy as np
import pytest

from bmdsim.assessment.impact import ImpactPrediction
from bmdsim.assessment.policy import ENGAGE, NO_ENGAGE, Policy, decide, evaluate


def pred(t, p, semi_major_km=20.0, tti=900.0, orbital=0.0):
    x = ImpactPrediction(
        t_s=t, n_samples=100, impact_lat_deg=np.zeros(1), impact_lon_deg=np.zeros(1),
        time_to_impact_s=np.full(1, tti), orbital_fraction=orbital, mean_lat_deg=0.0, mean_lon_deg=0.0,
        semi_major_km=semi_major_km, semi_minor_km=semi_major_km / 3, orientation_deg=0.0, mean_time_to_impact_s=tti,
    )
    x.p_impact = dict(p)
    return x


def test_engage_at_threshold_not_below():
    pol = Policy(threshold=0.05)
    assert evaluate(pol, pred(100, {"USA": 0.05, "JPN": 0.0})).verdict == ENGAGE
    a = evaluate(pol, pred(100, {"USA": 0.049, "JPN": 0.0}))
    assert a.verdict == NO_ENGAGE and "threshold" in a.reason


def test_threatened_lists_every_territory_over_threshold():
    a = evaluate(Policy(), pred(100, {"USA": 0.3, "GUM": 0.6, "JPN": 0.01}))
    assert a.threatened == ["GUM", "USA"]


def test_decision_waits_for_a_good_enough_prediction():
    pol = Policy(max_ellipse_km=100, deadline_s=300)
    seq = [
        evaluate(pol, pred(60, {"JPN": 0.2}, semi_major_km=800, tti=1500)),  # too uncertain: not yet
        evaluate(pol, pred(70, {"JPN": 0.0}, semi_major_km=60, tti=1400)),  # ready: sea, no engage
    ]
    d = decide(seq)
    assert d.decision == NO_ENGAGE and d.declared_at_s == 70 and not d.revisions


def test_deadline_forces_a_decision():
    pol = Policy(max_ellipse_km=10, deadline_s=300)
    d = decide([evaluate(pol, pred(1000, {"USA": 0.5}, semi_major_km=80, tti=250))])
    assert d.decision == ENGAGE and d.declared_at_s == 1000


def test_revision_is_recorded():
    pol = Policy()
    d = decide([evaluate(pol, pred(60, {"KOR": 0.0})), evaluate(pol, pred(70, {"KOR": 0.5}))])
    assert d.decision == ENGAGE and d.declared_at_s == 70 and d.revisions == [(70, ENGAGE)]


def test_orbital_is_not_engaged():
    a = evaluate(Policy(), pred(300, {"JPN": 0.0}, orbital=1.0))
    assert a.verdict == NO_ENGAGE and a.reason.startswith("orbital")


def test_policy_fields_are_validated():
    with pytest.raises(ValueError):
        Policy(threshold=0.0)
    with pytest.raises(ValueError):
        Policy(thresold=0.1)
