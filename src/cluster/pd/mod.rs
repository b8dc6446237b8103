//! The placement driver (filled in by the placement work).
