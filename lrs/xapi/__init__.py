"""xAPI rules as pure functions over plain dicts: no I/O, no framework."""
