//! Typed ids shared across services.

use std::fmt;

use uuid::Uuid;

use crate::status;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses an id from a request, naming `field` if it is malformed.
            pub fn parse(field: &str, s: &str) -> Result<Self, tonic::Status> {
                if s.is_empty() {
                    return Err(status::invalid_argument(field, "is required"));
                }
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| status::invalid_argument(field, "is not a valid id"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Id of a committee (tenant).
    CommitteeId
);
id_type!(
    /// Id of a user account.
    UserId
);
