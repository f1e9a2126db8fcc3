//! Every setting http-raw reads has a row on the book's reference page.

use http_raw::HttpConfig;
use testkit::reference::assert_settings_documented;

#[test]
fn every_setting_read_has_a_row_on_the_reference_page() {
    if let Err(error) = HttpConfig::from_env(3000) {
        panic!("reading the configuration failed: {error}");
    }
    assert_settings_documented("http-raw", &tcp_echo::config::settings_read());
}
