//! API tokens as the Settings page lists them: named secrets that scripts send as
//! `Authorization: Bearer` to the HTTP API. The secret itself appears only once, in
//! [`NewApiToken`], when it is made.

use serde::{Deserialize, Serialize};

/// One API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenInfo {
    /// Its public id (revoked by).
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was last used (to the minute), if ever.
    pub last_used_ms: Option<i64>,
    /// When it was revoked, if it was: it is then refused.
    pub revoked_at_ms: Option<i64>,
    /// True for the token the server keeps in `<data_dir>/cli.json` for the command line.
    pub local: bool,
}

/// A token just made: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    /// What the list will show.
    pub info: ApiTokenInfo,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}
