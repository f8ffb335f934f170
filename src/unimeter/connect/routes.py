"""HTTP routes of the hosted link flow."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["connect"])
