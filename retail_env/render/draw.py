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

from retail_env.render import marks
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
from retail_env.render.legend import COL_W, ROW, draw_legend, rows_needed

DEFAULT_SIZE = (800, 600)
STATUS_H = 30
LEGEND_W = 176
DECISION_SHOW_TICKS = 600  # a decision mark fades out over 60 s of store time [A]
DECISION_RING_TICKS = 50  # ... and outlines its plate for the first 5 s (what just happened)
SHOPPER_R = 0.3  # shopper disc radius, in cells
TRACK_R = 0.42  # camera-track ring radius: just wider than the disc it circles


class Layer(enum.IntFlag):
    """Overlays that can be switched on and off (number keys 1-6 in playback)."""

    SHOPPERS = 1
    TRACKS = 2
    STOCK = 4
    EVENTS = 8
    DECISIONS = 16
    PRICES = 32


ALL_LAYERS = (
    Layer.SHOPPERS | Layer.TRACKS | Layer.STOCK | Layer.EVENTS | Layer.DECISIONS | Layer.PRICES
)
LAYER_ORDER = (
    Layer.SHOPPERS,
    Layer.TRACKS,
    Layer.STOCK,
    Layer.EVENTS,
    Layer.DECISIONS,
    Layer.PRICES,
)

STATUS_LABELS = {"n_in_store": "in store", "profit": "profit", "reviews": "reviews"}


