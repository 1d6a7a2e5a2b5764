"""Run the app under uvicorn: N worker processes, optional TLS, graceful SIGTERM/SIGINT.

uvicorn's own signal handling is the clean shutdown: on SIGTERM or SIGINT it stops accepting,
lets in-flight requests finish (each decision is one transaction: committed whole or not at
all), runs the app's lifespan end (every bridge closes its store connection) and exits 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from host_bridge.http.config import ENV_HTTP_CONFIG, HttpConfig


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    workers: int = 1
    certfile: Path | None = None
    keyfile: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("the port must be 0 to 65535")
        if not 1 <= self.workers <= 64:
            raise ValueError("--workers must be 1 to 64")
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("TLS needs both --tls-cert and --tls-key")


def serve(options: ServeOptions, config: HttpConfig) -> None:
    """Serve until SIGTERM/SIGINT. Workers read their configuration from the environment."""
    os.environ[ENV_HTTP_CONFIG] = config.to_env()
    uvicorn.run(
        "host_bridge.http.app:factory", factory=True, host=options.host, port=options.port,
        workers=options.workers, log_level="warning", access_log=False,
        ssl_certfile=str(options.certfile) if options.certfile else None,
        ssl_keyfile=str(options.keyfile) if options.keyfile else None,
        timeout_graceful_shutdown=30, server_header=False,
    )
