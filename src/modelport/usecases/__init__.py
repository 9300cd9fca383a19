"""The use cases: everything the HTTP API and the CLI can ask of modelport, over the repositories,
the catalog, the storage and the worker wake-up.

Routes and commands parse their input, call one method here, and present the result; features
(cancel, webhooks, quotas, the console) attach here, not to routes. Domain errors raised here
(`modelport.domain.errors`) become wire codes at the HTTP edge.
"""
