"""Enterprise applications and decisions (approve, suspend, reinstate, exit)."""
