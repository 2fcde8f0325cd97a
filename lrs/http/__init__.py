"""The HTTP layer: thin Starlette routes and pure-ASGI middleware."""
