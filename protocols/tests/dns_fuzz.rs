//! The DNS parser and answerer against random and mangled bytes (proptest).
//!
//! What to notice: the properties are the server's promises to a hostile
//! network: whatever arrives, `respond` returns (no panic, no loop); what it
//! sends is a well-formed message (the test's own parser takes it apart);
//! a UDP answer never exceeds the size the client can take; and a query
//! that was answered gets its own id back.

mod support;

use std::net::SocketAddr;
use std::sync::OnceLock;

use proptest::prelude::*;
use protocols::dns::DEFAULT_ZONE_FILE;
use protocols::dns::answer::{Transport, respond};
use protocols::dns::compress::MessageWriter;
use protocols::dns::message::parse_query;
use protocols::dns::name::Name;
use protocols::dns::zone::Zone;
use support::dns_client::{parse, query};

fn zone() -> &'static Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(|| {
        Zone::load(std::path::Path::new(DEFAULT_ZONE_FILE)).expect("the crate's zone")
    })
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5353))
}

/// Answers `message` over UDP and checks every promise; returns the answer.
fn check_udp(message: &[u8]) -> Option<Vec<u8>> {
    let mut out = MessageWriter::new();
    if !respond(zone(), message, Transport::Udp, peer(), &mut out) {
        return None;
    }
    let answer = out.bytes().to_vec();
    let limit = match parse_query(message) {
        Ok(query) => protocols::dns::answer::udp_limit(&query),
        Err(_) => 512,
    };
    assert!(
        answer.len() <= limit,
        "{} bytes over a limit of {limit}",
        answer.len()
    );
    let parsed = parse(&answer);
    assert_eq!(
        parsed.id,
        u16::from_be_bytes([message[0], message[1]]),
        "the query's id"
    );
    assert!(parsed.flags & 0x8000 != 0, "a response");
    Some(answer)
}

/// Names the zone knows, and some it does not.
fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("www.plants.test".to_string()),
        Just("shop.plants.test".to_string()),
        Just("big.plants.test".to_string()),
        Just("plants.test".to_string()),
        Just("mint.beds.plants.test".to_string()),
        "[a-z]{1,10}\\.plants\\.test",
        "[a-zA-Z0-9-]{1,20}(\\.[a-z]{1,8}){0,3}",
    ]
}

/// A byte, most often one that matters to a name: a pointer's first byte,
/// the offset of the question, a zero, a short length.
fn pointer_heavy(random: u16) -> u8 {
    let [kind, value] = random.to_be_bytes();
    match kind % 5 {
        0 => 0xc0 | (value & 1),
        1 => 0x0c,
        2 => 0,
        3 => value % 70,
        _ => value,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic_and_any_answer_is_well_formed(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_udp(&bytes);
    }

    #[test]
    fn a_random_name_region_full_of_pointers_never_loops(
        header in proptest::collection::vec(any::<u8>(), 12),
        body in proptest::collection::vec(any::<u16>().prop_map(pointer_heavy), 0..300),
        start in 0usize..320,
    ) {
        let message = [header, body].concat();
        let _ = Name::read(&message, start.min(message.len()));
        check_udp(&message);
    }

    #[test]
    fn valid_queries_with_bytes_mangled_never_panic(
        name in names(),
        qtype in prop_oneof![Just(1u16), Just(2), Just(5), Just(6), Just(15), Just(16), Just(28), Just(255), any::<u16>()],
        edns in proptest::option::of(any::<u16>()),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut message = query(0x4242, &name, qtype, edns);
        for (at, value) in flips {
            let at = at % message.len();
            message[at] = value;
        }
        if let Some(cut) = cut {
            message.truncate(cut % (message.len() + 1));
        }
        check_udp(&message);
    }

    #[test]
    fn valid_queries_are_answered_with_their_question(
        name in names(),
        qtype in prop_oneof![Just(1u16), Just(2), Just(5), Just(6), Just(15), Just(16), Just(28), Just(255)],
        edns in proptest::option::of(512u16..4096),
    ) {
        let message = query(0x1234, &name, qtype, edns);
        let answer = check_udp(&message).expect("a query is answered");
        let parsed = parse(&answer);
        prop_assert_eq!(parsed.question, Some(format!("{name}.")));
        prop_assert!(parsed.rcode == 0 || parsed.rcode == 3 || parsed.rcode == 5, "rcode {}", parsed.rcode);
    }
}
