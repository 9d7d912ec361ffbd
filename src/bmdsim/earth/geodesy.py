"""Geodesics on the WGS-84 ellipsoid, and great circles on a sphere.

The ellipsoidal solutions follow C. F. F. Karney, "Algorithms for geodesics", Journal of
Geodesy 87 (2013) 43-55, doi:10.1007/s00190-012-0578-z, with the series to sixth order in the
third flattening n (the order GeographicLib and PROJ use, so results agree with
``pyproj.Geod(ellps="WGS84")`` to a few nanometres). Equation numbers below refer to that paper.
Unlike Vincenty's iteration, the inverse solution converges everywhere, nearly antipodal
points included: it starts Newton's method from the astroid solution (sec. 5) and keeps the
root bracketed, so the iteration count is bounded (at most ``_MAXIT2``) and it never hangs.

Kernels are numba ``njit`` scalar functions in radians and metres (usable inside other
kernels); the array wrappers at the bottom take degrees and metres and broadcast.

Conventions: azimuths are measured clockwise from north. The *final* azimuth ``az2`` is the
forward azimuth of the geodesic at the second point (Karney's azi2), not the back azimuth
that ``pyproj.Geod.inv`` returns (back = az2 + 180 deg).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bmdsim.constants import R_MEAN_M, WGS84_A_M, WGS84_F
from bmdsim.errors import BmdsimInputError

# ---------------------------------------------------------------- ellipsoid and tolerances

_A = WGS84_A_M
_F = WGS84_F
_F1 = 1.0 - _F
_E2 = _F * (2.0 - _F)
_EP2 = _E2 / (_F1 * _F1)
_N = _F / (2.0 - _F)             # third flattening
_B = _A * _F1

_PI = math.pi
_HALF_PI = 0.5 * math.pi
_TWO_PI = 2.0 * math.pi

_TINY = math.sqrt(2.2250738585072014e-308)     # sqrt(smallest normal double)
_TOL0 = 2.220446049250313e-16                  # double epsilon
_TOL1 = 200.0 * _TOL0
_TOL2 = math.sqrt(_TOL0)
_TOLB = _TOL0 * _TOL2
_XTHRESH = 1000.0 * _TOL2
# sig12 below which a short line is solved on the auxiliary sphere with a mean dn (Karney's
# addenda; the 0.1 safety factor makes the error 100 times below round-off).
_ETOL2 = 0.1 * _TOL2 / math.sqrt(max(0.001, abs(_F)) * min(1.0, 1.0 - _F / 2.0) / 2.0)
_MAXIT1 = 20                     # Newton steps before falling back to bisection
_MAXIT2 = _MAXIT1 + 53 + 10      # hard cap: bisection halves the bracket each step


def _polyval(coeffs, x):
    """Horner evaluation, highest power first (Python, used once at import)."""
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return y


def _a3_coeffs(n):
    """Coefficients of A3(eps) as a polynomial in eps, highest power first; eq. (24)."""
    # Each group: polynomial in n (highest first), then the common denominator.
    groups = [([-3.0], 128.0), ([-2.0, -3.0], 64.0), ([-1.0, -3.0, -1.0], 16.0),
              ([3.0, -1.0, -2.0], 8.0), ([1.0, -1.0], 2.0), ([1.0], 1.0)]
    return np.array([_polyval(p, n) / d for p, d in groups])


def _c3_coeffs(n):
    """C3l(eps) coefficients, l = 1..5, each a polynomial in eps; eq. (25).

    Returns a (5, 5) array: row l-1 holds the coefficients of eps^l .. eps^5 (lowest first).
    """
    # For each l, the coefficient of eps^j (j = 5 down to l) as a polynomial in n / denominator.
    table = {
        1: [([3.0], 128.0), ([2.0, 5.0], 128.0), ([-1.0, 3.0, 3.0], 64.0),
            ([-1.0, 0.0, 1.0], 8.0), ([-1.0, 1.0], 4.0)],
        2: [([5.0], 256.0), ([1.0, 3.0], 128.0), ([-3.0, -2.0, 3.0], 64.0),
            ([1.0, -3.0, 2.0], 32.0)],
        3: [([7.0], 512.0), ([-10.0, 9.0], 384.0), ([5.0, -9.0, 5.0], 192.0)],
        4: [([7.0], 512.0), ([-14.0, 7.0], 512.0)],
        5: [([21.0], 2560.0)],
    }
    out = np.zeros((5, 5))
    for l, rows in table.items():
        # rows run from eps^5 down to eps^l
        for k, (p, d) in enumerate(rows):
            j = 5 - k
            out[l - 1, j - l] = _polyval(p, n) / d
    return out


_A3X = _a3_coeffs(_N)
_C3X = _c3_coeffs(_N)


# ---------------------------------------------------------------- series in eps (Karney 2013)

@njit(cache=True)
def _ang_round(x):
    """Round tiny angles so that values below ~1e-17 become exactly representable (or zero).

    Avoids near-singular cases when an input is nonzero but minute (e.g. 1e-200).
    """
    z = 1.0 / 16.0
    y = abs(x)
    if y < z:
        y = z - (z - y)
    return math.copysign(y, x)


@njit(cache=True)
def _norm(x, y):
    r = math.hypot(x, y)
    return x / r, y / r


@njit(cache=True)
def _sin_series(sx, cx, c1, c2, c3, c4, c5, c6):
    """sum_{k=1..6} c_k sin(2 k x) by Clenshaw summation, given sin x and cos x."""
    ar = 2.0 * (cx - sx) * (cx + sx)     # 2 cos 2x
    y1 = c6
    y0 = ar * y1 + c5
    y1 = ar * y0 - y1 + c4
    y0 = ar * y1 - y0 + c3
    y1 = ar * y0 - y1 + c2
    y0 = ar * y1 - y0 + c1
    return 2.0 * sx * cx * y0


@njit(cache=True)
def _a1m1(eps):
    """A1 - 1, eq. (17)."""
    e2 = eps * eps
    t = e2 * (e2 * (e2 + 4.0) + 64.0) / 256.0
    return (t + eps) / (1.0 - eps)


@njit(cache=True)
def _c1(eps):
    """C1l, l = 1..6, eq. (18)."""
    e2 = eps * eps
    e3 = e2 * eps
    return (
        eps * ((-e2 + 6.0) * e2 - 16.0) / 32.0,
        e2 * ((-9.0 * e2 + 64.0) * e2 - 128.0) / 2048.0,
        e3 * (9.0 * e2 - 16.0) / 768.0,
        e2 * e2 * (3.0 * e2 - 5.0) / 512.0,
        -7.0 * e3 * e2 / 1280.0,
        -7.0 * e3 * e3 / 2048.0,
    )


@njit(cache=True)
def _c1p(eps):
    """C1'l, l = 1..6, the reverted series, eq. (21)."""
    e2 = eps * eps
    e3 = e2 * eps
    return (
        eps * ((205.0 * e2 - 432.0) * e2 + 768.0) / 1536.0,
        e2 * ((4005.0 * e2 - 4736.0) * e2 + 3840.0) / 12288.0,
        e3 * (-225.0 * e2 + 116.0) / 384.0,
        e2 * e2 * (-7173.0 * e2 + 2695.0) / 7680.0,
        3467.0 * e3 * e2 / 7680.0,
        38081.0 * e3 * e3 / 61440.0,
    )


