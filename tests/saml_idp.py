#!/usr/bin/env python3
"""A SAML 2.0 IdP for Hamn's tests, built on pysaml2 with Debian's xmlsec1: an independent
implementation on the other side of the SP. It serves HTTP on loopback:

  GET /metadata                 its metadata (signing certificate, SSO and SLO redirect)
  GET /sso?SAMLRequest=…        parses Hamn's AuthnRequest with pysaml2 and answers with a
                                Response for the ACS: an auto-submitting form (browsers), or
                                JSON {"SAMLResponse", "RelayState", "acs"} with &format=json
  GET /unsolicited?…            a Response that answers no request (IdP-initiated)
  GET /slo?SAMLRequest=…        accepts a LogoutRequest, shows "logged out"

Query parameters choose the user (&user=alice) and a variant (&variant=…) that changes the
response BEFORE it is signed, so the SP refuses it for the intended reason and not for a
broken signature: sign (response|assertion|both|none), alg (sha256|sha1), encrypt (1),
audience (wrong|missing), destination (wrong), recipient (wrong), in_response_to (wrong),
not_on_or_after (past), not_before (future), authn_context (URI), name_id (text),
session_not_on_or_after (seconds from now), issued (seconds offset).

Started by gateway/tests/gateway/saml.rs:  saml_idp.py --dir DIR --sp-metadata FILE
It writes its key, certificate and metadata to DIR and prints one JSON line with its URLs.
"""

import argparse
import base64
import datetime
import html
import http.server
import json
import os
import sys
import threading
import warnings
import urllib.parse
import zlib

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", module="saml2")

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, saml, samlp
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.s_utils import sid
from saml2.server import Server
from saml2.sigver import (
    get_pem_wrapped_unwrapped,
    pre_encrypt_assertion,
    pre_encryption_part,
    pre_signature_part,
    signed_instance_factory,
)

LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
RSA_OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"

USERS = {
    "alice": {
        "name_id": "alice@hamn.test",
        "hsa_id": "SE2321000016-A001",
        "display_name": "Alice Andersson",
        "personal_number": "197001011234",
        "groups": ["hamn-users"],
    },
    "bob": {
        "name_id": "bob@hamn.test",
        "hsa_id": "SE2321000016-B002",
        "display_name": "Bob Berg",
        "personal_number": "198002022345",
        "groups": [],
    },
}


