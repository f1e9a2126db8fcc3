//! Every setting the three servers read has a row on the book's reference
//! page (`docs/src/reference.md`), in "Every lesson" or in the
//! `### protocols` table: a new setting cannot go undocumented.

mod support;

use protocols::dns::DnsConfig;
use protocols::ftp::FtpConfig;
use protocols::smtp::SmtpConfig;
use support::reference::{REFERENCE_PAGE, documented_settings};

#[test]
fn every_setting_read_is_on_the_reference_page() {
    SmtpConfig::from_env().expect("smtp's settings");
    FtpConfig::from_env().expect("ftp's settings");
    DnsConfig::from_env().expect("dns's settings");
    let page = std::fs::read_to_string(REFERENCE_PAGE).expect("the reference page");
    let documented = documented_settings(&page, "protocols");
    let missing: Vec<&str> = tcp_echo::config::settings_read()
        .into_iter()
        .filter(|name| !documented.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "lesson 6 reads {missing:?}, which docs/src/reference.md does not list: add a row for \
         each to the `### protocols` table under `## Settings`"
    );
}
