"""Cluster entry points: take ids, call services."""

from __future__ import annotations

from catalog import services


def analyse_product(product_id: str) -> None:
    services.analyse_product(product_id)
