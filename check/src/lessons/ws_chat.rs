//! `cargo run -p check -- ws-chat ADDR`: lesson 5's stages, in the order a
//! chat server is built: each one a short script of clients, what they
//! send, and the lines they must see.
//!
//! What to notice: every stage starts from nothing (its own clients, its own
//! unique nick and room names), so `--all` can run every stage even after
//! one failed, and two checkers can run against one server at once. What
//! must *not* arrive (an error sent to the wrong client, a line leaking into
//! another room) is checked with a marker: the client sends one more line,
//! and everything that arrived before its echo is inspected.

use tokio_tungstenite::tungstenite::Message;

use crate::runner::{Failure, Stage};
use crate::ws::{
    ChatTarget, Event, Expectation, Peer, WAIT, accept_key, seconds, show_head, show_line, upgrade,
};

/// The stages, in order; a stage's number is its place here, from 1.
pub const STAGES: &[Stage<ChatTarget>] = &[
    Stage {
        name: "handshake",
        check: |target| Box::pin(handshake(target)),
    },
    Stage {
        name: "welcome",
        check: |target| Box::pin(welcome(target)),
    },
    Stage {
        name: "broadcast",
        check: |target| Box::pin(broadcast(target)),
    },
    Stage {
        name: "join and leave notices",
        check: |target| Box::pin(notices(target)),
    },
    Stage {
        name: "nick",
        check: |target| Box::pin(nick(target)),
    },
    Stage {
        name: "rooms",
        check: |target| Box::pin(rooms(target)),
    },
    Stage {
        name: "limits and close",
        check: |target| Box::pin(limits(target)),
    },
];

/// A word no other run of the checker uses: lowercase letters and digits,
/// so it fits in a nick and a room name.
fn token() -> String {
    let mut number = crate::ws::unique_number() % 36u64.pow(8);
    let mut word = String::new();
    for _ in 0..8 {
        let digit = (number % 36) as u32;
        word.push(char::from_digit(digit, 36).unwrap_or('0'));
        number /= 36;
    }
    word
}

// ANCHOR: handshake
/// Stage 1: `101 Switching Protocols` with the right accept key, checked
/// byte by byte, then a ping answered with a pong.
async fn handshake(target: &ChatTarget) -> Result<(), Failure> {
    let handshake = upgrade(target).await?;
    let sent = show_head(handshake.request.as_bytes());
    let head = String::from_utf8_lossy(&handshake.response_head).into_owned();
    let got = show_head(&handshake.response_head);
    let status_line = head.lines().next().unwrap_or_default();
    if !status_line.starts_with("HTTP/1.1 101") {
        return Err(Failure::new(
            sent,
            "a status line `HTTP/1.1 101 Switching Protocols`".to_string(),
            got,
            format!(
                "is {} the WebSocket endpoint? A server answers an upgrade it accepts with 101 \
                 (RFC 6455 section 4.2.2)",
                target.url()
            ),
        ));
    }
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        return Err(Failure::new(
            sent,
            "headers `Upgrade: websocket` and `Connection: Upgrade` in the 101".to_string(),
            got,
            "RFC 6455 section 4.2.2: the 101 carries both headers".to_string(),
        ));
    }
    let expected_accept = accept_key(&handshake.key);
    if header("sec-websocket-accept").as_deref() != Some(expected_accept.as_str()) {
        return Err(Failure::new(
            sent,
            format!("`Sec-WebSocket-Accept: {expected_accept}`"),
            got,
            format!(
                "the accept key is base64(SHA-1(key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")) of the \
                 key exactly as sent (here {}), without spaces; base64 of the 20-byte digest, not of its hex",
                handshake.key
            ),
        ));
    }
    let mut peer = Peer::from_socket(handshake.socket, "A");
    if let Err(got) = peer.ping(b"checker").await {
        return Err(Failure::new(
            "after the handshake, a ping frame carrying \"checker\"".to_string(),
            "a pong frame carrying \"checker\"".to_string(),
            got,
            "after the 101 the connection carries WebSocket frames: answer a ping with a pong \
                   (RFC 6455 section 5.5.3); a WebSocket library does it if you keep reading"
                .to_string(),
        ));
    }
    peer.leave().await;
    Ok(())
}
// ANCHOR_END: handshake

