//! Hardware token import: the example documents of RFC 6030 and CSV seed
//! files, all or nothing.

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// RFC 6030 §4, Figure 2: the basic container. Its 4-byte secret ("1234")
/// is shorter than RFC 4226 allows, so the file is refused, naming the key.
const FIGURE_2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0"
    Id="exampleID1"
    xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
    <KeyPackage>
        <Key Id="12345678"
            Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <Issuer>Issuer-A</Issuer>
            <Data>
                <Secret>
                    <PlainValue>MTIzNA==
                    </PlainValue>
                </Secret>
            </Data>
        </Key>
    </KeyPackage>
</KeyContainer>
"#;

/// RFC 6030 §4.1, Figure 3: a plaintext HOTP secret with its counter.
const FIGURE_3: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0"
    Id="exampleID1"
    xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
    <KeyPackage>
        <DeviceInfo>
            <Manufacturer>Manufacturer</Manufacturer>
            <SerialNo>987654321</SerialNo>
            <UserId>DC=example-bank,DC=net</UserId>
        </DeviceInfo>
        <CryptoModuleInfo>
            <Id>CM_ID_001</Id>
        </CryptoModuleInfo>
        <Key Id="12345678"
            Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <Issuer>Issuer</Issuer>
            <AlgorithmParameters>
                <ResponseFormat Length="8" Encoding="DECIMAL"/>
            </AlgorithmParameters>
            <Data>
                <Secret>
                    <PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=
                    </PlainValue>
                </Secret>
                <Counter>
                    <PlainValue>0</PlainValue>
                </Counter>
            </Data>
            <UserId>UID=jsmith,DC=example-bank,DC=net</UserId>
        </Key>
    </KeyPackage>
</KeyContainer>
"#;

/// RFC 6030 §6.1, Figure 6: the secret encrypted with AES-128-CBC under the
/// pre-shared key 12345678901234567890123456789012, with an HMAC-SHA1 MAC.
const FIGURE_6: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0"
    xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
    <EncryptionKey>
        <ds:KeyName>Pre-shared-key</ds:KeyName>
    </EncryptionKey>
    <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
        <MACKey>
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData>
                <xenc:CipherValue>
ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX
                </xenc:CipherValue>
            </xenc:CipherData>
        </MACKey>
    </MACMethod>
    <KeyPackage>
        <DeviceInfo>
            <Manufacturer>Manufacturer</Manufacturer>
            <SerialNo>987654321</SerialNo>
        </DeviceInfo>
        <CryptoModuleInfo>
            <Id>CM_ID_001</Id>
        </CryptoModuleInfo>
        <Key Id="12345678"
            Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <Issuer>Issuer</Issuer>
            <AlgorithmParameters>
                <ResponseFormat Length="8" Encoding="DECIMAL"/>
            </AlgorithmParameters>
            <Data>
                <Secret>
                    <EncryptedValue>
                        <xenc:EncryptionMethod
                            Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
                        <xenc:CipherData>
                            <xenc:CipherValue>
AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv
                            </xenc:CipherValue>
                        </xenc:CipherData>
                    </EncryptedValue>
                    <ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=
                    </ValueMAC>
                </Secret>
                <Counter>
                    <PlainValue>0</PlainValue>
                </Counter>
            </Data>
        </Key>
    </KeyPackage>
</KeyContainer>
"#;

const PSK: &str = "12345678901234567890123456789012";

async fn import(s: &TestServer, body: Value) -> (StatusCode, Value) {
    s.post("/v1/tokens/import", body).await
}

async fn audit_head(s: &TestServer) -> Value {
    let (_, b) = s.get("/v1/audit?limit=1").await;
    b["events"][0]["seq"].clone()
}

/// RFC 4226 Appendix D, counters 0 and 1, eight digits.
const HOTP_0: &str = "84755224";
const HOTP_1: &str = "94287082";

