"""HAMP 门诊 (oms)."""