@njit(cache=True)
def _a2m1(eps):
    """A2 - 1, eq. (42)."""
    e2 = eps * eps
    t = e2 * (e2 * (-11.0 * e2 - 28.0) - 192.0) / 256.0
    return (t - eps) / (1.0 + eps)


@njit(cache=True)
def _c2(eps):
    """C2l, l = 1..6, eq. (43)."""
    e2 = eps * eps
    e3 = e2 * eps
    return (
        eps * ((e2 + 2.0) * e2 + 16.0) / 32.0,
        e2 * ((35.0 * e2 + 64.0) * e2 + 384.0) / 2048.0,
        e3 * (15.0 * e2 + 80.0) / 768.0,
        e2 * e2 * (7.0 * e2 + 35.0) / 512.0,
        63.0 * e3 * e2 / 1280.0,
        77.0 * e3 * e3 / 2048.0,
    )


@njit(cache=True)
def _a3(eps):
    """A3, eq. (24), for WGS-84."""
    y = 0.0
    for k in range(6):
        y = y * eps + _A3X[k]
    return y


@njit(cache=True)
def _c3l(eps, l):
    """eps^l times the polynomial of C3l, eq. (25), for WGS-84."""
    y = 0.0
    for j in range(5 - l, -1, -1):
        y = y * eps + _C3X[l - 1, j]
    return y * eps**l


@njit(cache=True)
def _c3(eps):
    """C3l, l = 1..5 (and a zero sixth), eq. (25), for WGS-84."""
    return _c3l(eps, 1), _c3l(eps, 2), _c3l(eps, 3), _c3l(eps, 4), _c3l(eps, 5), 0.0


@njit(cache=True)
def _eps_of(k2):
    """eps = (sqrt(1 + k2) - 1) / (sqrt(1 + k2) + 1), eq. (16), without cancellation."""
    return k2 / (2.0 * (1.0 + math.sqrt(1.0 + k2)) + k2)


@njit(cache=True)
def _lengths(eps, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2):
    """Distance and reduced length, both divided by b; eqs. (38)-(41)."""
    a1 = _a1m1(eps)
    c11, c12, c13, c14, c15, c16 = _c1(eps)
    a2 = _a2m1(eps)
    c21, c22, c23, c24, c25, c26 = _c2(eps)
    m0x = a1 - a2
    a1 += 1.0
    a2 += 1.0
    b1 = (_sin_series(ssig2, csig2, c11, c12, c13, c14, c15, c16)
          - _sin_series(ssig1, csig1, c11, c12, c13, c14, c15, c16))
    b2 = (_sin_series(ssig2, csig2, c21, c22, c23, c24, c25, c26)
          - _sin_series(ssig1, csig1, c21, c22, c23, c24, c25, c26))
    s12b = a1 * (sig12 + b1)
    j12 = m0x * sig12 + (a1 * b1 - a2 * b2)
    # Parentheses keep the cancellation exact for coincident points.
    m12b = dn2 * (csig1 * ssig2) - dn1 * (ssig1 * csig2) - csig1 * csig2 * j12
    return s12b, m12b


