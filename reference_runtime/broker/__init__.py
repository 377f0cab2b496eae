"""The embedded NGSI-LD broker: the local default of the runtime, as SQLite is for databases.

Real deployments point the runtime at Orion-LD, Scorpio or Stellio by URL; this small broker speaks the same
HTTP API subset over real HTTP so the runtime, the demo and the tests need nothing else.
"""

from .app import create_app
from .server import run

__all__ = ["create_app", "run"]
