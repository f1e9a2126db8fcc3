//! The demo server's settings: http-raw's, plus where the static files are,
//! where the plants are kept, and what this copy is called.
//!
//! What to notice: every setting is checked here, before the server binds
//! its port, so a typo in `PUBLIC_DIR` or `REDIS_URL` is one sentence and
//! exit status 2, the same as `PORT=abc`, never a server that starts and
//! then 404s every page. (Whether that Redis *answers* can only be known by
//! asking it: `run` does, and a Redis that is not there is exit status 1.)

use std::path::PathBuf;
use std::str::FromStr;

use http_raw::HttpConfig;
use http_raw::config::SettingError;
use tcp_echo::config::{ServerConfig, instance_name_var, parse_var};

use crate::plants::MAX_PLANTS;
use crate::redis_link::RedisUrl;

/// Port 4000, one up from lesson 3's 3000, so both can run at once.
pub const DEFAULT_PORT: u16 = 4000;

/// Where the demo's static files are, unless `PUBLIC_DIR` says otherwise:
/// this crate's `public/` directory.
pub const DEFAULT_PUBLIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public");

/// Everything the demo server can be told.
#[derive(Debug, Clone)]
pub struct HttpServerConfig {
    /// `HOST`, `PORT`, `MAX_CONNECTIONS`, the timeouts: as in lesson 3.
    pub http: HttpConfig,
    /// `PUBLIC_DIR`: the directory served as the site (default: `public/`).
    pub public_dir: PathBuf,
    /// How many plants the store holds: [`MAX_PLANTS`]. Not an environment
    /// setting; tests lower it to fill the store in a few requests.
    pub max_plants: usize,
    /// `REDIS_URL` (`redis://HOST:PORT[/DB]`): keep the plants in that Redis,
    /// shared by every copy of the server that names it. Unset: in memory.
    pub redis_url: Option<String>,
    /// `INSTANCE_NAME`: which copy this is, sent as `x-instance` on every
    /// response. Unset: the address the server listens on, `HOST:PORT`.
    pub instance_name: Option<String>,
}

/// A path that names an existing directory (what `PUBLIC_DIR` must be).
struct Directory(PathBuf);

impl FromStr for Directory {
    type Err = ();

    fn from_str(text: &str) -> Result<Directory, ()> {
        let path = PathBuf::from(text);
        if path.is_dir() {
            Ok(Directory(path))
        } else {
            Err(())
        }
    }
}

impl HttpServerConfig {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<HttpServerConfig, SettingError> {
        let http = HttpConfig::from_env(DEFAULT_PORT)?;
        let Directory(public_dir) = parse_var(
            "PUBLIC_DIR",
            Directory(PathBuf::from(DEFAULT_PUBLIC_DIR)),
            "an existing directory",
        )?;
        let RedisUrl(redis_url) = parse_var(
            "REDIS_URL",
            RedisUrl(None),
            "a Redis URL such as redis://127.0.0.1:6379",
        )?;
        let instance_name = instance_name_var()?;
        Ok(HttpServerConfig {
            http,
            public_dir,
            max_plants: MAX_PLANTS,
            redis_url,
            instance_name,
        })
    }

    /// The defaults, listening on `server`'s address (for tests).
    pub fn with_defaults(server: ServerConfig) -> HttpServerConfig {
        HttpServerConfig {
            http: HttpConfig::with_defaults(server),
            public_dir: PathBuf::from(DEFAULT_PUBLIC_DIR),
            max_plants: MAX_PLANTS,
            redis_url: None,
            instance_name: None,
        }
    }
}
