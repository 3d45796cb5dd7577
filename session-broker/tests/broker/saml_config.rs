//! `GET/PUT /tenants/{id}/saml`: a tenant's IdP configuration is judged before it is
//! stored (a signing certificate is required, expired metadata is refused, each with the
//! field named), audited, visible to its own tenant's admins only, and the same on both
//! databases. The replay cache and single-use request ids of the SAML repository too.

use axum::http::{Method, StatusCode};
use hamn_broker::repo::saml::{self, SamlRequest, TakenRequest};
use serde_json::{Value, json};

use crate::both;
use crate::support::{Backend, Harness, client_cert};

/// IdP metadata with one signing certificate (a fresh one) and `validUntil` as given.
fn metadata(valid_until: &str, with_signing_key: bool) -> String {
    let cert = hamn_certs::pki::generate_ca("Test IdP").unwrap().cert_pem;
    let b64: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    let key = if with_signing_key {
        format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    } else {
        String::new()
    };
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"https://idp.kommun.example/idp\" \
         validUntil=\"{valid_until}\"><md:IDPSSODescriptor \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{key}\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://idp.kommun.example/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>"
    )
}

fn body(xml: &str) -> Value {
    json!({
        "idp_metadata_xml": xml,
        "sp_entity_id": "https://hamn.example/saml/kommun/metadata",
        "accepted_mfa_contexts": ["http://id.elegnamnden.se/loa/1.0/loa3"],
        "force_authn": true,
        "attributes": {"groups": "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"}
    })
}

async fn idp_configuration_is_judged_audited_and_scoped(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("kommun").await;
    let other = h.tenant_with_app("annan").await;
    let path = format!("/api/v1/tenants/{}/saml", a.tenant);

    let r = h.op(Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "none yet");

    // No signing certificate: samael would skip signature checks, so it is refused.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(body(&metadata("2099-01-01T00:00:00Z", false))),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    assert!(
        r.json.to_string().contains("idp_metadata_xml"),
        "{:#}",
        r.json
    );
    assert!(
        r.json.to_string().contains("no signing certificate"),
        "{:#}",
        r.json
    );
    // Expired metadata.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(body(&metadata("2001-01-01T00:00:00Z", true))),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    assert!(r.json.to_string().contains("expired"), "{:#}", r.json);
    // Neither document nor URL.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"sp_entity_id": "https://x/y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json.to_string().contains("idp_metadata_xml"),
        "{:#}",
        r.json
    );

    let good = metadata("2099-01-01T00:00:00Z", true);
    let r = h.op(Method::PUT, &path, Some(body(&good))).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["idp_entity_id"], "https://idp.kommun.example/idp");
    assert_eq!(r.json["force_authn"], true);
    assert_eq!(
        r.json["requested_authn_contexts"][0],
        "http://id.elegnamnden.se/loa/1.0/loa3"
    );
    assert_eq!(r.json["attributes"]["hsa_id"], "urn:oid:1.2.752.29.6.2.1");
    assert_eq!(r.json["attributes"]["personal_number"], Value::Null);
    let got = h.op(Method::GET, &path, None).await;
    assert_eq!(got.json["idp_metadata_xml"], good);
    let events = h.audit("action=tenant.saml_set").await;
    assert_eq!(events.len(), 1, "audited once");

    // A tenant admin of another tenant sees nothing of it.
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Annan", "subject_cn": "annan-client", "scope": "tenant", "tenant_id": other.tenant}),
    )
    .await;
    let them = client_cert("annan-client");
    let r = h.as_(&them, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.as_(&them, Method::PUT, &path, Some(body(&good))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Requests are single use and bound to a browser; the replay cache remembers ids.
    let tenant = a.tenant.parse().unwrap();
    let mut conn = h.db().acquire().await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let request = SamlRequest {
        relay_state: "handle".into(),
        request_id: "_abc".into(),
        tenant_id: tenant,
        browser_hash: "b1".into(),
        expires_at: now + time::Duration::minutes(10),
    };
    saml::insert_request(&mut conn, &request, now)
        .await
        .unwrap();
    assert_eq!(
        saml::take_request(&mut conn, "handle", tenant, Some("b2"), now)
            .await
            .unwrap(),
        TakenRequest::OtherBrowser
    );
    match saml::take_request(&mut conn, "handle", tenant, Some("b1"), now)
        .await
        .unwrap()
    {
        TakenRequest::Taken(taken) => assert_eq!(taken.request_id, request.request_id),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        saml::take_request(&mut conn, "handle", tenant, Some("b1"), now)
            .await
            .unwrap(),
        TakenRequest::Unknown,
        "first use only"
    );
    saml::record_assertion(
        &mut conn,
        "idp",
        "_a1",
        tenant,
        now + time::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(saml::assertion_seen(&mut conn, "idp", "_a1").await.unwrap());
    assert!(
        saml::record_assertion(&mut conn, "idp", "_a1", tenant, now)
            .await
            .is_err(),
        "a second record of the same id fails"
    );
    saml::prune(&mut conn, now + time::Duration::minutes(6))
        .await
        .unwrap();
    assert!(
        !saml::assertion_seen(&mut conn, "idp", "_a1").await.unwrap(),
        "expired entries go"
    );
    drop(conn);
    h.finish().await;
}

both!(idp_configuration_is_judged_audited_and_scoped);

/// Serves `body` to every HTTP request on a loopback port: a stand-in metadata publisher.
async fn serve_once(body: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    port
}

async fn metadata_url_is_fetched_once_and_pinned(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("urlkommun").await;
    let path = format!("/api/v1/tenants/{}/saml", a.tenant);
    let xml = metadata("2099-01-01T00:00:00Z", true);
    let port = serve_once(xml.clone()).await;
    let url = format!("http://127.0.0.1:{port}/metadata");
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"idp_metadata_url": url, "sp_entity_id": "https://hamn.example/saml/u/metadata"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["idp_metadata_url"], url);
    assert_eq!(
        r.json["idp_metadata_xml"], xml,
        "the fetched document is stored"
    );
    // Nothing listens there any more: the error names the field.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"idp_metadata_url": "http://127.0.0.1:9/metadata", "sp_entity_id": "https://x/y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    assert!(
        r.json.to_string().contains("idp_metadata_url"),
        "{:#}",
        r.json
    );
    h.finish().await;
}

