"""Pure drawing: a :class:`Frame` onto a pygame Surface (or a uint8 HxWx3 array).

Everything static (floor, walls, full shelves, legend) is drawn once into a cached
background; a frame then only paints what changed: the empty part of each plate,
flashes, tags, decision marks, tracks, shoppers and the status bar. No window is needed.
"""

from __future__ import annotations

import enum

import numpy as np
import pygame
from scipy import ndimage

from retail_env.render import palette as pal
from retail_env.render.frame import (
    DISCOUNT,
    ENDCAP,
    ENTRY,
    EXIT,
    MEMBER_ONLY,
    SHELF,
    STAFF,
    WALL,
    Frame,
    FrameHeader,
    format_clock,
)

DEFAULT_SIZE = (800, 600)
STATUS_H = 30
LEGEND_W = 176
DECISION_FADE_TICKS = 300     # decision marks fade over 30 s of store time [A]


class Layer(enum.IntFlag):
    """Overlays that can be switched on and off (number keys 1-6 in playback)."""

    SHOPPERS = 1
    TRACKS = 2
    STOCK = 4
    EVENTS = 8
    DECISIONS = 16
    PRICES = 32


ALL_LAYERS = Layer.SHOPPERS | Layer.TRACKS | Layer.STOCK | Layer.EVENTS | Layer.DECISIONS \
    | Layer.PRICES
LAYER_ORDER = (Layer.SHOPPERS, Layer.TRACKS, Layer.STOCK, Layer.EVENTS, Layer.DECISIONS,
               Layer.PRICES)

# Legend entries worth explaining per task (others: every entry).
TASK_MARKS = {
    "attribution": {"shopper (by account)", "camera track", "staff", "shelf event", "charged right",
                    "charged wrong", "human review"},
    "promotion": {"shopper (by account)", "staff", "discount", "member-only"},
}
STATUS_LABELS = {"n_in_store": "in store", "profit": "profit", "reviews": "reviews"}


def _font(size: int) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, size)


class TextCache:
    """Rendered strings keyed by (text, size, colour); text rendering dominates otherwise."""

    def __init__(self, limit: int = 1024):
        self._fonts: dict[int, pygame.font.Font] = {}
        self._cache: dict[tuple, pygame.Surface] = {}
        self._limit = limit

    def get(self, text: str, size: int, colour: pal.RGB, bold: bool = False) -> pygame.Surface:
        key = (text, size, colour, bold)
        surf = self._cache.get(key)
        if surf is None:
            font = self._fonts.get(size)
            if font is None:
                font = self._fonts[size] = _font(size)
            font.set_bold(bold)
            surf = font.render(text, True, colour)
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[key] = surf
        return surf


