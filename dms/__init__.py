"""HAMP 排班 (dms)."""
