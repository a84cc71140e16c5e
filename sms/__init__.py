"""HAMP 仓库 (sms)."""
