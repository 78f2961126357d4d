//! consultation: filled in by its slice.
