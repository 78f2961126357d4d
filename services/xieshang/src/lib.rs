//! The `xieshang` binary's library: everything but `main`, so that tests
//! start the very server the binary starts.
//!
//! - [`app`]: assembling and running the server.
//! - [`cli`]: command-line parsing.
//! - [`events_cli`]: `xieshang events …`, the operator's tools for dead letters.
//! - [`forward`]: forwarding RPCs of services this process does not run to their peers.
//! - [`run`]: what each command does.
//! - [`client`]: the gRPC client commands (`login`, `committees`, `users`, `demo`).
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod client;
pub mod events_cli;
pub mod forward;
pub mod run;
