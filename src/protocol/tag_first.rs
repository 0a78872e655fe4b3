//! Internally tagged enums read with their tag first, without serde's buffer.
//!
//! serde reads an internally tagged enum (`{"type": "event", ...}`) whole into a private
//! buffer (`Content`) before it looks at the tag, then reads the variant again from the
//! buffer. That buffer's code, instantiated for every type inside such an enum, was 25 KB
//! brotli (7%) of the browser's first-load WASM. Everything this server writes has its tag first
//! (serde's `Serialize` writes it first, and stored events are never rewritten), so the
//! enums declared with [`tag_first!`] read the first key, check it is the tag, and let
//! serde's own externally tagged derive read the variant from the rest of the object:
//! every rename, default and alias on the variants is serde's, unchanged. The wire and the
//! logs are the same as before; an object whose tag is not its first key is refused with a
//! clear error. `ClientFrame`, which other programs write, keeps serde's own reading.

use serde::de::{
    self, value::MapAccessDeserializer, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny,
    IntoDeserializer, MapAccess, VariantAccess, Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// An internally tagged enum whose variant serde reads from the rest of the object once
/// its tag, the first key, has been read. Implemented by [`tag_first!`].
pub trait TagFirst: Sized {
    /// The tag's key (`"type"`, `"state"`, ...).
    const TAG: &'static str;
    /// The enum's name, for errors.
    const NAME: &'static str;
    /// Reads the variant: `deserializer` gives the tag as the variant's name and the rest of
    /// the object as its fields.
    fn read_variant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Reads a [`TagFirst`] enum from an object whose first key is its tag.
pub fn deserialize<'de, T: TagFirst, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor::<T>(PhantomData))
}

/// Visits the object: its first key must be the tag.
struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: TagFirst> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} as an object whose first key is \"{}\"",
            T::NAME,
            T::TAG
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let tag_first = map.next_key_seed(KeyIs(T::TAG))?;
        match tag_first {
            Some(true) => {}
            Some(false) => {
                return Err(de::Error::custom(format_args!(
                    "{}: \"{}\" must be the object's first key",
                    T::NAME,
                    T::TAG
                )))
            }
            None => return Err(de::Error::missing_field(T::TAG)),
        }
        let variant: String = map.next_value()?;
        T::read_variant(Variant {
            name: variant,
            rest: map,
        })
    }
}

/// Reads a key and says whether it is the expected one.
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// The variant named by the tag, with the object's other entries as its fields: what an
/// externally tagged enum's derived `Deserialize` reads.
struct Variant<A> {
    name: String,
    rest: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Variant<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Variant<A> {
    type Error = A::Error;
    type Variant = Fields<A>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Fields<A>), A::Error> {
        let name = seed.deserialize(self.name.into_deserializer())?;
        Ok((name, Fields(self.rest)))
    }
}

/// The object's entries after the tag.
struct Fields<A>(A);

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Fields<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        // As serde's internally tagged reading does: other keys beside a unit variant's tag
        // are ignored.
        while self.0.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        seed.deserialize(MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "a tuple variant cannot be internally tagged",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

/// Declares an enum written internally tagged (`#[serde(tag = ..., rename_all =
/// "snake_case")]`, with serde's `Serialize`) and read tag first ([`TagFirst`]). The
/// `#[serde(tag ...)]` line comes first; the other attributes follow as on any enum, with
/// `Serialize` but not `Deserialize` among the derives.
macro_rules! tag_first {
    (
        #[serde(tag = $tag:literal, rename_all = "snake_case")]
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($body:tt)* }
    ) => {
        $(#[$meta])*
        #[serde(tag = $tag, rename_all = "snake_case")]
        $vis enum $name { $($body)* }

        const _: () = {
            type Tagged = $name;

            /// The same variants, externally tagged: serde's derive reads a variant by the
            /// name the tag gave.
            #[derive(::serde::Deserialize)]
            #[serde(remote = "Tagged", rename_all = "snake_case")]
            #[allow(dead_code)]
            enum ByName { $($body)* }

            impl $crate::protocol::tag_first::TagFirst for $name {
                const TAG: &'static str = $tag;
                const NAME: &'static str = stringify!($name);

                fn read_variant<'de, D: ::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Self, D::Error> {
                    ByName::deserialize(deserializer)
                }
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Self, D::Error> {
                    $crate::protocol::tag_first::deserialize(deserializer)
                }
            }
        };
    };
}

pub(crate) use tag_first;

#[cfg(test)]
mod tests {
    use serde::Serialize;

    tag_first! {
        #[serde(tag = "kind", rename_all = "snake_case")]
        /// A sample.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        enum Shape {
            /// A unit variant.
            Dot,
            /// A struct variant with a default and a rename.
            Circle {
                /// Its radius.
                radius: u32,
                /// A label.
                #[serde(default, rename = "name")]
                label: Option<String>,
            },
        }
    }

    #[test]
    fn reads_what_serde_writes() {
        for shape in [
            Shape::Dot,
            Shape::Circle {
                radius: 3,
                label: None,
            },
            Shape::Circle {
                radius: 4,
                label: Some("c".into()),
            },
        ] {
            let text = serde_json::to_string(&shape).expect("serializes");
            assert_eq!(serde_json::from_str::<Shape>(&text).expect("reads"), shape);
        }
        let read: Shape = serde_json::from_str(r#"{"kind":"circle","radius":2,"extra":[1,{}]}"#)
            .expect("unknown keys are ignored");
        assert_eq!(
            read,
            Shape::Circle {
                radius: 2,
                label: None
            }
        );
        let read: Shape = serde_json::from_str(r#"{"kind":"dot","extra":1}"#).expect("reads");
        assert_eq!(read, Shape::Dot);
    }

    #[test]
    fn refuses_with_a_clear_error() {
        let error = |text: &str| {
            serde_json::from_str::<Shape>(text)
                .expect_err(text)
                .to_string()
        };
        assert!(error(r#"{"radius":2,"kind":"circle"}"#)
            .contains("\"kind\" must be the object's first key"));
        assert!(error(r#"{}"#).contains("missing field `kind`"));
        assert!(error(r#"{"kind":"square"}"#).contains("unknown variant `square`"));
        assert!(error(r#"{"kind":"circle"}"#).contains("missing field `radius`"));
        assert!(error(r#"[1]"#).contains("first key is \"kind\""));
    }
}
