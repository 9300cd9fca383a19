"""The `modelport` command: the server and worker, operator commands, and the user verbs."""
