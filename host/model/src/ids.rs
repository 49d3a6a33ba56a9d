//! Ids shown as a prefix and a number (`T-4`, `AQ-0001`): one macro gives each its
//! newtype, display, parsing (with or without the prefix), serde as a string and OpenAPI
//! schema, so every kind of id reads and fails the same way.

/// Declares `$name(pub u64)`, shown as `$prefix` and the number zero-padded to `$width`
/// digits.
macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, prefix = $prefix:literal, width = $width:literal,
     what = $what:literal, pattern = $pattern:literal, example = $example:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(pub u64);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(concat!($what, ": `", $prefix, "<n>`.")))
                    .pattern(Some($pattern))
                    .examples([$example])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!($prefix, "{:0", $width, "}"), self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let digits = s.strip_prefix($prefix).unwrap_or(s);
                digits.parse().map($name).map_err(|_| {
                    format!(concat!("`{}` is not ", $what, " (expected ", $prefix, "<number>)"), s)
                })
            }
        }
    };
}

pub(crate) use prefixed_id;

prefixed_id!(
    /// An approval request's id: `AQ-<n>`, four digits at least.
    ApprovalId,
    prefix = "AQ-",
    width = 4,
    what = "an approval id",
    pattern = "^AQ-[0-9]{4,}$",
    example = "AQ-0001"
);

prefixed_id!(
    /// A message between workers: `WM-<n>`, six digits at least.
    WorkerMessageId,
    prefix = "WM-",
    width = 6,
    what = "a worker message id",
    pattern = "^WM-[0-9]{6,}$",
    example = "WM-000001"
);
