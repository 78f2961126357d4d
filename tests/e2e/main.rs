//! End-to-end suite: every test starts the real server on loopback (see
//! `xieshang_tests::spawn_app`) and speaks gRPC to it. One binary, so the
//! suite links once.

mod analytics;
mod analytics_membership;
mod analytics_terms;
mod audit_and_events;
mod auth;
mod cli;
mod cli_joint;
mod cli_more;
mod committees;
mod consultation;
mod consultation_credits;
mod consultation_stats;
mod dead_letters;
mod demo_data;
mod distributed;
mod events_coverage;
mod information;
mod isolation;
mod membership;
mod membership_more;
mod performance_projects;
mod proposals;
mod proposals_followup;
mod quality;
mod reporting;
mod rls;
mod search;
mod serving;
mod shared_state;
mod stats_cli;
mod studios;
mod supervision;
mod terms;
mod upward_and_deadlines;