async fn assign_and_validate(s: &TestServer, serial: &str) {
    let validator = s.api_key("validator").await;
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "active", "{t}");
    assert_eq!(t["username"], Value::Null, "{t}");
    s.create_user("jsmith").await;
    // Unassigned, it validates for nobody.
    assert_eq!(
        s.validate(&validator, "jsmith", HOTP_0).await,
        json!({"result": "reject"})
    );
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/assign"),
            json!({"username": "jsmith"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["username"], "jsmith");
    let ok = s.validate(&validator, "jsmith", HOTP_1).await;
    assert_eq!(ok["result"], "accept", "{ok}");
    assert_eq!(ok["serial"], serial);
    let (st, _) = s
        .post(
            &format!("/v1/tokens/{serial}/assign"),
            json!({"username": "jsmith"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

async fn rfc6030_section_4_figure_2_short_seed_is_refused_whole(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let before = audit_head(&s).await;
    let (st, b) = import(&s, json!({"format": "pskc", "content": FIGURE_2})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(msg.contains("10-128 bytes"), "{msg}");
    assert_eq!(audit_head(&s).await, before);
    let (st, _) = s.get("/v1/tokens/12345678").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.stop().await;
}

async fn rfc6030_section_4_1_figure_3_plaintext_hotp_imports(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (st, b) = import(&s, json!({"format": "pskc", "content": FIGURE_3})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["imported"], 1);
    let (_, t) = s.get("/v1/tokens/987654321").await;
    assert_eq!(t["type"], "hotp");
    assert_eq!(t["digits"], 8);
    assert_eq!(t["issuer"], "Issuer");
    // The same file twice: refused, nothing changes.
    let (st, b) = import(&s, json!({"format": "pskc", "content": FIGURE_3})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("987654321")
    );
    assign_and_validate(&s, "987654321").await;
    s.stop().await;
}

async fn rfc6030_section_6_1_figure_6_pre_shared_key_imports(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    // Without the key, or with a wrong one, or with an altered MAC: refused.
    let (st, b) = import(&s, json!({"format": "pskc", "content": FIGURE_6})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pre-shared key")
    );
    let wrong = "00".repeat(16);
    let (st, _) = import(
        &s,
        json!({"format": "pskc", "content": FIGURE_6, "psk_hex": wrong}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let tampered = FIGURE_6.replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Su+NvtQfmvfJzF6bmQiJqoLRExd=",
    );
    let (st, b) = import(
        &s,
        json!({"format": "pskc", "content": tampered, "psk_hex": PSK}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("ValueMAC"),
        "{b}"
    );

    let (st, b) = import(
        &s,
        json!({"format": "pskc", "content": FIGURE_6, "psk_hex": PSK}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assign_and_validate(&s, "987654321").await;
    s.stop().await;
}

async fn csv_imports_and_a_malformed_file_leaves_the_store_unchanged(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let good = "serial, secret, type, digits, period/counter\n\
                HW001, 3132333435363738393031323334353637383930, hotp, 8, 0\n\
                # a comment\n\
                HW002, GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ, totp, 6, 30\n";
    let (st, b) = import(&s, json!({"format": "csv", "content": good})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["imported"], 2);
    let (_, t) = s.get("/v1/tokens/HW002").await;
    assert_eq!(t["type"], "totp");

    let before = audit_head(&s).await;
    let bad = "HW100, 3132333435363738393031323334353637383930, hotp, 6, 0\n\
               HW101, 3132333435363738393031323334353637383930, totp, 6, 30\n\
               HW102, not-a-secret!, hotp, 6, 0\n";
    let (st, b) = import(&s, json!({"format": "csv", "content": bad})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3:"),
        "{b}"
    );
    // A duplicate serial fails the whole file, too.
    let dup = "HW100, 3132333435363738393031323334353637383930, hotp, 6, 0\n\
               HW001, 3132333435363738393031323334353637383930, hotp, 6, 0\n";
    let (st, b) = import(&s, json!({"format": "csv", "content": dup})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(audit_head(&s).await, before);
    for serial in ["HW100", "HW101", "HW102"] {
        let (st, _) = s.get(&format!("/v1/tokens/{serial}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{serial}");
    }
    assign_and_validate(&s, "HW001").await;
    s.stop().await;
}

on_both_backends!(
    rfc6030_section_4_figure_2_short_seed_is_refused_whole,
    rfc6030_section_4_1_figure_3_plaintext_hotp_imports,
    rfc6030_section_6_1_figure_6_pre_shared_key_imports,
    csv_imports_and_a_malformed_file_leaves_the_store_unchanged,
);