both!(metadata_url_is_fetched_once_and_pinned);

/// `hamn up` with `gateway.demo_idp`: the demo tenant is pointed at the demo IdP's metadata
/// (stored like a real tenant's, audited), once; a renewed IdP certificate refreshes the
/// pinned metadata; a configuration an operator pointed at another IdP is left alone.
async fn demo_tenant_is_pointed_at_the_demo_idp_once(b: Backend) {
    use hamn_broker::saml::demo_idp::{DemoIdpUrls, idp_metadata};
    use hamn_broker::{DemoSeed, seed};

    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let urls = DemoIdpUrls::new("https://localhost:8443");
    let der = |name: &str| {
        let pem = hamn_certs::pki::generate_ca(name).unwrap().cert_pem;
        openssl::x509::X509::from_pem(pem.as_bytes())
            .unwrap()
            .to_der()
            .unwrap()
    };
    let first = idp_metadata(&urls, &der("Demo IdP 1"));
    let sp = "https://localhost:8443/saml/demo/metadata";
    assert!(
        seed::demo_saml(h.db(), &first, sp)
            .await
            .expect("seed SAML")
    );
    assert!(!seed::demo_saml(h.db(), &first, sp).await.expect("again"));
    let stored = {
        let mut conn = h.db().acquire().await.unwrap();
        saml::get(&mut conn, ids.tenant)
            .await
            .unwrap()
            .expect("stored")
    };
    assert!(stored.enabled);
    assert_eq!(stored.idp_entity_id, urls.metadata);
    assert_eq!(stored.sp_entity_id, sp);
    assert_eq!(stored.idp_metadata_xml, first);
    assert_eq!(
        stored.accepted_mfa_contexts,
        ["http://id.elegnamnden.se/loa/1.0/loa3"]
    );
    assert_eq!(
        stored.attributes.groups.as_deref(),
        Some("urn:oid:1.3.6.1.4.1.5923.1.5.1.1")
    );
    assert_eq!(h.audit("action=tenant.saml_set").await.len(), 1);

    // A renewed certificate: the pinned metadata follows.
    let renewed = idp_metadata(&urls, &der("Demo IdP 2"));
    assert!(
        seed::demo_saml(h.db(), &renewed, sp)
            .await
            .expect("renewed")
    );
    let mut conn = h.db().acquire().await.unwrap();
    let stored = saml::get(&mut conn, ids.tenant)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.idp_metadata_xml, renewed);
    drop(conn);

    // An operator's own IdP is never overwritten by the seed.
    let path = format!("/api/v1/tenants/{}/saml", ids.tenant);
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(body(&metadata("2099-01-01T00:00:00Z", true))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert!(
        !seed::demo_saml(h.db(), &renewed, sp)
            .await
            .expect("left alone")
    );
    let mut conn = h.db().acquire().await.unwrap();
    let stored = saml::get(&mut conn, ids.tenant)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.idp_entity_id, "https://idp.kommun.example/idp");
    drop(conn);
    h.finish().await;
}

both!(demo_tenant_is_pointed_at_the_demo_idp_once);
