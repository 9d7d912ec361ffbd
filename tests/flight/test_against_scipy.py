"""Cross-check: the batch kernel at its default tolerances against a converged scipy solution
of the same equations (solve_ivp, DOP853, rtol 1e-13), boost to impact on the full model."""

import numpy as np
import pytest

from bmdsim.earth.places import get_place
from bmdsim.flight import kernel as K
from bmdsim.flight.fly import FULL_EARTH, Tolerances, _cfg, fly, guidance_array, stack_missiles
from bmdsim.flight.reference import fly_scipy, impact_ecef
from bmdsim.threats.catalog import get_missile

METRE = 1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "mid, az, theta, t_cut",
    [("hwasong-15", 45.0, 60.0, np.inf), ("hwasong-12", 120.0, 30.0, 120.0), ("nodong", 90.0, 45.0, np.inf)],
)
def test_default_tolerances_within_10_m_of_converged(mid, az, theta, t_cut):
    m = get_missile(mid)
    p = get_place("Sohae")
    st, pl = stack_missiles([m])
    g = guidance_array([m], az, theta, t_cut)
    b = fly(p.lat_deg, p.lon_deg, st, pl, g)
    cfg = _cfg(FULL_EARTH, Tolerances())
    t_ref, r_ref = fly_scipy(cfg, p.lat_deg, p.lon_deg, st[0], pl[0], g[0], 1e-13, 1e-9)
    ref = impact_ecef(t_ref, r_ref, cfg[K.C_OMEGA])
    assert b.t_impact_s[0] == pytest.approx(t_ref, abs=0.01)
    assert np.linalg.norm(b.impact_r_ecef_m[0] - ref) < 10 * METRE
