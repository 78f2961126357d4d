//! Membership: see services/membership.