/// Stage 2: each newcomer is welcomed with its own nick, in the lobby.
async fn welcome(target: &ChatTarget) -> Result<(), Failure> {
    let a = Peer::join(target, "A").await?;
    let b = Peer::join(target, "B").await?;
    if a.nick == b.nick {
        return Err(Failure::new(
            "clients A and B connected".to_string(),
            "two different nicks in their welcomes".to_string(),
            format!("both were welcomed as {}", a.nick),
            "number the guests: guest-1, guest-2, ... (a counter shared by every connection)"
                .to_string(),
        ));
    }
    a.leave().await;
    b.leave().await;
    Ok(())
}

/// Stage 3: a line reaches everyone in the room, the sender included.
async fn broadcast(target: &ChatTarget) -> Result<(), Failure> {
    let mut a = Peer::join(target, "A").await?;
    let mut b = Peer::join(target, "B").await?;
    let text = format!("hello from the checker {}", token());
    a.say(&text).await?;
    let line = format!("<{}> {text}", a.nick);
    let sent = format!("client A ({}) sent {}", a.nick, show_line(&text));
    a.expect(
        Expectation {
            sent: &sent,
            expected: &format!("{} (its own line comes back)", show_line(&line)),
            hint: "send every chat line to everyone in the room, the sender included, as `<nick> text`",
        },
        |got| got == line,
    )
    .await?;
    b.expect(
        Expectation {
            sent: &sent,
            expected: &format!("{} (B is in the same room)", show_line(&line)),
            hint: "keep every connected client's sender (a queue per client) and send the line to all of them, \
                   not only to the connection it came from",
        },
        |got| got == line,
    )
    .await?;
    a.leave().await;
    b.leave().await;
    Ok(())
}

/// Stage 4: the room hears who arrives and who leaves.
async fn notices(target: &ChatTarget) -> Result<(), Failure> {
    let mut a = Peer::join(target, "A").await?;
    let c = Peer::join(target, "C").await?;
    let joined = format!("* {} joined #lobby", c.nick);
    a.expect(
        Expectation {
            sent: &format!("client C connected and was welcomed as {}", c.nick),
            expected: &show_line(&joined),
            hint: "when a client arrives, tell the others in its room `* NICK joined #ROOM`",
        },
        |got| got == joined,
    )
    .await?;
    let left = format!("* {} left #lobby", c.nick);
    let c_nick = c.nick.clone();
    c.leave().await;
    a.expect(
        Expectation {
            sent: &format!("client C ({c_nick}) sent a close frame"),
            expected: &show_line(&left),
            hint: "when a connection ends (a close frame, or the TCP connection just drops), tell the room \
                   `* NICK left #ROOM`",
        },
        |got| got == left,
    )
    .await?;
    a.leave().await;
    Ok(())
}

