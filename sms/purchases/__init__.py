"""Purchase orders (采购单) to suppliers: proposed, approved by another person, received into an inbound draft."""