def stamp(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_key_and_cert(directory, name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path = os.path.join(directory, "idp.key")
    cert_path = os.path.join(directory, "idp.crt")
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class Idp:
    def __init__(self, directory, sp_metadata, port):
        self.directory = directory
        self.base = f"http://127.0.0.1:{port}"
        self.entity_id = f"{self.base}/metadata"
        key, cert = write_key_and_cert(directory, "pysaml2 test IdP")
        self.cert_file = cert
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(f"{self.base}/sso", BINDING_HTTP_REDIRECT)],
                            "single_logout_service": [(f"{self.base}/slo", BINDING_HTTP_REDIRECT)],
                        },
                        "want_authn_requests_signed": False,
                    }
                },
                "key_file": key,
                "cert_file": cert,
                "metadata": {"local": [sp_metadata]},
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "delete_tmpfiles": True,
            }
        )
        self.server = Server(config=config)
        self.metadata = create_metadata_string(None, config=config, valid=24 * 30).decode("utf-8")
        with open(os.path.join(directory, "idp-metadata.xml"), "w") as f:
            f.write(self.metadata)
        # The SP's entity id and encryption certificate, from its metadata.
        self.sp_entity_id = list(self.server.metadata.keys())[0] if hasattr(self.server.metadata, "keys") else None
        if self.sp_entity_id is None:
            self.sp_entity_id = next(iter(self.server.metadata.items()))[0]
        enc = self.server.metadata.certs(self.sp_entity_id, "spsso", "encryption")
        self.sp_encryption_cert = enc[0][1] if enc else None
        acs = self.server.metadata.assertion_consumer_service(self.sp_entity_id, BINDING_HTTP_POST)
        self.sp_acs = acs[0]["location"]

    def response(self, request_id, variant, user_name):
        user = USERS.get(user_name, USERS["alice"])
        v = variant
        acs = self.sp_acs
        issuer = saml.Issuer(text=self.entity_id, format=saml.NAMEID_FORMAT_ENTITY)
        in_response_to = request_id
        if v.get("in_response_to") == "wrong":
            in_response_to = "_" + "0" * 32
        issued = int(v.get("issued", "0"))
        not_on_or_after = stamp(300 if v.get("not_on_or_after") != "past" else -3600)
        not_before = stamp(-60 if v.get("not_before") != "future" else 3600)
        if v.get("not_on_or_after") == "past":
            issued = -3600 - 60

        audience = None
        if v.get("audience") != "missing":
            aud = self.sp_entity_id if v.get("audience") != "wrong" else "https://other-sp.example/metadata"
            audience = [saml.AudienceRestriction(audience=[saml.Audience(text=aud)])]
        conditions = saml.Conditions(
            not_before=not_before, not_on_or_after=not_on_or_after, audience_restriction=audience
        )
        recipient = acs if v.get("recipient") != "wrong" else "https://evil.example/acs"
        confirmation_data = saml.SubjectConfirmationData(
            recipient=recipient, not_on_or_after=not_on_or_after
        )
        if in_response_to:
            confirmation_data.in_response_to = in_response_to
        subject = saml.Subject(
            name_id=saml.NameID(
                text=v.get("name_id", user["name_id"]), format=saml.NAMEID_FORMAT_PERSISTENT
            ),
            subject_confirmation=[
                saml.SubjectConfirmation(
                    method=saml.SCM_BEARER, subject_confirmation_data=confirmation_data
                )
            ],
        )
        authn = saml.AuthnStatement(
            authn_instant=stamp(issued),
            session_index=sid(),
            authn_context=saml.AuthnContext(
                authn_context_class_ref=saml.AuthnContextClassRef(
                    text=v.get("authn_context", LOA3)
                )
            ),
        )
        if "session_not_on_or_after" in v:
            authn.session_not_on_or_after = stamp(int(v["session_not_on_or_after"]))

        def attribute(name, friendly, values):
            return saml.Attribute(
                name=name,
                friendly_name=friendly,
                name_format=saml.NAME_FORMAT_URI,
                attribute_value=[saml.AttributeValue(text=x) for x in values],
            )

        attributes = saml.AttributeStatement(
            attribute=[
                attribute("urn:oid:1.2.752.29.6.2.1", "employeeHsaId", [user["hsa_id"]]),
                attribute("urn:oid:2.16.840.1.113730.3.1.241", "displayName", [user["display_name"]]),
                attribute("urn:oid:1.2.752.29.4.13", "personalIdentityNumber", [user["personal_number"]]),
                attribute("urn:oid:1.3.6.1.4.1.5923.1.5.1.1", "isMemberOf", user["groups"]),
            ]
        )
        assertion = saml.Assertion(
            id=sid(),
            version="2.0",
            issue_instant=stamp(issued),
            issuer=issuer,
            subject=subject,
            conditions=conditions,
            authn_statement=[authn],
            attribute_statement=[attributes],
        )
        destination = acs if v.get("destination") != "wrong" else "https://evil.example/acs"
        response = samlp.Response(
            id=sid(),
            version="2.0",
            issue_instant=stamp(issued),
            destination=destination,
            issuer=saml.Issuer(text=self.entity_id, format=saml.NAMEID_FORMAT_ENTITY),
            status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)),
        )
        if in_response_to:
            response.in_response_to = in_response_to

        sign = v.get("sign", "both")
        sign_alg, digest_alg = (RSA_SHA1, SHA1) if v.get("alg") == "sha1" else (RSA_SHA256, SHA256)
        sign_assertion = sign in ("assertion", "both")
        sign_response = sign in ("response", "both")
        sec = self.server.sec

        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
        response.assertion = assertion

        if v.get("encrypt") == "1":
            assertion_tag = response.assertion._to_element_tree().tag
            response = pre_encrypt_assertion(response)
            xml = response.get_xml_string_with_self_contained_assertion_within_encrypted_assertion(
                assertion_tag
            )
            if sign_assertion:
                xml = signed_instance_factory(xml, sec, [(class_name(assertion), assertion.id)])
            xml = sec.encrypt_assertion(
                xml,
                self.sp_cert_file(),
                pre_encryption_part(msg_enc=AES128_CBC, key_enc=RSA_OAEP),
                key_type="aes-128",
            )
            if sign_response:
                response_id = response.id
                parsed = samlp.response_from_string(xml)
                parsed.signature = pre_signature_part(
                    response_id, sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
                )
                xml = signed_instance_factory(parsed, sec, [(class_name(parsed), response_id)])
            return xml

        to_sign = []
        if sign_assertion:
            to_sign.append((class_name(assertion), assertion.id))
        if sign_response:
            response.signature = pre_signature_part(
                response.id, sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((class_name(response), response.id))
        if to_sign:
            return signed_instance_factory(response, sec, to_sign)
        return response.to_string().decode("utf-8")

    def sp_cert_file(self):
        path = os.path.join(self.directory, "sp-encryption.crt")
        if not os.path.exists(path):
            wrapped, _ = get_pem_wrapped_unwrapped(self.sp_encryption_cert)
            with open(path, "w") as f:
                f.write(wrapped)
        return path


def form_page(acs, saml_response, relay_state):
    relay = (
        f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
        if relay_state
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>IdP</title></head>"
        f"<body onload='document.forms[0].submit()'><form method='post' action='{html.escape(acs)}'>"
        f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}">'
        f"{relay}<noscript><button>Continue</button></noscript></form></body></html>"
    )


