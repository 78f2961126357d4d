//! The protobuf contracts of Xieshang, generated at build time.
//!
//! **Invariant:** this is the only crate that runs code generation. Services
//! convert between these types and their own domain types in their `grpc`
//! module; nothing else touches generated types.
#![forbid(unsafe_code)]
#![allow(clippy::all, missing_docs)]

pub mod common {
    pub mod v1 {
        tonic::include_proto!("xieshang.common.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("xieshang.events.v1");
    }
}

pub mod tenants {
    pub mod v1 {
        tonic::include_proto!("xieshang.tenants.v1");
    }
}

pub mod analytics {
    pub mod v1 {
        tonic::include_proto!("xieshang.analytics.v1");
    }
}

pub mod consultation {
    pub mod v1 {
        tonic::include_proto!("xieshang.consultation.v1");
    }
}

pub mod membership {
    pub mod v1 {
        tonic::include_proto!("xieshang.membership.v1");
    }
}

pub mod proposals {
    pub mod v1 {
        tonic::include_proto!("xieshang.proposals.v1");
    }
}

/// Encoded `FileDescriptorSet` of every contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xieshang_descriptor.bin"));