@njit(cache=True)
def _distance_b(eps, sig12, ssig1, csig1, ssig2, csig2):
    """Distance divided by b, eqs. (15), (17), (18)."""
    a1 = 1.0 + _a1m1(eps)
    c11, c12, c13, c14, c15, c16 = _c1(eps)
    b1 = (_sin_series(ssig2, csig2, c11, c12, c13, c14, c15, c16)
          - _sin_series(ssig1, csig1, c11, c12, c13, c14, c15, c16))
    return a1 * (sig12 + b1)


@njit(cache=True)
def _astroid(x, y):
    """Positive root k of k^4 + 2k^3 - (x^2 + y^2 - 1)k^2 - 2y^2 k - y^2 = 0; eq. (55)."""
    p = x * x
    q = y * y
    r = (p + q - 1.0) / 6.0
    if q == 0.0 and r <= 0.0:
        # y = 0 with |x| <= 1: the root is 0 (the limit of |y| / sqrt(1 - x^2)).
        return 0.0
    s = p * q / 4.0
    r2 = r * r
    r3 = r * r2
    disc = s * (s + 2.0 * r3)      # zero on the evolute p^(1/3) + q^(1/3) = 1
    u = r
    if disc >= 0.0:
        t3 = s + r3
        # Pick the sign of the root that maximises |t3|, avoiding cancellation.
        t3 += -math.sqrt(disc) if t3 < 0.0 else math.sqrt(disc)
        t = math.copysign(abs(t3) ** (1.0 / 3.0), t3)
        u += t + (r2 / t if t != 0.0 else 0.0)
    else:
        ang = math.atan2(math.sqrt(-disc), -(s + r3))
        u += 2.0 * r * math.cos(ang / 3.0)
    v = math.sqrt(u * u + q)
    uv = q / (v - u) if u < 0.0 else u + v
    w = (uv - q) / (2.0 * v)
    return uv / (math.sqrt(uv + w * w) + w)


@njit(cache=True)
def _inverse_start(sbet1, cbet1, dn1, sbet2, cbet2, dn2, lam12, slam12, clam12):
    """Starting azimuth for Newton's method (sec. 4-5).

    Returns (sig12, salp1, calp1, salp2, calp2, dnm); sig12 >= 0 means the line is so short
    that the auxiliary-sphere solution is final and no iteration is needed.
    """
    sig12 = -1.0
    salp2 = math.nan
    calp2 = math.nan
    dnm = math.nan
    sbet12 = sbet2 * cbet1 - cbet2 * sbet1          # sin(bet2 - bet1)
    cbet12 = cbet2 * cbet1 + sbet2 * sbet1
    sbet12a = sbet2 * cbet1 + cbet2 * sbet1         # sin(bet2 + bet1)
    shortline = cbet12 >= 0.0 and sbet12 < 0.5 and cbet2 * lam12 < 0.5
    if shortline:
        sbetm2 = (sbet1 + sbet2) ** 2
        sbetm2 /= sbetm2 + (cbet1 + cbet2) ** 2
        dnm = math.sqrt(1.0 + _EP2 * sbetm2)
        omg12 = lam12 / (_F1 * dnm)
        somg12 = math.sin(omg12)
        comg12 = math.cos(omg12)
    else:
        somg12 = slam12
        comg12 = clam12

    salp1 = cbet2 * somg12
    if comg12 >= 0.0:
        calp1 = sbet12 + cbet2 * sbet1 * somg12 * somg12 / (1.0 + comg12)
    else:
        calp1 = sbet12a - cbet2 * sbet1 * somg12 * somg12 / (1.0 - comg12)

    ssig12 = math.hypot(salp1, calp1)
    csig12 = sbet1 * sbet2 + cbet1 * cbet2 * comg12

    if shortline and ssig12 < _ETOL2:
        salp2 = cbet1 * somg12
        if comg12 >= 0.0:
            calp2 = sbet12 - cbet1 * sbet2 * (somg12 * somg12 / (1.0 + comg12))
        else:
            calp2 = sbet12 - cbet1 * sbet2 * (1.0 - comg12)
        salp2, calp2 = _norm(salp2, calp2)
        sig12 = math.atan2(ssig12, csig12)
    elif csig12 >= 0.0 or ssig12 >= 6.0 * abs(_N) * _PI * cbet1 * cbet1:
        pass      # the zeroth-order spherical estimate is good enough
    else:
        # Nearly antipodal: scale to coordinates in which the antipode is the origin and the
        # singular point is (-1, 0), then solve the astroid problem (sec. 5, eqs. 53-57).
        lam12x = math.atan2(-slam12, -clam12)
        k2 = sbet1 * sbet1 * _EP2
        eps = _eps_of(k2)
        lamscale = _F * cbet1 * _a3(eps) * _PI
        betscale = lamscale * cbet1
        x = lam12x / lamscale
        y = sbet12a / betscale
        if y > -_TOL1 and x > -1.0 - _XTHRESH:
            salp1 = min(1.0, -x)
            calp1 = -math.sqrt(1.0 - salp1 * salp1)
        else:
            k = _astroid(x, y)
            omg12a = lamscale * (-x * k / (1.0 + k))
            somg12 = math.sin(omg12a)
            comg12 = -math.cos(omg12a)
            salp1 = cbet2 * somg12
            calp1 = sbet12a - cbet2 * sbet1 * somg12 * somg12 / (1.0 - comg12)

    if not (salp1 <= 0.0):      # also lets NaN through to the normalisation
        salp1, calp1 = _norm(salp1, calp1)
    else:
        salp1 = 1.0
        calp1 = 0.0
    return sig12, salp1, calp1, salp2, calp2, dnm


