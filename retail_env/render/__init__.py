"""Drawing, recording and playback of store frames.

How an environment uses it (the whole contract)::

    from retail_env.render import Renderer, FrameHeader, make_frame

    class MyEnv(gym.Env):
        metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}

        def frame_header(self) -> FrameHeader:      # static: grid, plates, names, task
            ...                                      # e.g. header_from_params(params, task=...)
        def current_frame(self) -> Frame:           # snapshot of store b right now
            ...                                      # e.g. frame_from_state(state, params, b, ...)
        frame_sink = None   # RecordEpisode sets a callable; call it with a Frame each tick

        def render(self):
            if self.render_mode is None:
                return None
            if self._renderer is None:
                self._renderer = Renderer(self.frame_header(), self.render_mode,
                                          self.metadata["render_fps"])
            return self._renderer.render(self.current_frame())   # array, or None for human

        def close(self):
            if self._renderer is not None:
                self._renderer.close()                # safe to call twice

A :class:`Frame` is built with :func:`make_frame` from plain arrays (positions in metres,
x east / y south, cell (r, c) centred at ((c + .5) * cell_m, (r + .5) * cell_m); fractions
in [0, 1]; decisions rows ``[plate, outcome, age_ticks]`` with outcome PENDING / CORRECT /
WRONG / REVIEWED; promo NO_PROMO / DISCOUNT / MEMBER_ONLY; status numbers such as
``n_in_store``, ``decisions_right``, ``decisions``, ``profit``). Frames are quantised on
creation (float16 positions, uint8 stock), so what is drawn live is exactly what a
recording replays.

Recording: ``RecordEpisode(env, folder, every=1)`` writes ``folder/episode-0000.npz``;
``load_recording(path)`` returns a :class:`Recording` (``len``, ``frame(i)``, ``header``,
``meta``) or raises :class:`RecordingError`. Playback and export: the ``retail-env`` command
(``play``, ``export``, ``heatmap``, ``info``).
"""

from retail_env.render.draw import ALL_LAYERS, DEFAULT_SIZE, FrameDrawer, Layer, draw_frame
from retail_env.render.frame import (
    CORRECT,
    DISCOUNT,
    MEMBER_ONLY,
    NO_PROMO,
    PENDING,
    REVIEWED,
    SHOPPER,
    STAFF,
    WRONG,
    Frame,
    FrameHeader,
    make_frame,
)
from retail_env.render.recording import (
    RecordEpisode,
    Recording,
    RecordingError,
    load_recording,
    save_recording,
)
from retail_env.render.viewer import RENDER_MODES, Renderer

__all__ = [
    "ALL_LAYERS",
    "CORRECT",
    "DEFAULT_SIZE",
    "DISCOUNT",
    "MEMBER_ONLY",
    "NO_PROMO",
    "PENDING",
    "RENDER_MODES",
    "REVIEWED",
    "SHOPPER",
    "STAFF",
    "WRONG",
    "Frame",
    "FrameDrawer",
    "FrameHeader",
    "Layer",
    "RecordEpisode",
    "Recording",
    "RecordingError",
    "Renderer",
    "draw_frame",
    "load_recording",
    "make_frame",
    "save_recording",
]
