//! A frame's payload that the browser keeps as the JSON it came in, decoded only by the
//! code that shows it.
//!
//! The browser's socket lives in the shell, the code every page loads first. If it decoded
//! every frame, the decoders of payloads only a split pane shows (a diff, search hits, an
//! import's candidates) would be in that first load too. Reading a [`Deferred`] field
//! keeps the payload's JSON (no decoder of its type is instantiated by reading the frame);
//! [`Deferred::decode`], called in the pane's own module, reads it. The sender builds one
//! from the value (`value.into()`), which is written as it always was: the wire is
//! unchanged.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// A `T`: the value itself where it was made, its JSON where it was read.
#[derive(Clone)]
pub enum Deferred<T> {
    /// Made by the sender.
    Value(T),
    /// Read from the wire, not decoded yet.
    Json(Box<RawValue>),
}

impl<T> From<T> for Deferred<T> {
    fn from(value: T) -> Self {
        Deferred::Value(value)
    }
}

impl<T: DeserializeOwned> Deferred<T> {
    /// The value, decoded if it was read (an error says what in it is malformed).
    pub fn decode(self) -> Result<T, serde_json::Error> {
        match self {
            Deferred::Value(value) => Ok(value),
            Deferred::Json(raw) => serde_json::from_str(raw.get()),
        }
    }
}

impl<T: PartialEq> PartialEq for Deferred<T> {
    /// Two values, or the same JSON text. A value and JSON are never equal: telling would
    /// take encoding (or decoding), whose code the browser's first load must not carry
    /// (compare what was read with [`Deferred::decode`]).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Deferred::Value(mine), Deferred::Value(theirs)) => mine == theirs,
            (Deferred::Json(mine), Deferred::Json(theirs)) => mine.get() == theirs.get(),
            _ => false,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deferred::Value(value) => value.fmt(f),
            Deferred::Json(raw) => write!(f, "Json({})", raw.get()),
        }
    }
}

impl<U> Default for Deferred<Vec<U>> {
    /// An empty list (a field the sender left out).
    fn default() -> Self {
        Deferred::Value(Vec::new())
    }
}

impl<T: Serialize> Serialize for Deferred<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Deferred::Value(value) => value.serialize(serializer),
            Deferred::Json(raw) => raw.serialize(serializer),
        }
    }
}

impl<'de, T> Deserialize<'de> for Deferred<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Deferred::Json)
    }
}