@njit(cache=True)
def _lambda12(sbet1, cbet1, dn1, sbet2, cbet2, dn2, salp1, calp1, slam120, clam120, diffp):
    """Longitude difference on the ellipsoid for a trial azimuth alp1, minus the target.

    Returns (v, salp2, calp2, sig12, ssig1, csig1, ssig2, csig2, eps, dv) where v is the
    residual and dv its derivative d v / d alp1 (eq. 46), used by Newton's method.
    """
    if sbet1 == 0.0 and calp1 == 0.0:
        calp1 = -_TINY        # break the degeneracy of the equatorial line
    salp0 = salp1 * cbet1
    calp0 = math.hypot(calp1, salp1 * sbet1)
    ssig1 = sbet1
    somg1 = salp0 * sbet1
    csig1 = calp1 * cbet1
    comg1 = csig1
    ssig1, csig1 = _norm(ssig1, csig1)

    # Enforce the symmetries for |bet2| = -bet1, where Newton's method meets singularities.
    salp2 = salp0 / cbet2 if cbet2 != cbet1 else salp1
    if cbet2 != cbet1 or abs(sbet2) != -sbet1:
        if cbet1 < -sbet1:
            dd = (cbet2 - cbet1) * (cbet1 + cbet2)
        else:
            dd = (sbet1 - sbet2) * (sbet1 + sbet2)
        calp2 = math.sqrt((calp1 * cbet1) ** 2 + dd) / cbet2
    else:
        calp2 = abs(calp1)
    ssig2 = sbet2
    somg2 = salp0 * sbet2
    csig2 = calp2 * cbet2
    comg2 = csig2
    ssig2, csig2 = _norm(ssig2, csig2)

    sig12 = math.atan2(max(0.0, csig1 * ssig2 - ssig1 * csig2), csig1 * csig2 + ssig1 * ssig2)
    somg12 = max(0.0, comg1 * somg2 - somg1 * comg2)
    comg12 = comg1 * comg2 + somg1 * somg2
    eta = math.atan2(somg12 * clam120 - comg12 * slam120, comg12 * clam120 + somg12 * slam120)

    k2 = calp0 * calp0 * _EP2
    eps = _eps_of(k2)
    c31, c32, c33, c34, c35, c36 = _c3(eps)
    b312 = (_sin_series(ssig2, csig2, c31, c32, c33, c34, c35, c36)
            - _sin_series(ssig1, csig1, c31, c32, c33, c34, c35, c36))
    domg12 = -_F * _a3(eps) * salp0 * (sig12 + b312)
    v = eta + domg12

    dv = math.nan
    if diffp:
        if calp2 == 0.0:
            dv = -2.0 * _F1 * dn1 / sbet1
        else:
            _, m12b = _lengths(eps, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2)
            dv = m12b * _F1 / (calp2 * cbet2)
    return v, salp2, calp2, sig12, ssig1, csig1, ssig2, csig2, eps, dv


@njit(cache=True)
def _lat_fix(lat_rad):
    """Latitudes a few ulps beyond a pole are the pole; anything further is NaN."""
    a = abs(lat_rad)
    if a > _HALF_PI:
        if a < _HALF_PI * (1.0 + 4.0 * _TOL0):
            return math.copysign(_HALF_PI, lat_rad)
        return math.nan
    return lat_rad


@njit(cache=True)
def _reduced_lat(lat_rad):
    """sin and cos of the reduced latitude beta, tan beta = (1 - f) tan phi; cos beta >= tiny."""
    if abs(lat_rad) == _HALF_PI:
        # math.cos(pi/2) is 6e-17, not 0; make the pole exact as Karney's sincosd does.
        return math.copysign(1.0, lat_rad), _TINY
    sbet = _F1 * math.sin(lat_rad)
    cbet = math.cos(lat_rad)
    sbet, cbet = _norm(sbet, cbet)
    return sbet, max(_TINY, cbet)


