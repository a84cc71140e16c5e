"""Who may write to the registry: HTTP Basic, as a Spring Eureka server secured by Spring Security.

Anyone who reaches the registry's port could otherwise register a fake OMS and be sent users'
bearer tokens by the gateway. Reads stay open (what is registered is no secret inside the
network); every write — register, renew, cancel, status, metadata, replication between peers —
needs the credentials. Clients carry them in their registry URLs (`http://user:pw@host/eureka/`),
as py-eureka-client and Spring's client read them; HAMP components add them themselves.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from shared.settings import HampSettings
from shared.var_files import local_secret

PASSWORD_FILE = "registry-password"


def registry_credentials(settings: HampSettings) -> tuple[str, str]:
    """(user, password): the settings, or in the embedded profile the password every process
    sharing this var dir reads from var/keys/registry-password."""
    return settings.registry_username, settings.registry_password or local_secret(settings.var_dir, PASSWORD_FILE)


def urls_with_credentials(settings: HampSettings, urls: list[str]) -> list[str]:
    """Each of `urls` carrying the registry's credentials, unless it names a user already (a
    registry of someone else's, such as a Spring Eureka server with its own)."""
    if all(urlsplit(url).username is not None for url in urls):
        return urls  # the embedded password is not even made
    user, password = registry_credentials(settings)
    return [with_credentials(url, user, password) for url in urls]


def with_credentials(url: str, user: str, password: str) -> str:
    """`url` with user:password in it, unless it already names a user (then it is left as given)."""
    parts = urlsplit(url)
    if parts.username is not None or not parts.hostname:
        return url
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return urlunsplit(parts._replace(netloc=userinfo + parts.netloc))


def without_credentials(url: str) -> str:
    """`url` fit for a log line or a page."""
    parts = urlsplit(url)
    if parts.username is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def basic_header(url: str) -> dict[str, str]:
    """The Authorization header for the credentials in `url` ({} when it names none)."""
    parts = urlsplit(url)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def basic_matches(header: str | None, user: str, passwords: tuple[str, ...]) -> bool:
    """Whether an Authorization header carries `user` and one of `passwords` (compared in
    constant time, every password tried, so the answer's timing tells nothing)."""
    if not header or not header[:6].lower() == "basic ":
        return False
    try:
        given_user, _, given_password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = False
    for password in passwords:
        if password:
            password_ok |= hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok
