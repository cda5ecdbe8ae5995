"""Gymnasium environments over the batched simulator (attribution and promotion)."""
