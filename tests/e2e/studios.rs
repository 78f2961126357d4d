//! Member studios: filled in by their slice.
