//! Log backup object names (format/log.md LOG-NAME-*). (to be written)
