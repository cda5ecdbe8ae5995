"""What every task's env shares, so a new task writes only its own dynamics.

The contract: ``Env(preset=..., config={...}, render_mode=...)``; ``preset`` names a row
of the task's ``PRESETS`` and ``config`` is a nested mapping over it (bad keys raise
ConfigError); ``frame_header()`` / ``current_frame()`` are the recording hooks
(``retail_env.render.RecordEpisode``) that ``render()`` draws with the shared Renderer.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import gymnasium as gym

from retail_env.errors import ConfigError
from retail_env.sim.validation import check_choice, check_mapping, merged, replace

if TYPE_CHECKING:
    from retail_env.render.frame import Frame, FrameHeader

T = TypeVar("T")

RENDER_MODES = ["human", "rgb_array"]


def check_render_mode(render_mode: str | None, allowed: list[str]) -> str | None:
    """``render_mode`` if one of ``allowed`` or None; a ConfigError naming them otherwise."""
    if render_mode is not None and render_mode not in allowed:
        raise ConfigError(
            f"render_mode={render_mode!r} is not allowed: must be one of {allowed} or None"
        )
    return render_mode


def preset_config(
    cls: type[T],
    presets: Mapping[str, Mapping[str, Any]],
    preset: str,
    config: Mapping[str, Any] | None,
) -> T:
    """Config class ``cls`` as preset ``preset`` with the nested ``config`` on top, validated
    (an unknown preset or key, a wrong type or range raise ConfigError naming it)."""
    overrides = presets[check_choice("preset", preset, presets)]
    base = replace(cls(), overrides)  # pyright: ignore[reportArgumentType]  (T: a config dataclass)
    return replace(base, check_mapping("config", config))


def versioned(versions: Mapping[int, Mapping[str, Any]], config: Any, version: int) -> dict:
    """The registered version's config with the user's ``config`` on top (nested keys merge)."""
    if version not in versions:
        raise ConfigError(f"version={version!r} is not allowed: must be one of {list(versions)}")
    return merged(versions[version], check_mapping("config", config))


def refuse_old_kwargs(task: str, old: Mapping[str, Any]) -> None:
    """A clear error for the keyword arguments the envs took before the shared contract."""
    if not old:
        return
    if "scenario" in old:
        raise ConfigError(
            f"scenario={old['scenario']!r} is now preset=: "
            f"{task}(preset={old['scenario']!r}, config={{...}})"
        )
    names = ", ".join(f"{k}=" for k in old)
    raise ConfigError(
        f"{names} {'is' if len(old) == 1 else 'are'} not keyword arguments of "
        f"{task}: task settings go in "
        f"config={{{', '.join(repr(k) + ': ...' for k in old)}}}"
    )


def refuse_vector_render(render_mode: str | None, single: str) -> None:
    """The vector envs draw nothing: a render_mode is refused, naming the env that draws."""
    if render_mode is not None:
        raise ConfigError(
            f"render_mode={render_mode!r}: the vector env does not render; "
            f"render a single {single} instead"
        )


class FrameRendering(abc.ABC):
    """The render lifecycle of an env that draws its store: ``render()`` draws
    ``current_frame()`` with the shared Renderer (opened on first use, on
    ``frame_header()``), ``close()`` closes it. ``RecordEpisode`` records through the same
    hooks: a frame per step, or, if the env has a ``frame_sink`` attribute, every frame the
    env hands that callable (one per simulated tick)."""

    render_mode: str | None = None
    render_fps = 4
    render_title = "retail-env"
    render_layers: int | None = None  # retail_env.render.Layer flags; None: all of them
    _renderer = None

    @abc.abstractmethod
    def frame_header(self) -> FrameHeader:
        """The static part of a drawing of the store (grid, plates, names)."""

    @abc.abstractmethod
    def current_frame(self) -> Frame:
        """The store now, as one frame."""

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to make()")
            return None
        if self._renderer is None:
            from retail_env.render.draw import ALL_LAYERS
            from retail_env.render.viewer import Renderer

            layers = ALL_LAYERS if self.render_layers is None else self.render_layers
            self._renderer = Renderer(
                self.frame_header(),
                self.render_mode,
                fps=self.render_fps,
                title=self.render_title,
                layers=layers,
            )
        return self._renderer.render(self.current_frame())

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class TaskEnv(FrameRendering, gym.Env):
    """Base of every task's single env: the checked render mode, the render lifecycle and
    the frame hooks (``FrameRendering``). A task sets ``task`` (its name in the task
    table, experiments/tasks.py) and ``render_title``; its constructor takes ``preset``,
    ``config`` and ``render_mode`` and calls ``super().__init__(render_mode)``."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": FrameRendering.render_fps}
    task = ""

    def __init__(self, render_mode: str | None = None):
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._renderer = None
