//! Tests of the backup endpoint.
