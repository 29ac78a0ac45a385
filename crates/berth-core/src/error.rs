//! berth's error type.
//!
//! Every error says what was wrong (naming the offending value), what berth
//! left untouched, and what to do. [`Error`] is an enum of what failed, with
//! the underlying error as its source where there is one (the state store's,
//! an I/O error's, the error a context was added to); [`Error::kind`] lets
//! front-ends map any of them to an exit code or a protocol error code (CNI,
//! Docker plugin).

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

/// berth's error (see the module docs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's input is invalid.
    #[error("{0}")]
    InvalidInput(String),
    /// A named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// The caller lacks privileges.
    #[error("{0}")]
    Permission(String),
    /// The kernel refused something.
    #[error("{0}")]
    Kernel(String),
    /// The state store is in a state berth cannot use (a corrupt record).
    #[error("{0}")]
    Store(String),
    /// The state store (SQLite) failed.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// I/O on berth's own files failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An unexpected internal failure.
    #[error("{0}")]
    Internal(String),
    /// An error, with what berth was doing when it happened.
    #[error("{context}: {source}")]
    Context {
        /// What berth was doing.
        context: String,
        /// The error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let m = message.into();
        match kind {
            ErrorKind::InvalidInput => Error::InvalidInput(m),
            ErrorKind::NotFound => Error::NotFound(m),
            ErrorKind::Conflict => Error::Conflict(m),
            ErrorKind::Permission => Error::Permission(m),
            ErrorKind::Kernel => Error::Kernel(m),
            ErrorKind::Store => Error::Store(m),
            ErrorKind::Internal => Error::Internal(m),
        }
    }

    /// Invalid user input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// A named object does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    /// The request conflicts with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    /// The kernel refused something.
    pub fn kernel(message: impl Into<String>) -> Self {
        Error::Kernel(message.into())
    }

    /// An unexpected internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// The kind of this error (of the error a context was added to).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Permission(_) => ErrorKind::Permission,
            Error::Kernel(_) => ErrorKind::Kernel,
            Error::Store(_) | Error::Sqlite(_) => ErrorKind::Store,
            Error::Io(_) | Error::Internal(_) => ErrorKind::Internal,
            Error::Context { source, .. } => source.kind(),
        }
    }

    /// The whole message (with its contexts), without the kind.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Adds context (`"context: message"`), keeping the kind.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error::Context {
            context: context.to_string(),
            source: Box::new(self),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_messages_and_sources() {
        let e = Error::conflict("port 8080 is taken").context("run web");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.to_string(), "run web: port 8080 is taken");
        let src = std::error::Error::source(&e).map(|s| s.to_string());
        assert_eq!(src.as_deref(), Some("port 8080 is taken"));
        let io: Error = std::io::Error::from_raw_os_error(libc::ENOENT).into();
        assert_eq!(io.kind(), ErrorKind::Internal);
        for kind in [
            ErrorKind::InvalidInput,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Permission,
            ErrorKind::Kernel,
            ErrorKind::Store,
            ErrorKind::Internal,
        ] {
            assert_eq!(Error::new(kind, "x").kind(), kind);
        }
    }
}
