//! The DNS server on real sockets, UDP and TCP: the answers of the
//! `plants.test` zone, compression, truncation, malformed queries, framing
//! and shutdown.

mod support;

use std::time::Duration;

use support::PATIENCE;
use support::dns_client::{
    A, AAAA, CNAME, MX, NS, SOA, TXT, ask_on, ask_tcp, ask_udp, parse, query, receive_tcp,
    send_tcp, udp_client,
};
use support::servers::start_dns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const NOERROR: u16 = 0;
const FORMERR: u16 = 1;
const SERVFAIL: u16 = 2;
const NXDOMAIN: u16 = 3;
const NOTIMP: u16 = 4;
const REFUSED: u16 = 5;

#[tokio::test]
async fn addresses_are_answered_with_authority_and_the_querys_id() {
    let server = start_dns(|_| {}).await;
    let answer = parse(&ask_udp(server.addr, &query(0xbeef, "www.plants.test", A, None)).await);
    assert_eq!(answer.id, 0xbeef);
    assert_eq!(answer.rcode, NOERROR);
    assert!(answer.authoritative());
    assert!(answer.flags & (1 << 15) != 0, "QR: a response");
    assert!(answer.flags & (1 << 8) != 0, "RD copied");
    assert!(answer.flags & (1 << 7) == 0, "RA: no recursion here");
    assert_eq!(answer.data(), ["127.0.0.1"]);
    assert_eq!(answer.answer[0].ttl, 300);
    let answer = parse(&ask_udp(server.addr, &query(2, "www.plants.test", AAAA, None)).await);
    assert_eq!(answer.data(), ["::1"]);
    server.stop().await;
}

#[tokio::test]
async fn the_question_comes_back_in_the_case_it_was_asked() {
    let server = start_dns(|_| {}).await;
    let answer = parse(&ask_udp(server.addr, &query(1, "WwW.PlAnTs.TeSt", A, None)).await);
    assert_eq!(answer.question.as_deref(), Some("WwW.PlAnTs.TeSt."));
    assert_eq!(answer.data(), ["127.0.0.1"]);
    server.stop().await;
}

#[tokio::test]
async fn a_cname_is_followed_inside_the_zone_and_given_alone_outside_it() {
    let server = start_dns(|_| {}).await;
    let shop = parse(&ask_udp(server.addr, &query(1, "shop.plants.test", A, None)).await);
    assert_eq!(shop.data(), ["www.plants.test.", "127.0.0.1"]);
    assert_eq!(shop.answer[0].rtype, CNAME);
    let docs = parse(&ask_udp(server.addr, &query(2, "docs.plants.test", A, None)).await);
    assert_eq!(docs.rcode, NOERROR);
    assert_eq!(docs.data(), ["docs.example."]);
    let cname = parse(&ask_udp(server.addr, &query(3, "shop.plants.test", CNAME, None)).await);
    assert_eq!(
        cname.data(),
        ["www.plants.test."],
        "asked for the CNAME itself"
    );
    server.stop().await;
}

#[tokio::test]
async fn ns_and_mx_answers_carry_the_addresses_of_the_servers_they_name() {
    let server = start_dns(|_| {}).await;
    let ns = parse(&ask_udp(server.addr, &query(1, "plants.test", NS, None)).await);
    assert_eq!(ns.data(), ["ns1.plants.test."]);
    assert_eq!(ns.additional[0].name, "ns1.plants.test.");
    assert_eq!(ns.additional[0].data, "127.0.0.1");
    let mx = parse(&ask_udp(server.addr, &query(2, "plants.test", MX, None)).await);
    assert_eq!(mx.data(), ["10 mail.plants.test."]);
    assert_eq!(mx.additional[0].name, "mail.plants.test.");
    server.stop().await;
}

