//! placeholder
pub async fn claude() {}
