//! Every setting udp-echo reads has a row on the book's reference page.

use testkit::reference::assert_settings_documented;
use udp_echo::UdpEchoConfig;

#[test]
fn every_setting_read_has_a_row_on_the_reference_page() {
    if let Err(error) = UdpEchoConfig::from_env() {
        panic!("reading the configuration failed: {error}");
    }
    assert_settings_documented("udp-echo", &tcp_echo::config::settings_read());
}
