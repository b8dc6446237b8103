//! The codec layer's error type. Every variant names what was being decoded, so a caller can
//! report the field; damaged input is always an error, never a panic.

/// Errors of the pure codecs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended before `what` was complete.
    #[error("{what}: truncated input (needed {needed} more bytes, {available} left)")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// The input is malformed; `detail` says how.
    #[error("{what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    /// A version or type byte this code does not know (never guessed).
    #[error("{what}: unknown version or type {value}")]
    Unknown { what: &'static str, value: u64 },
}

impl CodecError {
    pub fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        CodecError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// Result alias of the codec layer.
pub type Result<T> = std::result::Result<T, CodecError>;

/// Takes `n` bytes from the front of `input` or fails with [`CodecError::Truncated`].
pub(crate) fn take<'a>(input: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(CodecError::Truncated {
            what,
            needed: n,
            available: input.len(),
        });
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}
