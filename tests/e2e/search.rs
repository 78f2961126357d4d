//! search: filled in by its slice.
