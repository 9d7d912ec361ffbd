"""Campaign throughput: trials per second of the Alaska scenario on one worker and on two.

The Alaska scenario of the issue: one Hwasong-15 from Sohae at Anchorage, four GBIs from Fort
Greely, the full chain (sensors, tracking, impact prediction, decision, battle). Prints JSON:
trials, trials_per_s_1_worker, trials_per_s_2_workers, speedup.

    python benchmarks/campaign.py [--trials 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SCENARIO = """
[scenario]
name = "Alaska: one Hwasong-15, four GBIs"
seed = 11

[policy]
protect = ["USA"]

[[threat]]
missile = "hwasong-15"
launch = "Sohae"
aim = "Anchorage"

[[battery]]
site = "Fort Greely"
rounds = 4

[doctrine]
mode = "salvo"
shots = 4
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    from bmdsim.campaign import run_campaign

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "alaska.toml"
        path.write_text(SCENARIO)
        run_campaign(path, 1)  # warm the numba caches and the catalogs
        out = {"trials": args.trials}
        for w in (1, 2):
            t = time.perf_counter()
            r = run_campaign(path, args.trials, workers=w, chunk_size=max(1, args.trials // 4))
            out[f"trials_per_s_{w}_worker{'s' if w > 1 else ''}"] = round(args.trials / (time.perf_counter() - t), 3)
            out[f"p_no_leaker_{w}"] = r.summary["p_no_leaker"]
        out["speedup"] = round(out["trials_per_s_2_workers"] / out["trials_per_s_1_worker"], 3)
        out["same_result"] = out["p_no_leaker_1"] == out["p_no_leaker_2"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
