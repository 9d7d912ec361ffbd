"""Weapon-target assignment: the exact MILP against the greedy baseline on one seeded raid.

A raid of 20 threats against 6 sites: single-shot kill probabilities uniform in [0.5, 0.9],
each (site, threat) pair feasible with probability 0.5, inventories 4 to 40, threat values 1 to
10, at most 4 shots per threat. Both solvers get the same raid.

Prints JSON: threats, sites, milp_value, greedy_value, milp_s, greedy_s,
ratio_greedy_to_optimal (plus milp_status, milp_patterns, shots used by each).

    python benchmarks/assignment.py [--threats 20] [--sites 6] [--seed 2024] [--max-shots 4]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def raid(threats: int, sites: int, seed: int):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.5, 0.9, (sites, threats))
    feasible = rng.random((sites, threats)) < 0.5
    inventory = rng.integers(4, 41, sites)  # 4..40 inclusive
    values = rng.uniform(1.0, 10.0, threats)
    return values, p, feasible, inventory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threats", type=int, default=20)
    ap.add_argument("--sites", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--max-shots", type=int, default=4, help="most shots per threat")
    args = ap.parse_args()

    from bmdsim.defense.assign import assign

    values, p, feasible, inventory = raid(args.threats, args.sites, args.seed)
    assign(values[:2], p[:, :2], feasible[:, :2], inventory, args.max_shots)  # warm the imports
    m = assign(values, p, feasible, inventory, args.max_shots, method="milp")
    g = assign(values, p, feasible, inventory, args.max_shots, method="greedy")
    print(
        json.dumps(
            {
                "threats": args.threats,
                "sites": args.sites,
                "seed": args.seed,
                "max_shots_per_threat": args.max_shots,
                "milp_value": round(m.expected_value, 6),
                "greedy_value": round(g.expected_value, 6),
                "milp_s": round(m.solve_s, 6),
                "greedy_s": round(g.solve_s, 6),
                "ratio_greedy_to_optimal": round(g.expected_value / m.expected_value, 6) if m.expected_value else 1.0,
                "milp_status": m.status,
                "milp_optimal": m.optimal,
                "milp_patterns": m.patterns,
                "inventory": inventory.tolist(),
                "milp_shots": int(m.shots.sum()),
                "greedy_shots": int(g.shots.sum()),
            }
        )
    )


if __name__ == "__main__":
    main()
