"""The legend: what each colour and mark means, flowed into columns beside or under the map.

Lives in the cached background, so it costs nothing per frame. Only the marks a task
actually draws are listed (an attribution picture has no price tags, a promotion
picture no decisions), so the legend stays short enough to read at a glance.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from retail_env.render import marks
from retail_env.render import palette as pal
from retail_env.render.frame import CORRECT, REVIEWED, WRONG, FrameHeader

ROW = 17  # px per legend line
COL_W = 198  # px per column when the legend runs under the map
Icon = Callable[[pygame.Surface, int, int], object]


def _stock(surf, cx, cy):
    surf.fill(pal.category(0), pygame.Rect(cx - 6, cy - 6, 12, 12))
    surf.fill(pal.empty(pal.category(0)), pygame.Rect(cx - 6, cy - 6, 12, 6))


MARKS: dict[str, Icon] = {
    "shopper (colour = account)": lambda s, x, y: marks.disc(s, (x, y), pal.ACCOUNT[0], 5),
    "camera track (ring, trail)": lambda s, x, y: marks.ring(s, (x, y), pal.ACCOUNT[0], 7),
    "staff": lambda s, x, y: s.fill(pal.STAFF, pygame.Rect(x - 5, y - 5, 10, 10)),
    "shelf event (deciding)": lambda s, x, y: pygame.draw.rect(
        s, pal.EVENT, pygame.Rect(x - 6, y - 6, 12, 12), 3
    ),
    "charged right": lambda s, x, y: marks.badge(s, (x, y), CORRECT, 6),
    "charged wrong": lambda s, x, y: marks.badge(s, (x, y), WRONG, 6),
    "human review": lambda s, x, y: marks.badge(s, (x, y), REVIEWED, 6),
    "discount (tag: % off)": lambda s, x, y: marks.corner_tag(s, (x - 6, y - 6), pal.DISCOUNT, 12),
    "member-only discount": lambda s, x, y: marks.corner_tag(s, (x - 6, y - 6), pal.MEMBER, 12),
    "stock left (pale = sold)": _stock,
}
TASK_MARKS = {
    "attribution": (
        "shopper (colour = account)",
        "camera track (ring, trail)",
        "staff",
        "shelf event (deciding)",
        "charged right",
        "charged wrong",
        "human review",
        "stock left (pale = sold)",
    ),
    "promotion": (
        "shopper (colour = account)",
        "staff",
        "discount (tag: % off)",
        "member-only discount",
        "stock left (pale = sold)",
    ),
}


def _category_icon(c: int) -> Icon:
    return lambda s, x, y: s.fill(pal.category(c), pygame.Rect(x - 7, y - 5, 14, 11))


def legend_rows(header: FrameHeader) -> list[tuple[str, Icon | None]]:
    """(text, icon) lines; icon None marks a section heading."""
    used = sorted(set(header.plate_category.tolist()))
    rows: list[tuple[str, Icon | None]] = [("Shelf categories", None)]
    rows += [(header.category_names[c][:22], _category_icon(c)) for c in used]
    rows.append(("Marks", None))
    rows += [(name, MARKS[name]) for name in TASK_MARKS.get(header.task, tuple(MARKS))]
    return rows


def _place(rows, per_col: int) -> list[tuple[int, int]]:
    """(column, row) of every line: sections are separated by a blank line, and a heading
    never sits alone at the foot of a column."""
    out, col, r = [], 0, 0
    for i, (_, icon) in enumerate(rows):
        if icon is None and i:
            r += 1  # gap before a new section
            if r >= per_col - 1:
                col, r = col + 1, 0
        elif r >= per_col:
            col, r = col + 1, 0
        out.append((col, r))
        r += 1
    return out


def rows_needed(header: FrameHeader, n_cols: int) -> int:
    """The fewest lines per column that fit the whole legend into ``n_cols`` columns."""
    rows = legend_rows(header)
    for per_col in range(2, len(rows) + 2):
        if _place(rows, per_col)[-1][0] < n_cols:
            return per_col
    return len(rows) + 1


def draw_legend(
    surf: pygame.Surface, text: marks.TextCache, header: FrameHeader, rect: pygame.Rect, n_cols: int
) -> None:
    """Paint the legend into ``rect`` in ``n_cols`` columns (lines that do not fit are cut)."""
    surf.fill(pal.PANEL_BG, rect)
    rows = legend_rows(header)
    per_col = max(2, (rect.h - 8) // ROW)
    col_w = rect.w // n_cols
    for (label, icon), (col, r) in zip(rows, _place(rows, per_col), strict=True):
        if col >= n_cols:
            break
        x, y = rect.x + 10 + col * col_w, rect.y + 6 + r * ROW
        if icon is None:
            surf.blit(text.get(label, 17, pal.PANEL_FG, bold=True), (x, y))
        else:
            icon(surf, x + 7, y + 7)
            surf.blit(text.get(label, 16, pal.PANEL_FG), (x + 20, y))
