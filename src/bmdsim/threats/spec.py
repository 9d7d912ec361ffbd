"""Missile specifications: frozen, validated models whose fields are the configuration.

A missile is a stack of up to four stages and a payload (the reentry vehicle). Burn time follows
from propellant mass, vacuum thrust and vacuum specific impulse: t_b = m_p Isp g0 / T_vac.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bmdsim.constants import G0_MPS2
from bmdsim.flight.kernel import MAX_STAGES, N_STAGE_FIELDS, S_AREA, S_DRY, S_ISP, S_LOSS, S_PROP, S_THRUST


class Stage(BaseModel):
    """One rocket stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    propellant_mass_kg: float = Field(gt=0, description="propellant burned by the stage")
    dry_mass_kg: float = Field(gt=0, description="structure and engines, dropped at staging")
    thrust_vac_n: float = Field(gt=0, description="vacuum thrust")
    isp_vac_s: float = Field(gt=0, le=500, description="vacuum specific impulse")
    isp_sl_s: float | None = Field(
        default=None, gt=0, le=500, description="sea-level specific impulse (first stage); none: no back-pressure loss"
    )
    diameter_m: float = Field(gt=0, le=10, description="body diameter, sets the drag reference area")
    source: str = ""

    @model_validator(mode="after")
    def _sl_below_vac(self) -> Stage:
        if self.isp_sl_s is not None and self.isp_sl_s > self.isp_vac_s:
            raise ValueError(f"isp_sl_s ({self.isp_sl_s}) must not exceed isp_vac_s ({self.isp_vac_s})")
        return self

    @property
    def mass_flow_kg_s(self) -> float:
        return self.thrust_vac_n / (self.isp_vac_s * G0_MPS2)

    @property
    def burn_time_s(self) -> float:
        return self.propellant_mass_kg / self.mass_flow_kg_s

    @property
    def thrust_sl_n(self) -> float:
        return self.thrust_vac_n if self.isp_sl_s is None else self.isp_sl_s * G0_MPS2 * self.mass_flow_kg_s

    @property
    def area_m2(self) -> float:
        return math.pi * self.diameter_m**2 / 4.0


class Payload(BaseModel):
    """The reentry vehicle that flies on after burnout."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mass_kg: float = Field(gt=0)
    diameter_m: float = Field(gt=0, le=5)
    ballistic_coefficient_kg_m2: float = Field(gt=0, description="beta = m / (C_D A), hypersonic")
    source: str = ""


class Guidance(BaseModel):
    """Defaults of the boost guidance law (see ``flight.kernel``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vertical_rise_s: float = Field(default=10.0, ge=0, description="vertical flight before pitch-over")
    pitch_over_s: float | None = Field(
        default=None, gt=0, description="duration of the constant-rate pitch-over; default: to first-stage burnout"
    )


class Missile(BaseModel):
    """A ballistic missile or space launcher."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    missile_class: str = Field(alias="class", description="SRBM, MRBM, IRBM, ICBM or SLV")
    propellant: str = Field(description="liquid or solid")
    published_range_km: float | None = Field(default=None, gt=0)
    range_source: str = ""
    sources: list[str] = Field(default_factory=list)
    notes: str = ""
    payload: Payload
    satellite_mass_kg: float | None = Field(
        default=None, gt=0, description="space launchers: the satellite flown on an orbital launch (replaces the payload)"
    )
    stage: list[Stage] = Field(min_length=1, max_length=MAX_STAGES)
    guidance: Guidance = Guidance()

    @field_validator("propellant")
    @classmethod
    def _propellant(cls, v: str) -> str:
        if v not in ("liquid", "solid"):
            raise ValueError("propellant must be 'liquid' or 'solid'")
        return v

    @model_validator(mode="after")
    def _lifts_off(self) -> Missile:
        tw = self.stage[0].thrust_sl_n / (self.launch_mass_kg * G0_MPS2)
        if tw <= 1.05:
            raise ValueError(f"first-stage sea-level thrust-to-weight {tw:.2f} must exceed 1.05 to lift off")
        return self

    @property
    def launch_mass_kg(self) -> float:
        return self.payload.mass_kg + sum(s.propellant_mass_kg + s.dry_mass_kg for s in self.stage)

    @property
    def burn_time_s(self) -> float:
        return sum(s.burn_time_s for s in self.stage)

    @property
    def pitch_over_s(self) -> float:
        if self.guidance.pitch_over_s is not None:
            return self.guidance.pitch_over_s
        return max(5.0, self.stage[0].burn_time_s - self.guidance.vertical_rise_s)

    def ideal_delta_v_mps(self) -> float:
        """Tsiolkovsky delta-v of the stack with its payload (no gravity or drag losses)."""
        dv = 0.0
        for i, s in enumerate(self.stage):
            m0 = self.payload.mass_kg + sum(t.propellant_mass_kg + t.dry_mass_kg for t in self.stage[i:])
            dv += s.isp_vac_s * G0_MPS2 * math.log(m0 / (m0 - s.propellant_mass_kg))
        return dv

    def with_payload(self, mass_kg: float) -> Missile:
        """The same missile with another payload mass (beta scales with mass)."""
        beta = self.payload.ballistic_coefficient_kg_m2 * mass_kg / self.payload.mass_kg
        p = self.payload.model_copy(update={"mass_kg": mass_kg, "ballistic_coefficient_kg_m2": beta})
        return self.model_copy(update={"payload": p})

    def stage_array(self) -> np.ndarray:
        """Stages as the kernel's (MAX_STAGES, N_STAGE_FIELDS) array; unused stages are zero."""
        a = np.zeros((MAX_STAGES, N_STAGE_FIELDS))
        for i, s in enumerate(self.stage):
            a[i, S_PROP] = s.propellant_mass_kg
            a[i, S_DRY] = s.dry_mass_kg
            a[i, S_THRUST] = s.thrust_vac_n
            a[i, S_ISP] = s.isp_vac_s
            a[i, S_LOSS] = s.thrust_vac_n - s.thrust_sl_n
            a[i, S_AREA] = s.area_m2
        return a

    def payload_array(self) -> np.ndarray:
        return np.array([self.payload.mass_kg, self.payload.ballistic_coefficient_kg_m2])
