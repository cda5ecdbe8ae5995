"""Baseline policies and one way to build any agent by name (:func:`retail_env.agents.factory.make_agent`)."""

from .factory import AGENTS, Agent, make_agent, register_agent

__all__ = ["AGENTS", "Agent", "make_agent", "register_agent"]
