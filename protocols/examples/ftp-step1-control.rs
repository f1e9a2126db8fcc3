//! Build it yourself, FTP step 1: the control connection.
//!
//! What to notice: the same shape as SMTP's first step: the server speaks
//! first (`220`), then a command line in, a numbered reply out. An
//! anonymous login (`USER anonymous`, any `PASS`), `SYST`, `PWD`, `TYPE`
//! and `QUIT`. Nothing can be listed or fetched yet: that needs a second
//! connection (step 2).
//!
//! Checker: passes stages 1-4, then fails stage 5 (no folders yet).
//!
//! Try it: `cargo run -p protocols --example ftp-step1-control`, then
//! `nc -C 127.0.0.1 2121` and type `USER anonymous`, `PASS x`, `PWD`, `QUIT`.

// ANCHOR: all
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2121".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on ftp://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            if let Err(error) = converse(stream) {
                eprintln!("connection ended: {error}");
            }
        });
    }
    Ok(())
}

fn converse(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 step 1 FTP ready\r\n")?;
    let mut logged_in = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "USER" if argument == "anonymous" => "331 any password will do",
            "USER" => "530 only anonymous",
            "PASS" => {
                logged_in = true;
                "230 logged in"
            }
            "SYST" => "215 UNIX Type: L8",
            "QUIT" => {
                writer.write_all(b"221 goodbye\r\n")?;
                return Ok(());
            }
            _ if !logged_in => "530 log in first",
            "PWD" => "257 \"/\" is the current folder",
            "TYPE" => "200 type set",
            _ => "502 not implemented",
        };
        writer.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}
// ANCHOR_END: all
