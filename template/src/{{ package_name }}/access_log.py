"""uvicorn's access log without the secrets that a client may put in a URL.

A password grant sent as a query string (`POST /token?password=…`), or a token in one
(`?access_token=…`, RFC 6750 §2.3, which this service does not accept), would otherwise be
written to every access log line: the whole query of the token path is hidden, and elsewhere
the values of the parameters named below.
"""

import logging
from urllib.parse import unquote_plus

ACCESS_LOGGER = "uvicorn.access"
SECRET_PARAMETERS = frozenset({"token", "code", "assertion"})
SECRET_PARTS = ("password", "secret", "_token", "token_")
"""A parameter is hidden when its name is one of these, or contains one of the parts."""
HIDDEN = "[hidden]"


class HideSecretsInURLs(logging.Filter):
    """Rewrites the path of uvicorn's access records (`client, method, path, version, status`)."""

    def __init__(self, token_path: str) -> None:
        super().__init__()
        self._token_path = token_path

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], self.redacted(args[2]), *args[3:])
        return True

    def redacted(self, target: str) -> str:
        path, _, query = target.partition("?")
        if not query:
            return target
        # Behind a path prefix (`--root-path /api`), uvicorn logs `/api/token`.
        if unquote_plus(path).rstrip("/").endswith(self._token_path):
            return f"{path}?{HIDDEN}"
        parameters = []
        for parameter in query.split("&"):
            name, equals, _ = parameter.partition("=")
            if equals and _is_secret(unquote_plus(name).lower()):
                parameter = f"{name}={HIDDEN}"
            parameters.append(parameter)
        return f"{path}?{'&'.join(parameters)}"


def hide_secrets_in_access_log(token_path: str) -> None:
    """Install the filter on uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, HideSecretsInURLs) for existing in logger.filters):
        logger.addFilter(HideSecretsInURLs(token_path))


def _is_secret(name: str) -> bool:
    return name in SECRET_PARAMETERS or any(part in name for part in SECRET_PARTS)