/// Stage 5: `/nick`, its notice, and errors for the requester only.
async fn nick(target: &ChatTarget) -> Result<(), Failure> {
    let mut a = Peer::join(target, "A").await?;
    let mut b = Peer::join(target, "B").await?;
    let new = format!("chk{}", token());
    let command = format!("/nick {new}");
    a.say(&command).await?;
    let renamed = format!("* {} is now known as {new}", a.nick);
    let sent = format!("client A ({}) sent {}", a.nick, show_line(&command));
    for peer in [&mut a, &mut b] {
        peer.expect(
            Expectation {
                sent: &sent,
                expected: &show_line(&renamed),
                hint: "`/nick NAME` (1-24 of A-Z a-z 0-9 _ -) renames; the whole room, the renamed included, \
                       gets `* OLD is now known as NEW`",
            },
            |got| got == renamed,
        )
        .await?;
    }
    a.nick = new.clone();
    for bad in [command.clone(), "/nick two words".to_string()] {
        b.say(&bad).await?;
        b.expect(
            Expectation {
                sent: &format!("client B sent {}", show_line(&bad)),
                expected: "a line starting with `* error: `",
                hint: "a taken or invalid nick is refused with `* error: ...` to the one who asked",
            },
            |got| got.starts_with("* error: "),
        )
        .await?;
    }
    let marker = format!("still here {}", token());
    a.say(&marker).await?;
    let echo = format!("<{new}> {marker}");
    let (_, before) = a
        .expect(
            Expectation {
                sent: &format!("client A sent {}", show_line(&marker)),
                expected: &format!("{} (chat lines carry the new nick)", show_line(&echo)),
                hint: "after a rename, the client's lines carry its new nick",
            },
            |got| got == echo,
        )
        .await?;
    if let Some(leak) = before.iter().find(|line| line.starts_with("* error: ")) {
        return Err(Failure::new(
            "client B sent two bad /nick commands".to_string(),
            "client A: no error lines (they were B's errors)".to_string(),
            format!("client A: {}", show_line(leak)),
            "send `* error: ...` to the client that caused it only, not to the room".to_string(),
        ));
    }
    a.leave().await;
    b.leave().await;
    Ok(())
}

/// Stage 6: `/join`, lines that stay in their room, `/who` and `/rooms`.
async fn rooms(target: &ChatTarget) -> Result<(), Failure> {
    let mut a = Peer::join(target, "A").await?;
    let mut b = Peer::join(target, "B").await?;
    let room = format!("chk-{}", token());
    let command = format!("/join {room}");
    a.say(&command).await?;
    let sent = format!("client A ({}) sent {}", a.nick, show_line(&command));
    let left = format!("* {} left #lobby", a.nick);
    b.expect(
        Expectation {
            sent: &sent,
            expected: &show_line(&left),
            hint: "`/join ROOM` tells the old room `* NICK left #OLD`",
        },
        |got| got == left,
    )
    .await?;
    let joined = format!("* {} joined #{room}", a.nick);
    a.expect(
        Expectation {
            sent: &sent,
            expected: &show_line(&joined),
            hint: "`/join ROOM` tells the new room, the one who joined included, `* NICK joined #NEW`",
        },
        |got| got == joined,
    )
    .await?;

    let secret = format!("only for #{room}");
    a.say(&secret).await?;
    let secret_line = format!("<{}> {secret}", a.nick);
    a.expect(
        Expectation {
            sent: &format!("client A sent {}", show_line(&secret)),
            expected: &show_line(&secret_line),
            hint: "a line goes to the sender's room, the sender included",
        },
        |got| got == secret_line,
    )
    .await?;
    let marker = format!("in the lobby {}", token());
    b.say(&marker).await?;
    let marker_line = format!("<{}> {marker}", b.nick);
    let (_, before) = b
        .expect(
            Expectation {
                sent: &format!("client B, still in #lobby, sent {}", show_line(&marker)),
                expected: &show_line(&marker_line),
                hint: "a line goes to the sender's room, the sender included",
            },
            |got| got == marker_line,
        )
        .await?;
    if before.contains(&secret_line) {
        return Err(Failure::new(
            format!("client A, in #{room}, sent {}", show_line(&secret)),
            "client B, in #lobby: not that line".to_string(),
            format!("client B: {}", show_line(&secret_line)),
            "send a chat line only to the members of the sender's room".to_string(),
        ));
    }

    let who = format!("* users in #{room}: {}", a.nick);
    a.say("/who").await?;
    a.expect(
        Expectation {
            sent: &format!("client A, alone in #{room}, sent \"/who\""),
            expected: &show_line(&who),
            hint: "`/who` answers the asker with `* users in #ROOM: nick, nick` for its own room",
        },
        |got| got == who,
    )
    .await?;
    a.say("/rooms").await?;
    let (a_room, b_nick) = (format!("#{room}"), b.nick.clone());
    a.expect(
        Expectation {
            sent: &format!("client A sent \"/rooms\" (B is in #lobby, A in #{room})"),
            expected: &format!("a line starting with `* rooms: ` naming #lobby and #{room}"),
            hint: "`/rooms` answers the asker with `* rooms: ` and every room someone is in",
        },
        |got| got.starts_with("* rooms: ") && got.contains("#lobby") && got.contains(&a_room),
    )
    .await?;
    b.say("/who").await?;
    b.expect(
        Expectation {
            sent: "client B, in #lobby, sent \"/who\"",
            expected: &format!("a line starting with `* users in #lobby: ` naming {b_nick}"),
            hint: "`/who` lists the asker's own room",
        },
        |got| got.starts_with("* users in #lobby: ") && got.contains(&b_nick),
    )
    .await?;
    a.leave().await;
    b.leave().await;
    Ok(())
}

