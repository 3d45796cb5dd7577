//! The IPP codec against hand-made and hostile messages.

use super::*;
use proptest::prelude::*;

/// A Get-Printer-Attributes request as ipptool sends it, with `extra` after the header.
fn request(operation: u16, extra: &[u8]) -> Vec<u8> {
    let mut b = vec![2, 0];
    b.extend(operation.to_be_bytes());
    b.extend(7u32.to_be_bytes());
    b.push(group::OPERATION);
    attr(&mut b, tag::CHARSET, "attributes-charset", b"utf-8");
    attr(
        &mut b,
        tag::NATURAL_LANGUAGE,
        "attributes-natural-language",
        b"en",
    );
    attr(
        &mut b,
        tag::URI,
        "printer-uri",
        b"ipps://127.0.0.1/ipp/print/x",
    );
    b.extend(extra);
    b
}

fn attr(b: &mut Vec<u8>, t: u8, name: &str, value: &[u8]) {
    b.push(t);
    b.extend(u16::try_from(name.len()).unwrap().to_be_bytes());
    b.extend(name.as_bytes());
    b.extend(u16::try_from(value.len()).unwrap().to_be_bytes());
    b.extend(value);
}

fn complete(buf: &[u8]) -> (Request, usize) {
    match parse(buf) {
        Ok(Parsed::Complete {
            request,
            data_offset,
        }) => (request, data_offset),
        other => panic!("not complete: {other:?}"),
    }
}

#[test]
fn a_request_with_document_data_splits_at_the_end_tag() {
    let mut b = request(0x0002, &[]);
    attr(&mut b, tag::NAME, "requesting-user-name", "Åsa".as_bytes());
    b.push(group::JOB);
    attr(&mut b, tag::INTEGER, "copies", &1i32.to_be_bytes());
    b.push(group::END);
    let header_len = b.len();
    b.extend(b"%PDF-1.7 ...");
    let (r, offset) = complete(&b);
    assert_eq!(offset, header_len);
    assert_eq!((r.version, r.operation, r.request_id), ((2, 0), 2, 7));
    assert_eq!(r.op_text("requesting-user-name"), Some("Åsa"));
    assert_eq!(
        r.op_text("printer-uri"),
        Some("ipps://127.0.0.1/ipp/print/x")
    );
    let copies = r.job_attributes().and_then(|g| g.get("copies"));
    assert_eq!(
        copies.and_then(|a| a.first()).and_then(Value::integer),
        Some(1)
    );
}

#[test]
fn every_prefix_is_incomplete_never_an_error() {
    let mut b = request(0x000B, &[]);
    b.push(group::END);
    for cut in 0..b.len() {
        assert_eq!(parse(&b[..cut]), Ok(Parsed::Incomplete), "cut at {cut}");
    }
    complete(&b);
}

#[test]
fn malformed_requests_say_why() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no operation group", {
            let mut b = vec![2, 0, 0, 0xB, 0, 0, 0, 1, group::JOB];
            attr(&mut b, tag::CHARSET, "attributes-charset", b"utf-8");
            b.push(group::END);
            b
        }),
        ("charset not first", {
            let mut b = vec![2, 0, 0, 0xB, 0, 0, 0, 1, group::OPERATION];
            attr(
                &mut b,
                tag::NATURAL_LANGUAGE,
                "attributes-natural-language",
                b"en",
            );
            attr(&mut b, tag::CHARSET, "attributes-charset", b"utf-8");
            b.push(group::END);
            b
        }),
        ("value before group", {
            let mut b = vec![2, 0, 0, 0xB, 0, 0, 0, 1];
            attr(&mut b, tag::CHARSET, "attributes-charset", b"utf-8");
            b.push(group::END);
            b
        }),
        ("integer of 3 bytes", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::INTEGER, "job-id", &[0, 0, 1]);
            b.push(group::END);
            b
        }),
        ("boolean 2", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::BOOLEAN, "last-document", &[2]);
            b.push(group::END);
            b
        }),
        ("text not UTF-8", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::NAME, "job-name", &[0xC3, 0x28]);
            b.push(group::END);
            b
        }),
        ("additional value first", {
            let mut b = vec![2, 0, 0, 0xB, 0, 0, 0, 1, group::OPERATION];
            attr(&mut b, tag::CHARSET, "", b"utf-8");
            b.push(group::END);
            b
        }),
        ("unknown delimiter", {
            let mut b = request(0xB, &[]);
            b.push(0x09);
            b.push(group::END);
            b
        }),
        ("unclosed collection", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::BEGIN_COLLECTION, "media-col", &[]);
            b.push(group::END);
            b
        }),
        ("collection end without begin", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::KEYWORD, "which-jobs", b"completed");
            attr(&mut b, tag::END_COLLECTION, "", &[]);
            b.push(group::END);
            b
        }),
        ("duplicate attribute", {
            let mut b = request(0xB, &[]);
            attr(&mut b, tag::KEYWORD, "which-jobs", b"completed");
            attr(&mut b, tag::KEYWORD, "which-jobs", b"completed");
            b.push(group::END);
            b
        }),
        ("textWithLanguage lengths disagree", {
            let mut b = request(0xB, &[]);
            attr(
                &mut b,
                tag::TEXT_WITH_LANGUAGE,
                "job-name",
                &[0, 2, b'e', b'n', 0, 9, b'x'],
            );
            b.push(group::END);
            b
        }),
    ];
    for (what, b) in cases {
        assert!(
            matches!(parse(&b), Err(ParseError::Malformed(_))),
            "{what}: {:?}",
            parse(&b)
        );
    }
}

