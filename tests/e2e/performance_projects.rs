//! Annual performance projects and assessment: filled in by their slice.
