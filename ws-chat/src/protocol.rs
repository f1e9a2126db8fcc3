//! The chat protocol: what a client's line means, and every line the server
//! sends, as pure functions.
//!
//! What to notice: nothing here touches a socket, a lock or a clock, so every
//! rule of the protocol (the chapter's table of lines) can be unit-tested in
//! microseconds, and the rest of the server only moves these strings around.
//! One line per text frame; system lines start with `* `, chat lines with
//! `<nick> `.

/// The longest chat message, in bytes: a long paragraph. Longer messages
/// get `* error: message too long` and are not sent to the room.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// What a text frame from a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A chat line for the room.
    Say(String),
    /// A command starting with `/`.
    Command(Command),
    /// Nothing to do (an empty message).
    Nothing,
    /// Something we refuse, with the reason for the `* error:` line.
    Invalid(String),
}

/// The commands (`/help` lists them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/nick NAME`: change nick.
    Nick(String),
    /// `/join ROOM`: move to another room (created if new).
    Join(String),
    /// `/who`: who is in my room.
    Who,
    /// `/rooms`: which rooms exist.
    Rooms,
    /// `/help`: the commands.
    Help,
}

/// Reads one text frame from a client.
pub fn parse_input(text: &str) -> Input {
    // Terminal clients such as websocat send the line with its newline.
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.len() > MAX_MESSAGE_BYTES {
        return Input::Invalid(format!("message too long (max {MAX_MESSAGE_BYTES} bytes)"));
    }
    let Some(command_line) = text.strip_prefix('/') else {
        let line = one_line(text);
        return if line.trim().is_empty() {
            Input::Nothing
        } else {
            Input::Say(line)
        };
    };
    let (name, argument) = command_line
        .split_once(char::is_whitespace)
        .map_or((command_line, ""), |(name, rest)| (name, rest.trim()));
    match name {
        "nick" if is_valid_nick(argument) => Input::Command(Command::Nick(argument.to_string())),
        "nick" => Input::Invalid("usage: /nick NAME (1-24 of A-Z a-z 0-9 _ -)".to_string()),
        "join" => {
            let room = argument.strip_prefix('#').unwrap_or(argument);
            if is_valid_room(room) {
                Input::Command(Command::Join(room.to_string()))
            } else {
                Input::Invalid("usage: /join ROOM (1-32 of a-z 0-9 _ -)".to_string())
            }
        }
        "who" => Input::Command(Command::Who),
        "rooms" => Input::Command(Command::Rooms),
        "help" => Input::Command(Command::Help),
        other => Input::Invalid(format!("unknown command /{}; try /help", one_line(other))),
    }
}

