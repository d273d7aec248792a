"""A small, real implementation of the Compute API's Migrate Server action.

It serves ``POST /v2.1/{project_id}/servers/{server_id}/action`` with
``{"migrate": null}`` over HTTP the way Nova does, plus the server, action and
os-migrations calls a conformance run needs to set a server up and watch it move.
"""

from .app import ComputeApp, create_app
from .serving import RunningServer, serve_in_thread

__all__ = ["ComputeApp", "RunningServer", "create_app", "serve_in_thread"]
