"""Baselines of the two-role store (``retail_env/multi``): a manager and a checkout, each
a baseline, on the frozen evaluation seeds.

    python -m retail_env.experiments.whole_store_leaderboard --episodes 20

Each pair plays whole episodes (``roles.play``); the table gives the profit of what left
the store, the checkout's errors (items over- plus undercharged) and their cost to the
manager, each role's return and their sum, mean [95 % bootstrap CI] over seeds
(``experiments/stats.py``), and the seconds each pair took. Writes ``<out>.json`` and
``<out>.md``; ``retail_env.experiments.readme_tables --readme docs/whole_store.md`` puts it in the docs.
"""

from __future__ import annotations

from retail_env.multi import WholeStoreEnv
from retail_env.multi.roles import Checkout, Manager, play

from .evaluate_attribution import eval_seeds
from .stats import summarize
from .whole_store_coupling import measure, script_args

# The RetailStore/Attribution-Promo-v0 calendar: a quarter of the products on deal.
HI_LO = {"depth": 0.5, "cycle_days": 1, "promo_h": 6}
PAIRS = {  # name: (manager baseline, its keywords, checkout agent)
    "list price + hungarian": ("list_price", {}, "hungarian"),
    "hi-lo 50 % + hungarian": ("hi_lo", HI_LO, "hungarian"),
    "myopic + hungarian": ("myopic", {}, "hungarian"),
    "list price + oracle": ("list_price", {}, "oracle"),
    "myopic + oracle": ("myopic", {}, "oracle"),
}
COLUMNS = (
    ("profit", "profit $", 0),
    ("checkout_errors", "checkout errors (items)", 1),
    ("error_cost", "error cost $", 0),
    ("manager_return", "manager return", 0),
    ("checkout_return", "checkout return", 0),
    ("combined", "combined", 0),
    ("exact_match", "exact_match", 3),
)


def markdown(summary: dict, seconds: dict, n: int, scenario: str) -> str:
    lines = [
        f"Two-role store, scenario `{scenario}`, {n} frozen evaluation seeds per pair; "
        "mean [95 % bootstrap CI]. Manager return = profit - error cost ($5 per "
        "overcharged, $2.5 per undercharged item); combined = manager + checkout return.",
        "",
        "| manager + checkout | " + " | ".join(c[1] for c in COLUMNS) + " | seconds |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    for pair, s in summary.items():
        cells = [
            f"{s[k]['mean']:.{d}f} [{s[k]['ci_low']:.{d}f}, {s[k]['ci_high']:.{d}f}]"
            for k, _, d in COLUMNS
        ]
        lines.append(f"| {pair} | " + " | ".join(cells) + f" | {seconds[pair]:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    args = script_args(argv, __doc__, "whole_store_leaderboard", "pair")
    seeds = eval_seeds(args.episodes)
    env = WholeStoreEnv(scenario=args.scenario)

    def run(pair: tuple) -> tuple[dict, dict]:
        manager, kw, checkout = pair
        runs = [play(env, Manager(manager, **kw), Checkout(checkout), seed) for seed in seeds]
        eps = {k: [round(r[k], 6) for r in runs] for k in runs[0]}
        return eps, {k: summarize(v) for k, v in eps.items()}

    return measure(args, seeds, PAIRS, run, markdown, "pairs")


if __name__ == "__main__":
    main()
