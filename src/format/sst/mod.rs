//! (to be written by the SST reader work)
