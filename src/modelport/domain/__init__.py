"""The domain: import jobs, their states and the errors the API speaks. No I/O lives here."""