class FrameDrawer:
    """Draws frames of one store (one :class:`FrameHeader`) at a fixed canvas size."""

    def __init__(
        self, header: FrameHeader, size: tuple[int, int] = DEFAULT_SIZE, legend: bool = True
    ):
        self.header = header
        self.size = (int(size[0]), int(size[1]))
        self.text = marks.TextCache()
        self.cell, self.origin, self.legend_rect, self.legend_cols = self._layout(legend)
        self.plate_rects = self._plate_rects()
        self.full_colour = [pal.category(c) for c in header.plate_category]
        self.empty_colour = [pal.empty(c) for c in self.full_colour]
        self.plate_runs = self._plate_runs()
        self.background = self._background()

    def _layout(self, legend: bool):
        """Cell size, map origin and legend box: the legend goes beside the map or under it,
        whichever leaves the bigger cells (a wide store reads better with it underneath)."""
        w, h = self.size
        gh, gw = self.header.grid.shape
        top, avail_h = STATUS_H + 4, h - STATUS_H - 8
        options = [(max(2, int(min((w - 8) / gw, avail_h / gh))), 0, 0, 0)]  # no legend
        if legend and w >= 480:
            options = [(max(2, int(min((w - LEGEND_W - 8) / gw, avail_h / gh))), LEGEND_W, 0, 1)]
            cols = w // COL_W
            leg_h = rows_needed(self.header, cols) * ROW + 12
            if avail_h - leg_h > 0:
                options.append(
                    (max(2, int(min((w - 8) / gw, (avail_h - leg_h) / gh))), 0, leg_h, cols)
                )
        cell, side, below, cols = max(options, key=lambda o: o[0])  # ties: the first
        map_w, map_h = cell * gw, cell * gh
        pad_y = (avail_h - below - map_h) // 2
        origin = (4 + (w - side - 8 - map_w) // 2, top + pad_y)
        if side:
            rect = pygame.Rect(w - side, STATUS_H, side, h - STATUS_H)
        elif below:
            rect = pygame.Rect(0, origin[1] + map_h + 4, w, below)
        else:
            rect = None
        return cell, origin, rect, cols

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
            rects.append(
                pygame.Rect(
                    x0 + inset, r.y + inset, max(1, x1 - x0 - 2 * inset), max(1, r.h - 2 * inset)
                )
            )
        return rects

    def _plate_runs(self) -> list[list[int]]:
        """Plates side by side on one shelf row (left to right): a price label spans a run."""
        cells = self.header.plate_cell
        order = np.lexsort((np.arange(len(cells)), cells[:, 1], cells[:, 0])).tolist()
        runs: list[list[int]] = []
        for p in order:
            if (
                runs
                and cells[runs[-1][-1], 0] == cells[p, 0]
                and cells[p, 1] - cells[runs[-1][-1], 1] in (0, 1)
            ):
                runs[-1].append(p)
            else:
                runs.append([p])
        return runs

    # --- static background --------------------------------------------------------
    def _background(self) -> pygame.Surface:
        surf = pygame.Surface(self.size)
        surf.fill(pal.PANEL_BG)
        grid = self.header.grid
        gh, gw = grid.shape
        c = self.cell
        colour = {WALL: pal.WALL, SHELF: pal.SHELF_EDGE, ENTRY: pal.ENTRY, EXIT: pal.EXIT}
        surf.fill(pal.FLOOR, pygame.Rect(*self.origin, gw * c, gh * c))
        if c >= 8:  # faint floor tiles help judge distances
            for col in range(gw + 1):
                x = self.origin[0] + col * c
                pygame.draw.line(
                    surf, pal.FLOOR_LINE, (x, self.origin[1]), (x, self.origin[1] + gh * c)
                )
            for row in range(gh + 1):
                y = self.origin[1] + row * c
                pygame.draw.line(
                    surf, pal.FLOOR_LINE, (self.origin[0], y), (self.origin[0] + gw * c, y)
                )
        for (row, col), code in np.ndenumerate(grid):
            if code in colour:
                surf.fill(colour[code], self.cell_rect(row, col))
            elif code == ENDCAP:
                pygame.draw.rect(surf, pal.ENDCAP_EDGE, self.cell_rect(row, col), max(1, c // 5))
        for rect, full in zip(self.plate_rects, self.full_colour, strict=True):
            surf.fill(full, rect)
        self._gate_labels(surf)
        surf.fill(pal.STATUS_BG, pygame.Rect(0, 0, self.size[0], STATUS_H))
        if self.legend_rect is not None:
            draw_legend(surf, self.text, self.header, self.legend_rect, self.legend_cols)
        return surf

    def _gate_labels(self, surf: pygame.Surface) -> None:
        """'IN' / 'OUT' on a tag in the gate's colour, centred on the gate cells."""
        for code, label, colour in ((ENTRY, "IN", pal.ENTRY), (EXIT, "OUT", pal.EXIT)):
            gates, n = ndimage.label(self.header.grid == code)  # each gate separately  # pyright: ignore[reportGeneralTypeIssues]  (returns (labels, n))
            for g in range(1, n + 1):
                rows, cols = np.nonzero(gates == g)
                box = self.cell_rect(rows.min(), cols.min()).union(
                    self.cell_rect(rows.max(), cols.max())
                )
                img = self.text.get(
                    label, int(min(20, max(12, self.cell * 0.8))), pal.PANEL_FG, bold=True
                )
                tag = img.get_rect(center=box.center).inflate(6, 2).clamp(surf.get_rect())
                surf.fill(colour, tag)
                pygame.draw.rect(surf, pal.PANEL_FG, tag, 1)
                surf.blit(img, img.get_rect(center=tag.center))

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
            colour = pal.mix(pal.FLOOR, pal.EVENT, 0.25 + 0.75 * float(flash[p]) / 255.0)
            pygame.draw.rect(surf, colour, self.plate_rects[p].inflate(2 * width, 2 * width), width)

    def _draw_prices(self, surf, frame: Frame) -> None:
        """A corner tag per re-priced plate (colour = kind, size grows with the depth) and one
        readable label ("-30%") per run of neighbouring plates with the same offer."""
        mult = frame.price_mult.astype(np.float32)
        pct = np.rint((mult - 1.0) * 100).astype(int)
        kind = frame.promo.astype(int)
        shown = (kind != 0) | (pct != 0)
        size = int(min(16, max(11, self.cell * 0.55)))
        for p in np.flatnonzero(shown).tolist():
            r = self.plate_rects[p]
            depth = min(1.0, abs(1.0 - float(mult[p])))
            marks.corner_tag(
                surf,
                r.topleft,
                self._promo_colour(int(kind[p])),
                max(4, int(min(r.w, r.h) * min(0.6, 0.25 + depth))),
            )
        if self.cell < 10:
            return
        for run in self.plate_runs:
            i = 0
            while i < len(run):
                p = run[i]
                j = i + 1
                while (
                    j < len(run)
                    and shown[p]
                    and kind[run[j]] == kind[p]
                    and pct[run[j]] == pct[p]
                    and shown[run[j]]
                ):
                    j += 1
                if shown[p]:
                    box = self.plate_rects[run[i]].union(self.plate_rects[run[j - 1]])
                    marks.label(
                        surf,
                        self.text,
                        f"{pct[p]:+d}%" if pct[p] else "member",
                        size,
                        self._promo_colour(kind[p]),
                        (box.centerx, box.bottom - 1),
                    )
                i = j

    @property
    def decision_ring_width(self) -> int:
        return max(2, self.cell // 8)

    @staticmethod
    def _promo_colour(kind: int) -> pal.RGB:
        return (
            pal.MEMBER
            if kind == MEMBER_ONLY
            else pal.DISCOUNT
            if kind == DISCOUNT
            else pal.PRICE_UP
        )

    def _draw_decisions(self, surf, frame: Frame) -> None:
        """The newest decision per plate: a small badge that fades out, plus an outline
        round the plate while the decision is fresh."""
        dec = frame.decisions
        if len(dec) == 0:
            return
        dec = dec[
            (dec[:, 2] < DECISION_SHOW_TICKS)
            & (dec[:, 0] >= 0)
            & (dec[:, 0] < self.header.n_plates)
        ]
        dec = dec[np.argsort(dec[:, 2], kind="stable")]
        _, first = np.unique(dec[:, 0], return_index=True)  # newest per plate
        r_badge = max(4, int(self.cell * 0.2))
        width = self.decision_ring_width
        for plate, outcome, age in dec[np.sort(first)[::-1]].tolist():  # newest drawn last
            colour = pal.DECISION.get(outcome, pal.PENDING)
            rect = self.plate_rects[plate]
            if age < DECISION_RING_TICKS:
                pygame.draw.rect(surf, colour, rect.inflate(2 * width, 2 * width), width)
            faded = pal.mix(colour, pal.FLOOR, 0.8 * max(0, age) / DECISION_SHOW_TICKS)
            marks.badge(
                surf, (rect.right - r_badge // 2, rect.top + r_badge // 2), outcome, r_badge, faded
            )

    def _draw_shoppers(self, surf, frame: Frame) -> None:
        px = self.to_px(frame.shopper_pos.astype(np.float32))
        ok = ~np.isnan(px).any(axis=1) & (frame.shopper_kind >= 0)
        r = max(3, int(self.cell * SHOPPER_R))
        for i in np.flatnonzero(ok).tolist():
            centre = (int(px[i, 0]), int(px[i, 1]))
            if frame.shopper_kind[i] == STAFF:
                box = pygame.Rect(0, 0, 2 * r + 1, 2 * r + 1)
                box.center = centre
                surf.fill(pal.OUTLINE, box.inflate(2, 2))
                surf.fill(pal.STAFF, box)
            else:
                marks.disc(surf, centre, pal.account(int(frame.shopper_account[i])), r)

    def _draw_tracks(self, surf, frame: Frame) -> None:
        px = self.to_px(frame.track_pos.astype(np.float32))
        trail = self.to_px(frame.track_trail.astype(np.float32).reshape(-1, 2))
        trail = trail.reshape(frame.track_trail.shape)
        ok = ~np.isnan(px).any(axis=1)
        r = max(5, int(self.cell * TRACK_R))
        for i in np.flatnonzero(ok).tolist():
            colour = pal.account(int(frame.track_account[i]))
            centre = (int(px[i, 0]), int(px[i, 1]))
            pts = [tuple(q) for q in trail[i][~np.isnan(trail[i]).any(axis=1)].astype(int).tolist()]
            if pts:
                pygame.draw.lines(surf, colour, False, [*pts, centre], 2 if len(pts) else 1)
            marks.ring(surf, centre, colour, r)

    def _draw_status(self, surf, frame: Frame) -> None:
        parts: list[tuple[str, str]] = []
        if self.header.task:
            parts.append(("", self.header.task.upper()))
        parts.append(("time", format_clock(frame.time_s)))
        st = frame.status
        if "n_in_store" in st:
            parts.append(("in store", f"{int(st['n_in_store'])}"))
        if "decisions" in st:
            right, total = int(st.get("decisions_right", 0)), int(st["decisions"])
            share = f" ({100 * right / total:.0f}%)" if total else ""
            parts.append(("decisions right", f"{right}/{total}{share}"))
        if "profit" in st:
            parts.append(("profit", f"${st['profit']:,.0f}"))
        for key, value in st.items():
            if key not in ("n_in_store", "decisions_right", "decisions", "profit"):
                text = (
                    f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"
                )
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


def draw_frame(
    header: FrameHeader,
    frame: Frame,
    size: tuple[int, int] = DEFAULT_SIZE,
    layers: int = ALL_LAYERS,
) -> np.ndarray:
    """One-off convenience: draw a frame to a uint8 HxWx3 array (use FrameDrawer in loops)."""
    drawer = FrameDrawer(header, size)
    return surface_to_array(drawer.draw(pygame.Surface(drawer.size), frame, layers))
