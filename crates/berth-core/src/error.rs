//! berth's error type.
//!
//! Every error says what was wrong (naming the offending value), what berth
//! left untouched, and what to do. The [`ErrorKind`] lets front-ends map an
//! error to an exit code or a protocol error code (CNI, Docker plugin).

use std::fmt;

/// What kind of failure an [`Error`] is; front-ends map this to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input is invalid (bad CIDR, bad port, bad option...).
    InvalidInput,
    /// A named object (network, container) does not exist.
    NotFound,
    /// The request conflicts with existing state (duplicate name, busy port,
    /// overlapping subnet, network still in use).
    Conflict,
    /// The caller lacks privileges (not root).
    Permission,
    /// The kernel refused an operation.
    Kernel,
    /// The state store failed.
    Store,
    /// Anything else (I/O on berth's own files, an unexpected condition).
    Internal,
}

/// berth's error: a kind and a complete, human-readable message.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Invalid user input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A named object does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The request conflicts with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// The kernel refused something.
    pub fn kernel(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Kernel, message)
    }

    /// An unexpected internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with context (`"context: message"`), keeping the kind.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::new(ErrorKind::Store, format!("state store: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal(e.to_string())
    }
}

/// berth's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to a `Result`'s error.
pub trait Context<T> {
    /// Prefixes the error's message with `context`.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// Like [`Context::context`], computed lazily.
    fn with_context<D: fmt::Display>(self, f: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }
    fn with_context<D: fmt::Display>(self, f: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}
