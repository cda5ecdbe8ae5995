"""Play a recording in a window: pause, single step, seek, speed and overlay toggles.

The picture is the same :class:`FrameDrawer` output the env shows live; a help strip
under it lists the keys and the current state. ``Player.tick(dt)`` does one loop
iteration (events, clock, draw), so a test can drive the viewer step by step.
"""

from __future__ import annotations

import numpy as np
import pygame

from retail_env.render import palette as pal
from retail_env.render.draw import ALL_LAYERS, DEFAULT_SIZE, LAYER_ORDER, FrameDrawer
from retail_env.render.export import playback_fps
from retail_env.render.frame import format_clock
from retail_env.render.recording import Recording

HELP_H = 44
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
SEEK_S = 10.0
KEYS_HELP = (
    "space pause   left/right step   [ ] seek 10 s   home/end   +/- speed   1-6 overlays   q quit"
)


HEADLESS_DRIVERS = ("dummy", "offscreen")


class Player:
    """Playback state plus drawing; ``open()`` makes the window, ``run()`` loops until quit."""

    def __init__(
        self,
        rec: Recording,
        size: tuple[int, int] = DEFAULT_SIZE,
        speed: float = 1.0,
        start_s: float = 0.0,
    ):
        if len(rec) == 0:
            raise ValueError("the recording has no frames")
        self.rec = rec
        self.drawer = FrameDrawer(rec.header, size)
        self.times = rec.times
        self.rate = playback_fps(rec)  # frames per second at 1x (real time, floored)
        self.speed = min(SPEEDS, key=lambda s: abs(s - speed))
        self.layers = int(ALL_LAYERS)
        self.paused = False
        self.running = True
        self._pos = float(self._index_at(self.times[0] + start_s))
        self.window: pygame.Surface | None = None
        self._canvas = pygame.Surface((self.drawer.size[0], self.drawer.size[1] + HELP_H))
        self._clock: pygame.time.Clock | None = None

    @property
    def index(self) -> int:
        return int(self._pos)

    def _index_at(self, t: float) -> int:
        return int(np.clip(np.searchsorted(self.times, t - 1e-9), 0, len(self.times) - 1))

    def _goto(self, i: int) -> None:
        self._pos = float(np.clip(i, 0, len(self.times) - 1))

    # --- input ----------------------------------------------------------------------
    def handle_key(self, key: int, text: str = "") -> None:
        if key in (pygame.K_q, pygame.K_ESCAPE):
            self.running = False
        elif key == pygame.K_SPACE:
            self.paused = not self.paused
        elif key in (pygame.K_RIGHT, pygame.K_LEFT):
            self.paused = True
            self._goto(self.index + (1 if key == pygame.K_RIGHT else -1))
        elif key in (pygame.K_RIGHTBRACKET, pygame.K_LEFTBRACKET):
            sign = 1 if key == pygame.K_RIGHTBRACKET else -1
            self._goto(self._index_at(self.times[self.index] + sign * SEEK_S))
        elif key == pygame.K_HOME:
            self._goto(0)
        elif key == pygame.K_END:
            self._goto(len(self.times) - 1)
        elif text in ("+", "=") or key in (pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_EQUALS):
            self.speed = SPEEDS[min(len(SPEEDS) - 1, SPEEDS.index(self.speed) + 1)]
        elif text in ("-", "_") or key in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.speed = SPEEDS[max(0, SPEEDS.index(self.speed) - 1)]
        elif pygame.K_1 <= key < pygame.K_1 + len(LAYER_ORDER):
            self.layers ^= int(LAYER_ORDER[key - pygame.K_1])

    def advance(self, dt_s: float) -> None:
        """Move the playhead by ``dt_s`` seconds of wall time (stops at the last frame)."""
        if self.paused:
            return
        self._pos += dt_s * self.speed * self.rate
        if self._pos >= len(self.times) - 1:
            self._pos = float(len(self.times) - 1)
            self.paused = True

    # --- drawing --------------------------------------------------------------------
    def compose(self) -> pygame.Surface:
        """The full window picture: the frame at the playhead and the help strip."""
        canvas = self._canvas
        self.drawer.draw(canvas, self.rec.frame(self.index), self.layers)
        w, h = self.drawer.size
        canvas.fill(pal.HELP_BG, pygame.Rect(0, h, w, HELP_H))
        text = self.drawer.text
        canvas.blit(text.get(KEYS_HELP, 16, pal.HELP_FG), (8, h + 4))
        x = 8
        for n, layer in enumerate(LAYER_ORDER, start=1):
            on = bool(self.layers & layer)
            img = text.get(
                f"{n} {(layer.name or '').lower()}",
                16,
                pal.HELP_FG if on else (95, 99, 110),
                bold=on,
            )
            canvas.blit(img, (x, h + 24))
            x += img.get_width() + 10
        state = "PAUSED" if self.paused else "playing"
        info = (
            f"{state}  {self.speed:g}x   frame {self.index + 1}/{len(self.times)}   "
            f"t {format_clock(float(self.times[self.index]))}"
        )
        img = text.get(info, 16, pal.EVENT if self.paused else pal.HELP_FG, bold=True)
        canvas.blit(img, (w - img.get_width() - 8, h + 24))
        return canvas

    # --- window loop ----------------------------------------------------------------
    def open(self, title: str = "retail-env playback") -> None:
        pygame.display.init()
        pygame.display.set_caption(title)
        self.window = pygame.display.set_mode(self._canvas.get_size())
        self._clock = pygame.time.Clock()

    def tick(self, dt_s: float | None = None) -> bool:
        """One loop iteration: handle events, move the playhead, draw. False once quit."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN:
                self.handle_key(event.key, getattr(event, "unicode", ""))
        if not self.running:
            return False
        if dt_s is None:
            assert self._clock is not None  # open() first
            dt_s = self._clock.tick(60) / 1000.0
        self.advance(dt_s)
        assert self.window is not None
        self.window.blit(self.compose(), (0, 0))
        pygame.display.flip()
        return True

    def run(self, frames: int | None = None, exit_at_end: bool | None = None) -> int:
        """Loop until the user quits, ``frames`` loop iterations have been drawn, or (with
        ``exit_at_end``; default: under a headless video driver, where no one can quit)
        the last frame is shown. Headless, the loop does not wait for the clock. Returns
        the number of iterations drawn."""
        if frames is not None and int(frames) < 1:
            raise ValueError(f"frames={frames!r} must be >= 1")
        if self.window is None:
            self.open()
        headless = pygame.display.get_driver() in HEADLESS_DRIVERS
        exit_at_end = headless if exit_at_end is None else exit_at_end
        drawn = 0
        try:
            while self.tick(1.0 / 60 if headless else None):
                drawn += 1
                if frames is not None and drawn >= int(frames):
                    break
                if exit_at_end and self.index >= len(self.times) - 1:
                    break
        finally:
            self.close()
        return drawn

    def close(self) -> None:
        if self.window is not None:
            self.window = None
            pygame.display.quit()


def play(
    rec: Recording,
    speed: float = 1.0,
    start_s: float = 0.0,
    frames: int | None = None,
    exit_at_end: bool | None = None,
) -> int:
    """Open a window and play ``rec`` until the user quits (see :meth:`Player.run`)."""
    return Player(rec, speed=speed, start_s=start_s).run(frames, exit_at_end)
