"""The embedded cluster's PKI, made with `cryptography`.

One CA signs the API server's serving certificate and the client certificates; a separate
RSA-2048 key pair signs service-account tokens (RS256, as kubeadm and kind do). Private keys
are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsetup._files import write_atomic

VALIDITY = dt.timedelta(days=365)
"""How long the lab's certificates are valid."""

SERVICE_IP = "10.0.0.1"
"""First address of the service range (--service-cluster-ip-range=10.0.0.0/24)."""

API_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Pki:
    """Paths of every PKI file in a lab directory."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        """Map attribute names such as `ca_crt` to files such as `ca.crt`."""
        if name.startswith("_"):
            raise AttributeError(name)
        stem, _, ext = name.rpartition("_")
        return self.root / f"{stem.replace('_', '-')}.{ext}"

    def exists(self) -> bool:
        """Tell whether a complete PKI is already on disk."""
        return all(
            p.exists() for p in (self.ca_crt, self.apiserver_crt, self.sa_key, self.admin_crt, self.kcm_crt)
        )


def _pem_key(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, key: Key, now: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def new_ca(cn: str = "sa-lab-ca") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Create a self-signed CA (ECDSA P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        _builder(_name(cn), _name(cn), key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    cn: str,
    *,
    org: str | None = None,
    server: bool = False,
    dns_names: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Issue a leaf certificate: a client one, or a server one when `server` is true."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(cn, org), ca_cert.subject, key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if dns_names or ips:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def write_pair(pki: Pki, stem: str, key: Key, cert: x509.Certificate) -> None:
    """Write a key (0600) and its certificate as <stem>.key and <stem>.crt."""
    write_atomic(pki.root / f"{stem}.key", _pem_key(key), 0o600)
    write_atomic(pki.root / f"{stem}.crt", _pem_cert(cert), 0o644)


def create(root: Path) -> Pki:
    """Create the lab's whole PKI under root and return its paths."""
    pki = Pki(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    ca_key, ca_cert = new_ca()
    write_pair(pki, "ca", ca_key, ca_cert)
    write_pair(
        pki,
        "apiserver",
        *issue(
            ca_key,
            ca_cert,
            "kube-apiserver",
            server=True,
            dns_names=API_DNS_NAMES,
            ips=("127.0.0.1", SERVICE_IP),
        ),
    )
    write_pair(pki, "admin", *issue(ca_key, ca_cert, "admin", org="system:masters"))
    write_pair(pki, "kcm", *issue(ca_key, ca_cert, "system:kube-controller-manager"))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_atomic(pki.sa_key, _pem_key(sa_key), 0o600)
    pub = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(pki.sa_pub, pub, 0o644)
    return pki


def load_cert(path: Path) -> x509.Certificate:
    """Read a PEM certificate."""
    return x509.load_pem_x509_certificate(path.read_bytes())
