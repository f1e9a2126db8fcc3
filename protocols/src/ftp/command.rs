//! The command parser: one FTP command line in, a typed `Command` out.
//!
//! What to notice: FTP commands look like SMTP's (a verb of three or four
//! letters, in any case, then an argument), and for the same reason: both
//! were typed by people at terminals before they were sent by programs.
//! The argument is everything after the first space, spaces included: a
//! file name may hold spaces (`RETR my notes.txt`).

/// A command, parsed. Paths are as the client sent them, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `USER name`: who logs in (only `anonymous` or `ftp` here).
    User(&'a str),
    /// `PASS secret`: the password (anonymous users give an email, by custom).
    Pass,
    /// `SYST`: what kind of system, so the client knows how `LIST` looks.
    Syst,
    /// `FEAT`: the extensions this server has (RFC 2389).
    Feat,
    /// `OPTS UTF8 ON` and the like.
    Opts(&'a str),
    /// `PWD`: the current folder.
    Pwd,
    /// `CWD path`: change folder.
    Cwd(&'a str),
    /// `CDUP`: to the parent folder.
    Cdup,
    /// `TYPE A` or `TYPE I`: text or binary ("image") transfers.
    Type(&'a str),
    /// `MODE S`: stream mode, the only one anyone uses.
    Mode(&'a str),
    /// `STRU F`: file structure, likewise.
    Stru(&'a str),
    /// `PASV`: open a port for the next transfer; IPv4 only.
    Pasv,
    /// `EPSV`: the same, any IP version (RFC 2428).
    Epsv(&'a str),
    /// `LIST [path]`: a listing for people (and, in practice, programs).
    List(&'a str),
    /// `NLST [path]`: bare names.
    Nlst(&'a str),
    /// `RETR path`: download.
    Retr(&'a str),
    /// `STOR path`: upload (with `FTP_WRITABLE=1`).
    Stor(&'a str),
    /// `SIZE path`: a file's size in bytes (RFC 3659).
    Size(&'a str),
    /// `MDTM path`: a file's modification time (RFC 3659).
    Mdtm(&'a str),
    /// `ABOR`: abort a transfer (there is none in progress between commands).
    Abor,
    /// `ALLO`: reserve space; nothing to do (RFC 959: `202`).
    Allo,
    /// `NOOP`: `200`.
    Noop,
    /// `HELP`: the commands, for a person.
    Help,
    /// `QUIT`: `221`, then the server closes.
    Quit,
    /// Active mode (`PORT`, `EPRT`): the server would connect back to the
    /// client. Not implemented, with a reply that says why.
    Active,
    /// Known to FTP, not implemented here (`DELE`, `MKD`, `REST`...): `502`.
    NotImplemented(&'static str),
    /// Not an FTP command: `500`.
    Unknown,
}

/// Known verbs this server does not carry out.
const NOT_IMPLEMENTED: [&str; 17] = [
    "ACCT", "APPE", "AUTH", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR", "RNTO", "REST", "SITE",
    "SMNT", "STAT", "STOU", "MLSD", "MLST",
];

// ANCHOR: parse_command
/// Parses one command line (without its line ending). `None`: not UTF-8,
/// which this server (`OPTS UTF8 ON` by default, RFC 2640) cannot use.
pub fn parse_command(line: &[u8]) -> Option<Command<'_>> {
    let line = std::str::from_utf8(line).ok()?;
    let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
    let is = |name: &str| verb.eq_ignore_ascii_case(name);
    Some(if is("USER") {
        Command::User(argument)
    } else if is("PASS") {
        Command::Pass
    } else if is("SYST") {
        Command::Syst
    } else if is("FEAT") {
        Command::Feat
    } else if is("OPTS") {
        Command::Opts(argument)
    } else if is("PWD") || is("XPWD") {
        Command::Pwd
    } else if is("CWD") || is("XCWD") {
        Command::Cwd(argument)
    } else if is("CDUP") || is("XCUP") {
        Command::Cdup
    } else if is("TYPE") {
        Command::Type(argument)
    } else if is("MODE") {
        Command::Mode(argument)
    } else if is("STRU") {
        Command::Stru(argument)
    } else if is("PASV") {
        Command::Pasv
    } else if is("EPSV") {
        Command::Epsv(argument)
    } else if is("LIST") {
        Command::List(argument)
    } else if is("NLST") {
        Command::Nlst(argument)
    } else if is("RETR") {
        Command::Retr(argument)
    } else if is("STOR") {
        Command::Stor(argument)
    } else if is("SIZE") {
        Command::Size(argument)
    } else if is("MDTM") {
        Command::Mdtm(argument)
    } else if is("ABOR") {
        Command::Abor
    } else if is("ALLO") {
        Command::Allo
    } else if is("NOOP") {
        Command::Noop
    } else if is("HELP") {
        Command::Help
    } else if is("QUIT") {
        Command::Quit
    } else if is("PORT") || is("EPRT") {
        Command::Active
    } else if let Some(name) = NOT_IMPLEMENTED.iter().find(|name| is(name)) {
        Command::NotImplemented(name)
    } else {
        Command::Unknown
    })
}
// ANCHOR_END: parse_command

/// A `LIST` or `NLST` argument without the `ls` options some clients put
/// first (`LIST -la`, `LIST -a /pub`): servers have always ignored them.
pub fn without_list_options(argument: &str) -> &str {
    let mut rest = argument;
    while let Some(option) = rest.strip_prefix('-') {
        rest = option
            .split_once(' ')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_in_any_case_and_arguments_keep_their_spaces() {
        let table: &[(&str, Command)] = &[
            ("USER anonymous", Command::User("anonymous")),
            ("pass me@example.com", Command::Pass),
            ("RETR my notes.txt", Command::Retr("my notes.txt")),
            ("cwd /plants", Command::Cwd("/plants")),
            ("LIST", Command::List("")),
            ("EPSV", Command::Epsv("")),
            ("XPWD", Command::Pwd),
            ("PORT 127,0,0,1,4,1", Command::Active),
            ("DELE x", Command::NotImplemented("DELE")),
            ("GET / HTTP/1.1", Command::Unknown),
        ];
        for (line, command) in table {
            assert_eq!(
                parse_command(line.as_bytes()).as_ref(),
                Some(command),
                "{line}"
            );
        }
        assert_eq!(parse_command(b"RETR \xff"), None);
    }

    #[test]
    fn list_options_are_dropped() {
        assert_eq!(without_list_options("-la"), "");
        assert_eq!(without_list_options("-a /pub"), "/pub");
        assert_eq!(without_list_options("-l -a pub dir"), "pub dir");
        assert_eq!(without_list_options("pub"), "pub");
    }
}
