"""Disposals (报损销毁): units taken out of a batch for good, expired stock included."""
