//! Tests of the import endpoint.
