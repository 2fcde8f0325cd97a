"""Who is calling: credentials, tokens, scopes. Pure: no I/O, no framework."""