class FrameDrawer:
    """Draws frames of one store (one :class:`FrameHeader`) at a fixed canvas size."""

    def __init__(self, header: FrameHeader, size: tuple[int, int] = DEFAULT_SIZE,
                 legend: bool = True):
        self.header = header
        self.size = (int(size[0]), int(size[1]))
        self.text = TextCache()
        w, h = self.size
        self.legend = legend and w >= 480
        map_w = w - (LEGEND_W if self.legend else 0) - 8
        map_h = h - STATUS_H - 8
        gh, gw = header.grid.shape
        self.cell = max(2, int(min(map_w / gw, map_h / gh)))
        self.origin = (4 + (map_w - self.cell * gw) // 2, STATUS_H + 4 + (map_h - self.cell * gh) // 2)
        self.plate_rects = self._plate_rects()
        self.full_colour = [pal.category(c) for c in header.plate_category]
        self.empty_colour = [pal.empty(c) for c in self.full_colour]
        self.background = self._background()

    # --- geometry -----------------------------------------------------------------
    def cell_rect(self, row: int, col: int) -> pygame.Rect:
        c = self.cell
        return pygame.Rect(self.origin[0] + col * c, self.origin[1] + row * c, c, c)

    def to_px(self, pos_m: np.ndarray) -> np.ndarray:
        """(N, 2) metres (x east, y south) -> (N, 2) float pixel coordinates."""
        k = self.cell / self.header.cell_m
        return np.asarray(pos_m, np.float32) * k + np.asarray(self.origin, np.float32)

    def _plate_rects(self) -> list[pygame.Rect]:
        """Plate rectangles inside their shelf cell (plates sharing a cell split it)."""
        rects: list[pygame.Rect] = []
        cells = [tuple(rc) for rc in self.header.plate_cell.tolist()]
        count: dict[tuple, int] = {}
        for rc in cells:
            count[rc] = count.get(rc, 0) + 1
        seen: dict[tuple, int] = {}
        for rc in cells:
            n, i = count[rc], seen.get(rc, 0)
            seen[rc] = i + 1
            r = self.cell_rect(*rc)
            x0 = r.x + (r.w * i) // n
            x1 = r.x + (r.w * (i + 1)) // n
            inset = 1 if self.cell >= 6 else 0
            rects.append(pygame.Rect(x0 + inset, r.y + inset, max(1, x1 - x0 - 2 * inset),
                                     max(1, r.h - 2 * inset)))
        return rects

    # --- static background --------------------------------------------------------
    def _background(self) -> pygame.Surface:
        surf = pygame.Surface(self.size)
        surf.fill(pal.PANEL_BG)
        grid = self.header.grid
        gh, gw = grid.shape
        c = self.cell
        colour = {WALL: pal.WALL, SHELF: pal.SHELF_EDGE, ENTRY: pal.ENTRY, EXIT: pal.EXIT}
        surf.fill(pal.FLOOR, pygame.Rect(*self.origin, gw * c, gh * c))
        if c >= 8:   # faint floor tiles help judge distances
            for col in range(gw + 1):
                x = self.origin[0] + col * c
                pygame.draw.line(surf, pal.FLOOR_LINE, (x, self.origin[1]), (x, self.origin[1] + gh * c))
            for row in range(gh + 1):
                y = self.origin[1] + row * c
                pygame.draw.line(surf, pal.FLOOR_LINE, (self.origin[0], y), (self.origin[0] + gw * c, y))
        for (row, col), code in np.ndenumerate(grid):
            if code in colour:
                surf.fill(colour[code], self.cell_rect(row, col))
            elif code == ENDCAP:
                pygame.draw.rect(surf, pal.ENDCAP_EDGE, self.cell_rect(row, col), max(1, c // 5))
        for rect, full in zip(self.plate_rects, self.full_colour, strict=True):
            surf.fill(full, rect)
        self._gate_labels(surf)
        surf.fill(pal.STATUS_BG, pygame.Rect(0, 0, self.size[0], STATUS_H))
        if self.legend:
            self._draw_legend(surf)
        return surf

    def _gate_labels(self, surf: pygame.Surface) -> None:
        """'IN' / 'OUT' on a tag in the gate's colour, centred on the gate cells."""
        for code, label, colour in ((ENTRY, "IN", pal.ENTRY), (EXIT, "OUT", pal.EXIT)):
            gates, n = ndimage.label(self.header.grid == code)      # each gate separately
            for g in range(1, n + 1):
                rows, cols = np.nonzero(gates == g)
                box = self.cell_rect(rows.min(), cols.min()).union(
                    self.cell_rect(rows.max(), cols.max()))
                img = self.text.get(label, int(min(20, max(12, self.cell * 0.8))), pal.PANEL_FG,
                                    bold=True)
                tag = img.get_rect(center=box.center).inflate(6, 2).clamp(surf.get_rect())
                surf.fill(colour, tag)
                pygame.draw.rect(surf, pal.PANEL_FG, tag, 1)
                surf.blit(img, img.get_rect(center=tag.center))

    def _draw_legend(self, surf: pygame.Surface) -> None:
        x0 = self.size[0] - LEGEND_W
        surf.fill(pal.PANEL_BG, pygame.Rect(x0, STATUS_H, LEGEND_W, self.size[1] - STATUS_H))
        pygame.draw.line(surf, pal.FLOOR_LINE, (x0, STATUS_H), (x0, self.size[1]))
        y = STATUS_H + 8
        x = x0 + 10
        surf.blit(self.text.get("Shelf categories", 17, pal.PANEL_FG, bold=True), (x, y))
        y += 20
        used = sorted(set(self.header.plate_category.tolist()))
        room = max(1, (self.size[1] - STATUS_H - 230) // 17)
        for c in used[:room]:
            surf.fill(pal.category(c), pygame.Rect(x, y + 2, 14, 11))
            surf.blit(self.text.get(self.header.category_names[c][:18], 16, pal.PANEL_FG), (x + 20, y))
            y += 17
        if len(used) > room:
            surf.blit(self.text.get(f"+{len(used) - room} more", 15, pal.STATUS_DIM), (x + 20, y))
            y += 17
        y += 8
        surf.blit(self.text.get("Marks", 17, pal.PANEL_FG, bold=True), (x, y))
        y += 20
        items = (
            ("shopper (by account)", lambda cx, cy: self._disc(surf, (cx, cy), pal.ACCOUNT[0], 5)),
            ("camera track", lambda cx, cy: self._ring(surf, (cx, cy), pal.ACCOUNT[0], 7)),
            ("staff", lambda cx, cy: surf.fill(pal.STAFF, pygame.Rect(cx - 5, cy - 5, 10, 10))),
            ("shelf event", lambda cx, cy: pygame.draw.rect(
                surf, pal.EVENT, pygame.Rect(cx - 6, cy - 6, 12, 12), 3)),
            ("charged right", lambda cx, cy: self._badge(surf, (cx, cy), 1, 7)),
            ("charged wrong", lambda cx, cy: self._badge(surf, (cx, cy), 2, 7)),
            ("human review", lambda cx, cy: self._badge(surf, (cx, cy), 3, 7)),
            ("discount", lambda cx, cy: self._tag(surf, (cx - 6, cy - 6), pal.DISCOUNT, 12)),
            ("member-only", lambda cx, cy: self._tag(surf, (cx - 6, cy - 6), pal.MEMBER, 12)),
        )
        wanted = TASK_MARKS.get(self.header.task)
        for label, icon in items:
            if wanted is not None and label not in wanted:
                continue
            icon(x + 7, y + 7)
            surf.blit(self.text.get(label, 16, pal.PANEL_FG), (x + 20, y))
            y += 18
        surf.fill(pal.category(0), pygame.Rect(x + 1, y + 1, 12, 12))
        surf.fill(pal.empty(pal.category(0)), pygame.Rect(x + 1, y + 1, 12, 6))
        surf.blit(self.text.get("stock left (pale = sold)", 16, pal.PANEL_FG), (x + 20, y))

    # --- primitives ---------------------------------------------------------------
    @staticmethod
    def _disc(surf, centre, colour, r):
        pygame.draw.circle(surf, pal.OUTLINE, centre, r + 1)
        pygame.draw.circle(surf, colour, centre, r)

    @staticmethod
    def _ring(surf, centre, colour, r):
        pygame.draw.circle(surf, colour, centre, r, max(2, r // 4))

    @staticmethod
    def _tag(surf, topleft, colour, s):
        x, y = topleft
        pygame.draw.polygon(surf, colour, [(x, y), (x + s, y), (x, y + s)])
        pygame.draw.polygon(surf, pal.OUTLINE, [(x, y), (x + s, y), (x, y + s)], 1)

    @staticmethod
    def _badge(surf, centre, outcome, r, colour=None):
        colour = colour or pal.DECISION.get(outcome, pal.PENDING)
        cx, cy = centre
        pygame.draw.circle(surf, (255, 255, 255), centre, r + 1)
        pygame.draw.circle(surf, colour, centre, r)
        k = max(1, r // 2)
        w = max(1, r // 3)
        if outcome == 1:        # tick
            pygame.draw.lines(surf, (255, 255, 255), False,
                              [(cx - k, cy), (cx - k // 3, cy + k * 2 // 3), (cx + k, cy - k * 2 // 3)], w)
        elif outcome == 2:      # cross
            pygame.draw.line(surf, (255, 255, 255), (cx - k, cy - k), (cx + k, cy + k), w)
            pygame.draw.line(surf, (255, 255, 255), (cx - k, cy + k), (cx + k, cy - k), w)
        elif outcome == 3:      # eye of the reviewer: ring with a pupil
            pygame.draw.circle(surf, (255, 255, 255), centre, k, w)

    # --- frame --------------------------------------------------------------------
    def draw(self, surf: pygame.Surface, frame: Frame, layers: int = ALL_LAYERS) -> pygame.Surface:
        """Paint ``frame`` onto ``surf`` (same size as the drawer)."""
        surf.blit(self.background, (0, 0))
        if layers & Layer.STOCK:
            self._draw_stock(surf, frame)
        if layers & Layer.EVENTS:
            self._draw_events(surf, frame)
        if layers & Layer.PRICES:
            self._draw_prices(surf, frame)
        if layers & Layer.DECISIONS:
            self._draw_decisions(surf, frame)
        if layers & Layer.SHOPPERS:
            self._draw_shoppers(surf, frame)
        if layers & Layer.TRACKS:
            self._draw_tracks(surf, frame)
        self._draw_status(surf, frame)
        return surf

    def _draw_stock(self, surf, frame: Frame) -> None:
        stock = frame.plate_stock
        for p in np.flatnonzero(stock < 255).tolist():
            r = self.plate_rects[p]
            empty_h = r.h - (r.h * int(stock[p]) + 127) // 255
            if empty_h > 0:
                surf.fill(self.empty_colour[p], pygame.Rect(r.x, r.y, r.w, empty_h))

    def _draw_events(self, surf, frame: Frame) -> None:
        flash = frame.plate_event
        width = max(2, self.cell // 5)
        for p in np.flatnonzero(flash).tolist():
            colour = pal.mix(pal.FLOOR, pal.EVENT, 0.25 + 0.75 * flash[p] / 255.0)
            pygame.draw.rect(surf, colour, self.plate_rects[p].inflate(2 * width, 2 * width), width)

    def _draw_prices(self, surf, frame: Frame) -> None:
        """A corner tag per re-priced plate: colour = kind, size grows with the discount."""
        mult = frame.price_mult.astype(np.float32)
        show = np.flatnonzero((frame.promo != 0) | (np.abs(mult - 1.0) > 0.005))
        label = self.cell >= 28
        for p in show.tolist():
            kind = int(frame.promo[p])
            colour = pal.MEMBER if kind == MEMBER_ONLY else pal.DISCOUNT if kind == DISCOUNT \
                else pal.PRICE_UP
            r = self.plate_rects[p]
            depth = min(1.0, abs(1.0 - float(mult[p])))
            s = max(4, int(min(r.w, r.h) * min(0.75, 0.3 + 1.0 * depth)))
            self._tag(surf, r.topleft, colour, s)
            if label:
                pct = int(round((float(mult[p]) - 1.0) * 100))
                img = self.text.get(f"{pct:+d}%", 13, (255, 255, 255), bold=True)
                if img.get_width() <= r.w:
                    box = img.get_rect(midbottom=(r.centerx, r.bottom))
                    surf.fill(colour, box)
                    surf.blit(img, box)

    def _draw_decisions(self, surf, frame: Frame) -> None:
        if len(frame.decisions) == 0:
            return
        dec = frame.decisions[np.argsort(-frame.decisions[:, 2], kind="stable")]  # newest on top
        r_badge = max(4, int(self.cell * 0.32))
        width = max(2, self.cell // 6)
        n = self.header.n_plates
        for plate, outcome, age in dec.tolist():
            if not 0 <= plate < n:
                continue
            fade = min(0.6, max(0, age) / DECISION_FADE_TICKS)
            colour = pal.mix(pal.DECISION.get(outcome, pal.PENDING), pal.FLOOR, fade)
            rect = self.plate_rects[plate]
            pygame.draw.rect(surf, colour, rect.inflate(2 * width, 2 * width), width)
            self._badge(surf, rect.topright, outcome, r_badge, colour)

    def _draw_shoppers(self, surf, frame: Frame) -> None:
        px = self.to_px(frame.shopper_pos.astype(np.float32))
        ok = ~np.isnan(px).any(axis=1) & (frame.shopper_kind >= 0)
        r = max(3, int(self.cell * 0.3))
        for i in np.flatnonzero(ok).tolist():
            centre = (int(px[i, 0]), int(px[i, 1]))
            if frame.shopper_kind[i] == STAFF:
                box = pygame.Rect(0, 0, 2 * r + 1, 2 * r + 1)
                box.center = centre
                surf.fill(pal.OUTLINE, box.inflate(2, 2))
                surf.fill(pal.STAFF, box)
            else:
                self._disc(surf, centre, pal.account(int(frame.shopper_account[i])), r)

    def _draw_tracks(self, surf, frame: Frame) -> None:
        px = self.to_px(frame.track_pos.astype(np.float32))
        trail = self.to_px(frame.track_trail.astype(np.float32).reshape(-1, 2))
        trail = trail.reshape(frame.track_trail.shape)
        ok = ~np.isnan(px).any(axis=1)
        r = max(5, int(self.cell * 0.5))
        for i in np.flatnonzero(ok).tolist():
            colour = pal.account(int(frame.track_account[i]))
            centre = (int(px[i, 0]), int(px[i, 1]))
            pts = [tuple(q) for q in trail[i][~np.isnan(trail[i]).any(axis=1)].astype(int).tolist()]
            if pts:
                pygame.draw.lines(surf, colour, False, [*pts, centre], 2 if len(pts) else 1)
            self._ring(surf, centre, colour, r)

    def _draw_status(self, surf, frame: Frame) -> None:
        parts: list[tuple[str, str]] = []
        if self.header.task:
            parts.append(("", self.header.task.upper()))
        parts.append(("time", format_clock(frame.time_s)))
        st = frame.status
        if "n_in_store" in st:
            parts.append(("in store", f"{int(st['n_in_store'])}"))
        if "receipts_total" in st:
            right, total = int(st.get("receipts_right", 0)), int(st["receipts_total"])
            share = f" ({100 * right / total:.0f}%)" if total else ""
            parts.append(("receipts right", f"{right}/{total}{share}"))
        if "profit" in st:
            parts.append(("profit", f"${st['profit']:,.0f}"))
        for key, value in st.items():
            if key not in ("n_in_store", "receipts_right", "receipts_total", "profit"):
                text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"
                parts.append((STATUS_LABELS.get(key, key.replace("_", " ")), text))
        x = 10
        for label, value in parts:
            if label:
                img = self.text.get(label, 18, pal.STATUS_DIM)
                surf.blit(img, (x, (STATUS_H - img.get_height()) // 2 + 1))
                x += img.get_width() + 5
            img = self.text.get(value, 20, pal.STATUS_FG, bold=True)
            surf.blit(img, (x, (STATUS_H - img.get_height()) // 2 + 1))
            x += img.get_width() + 18


def surface_to_array(surf: pygame.Surface) -> np.ndarray:
    """A fresh, writable uint8 HxWx3 copy of the surface's pixels."""
    w, h = surf.get_size()
    return np.frombuffer(bytearray(pygame.image.tobytes(surf, "RGB")), np.uint8).reshape(h, w, 3)


def draw_frame(header: FrameHeader, frame: Frame, size: tuple[int, int] = DEFAULT_SIZE,
               layers: int = ALL_LAYERS) -> np.ndarray:
    """One-off convenience: draw a frame to a uint8 HxWx3 array (use FrameDrawer in loops)."""
    drawer = FrameDrawer(header, size)
    return surface_to_array(drawer.draw(pygame.Surface(drawer.size), frame, layers))
