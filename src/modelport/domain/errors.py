"""Errors that domain and repository code raise; the HTTP edge maps each to one wire code.

Nothing here knows about HTTP statuses: `modelport.api.errors` holds the only table from these
classes to `{code, status}`.
"""


class ServiceError(Exception):
    """An error a client caused or must see; `message` is the sentence put on the wire."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(ServiceError):
    pass


class InvalidApiKey(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class OperationDenied(ServiceError):
    pass


class Throttling(ServiceError):
    """A workspace limit (quota) would be exceeded; the client may retry later."""
