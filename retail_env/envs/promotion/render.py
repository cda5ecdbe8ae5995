"""Drawing the Promotion env: the store's shelves with stock bars, price tags and profit.

Spatial fidelity: the walking store itself (shoppers, tracks, plates) with the
period's price tags. Aggregate fidelity has no walking store, so the view lays
the catalog out on a built-in map (plates in category blocks, end-caps showing
the current end-cap products). Both hand frames to the shared renderer.
"""

from __future__ import annotations

import numpy as np

from retail_env.envs.promotion.core import PromoParams, PromoState, endcap_exposure, kpis_from
from retail_env.render.frame import (
    DISCOUNT,
    MEMBER_ONLY,
    NO_PROMO,
    Frame,
    FrameHeader,
    make_frame,
)
from retail_env.render.snapshot import frame_from_state, header_from_params
from retail_env.sim.layout import load_layout


def display_planogram(n_plates: int, endcap: np.ndarray, n_products: int) -> np.ndarray:
    """(P,) product per plate: shelf plates in contiguous blocks, end-caps in turn."""
    out = np.zeros(n_plates, dtype=np.int64)
    shelf = np.flatnonzero(~endcap)
    out[shelf] = (np.arange(len(shelf)) * n_products) // max(len(shelf), 1)
    out[np.flatnonzero(endcap)] = np.arange(endcap.sum()) % n_products
    return out


class PromotionView:
    """Frames of one store (B index 0), for the shared Renderer and recordings."""

    def __init__(self, params: PromoParams, spatial=None):
        cat = params.catalog
        self.params, self.spatial = params, spatial
        if spatial is not None:
            self.header = header_from_params(spatial.sim, task="promotion")
            self.plate_product = np.asarray(spatial.sim.planogram.truth)
            self.endcap = np.zeros(len(self.plate_product), bool)
        else:
            layout = load_layout("small" if cat.n_products <= 8 else "medium")
            self.endcap = np.asarray(layout.plate_endcap, dtype=bool)
            self.plate_product = display_planogram(layout.n_plates, self.endcap, cat.n_products)
            self.header = FrameHeader(
                grid=layout.grid,
                cell_m=layout.cell_m,
                plate_cell=layout.plate_cell,
                plate_category=cat.category[self.plate_product],
                plate_product=self.plate_product,
                category_names=cat.category_names,
                product_names=cat.name,
                task="promotion",
            )

    def frame(self, state: PromoState) -> Frame:
        """Store 0 now, as a :class:`Frame` (what ``RecordEpisode`` would record)."""
        p, cat = self.params, self.params.catalog
        prod = self.plate_product.copy()
        on_cap = np.flatnonzero(endcap_exposure(p, state.price)[0] > 0)
        caps = np.flatnonzero(self.endcap)
        if len(on_cap) and len(caps):
            prod[caps] = on_cap[np.arange(len(caps)) % len(on_cap)]
        mult = state.price[0, 1] / cat.price
        promo = np.where(
            state.depth[0] > 0, np.where(state.member_only[0], MEMBER_ONLY, DISCOUNT), NO_PROMO
        )
        k = kpis_from(state.totals)
        status = {
            "profit": float(k["profit"][0]),
            "units": float(k["units"][0]),
            "spoiled": float(k["spoilage"][0]),
            "stock_outs": float(k["stockouts"][0]),
        }
        if self.spatial is not None:
            return frame_from_state(
                self.spatial.state,
                self.spatial.sim,
                0,
                header=self.header,
                price_mult=mult[prod],
                promo=promo[prod],
                status=status,
            )
        stock = state.inv.on_hand[0] / np.maximum(p.plan.order_up_to, 1)
        hours = p.config.start_hour + state.period * p.config.period_h
        return make_frame(
            self.header,
            time_s=hours * 3600.0,
            shopper_pos=np.zeros((0, 2)),
            shopper_kind=np.zeros(0, dtype=np.int64),
            plate_stock_frac=np.clip(stock[prod], 0.0, 1.0),
            price_mult=mult[prod],
            promo=promo[prod],
            status=status,
        )
