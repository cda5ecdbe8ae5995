"""The shell an environment renders through: ``rgb_array`` arrays or a ``human`` window.

Envs keep one :class:`Renderer` and hand it frames; pygame's display is touched only in
``human`` mode, so ``rgb_array`` needs no window (and no SDL video driver) at all.
"""

from __future__ import annotations

import numpy as np
import pygame

from retail_env.render.draw import ALL_LAYERS, DEFAULT_SIZE, FrameDrawer, surface_to_array
from retail_env.render.frame import Frame, FrameHeader

RENDER_MODES = ("human", "rgb_array")


class Renderer:
    """Draw frames of one store; ``render(frame)`` returns an array (rgb_array) or None (human).

    ``close()`` may be called any number of times. A closed human window that the user
    shut with the window's close button is reopened by the next ``render``.
    """

    def __init__(
        self,
        header: FrameHeader,
        render_mode: str = "rgb_array",
        fps: float = 10.0,
        size: tuple[int, int] = DEFAULT_SIZE,
        layers: int = ALL_LAYERS,
        title: str = "retail-env",
    ):
        if render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode={render_mode!r} is not allowed: must be one of {list(RENDER_MODES)}"
            )
        self.render_mode = render_mode
        self.fps = float(fps)
        self.layers = layers
        self.title = title
        self.drawer = FrameDrawer(header, size)
        self._surface = pygame.Surface(self.drawer.size)
        self._window: pygame.Surface | None = None
        self._clock: pygame.time.Clock | None = None

    @property
    def header(self) -> FrameHeader:
        return self.drawer.header

    def set_header(self, header: FrameHeader) -> None:
        """Switch stores (e.g. a reset onto another layout); keeps the window."""
        if not header.same_as(self.drawer.header):
            self.drawer = FrameDrawer(header, self.drawer.size)

    def render(self, frame: Frame) -> np.ndarray | None:
        self.drawer.draw(self._surface, frame, self.layers)
        if self.render_mode == "rgb_array":
            return surface_to_array(self._surface)
        self._show()
        return None

    def _show(self) -> None:
        if self._window is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._window = pygame.display.set_mode(self.drawer.size)
            self._clock = pygame.time.Clock()
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.close()
                return
        self._window.blit(self._surface, (0, 0))
        pygame.display.flip()
        assert self._clock is not None  # set with the window
        self._clock.tick(self.fps)

    def close(self) -> None:
        if self._window is not None:
            self._window = None
            self._clock = None
            pygame.display.quit()