#[tokio::test]
async fn txt_and_soa_answers() {
    let server = start_dns(|_| {}).await;
    let txt = parse(&ask_udp(server.addr, &query(1, "plants.test", TXT, None)).await);
    assert_eq!(txt.data(), ["Plants, by hand: the DNS lesson's zone"]);
    let soa = parse(&ask_udp(server.addr, &query(2, "plants.test", SOA, None)).await);
    assert_eq!(
        soa.data(),
        ["ns1.plants.test. hostmaster.plants.test. 2026010101 3600 600 86400 60"]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_missing_name_is_nxdomain_with_the_soa_for_60_seconds() {
    let server = start_dns(|_| {}).await;
    let answer = parse(&ask_udp(server.addr, &query(1, "nope.plants.test", A, None)).await);
    assert_eq!(answer.rcode, NXDOMAIN);
    assert!(answer.authoritative());
    assert!(answer.answer.is_empty());
    assert_eq!(answer.authority.len(), 1);
    assert_eq!(answer.authority[0].rtype, SOA);
    assert_eq!(
        answer.authority[0].ttl, 60,
        "the smaller of the SOA's TTL and its minimum"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_name_without_the_type_asked_is_nodata_not_nxdomain() {
    let server = start_dns(|_| {}).await;
    for (name, qtype) in [("www.plants.test", TXT), ("beds.plants.test", A)] {
        let answer = parse(&ask_udp(server.addr, &query(1, name, qtype, None)).await);
        assert_eq!(answer.rcode, NOERROR, "{name}: it exists");
        assert!(answer.answer.is_empty(), "{name}");
        assert_eq!(answer.authority[0].rtype, SOA, "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn names_outside_the_zone_are_refused_without_authority() {
    let server = start_dns(|_| {}).await;
    for name in ["example.com", "test", "xplants.test", "."] {
        let answer = parse(&ask_udp(server.addr, &query(1, name, A, None)).await);
        assert_eq!(answer.rcode, REFUSED, "{name}");
        assert!(!answer.authoritative(), "{name}");
    }
    // Class CHAOS (`dig CH TXT version.bind`) is not the internet's.
    let mut chaos = query(2, "www.plants.test", TXT, None);
    let class_at = chaos.len() - 2;
    chaos[class_at..].copy_from_slice(&3u16.to_be_bytes());
    assert_eq!(parse(&ask_udp(server.addr, &chaos).await).rcode, REFUSED);
    server.stop().await;
}

#[tokio::test]
async fn names_in_answers_are_compressed_into_pointers() {
    let server = start_dns(|_| {}).await;
    let bytes = ask_udp(server.addr, &query(1, "www.plants.test", A, None)).await;
    // Header 12, question name 17 + type and class 4: the answer starts at
    // 33 with a pointer to the question's name at offset 12.
    assert_eq!(&bytes[33..35], [0xc0, 0x0c], "{bytes:?}");
    assert_eq!(bytes.len(), 33 + 2 + 10 + 4, "a compressed A answer");
    let mx = ask_udp(server.addr, &query(2, "plants.test", MX, None)).await;
    // The exchange `mail.plants.test` is `mail` and a pointer to the question.
    let exchange = mx.windows(7).position(|w| w == b"\x04mail\xc0\x0c");
    assert!(exchange.is_some(), "{mx:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_answer_over_512_bytes_is_truncated_over_udp_and_whole_over_tcp() {
    let server = start_dns(|_| {}).await;
    let plain = ask_udp(server.addr, &query(1, "big.plants.test", TXT, None)).await;
    assert!(plain.len() <= 512, "{} bytes", plain.len());
    let truncated = parse(&plain);
    assert!(truncated.truncated(), "TC set");
    assert!(truncated.answer.is_empty(), "no partial answer");
    assert_eq!(truncated.question.as_deref(), Some("big.plants.test."));

    let whole = ask_tcp(server.addr, &query(1, "big.plants.test", TXT, None)).await;
    assert!(whole.len() > 512);
    let whole = parse(&whole);
    assert!(!whole.truncated());
    assert_eq!(whole.answer.len(), 3);

    // A client that takes 1232 bytes with EDNS gets it all over UDP; one
    // that says 100 is given 512 all the same (the least there is).
    let edns = parse(&ask_udp(server.addr, &query(2, "big.plants.test", TXT, Some(1232))).await);
    assert!(!edns.truncated());
    assert_eq!(edns.answer.len(), 3);
    assert_eq!(
        edns.additional.last().map(|rr| rr.rtype),
        Some(41),
        "our OPT record"
    );
    let small = ask_udp(server.addr, &query(3, "big.plants.test", TXT, Some(100))).await;
    assert!(parse(&small).truncated());
    server.stop().await;
}

#[tokio::test]
async fn malformed_queries_get_formerr_with_their_id() {
    let server = start_dns(|_| {}).await;
    let mut header = query(0x0102, "x", A, None)[..12].to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a pointer to itself",
            [&header[..], b"\xc0\x0c\x00\x01\x00\x01"].concat(),
        ),
        ("a label past the end", [&header[..], b"\x3fabc"].concat()),
        ("no type or class", [&header[..], b"\x03www\x00"].concat()),
        (
            "a reserved label type",
            [&header[..], b"\x81a\x00\x00\x01\x00\x01"].concat(),
        ),
        ("no question", header.clone()),
    ];
    for (what, message) in cases {
        let answer = parse(&ask_udp(server.addr, &message).await);
        assert_eq!(answer.rcode, FORMERR, "{what}");
        assert_eq!(answer.id, 0x0102, "{what}");
        assert!(answer.question.is_none(), "{what}");
    }
    header[5] = 2; // two questions
    let two = [
        &header[..],
        b"\x01a\x00\x00\x01\x00\x01\x01b\x00\x00\x01\x00\x01",
    ]
    .concat();
    assert_eq!(parse(&ask_udp(server.addr, &two).await).rcode, FORMERR);
    server.stop().await;
}

#[tokio::test]
async fn other_opcodes_get_notimp_and_a_newer_edns_version_badvers() {
    let server = start_dns(|_| {}).await;
    let mut notify = query(1, "plants.test", SOA, None);
    notify[2] |= 4 << 3;
    assert_eq!(parse(&ask_udp(server.addr, &notify).await).rcode, NOTIMP);
    let mut edns1 = query(2, "www.plants.test", A, Some(1232));
    let version_at = edns1.len() - 5;
    edns1[version_at] = 1;
    let answer = parse(&ask_udp(server.addr, &edns1).await);
    // BADVERS is 16: 0 in the header's 4 bits, 1 in the OPT record's 8.
    assert_eq!(answer.rcode, 0);
    let opt = answer.additional.last().expect("an OPT record");
    assert_eq!(opt.rtype, 41);
    assert_eq!(opt.ttl >> 24, 1, "extended rcode 1 << 4 = 16");
    assert!(answer.answer.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn responses_and_scraps_get_no_answer_and_the_server_goes_on() {
    let server = start_dns(|_| {}).await;
    let socket = udp_client().await;
    let mut response = query(7, "www.plants.test", A, None);
    response[2] |= 0x80; // QR: this is an answer; answering it could loop
    socket.send_to(&response, server.addr).await.expect("send");
    socket.send_to(b"hello", server.addr).await.expect("send");
    socket.send_to(b"", server.addr).await.expect("send");
    // The next datagram back answers the next real query.
    let answer = parse(&ask_on(&socket, server.addr, &query(8, "www.plants.test", A, None)).await);
    assert_eq!(answer.id, 8);
    server.stop().await;
}

#[tokio::test]
async fn every_type_with_any() {
    let server = start_dns(|_| {}).await;
    let answer = parse(&ask_udp(server.addr, &query(1, "plants.test", 255, Some(1232))).await);
    let mut types: Vec<u16> = answer.answer.iter().map(|rr| rr.rtype).collect();
    types.sort();
    assert_eq!(types, [A, NS, SOA, MX, TXT]);
    server.stop().await;
}

#[tokio::test]
async fn a_cname_loop_in_the_zone_is_servfail_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = dir.path().join("loop.zone");
    std::fs::write(
        &zone,
        "$ORIGIN loop.test.\n$TTL 1\n@ SOA ns x 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\na CNAME b\nb CNAME a\n",
    )
    .expect("write");
    let server = start_dns(|config| config.zone_file = zone).await;
    let answer = parse(&ask_udp(server.addr, &query(1, "a.loop.test", A, None)).await);
    assert_eq!(answer.rcode, SERVFAIL);
    server.stop().await;
}

#[tokio::test]
async fn tcp_answers_several_queries_on_one_connection_in_order() {
    let server = start_dns(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // Three queries in one write, and one split across two writes.
    let mut batch = Vec::new();
    for (id, name) in [
        (1, "www.plants.test"),
        (2, "nope.plants.test"),
        (3, "example.com"),
    ] {
        let message = query(id, name, A, None);
        batch.extend_from_slice(&(message.len() as u16).to_be_bytes());
        batch.extend_from_slice(&message);
    }
    stream.write_all(&batch).await.expect("send");
    let mut got = Vec::new();
    for _ in 0..3 {
        let answer = parse(&receive_tcp(&mut stream).await);
        got.push((answer.id, answer.rcode));
    }
    assert_eq!(got, [(1, NOERROR), (2, NXDOMAIN), (3, REFUSED)]);
    let message = query(4, "www.plants.test", AAAA, None);
    let mut frame = (message.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&message);
    stream.write_all(&frame[..1]).await.expect("send");
    stream.write_all(&frame[1..]).await.expect("send");
    assert_eq!(parse(&receive_tcp(&mut stream).await).data(), ["::1"]);
    server.stop().await;
}

#[tokio::test]
async fn tcp_a_cut_message_closes_that_connection_only() {
    let server = start_dns(|_| {}).await;
    let mut broken = TcpStream::connect(server.addr).await.expect("connect");
    broken.write_all(&[0, 40, 1, 2, 3]).await.expect("send");
    broken.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, broken.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .expect("read");
    assert!(rest.is_empty(), "no answer to half a message");
    let mut zero = TcpStream::connect(server.addr).await.expect("connect");
    zero.write_all(&[0, 0]).await.expect("send");
    let closed = tokio::time::timeout(PATIENCE, zero.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a zero length closes the connection");
    let answer = parse(&ask_tcp(server.addr, &query(9, "www.plants.test", A, None)).await);
    assert_eq!(answer.id, 9);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_tcp_connection_is_closed() {
    let server = start_dns(|config| config.tcp_idle_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    send_tcp(&mut stream, &query(1, "www.plants.test", A, None)).await;
    receive_tcp(&mut stream).await;
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .expect("closed after the idle timeout")
        .expect("read");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_udp_and_tcp_and_frees_the_port() {
    let mut server = start_dns(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    send_tcp(&mut stream, &query(1, "www.plants.test", A, None)).await;
    receive_tcp(&mut stream).await;
    server.begin_shutdown();
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .expect("the idle TCP connection is closed at shutdown")
        .expect("read");
    let addr = server.addr;
    server.stopped(PATIENCE).await;
    UdpSocket::bind(addr)
        .await
        .expect("the UDP port is free again");
    tcp_echo::bind::bind_tcp(addr).expect("the TCP port is free again");
}
