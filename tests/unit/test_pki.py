import datetime as dt
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsetup.cluster import pki


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return pki.create(tmp_path_factory.mktemp("pki"))


def test_serving_cert_sans_cover_loopback_and_service_names(made):
    cert = pki.load_cert(made.apiserver_crt)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    }
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.0.0.1"),
    }
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku


@pytest.mark.parametrize("stem", ["ca", "apiserver", "admin", "kcm", "sa"])
def test_private_keys_are_mode_0600(made, stem):
    mode = stat.S_IMODE((made.root / f"{stem}.key").stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_pki_directory_is_private(made):
    assert stat.S_IMODE(made.root.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("stem", "cn", "org"),
    [("admin", "admin", "system:masters"), ("kcm", "system:kube-controller-manager", None)],
    ids=["admin", "controller-manager"],
)
def test_client_certs_name_the_identity_rbac_expects(made, stem, cn, org):
    cert = pki.load_cert(made.root / f"{stem}.crt")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH not in eku


@pytest.mark.parametrize("stem", ["apiserver", "admin", "kcm"])
def test_leaves_are_signed_by_the_ca_and_valid_now(made, stem):
    ca = pki.load_cert(made.ca_crt)
    cert = pki.load_cert(made.root / f"{stem}.crt")
    cert.verify_directly_issued_by(ca)
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > dt.timedelta(days=300)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_ca_is_a_ca(made):
    ca = pki.load_cert(made.ca_crt)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_sa_signing_key_is_rsa_2048_and_matches_public_key(made):
    key = load_pem_private_key(made.sa_key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert made.sa_pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    from cryptography.hazmat.primitives import serialization

    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pub == made.sa_pub.read_bytes()


def test_exists_tells_a_partial_pki(tmp_path):
    made = pki.create(tmp_path / "p")
    assert made.exists()
    made.sa_key.unlink()
    assert not made.exists()