def make_handler(idp):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            # Quiet: request lines carry whole SAML messages; errors reach the answer body.
            pass

        def send(self, status, content_type, body):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
            try:
                if url.path == "/metadata":
                    return self.send(200, "application/samlmetadata+xml", idp.metadata)
                if url.path == "/sso":
                    parsed = idp.server.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT)
                    request_id = parsed.message.id
                    return self.answer(q, request_id)
                if url.path == "/unsolicited":
                    return self.answer(q, None)
                if url.path == "/slo":
                    raw = zlib.decompress(base64.b64decode(q["SAMLRequest"]), -15).decode("utf-8")
                    ok = "LogoutRequest" in raw
                    return self.send(200 if ok else 400, "text/html; charset=utf-8",
                                     "<!doctype html><title>IdP</title><p id='slo'>logged out</p>")
                return self.send(404, "text/plain", "not found")
            except Exception as e:  # a test wants to see why
                return self.send(500, "text/plain", f"{type(e).__name__}: {e}")

        def answer(self, q, request_id):
            variant = {k: v for k, v in q.items() if k not in ("SAMLRequest", "RelayState", "SigAlg", "Signature", "user", "format")}
            xml = idp.response(request_id, variant, q.get("user", "alice"))
            encoded = base64.b64encode(xml.encode("utf-8")).decode("ascii")
            relay = q.get("RelayState", "")
            if q.get("format") == "json":
                body = json.dumps({"SAMLResponse": encoded, "RelayState": relay, "acs": idp.sp_acs, "xml": xml})
                return self.send(200, "application/json", body)
            return self.send(200, "text/html; charset=utf-8", form_page(idp.sp_acs, encoded, relay))

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--sp-metadata", required=True)
    args = parser.parse_args()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)
    port = httpd.server_address[1]
    idp = Idp(args.dir, args.sp_metadata, port)
    httpd.RequestHandlerClass = make_handler(idp)
    print(
        json.dumps(
            {
                "base": idp.base,
                "entity_id": idp.entity_id,
                "metadata_file": os.path.join(args.dir, "idp-metadata.xml"),
                "sp_entity_id": idp.sp_entity_id,
            }
        ),
        flush=True,
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # Ends when the test closes stdin (or dies).
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    main()
