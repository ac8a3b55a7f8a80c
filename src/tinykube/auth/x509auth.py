"""x509 client-certificate authentication: the TLS layer verified the chain against the cluster
CA (CERT_OPTIONAL), so a presented certificate names its user: CN the user name, each O a group.

uvicorn does not put the peer certificate in the ASGI scope; `PeerCertProtocol` wraps its HTTP
protocol so each connection's scope state carries the DER bytes as `peer_cert`.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from tinykube.auth.user import UserInfo

STATE_KEY = "peer_cert"


def user_from_certificate(der: bytes) -> UserInfo | None:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[0]:
        return None
    groups = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return UserInfo(str(names[0]), groups=groups).with_authenticated()


def peer_cert_protocol(base: type) -> type:
    """A subclass of uvicorn's HTTP protocol class `base` that records the TLS peer certificate."""

    class PeerCertProtocol(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.app_state = dict(self.app_state)  # per connection, copied into each request's scope

        def connection_made(self, transport: Any) -> None:
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            self.app_state[STATE_KEY] = der
            super().connection_made(transport)

    return PeerCertProtocol