@njit(cache=True)
def _wrap_pi(x):
    """Angle to [-pi, pi)."""
    y = x - _TWO_PI * math.floor((x + _PI) / _TWO_PI)
    # the quotient rounds: for x one ulp below pi it rounds up to 1 and y lands below -pi
    if y >= _PI:
        y -= _TWO_PI
    elif y < -_PI:
        y += _TWO_PI
    return y


# ---------------------------------------------------------------- public kernels

@njit(cache=True)
def geodesic_inverse_1(lat1_rad, lon1_rad, lat2_rad, lon2_rad):
    """Inverse geodesic problem on WGS-84: (s_m, az1_rad, az2_rad); Karney (2013) sec. 4-5.

    Distance in metres; azimuths clockwise from north in [-pi, pi], az2 the forward azimuth at
    point 2. Accurate to about 15 nm (Karney's figure for WGS-84); converges for every pair,
    nearly antipodal included. Exactly antipodal or pole-to-pole pairs have several shortest
    geodesics; one of them is returned. NaN in, NaN out.
    """
    # Longitude difference in [0, pi] with its sign kept in lonsign.
    lon12 = _wrap_pi(lon2_rad - lon1_rad)
    if lon12 == -_PI:
        lon12 = _PI
    lonsign = 1.0 if lon12 >= 0.0 else -1.0
    lon12 = _ang_round(lonsign * lon12)
    lon12s = _ang_round(_PI - lon12)
    lam12 = lon12
    if lon12 > _HALF_PI:
        slam12 = math.sin(lon12s)
        clam12 = -math.cos(lon12s)
    else:
        slam12 = math.sin(lon12)
        clam12 = math.cos(lon12)

    lat1 = _ang_round(_lat_fix(lat1_rad))
    lat2 = _ang_round(_lat_fix(lat2_rad))
    if math.isnan(lat1) or math.isnan(lat2) or math.isnan(lam12):
        return math.nan, math.nan, math.nan
    # Canonical form: |lat1| >= |lat2|, lat1 <= 0, 0 <= lon12 <= pi. swapp, latsign, lonsign
    # record the transformation; it also enforces the symmetries of the results.
    swapp = -1.0 if abs(lat1) < abs(lat2) else 1.0
    if swapp < 0.0:
        lonsign = -lonsign
        lat1, lat2 = lat2, lat1
    latsign = 1.0 if lat1 < 0.0 else -1.0
    lat1 *= latsign
    lat2 *= latsign

    sbet1, cbet1 = _reduced_lat(lat1)
    sbet2, cbet2 = _reduced_lat(lat2)
    # Force bet2 = +/- bet1 exactly when they agree to round-off (needed by _lambda12).
    if cbet1 < -sbet1:
        if cbet2 == cbet1:
            sbet2 = sbet1 if sbet2 < 0.0 else -sbet1
    else:
        if abs(sbet2) == -sbet1:
            cbet2 = cbet1
    dn1 = math.sqrt(1.0 + _EP2 * sbet1 * sbet1)
    dn2 = math.sqrt(1.0 + _EP2 * sbet2 * sbet2)

    s12x = 0.0
    salp1 = 0.0
    calp1 = 1.0
    salp2 = 0.0
    calp2 = 1.0
    meridian = lat1 == -_HALF_PI or slam12 == 0.0
    if meridian:
        # Both points on one meridian (or point 1 at a pole): the geodesic may be the meridian.
        calp1 = clam12
        salp1 = slam12
        calp2 = 1.0
        salp2 = 0.0
        ssig1 = sbet1
        csig1 = calp1 * cbet1
        ssig2 = sbet2
        csig2 = calp2 * cbet2
        sig12 = math.atan2(max(0.0, csig1 * ssig2 - ssig1 * csig2), csig1 * csig2 + ssig1 * ssig2)
        s12b, m12b = _lengths(_N, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2)
        if sig12 < 1.0 or m12b >= 0.0:
            if sig12 < 3.0 * _TINY or (sig12 < _TOL0 and (s12b < 0.0 or m12b < 0.0)):
                s12b = 0.0
            s12x = s12b * _B
        else:
            meridian = False     # m12 < 0: too close to antipodal for the meridian to be shortest

    if not meridian and sbet1 == 0.0 and lon12s >= _F * _PI:
        # Along the equator (for points on it less than (1 - f) pi apart in longitude).
        calp1 = 0.0
        calp2 = 0.0
        salp1 = 1.0
        salp2 = 1.0
        s12x = _A * lam12
    elif not meridian:
        sig12, salp1, calp1, salp2, calp2, dnm = _inverse_start(
            sbet1, cbet1, dn1, sbet2, cbet2, dn2, lam12, slam12, clam12)
        if sig12 >= 0.0:
            s12x = sig12 * _B * dnm          # short line, solved on the auxiliary sphere
        else:
            # Newton's method on alp1 with the root kept bracketed in (alp1a, alp1b); when a step
            # leaves the bracket or the slope is not positive, bisect instead.
            numit = 0
            tripn = False
            tripb = False
            salp1a = _TINY
            calp1a = 1.0
            salp1b = _TINY
            calp1b = -1.0
            ssig1 = 0.0
            csig1 = 1.0
            ssig2 = 0.0
            csig2 = 1.0
            eps = 0.0
            while numit < _MAXIT2:
                v, salp2, calp2, sig12, ssig1, csig1, ssig2, csig2, eps, dv = _lambda12(
                    sbet1, cbet1, dn1, sbet2, cbet2, dn2, salp1, calp1, slam12, clam12,
                    numit < _MAXIT1)
                if tripb or not (abs(v) >= (8.0 if tripn else 1.0) * _TOL0):
                    break
                if v > 0.0 and (numit > _MAXIT1 or calp1 / salp1 > calp1b / salp1b):
                    salp1b = salp1
                    calp1b = calp1
                elif v < 0.0 and (numit > _MAXIT1 or calp1 / salp1 < calp1a / salp1a):
                    salp1a = salp1
                    calp1a = calp1
                numit += 1
                if numit < _MAXIT1 and dv > 0.0:
                    dalp1 = -v / dv
                    sdalp1 = math.sin(dalp1)
                    cdalp1 = math.cos(dalp1)
                    nsalp1 = salp1 * cdalp1 + calp1 * sdalp1
                    if nsalp1 > 0.0 and abs(dalp1) < _PI:
                        calp1 = calp1 * cdalp1 - salp1 * sdalp1
                        salp1 = nsalp1
                        salp1, calp1 = _norm(salp1, calp1)
                        # Where the slope vanishes convergence is linear: test on eps, not
                        # sqrt(eps).
                        tripn = abs(v) <= 16.0 * _TOL0
                        continue
                salp1 = (salp1a + salp1b) / 2.0
                calp1 = (calp1a + calp1b) / 2.0
                salp1, calp1 = _norm(salp1, calp1)
                tripn = False
                tripb = (abs(salp1a - salp1) + (calp1a - calp1) < _TOLB
                         or abs(salp1 - salp1b) + (calp1 - calp1b) < _TOLB)
            s12x = _distance_b(eps, sig12, ssig1, csig1, ssig2, csig2) * _B

    if swapp < 0.0:
        salp1, salp2 = salp2, salp1
        calp1, calp2 = calp2, calp1
    salp1 *= swapp * lonsign
    calp1 *= swapp * latsign
    salp2 *= swapp * lonsign
    calp2 *= swapp * latsign
    return 0.0 + s12x, math.atan2(salp1, calp1), math.atan2(salp2, calp2)


@njit(cache=True)
def _direct_unrolled(lat1_rad, az1_rad, s_m):
    """Direct problem: (lat2_rad, lon12_rad, az2_rad) with lon12 unrolled (not wrapped).

    Karney (2013) sec. 3: eqs. (7)-(12) on the auxiliary sphere, (20)-(21) for the reverted
    distance series, (23)-(25) for longitude.
    """
    lat1 = _ang_round(_lat_fix(lat1_rad))
    az1 = _ang_round(_wrap_pi(az1_rad))
    salp1 = math.sin(az1)
    calp1 = math.cos(az1)
    sbet1, cbet1 = _reduced_lat(lat1)

    salp0 = salp1 * cbet1                        # eq. (5): Clairaut's constant
    calp0 = math.hypot(calp1, salp1 * sbet1)
    ssig1 = sbet1
    somg1 = salp0 * sbet1
    csig1 = cbet1 * calp1 if (sbet1 != 0.0 or calp1 != 0.0) else 1.0
    comg1 = csig1
    ssig1, csig1 = _norm(ssig1, csig1)

    k2 = calp0 * calp0 * _EP2
    eps = _eps_of(k2)
    a1m1 = _a1m1(eps)
    c11, c12, c13, c14, c15, c16 = _c1(eps)
    b11 = _sin_series(ssig1, csig1, c11, c12, c13, c14, c15, c16)
    s = math.sin(b11)
    c = math.cos(b11)
    stau1 = ssig1 * c + csig1 * s
    ctau1 = csig1 * c - ssig1 * s
    p1, p2, p3, p4, p5, p6 = _c1p(eps)
    c31, c32, c33, c34, c35, c36 = _c3(eps)
    a3c = -_F * salp0 * _a3(eps)
    b31 = _sin_series(ssig1, csig1, c31, c32, c33, c34, c35, c36)

    tau12 = s_m / (_B * (1.0 + a1m1))
    s = math.sin(tau12)
    c = math.cos(tau12)
    b12 = -_sin_series(stau1 * c + ctau1 * s, ctau1 * c - stau1 * s, p1, p2, p3, p4, p5, p6)
    sig12 = tau12 - (b12 - b11)
    ssig12 = math.sin(sig12)
    csig12 = math.cos(sig12)

    ssig2 = ssig1 * csig12 + csig1 * ssig12
    csig2 = csig1 * csig12 - ssig1 * ssig12
    sbet2 = calp0 * ssig2
    cbet2 = math.hypot(salp0, calp0 * csig2)
    if cbet2 == 0.0:
        cbet2 = _TINY             # salp0 = 0 and csig2 = 0: break the degeneracy at the pole
        csig2 = _TINY
    salp2 = salp0
    calp2 = calp0 * csig2

    somg2 = salp0 * ssig2
    comg2 = csig2
    e = math.copysign(1.0, salp0)
    omg12 = e * (sig12 - (math.atan2(ssig2, csig2) - math.atan2(ssig1, csig1))
                 + (math.atan2(e * somg2, comg2) - math.atan2(e * somg1, comg1)))
    lam12 = omg12 + a3c * (sig12 + (_sin_series(ssig2, csig2, c31, c32, c33, c34, c35, c36) - b31))
    lat2 = math.atan2(sbet2, _F1 * cbet2)
    return lat2, lam12, math.atan2(salp2, calp2)


