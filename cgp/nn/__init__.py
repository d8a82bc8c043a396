"""Network building blocks shared by plugins (no plugin imports another; they import these)."""
