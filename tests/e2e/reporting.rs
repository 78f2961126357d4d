//! reporting: filled in by its slice.