@njit(cache=True)
def geodesic_direct_1(lat1_rad, lon1_rad, az1_rad, s_m):
    """Direct geodesic problem on WGS-84: (lat2_rad, lon2_rad, az2_rad); Karney (2013) sec. 3.

    Longitude in [-pi, pi); az2 the forward azimuth at the destination in [-pi, pi].
    Negative distances go backwards along the geodesic.
    """
    lat2, lam12, az2 = _direct_unrolled(lat1_rad, az1_rad, s_m)
    return lat2, _wrap_pi(_wrap_pi(lon1_rad) + _wrap_pi(lam12)), az2


@njit(cache=True)
def great_circle_angle_1(lat1_rad, lon1_rad, lat2_rad, lon2_rad):
    """Central angle (rad) between two points on a sphere.

    The atan2 form (Vincenty 1975's sin/cos of sigma with f = 0): well conditioned for
    coincident and antipodal points alike, unlike the law of cosines or haversine.
    """
    dlon = lon2_rad - lon1_rad
    s1 = math.sin(lat1_rad)
    c1 = math.cos(lat1_rad)
    s2 = math.sin(lat2_rad)
    c2 = math.cos(lat2_rad)
    sd = math.sin(dlon)
    cd = math.cos(dlon)
    y = math.hypot(c2 * sd, c1 * s2 - s1 * c2 * cd)
    x = s1 * s2 + c1 * c2 * cd
    return math.atan2(y, x)


# ---------------------------------------------------------------- array wrappers (edges)

@njit(cache=True)
def _inverse_many(lat1, lat2, lon12, s_out, az1_out, az2_out):
    for i in range(lat1.size):
        s, a1, a2 = geodesic_inverse_1(lat1[i], 0.0, lat2[i], lon12[i])
        s_out[i] = s
        az1_out[i] = a1
        az2_out[i] = a2


@njit(cache=True)
def _direct_many(lat1, az1, s, lat_out, lon12_out, az_out):
    for i in range(lat1.size):
        lat_out[i], lon12_out[i], az_out[i] = _direct_unrolled(lat1[i], az1[i], s[i])


def _lon_diff_deg(lon1_deg, lon2_deg):
    """lon2 - lon1 reduced to [-180, 180] in degrees, before any conversion to radians.

    Working in degrees keeps differences such as exactly 180 deg exact (pi in radians), so
    exactly antipodal and meridional inputs are recognised as such.
    """
    d = lon2_deg - lon1_deg
    return d - 360.0 * np.round(d / 360.0)


def _wrap180(lon_deg):
    """Degrees to [-180, 180); values already in range are returned unchanged (bit for bit)."""
    lon_deg = np.asarray(lon_deg, dtype=float)
    wrapped = np.mod(lon_deg + 180.0, 360.0)
    wrapped = np.where(wrapped >= 360.0, 0.0, wrapped) - 180.0
    return np.where((lon_deg >= -180.0) & (lon_deg < 180.0), lon_deg, wrapped)


def _check_lat(name, lat_deg):
    bad = np.abs(lat_deg) > 90.0
    if np.any(bad):
        value = lat_deg[bad].flat[0] if lat_deg.ndim else float(lat_deg)
        raise BmdsimInputError(name, float(value), "latitude must be within [-90, 90] degrees")


def _wrap360(az_deg):
    """Degrees to [0, 360); the `% 360` of a tiny negative angle rounds to 360 itself."""
    az = np.mod(az_deg, 360.0)
    return np.where(az >= 360.0, 0.0, az)


def _scalar_or_array(a, shape):
    a = a.reshape(shape)
    return a[()] if a.ndim == 0 else a


