"""The web console at `/console`: a static page, ES modules and a style sheet, shipped as package data.

It owns no data path and no session: the browser calls the public HTTP API with the key a person
pastes (kept in that tab's sessionStorage). This package only serves the files, under a strict
Content-Security-Policy, and stays out of the OpenAPI document.
"""

from modelport.console.routes import router

__all__ = ["router"]
