//! Every setting http-server reads has a row on the book's reference page.

use http_server::config::HttpServerConfig;
use testkit::reference::assert_settings_documented;

#[test]
fn every_setting_read_has_a_row_on_the_reference_page() {
    if let Err(error) = HttpServerConfig::from_env() {
        panic!("reading the configuration failed: {error}");
    }
    assert_settings_documented("http-server", &tcp_echo::config::settings_read());
}
