"""``shrinkwatch serve``: the engine behind an HTTP API, so a page can recompute a standard live.

The layer sits at the top beside the command line: it may use every stage below (``pipeline.load_any``,
``identification``, ``forecast``, ``analysis.unit_profile``, ``report``), and nothing imports it but the
``serve`` command, which does so inside its function so that ``shrinkwatch --help`` stays fast.

- :mod:`~shrinkwatch.serve.app`: the FastAPI app and its endpoints (``/api/...``, ``/docs`` offline)
- :mod:`~shrinkwatch.serve.workspace`: datasets, standards and results, computed once per key
- :mod:`~shrinkwatch.serve.cache`: the LRU cache with single flight
- :mod:`~shrinkwatch.serve.security`: loopback and the token, datasets confined to the served folders, limits
- :mod:`~shrinkwatch.serve.server`: uvicorn in the foreground (:func:`serve`) or in a thread (:func:`background`)
"""

from shrinkwatch.serve.app import create_app
from shrinkwatch.serve.security import ServeSettings, check_bind
from shrinkwatch.serve.server import Running, background, serve
from shrinkwatch.serve.workspace import Workspace

__all__ = ["create_app", "ServeSettings", "check_bind", "serve", "background", "Running", "Workspace"]
