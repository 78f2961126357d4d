//! Consultation quality evaluation and round-table rotation: filled in by their slice.
