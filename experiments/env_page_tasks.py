"""Each task's own sections of a generated env page (``retail_env.experiments.env_pages``):
what its actions mean, its observation's parts, its reward, termination, extra info keys,
metrics and preset. A task's page sections are one class here, in ``PAGE_SECTIONS``."""

from __future__ import annotations

import json

from retail_env.envs.attribution import observations as attribution_obs
from retail_env.envs.attribution.receipts import RECEIPT_KEYS
from retail_env.envs.promotion import core as promotion_core
from retail_env.envs.promotion.obs import observation_slices
from retail_env.sim import config as sim_config


class TaskPage:
    """One id's page sections: ``base`` its unwrapped env, ``spec`` its EnvSpec, ``kwargs``
    its registered kwargs; ``card`` the task card, ``metrics`` what its metrics are."""

    card = metrics = ""

    def __init__(self, base, spec, kwargs: dict):
        self.base, self.spec, self.kwargs = base, spec, kwargs


class AttributionPage(TaskPage):
    card = "../tasks/attribution.md"
    metrics = (
        '`info["receipts"]` at the end of an episode, computed against the true '
        "baskets (not the reward)"
    )

    def action(self) -> list[str]:
        k = self.base.K
        return [
            f"`k < {k}`: charge candidate track k (nearest first); `{k}`: no one; "
            f"`{k + 1}`: review (a human applies the truth, at a cost, within the budget). "
            "Anything else raises `InvalidActionError`.",
            "",
        ]

    def observation(self) -> list[str]:
        obs_type = self.base.config.observation.type
        names = (
            attribution_obs.EVENT_FEATURES if obs_type == "features" else attribution_obs.RAW_EVENT
        )
        out = [
            f"`event` columns (`{obs_type}` observation): "
            + ", ".join(f"`{n}`" for n in names)
            + "."
        ]
        if obs_type == "features":
            out += [
                "",
                "`candidates` columns: "
                + ", ".join(f"`{n}`" for n in attribution_obs.CANDIDATE_FEATURES)
                + ".",
            ]
        return [*out, ""]

    def reward(self, terms: list[str]) -> list[str]:
        w = self.base.config.reward
        return [
            'The sum of the named terms in `info["rewards"]`, already weighted '
            '(`config={"reward": {...}}` changes the weights):',
            "",
            "| term | weight |",
            "|---|---|",
            *[f"| `{t}` | {getattr(w, t):g} |" for t in terms],
        ]

    def termination(self) -> list[str]:
        c = self.base.config
        return [
            f"`terminated` when the store is shut (after `episode_s` = {c.episode_s:g} s "
            f"of opening and at most `close_grace_s` = {c.close_grace_s:g} s of closing) "
            "and every detected event is decided; never truncated.",
            "",
        ]

    def info_rows(self, info: dict[str, str]) -> list[str]:
        return [f"| `receipts` | last step | {info['receipts']} |"]

    def metric_names(self, kpis: list[str]) -> tuple[str, ...]:
        return RECEIPT_KEYS

    def preset(self) -> tuple[list[str], object]:
        scenario = self.base.config.scenario
        return [
            f"Simulator scenario `{scenario}` "
            "([presets](../simulator.md#config-and-presets)), overrides of the default "
            "store:",
            "",
            "```json",
            json.dumps(sim_config.PRESETS[scenario], indent=1, sort_keys=True),
            "```",
            "",
            "Task parameters (`AttributionConfig`; `gym.make(id, config={...})` overrides "
            'any of them, `config={"store": {...}}` the simulator\'s):',
            "",
        ], self.base.config


class PromotionPage(TaskPage):
    card = "../tasks/promotion.md"
    metrics = '`info["kpis"]` each period and `info["episode_kpis"]` for the episode so far'

    def action(self) -> list[str]:
        return [
            "Discrete: a discount level per decision unit, then a member-only flag per "
            "unit. Continuous: a price multiplier per unit, -1 = `max_discount` off, "
            "0 = list, +1 = `max_markup` on. Anything else raises `InvalidActionError`.",
            "",
        ]

    def observation(self) -> list[str]:
        return [
            "| part | slice | size |",
            "|---|---|---|",
            *[
                f"| `{part}` | {s.start}:{s.stop} | {s.stop - s.start} |"
                for part, s in observation_slices(self.base.params).items()
            ],
            "",
        ]

    def reward(self, terms: list[str]) -> list[str]:
        return [
            f"Profit of the period x `reward_scale` ({self.base.cfg.reward_scale:g}): the "
            'sum of the terms in `info["rewards"]` (dollars, costs negative):',
            "",
            ", ".join(f"`{t}`" for t in terms) + ".",
        ]

    def termination(self) -> list[str]:
        return [
            f"Truncation only, after {self.spec.max_episode_steps} periods of "
            f"{self.base.cfg.period_h:g} h (`terminated` is always False).",
            "",
        ]

    def info_rows(self, info: dict[str, str]) -> list[str]:
        return []

    def metric_names(self, kpis: list[str]) -> tuple[str, ...]:
        return tuple(kpis)

    def preset(self) -> tuple[list[str], object]:
        preset = self.kwargs["preset"]
        return [
            f"Preset `{preset}`, overrides of the default config "
            "(`gym.make(id, config={...})` overrides any field):",
            "",
            "```json",
            json.dumps(promotion_core.PRESETS[preset], indent=1, sort_keys=True),
            "```",
            "",
            "Task parameters (`PromotionConfig`, top level):",
            "",
        ], self.base.cfg


PAGE_SECTIONS = {"attribution": AttributionPage, "promotion": PromotionPage}