/// A chat message as one line: line breaks become spaces and other control
/// characters are dropped, so nobody can print a line that looks like a
/// system line (`hi\n* alice left #lobby`).
fn one_line(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// 1 to 24 of `A-Z a-z 0-9 _ -`.
pub fn is_valid_nick(nick: &str) -> bool {
    (1..=24).contains(&nick.len())
        && nick
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// 1 to 32 of `a-z 0-9 _ -`.
pub fn is_valid_room(room: &str) -> bool {
    (1..=32).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The first line a client gets.
pub fn welcome(nick: &str, room: &str) -> String {
    format!("* welcome, {nick}! you are in #{room}; type /help for commands")
}

/// The first line a client gets from one of several copies sharing the
/// chat: the same, naming the copy (`INSTANCE_NAME`) that serves it.
pub fn welcome_on(nick: &str, room: &str, instance: &str) -> String {
    format!("* welcome, {nick}! you are in #{room} on {instance}; type /help for commands")
}

/// To a room, when someone arrives.
pub fn joined(nick: &str, room: &str) -> String {
    format!("* {nick} joined #{room}")
}

/// To a room, when someone leaves it or disconnects.
pub fn left(nick: &str, room: &str) -> String {
    format!("* {nick} left #{room}")
}

/// To a room, when someone changes nick.
pub fn renamed(old: &str, new: &str) -> String {
    format!("* {old} is now known as {new}")
}

/// A chat line, to the whole room, sender included.
pub fn chat(nick: &str, text: &str) -> String {
    format!("<{nick}> {text}")
}

/// The answer to `/who`.
pub fn who(room: &str, nicks: &[&str]) -> String {
    format!("* users in #{room}: {}", nicks.join(", "))
}

/// The answer to `/rooms`: each room with how many are in it.
pub fn rooms(rooms: &[(&str, usize)]) -> String {
    let list: Vec<String> = rooms
        .iter()
        .map(|(room, count)| format!("#{room} ({count})"))
        .collect();
    format!("* rooms: {}", list.join(", "))
}

/// The answer to `/help`.
pub fn help() -> String {
    "* commands: /nick NAME (rename), /join ROOM (switch room), /who (who is here), /rooms (all rooms), /help".to_string()
}

/// An error, to the one client that caused it.
pub fn error(message: &str) -> String {
    format!("* error: {message}")
}

/// A warning, to the one client it concerns: something it asked for may or
/// may not have happened (the chat shared through Redis says so when Redis
/// did not answer in time, rather than a false error).
pub fn warning(message: &str) -> String {
    format!("* warning: {message}")
}

/// To a client whose nick went to someone else while its copy was cut off
/// from Redis (the nick expired there, and a client of another copy took it).
pub fn nick_lost(lost: &str, new: &str) -> String {
    format!(
        "* your nick {lost} expired while this server was cut off, and someone else has it now; you are {new}"
    )
}

/// To a client over the rate limit: the refused message is not sent.
pub fn slow_down(per_second: u32) -> String {
    error(&format!(
        "too many messages; slow down ({per_second} per second)"
    ))
}

/// The last line every client gets when the server stops.
pub fn shutting_down() -> String {
    "* server shutting down; reconnect in a moment".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_said_on_one_line() {
        assert_eq!(parse_input("hello"), Input::Say("hello".into()));
        assert_eq!(
            parse_input("from a terminal\n"),
            Input::Say("from a terminal".into())
        );
        assert_eq!(parse_input("two\nlines"), Input::Say("two lines".into()));
        assert_eq!(parse_input("bell\u{7}"), Input::Say("bell".into()));
        assert_eq!(parse_input(""), Input::Nothing);
        assert_eq!(parse_input("  "), Input::Nothing);
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(
            parse_input("/nick alice_2"),
            Input::Command(Command::Nick("alice_2".into()))
        );
        assert_eq!(
            parse_input("/join rust"),
            Input::Command(Command::Join("rust".into()))
        );
        assert_eq!(
            parse_input("/join #rust"),
            Input::Command(Command::Join("rust".into()))
        );
        assert_eq!(parse_input("/who"), Input::Command(Command::Who));
        assert_eq!(parse_input("/rooms"), Input::Command(Command::Rooms));
        assert_eq!(parse_input("/help"), Input::Command(Command::Help));
    }

    #[test]
    fn bad_arguments_and_unknown_commands_are_invalid() {
        for bad in [
            "/nick",
            "/nick has space",
            "/nick toolong_toolong_toolong__",
            "/nick émile",
            "/join",
            "/join Rust",
            "/join a.b",
            "/dance",
        ] {
            assert!(matches!(parse_input(bad), Input::Invalid(_)), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_exact() {
        assert!(!is_valid_nick(""));
        assert!(is_valid_nick(&"n".repeat(23)));
        assert!(is_valid_nick(&"n".repeat(24)));
        assert!(!is_valid_nick(&"n".repeat(25)));
        assert!(!is_valid_room(""));
        assert!(is_valid_room(&"r".repeat(31)));
        assert!(is_valid_room(&"r".repeat(32)));
        assert!(!is_valid_room(&"r".repeat(33)));
        for len in [MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES] {
            assert_eq!(parse_input(&"x".repeat(len)), Input::Say("x".repeat(len)));
        }
        assert!(matches!(
            parse_input(&"x".repeat(MAX_MESSAGE_BYTES + 1)),
            Input::Invalid(_)
        ));
    }

    #[test]
    fn every_line_has_its_documented_shape() {
        assert!(welcome("guest-1", "lobby").starts_with("* "));
        assert!(
            welcome("guest-1", "lobby").contains("guest-1")
                && welcome("guest-1", "lobby").contains("#lobby")
        );
        assert_eq!(joined("guest-1", "lobby"), "* guest-1 joined #lobby");
        assert_eq!(left("alice", "rust"), "* alice left #rust");
        assert_eq!(
            renamed("guest-1", "alice"),
            "* guest-1 is now known as alice"
        );
        assert_eq!(chat("alice", "hi"), "<alice> hi");
        assert_eq!(
            who("lobby", &["alice", "bob"]),
            "* users in #lobby: alice, bob"
        );
        assert_eq!(
            rooms(&[("lobby", 2), ("rust", 1)]),
            "* rooms: #lobby (2), #rust (1)"
        );
        assert_eq!(error("no"), "* error: no");
        assert_eq!(warning("maybe"), "* warning: maybe");
        assert!(nick_lost("alice", "guest-7").starts_with("* your nick alice "));
        assert!(nick_lost("alice", "guest-7").ends_with("; you are guest-7"));
        assert_eq!(
            slow_down(5),
            "* error: too many messages; slow down (5 per second)"
        );
    }
}
