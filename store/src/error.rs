//! The store's error, result and what opening a store did to its schema.

/// Errors of every store backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The backend cannot be reached or failed; the operation changed nothing.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A paging cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A unique key is taken (e.g. a token hash); nothing changed.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The batch's writer no longer owns its partition (another writer
    /// claimed it since): nothing was written.
    #[error("fenced: {0}")]
    Fenced(String),
}

/// What opening a store did to its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaChange {
    /// Schema version found when the store was opened.
    pub from: i64,
    /// Schema version after opening (the version this build knows).
    pub to: i64,
}

impl SchemaChange {
    /// How many migrations opening the store applied.
    pub fn applied(&self) -> i64 {
        self.to - self.from
    }
}

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
