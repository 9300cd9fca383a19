"""Route modules: the four DashScope routes, the extension routes, and operations endpoints."""
