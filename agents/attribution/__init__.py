"""Attribution agents: the baselines, the set policy and imitation of the oracle."""
