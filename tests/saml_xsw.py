#!/usr/bin/env python3
"""Writes the XML signature wrapping (XSW) corpus of tests/fixtures/saml/xsw/ from one valid
signed response of the pysaml2 test IdP (tests/saml_idp.py). The shapes are the classic
eight (Somorovsky et al., "On Breaking SAML", and SAML Raider's XSW1–XSW8): a forged
Response or Assertion naming admin@hamn.test, with the original signed element moved
where a careless verifier still finds its signature valid.

  saml_xsw.py RESPONSE_SIGNED.xml ASSERTION_SIGNED.xml OUTDIR

RESPONSE_SIGNED has a signed Response (XSW1, XSW2), ASSERTION_SIGNED a signed Assertion
(XSW3–XSW8). The files keep the IdP's original signatures; Hamn refuses every one before
looking at them (two Response or two Assertion elements) and xmlsec would refuse them after.
"""

import copy
import os
import sys
import xml.etree.ElementTree as ET

P = "urn:oasis:names:tc:SAML:2.0:protocol"
A = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
for prefix, uri in (("samlp", P), ("saml", A), ("ds", DS)):
    ET.register_namespace(prefix, uri)


def q(ns, name):
    return f"{{{ns}}}{name}"


def evil(element):
    """The attacker's change: another user and a new ID."""
    for name_id in element.iter(q(A, "NameID")):
        name_id.text = "admin@hamn.test"
    element.set("ID", "_evil" + element.get("ID", "")[-16:])
    return element


def without_signature(element):
    for sig in list(element.findall(q(DS, "Signature"))):
        element.remove(sig)
    return element


def write(outdir, name, root):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(ET.tostring(root, xml_declaration=True, encoding="utf-8"))


def main():
    response_signed, assertion_signed, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)

    # XSW1: forged Response, the original signed Response inside its Signature.
    original = ET.parse(response_signed).getroot()
    forged = evil(copy.deepcopy(original))
    sig = forged.find(q(DS, "Signature"))
    sig.append(copy.deepcopy(original))
    write(outdir, "xsw1.xml", forged)

    # XSW2: forged Response, the original signed Response as a sibling before the Signature.
    forged = evil(copy.deepcopy(original))
    sig = forged.find(q(DS, "Signature"))
    forged.insert(list(forged).index(sig), copy.deepcopy(original))
    write(outdir, "xsw2.xml", forged)

    doc = ET.parse(assertion_signed).getroot()
    signed = doc.find(q(A, "Assertion"))

    def with_assertions(build):
        root = copy.deepcopy(doc)
        old = root.find(q(A, "Assertion"))
        index = list(root).index(old)
        root.remove(old)
        for offset, element in enumerate(build(copy.deepcopy(signed))):
            root.insert(index + offset, element)
        return root

    # XSW3: forged unsigned Assertion before the original.
    write(outdir, "xsw3.xml", with_assertions(lambda s: [without_signature(evil(copy.deepcopy(s))), s]))

    # XSW4: forged Assertion wrapping the original.
    def xsw4(s):
        f = without_signature(evil(copy.deepcopy(s)))
        f.append(s)
        return [f]

    write(outdir, "xsw4.xml", with_assertions(xsw4))

    # XSW5: forged Assertion keeping the signature; the original appended to the Response.
    def xsw5(s):
        f = evil(copy.deepcopy(s))
        return [f]

    root = with_assertions(xsw5)
    root.append(without_signature(copy.deepcopy(signed)))
    write(outdir, "xsw5.xml", root)

    # XSW6: forged Assertion; the original inside the forged one's Signature.
    def xsw6(s):
        f = evil(copy.deepcopy(s))
        f.find(q(DS, "Signature")).append(without_signature(copy.deepcopy(s)))
        return [f]

    write(outdir, "xsw6.xml", with_assertions(xsw6))

    # XSW7: an Extensions element carrying the original; the forged Assertion outside.
    def xsw7(s):
        ext = ET.Element(q(P, "Extensions"))
        ext.append(s)
        return [ext, without_signature(evil(copy.deepcopy(s)))]

    write(outdir, "xsw7.xml", with_assertions(xsw7))

    # XSW8: the original inside ds:Object in the forged Assertion's Signature.
    def xsw8(s):
        f = evil(copy.deepcopy(s))
        obj = ET.SubElement(f.find(q(DS, "Signature")), q(DS, "Object"))
        obj.append(without_signature(copy.deepcopy(s)))
        return [f]

    write(outdir, "xsw8.xml", with_assertions(xsw8))


if __name__ == "__main__":
    main()
