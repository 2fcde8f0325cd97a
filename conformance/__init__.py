"""Black-box xAPI LRS conformance suite (see README.md)."""
