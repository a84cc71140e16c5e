"""HAMP 药房 (pms)."""
