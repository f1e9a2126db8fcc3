//! Every setting udp-echo reads has a row on the book's reference page.

use tcp_echo::testing::reference::assert_settings_documented;
use udp_echo::UdpEchoConfig;

#[test]
fn every_setting_read_has_a_row_on_the_reference_page() {
    assert_settings_documented("udp-echo", UdpEchoConfig::from_env);
}
