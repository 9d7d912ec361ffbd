"""Tracking: batched EKF/UKF over K tracks, track initiation and central measurement fusion.

- ``models``: the ballistic motion model (flight.kernel.deriv), its state-transition matrix and
  process noise; radar and infrared measurement functions h(x) and Jacobians.
- ``filters``: EKF and UKF predict/update kernels, batched over tracks.
- ``track``: ``track(detections, t_eval_s, method)`` -> ``TrackHistory``.
"""

from bmdsim.tracking.filters import (
    DEFAULT_SIGMA_POINTS,
    SigmaPoints,
    ekf_predict,
    ekf_update,
    predict,
    ukf_predict,
    ukf_update,
    update,
)
from bmdsim.tracking.models import (
    DEFAULT_MODEL,
    INFRARED,
    RADAR,
    MotionModel,
    acceleration_jacobian,
    measure,
    q_matrix,
    simulate_measurements,
    transition,
)
from bmdsim.tracking.track import TrackHistory, track

__all__ = [
    "DEFAULT_MODEL", "DEFAULT_SIGMA_POINTS", "INFRARED", "RADAR", "MotionModel", "SigmaPoints",
    "TrackHistory", "acceleration_jacobian", "ekf_predict", "ekf_update", "measure", "predict",
    "q_matrix", "simulate_measurements", "track", "transition", "ukf_predict", "ukf_update", "update",
]
