"""The HTTP edge: DashScope-compatible routes, the wire error table, auth and request ids."""
