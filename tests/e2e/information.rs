//! Social-conditions information: see services/proposals.
