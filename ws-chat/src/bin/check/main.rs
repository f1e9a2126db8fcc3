//! `cargo run -p ws-chat --bin check -- ADDR`: checks any chat server, in any
//! language, against the lesson's stages.
//!
//! ADDR is `host:port` (the WebSocket is then at `/ws`) or a URL such as
//! `ws://127.0.0.1:8080/ws`. Try it: `cargo run -p ws-chat` in one terminal,
//! `cargo run -p ws-chat --bin check -- 127.0.0.1:8080` in another.

mod peer;
mod stages;

use std::process::ExitCode;
use std::time::Duration;

use peer::Target;
use stages::STAGES;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let usage = "usage: cargo run -p ws-chat --bin check -- [--all] ADDR (for example 127.0.0.1:8080 or ws://127.0.0.1:8080/ws)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|arg| arg == "--all");
    let addresses: Vec<&String> = args.iter().filter(|arg| *arg != "--all").collect();
    let [address] = addresses.as_slice() else {
        eprintln!("check: {usage}");
        return ExitCode::from(2);
    };
    let Some(target) = Target::parse(address) else {
        eprintln!("check: cannot read ADDR {address:?}; {usage}");
        return ExitCode::from(2);
    };
    let probe = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(&target.authority),
    )
    .await;
    if let Err(error) = probe
        .map_err(|_| "no answer within 5 s".to_string())
        .and_then(|c| c.map_err(|e| e.to_string()))
    {
        eprintln!(
            "check: nothing is answering at {} ({error}): start your server first, or check ADDR",
            target.authority
        );
        return ExitCode::from(2);
    }
    let mut failed = false;
    for (index, (name, stage)) in STAGES.iter().enumerate() {
        match stage.run(&target).await {
            Ok(()) => println!("PASS stage {}: {name}", index + 1),
            Err(failure) => {
                failed = true;
                println!("FAIL stage {}: {name}", index + 1);
                println!("  sent:     {}", failure.sent);
                println!("  expected: {}", failure.expected);
                println!("  got:      {}", failure.got);
                println!("  hint:     {}", failure.hint);
                if !all {
                    break;
                }
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
