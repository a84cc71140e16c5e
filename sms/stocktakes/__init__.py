"""Stock-takes (盘点): count sheets per warehouse, differences posted as adjustments after approval."""
