//! Analytics: filled in by its slice.
