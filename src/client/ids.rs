//! Fresh random ids for drafts, messages and this tab's connection. The browser build uses
//! `crypto.getRandomValues` (uuid's own generator is not enabled for wasm); the server and
//! test builds use uuid's v4 generator where available, else a process-wide counter.

use uuid::Uuid;

/// A new random (v4) UUID.
pub fn new_uuid() -> Uuid {
    uuid::Builder::from_random_bytes(random_bytes()).into_uuid()
}

#[cfg(feature = "hydrate")]
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok())
        .unwrap_or(false);
    if !filled {
        // No Web Crypto (very old browser): Math.random is weaker but ids only need to be
        // unique, not secret.
        for byte in bytes.iter_mut() {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

#[cfg(all(not(feature = "hydrate"), feature = "ssr"))]
fn random_bytes() -> [u8; 16] {
    *Uuid::new_v4().as_bytes()
}

#[cfg(all(not(feature = "hydrate"), not(feature = "ssr")))]
fn random_bytes() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (u128::from(n)).to_be_bytes()
}
