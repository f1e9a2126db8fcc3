//! Build it yourself, SMTP step 1: a conversation of numbered replies.
//!
//! What to notice: the server speaks first (`220`), then reads a line at a
//! time and answers each with a code and some text. It knows `EHLO`,
//! `HELO`, `NOOP` and `QUIT`; everything else gets `500`. One client at a
//! time (std, blocking), as the first server of lesson 1.
//!
//! Checker: passes stages 1-4, then fails stage 5 (no message can be sent yet).
//!
//! Try it: `cargo run -p protocols --example smtp-step1-conversation`, then
//! `nc -C 127.0.0.1 2525` and type `EHLO me`, `NOOP`, `QUIT`.

// ANCHOR: all
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2525".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on smtp://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(error) = converse(stream) {
                    eprintln!("connection ended: {error}");
                }
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    Ok(())
}

/// One client's conversation, from the greeting to `QUIT`.
fn converse(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    // The server speaks first.
    writer.write_all(b"220 localhost ESMTP step 1\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // the client closed the connection
        }
        // A command is a verb, in any case, and maybe an argument.
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => "250 localhost hello",
            "NOOP" => "250 OK",
            "QUIT" => {
                writer.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => "500 command not recognized",
        };
        writer.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}
// ANCHOR_END: all
