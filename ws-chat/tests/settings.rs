//! Every setting ws-chat reads has a row on the book's reference page.

use testkit::reference::assert_settings_documented;
use ws_chat::ChatConfig;

#[test]
fn every_setting_read_has_a_row_on_the_reference_page() {
    if let Err(error) = ChatConfig::from_env() {
        panic!("reading the configuration failed: {error}");
    }
    assert_settings_documented("ws-chat", &tcp_echo::config::settings_read());
}
