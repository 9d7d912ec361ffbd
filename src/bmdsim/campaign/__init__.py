"""Monte Carlo campaigns: trials with recorded seeds, chunked results, resume, statistics."""

from bmdsim.campaign.runner import (
    CampaignResult,
    check_dispersion,
    load_campaign,
    query,
    run_campaign,
    run_chunk,
    run_trial,
    summarize,
    trial_seed,
)

__all__ = [
    "CampaignResult", "check_dispersion", "load_campaign", "query", "run_campaign", "run_chunk", "run_trial",
    "summarize", "trial_seed",
]
