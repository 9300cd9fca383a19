"""The one exception by which an import is stopped from outside: its lease was lost, its worker is
shutting down, or the user cancelled it. Raised from wherever the import is (the sandboxed
inspection, a copy between chunks, just before publishing); the worker decides what it means.
"""


class CopyCancelled(Exception):
    """The worker asked the import to stop; its staging area is discarded and nothing is published."""
