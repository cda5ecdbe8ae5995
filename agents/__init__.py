"""Agents of every task, built by name with one protocol (:mod:`retail_env.agents.factory`):
``make_agent(name, env)``, ``agent.reset(seed)``, ``agent.act(obs, info)``."""

from .factory import (
    AGENTS,
    Agent,
    agent_names,
    make_agent,
    register_agent,
    run_episode,
)

__all__ = ["AGENTS", "Agent", "agent_names", "make_agent", "register_agent", "run_episode"]