#[test]
fn collections_nest_only_so_deep() {
    let nested = |depth: usize| {
        let mut b = request(0xB, &[]);
        attr(&mut b, tag::BEGIN_COLLECTION, "media-col", &[]);
        for _ in 1..depth {
            attr(&mut b, tag::MEMBER_NAME, "", b"inner");
            attr(&mut b, tag::BEGIN_COLLECTION, "", &[]);
        }
        for _ in 0..depth {
            attr(&mut b, tag::END_COLLECTION, "", &[]);
        }
        b.push(group::END);
        b
    };
    complete(&nested(MAX_COLLECTION_DEPTH));
    assert!(matches!(
        parse(&nested(MAX_COLLECTION_DEPTH + 1)),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn attribute_sections_are_bounded() {
    // Endless attribute bytes without an end tag: refused once the bound is reached.
    let mut b = request(0xB, &[]);
    while b.len() < MAX_ATTRIBUTE_BYTES + 10 {
        attr(&mut b, tag::KEYWORD, "", b"x");
    }
    assert_eq!(parse(&b), Err(ParseError::TooLarge));
    // Many tiny values inside the byte bound: refused by count.
    let mut b = request(0xB, &[]);
    attr(&mut b, tag::KEYWORD, "requested-attributes", b"all");
    for _ in 0..MAX_VALUES {
        attr(&mut b, tag::KEYWORD, "", b"");
    }
    b.push(group::END);
    assert_eq!(parse(&b), Err(ParseError::TooLarge));
}

#[test]
fn responses_encode_to_what_the_parser_reads() {
    let mut op = Group::new(group::OPERATION);
    op.text("attributes-charset", tag::CHARSET, "utf-8")
        .text("attributes-natural-language", tag::NATURAL_LANGUAGE, "sv")
        .texts(
            "document-format-supported",
            tag::MIME_MEDIA_TYPE,
            &["application/pdf", "image/jpeg"],
        );
    let mut printer = Group::new(group::PRINTER);
    printer
        .add_values(
            "media-col-default",
            collection(&[(
                "media-size",
                collection(&[(
                    "x-dimension",
                    vec![Value {
                        tag: tag::INTEGER,
                        data: 21000i32.to_be_bytes().to_vec(),
                    }],
                )]),
            )]),
        )
        .add(
            "printer-resolution-default",
            tag::RESOLUTION,
            vec![resolution(300, 300, true)],
        )
        .enumeration("printer-state", 3)
        .boolean("printer-is-accepting-jobs", true);
    let response = Response {
        version: (2, 0),
        status: 0,
        request_id: 9,
        groups: vec![op, printer],
    };
    let bytes = response.encode();
    let (r, offset) = complete(&bytes);
    assert_eq!(offset, bytes.len());
    assert_eq!(r.groups, response.groups);
    expect_test::expect![[r#"
        [2, 0, 0, 0, 0, 0, 0, 9, 1, 71, 0, 18, 97, 116, 116, 114, 105, 98, 117, 116, 101, 115, 45, 99, 104, 97, 114, 115, 101, 116, 0, 5, 117, 116, 102, 45, 56]"#]]
    .assert_eq(&format!("{:?}", &bytes[..37]));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_tails_after_a_valid_head_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut b = request(0x0002, &[]);
        b.extend(tail);
        let _ = parse(&b);
    }

    #[test]
    fn encoded_groups_round_trip(names in proptest::collection::vec("[a-z][a-z-]{0,20}", 1..8), ints in proptest::collection::vec(any::<i32>(), 1..8)) {
        let mut op = Group::new(group::OPERATION);
        op.text("attributes-charset", tag::CHARSET, "utf-8")
            .text("attributes-natural-language", tag::NATURAL_LANGUAGE, "en");
        let mut job = Group::new(group::JOB);
        let mut seen = std::collections::HashSet::new();
        for (name, value) in names.iter().zip(ints.iter().cycle()) {
            if seen.insert(name.clone()) {
                job.integer(name, *value);
            }
        }
        let response = Response { version: (1, 1), status: 0, request_id: 1, groups: vec![op, job] };
        let bytes = response.encode();
        let (r, _) = complete(&bytes);
        prop_assert_eq!(r.groups, response.groups);
    }
}
