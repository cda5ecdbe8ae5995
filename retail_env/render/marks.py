"""Small drawing primitives shared by the map and its legend, so a mark looks the same in both.

Shapes (disc, ring, corner tag, decision badge, price label) and a text cache: rendering
strings is the slowest part of a frame, and the same few labels repeat every frame.
"""

from __future__ import annotations

import pygame

from retail_env.render import palette as pal
from retail_env.render.frame import CORRECT, REVIEWED, WRONG

WHITE = (255, 255, 255)


def font(size: int) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, size)


class TextCache:
    """Rendered strings keyed by (text, size, colour, bold)."""

    def __init__(self, limit: int = 1024):
        self._fonts: dict[int, pygame.font.Font] = {}
        self._cache: dict[tuple, pygame.Surface] = {}
        self._limit = limit

    def get(self, text: str, size: int, colour: pal.RGB, bold: bool = False) -> pygame.Surface:
        key = (text, size, colour, bold)
        surf = self._cache.get(key)
        if surf is None:
            f = self._fonts.get(size)
            if f is None:
                f = self._fonts[size] = font(size)
            f.set_bold(bold)
            surf = f.render(text, True, colour)
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[key] = surf
        return surf


def disc(surf, centre, colour, r) -> None:
    """A shopper: filled disc with a dark outline (readable on floor and shelf alike)."""
    pygame.draw.circle(surf, pal.OUTLINE, centre, r + 1)
    pygame.draw.circle(surf, colour, centre, r)


def ring(surf, centre, colour, r) -> None:
    """A camera track: hollow, so the true shopper under it stays visible."""
    pygame.draw.circle(surf, colour, centre, r, max(2, r // 4))


def corner_tag(surf, topleft, colour, s) -> None:
    """A promotion marker: a triangle in a plate's top-left corner."""
    x, y = topleft
    pygame.draw.polygon(surf, colour, [(x, y), (x + s, y), (x, y + s)])
    pygame.draw.polygon(surf, pal.OUTLINE, [(x, y), (x + s, y), (x, y + s)], 1)


def badge(surf, centre, outcome, r, colour=None) -> None:
    """A decision mark: green tick, red cross or blue eye (review), on a white rim."""
    colour = colour or pal.DECISION.get(outcome, pal.PENDING)
    cx, cy = centre
    pygame.draw.circle(surf, WHITE, centre, r + 1)
    pygame.draw.circle(surf, colour, centre, r)
    k = max(1, r // 2)
    w = max(1, r // 3)
    if outcome == CORRECT:
        pygame.draw.lines(
            surf,
            WHITE,
            False,
            [(cx - k, cy), (cx - k // 3, cy + k * 2 // 3), (cx + k, cy - k * 2 // 3)],
            w,
        )
    elif outcome == WRONG:
        pygame.draw.line(surf, WHITE, (cx - k, cy - k), (cx + k, cy + k), w)
        pygame.draw.line(surf, WHITE, (cx - k, cy + k), (cx + k, cy - k), w)
    elif outcome == REVIEWED:
        pygame.draw.circle(surf, WHITE, centre, k, w)


def label(surf, text: TextCache, string: str, size: int, colour, midbottom) -> pygame.Rect:
    """A price label: white bold text on a coloured box with a dark edge; returns its box."""
    img = text.get(string, size, WHITE, bold=True)
    box = img.get_rect(midbottom=midbottom).inflate(4, 0)
    surf.fill(colour, box)
    pygame.draw.rect(surf, pal.OUTLINE, box, 1)
    surf.blit(img, img.get_rect(center=box.center))
    return box