/// The chat's longest message, in bytes.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Stage 7: over-long and binary messages refused, a clean close answered.
async fn limits(target: &ChatTarget) -> Result<(), Failure> {
    let mut a = Peer::join(target, "A").await?;
    let longest = "x".repeat(MAX_MESSAGE_BYTES);
    a.say(&longest).await?;
    let longest_line = format!("<{}> {longest}", a.nick);
    a.expect(
        Expectation {
            sent: &format!("client A sent a message of exactly {MAX_MESSAGE_BYTES} bytes"),
            expected: &format!("{} (the limit itself is allowed)", show_line(&longest_line)),
            hint: "accept messages up to 4096 bytes; count bytes, not characters",
        },
        |got| got == longest_line,
    )
    .await?;
    let too_long = "y".repeat(MAX_MESSAGE_BYTES + 1);
    a.say(&too_long).await?;
    let (_, before) = a
        .expect(
            Expectation {
                sent: &format!("client A sent a message of {} bytes", MAX_MESSAGE_BYTES + 1),
                expected: "a line starting with `* error: `",
                hint: "refuse a message over 4096 bytes with `* error: ...` to its sender, and do not send it on",
            },
            |got| got.starts_with("* error: "),
        )
        .await?;
    if let Some(broadcast) = before.iter().find(|line| line.ends_with(&too_long)) {
        return Err(Failure::new(
            format!("client A sent a message of {} bytes", MAX_MESSAGE_BYTES + 1),
            "only an error, not the message itself".to_string(),
            format!("client A: {}", show_line(broadcast)),
            "check the length before sending the line to the room".to_string(),
        ));
    }
    a.send(
        Message::binary(vec![0, 1, 2, 255]),
        "a binary frame \"\\x00\\x01\\x02\\xff\"",
    )
    .await?;
    a.expect(
        Expectation {
            sent: "client A sent a binary frame \"\\x00\\x01\\x02\\xff\"",
            expected: "a line starting with `* error: `",
            hint: "the chat speaks text frames; answer a binary frame with `* error: ...` and keep the \
                   connection open",
        },
        |got| got.starts_with("* error: "),
    )
    .await?;
    a.start_close().await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match a.next_event(deadline).await {
            Some(Event::Close(_)) => break,
            Some(Event::Line(line)) => seen.push(show_line(&line)),
            other => {
                let end = other.map_or(format!("nothing within {}", seconds(WAIT)), |event| {
                    event.to_string()
                });
                seen.push(end);
                return Err(Failure::new("client A sent a close frame (1000 \"checker done\")".to_string(), "client A: a close frame in answer".to_string(), format!("client A: {}", seen.join(", ")), "answer a close frame with a close frame before closing the TCP connection \
                           (RFC 6455 section 5.5.1); a WebSocket library does it if you keep reading \
                           (or close the sink) after the client's close"
                        .to_string()));
            }
        }
    }
    Ok(())
}