def inverse(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """WGS-84 geodesic between points: (distance_m, az1_deg, az2_deg), arrays broadcast.

    Azimuths in [0, 360) clockwise from north; az2 is the forward azimuth at point 2 (the back
    azimuth is az2 + 180). NaN inputs give NaN outputs. Karney (2013), sec. 4-5.
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in
                                 (lat1_deg, lon1_deg, lat2_deg, lon2_deg)))
    _check_lat("lat1_deg", arrs[0])
    _check_lat("lat2_deg", arrs[2])
    shape = arrs[0].shape
    lat1 = np.radians(np.ravel(arrs[0]))
    lat2 = np.radians(np.ravel(arrs[2]))
    lon12 = np.radians(_lon_diff_deg(np.ravel(arrs[1]), np.ravel(arrs[3])))
    s = np.empty(lat1.size)
    a1 = np.empty(lat1.size)
    a2 = np.empty(lat1.size)
    _inverse_many(lat1, lat2, lon12, s, a1, a2)
    return (_scalar_or_array(s, shape),
            _scalar_or_array(_wrap360(np.degrees(a1)), shape),
            _scalar_or_array(_wrap360(np.degrees(a2)), shape))


def direct(lat_deg, lon_deg, az_deg, distance_m):
    """WGS-84 destination from a start, an azimuth and a distance: (lat_deg, lon_deg, az2_deg).

    Arrays broadcast. Longitude in [-180, 180); az2 (forward azimuth at the destination) in
    [0, 360). Negative distances go backwards. Karney (2013), sec. 3.
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in
                                 (lat_deg, lon_deg, az_deg, distance_m)))
    _check_lat("lat_deg", arrs[0])
    shape = arrs[0].shape
    lat1 = np.radians(np.ravel(arrs[0]))
    az1 = np.radians(np.ravel(arrs[2]))
    s = np.ravel(arrs[3])
    lat2 = np.empty(lat1.size)
    lon12 = np.empty(lat1.size)
    az2 = np.empty(lat1.size)
    _direct_many(lat1, az1, s, lat2, lon12, az2)
    lon2_deg = _wrap180(_wrap180(np.ravel(arrs[1])) + _wrap180(np.degrees(lon12)))
    return (_scalar_or_array(np.degrees(lat2), shape),
            _scalar_or_array(lon2_deg, shape),
            _scalar_or_array(_wrap360(np.degrees(az2)), shape))


def ground_track(lat1_deg, lon1_deg, lat2_deg, lon2_deg, n):
    """n points (lat_deg, lon_deg), equally spaced in distance along the geodesic from 1 to 2.

    Both ends included. Longitudes are unrolled (continuous) from lon1 normalised to
    [-180, 180), so a track across the antimeridian leaves that range instead of jumping by
    360 deg and a line through the points draws straight on a map. Wrap with
    ``(lon + 180) % 360 - 180`` where a normalised longitude is wanted.
    """
    n = int(n)
    if n < 2:
        raise BmdsimInputError("n", n, "a ground track needs at least 2 points")
    for name, v in (("lat1_deg", lat1_deg), ("lat2_deg", lat2_deg)):
        if not abs(float(v)) <= 90.0:
            raise BmdsimInputError(name, v, "latitude must be within [-90, 90] degrees")
    lat1 = math.radians(float(lat1_deg))
    lon1 = float(_wrap180(float(lon1_deg)))
    lon12 = math.radians(float(_lon_diff_deg(float(lon1_deg), float(lon2_deg))))
    s12, az1, _ = geodesic_inverse_1(lat1, 0.0, math.radians(float(lat2_deg)), lon12)
    s = s12 * np.linspace(0.0, 1.0, n)
    lat = np.empty(n)
    dlon = np.empty(n)
    az = np.empty(n)
    _direct_many(np.full(n, lat1), np.full(n, az1), s, lat, dlon, az)
    lat_deg = np.degrees(lat)
    lon_deg = lon1 + np.degrees(dlon)
    lat_deg[0] = lat1_deg
    lon_deg[0] = lon1
    return lat_deg, lon_deg


def great_circle_distance_m(lat1_deg, lon1_deg, lat2_deg, lon2_deg, radius_m=R_MEAN_M):
    """Great-circle distance (m) on a sphere of radius_m (default the IUGG mean radius R1).

    Differs from the WGS-84 geodesic by up to about 0.5 %; use `inverse` for accuracy and
    this where a spherical Earth is the model (e.g. textbook minimum-energy trajectories).
    Vincenty's (1975) atan2 form, well conditioned at all separations.
    """
    lat1 = np.radians(np.asarray(lat1_deg, dtype=float))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=float))
    dlon = np.radians(np.asarray(lon2_deg, dtype=float) - np.asarray(lon1_deg, dtype=float))
    s1, c1, s2, c2 = np.sin(lat1), np.cos(lat1), np.sin(lat2), np.cos(lat2)
    y = np.hypot(c2 * np.sin(dlon), c1 * s2 - s1 * c2 * np.cos(dlon))
    x = s1 * s2 + c1 * c2 * np.cos(dlon)
    return np.asarray(radius_m, dtype=float) * np.arctan2(y, x)


def great_circle_azimuth_deg(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Initial azimuth (deg, [0, 360), clockwise from north) of the great circle from 1 to 2."""
    lat1 = np.radians(np.asarray(lat1_deg, dtype=float))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=float))
    dlon = np.radians(np.asarray(lon2_deg, dtype=float) - np.asarray(lon1_deg, dtype=float))
    y = np.sin(dlon) * np.cos(lat2)
    x = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon)
    return _wrap360(np.degrees(np.arctan2(y, x)))
