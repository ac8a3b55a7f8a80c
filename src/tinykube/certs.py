"""The cluster's TLS material: a CA made at first start, a serving certificate and the admin's
client certificate it signs.

kubectl sends bearer tokens only over TLS, so the API server always serves HTTPS; the
kubeconfig carries the CA so clients verify the server, as with k3s and kubeadm.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY_DAYS = 3650
SERVING_VALIDITY_DAYS = 365
CLIENT_VALIDITY_DAYS = 365
ADMIN_SUBJECT = ("tinykube-admin", "system:masters")  # CN (user name), O (group), as kubeadm's admin.conf


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str, *organizations: str) -> x509.Name:
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _make_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"tinykube-ca@{int(now.timestamp())}")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _serving_names(bind_address: str, service_ip: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName("kubernetes"),
                                     x509.DNSName("kubernetes.default"), x509.DNSName("kubernetes.default.svc"),
                                     x509.DNSName("kubernetes.default.svc.cluster.local"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     # the `kubernetes` Service's ClusterIP, which in-cluster clients dial
                                     x509.IPAddress(ipaddress.ip_address(service_ip))]
    hostname = socket.gethostname()
    if hostname and hostname != "localhost":
        names.append(x509.DNSName(hostname))
    if bind_address not in ("127.0.0.1", "0.0.0.0", "::", ""):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(bind_address)))
        except ValueError:
            names.append(x509.DNSName(bind_address))
    return names


def _make_serving(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime,
                  bind_address: str, service_ip: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("kube-apiserver")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=SERVING_VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName(_serving_names(bind_address, service_ip)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def issue_client_certificate(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime,
                             common_name: str, *groups: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A client certificate the API server accepts as user `common_name` in `groups`."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(common_name, *groups)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CLIENT_VALIDITY_DAYS))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def ensure_tls(pki_dir: Path, now: dt.datetime, bind_address: str = "127.0.0.1",
               service_ip: str = "10.96.0.1") -> TLSFiles:
    """Load the CA (or make one), and issue a fresh serving certificate for this start, naming
    also the `kubernetes` Service's ClusterIP (the first of the service range), as upstream's."""
    files = TLSFiles(pki_dir / "ca.crt", pki_dir / "serving.crt", pki_dir / "serving.key",
                     pki_dir / "admin.crt", pki_dir / "admin.key")
    ca_key_path = pki_dir / "ca.key"
    if files.ca_cert.exists() and ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    else:
        ca_key, ca_cert = _make_ca(now)
        _write(ca_key_path, _key_pem(ca_key), private=True)
        _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    key, cert = _make_serving(ca_key, ca_cert, now, bind_address, service_ip)
    _write(files.serving_key, _key_pem(key), private=True)
    _write(files.serving_cert, cert.public_bytes(serialization.Encoding.PEM))
    if not _valid_client(files.admin_cert, ca_cert, now):
        key, cert = issue_client_certificate(ca_key, ca_cert, now, *ADMIN_SUBJECT)
        _write(files.admin_key, _key_pem(key), private=True)
        _write(files.admin_cert, cert.public_bytes(serialization.Encoding.PEM))
    return files


def _valid_client(path: Path, ca_cert: x509.Certificate, now: dt.datetime) -> bool:
    """A client certificate kept from an earlier start is reused while this CA's and current."""
    if not path.exists() or not path.with_suffix(".key").exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        return False
    return cert.issuer == ca_cert.subject and cert.not_valid_after_utc > now + dt.timedelta(days=30)
